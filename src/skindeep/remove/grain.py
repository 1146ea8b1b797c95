"""Grain match: give a restored area the fine texture (pores, sensor grain) of the skin around it.

The network restores dense ink as a smooth patch: at the scale it restores (192-320 px) pores are below
one pixel, and where it is sure of the ink the pipeline keeps none of the photo's own detail. A smooth
disc on textured skin is what gives a retouch away, so retouchers add matched noise. This step does
the same, and only as much as is missing: it measures the high-frequency luminance of the untouched
pixels around the mask, and of the restored pixels locally, and adds high-pass noise for the
difference. Already textured parts of the fill (remnant lines, kept detail) get nothing. The noise is
seeded from the photo itself, so the same photo always gives the same result.
"""

from __future__ import annotations

import zlib

import cv2
import numpy as np

from skindeep.colour import luminance
from skindeep.remove.resample import Box

HIGH_PASS_SIGMA = 1.5  # px at full size: what counts as "fine" texture
LOCAL_SIGMA = 4.0  # px: how locally the fill's own texture is measured
RING = 12  # px around the mask whose texture is the reference


def high_pass(lum: np.ndarray) -> np.ndarray:
    """(h, w) float32 -> its fine detail: ``lum - GaussianBlur(lum, HIGH_PASS_SIGMA)``."""
    return lum - cv2.GaussianBlur(lum, (0, 0), HIGH_PASS_SIGMA)


def add_grain(rgb: np.ndarray, out: np.ndarray, alpha: np.ndarray, boxes: list[Box], amount: float = 1.0) -> None:
    """Add matched fine texture to the masked pixels of ``out``, in place.

    rgb: (H, W, 3) uint8, the photo. out: (H, W, 3) uint8, its restoration (changed only where
    ``alpha > 0``). alpha: (H, W) float32 0..1, the mask. boxes: (x0, y0, x1, y1) holding every masked
    pixel. amount: 0..1 scales the added texture (0 = off).
    """
    if amount <= 0:
        return
    for x0, y0, x1, y1 in boxes:
        a = alpha[y0:y1, x0:x1]
        if not a.any():
            continue
        masked = a > 0
        ring = cv2.dilate(masked.astype(np.uint8), np.ones((2 * RING + 1,) * 2, np.uint8)).astype(bool) & ~masked
        if ring.sum() < 50:
            continue
        reference = float(high_pass(luminance(rgb[y0:y1, x0:x1]))[ring].std())
        restored = out[y0:y1, x0:x1]
        fill = high_pass(luminance(restored))
        local = np.sqrt(cv2.GaussianBlur(fill * fill, (0, 0), LOCAL_SIGMA))
        missing = np.sqrt(np.clip(reference**2 - local**2, 0.0, None))
        seed = zlib.crc32(rgb[y0:y1:7, x0:x1:7].tobytes())
        noise = high_pass(np.random.default_rng(seed).standard_normal(masked.shape).astype(np.float32))
        noise /= max(float(noise.std()), 1e-6)
        delta = (np.float32(amount) * a * missing * noise)[masked]
        px = restored[masked].astype(np.float32) + delta[:, None]
        restored[masked] = np.clip(np.rint(px), 0, 255).astype(np.uint8)
