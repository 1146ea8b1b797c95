"""Ink physics: turn a placed design into a transmittance layer over skin.

The camera sees skin x transmittance (ink sits in the dermis, under the epidermis):
    T = 1 - a * (1 - (s + (1 - s) * c_eff))                      per RGB channel
a: ink amount (design alpha x density x uneven-density field, blurred by bleed that grows with age),
s: light scattered back by the epidermis above the ink (even black ink never reads as pure black),
c_eff: the ink's colour after the dermis: desaturated, darkened, and for black ink shifted toward
blue-green with age. Fresh tattoos are sharper and get a red halo (inflamed skin) around the lines:
the halo is part of the ink layer (low alpha), since it is a change the tattoo made.
"""

from __future__ import annotations

import cv2
import numpy as np

from skindeep.synth.procedural import PALETTE
from skindeep.synth.util import gauss, smooth_noise

BLACK_INKS = {
    "black": (0.05, 0.05, 0.06),
    "blue-black": (0.04, 0.06, 0.12),
    "green-black": (0.04, 0.09, 0.07),
}
# Brown / sepia single inks (real-dev has owls and script in brown): dark, warm, low saturation.
BROWN_INKS = {"brown": (0.20, 0.10, 0.05), "sepia": (0.28, 0.17, 0.09), "dark-red-brown": (0.25, 0.07, 0.05)}
BRUSH_INKS = {"dark-green": (0.05, 0.20, 0.12), "blue-black": (0.05, 0.08, 0.22)}


def render_ink(
    rng: np.random.Generator, alpha: np.ndarray, colour: np.ndarray | None, skin: np.ndarray, size: int,
    brush: bool, scale: float = 1.0, p_brown: float = 0.0, bleed_scale: float = 1.0,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """One tattoo's transmittance and ink amount.

    alpha (S, S) float32 0..1 and colour (S, S, 3) float32 or None: the placed design.
    skin (S, S) float32 0/1: where ink may go.
    scale: output pixels per pixel of the source photo. Bleed is set in source-photo pixels and scaled,
        so ink is exactly as sharp as the skin it sits on (an enlarged photo gets softer ink).
    p_brown: chance a single-ink piece is brown/sepia (drawn only when > 0, so older configs keep
        their exact samples).
    bleed_scale: multiplies the ink's blur (bleed); < 1 gives crisper lines, as healed real pieces in
        sharp photos show.
    Returns T (S, S, 3) float32 0..1 (1 = untouched), a (S, S) float32 0..1 (ink alpha incl. halo), params.
    """
    px = size / 512.0  # physical effects are specified at 512 px and scaled
    if alpha.size == 0:  # the design landed entirely outside the frame
        return np.ones(alpha.shape + (3,), np.float32), np.zeros(alpha.shape, np.float32), dict(ink="none")
    age = float(rng.uniform(0, 1) ** 0.8)
    fresh = age < 0.12 and rng.random() < 0.7
    density = float(rng.uniform(0.6, 1.0))
    uneven = float(rng.uniform(0.0, 0.4))
    scatter = float(rng.uniform(0.12, 0.42) + 0.15 * age)
    bleed = float(max(0.3, (0.3 + 1.0 * age) * scale**0.4 * bleed_scale))
    field = 1.0 - uneven * (0.5 + 0.5 * smooth_noise(rng, alpha.shape, int(rng.integers(4, 12))))
    # pigment grain: ink sits in clumps, so even solid areas are mottled at the skin's own pixel scale
    grain = float(rng.uniform(0.15, 0.5))
    clumps = gauss(rng.random(alpha.shape, dtype=np.float32), 0.6 * max(scale, 0.5))
    clumps = (clumps - clumps.mean()) / max(float(clumps.std()), 1e-6)
    a = alpha * density * field * np.clip(1.0 - grain * 0.5 * (1.0 + clumps), 0.0, 1.0)
    a = np.clip(gauss(a, bleed) * (1.0 + 0.3 * age), 0.0, 1.0)
    if colour is None:
        # most single-ink pieces are black; some are one colour (a red rose, a blue swallow outline)
        table = BRUSH_INKS if brush else PALETTE if rng.random() < 0.15 else BLACK_INKS
        if table is BLACK_INKS and p_brown > 0 and rng.random() < p_brown:
            table = BROWN_INKS
        ink_name = str(rng.choice(list(table)))
        c = np.array(table[ink_name], np.float32)
        c = c + age * np.array([0.0, 0.04, 0.07], np.float32)  # old black ink drifts to blue-green
        c_eff = np.broadcast_to(c, alpha.shape + (3,))
    else:
        ink_name = "design-colours"
        c_eff = gauss(colour, bleed)
    grey = c_eff.mean(-1, keepdims=True)
    desat = 0.1 + 0.3 * age
    c_eff = (c_eff * (1 - desat) + grey * desat) * float(rng.uniform(0.75, 0.95))  # dermis darkens, desaturates
    reflect = scatter + (1.0 - scatter) * c_eff
    a = a * skin
    t = 1.0 - a[..., None] * (1.0 - reflect)
    params = dict(age=round(age, 3), grain=round(grain, 3), fresh=fresh, density=round(density, 3), uneven=round(uneven, 3),
                  scatter=round(scatter, 3), bleed_px=round(bleed, 3), ink=ink_name)
    if fresh:
        support = cv2.dilate((a > 0.1).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(np.float32)
        redness = float(rng.uniform(0.3, 1.0))
        halo = gauss(support, 4 * px + 1) * redness * skin
        t = t * (1.0 - halo[..., None] * np.array([0.0, 0.10, 0.09], np.float32))
        a = np.maximum(a, 0.1 * halo)
        params["redness"] = round(redness, 3)
    return t.astype(np.float32), a.astype(np.float32), params


def real_ink(alpha: np.ndarray, reflect: np.ndarray, skin: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
    """A real ink layer (``skindeep.synth.realink``) on skin: no physics drawn, since the layer already holds
    a real piece's density, colour, blur and grain. alpha (S, S), reflect (S, S, 3), skin (S, S) float32 0..1
    -> T (S, S, 3), a (S, S), params, as ``render_ink``."""
    a = (alpha * skin).astype(np.float32)
    t = 1.0 - a[..., None] * (1.0 - np.clip(reflect, 0.0, 1.0))
    return t.astype(np.float32), a, dict(ink="real")
