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
