"""The colour test shared by the synthetic engine and the removal pipeline: a box in YCrCb.

Skin of every tone sits in a narrow band of chroma (Cr, Cb) whatever its brightness, so a box over
(Cr, Cb) with a floor on luma (Y) finds candidate skin without knowing the person. It is broad by
design: warm wood, sand, blond hair and orange clothing pass too. Callers refine it (``synth.skin``
fits the person's own colour) or only use it to reject what is clearly not skin (``remove.gate``).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class SkinBox:
    """Inclusive bounds on 8-bit YCrCb values (OpenCV's ``COLOR_RGB2YCrCb``)."""

    cr: tuple[int, int]
    cb: tuple[int, int]
    y_min: int

    def contains(self, ycc: np.ndarray) -> np.ndarray:
        """(..., 3) YCrCb (uint8 or float holding integers) -> (...) bool."""
        y, cr, cb = ycc[..., 0], ycc[..., 1], ycc[..., 2]
        return ((cr >= self.cr[0]) & (cr <= self.cr[1]) & (cb >= self.cb[0]) & (cb <= self.cb[1])
                & (y >= self.y_min))


# Candidates to fit a person's skin model on (``synth.skin``): a little tighter, fewer false seeds.
CANDIDATE_SKIN = SkinBox(cr=(136, 174), cb=(81, 129), y_min=41)
# Anything that could be skin (``remove.gate``, ``remove.tone``): every skin tone, lenient edges.
ANY_SKIN = SkinBox(cr=(133, 180), cb=(77, 135), y_min=36)


def to_ycrcb(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (H, W, 3) uint8 YCrCb."""
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)
