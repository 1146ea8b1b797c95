"""Small shared helpers: smooth random fields, soft masks, image decoding."""

from __future__ import annotations

import cv2
import numpy as np


def smooth_noise(rng: np.random.Generator, shape: tuple[int, int], cells: int) -> np.ndarray:
    """Smooth random field (H, W) float32 in about [-1, 1]: a cells x cells grid upsampled bicubically."""
    h, w = shape
    cells = max(2, int(cells))
    grid = rng.uniform(-1.0, 1.0, (cells, cells)).astype(np.float32)
    return np.clip(cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC), -1.5, 1.5)


def soft_ellipse(shape: tuple[int, int], feather: float = 0.25) -> np.ndarray:
    """(H, W) float32 0..1: an ellipse filling the box whose edge fades over ``feather`` of the radius."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.sqrt(((xx + 0.5) / w * 2 - 1) ** 2 + ((yy + 0.5) / h * 2 - 1) ** 2)
    return np.clip((1.0 - r) / max(feather, 1e-3), 0.0, 1.0)


def gauss(img: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur (any dtype cv2 accepts); a no-op for sigma < 0.3 px."""
    if sigma < 0.3:
        return img
    return cv2.GaussianBlur(img, (0, 0), sigmaX=float(sigma), borderType=cv2.BORDER_REFLECT)

