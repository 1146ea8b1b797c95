"""Skin masks: the photo's own NAME.skin.png when it exists, else a colour-model detector.

The detector (used for photos without a hand-labelled mask, and to clean ``NAME.skinhair.png`` which
also covers hair, eyes and lips) works in two passes:
1. a broad, person-independent YCrCb box (Cr 135..175, Cb 80..130, Y > 40) finds candidate skin;
2. the person's own statistics: a Gaussian fitted to (Cr, Cb) of the candidates; pixels within a
   Mahalanobis distance of 2.5 are kept, much darker pixels (eyebrows, moles) dropped, then a morphological open/close removes specks and holes.
Limits (see docs/synth.md): warm wood, sand, blond hair and orange clothing pass as skin; very dark or
strongly lit skin (blue/green casts) is missed; the mask is only as sharp as the colour boundary.
"""

from __future__ import annotations

import cv2
import numpy as np


def detect_skin(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (H, W) uint8 mask, 255 = skin."""
    ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)
    y, cr, cb = ycc[..., 0], ycc[..., 1].astype(np.float32), ycc[..., 2].astype(np.float32)
    broad = (cr > 135) & (cr < 175) & (cb > 80) & (cb < 130) & (y > 40)
    if broad.sum() < 50:
        return np.zeros(rgb.shape[:2], np.uint8)
    samples = np.stack([cr[broad], cb[broad]], 1)
    mean = samples.mean(0)
    cov = np.cov(samples.T) + np.eye(2) * 4.0  # floor: a flat-coloured region gives a tiny covariance
    inv = np.linalg.inv(cov)
    d = np.stack([cr - mean[0], cb - mean[1]], -1)
    maha = np.einsum("...i,ij,...j->...", d, inv, d)
    mask = ((maha < 2.5**2) & (y > 30)).astype(np.uint8) * 255
    mask = drop_dark_features(rgb, mask)
    k = max(3, (min(rgb.shape[:2]) // 100) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
    return cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel)


def drop_dark_features(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Remove from a skin mask what is much darker (luma < 0.5x the mask's median) than the person's
    skin: eyebrows, eyes, moles, stray hair, deep shadow. No ink is placed there, so these natural dark
    features stay identical in both images and teach the model they are not ink. (H, W) uint8 0/255."""
    on = mask > 127
    if on.sum() < 50:
        return mask
    y = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)[..., 0]
    return np.where(on & (y > 0.5 * float(np.median(y[on]))), 255, 0).astype(np.uint8)
