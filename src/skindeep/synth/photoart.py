"""Designs made from photographs: shaded "realism" pieces (grey ink via a contrast curve plus
stippling) and line art (XDoG edges), both from a people photo other than the host's."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from skindeep.colour import luminance
from skindeep.errors import InputError
from skindeep.synth.design import Design
from skindeep.synth.photos import read_rgb
from skindeep.synth.util import gauss, smooth_noise, soft_ellipse


def _grey_crop(rng: np.random.Generator, photos: list[Path], size: int) -> tuple[np.ndarray, Path]:
    """(size, size) float32 0..1 luminance of a random square crop covering 60-100 % of the short side
    of a random photo, and that photo. Unreadable photos are skipped (a few tries, then InputError)."""
    crop, photo = _rgb_crop(rng, photos, size)
    return luminance(crop) / 255.0, photo


def _rgb_crop(rng: np.random.Generator, photos: list[Path], size: int) -> tuple[np.ndarray, Path]:
    """(size, size, 3) uint8 random square crop (60-100 % of the short side) of a random photo."""
    for attempt in range(5):
        photo = photos[int(rng.integers(len(photos)))]
        try:
            rgb = read_rgb(photo, min_side=size)
            break
        except InputError:
            if attempt == 4:
                raise
    h, w = rgb.shape[:2]
    side = int(min(h, w) * rng.uniform(0.6, 1.0))
    y = int(rng.integers(0, h - side + 1))
    x = int(rng.integers(0, w - side + 1))
    return cv2.resize(rgb[y : y + side, x : x + side], (size, size), interpolation=cv2.INTER_AREA), photo


def _stretch(g: np.ndarray) -> np.ndarray:
    """Contrast-stretch to the 2nd..98th percentile, so dim and flat photos still give a design."""
    lo, hi = np.percentile(g, 2), np.percentile(g, 98)
    return np.clip((g - lo) / max(hi - lo, 1e-3), 0, 1)


def _vignette(rng: np.random.Generator, size: int) -> np.ndarray:
    """Soft, irregular edge so a piece fades out like a tattoo rather than ending in a rectangle."""
    v = soft_ellipse((size, size), rng.uniform(0.3, 0.8)) + 0.25 * smooth_noise(rng, (size, size), 5)
    return np.clip(v, 0, 1)


def realism(rng: np.random.Generator, size: int, photos: list[Path]) -> Design:
    """Black-and-grey shaded piece: ink = contrast curve of (1 - luminance), stippled in the greys."""
    g, photo = _grey_crop(rng, photos, size)
    g = _stretch(g)
    gamma = rng.uniform(0.7, 1.5)
    ink = np.clip(1.0 - np.clip(g, 0, 1), 0, 1) ** gamma
    ink = np.clip((ink - 0.2) / 0.7, 0, 1)  # highlights stay bare skin, deep shadows solid black
    ink = ink * ink * (3 - 2 * ink)  # S-curve: black-and-grey work has strong blacks and clean skin
    stipple = rng.random() < 0.3
    if stipple:  # mid-greys as needle dots (a few px), not pixel noise
        dot = max(1.0, size / 300)
        grid = rng.random((max(2, int(size / (2 * dot))),) * 2).astype(np.float32)
        thresh = cv2.resize(grid, (size, size), interpolation=cv2.INTER_NEAREST)
        dots = gauss((thresh < ink).astype(np.float32), 0.5 * dot)
        ink = np.where(ink > 0.8, ink, dots * 0.9)
    else:  # smooth grey wash, slightly softened like healed shading
        ink = gauss(ink, max(0.5, size / 400))
    ink = ink * _vignette(rng, size)
    return Design(ink.astype(np.float32), None, dict(generator="realism", from_photo=photo.name,
                                                     gamma=round(float(gamma), 3), stipple=stipple))


def lineart(rng: np.random.Generator, size: int, photos: list[Path]) -> Design:
    """Line drawing of a photo by XDoG (eXtended Difference of Gaussians), as ink strokes."""
    g, photo = _grey_crop(rng, photos, size)
    g = _stretch(g)
    sigma = max(0.8, size / 256 * rng.uniform(0.6, 1.4))
    k, p, eps, phi = 1.6, rng.uniform(15, 30), rng.uniform(-0.05, 0.05), rng.uniform(8, 20)
    d = (1 + p) * gauss(g, sigma) - p * gauss(g, sigma * k)
    xdog = np.where(d >= eps, 1.0, 1.0 + np.tanh(phi * (d - eps)))
    ink = np.clip(1.0 - xdog, 0, 1)
    ink = np.where(ink > 0.3, ink, 0).astype(np.float32) * _vignette(rng, size)
    return Design(ink.astype(np.float32), None, dict(generator="lineart", from_photo=photo.name,
                                                     sigma=round(float(sigma), 3), p=round(float(p), 2)))


def colour_realism(rng: np.random.Generator, size: int, photos: list[Path]) -> Design:
    """Colour realism piece (portrait, flower-like colour wash): the photo's own colours, pushed to
    tattoo pigments (saturated, darker, optionally hue-shifted), inked wherever the photo is dark or
    colourful; only the highlights stay bare skin. Real colour pieces are dense, so alpha is high."""
    crop, photo = _rgb_crop(rng, photos, size)
    hsv = cv2.cvtColor(crop, cv2.COLOR_RGB2HSV).astype(np.float32)
    hue_shift = float(rng.choice([0.0, 0.0, rng.uniform(0, 180)]))
    hsv[..., 0] = (hsv[..., 0] + hue_shift) % 180
    hsv[..., 1] = np.clip(hsv[..., 1] * rng.uniform(1.6, 3.0) + 60, 0, 255)  # pigments are saturated
    hsv[..., 2] = np.clip(hsv[..., 2] * rng.uniform(0.55, 0.85), 0, 255)
    colour = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB).astype(np.float32) / 255.0
    g = _stretch(luminance(crop) / 255.0)
    alpha = np.clip((1.0 - g) * 1.3 + rng.uniform(0.2, 0.5), 0, 1)
    alpha = gauss(alpha, max(0.5, size / 400)) * _vignette(rng, size)
    colour = colour * np.clip(g[..., None] * 1.2, 0.15, 1.0)  # the photo's shadows as dark ink
    return Design(alpha.astype(np.float32), colour.astype(np.float32),
                  dict(generator="colorrealism", from_photo=photo.name, hue_shift=round(hue_shift, 1)))
