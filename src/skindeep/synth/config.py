"""Typed configuration and result types of the synthetic data engine."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Default mix of design sources (weights, normalised when sampling). Tuned with
# ../shared/tools/ink_stats.py against real-dev: real tattoos are mostly large, dense, shaded pieces.
DEFAULT_SOURCE_WEIGHTS: dict[str, float] = {
    "icons": 0.13,
    "color": 0.16,
    "kanji": 0.03,
    "omniglot": 0.02,
    "lettering": 0.09,
    "tribal": 0.08,
    "mandala": 0.07,
    "dotwork": 0.05,
    "hatching": 0.05,
    "blackwork": 0.09,
    "realism": 0.13,
    "lineart": 0.06,
    "brush": 0.04,
    "colorfill": 0.08,
}

# The "real" preset's mix: real-dev photos are mostly large black-and-grey realism pieces (portraits,
# animals), blackwork and dense grey shading / stippling covering much of a forearm or chest, so those
# sources dominate; icons and thin glyphs (which read as small strokes) are rare.
REAL_SOURCE_WEIGHTS: dict[str, float] = {
    "icons": 0.04,
    "color": 0.05,
    "kanji": 0.01,
    "omniglot": 0.0,
    "lettering": 0.05,
    "tribal": 0.06,
    "mandala": 0.05,
    "dotwork": 0.09,
    "hatching": 0.12,
    "blackwork": 0.17,
    "realism": 0.27,
    "lineart": 0.03,
    "brush": 0.02,
    "colorfill": 0.04,
}


@dataclass
class SynthConfig:
    """Knobs of the engine. Every value that a sample draws is recorded in ``Sample.params``.

    size: output side in pixels (square samples; a multiple of 32 suits the network).
    p_clean: share of samples with no tattoo at all (tattooed == clean, ink == 0).
    source_weights: relative weight of each design source (see ``skindeep.synth.designs.SOURCES``).
    max_tattoos: at most this many tattoos per photo.
    coverage_median, coverage_spread: the per-photo ink-area budget (fraction of the frame inside the
        tattoo outlines) is log-normal with this median and sigma; tattoos are added until it is met.
    p_hard_negative: chance of painting dark tattoo-like prints/shadows on NON-skin areas of the
        photo itself (both images get them, ink stays 0 there).
    p_jpeg: chance the camera pipeline ends with a JPEG round trip (quality in jpeg_quality).
    svg_cache: how many rasterised SVG designs the LRU keeps per process.
    """

    size: int = 256
    p_clean: float = 0.1
    source_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_SOURCE_WEIGHTS))
    max_tattoos: int = 5
    coverage_median: float = 0.45
    coverage_spread: float = 0.8
    p_hard_negative: float = 0.3
    p_jpeg: float = 0.7
    jpeg_quality: tuple[int, int] = (55, 95)
    noise_sigma: tuple[float, float] = (0.0, 4.0)
    zoom: tuple[float, float] = (1.0, 3.0)
    svg_cache: int = 512

    @classmethod
    def preset(cls, name: str, **overrides) -> SynthConfig:
        """A named configuration, with keyword overrides (e.g. ``size=320``).

        "default": the dataclass defaults. "real": pushed toward what ../shared/data/real-dev shows:
        large shaded realism / blackwork / grey-wash pieces covering a big part of the skin (a higher,
        narrower ink-area budget, fewer and bigger pieces), few icons; hard negatives a bit more often
        and some clean samples kept so the detector still learns what is not ink.
        """
        presets: dict[str, dict] = {
            "default": {},
            "real": dict(source_weights=dict(REAL_SOURCE_WEIGHTS), coverage_median=0.8, coverage_spread=0.45,
                         max_tattoos=3, p_hard_negative=0.4, p_clean=0.1),
        }
        if name not in presets:
            raise ValueError(f"unknown SynthConfig preset {name!r}; known: {', '.join(sorted(presets))}")
        return cls(**{**presets[name], **overrides})


@dataclass
class Sample:
    """One synthetic pair.

    tattooed, clean: (H, W, 3) uint8 RGB through the same camera pipeline.
    ink: (H, W) uint8 alpha 0..255; tattooed == clean wherever ink == 0 (exactly).
    params: JSON-able dict of every parameter used.
    """

    name: str
    tattooed: np.ndarray
    clean: np.ndarray
    ink: np.ndarray
    params: dict
