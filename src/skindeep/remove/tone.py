"""Skin-tone match: pull the restored area's low-frequency colour toward the skin around it.

The network restores colour ink poorly: teal leaves or a blue butterfly come back as white or grey
blotches, lighter than any skin near them (docs/experiments.md, experiment 6). Skin colour changes
slowly across a limb, so the colour the area *should* have is well estimated from the pixels just
outside the mask. This step measures, at a small working size, the mean Lab colour of the restored
pixels and of the untouched pixels around them (Gaussian-weighted, normalised convolution), and shifts
each restored pixel by the difference. Only skin-coloured pixels count as "around" (the skin gate's
colour test), so a dark background next to a sleeve does not turn the sleeve grey. Only the low frequencies move: the restored texture (pores,
highlights) is kept. Pixels outside the mask are never read for writing, so they stay bit-identical.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from skindeep.colour import to_lab
from skindeep.remove.gate import MIN_SKIN_IN_PHOTO, skin_coloured
from skindeep.remove.resample import Box, upsample_region

WORK_SIDE = 256  # long side at which the colour fields are estimated (they are smooth)
MIN_WEIGHT = 0.05  # below this much nearby weight (masked or unmasked) the shift fades out
# Restored pixels may be at most this much lighter (Lab L units) than the skin around: the network
# over-corrects thin dark outlines into pale lines, which a low-frequency shift cannot reach.
LIGHTER_THAN_SKIN = 6.0


@dataclass
class ToneField:
    """Colour fields at the working size (h, w): what ``apply_tone_shift`` needs.

    shift: (h, w, 3) float32 Lab, the skin around minus the restored area (0 where unknown).
    around: (h, w, 3) float32 Lab of the skin around. known: (h, w) float32 0..1, confidence.
    """

    shift: np.ndarray
    around: np.ndarray
    known: np.ndarray


def tone_shift(rgb: np.ndarray, out: np.ndarray, alpha: np.ndarray, sigma: float = 0.06) -> ToneField | None:
    """The fields that move the restored area toward the colour of the skin around it.

    rgb, out: (H, W, 3) uint8, the photo and its restoration. alpha: (H, W) float32 0..1, the mask.
    sigma: Gaussian radius of "around", as a fraction of the long side.
    Returns a ``ToneField`` at the working size (long side ``WORK_SIDE`` at most), or None when nothing
    is masked.
    """
    h, w = alpha.shape
    if not alpha.any():
        return None
    scale = min(1.0, WORK_SIDE / max(h, w))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    m = cv2.resize(alpha, size, interpolation=cv2.INTER_AREA)
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    outside = m < 0.02  # untouched pixels: the reference colour
    skin = skin_coloured(small)
    if skin.mean() >= MIN_SKIN_IN_PHOTO:  # only skin around is a reference, not a dark background
        outside &= skin
    outside = outside.astype(np.float32)
    inside = (m > 0.3).astype(np.float32)
    lab_in = to_lab(small)
    lab_out = to_lab(cv2.resize(out, size, interpolation=cv2.INTER_AREA))

    radius = sigma * max(size)

    def blur(x: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(x, (0, 0), radius)

    w_out, w_in = blur(outside), blur(inside)
    around = blur(lab_in * outside[..., None]) / np.maximum(w_out, 1e-4)[..., None]
    restored = blur(lab_out * inside[..., None]) / np.maximum(w_in, 1e-4)[..., None]
    # confidence of both estimates, fading smoothly to 0 (a hard cut would draw a seam in a large piece)
    known = (np.clip(w_out / MIN_WEIGHT, 0, 1) * np.clip(w_in / MIN_WEIGHT, 0, 1)).astype(np.float32)
    return ToneField(((around - restored) * known[..., None]).astype(np.float32), around.astype(np.float32), known)


def apply_tone_shift(out: np.ndarray, alpha: np.ndarray, field: ToneField, amount: float = 1.0,
                     boxes: list[Box] | None = None) -> None:
    """Shift the masked pixels of ``out`` (H, W, 3) uint8, in place, by ``amount * alpha * shift``; pixels
    still more than ``LIGHTER_THAN_SKIN`` lighter than the skin around are moved toward that skin colour
    (fully once 10 L units over), by the same weight.

    field: ``tone_shift``'s result (bilinearly upsampled). boxes: where the mask can be
    non-zero (x0, y0, x1, y1), to keep the cost to the ink area; None = the whole photo.
    """
    h, w = alpha.shape
    if amount <= 0:
        return
    for x0, y0, x1, y1 in boxes if boxes is not None else [(0, 0, w, h)]:
        a = alpha[y0:y1, x0:x1]
        ys, xs = np.nonzero(a)
        if ys.size == 0:
            continue
        region = (x0, y0, x1, y1)
        shift, around = (upsample_region(f, (w, h), region)[ys, xs] for f in (field.shift, field.around))
        known = upsample_region(field.known, (w, h), region)[ys, xs][:, None]
        px = out[y0:y1, x0:x1][ys, xs][:, None, :]  # (N, 1, 3): cvtColor wants an image
        weight = (np.float32(amount) * a[ys, xs])[:, None]
        lab = to_lab(px)[:, 0, :] + weight * shift
        target = around.copy()
        target[:, :1] += LIGHTER_THAN_SKIN
        pale = known * np.clip((lab[:, :1] - target[:, :1]) / 10.0, 0.0, 1.0)
        lab += weight * pale * (target - lab)
        rgb = cv2.cvtColor(lab[:, None, :].astype(np.float32), cv2.COLOR_LAB2RGB)[:, 0, :]
        out[y0 + ys, x0 + xs] = np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)
