"""Rec. 601 luma: the one weighting of R, G and B the project uses to judge brightness and texture.

(``skindeep.io`` keeps Pillow's own integer luma to write greyscale files bit-exactly, and
``skindeep.eval.real`` OpenCV's rounded grey to reproduce ``real_score.py``'s figures exactly.)
"""

from __future__ import annotations

import numpy as np

REC601 = np.array([0.299, 0.587, 0.114], np.float32)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) RGB, any dtype -> (...) float32 luma in the input's units (0..255 for uint8, 0..1 for
    floats in 0..1)."""
    return np.asarray(rgb).astype(np.float32, copy=False) @ REC601
