"""Classical baselines scored on the same cases as the model (numpy in, numpy out; no torch).

Each baseline is ``fn(image, mask) -> image``: RGB ``uint8`` ``(H, W, 3)`` and a ``(H, W)`` mask
(bool or ``uint8`` > 0 = fill). ``identity`` returns the input itself (the "do nothing" floor);
``telea`` and ``navier_stokes`` are OpenCV's ``cv2.inpaint``; ``fsr_fast`` (``cv2.xphoto``) is listed
only when opencv-contrib is installed — skindeep does not depend on it.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

Baseline = Callable[[np.ndarray, np.ndarray], np.ndarray]

INPAINT_RADIUS = 5  # px; the radius real_score.py uses for Telea


def _mask_u8(mask: np.ndarray) -> np.ndarray:
    return (np.asarray(mask) > 0).astype(np.uint8) * 255


def identity(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The input unchanged (a copy)."""
    return np.array(image, copy=True)


def telea(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """OpenCV fast-marching inpainting (Telea 2004) of the masked pixels."""
    return cv2.inpaint(np.ascontiguousarray(image), _mask_u8(mask), INPAINT_RADIUS, cv2.INPAINT_TELEA)


def navier_stokes(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """OpenCV Navier–Stokes inpainting (Bertalmio et al. 2001) of the masked pixels."""
    return cv2.inpaint(np.ascontiguousarray(image), _mask_u8(mask), INPAINT_RADIUS, cv2.INPAINT_NS)


def fsr_fast(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Frequency-selective reconstruction (``cv2.xphoto.inpaint`` FSR_FAST); needs opencv-contrib."""
    # xphoto marks the pixels to KEEP with non-zero, the opposite of cv2.inpaint
    keep = (np.asarray(mask) == 0).astype(np.uint8) * 255
    out = np.zeros_like(image)
    cv2.xphoto.inpaint(np.ascontiguousarray(image), keep, out, cv2.xphoto.INPAINT_FSR_FAST)
    return out


def available() -> dict[str, Baseline]:
    """The baselines this installation can run, by name (``fsr_fast`` only with opencv-contrib)."""
    found: dict[str, Baseline] = {"identity": identity, "telea": telea, "ns": navier_stokes}
    if hasattr(cv2, "xphoto") and hasattr(cv2.xphoto, "INPAINT_FSR_FAST"):
        found["fsr_fast"] = fsr_fast
    return found
