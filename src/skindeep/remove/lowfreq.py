"""Learned low frequencies under a filled region: a small network's correction to the membrane (torch-free).

The membrane (:func:`skindeep.remove.fill.skin_base`) continues the border's colour smoothly inward and
nothing else: a large fill comes back flat, with none of the skin's mid-frequency relief (the shading of
a muscle, a fold, a limb turning away from the light). A small fully-convolutional network, trained on
clean real skin with tattoo-shaped holes cut in it (:mod:`skindeep.model.lowfreq`, LaMa's recipe), sees
the membrane, the clean skin around and the hole at a working size of ``LEARN_SIDE`` px and predicts
the residual ``truth - membrane`` inside the hole. Here that residual is upsampled and added to the
membrane; the copied full-resolution texture goes on top as before (``fill.fill_skin``).

The network ships as ONNX (``weights/lowfreq.onnx``) and runs with onnxruntime; without the file the
membrane alone is used.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

LEARN_SIDE = 128  # long side (px) of the working size the network was trained at (holes scale with it)
MULTIPLE = 8  # the network downsamples 3 times: its input sides are padded to a multiple of this
CHANNELS = 8  # membrane (3), clean skin (3), clean mask (1), hole (1)
CLEAN_MASK = 6  # index of the clean-mask channel in the inputs
DEFAULT_WEIGHTS = Path(__file__).resolve().parent.parent / "weights" / "lowfreq.onnx"


def working_size(h: int, w: int, side: int = LEARN_SIDE) -> tuple[int, int]:
    """(width, height) of a box of ``h`` x ``w`` px at long side ``side`` at most (never enlarged)."""
    scale = min(1.0, side / max(h, w))
    return max(1, round(w * scale)), max(1, round(h * scale))


def shrink_known(rgb: np.ndarray, known: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The clean pixels shrunk to ``size`` (w, h) with their weights, as ``skin_base`` shrinks them.

    rgb: (h, w, 3) uint8. known: (h, w) bool. Returns values (hs, ws, 3) float32 0..255 (the mean of the
    clean pixels under each small pixel; 0 where none) and small_known (hs, ws) bool (over half clean).
    A masked pixel never bleeds into the ring.
    """
    weight = known.astype(np.float32)
    # masked in uint8, then float: the same values as a float product, for a third of the time at 12 MP
    masked = cv2.bitwise_and(rgb, rgb, mask=np.ascontiguousarray(known).view(np.uint8))
    v = cv2.resize(masked.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    wgt = cv2.resize(weight, size, interpolation=cv2.INTER_AREA)
    small_known = wgt > 0.5
    values = v / np.maximum(wgt, 1e-6)[..., None]
    values[~small_known] = 0.0
    return values.astype(np.float32), small_known


def net_inputs(rgb: np.ndarray, known: np.ndarray, hole: np.ndarray,
               side: int = LEARN_SIDE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The network's input for one box, at the working size (the same function makes the training set).

    rgb: (h, w, 3) uint8 box. known: (h, w) bool clean skin. hole: (h, w) bool region to fill.
    Returns inputs (CHANNELS, hs, ws) float32 (colours as x / 255 - 0.5), membrane (hs, ws, 3) float32
    0..255 and small_known (hs, ws) bool.
    """
    from skindeep.remove.fill import _membrane  # fill imports this module: import at call time

    h, w = known.shape
    size = working_size(h, w, side)
    values, small_known = shrink_known(rgb, known, size)
    membrane = _membrane(values, small_known) if small_known.any() else np.zeros_like(values)
    small_hole = cv2.resize(hole.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0
    inputs = np.concatenate([
        membrane / 255.0 - 0.5,
        (values / 255.0 - 0.5) * small_known[..., None],
        small_known[..., None].astype(np.float32),
        small_hole[..., None].astype(np.float32),
    ], axis=2)
    return np.ascontiguousarray(inputs.transpose(2, 0, 1), np.float32), membrane, small_known


def pad_to_multiple(x: np.ndarray, multiple: int = MULTIPLE) -> np.ndarray:
    """(c, h, w) array zero-padded at the bottom and right to sides that are multiples of ``multiple``.

    Zeros read as "not clean, not hole": the network was trained with the same padding."""
    c, h, w = x.shape
    ph, pw = -h % multiple, -w % multiple
    return np.pad(x, ((0, 0), (0, ph), (0, pw))) if ph or pw else x


class LowFreqRestorer:
    """The exported network in onnxruntime (one session, one thread: it is small)."""

    def __init__(self, path: str | Path):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    def residual(self, inputs: np.ndarray) -> np.ndarray:
        """inputs (CHANNELS, h, w) float32 -> the predicted ``truth - membrane`` (h, w, 3) float32, 0..255 units."""
        _, h, w = inputs.shape
        out = self.session.run(None, {self.input_name: pad_to_multiple(inputs)[None]})[0][0]
        return np.ascontiguousarray(out[:, :h, :w].transpose(1, 2, 0)) * np.float32(255.0)


@lru_cache(maxsize=4)
def load_restorer(path: str | None = None) -> LowFreqRestorer | None:
    """The shipped (or given) network, loaded once per process; None when the file is missing."""
    p = Path(path) if path else DEFAULT_WEIGHTS
    return LowFreqRestorer(p) if p.is_file() else None


def learned_base(rgb: np.ndarray, known: np.ndarray, hole: np.ndarray, base: np.ndarray,
                 restorer: LowFreqRestorer) -> np.ndarray:
    """``base`` (the membrane at full box size) plus the network's residual: (h, w, 3) float32 0..255.

    rgb: (h, w, 3) uint8 box. known: (h, w) bool clean skin. hole: (h, w) bool region. base: (h, w, 3)
    float32 from ``skin_base``. The residual is zero at the clean pixels of the working size, so the
    border keeps the colour the membrane gives it.
    """
    h, w = known.shape
    inputs, _, small_known = net_inputs(rgb, known, hole)
    res = restorer.residual(inputs)
    res[small_known] = 0.0
    if res.shape[:2] != (h, w):
        res = cv2.resize(res, (w, h), interpolation=cv2.INTER_LINEAR)
    return base + res
