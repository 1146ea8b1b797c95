"""Procedural tattoo designs drawn with OpenCV: tribal, mandala, dot work, hatching/shading,
blackwork, brush strokes and colour fills with black outlines.

Every generator: ``fn(rng, size) -> Design`` with alpha (size, size) float32 0..1. Drawing happens
on a uint8 canvas with anti-aliased primitives (coordinates in 1/16 px via ``shift``).
"""

from __future__ import annotations

import cv2
import numpy as np

from skindeep.synth.design import Design
from skindeep.synth.util import gauss, smooth_noise, soft_ellipse

SHIFT = 4
_ONE = 1 << SHIFT

# Tattoo ink palette (RGB 0..1), as drawn, before the skin filters it.
PALETTE = {
    "red": (0.78, 0.08, 0.10),
    "green": (0.05, 0.55, 0.25),
    "blue": (0.10, 0.25, 0.70),
    "yellow": (0.95, 0.78, 0.10),
    "purple": (0.45, 0.15, 0.60),
    "orange": (0.95, 0.45, 0.08),
    "teal": (0.05, 0.55, 0.60),
}


def _pts(p: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(p) * _ONE).astype(np.int32).reshape(-1, 1, 2)


def _bezier(rng: np.random.Generator, p0, p3, bend: float, n: int = 40) -> np.ndarray:
    """Cubic Bezier (n, 2) from p0 to p3 with random control points bent sideways by ``bend``."""
    p0, p3 = np.asarray(p0, np.float32), np.asarray(p3, np.float32)
    d = p3 - p0
    nrm = np.array([-d[1], d[0]], np.float32)
    p1 = p0 + d * 0.33 + nrm * rng.uniform(-bend, bend)
    p2 = p0 + d * 0.66 + nrm * rng.uniform(-bend, bend)
    t = np.linspace(0, 1, n, dtype=np.float32)[:, None]
    return (1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t**2 * p2 + t**3 * p3


def _tapered(curve: np.ndarray, w0: float, w1: float) -> np.ndarray:
    """Polygon (2n, 2) of a stroke along ``curve`` whose width goes from w0 to w1 (a tribal spike)."""
    d = np.gradient(curve, axis=0)
    nrm = np.stack([-d[:, 1], d[:, 0]], 1)
    nrm /= np.linalg.norm(nrm, axis=1, keepdims=True) + 1e-6
    w = np.linspace(w0, w1, len(curve))[:, None] / 2
    return np.concatenate([curve + nrm * w, (curve - nrm * w)[::-1]])


def _canvas(size: int) -> np.ndarray:
    return np.zeros((size, size), np.uint8)


def _done(canvas: np.ndarray, params: dict, colour: np.ndarray | None = None) -> Design:
    return Design(canvas.astype(np.float32) / 255.0, colour, params)


def tribal(rng: np.random.Generator, size: int) -> Design:
    """Mirror-symmetric sweeping spikes from a central spine (tribal / ornamental flames)."""
    c = _canvas(size)
    s = size
    n = int(rng.integers(3, 8))
    spine = _bezier(rng, (s * 0.5, s * 0.1), (s * 0.5, s * 0.9), 0.15)
    half = _canvas(size)
    for _ in range(n):
        i = int(rng.integers(0, len(spine)))
        start = spine[i]
        end = start + np.array([rng.uniform(0.15, 0.45) * s, rng.uniform(-0.35, 0.35) * s])
        curve = _bezier(rng, start, end, rng.uniform(0.1, 0.5))
        poly = _tapered(curve, rng.uniform(0.05, 0.14) * s, 0.5)
        cv2.fillPoly(half, [_pts(poly)], 255, cv2.LINE_AA, SHIFT)
    spine_poly = _tapered(spine, rng.uniform(0.04, 0.1) * s, rng.uniform(0.0, 0.04) * s)
    cv2.fillPoly(half, [_pts(spine_poly)], 255, cv2.LINE_AA, SHIFT)
    c = np.maximum(half, half[:, ::-1]) if rng.random() < 0.8 else half
    if rng.random() < 0.3:  # negative-space cut lines, common in tribal work
        for _ in range(int(rng.integers(1, 4))):
            curve = _bezier(rng, rng.uniform(0.2, 0.8, 2) * s, rng.uniform(0.2, 0.8, 2) * s, 0.3)
            cv2.polylines(c, [_pts(curve)], False, 0, max(1, s // 60), cv2.LINE_AA, SHIFT)
    return _done(c, dict(generator="tribal", spikes=n))


def mandala(rng: np.random.Generator, size: int) -> Design:
    """Rings of petals, dots, arcs and triangles repeated with k-fold rotational symmetry."""
    c = _canvas(size)
    s = size
    ctr = np.array([s / 2, s / 2])
    k = int(rng.choice([6, 8, 10, 12, 16, 24]))
    thick = max(1, int(s * rng.uniform(0.004, 0.012)))
    radii = np.sort(rng.uniform(0.05, 0.48, int(rng.integers(3, 7)))) * s
    kinds = []
    for r in radii:
        kind = str(rng.choice(["petal", "dots", "circle", "triangle", "filledpetal"]))
        kinds.append(kind)
        for j in range(k):
            a = 2 * np.pi * j / k
            p = ctr + r * np.array([np.cos(a), np.sin(a)])
            if kind in ("petal", "filledpetal"):
                axes = (int(r * 0.25 * _ONE) + _ONE, int(r * np.pi / k * 0.9 * _ONE) + _ONE)
                cv2.ellipse(c, tuple(_pts(p)[0, 0]), axes, np.degrees(a), 0, 360, 255,
                            -1 if kind == "filledpetal" else thick, cv2.LINE_AA, SHIFT)
            elif kind == "dots":
                cv2.circle(c, tuple(_pts(p)[0, 0]), int(max(1.0, r * 0.04) * _ONE), 255, -1, cv2.LINE_AA, SHIFT)
            elif kind == "triangle":
                q = [p, ctr + (r * 0.8) * np.array([np.cos(a + np.pi / k), np.sin(a + np.pi / k)]),
                     ctr + (r * 0.8) * np.array([np.cos(a - np.pi / k), np.sin(a - np.pi / k)])]
                cv2.polylines(c, [_pts(np.array(q))], True, 255, thick, cv2.LINE_AA, SHIFT)
        if kind == "circle":
            cv2.circle(c, tuple(_pts(ctr)[0, 0]), int(r * _ONE), 255, thick, cv2.LINE_AA, SHIFT)
    cv2.circle(c, tuple(_pts(ctr)[0, 0]), int(radii[0] * 0.5 * _ONE), 255, -1, cv2.LINE_AA, SHIFT)
    return _done(c, dict(generator="mandala", fold=k, rings=kinds))


def _shape_mask(rng: np.random.Generator, size: int) -> tuple[np.ndarray, str]:
    """A filled geometric shape (circle, triangle, hexagon, diamond or blob) as uint8 0/255."""
    m = _canvas(size)
    kind = str(rng.choice(["circle", "triangle", "hexagon", "diamond", "blob"]))
    ctr = np.array([size / 2, size / 2])
    r = size * 0.45
    if kind == "circle":
        cv2.circle(m, tuple(_pts(ctr)[0, 0]), int(r * _ONE), 255, -1, cv2.LINE_AA, SHIFT)
    elif kind == "blob":
        m = ((smooth_noise(rng, (size, size), 4) + soft_ellipse((size, size), 0.9) * 1.2) > 0.7).astype(np.uint8) * 255
    else:
        n = {"triangle": 3, "hexagon": 6, "diamond": 4}[kind]
        a = np.linspace(0, 2 * np.pi, n, endpoint=False) + rng.uniform(0, np.pi)
        poly = ctr + r * np.stack([np.cos(a), np.sin(a)], 1)
        cv2.fillPoly(m, [_pts(poly)], 255, cv2.LINE_AA, SHIFT)
    return m, kind


def dotwork(rng: np.random.Generator, size: int) -> Design:
    """Stippled gradient inside a geometric shape, with an optional outline (dot work)."""
    shape, kind = _shape_mask(rng, size)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    ang = rng.uniform(0, 2 * np.pi)
    grad = np.clip(0.5 + (np.cos(ang) * (xx - 0.5) + np.sin(ang) * (yy - 0.5)) * 1.6, 0, 1)
    density = grad * (shape.astype(np.float32) / 255.0) * rng.uniform(0.3, 0.8)
    dot = max(1, int(round(rng.uniform(1.0, 3.5) * max(1.0, size / 256) ** 0.5)))  # needle-sized dots
    cell = dot * 3
    gy, gx = np.mgrid[0 : size : cell, 0 : size : cell]
    keep = rng.random(gy.shape) < density[gy, gx]
    c = _canvas(size)
    jitter = rng.uniform(-dot, dot, (int(keep.sum()), 2))
    for (y, x), (jx, jy) in zip(np.stack([gy[keep], gx[keep]], 1), jitter, strict=True):
        cv2.circle(c, (int((x + jx) * _ONE), int((y + jy) * _ONE)), dot * _ONE, 255, -1, cv2.LINE_AA, SHIFT)
    if rng.random() < 0.6:
        edge = cv2.morphologyEx(shape, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
        c = np.maximum(c, cv2.dilate(edge, np.ones((dot, dot), np.uint8)))
    return _done(c, dict(generator="dotwork", shape=kind, dot_px=dot))


def hatching(rng: np.random.Generator, size: int) -> Design:
    """A shape shaded by a smooth grey-wash gradient and/or hatch lines whose spacing follows it."""
    shape, kind = _shape_mask(rng, size)
    shade = np.clip(0.5 + 0.6 * smooth_noise(rng, (size, size), 3), 0.05, 1.0)
    wash = rng.random() < 0.5
    if wash:  # smooth grey shading (black-and-grey wash)
        alpha = shade * rng.uniform(0.4, 0.9)
    else:  # cross hatch: line i drawn only where the shade exceeds its threshold
        c = _canvas(size)
        spacing = max(3, int(rng.uniform(3, 9) * max(1.0, size / 256) ** 0.5))  # fine hatch lines
        ang = rng.uniform(0, np.pi)
        thick = max(1, spacing // 3)
        d = np.array([np.cos(ang), np.sin(ang)])
        nrm = np.array([-d[1], d[0]])
        for off in np.arange(-size, size, spacing):
            p0 = size / 2 + nrm * off - d * size
            p1 = size / 2 + nrm * off + d * size
            cv2.line(c, tuple(_pts(p0)[0, 0]), tuple(_pts(p1)[0, 0]), 255, thick, cv2.LINE_AA, SHIFT)
        alpha = c.astype(np.float32) / 255.0 * (shade > 0.35) + (shade > 0.7) * (c.T.astype(np.float32) / 255.0)
        alpha = np.clip(alpha, 0, 1)
    alpha = alpha * (shape.astype(np.float32) / 255.0)
    outline = cv2.morphologyEx(shape, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)).astype(np.float32) / 255.0
    alpha = np.maximum(alpha, outline)
    return Design(alpha.astype(np.float32), None, dict(generator="hatching", shape=kind, wash=wash))


def blackwork(rng: np.random.Generator, size: int) -> Design:
    """Large solid black areas: arm bands, filled shapes with negative-space cut-outs, noise blobs."""
    kind = str(rng.choice(["band", "shape", "blob"], p=[0.35, 0.45, 0.2]))
    if kind == "band":
        c = _canvas(size)
        h = rng.uniform(0.2, 0.7) * size
        y0 = (size - h) / 2
        cv2.rectangle(c, (0, int(y0)), (size - 1, int(y0 + h)), 255, -1)
        # zig-zag or scalloped negative space along the band
        n = int(rng.integers(3, 9))
        for j in range(n):
            x = (j + 0.5) * size / n
            tri = np.array([[x - size / n * 0.4, y0 + h * 0.2], [x + size / n * 0.4, y0 + h * 0.2], [x, y0 + h * 0.8]])
            if rng.random() < 0.7:
                cv2.fillPoly(c, [_pts(tri)], 0, cv2.LINE_AA, SHIFT)
    elif kind == "shape":
        c, shape_kind = _shape_mask(rng, size)
        kind = f"shape:{shape_kind}"
        for _ in range(int(rng.integers(0, 6))):
            p = rng.uniform(0.25, 0.75, 2) * size
            cv2.circle(c, tuple(_pts(p)[0, 0]), int(rng.uniform(0.03, 0.1) * size * _ONE), 0, -1, cv2.LINE_AA, SHIFT)
    else:
        field = smooth_noise(rng, (size, size), int(rng.integers(3, 7))) + soft_ellipse((size, size), 1.0) - 0.5
        c = gauss((field > 0).astype(np.uint8) * 255, 1.0)
    return _done(c, dict(generator="blackwork", kind=kind))


def brush(rng: np.random.Generator, size: int) -> Design:
    """Random brush strokes (the seed's "crappify"): random walks of varying width. The renderer
    gives them a dark green / blue-black ink."""
    c = _canvas(size)
    n = int(rng.integers(1, 6))
    for _ in range(n):
        p = rng.uniform(0.2, 0.8, 2) * size
        steps = int(rng.integers(4, 12))
        pts = [p]
        ang = rng.uniform(0, 2 * np.pi)
        for _ in range(steps):
            ang += rng.normal(0, 0.6)
            pts.append(pts[-1] + size * rng.uniform(0.03, 0.1) * np.array([np.cos(ang), np.sin(ang)]))
        pts = np.clip(np.array(pts), 0, size - 1)
        cv2.polylines(c, [_pts(pts)], False, 255, max(1, int(size * rng.uniform(0.01, 0.06))), cv2.LINE_AA, SHIFT)
    return _done(c, dict(generator="brush", strokes=n))


def colorfill(rng: np.random.Generator, size: int) -> Design:
    """Colour tattoo: a few filled regions in palette colours with black outlines."""
    alpha = np.zeros((size, size), np.float32)
    colour = np.zeros((size, size, 3), np.float32)
    names = []
    outline = _canvas(size)
    for _ in range(int(rng.integers(1, 5))):
        m, _kind = _shape_mask(rng, int(size * rng.uniform(0.35, 0.8)))
        y, x = (int(v) for v in rng.integers(0, size - m.shape[0] + 1, 2))
        full = _canvas(size)
        full[y : y + m.shape[0], x : x + m.shape[1]] = m
        name = str(rng.choice(list(PALETTE)))
        names.append(name)
        a = full.astype(np.float32) / 255.0
        colour = colour * (1 - a[..., None]) + np.array(PALETTE[name], np.float32) * a[..., None]
        alpha = np.maximum(alpha, a)
        edge = cv2.morphologyEx(full, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
        outline = np.maximum(outline, cv2.dilate(edge, np.ones((max(1, size // 100),) * 2, np.uint8)))
    o = outline.astype(np.float32)[..., None] / 255.0
    colour = colour * (1 - o)  # black outline on top
    alpha = np.maximum(alpha, o[..., 0])
    return Design(alpha, colour, dict(generator="colorfill", colours=names))


GENERATORS = {
    "tribal": tribal,
    "mandala": mandala,
    "dotwork": dotwork,
    "hatching": hatching,
    "blackwork": blackwork,
    "brush": brush,
    "colorfill": colorfill,
}
