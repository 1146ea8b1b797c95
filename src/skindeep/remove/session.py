"""The ONNX model behind removal: a lazily created onnxruntime session that survives pickling.

The network takes ``image`` float32 (1, 3, H, W) in 0..1 with H and W multiples of 32 and returns
``ink`` (1, 1, H, W) probability and ``clean`` (1, 3, H, W) in 0..1. ``InkModel.run`` hides the padding:
it takes any (H, W, 3) uint8 array and returns arrays of the same height and width.
"""

from __future__ import annotations

import functools
import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from skindeep.errors import SkinDeepError
from skindeep.remove.strips import default_threads

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"
DEFAULT_MODEL = WEIGHTS_DIR / "skindeep.onnx"


@functools.cache
def _fetches_only():
    """Run options that skip the graph branches no asked-for output needs: the restorer's crops never
    ask for ``skin``, and a skin network of its own would otherwise run on every crop."""
    import onnxruntime as ort

    options = ort.RunOptions()
    options.only_execute_path_to_fetches = True
    return options
MULTIPLE = 32


DEFAULT_RESTORE_SIDE = 2048  # for models whose metadata recommends no restore side


class ModelError(SkinDeepError):
    """The model file is missing or cannot be loaded."""


@dataclass(frozen=True)
class ModelSetting:
    """A pipeline setting the model recommends. One row of ``MODEL_SETTINGS`` drives everything about it:
    ``skindeep export --NAME`` writes it into the model's metadata as ``recommended_NAME``,
    ``ModelInfo.load`` reads it back, ``Remover`` uses it wherever ``PipelineConfig.NAME`` is None, and
    ``skindeep remove --NAME`` overrides it for one run.
    """

    name: str  # the PipelineConfig field (default None), export_checkpoint keyword and --option
    type: type  # int or float
    default: int | float  # for models whose metadata does not give it (older exports)
    export_default: int | float  # what ``skindeep export`` writes unless told
    low: int | float  # the range the CLI accepts
    high: int | float
    help: str  # what it is, for --help (without "recommended" / "default")

    @property
    def key(self) -> str:
        """The metadata key in ``skindeep.json``."""
        return f"recommended_{self.name}"

    @property
    def option(self) -> str:
        """The command-line option, e.g. ``--detect-size``."""
        return "--" + self.name.replace("_", "-")


MODEL_SETTINGS = (
    # The network saw tattoos at the scale of 320 px samples (crops of 0.4-1x their side); on real photos
    # it finds more ink at 256-320 px than at 512 (real-dev sheets).
    ModelSetting("detect_size", int, 640, 320, 64, 8192, "long side (px) of the photo as the detector sees it"),
    # The restorer gates its correction by its own ink probability, which drops at scales it was not
    # trained at: on real-dev photos restoring at 320 px removed much more ink than at 512 or full size.
    ModelSetting("restore_side", int, DEFAULT_RESTORE_SIDE, 320, 32, 16384,
                 "long side (px) above which the network restores at a reduced scale"),
    # Crisp real close-ups are sharper than any training photo (docs/experiments.md, experiment 6).
    ModelSetting("input_blur", float, 0.0, 0.0, 0.0, 10.0,
                 "Gaussian sigma (detector px) the photo is softened by before detection (0 = off)"),
    ModelSetting("grow_threshold", float, 0.0, 0.0, 0.0, 1.0,
                 "hysteresis threshold: pixels above it join a blob that reaches the threshold (0 = off)"),
    # Large dense pieces are found whole only when shrunk (docs/experiments.md, experiment 7).
    ModelSetting("coarse_detect_size", int, 0, 0, 0, 8192,
                 "long side (px) of a second, coarse detection that blobs grow into (0 = off)"),
    ModelSetting("coarse_support", float, 0.0, 0.0, 0.0, 1.0,
                 "fine ink probability a blob needs to grow into the coarse detection"),
)


def export_settings(given: Mapping[str, int | float | None]) -> dict[str, int | float]:
    """``{name: value}`` for every row of MODEL_SETTINGS: ``given`` (None = not given) over the
    ``export_default``s. TypeError naming any name that is not a model setting."""
    unknown = sorted(set(given) - {s.name for s in MODEL_SETTINGS})
    if unknown:
        raise TypeError(f"not model settings: {unknown}; known: {[s.name for s in MODEL_SETTINGS]}")
    return {s.name: s.export_default if given.get(s.name) is None else s.type(given[s.name])
            for s in MODEL_SETTINGS}


@dataclass
class ModelInfo:
    """Metadata shipped next to the weights (``skindeep.json``); defaults when absent.

    ``recommended``: MODEL_SETTINGS name -> the model's value (``recommended_NAME`` in the metadata,
    else the setting's ``default``).
    """

    threshold: float = 0.5
    train_size: int = 256
    version: str = "unknown"
    recommended: dict[str, int | float] = field(
        default_factory=lambda: {s.name: s.default for s in MODEL_SETTINGS})

    @classmethod
    def load(cls, model_path: Path) -> ModelInfo:
        meta = model_path.with_suffix(".json")
        if not meta.is_file():
            return cls()
        try:
            data = json.loads(meta.read_text())
        except (OSError, ValueError):
            return cls()
        info = cls()
        for key, kind in (("threshold", float), ("train_size", int), ("version", str)):
            if data.get(key) is not None:
                setattr(info, key, kind(data[key]))
        for setting in MODEL_SETTINGS:
            if data.get(setting.key) is not None:
                info.recommended[setting.name] = setting.type(data[setting.key])
        return info


def resolve_model_path(model_path: str | os.PathLike | None) -> Path:
    """The model file to use; ModelError with a clear message if it does not exist."""
    path = Path(model_path) if model_path is not None else DEFAULT_MODEL
    if not path.is_file():
        if model_path is None:
            raise ModelError(
                f"the default model weights are missing: {path} does not exist. Train and export them "
                "(`skindeep train` then `skindeep export`) or pass model_path= / --model PATH."
            )
        raise ModelError(f"{path}: model file not found")
    return path


def pad_to_multiple(image: np.ndarray, multiple: int = MULTIPLE) -> tuple[np.ndarray, int, int]:
    """Reflect-pad (H, W, C) at the bottom/right so H and W are multiples of ``multiple``; returns (padded, H, W)."""
    h, w = image.shape[:2]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        # reflect needs the pad to be smaller than the side; edge-pad tiny images instead.
        mode = "reflect" if ph < h and pw < w else "edge"
        image = np.pad(image, ((0, ph), (0, pw), (0, 0)), mode=mode)
    return image, h, w


class InkModel:
    """An onnxruntime session created on first use; pickles as its path and thread count only."""

    def __init__(self, model_path: str | os.PathLike | None = None, threads: int | None = None):
        self.path = resolve_model_path(model_path)
        self.threads = threads
        self.info = ModelInfo.load(self.path)
        self._session = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict:
        return {"path": self.path, "threads": self.threads, "info": self.info}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._session = None
        self._lock = threading.Lock()

    @property
    def session(self):
        with self._lock:
            if self._session is None:
                self._session = self._load()
        return self._session

    def _load(self):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads or default_threads()
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelError(f"{self.path}: cannot load the ONNX model ({exc})") from exc
        names = {o.name for o in session.get_outputs()}
        if not {"ink", "clean"} <= names or session.get_inputs()[0].name != "image":
            raise ModelError(f"{self.path}: expected input 'image' and outputs 'ink', 'clean'; got {sorted(names)}")
        return session

    @property
    def has_skin(self) -> bool:
        """Whether the network also says where skin, hair and clothing are (output ``skin``)."""
        return any(o.name == "skin" for o in self.session.get_outputs())

    def _forward(self, rgb: np.ndarray, names: list[str]) -> list[np.ndarray]:
        """The network's ``names`` outputs for (H, W, 3) uint8 or float32 0..1, cropped to (H, W), HWC."""
        x = rgb.astype(np.float32) / 255.0 if rgb.dtype == np.uint8 else rgb.astype(np.float32, copy=False)
        x, h, w = pad_to_multiple(x)
        tensor = np.ascontiguousarray(x.transpose(2, 0, 1)[None])
        return [r[0, :, :h, :w].transpose(1, 2, 0)
                for r in self.session.run(names, {"image": tensor}, _fetches_only())]

    def run(self, rgb: np.ndarray, want_clean: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """Run the network on (H, W, 3) uint8 (or float32 0..1).

        Returns ``ink`` (H, W) float32 0..1 and ``clean`` (H, W, 3) float32 0..1 (None if not wanted;
        the network computes it anyway, but skipping the copy saves memory).
        """
        result = self._forward(rgb, ["ink", "clean"] if want_clean else ["ink"])
        return result[0][..., 0], (result[1] if want_clean else None)

    def run_with_skin(self, rgb: np.ndarray, want_clean: bool = True
                      ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """``run`` plus ``skin`` (H, W, 3) float32 0..1: the probabilities of skin, hair and clothing
        (``has_skin`` must be true)."""
        names = ["ink", "clean", "skin"] if want_clean else ["ink", "skin"]
        result = self._forward(rgb, names)
        return result[0][..., 0], (result[1] if want_clean else None), result[-1]
