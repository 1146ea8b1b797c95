"""Rec. 601 luma, the one weighting of R, G and B the project uses to judge brightness and texture, and
the one conversion to CIELAB it uses to judge colour distance.

(``skindeep.io`` keeps Pillow's own integer luma to write greyscale files bit-exactly, and
``skindeep.eval.real`` OpenCV's rounded grey to reproduce ``real_score.py``'s figures exactly.)
"""

from __future__ import annotations

import cv2
import numpy as np

REC601 = np.array([0.299, 0.587, 0.114], np.float32)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) RGB, any dtype -> (...) float32 luma in the input's units (0..255 for uint8, 0..1 for
    floats in 0..1)."""
    return np.asarray(rgb).astype(np.float32, copy=False) @ REC601


def to_lab(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) RGB, uint8 or float 0..255 (clipped) -> (..., 3) float32 CIELAB (L 0..100, a/b about
    -127..127). OpenCV's conversion wants an image: pass (h, w, 3) or (n, 1, 3)."""
    return cv2.cvtColor(np.clip(rgb, 0, 255).astype(np.float32) / np.float32(255.0), cv2.COLOR_RGB2LAB)
