"""Validation on a fixed held-out sample set: the model's figures and OpenCV Telea's with the true mask.

Metrics per image (averaged over the set), on uint8 images:
- ``psnr_in`` / ``ssim_in``: PSNR and mean SSIM over the pixels inside the true ink (alpha > threshold);
- ``change_out``: mean absolute change in grey levels over the pixels with no ink at all (alpha == 0);
- ``iou`` / ``f1``: the predicted mask (prob > 0.5) against the true ink (alpha > threshold).
Images with no ink pixels are skipped for the inside figures and the mask scores.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import cv2
import numpy as np
import torch
from skimage.metrics import structural_similarity

from skindeep.model.data import Triple
from skindeep.model.net import predict


@dataclass
class ValMetrics:
    """Mean figures over a validation set (see the module docstring)."""

    psnr_in: float
    ssim_in: float
    change_out: float
    iou: float
    f1: float
    n: int

    def as_dict(self) -> dict[str, float | None]:
        """Plain dict for JSON/CSV; NaN (a figure that does not apply) becomes None (JSON null)."""
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(self).items()}


def image_scores(restored: np.ndarray, triple: Triple, prob: np.ndarray | None, threshold: float) -> dict:
    """Scores of one restored image (H,W,3) uint8 against ``triple``; ``prob`` (H,W) float or None."""
    inside = triple.ink > threshold * 255
    outside = triple.ink == 0
    out: dict[str, float] = {}
    if outside.any():
        diff = np.abs(restored.astype(np.int16) - triple.tattooed.astype(np.int16))
        out["change_out"] = float(diff[outside].mean())
    if inside.any():
        err = (restored.astype(np.float64) - triple.clean.astype(np.float64))[inside]
        mse = float((err**2).mean())
        out["psnr_in"] = 10 * math.log10(255.0**2 / max(mse, 1e-10))
        _, smap = structural_similarity(restored, triple.clean, channel_axis=2, data_range=255, full=True)
        out["ssim_in"] = float(smap.mean(axis=2)[inside].mean())
        if prob is not None:
            pred = prob > 0.5
            tp = float((pred & inside).sum())
            fp, fn = float((pred & ~inside).sum()), float((~pred & inside).sum())
            out["iou"] = tp / max(tp + fp + fn, 1.0)
            out["f1"] = 2 * tp / max(2 * tp + fp + fn, 1.0)
    return out


def _mean(rows: list[dict], key: str) -> float:
    vals = [r[key] for r in rows if key in r]
    return float(np.mean(vals)) if vals else float("nan")


def summarise(rows: list[dict]) -> ValMetrics:
    keys = ("psnr_in", "ssim_in", "change_out", "iou", "f1")
    return ValMetrics(**{k: _mean(rows, k) for k in keys}, n=len(rows))


def telea(triple: Triple, threshold: float = 0.0) -> np.ndarray:
    """OpenCV Telea inpainting given the true ink mask (alpha > threshold, grown by 1 px)."""
    mask = (triple.ink > threshold * 255).astype(np.uint8) * 255
    mask = cv2.dilate(mask, np.ones((3, 3), np.uint8))
    return cv2.inpaint(triple.tattooed, mask, 3, cv2.INPAINT_TELEA)


def telea_metrics(val_set: list[tuple[str, Triple]], threshold: float) -> ValMetrics:
    """Telea's figures on the validation set (mask scores are 1 by construction, not reported: NaN)."""
    rows = [image_scores(telea(t), t, None, threshold) for _, t in val_set]
    return summarise(rows)


def _input(model: torch.nn.Module, t: Triple) -> torch.Tensor:
    """``t.tattooed`` as a ``(1,3,H,W)`` float tensor in 0..1 on the model's device (a GPU run validates
    where it trains)."""
    device = next(model.parameters()).device
    return (torch.from_numpy(t.tattooed).permute(2, 0, 1)[None].float() / 255.0).to(device)


@torch.no_grad()
def model_metrics(model: torch.nn.Module, val_set: list[tuple[str, Triple]], threshold: float) -> ValMetrics:
    """Run ``model`` (eval mode) on each full validation image and score the raw ``clean`` output."""
    was_training = model.training
    model.eval()
    rows = []
    for _, t in val_set:
        prob, clean = (o.cpu() for o in predict(model, _input(model, t)))
        restored = (clean[0].permute(1, 2, 0).numpy() * 255.0 + 0.5).clip(0, 255).astype(np.uint8)
        rows.append(image_scores(restored, t, prob[0, 0].numpy(), threshold))
    model.train(was_training)
    return summarise(rows)


THRESHOLD_GRID = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7)


@torch.no_grad()
def pick_threshold(model: torch.nn.Module, val_set: list[tuple[str, Triple]], ink_threshold: float,
                   grid: tuple[float, ...] = THRESHOLD_GRID) -> tuple[float, float]:
    """The ink-probability threshold in ``grid`` with the best pooled mask F1 on ``val_set``; (thr, F1).

    The grid starts at 0.3: lower thresholds buy recall on synthetic ink with false positives on real
    skin (hair, shadows), which the synthetic validation set under-represents.
    """
    model.eval()
    counts = np.zeros((len(grid), 3))  # tp, fp, fn per threshold
    for _, t in val_set:
        prob = predict(model, _input(model, t))[0][0, 0].cpu().numpy()
        truth = t.ink > ink_threshold * 255
        for i, thr in enumerate(grid):
            pred = prob > thr
            counts[i] += [(pred & truth).sum(), (pred & ~truth).sum(), (~pred & truth).sum()]
    f1 = 2 * counts[:, 0] / np.maximum(2 * counts[:, 0] + counts[:, 1] + counts[:, 2], 1)
    best = int(np.argmax(f1))
    return float(grid[best]), float(f1[best])
