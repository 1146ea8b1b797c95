"""Shared test fixtures: the shared data folder and a tiny, deterministic ONNX stand-in for the model.

The stand-in has the shipped model's exact interface (input ``image`` (1,3,H,W) 0..1; outputs ``ink``
(1,1,H,W) and ``clean`` (1,3,H,W)) and a behaviour tests can reason about: ``ink`` is high where a pixel
is dark (luminance well under 0.3), ``clean`` is a 15x15 box blur of the input. Built with onnx.helper,
so tests need no torch and no trained weights.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

# ../shared/data next to the checkout; SKINDEEP_SHARED_DATA points elsewhere (a git worktree one level deeper).
SHARED_DATA = Path(os.environ.get("SKINDEEP_SHARED_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")


def build_tiny_onnx(path: Path, skin: bool = False) -> Path:
    """The stand-in; with ``skin`` also an output ``skin`` (1,3,H,W): skin where the 15x15 neighbourhood is
    clearly redder than blue (so a dark stroke on reddish skin is on skin), clothing where it is not,
    never hair."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from skindeep.colour import REC601

    weights = numpy_helper.from_array(REC601.reshape(1, 3, 1, 1), "w")
    gain = numpy_helper.from_array(np.array([-40.0], np.float32), "gain")
    bias = numpy_helper.from_array(np.array([0.3], np.float32), "bias")
    nodes = [
        helper.make_node("Conv", ["image", "w"], ["lum"]),
        helper.make_node("Sub", ["lum", "bias"], ["centred"]),
        helper.make_node("Mul", ["centred", "gain"], ["logit"]),
        helper.make_node("Sigmoid", ["logit"], ["ink"]),
        helper.make_node(
            "AveragePool", ["image"], ["clean"], kernel_shape=[15, 15], pads=[7, 7, 7, 7], count_include_pad=0
        ),
    ]
    dims = [1, 3, "H", "W"]
    outputs = [
        helper.make_tensor_value_info("ink", TensorProto.FLOAT, [1, 1, "H", "W"]),
        helper.make_tensor_value_info("clean", TensorProto.FLOAT, dims),
    ]
    initializers = [weights, gain, bias]
    if skin:
        red_minus_blue = np.array([[40, 0, -40], [0, 0, 0], [-40, 0, 40]], np.float32).reshape(3, 3, 1, 1)
        initializers += [numpy_helper.from_array(red_minus_blue, "skin_w"),
                         numpy_helper.from_array(np.array([-4.0, -10.0, 4.0], np.float32), "skin_b")]
        nodes += [helper.make_node("Conv", ["clean", "skin_w", "skin_b"], ["skin_logit"]),
                  helper.make_node("Sigmoid", ["skin_logit"], ["skin"])]
        outputs.append(helper.make_tensor_value_info("skin", TensorProto.FLOAT, dims))
    graph = helper.make_graph(nodes, "tiny_skindeep",
                              [helper.make_tensor_value_info("image", TensorProto.FLOAT, dims)], outputs,
                              initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path to the tiny ONNX stand-in model (dark pixels = ink; clean = box blur)."""
    return build_tiny_onnx(tmp_path_factory.mktemp("model") / "tiny.onnx")


@pytest.fixture(scope="session")
def tiny_skin_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The stand-in with a ``skin`` output (skin = a reddish neighbourhood; see ``build_tiny_onnx``)."""
    return build_tiny_onnx(tmp_path_factory.mktemp("model") / "tiny_skin.onnx", skin=True)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder (../shared/data); skips the test where it is absent."""
    if not (SHARED_DATA / "people").is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def bomb_png() -> bytes:
    """A 69-byte PNG whose header says 60000x60000 (3.6 gigapixels): a "decompression bomb"."""
    import struct
    import zlib

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 100))
            + chunk(b"IEND", b""))
