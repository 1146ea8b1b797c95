"""Temporal stabilisation: optical flow between frames, flow-warped mask fusion and fill propagation.

Flow is computed with OpenCV's DIS on small grey copies of the frames (cheap, and the motion of skin is
smooth), checked forward-backward, and scaled up to full size. All maps here are "backward": for each
pixel of the *current* frame, where it was in the *previous* frame, so ``warp(previous, motion)`` lines
the previous frame's mask/fill up with the current frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np


@dataclass
class Motion:
    """Motion from the previous frame to the current one, at full size.

    ``map_x``/``map_y``: (H, W) float32 source coordinates in the previous frame for every current pixel
    (ready for ``cv2.remap``). ``valid``: (H, W) float32 0..1, 1 where the flow passed the
    forward-backward check and the source lies inside the previous frame.
    """

    map_x: np.ndarray
    map_y: np.ndarray
    valid: np.ndarray


def small_grey(rgb: np.ndarray, size: int) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> grey uint8 with its longer side at most ``size`` (for flow and cuts)."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    scale = size / max(grey.shape)
    if scale < 1:
        grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return grey


class FlowEstimator:
    """DIS optical flow between small grey frames, with a forward-backward consistency check."""

    def __init__(self, preset: int = cv2.DISOPTICAL_FLOW_PRESET_FAST, fb_tolerance: float = 1.0) -> None:
        self.dis = cv2.DISOpticalFlow_create(preset)
        self.fb_tolerance = fb_tolerance  # pixels at flow resolution

    def motion(self, prev_grey: np.ndarray, cur_grey: np.ndarray, full_shape: tuple[int, int]) -> Motion:
        """Backward motion (current -> previous) at ``full_shape`` (H, W) from two small grey frames."""
        back = self.dis.calc(cur_grey, prev_grey, None)  # cur pixel -> its place in prev
        fwd = self.dis.calc(prev_grey, cur_grey, None)  # prev pixel -> its place in cur
        h, w = cur_grey.shape
        gx, gy = _grid(h, w)
        src_x, src_y = gx + back[..., 0], gy + back[..., 1]
        # Going back then forward again must land where we started; occlusions and bad matches do not.
        fwd_at_src = cv2.remap(fwd, src_x, src_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        error2 = (back[..., 0] + fwd_at_src[..., 0]) ** 2 + (back[..., 1] + fwd_at_src[..., 1]) ** 2
        # Sundaram et al. (ECCV 2010): the allowed round-trip error grows with the motion.
        allowed2 = 0.01 * ((back**2).sum(axis=2) + (fwd_at_src**2).sum(axis=2)) + self.fb_tolerance**2
        inside = (src_x >= 0) & (src_x <= w - 1) & (src_y >= 0) & (src_y <= h - 1)
        valid = ((error2 < allowed2) & inside).astype(np.float32)
        valid = cv2.erode(valid, np.ones((3, 3), np.uint8))  # flow is unreliable next to a failure too
        return _upscale_motion(back, valid, full_shape)


@lru_cache(maxsize=4)
def _grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates (x, y), each (height, width) float32; cached, as every frame has the same size."""
    gx, gy = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    gx.flags.writeable = gy.flags.writeable = False
    return gx, gy


def _upscale_motion(flow: np.ndarray, valid: np.ndarray, full_shape: tuple[int, int]) -> Motion:
    height, width = full_shape
    small_h, small_w = flow.shape[:2]
    sx, sy = width / small_w, height / small_h
    flow_full = cv2.resize(flow, (width, height), interpolation=cv2.INTER_LINEAR)
    gx, gy = _grid(height, width)
    map_x = gx + flow_full[..., 0] * sx
    map_y = gy + flow_full[..., 1] * sy
    valid_full = cv2.resize(valid, (width, height), interpolation=cv2.INTER_LINEAR)
    return Motion(map_x, map_y, valid_full)


def warp(image: np.ndarray, motion: Motion) -> np.ndarray:
    """Warp the previous frame's ``image`` ((H, W) or (H, W, C), any dtype) onto the current frame."""
    return cv2.remap(image, motion.map_x, motion.map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def is_scene_cut(prev_grey: np.ndarray, cur_grey: np.ndarray, threshold: float = 0.5) -> bool:
    """True when the grey histograms differ by more than ``threshold`` (Bhattacharyya distance, 0..1)."""
    hists = [cv2.calcHist([g], [0], None, [32], [0, 256]) for g in (prev_grey, cur_grey)]
    for hist in hists:
        cv2.normalize(hist, hist, 1.0, 0.0, cv2.NORM_L1)
    return cv2.compareHist(hists[0], hists[1], cv2.HISTCMP_BHATTACHARYYA) > threshold


def fuse_prob(
    detected: np.ndarray | None, warped_prev: np.ndarray, valid: np.ndarray, memory: float
) -> np.ndarray:
    """Fuse a new detection with the previous probability warped along the flow.

    All (H, W) float32 0..1. Where the flow is valid and the new detection is *lower* than the past, the
    result is the running average ``memory * warped_prev + (1 - memory) * detected``, so a one-frame
    dropout does not make the fill blink; where it is higher (new or moved ink), the detection wins at
    once, so no ink is left visible while the average catches up. Without a new detection (a frame
    between key frames) the warped probability is carried.
    """
    if detected is None:
        return warped_prev
    weight = memory * valid
    average = weight * warped_prev + (1.0 - weight) * detected
    return np.maximum(average, detected).astype(np.float32)


def hysteresis_mask(
    prob: np.ndarray, warped_prev_alpha: np.ndarray | None, valid: np.ndarray | None, threshold: float,
    keep_ratio: float = 0.5,
) -> np.ndarray:
    """Binary ink mask (H, W) uint8 0/255 from a probability, with hysteresis in time.

    A pixel enters the mask at ``threshold`` but, where it was masked in the previous frame (warped,
    flow valid), stays masked down to ``keep_ratio * threshold``: edge pixels near the threshold then
    stop blinking in and out of the mask from frame to frame.
    """
    mask = prob >= threshold
    if warped_prev_alpha is not None:
        mask |= (warped_prev_alpha * valid > 0.5) & (prob >= keep_ratio * threshold)
    return np.where(mask, 255, 0).astype(np.uint8)


def feather_mask(mask: np.ndarray, grow: int, sigma: float) -> np.ndarray:
    """Binary (H, W) uint8 0/255 mask -> soft (H, W) float32 0..1: dilated by ``grow`` px, edges blurred
    with ``sigma`` px, never below 1 on the dilated mask's core (as the photo pipeline feathers)."""
    alpha = np.zeros(mask.shape, np.float32)
    x, y, w, h = cv2.boundingRect(mask)
    if w == 0:
        return alpha
    pad = grow + int(np.ceil(3 * sigma)) + 1  # work on the mask's box (plus the feather's reach) only
    box = (slice(max(0, y - pad), y + h + pad), slice(max(0, x - pad), x + w + pad))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
    grown = (cv2.dilate(mask[box], kernel) > 0).astype(np.float32)
    soft = cv2.GaussianBlur(grown, (0, 0), sigma)
    alpha[box] = np.maximum(soft, grown * (soft > 0.5))
    alpha[alpha < 0.5 / 255] = 0.0  # exact zeros, so unmasked pixels stay bit-identical
    return alpha


def limit_fill(rgb: np.ndarray, filled: np.ndarray, filled_mask: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Apply a fill only as far as ``alpha`` says: ``rgb + min(alpha / a, 1) * (filled - rgb)``.

    ``filled``: (H, W, 3) uint8, the remover's result ``rgb + a * (clean - rgb)`` with its mask
    ``filled_mask`` ((H, W) uint8, a = mask / 255); ``alpha``: (H, W) float32 0..1, the mask wanted.
    Where ``alpha >= a`` the remover's result is kept as is; where ``alpha`` is 0, ``rgb`` exactly.
    """
    x, y, w, h = cv2.boundingRect(filled_mask)
    if w == 0:
        return rgb
    box = (slice(y, y + h), slice(x, x + w))
    a = filled_mask[box].astype(np.float32) / 255.0
    ratio = np.minimum(alpha[box], a) / np.maximum(a, 1e-6)
    r8 = np.round(ratio * 256.0).astype(np.uint16)[..., None]  # 8-bit fixed point: exact at 0 and 1
    out = rgb.copy()
    mixed = rgb[box].astype(np.uint16) * (256 - r8) + filled[box].astype(np.uint16) * r8 + 128
    out[box] = (mixed >> 8).astype(np.uint8)
    return out


def propagate_fill(
    fresh: np.ndarray,
    fresh_alpha: np.ndarray,
    prev_out: np.ndarray,
    warped_prev_alpha: np.ndarray,
    motion: Motion,
    memory: float,
) -> np.ndarray:
    """Blend the previous output, warped along the flow, into this frame's fill.

    ``fresh``: (H, W, 3) uint8 this frame's result; ``prev_out``: (H, W, 3) uint8 the previous frame's
    output (not yet warped); ``fresh_alpha``/``warped_prev_alpha``: (H, W) float32 0..1 masks applied in
    this frame and (warped) in the previous one. The previous fill is reused (weight ``memory``) only
    where both frames were filled and the flow is valid, so the same skin keeps the same pixels; pixels
    with weight 0 stay exactly ``fresh`` (bit-identical to the input outside the mask).
    """
    x, y, w, h = cv2.boundingRect((fresh_alpha > 0).astype(np.uint8))
    if w == 0:
        return fresh
    box = (slice(y, y + h), slice(x, x + w))  # masks are small: warp and blend their box only
    weight = memory * motion.valid[box] * np.minimum(fresh_alpha[box], warped_prev_alpha[box])
    wb = np.round(weight * 256.0).astype(np.uint16)[..., None]  # 8-bit fixed point: exact "fresh" at 0
    warped = cv2.remap(prev_out, motion.map_x[box], motion.map_y[box], cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_REPLICATE)
    out = fresh.copy()
    mixed = fresh[box].astype(np.uint16) * (256 - wb) + warped.astype(np.uint16) * wb + 128
    out[box] = (mixed >> 8).astype(np.uint8)
    return out
