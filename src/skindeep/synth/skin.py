"""Skin masks: the photo's own NAME.skin.png when it exists, else a colour-model detector.

The detector (used for photos without a hand-labelled mask, and to clean ``NAME.skinhair.png`` which
also covers hair, eyes and lips) works in two passes:
1. a broad, person-independent YCrCb box (``skincolour.CANDIDATE_SKIN``) finds candidate skin;
2. the person's own statistics: a Gaussian fitted to (Cr, Cb) of the candidates; pixels within a
   Mahalanobis distance of 2.5 are kept, much darker pixels (eyebrows, moles) dropped, then a morphological open/close removes specks and holes.
Limits (see docs/synth.md): warm wood, sand, blond hair and orange clothing pass as skin; very dark or
strongly lit skin (blue/green casts) is missed; the mask is only as sharp as the colour boundary.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from skindeep.skincolour import CANDIDATE_SKIN, to_ycrcb


@dataclass
class SkinModel:
    """A person's skin colour: Gaussian over (Cr, Cb) and the median luma of their skin. Fitted on a
    small thumbnail of the whole photo (cheap), applied to the crop actually used."""

    mean: np.ndarray  # (2,) float64 Cr, Cb
    inv_cov: np.ndarray  # (2, 2) float64
    y_median: float

    @classmethod
    def fit(cls, rgb: np.ndarray) -> SkinModel | None:
        """Fit on (H, W, 3) uint8 RGB; None when nothing skin-coloured is found."""
        ycc = to_ycrcb(rgb).reshape(-1, 3).astype(np.float32)
        y, cr, cb = ycc[:, 0], ycc[:, 1], ycc[:, 2]
        broad = CANDIDATE_SKIN.contains(ycc)
        if broad.sum() < 20:
            return None
        samples = np.stack([cr[broad], cb[broad]], 1)
        cov = np.cov(samples.T) + np.eye(2) * 4.0  # floor: a flat-coloured region gives a tiny covariance
        return cls(samples.mean(0), np.linalg.inv(cov), float(np.median(y[broad])))

    def apply(self, rgb: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 RGB -> (H, W) uint8 mask, 255 = skin."""
        ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb).astype(np.float32)
        dr, db, y = ycc[..., 1] - self.mean[0], ycc[..., 2] - self.mean[1], ycc[..., 0]
        a, b, d = self.inv_cov[0, 0], self.inv_cov[0, 1] + self.inv_cov[1, 0], self.inv_cov[1, 1]
        maha = a * dr * dr + b * dr * db + d * db * db
        mask = ((maha < 2.5**2) & (y > max(30.0, 0.5 * self.y_median))).astype(np.uint8) * 255
        k = max(3, (min(rgb.shape[:2]) // 100) | 1)
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
        return cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel)


def detect_skin(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (H, W) uint8 mask, 255 = skin (model fitted on the image itself)."""
    step = max(1, min(rgb.shape[:2]) // 96)
    model = SkinModel.fit(rgb[::step, ::step])
    return np.zeros(rgb.shape[:2], np.uint8) if model is None else model.apply(rgb)


def drop_dark_features(rgb: np.ndarray, mask: np.ndarray, y_ref: float | None = None) -> np.ndarray:
    """Remove from a skin mask what is much darker (luma < 0.5x ``y_ref``, default the mask's median)
    than the person's skin: eyebrows, eyes, moles, stray hair, deep shadow. No ink is placed there,
    so these natural dark features stay identical in both images and teach the model they are not
    ink. (H, W) uint8 0/255."""
    on = mask > 127
    if y_ref is None:
        if on.sum() < 50:
            return mask
    y = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)[..., 0]
    if y_ref is None:
        y_ref = float(np.median(y[on]))
    return np.where(on & (y > 0.5 * y_ref), 255, 0).astype(np.uint8)
