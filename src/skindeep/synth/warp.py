"""Body geometry: place a design on the photo with perspective, cylindrical wrap and elastic warps.

All three are folded into ONE inverse map (output pixel -> design pixel) and one cv2.remap, computed
only over the tattoo's bounding box.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

from skindeep.synth.util import smooth_noise


@dataclass
class Placement:
    """Where and how a design lands. cx, cy, side in output pixels; angle in degrees; persp is the
    largest corner jitter as a fraction of the side; wrap is the cylinder's half-angle in radians
    (0 = flat; ~1.2 = wraps around most of a limb) along the design's x axis; elastic is the
    amplitude of the smooth displacement in design fractions; aspect stretches y."""

    cx: float
    cy: float
    side: float
    angle: float = 0.0
    aspect: float = 1.0
    persp: float = 0.0
    wrap: float = 0.0
    elastic: float = 0.0
    seed: int = 0

    def to_json(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def sample_placement(rng: np.random.Generator, cx: float, cy: float, side: float) -> Placement:
    return Placement(
        cx=float(cx), cy=float(cy), side=float(side),
        angle=float(rng.uniform(-180, 180) if rng.random() < 0.5 else rng.normal(0, 20)),
        aspect=float(np.exp(rng.normal(0, 0.15))),
        persp=float(rng.uniform(0, 0.15)),
        wrap=float(rng.uniform(0, 1.2) if rng.random() < 0.5 else 0.0),
        elastic=float(rng.uniform(0, 0.03)),
        seed=int(rng.integers(2**31)),
    )


def _homography(p: Placement, rng: np.random.Generator) -> np.ndarray:
    """3x3 map from design coordinates in [-1, 1]^2 to output pixels."""
    half = p.side / 2
    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], np.float32)
    a = np.radians(p.angle)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]], np.float32)
    scaled = corners * np.array([half / np.sqrt(p.aspect), half * np.sqrt(p.aspect)], np.float32)
    jitter = rng.uniform(-p.persp, p.persp, (4, 2)).astype(np.float32) * p.side
    dst = (scaled + jitter) @ rot.T + np.array([p.cx, p.cy], np.float32)
    return cv2.getPerspectiveTransform(corners, dst.astype(np.float32))


def place(
    alpha: np.ndarray, colour: np.ndarray | None, p: Placement, out_size: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """Warp a design onto an (out_size, out_size) canvas.

    alpha (R, R) float32 0..1, colour (R, R, 3) float32 or None ->
    alpha (S, S) float32 0..1, colour (S, S, 3) float32 or None (zeros outside the design)."""
    rng = np.random.default_rng(p.seed)
    r = alpha.shape[0]
    h = _homography(p, rng)
    box = cv2.perspectiveTransform(np.array([[[-1, -1], [1, -1], [1, 1], [-1, 1]]], np.float32), h)[0]
    pad = p.elastic * p.side + 2
    x0, y0 = np.floor(box.min(0) - pad).astype(int)
    x1, y1 = np.ceil(box.max(0) + pad).astype(int)
    x0, y0 = max(x0, 0), max(y0, 0)
    x1, y1 = min(x1, out_size), min(y1, out_size)
    out_a = np.zeros((out_size, out_size), np.float32)
    out_c = None if colour is None else np.zeros((out_size, out_size, 3), np.float32)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return out_a, out_c
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    pts = np.stack([xx, yy], -1).reshape(-1, 1, 2)
    q = cv2.perspectiveTransform(pts, np.linalg.inv(h)).reshape(yy.shape + (2,))
    u, v = q[..., 0], q[..., 1]
    if p.wrap > 0.05:
        # the screen sees x' = sin(u*wrap)/sin(wrap) of a design wrapped on a cylinder; invert it
        s = np.clip(u * np.sin(p.wrap), -1, 1)
        u = np.where(np.abs(u) <= 1, np.arcsin(s) / p.wrap, u * 2)
    if p.elastic > 0:
        cells = 4
        u = u + p.elastic * 2 * smooth_noise(rng, yy.shape, cells)
        v = v + p.elastic * 2 * smooth_noise(rng, yy.shape, cells)
    mx = ((u + 1) * 0.5 * r - 0.5).astype(np.float32)
    my = ((v + 1) * 0.5 * r - 0.5).astype(np.float32)
    out_a[y0:y1, x0:x1] = cv2.remap(alpha, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    if colour is not None:
        out_c[y0:y1, x0:x1] = cv2.remap(colour, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return out_a, out_c
