"""Skin gate: drop detected blobs that have no skin around them.

Tattoos are on skin, so the pixels just around a tattoo are mostly skin. On held-out clean photos the
detector's false alarms are dark hair, printed clothes and dark backgrounds; about 40 % of their area
(at detection scale) has no skin-coloured pixel around it at all, while 99.9 % of the detected real ink
in real-dev does (docs/experiments.md, experiment 6). The colour test is deliberately broad (a YCrCb
box that passes every skin tone and also warm wood, sand and blond hair): it only removes blobs that are
surrounded by clearly non-skin colours. Photos with almost no skin-coloured pixel (greyscale, strong
colour casts) skip the gate.
"""

from __future__ import annotations

import cv2
import numpy as np

from skindeep.remove.strips import blur_reach
from skindeep.skincolour import ANY_SKIN, to_ycrcb

MIN_SKIN_IN_PHOTO = 0.05  # below this share of skin-coloured pixels the colour test is not trusted


SKIN_COLOURED_SIGMA = 1.0  # px: sensor noise alone pushes single grey pixels into the skin box
SKIN_COLOURED_REACH = blur_reach(SKIN_COLOURED_SIGMA, eight_bit=True)  # rows around a pixel it reads


def skin_coloured(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (H, W) bool: inside a broad YCrCb skin box (any skin tone).

    Judged on a slightly blurred copy: sensor noise alone pushes single grey pixels into the box."""
    return ANY_SKIN.contains(to_ycrcb(cv2.GaussianBlur(rgb, (0, 0), SKIN_COLOURED_SIGMA)))


def skin_around(skin: np.ndarray, labels: np.ndarray, ids: list[int], radius: int) -> dict[int, float]:
    """Share of ``skin`` pixels in a ring of ``radius`` px around each blob ``ids`` of ``labels``.

    skin: (h, w) bool at the labels' size. labels: (h, w) int32 from connectedComponents; the ring
    excludes every labelled pixel. Returns {id: share 0..1} (0 for a blob with no ring).
    """
    any_blob = labels > 0
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    shares = {}
    for i in ids:
        ring = cv2.dilate((labels == i).astype(np.uint8), kernel).astype(bool) & ~any_blob
        shares[i] = float(skin[ring].mean()) if ring.any() else 0.0
    return shares


def gate_blobs(rgb: np.ndarray, labels: np.ndarray, kept: np.ndarray, min_share: float,
               radius_frac: float = 0.03) -> np.ndarray:
    """``kept`` (bool per label) with the blobs that have less than ``min_share`` skin around dropped.

    rgb: (h, w, 3) uint8 at the labels' size. radius_frac: ring width as a fraction of the long side.
    Unchanged when ``min_share <= 0`` or the photo has too little skin colour to judge by.
    """
    if min_share <= 0 or not kept.any():
        return kept
    skin = skin_coloured(rgb)
    if skin.mean() < MIN_SKIN_IN_PHOTO:
        return kept
    radius = max(2, round(radius_frac * max(labels.shape)))
    ids = [int(i) for i in np.nonzero(kept)[0]]
    shares = skin_around(skin, labels, ids, radius)
    out = kept.copy()
    for i, share in shares.items():
        out[i] = share >= min_share
    return out
