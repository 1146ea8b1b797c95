"""Export a checkpoint to ONNX (the shipped format) and check it against torch with onnxruntime.

ONNX interface (docs/ARCHITECTURE.md): input ``image`` float32 (1,3,H,W) in 0..1, dynamic H/W (multiples
of 32); outputs ``ink`` float32 (1,1,H,W) probability and ``clean`` float32 (1,3,H,W) in 0..1.
Spectral norm is folded into plain weights before export.
"""

from __future__ import annotations

import copy
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from skindeep.errors import SkinDeepError
from skindeep.model.skin import SKIN_CLASSES

PARITY_TOLERANCE = 1e-3  # max |onnxruntime - torch| on either output, on inputs in 0..1
ONNX_OPSET = 17


class ExportError(SkinDeepError):
    """The exported ONNX model does not reproduce the torch model within tolerance."""


def output_names(net: nn.Module) -> list[str]:
    """The ONNX outputs of ``net``: ink and clean, and skin when it has a skin head."""
    return ["ink", "clean", "skin"] if getattr(net, "has_skin", False) else ["ink", "clean"]


class _Inference(nn.Module):
    """Wraps the network to the ONNX contract: (image) -> (ink probability, clean[, skin probabilities])."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net
        self.with_skin = getattr(net, "has_skin", False)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if not self.with_skin:
            logits, clean = self.net(image)
            return torch.sigmoid(logits), clean
        logits, clean, skin = self.net(image, with_skin=True)
        return torch.sigmoid(logits), clean, torch.sigmoid(skin)


def fold_spectral_norm(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with spectral normalisation baked into plain weights (eval-mode values)."""
    model = copy.deepcopy(model).eval()
    for m in model.modules():
        if hasattr(m, "weight_orig"):
            nn.utils.remove_spectral_norm(m)
    return model


def export_onnx(model: nn.Module, path: str | Path, sample_size: int = 256) -> Path:
    """Write ``model`` as ONNX to ``path`` with dynamic H/W."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wrapped = _Inference(fold_spectral_norm(model)).eval()
    x = torch.rand(1, 3, sample_size, sample_size)
    dims = {2: "H", 3: "W"}
    names = output_names(model)
    tmp = path.with_suffix(".tmp.onnx")
    with torch.no_grad():
        torch.onnx.export(
            wrapped, (x,), str(tmp), input_names=["image"], output_names=names,
            dynamic_axes={"image": dims, **{n: dims for n in names}}, opset_version=ONNX_OPSET, dynamo=False,
        )
    tmp.replace(path)
    return path


@dataclass
class ParityReport:
    """Largest absolute differences between onnxruntime and torch, per output and input size."""

    tolerance: float
    max_abs_ink: float
    max_abs_clean: float
    sizes: list[tuple[int, int]]
    max_abs_skin: float = 0.0  # 0 for a network without a skin head

    @property
    def ok(self) -> bool:
        return max(self.max_abs_ink, self.max_abs_clean, self.max_abs_skin) < self.tolerance


def check_parity(model: nn.Module, onnx_path: str | Path, sizes=((96, 160), (256, 256)),
                 tolerance: float = PARITY_TOLERANCE, seed: int = 0) -> ParityReport:
    """Run torch and onnxruntime on random inputs; raise :class:`ExportError` if they differ.

    Torch is ``model`` as trained (spectral norm hooks, eval mode), not the folded copy that was
    exported: a fold that got the normalisation wrong must show here.
    """
    import onnxruntime as ort

    ref = _Inference(copy.deepcopy(model)).eval()  # a copy: eval() must not change the caller's model
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(seed)
    names = output_names(model)
    worst = [0.0] * len(names)
    for h, w in sizes:
        x = rng.random((1, 3, h, w), dtype=np.float32)
        with torch.no_grad():
            want = [t.numpy() for t in ref(torch.from_numpy(x))]
        got = sess.run(names, {"image": x})
        for i in range(len(names)):
            if got[i].shape != want[i].shape:
                raise ExportError(f"{onnx_path}: output {i} has shape {got[i].shape}, torch gives {want[i].shape}")
            worst[i] = max(worst[i], float(np.abs(got[i] - want[i]).max()))
    report = ParityReport(tolerance, worst[0], worst[1], [tuple(s) for s in sizes],
                          worst[2] if len(worst) > 2 else 0.0)
    if not report.ok:
        each = ", ".join(f"{n} {v:.3g}" for n, v in zip(names, worst, strict=True))
        raise ExportError(f"{onnx_path}: onnxruntime differs from torch by {max(worst):.3g} ({each}), "
                          f"tolerance {tolerance}")
    return report


def time_onnx(onnx_path: str | Path, size: int = 1024, threads: int = 2, repeats: int = 3) -> float:
    """Median seconds for one ``size`` x ``size`` input with onnxruntime on ``threads`` threads."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = threads, 1
    sess = ort.InferenceSession(str(onnx_path), so, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).random((1, 3, size, size), dtype=np.float32)
    sess.run(None, {"image": x})
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        sess.run(None, {"image": x})
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def export_checkpoint(checkpoint: str | Path, out: str | Path, version: str | None = None,
                      threshold: float | None = None, timing: bool = True, val_dir: str | Path | None = None,
                      **recommended: int | float | None) -> dict[str, Any]:
    """Checkpoint -> ONNX at ``out`` + parity check + ``out`` with .json metadata. Returns the metadata.

    ``recommended``: the pipeline settings the model recommends, by name (``detect_size=320``,
    ``input_blur=1.0``...; one per row of ``skindeep.remove.session.MODEL_SETTINGS``, which says what
    each is and why its default); the ones not given get the table's ``export_default``.
    ``threshold``: None picks it by pooled mask F1 on the validation folder (``val_dir``, default the
    run's ``data.val_dir``) when that exists, else 0.5.
    """
    from skindeep import __version__
    from skindeep.model.checkpoint import model_from_checkpoint
    from skindeep.remove.session import MODEL_SETTINGS, export_settings

    settings = export_settings(recommended)  # before the slow part: a misspelt name fails at once
    model, cfg, state = model_from_checkpoint(checkpoint)
    out = export_onnx(model, out)
    report = check_parity(model, out)
    threshold_f1 = None
    if threshold is None:
        threshold = 0.5
        folder = Path(val_dir or cfg.data.val_dir)
        if cfg.data.val_dir and folder.is_dir():
            from skindeep.model.data import load_val_set
            from skindeep.model.validate import pick_threshold

            threshold, threshold_f1 = pick_threshold(model, load_val_set(folder, cfg.data.val_limit),
                                                     cfg.data.ink_threshold)
    train_size = max(s.size for s in cfg.stages[: state.get("stage", 0) + 1])
    meta: dict[str, Any] = {
        "name": "skindeep",
        "version": version or __version__,
        "architecture": "U-Net, EfficientNet-Lite0 encoder (ImageNet), SN decoder + self-attention, "
                        "ink head + gain/offset restorer",
        "input": {"name": "image", "shape": [1, 3, "H", "W"], "range": [0, 1], "multiple_of": 32},
        "outputs": {"ink": [1, 1, "H", "W"], "clean": [1, 3, "H", "W"],
                    **({"skin": [1, 3, "H", "W"]} if model.has_skin else {})},
        "skin_classes": list(SKIN_CLASSES) if model.has_skin else None,
        "train_size": train_size,
        **{setting.key: settings[setting.name] for setting in MODEL_SETTINGS},
        "threshold": threshold,
        "threshold_val_f1": threshold_f1,
        "step": state.get("step"),
        "stage": state.get("stage"),
        "train_seconds": round(float(state.get("seconds", 0.0))),
        "val_metrics": state.get("metrics", {}),
        "best_val_psnr_in": state.get("best"),
        "parity": asdict(report),
        "checkpoint": str(checkpoint),
        "bytes": out.stat().st_size,
    }
    telea = Path(checkpoint).parent / "telea.json"
    if telea.is_file():
        meta["telea_val_metrics"] = json.loads(telea.read_text())
    if timing:
        meta["seconds_1024_2threads"] = round(time_onnx(out), 3)
    meta = _json_safe(meta)
    out.with_suffix(".json").write_text(json.dumps(meta, indent=2, allow_nan=False) + "\n")
    return meta


def _json_safe(obj: Any) -> Any:
    """Replace NaN/inf (figures that do not apply) by None so the metadata is strict JSON."""
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
