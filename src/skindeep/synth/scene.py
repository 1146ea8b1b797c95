"""Hard negatives ON the skin: changes to the clean photo itself, made before any ink, so both images
of a pair hold them and the ink target stays 0 there.

The first model took dark skin, cast shadows on skin and dark clothing edges next to skin for ink
(docs/experiments.md, experiment 1). These variations show it such scenes with no ink in them:
- ``darker_skin``: the person's skin re-toned darker (down to deep brown), smoothly at the skin's edge;
- ``cast_shadow``: a soft- or hard-edged shadow (a limb, a strap, foliage) falling across skin and
  background alike, slightly blue as shade is;
- ``skin_marks``: moles, freckles and faint veins (dark, small, skin-coloured, not ink).
All take and return (S, S, 3) float32 0..1 RGB; ``skin`` is (S, S) float32 0/1.
"""

from __future__ import annotations

import cv2
import numpy as np

from skindeep.synth.util import gauss, smooth_noise

# Multipliers of a deep-brown skin relative to a light one (R, G, B): darker, and a little redder.
DEEP_SKIN = np.array([0.36, 0.27, 0.22], np.float32)


def darker_skin(rng: np.random.Generator, rgb: np.ndarray, skin: np.ndarray) -> tuple[np.ndarray, dict]:
    """Re-tone the skin toward a darker complexion by a random amount (multiplicative, so shading and
    pores keep their relative contrast)."""
    amount = float(rng.uniform(0.3, 1.0))
    gain = 1.0 - amount * (1.0 - DEEP_SKIN)
    weight = gauss(skin, 1.5)[..., None]  # no hard seam where skin meets hair or clothes
    out = rgb * (1.0 - weight + weight * gain)
    return out, dict(kind="darker_skin", amount=round(amount, 3))


def cast_shadow(rng: np.random.Generator, rgb: np.ndarray) -> tuple[np.ndarray, dict]:
    """A shadow shape over the whole frame (skin and not): a random polygon or blotchy leaf pattern,
    darkening by 25-65 %, edge softness from crisp (sun) to very soft (window light)."""
    s = rgb.shape[0]
    shape = np.zeros((s, s), np.float32)
    kind = str(rng.choice(["polygon", "band", "dapple"]))
    if kind == "polygon":
        n = int(rng.integers(3, 7))
        centre = rng.uniform(0, s, 2)
        pts = centre + rng.normal(0, s * rng.uniform(0.15, 0.4), (n, 2))
        cv2.fillPoly(shape, [np.round(pts).astype(np.int32)], 1.0)
    elif kind == "band":  # a strap, a limb, a window bar
        angle = rng.uniform(0, np.pi)
        width = s * rng.uniform(0.05, 0.3)
        yy, xx = np.mgrid[0:s, 0:s].astype(np.float32)
        d = (xx - rng.uniform(0, s)) * np.cos(angle) + (yy - rng.uniform(0, s)) * np.sin(angle)
        shape = (np.abs(d) < width / 2).astype(np.float32)
    else:  # sun through leaves
        shape = (smooth_noise(rng, (s, s), int(rng.integers(5, 14))) > rng.uniform(-0.1, 0.4)).astype(np.float32)
    softness = float(s * rng.choice([rng.uniform(0.002, 0.01), rng.uniform(0.02, 0.08)]))
    shape = gauss(shape, softness)
    depth = float(rng.uniform(0.25, 0.65))
    tint = np.array([1.0, 1.0, 1.0], np.float32) - depth * np.array([1.0, 0.95, 0.8], np.float32)
    out = rgb * (1.0 - shape[..., None] + shape[..., None] * tint)
    return out, dict(kind="cast_shadow", shape=kind, depth=round(depth, 3), softness_px=round(softness, 2))


def skin_marks(rng: np.random.Generator, rgb: np.ndarray, skin: np.ndarray) -> tuple[np.ndarray, dict]:
    """Moles and freckles (brown dots), sometimes a faint vein, on the skin only."""
    s = rgb.shape[0]
    ys, xs = np.nonzero(skin > 0.5)
    if len(ys) < 50:
        return rgb, dict(kind="skin_marks", n=0)
    dark = np.zeros((s, s), np.float32)
    n = int(rng.integers(3, 40))
    for i in rng.integers(0, len(ys), n):
        radius = float(s / 512 * rng.choice([rng.uniform(0.8, 2.0), rng.uniform(2.0, 5.0)]))
        cv2.circle(dark, (int(xs[i]), int(ys[i])), max(1, round(radius)), float(rng.uniform(0.25, 0.8)), -1)
    dark = gauss(dark, s / 512)
    brown = np.array([0.55, 0.35, 0.25], np.float32)  # melanin: darkens blue most
    out = rgb * (1.0 - dark[..., None] * (1.0 - brown))
    veins = rng.random() < 0.3
    if veins:
        vein = np.zeros((s, s), np.float32)
        pts = np.cumsum(rng.normal(0, s * 0.04, (12, 2)), 0) + rng.uniform(0, s, 2)
        cv2.polylines(vein, [np.round(pts).astype(np.int32)], False, 1.0, max(1, s // 200))
        vein = gauss(vein, s / 200) * skin * float(rng.uniform(0.05, 0.15))
        out = out * (1.0 - vein[..., None] * np.array([0.6, 0.3, 0.0], np.float32))
    return out, dict(kind="skin_marks", n=n, veins=bool(veins))


def dark_garment(rng: np.random.Generator, rgb: np.ndarray, skin: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
    """Black clothing touching the skin (a strap, a waistband, a sleeve or swimsuit edge): a dark,
    finely textured shape that crosses the skin's edge, following the photo's own shading. The detector
    took black swimwear and dark clothes next to skin for ink (experiment 6). Returns the photo, the
    covered area (S, S) float32 0..1 (no ink may go there) and the parameters."""
    s = rgb.shape[0]
    ys, xs = np.nonzero(skin > 0.5)
    if len(ys) < 50:
        return rgb, np.zeros((s, s), np.float32), dict(kind="dark_garment", shape="none")
    i = int(rng.integers(len(ys)))
    cy, cx = float(ys[i]), float(xs[i])
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float32)
    angle = rng.uniform(0, np.pi)
    d = (xx - cx) * np.cos(angle) + (yy - cy) * np.sin(angle)
    kind = str(rng.choice(["band", "edge"]))
    if kind == "band":  # a strap or waistband across the skin
        shape = (np.abs(d) < s * rng.uniform(0.02, 0.15)).astype(np.float32)
    else:  # the edge of a sleeve, top or swimsuit: everything on one side of a wavy line
        wave = s * 0.03 * smooth_noise(rng, (s, s), 3)
        shape = (d + wave > 0).astype(np.float32)
    shape = gauss(shape, float(rng.uniform(0.4, 1.5)) * s / 512)
    lum = rgb.mean(-1, keepdims=True)
    shading = np.sqrt(np.clip(gauss(lum[..., 0], s / 60)[..., None] / max(float(lum.mean()), 1e-3), 0.3, 2.0))
    weave = 1.0 + 0.15 * gauss(rng.standard_normal((s, s)).astype(np.float32), 0.6)[..., None]
    colour = rng.uniform(0.02, 0.12) * (1.0 + rng.uniform(-0.3, 0.3, 3)).astype(np.float32)
    cloth = np.clip(colour * shading * weave, 0.0, 1.0)
    out = rgb * (1.0 - shape[..., None]) + cloth * shape[..., None]
    return out.astype(np.float32), shape, dict(kind="dark_garment", shape=kind)


def textile_print(rng: np.random.Generator, rgb: np.ndarray, region: np.ndarray,
                  motif: np.ndarray, colour: bool = False) -> tuple[np.ndarray, dict]:
    """An all-over print: a small dark ``motif`` repeated on a jittered grid across ``region`` (clothing,
    wallpaper). Printed dresses and T-shirts (florals, smileys) were the detector's largest false alarms
    on clean photos (docs/experiments.md, experiment 7); a single print, as the other hard negatives
    paint, does not teach that repetition means fabric.

    rgb: (S, S, 3) float32 0..1. region: (S, S) float32 0..1, where the print may go (not skin).
    motif: (m, m) float32 0..1 alpha. colour: print in one saturated colour (red roses, teal leaves:
    coloured clothes were the false alarms on held-out photos, experiment 7) instead of a dark one.
    Returns the photo (float32) and the parameters.
    """
    s = rgb.shape[0]
    m = motif.shape[0]
    step = m * float(rng.uniform(1.05, 1.8))
    brick = bool(rng.random() < 0.5)  # every other row shifted by half a step
    jitter = float(rng.uniform(0.0, 0.15)) * step
    canvas = np.zeros((s + 2 * m, s + 2 * m), np.float32)  # padded so motifs may straddle the border
    for row, y in enumerate(np.arange(0.0, s + m, step)):
        shift = step / 2 if brick and row % 2 else 0.0
        for x in np.arange(-shift, s + m, step):
            tile = np.rot90(motif, int(rng.integers(4))) if rng.random() < 0.3 else motif
            y0 = int(y + rng.uniform(-jitter, jitter)) + m // 2
            x0 = int(x + rng.uniform(-jitter, jitter)) + m // 2
            y0, x0 = min(max(y0, 0), s + m), min(max(x0, 0), s + m)
            np.maximum(canvas[y0:y0 + m, x0:x0 + m], tile, out=canvas[y0:y0 + m, x0:x0 + m])
    opacity = float(rng.uniform(0.6, 1.0))
    a = (canvas[m:m + s, m:m + s] * region * opacity)[..., None]
    if colour:  # a saturated ink of any hue, painted over the fabric
        hsv = np.array([[[rng.uniform(0, 180), rng.uniform(150, 255), rng.uniform(90, 230)]]], np.uint8)
        paint = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0].astype(np.float32) / 255.0
        out = rgb * (1.0 - a) + paint * a
    else:
        shade = rng.uniform(0.0, 0.35, 3).astype(np.float32)  # dark print colour
        out = rgb * (1.0 - a) + rgb * shade * a
    return out.astype(np.float32), dict(kind="textile", motif=m, step=round(step, 2), brick=brick,
                                        colour=colour)
