"""Design sources: one sampler per source, mixed with weights.

Sources: 'icons' (SVG silhouettes and line art), 'color' (openmoji colour SVGs), 'kanji' (kanjivg),
'omniglot' (hand-drawn glyphs), 'lettering' (fonts), procedural 'tribal', 'mandala', 'dotwork',
'hatching', 'blackwork', 'brush', 'colorfill', photo-based 'realism', 'lineart', 'colorrealism',
'neotrad' (an SVG motif with shaded colour fills and a bold outline) and 'realink' (ink layers lifted off
real tattoo photos, ``skindeep.synth.realink``).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import cv2
import numpy as np

from skindeep.errors import InputError
from skindeep.synth.design import Design
from skindeep.synth.lettering import lettering
from skindeep.synth.photoart import colour_realism, lineart, realism
from skindeep.synth.procedural import GENERATORS, PALETTE
from skindeep.synth.realink import RealInkBank
from skindeep.synth.svg import SvgRasteriser, svg_source
from skindeep.synth.util import smooth_noise

SVG_SOURCES = ("icons", "color", "kanji", "omniglot")
PHOTO_SOURCES = ("realism", "lineart", "colorrealism")
SOURCES = SVG_SOURCES + ("lettering",) + tuple(GENERATORS) + PHOTO_SOURCES + ("neotrad", "realink")


class DesignSampler:
    """Draws designs from every available source. ``available`` lists the sources that can produce a
    design with the given files (an SVG source needs at least one file of its kind)."""

    def __init__(self, designs: list[Path], photos: list[Path], weights: dict[str, float], svg_cache: int = 512,
                 realink: RealInkBank | None = None):
        self.svg = SvgRasteriser(svg_cache)
        self.realink = realink
        self.by_source: dict[str, list[Path]] = {s: [] for s in SVG_SOURCES}
        for p in designs:
            self.by_source[svg_source(p)].append(p)
        self.photos = photos
        unknown = set(weights) - set(SOURCES)
        if unknown:
            raise ValueError(f"unknown design sources in source_weights: {sorted(unknown)}; known: {SOURCES}")
        self.available = [s for s in SOURCES if weights.get(s, 0) > 0 and self._can(s)]
        if not self.available:
            raise ValueError("no design source is available with a positive weight")
        w = np.array([weights[s] for s in self.available], np.float64)
        self.probs = w / w.sum()

    def _can(self, source: str) -> bool:
        if source in SVG_SOURCES:
            return bool(self.by_source[source])
        if source in PHOTO_SOURCES:
            return bool(self.photos)
        if source == "neotrad":
            return bool(self.by_source["icons"] or self.by_source["color"])
        if source == "realink":
            return bool(self.realink)
        return True

    def pick_source(self, rng: np.random.Generator) -> str:
        return str(self.available[int(rng.choice(len(self.available), p=self.probs))])

    def draw(self, rng: np.random.Generator, source: str, size: int) -> Design:
        """A design of ``source`` rasterised at about ``size`` px square."""
        if source in SVG_SOURCES:
            files = self.by_source[source]
            path = files[int(rng.integers(len(files)))]
            stroke = float(rng.choice([0.5, 0.75, 1.0, 1.0, 1.5, 2.0, 2.5]))
            alpha, colour = self.svg.render(path, size, stroke)
            # silhouettes have no stroke-width to scale: thicken/thin them by morphology instead
            morph = int(rng.integers(-1, 3)) if source == "icons" else 0
            if morph:
                k = np.ones((abs(morph) * 2 + 1,) * 2, np.uint8)
                alpha = (cv2.dilate if morph > 0 else cv2.erode)(alpha, k)
            if source != "color":
                colour = None
            else:
                alpha, colour = tattoo_colours(alpha, colour)
            return Design(alpha, colour, dict(file=f"{path.parent.name}/{path.name}", stroke_scale=stroke, morph=morph))
        if source == "lettering":
            return lettering(rng, size)
        if source == "neotrad":
            return self._neotrad(rng, size)
        if source == "realink":
            return self.realink.draw(rng, size)
        if source in PHOTO_SOURCES:
            fn = {"realism": realism, "lineart": lineart, "colorrealism": colour_realism}[source]
            try:
                return fn(rng, size, self.photos)
            except InputError as exc:  # several unreadable photos in a row: use a procedural piece
                warnings.warn(f"{source} design skipped: {exc}", stacklevel=2)
                design = GENERATORS["blackwork"](rng, size)
                design.params["fallback_from"] = source
                return design
        return GENERATORS[source](rng, size)


    def _neotrad(self, rng: np.random.Generator, size: int) -> Design:
        """Traditional / neo-traditional piece, the commonest look in real-dev: a motif's silhouette (an
        icon or colour SVG) filled with saturated colours that are shaded darker toward the outline, its
        own inner lines and a bold black outline on top."""
        kinds = [k for k in ("icons", "color") if self.by_source[k]]
        kind = kinds[int(rng.integers(len(kinds)))]
        path = self.by_source[kind][int(rng.integers(len(self.by_source[kind])))]
        alpha, art = self.svg.render(path, size, 1.0)
        n = alpha.shape[0]
        drawn = (alpha > 0.3).astype(np.uint8)
        contours, _ = cv2.findContours(cv2.morphologyEx(drawn, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8)),
                                       cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        solid = cv2.drawContours(np.zeros_like(drawn), contours, -1, 1, cv2.FILLED)
        if solid.sum() < 0.01 * n * n:
            return Design(alpha, None, dict(file=f"{path.parent.name}/{path.name}", fallback="icon"))
        names = list(PALETTE)
        picks = [names[i] for i in rng.choice(len(names), int(rng.integers(2, 4)), replace=False)]
        weights = np.stack([smooth_noise(rng, (n, n), int(rng.integers(2, 5))) for _ in picks], -1)
        share = np.exp(4.0 * weights)
        share /= share.sum(-1, keepdims=True)
        fill = share @ np.array([PALETTE[p] for p in picks], np.float32)
        if kind == "color":  # keep the art's own colour regions where it has them, pushed to pigments
            _, art_colour = tattoo_colours(alpha, art)
            fill = np.where((alpha > 0.5)[..., None], 0.5 * fill + 0.5 * art_colour, fill)
        depth = cv2.distanceTransform(solid, cv2.DIST_L2, 5)
        shade = np.clip(depth / max(float(depth.max()) * 0.5, 1.0), 0, 1) ** 0.7  # dark rim, light middle
        fill = fill * (0.35 + 0.65 * shade[..., None])
        width = max(1, int(round(n * rng.uniform(0.008, 0.02))))
        rim = cv2.morphologyEx(solid, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
        lines = rim
        if kind == "icons":  # the icon's own thin strokes become inner lines; its solid parts get colour
            k = max(3, 3 * width) | 1
            thin = drawn & (1 - cv2.morphologyEx(drawn, cv2.MORPH_OPEN, np.ones((k, k), np.uint8)))
            lines = np.maximum(rim, thin)
        lines = cv2.dilate(lines, np.ones((width, width), np.uint8)).astype(np.float32)
        colour = fill * (1.0 - lines[..., None])
        out_alpha = np.maximum(solid * float(rng.uniform(0.75, 0.95)), lines)
        return Design(out_alpha.astype(np.float32), colour.astype(np.float32),
                      dict(generator="neotrad", file=f"{path.parent.name}/{path.name}", colours=picks))


def tattoo_colours(alpha: np.ndarray, colour: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Make an emoji-style colour design look like tattoo ink: pale, unsaturated fills (white, light
    grey "paper" areas) are left as bare skin and the remaining colours are saturated, as tattoo
    pigments are. alpha (R, R), colour (R, R, 3) float32 0..1 -> the same shapes."""
    grey = colour.mean(-1, keepdims=True)
    sat = colour.max(-1) - colour.min(-1)
    pale = (grey[..., 0] > 0.7) & (sat < 0.25)
    alpha = np.where(pale, 0.0, alpha).astype(np.float32)
    colour = np.clip(grey + (colour - grey) * 1.4, 0.0, 1.0).astype(np.float32)
    return alpha, colour
