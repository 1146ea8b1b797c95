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

PARITY_TOLERANCE = 1e-3  # max |onnxruntime - torch| on either output, on inputs in 0..1
ONNX_OPSET = 17


class ExportError(SkinDeepError):
    """The exported ONNX model does not reproduce the torch model within tolerance."""


class _Inference(nn.Module):
    """Wraps the network to the ONNX contract: (image) -> (ink probability, clean)."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits, clean = self.net(image)
        return torch.sigmoid(logits), clean


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
    tmp = path.with_suffix(".tmp.onnx")
    with torch.no_grad():
        torch.onnx.export(
            wrapped, (x,), str(tmp), input_names=["image"], output_names=["ink", "clean"],
            dynamic_axes={"image": dims, "ink": dims, "clean": dims}, opset_version=ONNX_OPSET, dynamo=False,
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

    @property
    def ok(self) -> bool:
        return max(self.max_abs_ink, self.max_abs_clean) < self.tolerance


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
    worst = [0.0, 0.0]
    for h, w in sizes:
        x = rng.random((1, 3, h, w), dtype=np.float32)
        with torch.no_grad():
            want = [t.numpy() for t in ref(torch.from_numpy(x))]
        got = sess.run(["ink", "clean"], {"image": x})
        for i in range(2):
            if got[i].shape != want[i].shape:
                raise ExportError(f"{onnx_path}: output {i} has shape {got[i].shape}, torch gives {want[i].shape}")
            worst[i] = max(worst[i], float(np.abs(got[i] - want[i]).max()))
    report = ParityReport(tolerance, worst[0], worst[1], [tuple(s) for s in sizes])
    if not report.ok:
        raise ExportError(
            f"{onnx_path}: onnxruntime differs from torch by {max(worst):.3g} (ink {worst[0]:.3g}, "
            f"clean {worst[1]:.3g}), tolerance {tolerance}"
        )
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
                      threshold: float | None = None, timing: bool = True, detect_size: int = 320,
                      val_dir: str | Path | None = None, restore_side: int = 320,
                      input_blur: float = 0.0, grow_threshold: float = 0.0, coarse_detect_size: int = 0,
                      coarse_support: float = 0.0) -> dict[str, Any]:
    """Checkpoint -> ONNX at ``out`` + parity check + ``out`` with .json metadata. Returns the metadata.

    ``detect_size``: the long side to shrink photos to for detection. The network saw tattoos at the
    scale of 320 px samples (crops of 0.4-1x their side), and on real photos it finds more ink at
    256-320 px than at 512 (looked at on real-dev sheets).
    ``restore_side``: the long side at which restoring works best. The restorer gates its correction
    by its *own* ink probability, which drops at scales it was not trained at: on real-dev photos
    restoring at 320 px (correction upsampled) removed much more ink than at 512 or at full size.
    ``input_blur``: Gaussian sigma (detector pixels) the remover softens its input by before detecting;
    crisp real close-ups are sharper than any training photo (docs/experiments.md, experiment 6).
    ``grow_threshold``: hysteresis, the lower threshold at which pixels join a blob that reaches
    ``threshold`` (0 = off).
    ``coarse_detect_size``, ``coarse_support``: a second detection at this smaller long side, into which
    blobs grow where the first gives at least ``coarse_support`` (0 = off; ``remove.PipelineConfig``).
    ``threshold``: None picks it by pooled mask F1 on the validation folder (``val_dir``, default the
    run's ``data.val_dir``) when that exists, else 0.5.
    """
    from skindeep import __version__
    from skindeep.model.checkpoint import model_from_checkpoint

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
        "outputs": {"ink": [1, 1, "H", "W"], "clean": [1, 3, "H", "W"]},
        "train_size": train_size,
        "recommended_detect_size": detect_size,
        "recommended_restore_side": restore_side,
        "recommended_input_blur": input_blur,
        "recommended_grow_threshold": grow_threshold,
        "recommended_coarse_detect_size": coarse_detect_size,
        "recommended_coarse_support": coarse_support,
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
