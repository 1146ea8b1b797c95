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
    "colorrealism": 0.0,
    "neotrad": 0.0,
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
    "colorrealism": 0.0,
    "neotrad": 0.0,
}

# "real-v2": the "real" mix plus colour realism pieces (colour portraits, roses: the first model missed
# them on real-dev), taken mostly from the icon/lettering share.
REAL_V2_SOURCE_WEIGHTS: dict[str, float] = {
    **REAL_SOURCE_WEIGHTS, "realism": 0.22, "colorrealism": 0.12, "color": 0.06, "colorfill": 0.05,
    "icons": 0.03, "lettering": 0.05, "hatching": 0.10, "blackwork": 0.15,
}

# "real-v3": about half of real-dev's pieces are colour work with bold outlines (traditional /
# neo-traditional), so "neotrad" joins, taken from blackwork/hatching/realism.
REAL_V3_SOURCE_WEIGHTS: dict[str, float] = {
    **REAL_V2_SOURCE_WEIGHTS, "neotrad": 0.18, "realism": 0.16, "blackwork": 0.10, "hatching": 0.07,
    "dotwork": 0.06,
}


# Named configurations (``SynthConfig.preset``; documented there), each a set of field overrides.
PRESETS: dict[str, dict] = {
    "default": {},
    "real": dict(source_weights=REAL_SOURCE_WEIGHTS, coverage_median=0.8, coverage_spread=0.45,
                 max_tattoos=3, p_hard_negative=0.4, p_clean=0.1),
}
PRESETS["real-v2"] = {**PRESETS["real"], "source_weights": REAL_V2_SOURCE_WEIGHTS, "p_clean": 0.15,
                      "p_darker_skin": 0.3, "p_cast_shadow": 0.3, "p_skin_marks": 0.3, "p_brown_ink": 0.15}
PRESETS["real-v3"] = {**PRESETS["real-v2"], "source_weights": REAL_V3_SOURCE_WEIGHTS, "bleed_scale": 0.6}
PRESETS["real-v4"] = {**PRESETS["real-v3"], "p_hard_negative": 0.7, "p_clean": 0.2}
PRESETS["real-v5"] = {**PRESETS["real-v3"], "p_dark_garment": 0.4}
PRESETS["real-v6"] = {**PRESETS["real-v4"], "p_textile": 0.6}
PRESETS["real-v7"] = {**PRESETS["real-v6"], "p_textile_colour": 0.5}
# "real-v8": "real-v6" where half of the pieces are real ink layers (experiment 45); needs realink_dir.
PRESETS["real-v8"] = {**PRESETS["real-v6"], "source_weights": {**REAL_V3_SOURCE_WEIGHTS, "realink": 1.05}}
PRESET_NAMES = tuple(PRESETS)


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
    p_darker_skin, p_cast_shadow, p_skin_marks: chances of the hard negatives ON skin
        (``skindeep.synth.scene``): darker skin tone, a cast shadow, moles/freckles/veins.
    p_brown_ink: chance a single-ink piece is brown/sepia instead of black.
    p_dark_garment: chance of black clothing painted across the skin's edge (no ink on it).
    p_textile: chance that a hard-negative print is an all-over pattern (a small motif repeated
        across the clothing) instead of one large print.
    p_textile_colour: chance that such a pattern is printed in one saturated colour, not a dark one.
    bleed_scale: multiplies the ink's blur (bleed); < 1 = crisper ink.
    p_jpeg: chance the camera pipeline ends with a JPEG round trip (quality in jpeg_quality).
    svg_cache: how many rasterised SVG designs the LRU keeps per process.
    realink_dir: folder of real ink layers (``python -m skindeep.model.realink``) for the 'realink' source.
    """

    size: int = 256
    p_clean: float = 0.1
    source_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_SOURCE_WEIGHTS))
    max_tattoos: int = 5
    coverage_median: float = 0.45
    coverage_spread: float = 0.8
    p_hard_negative: float = 0.3
    p_darker_skin: float = 0.0
    p_cast_shadow: float = 0.0
    p_skin_marks: float = 0.0
    p_brown_ink: float = 0.0
    p_dark_garment: float = 0.0
    p_textile: float = 0.0
    p_textile_colour: float = 0.0
    bleed_scale: float = 1.0
    p_jpeg: float = 0.7
    jpeg_quality: tuple[int, int] = (55, 95)
    noise_sigma: tuple[float, float] = (0.0, 4.0)
    zoom: tuple[float, float] = (1.0, 3.0)
    svg_cache: int = 512
    realink_dir: str = ""

    @classmethod
    def preset(cls, name: str, **overrides) -> SynthConfig:
        """A named configuration, with keyword overrides (e.g. ``size=320``).

        "default": the dataclass defaults. "real": pushed toward what ../shared/data/real-dev shows:
        large shaded realism / blackwork / grey-wash pieces covering a big part of the skin (a higher,
        narrower ink-area budget, fewer and bigger pieces), few icons; hard negatives a bit more often
        and some clean samples kept so the detector still learns what is not ink. "real-v2": "real"
        plus colour realism and brown ink (recall), and hard negatives on the skin itself: darker
        skin, cast shadows, moles (false alarms), with more clean samples. "real-v3": "real-v2" plus
        neo-traditional colour pieces and crisper ink (bleed x0.6). "real-v4": "real-v3" with hard
        negatives (dark prints on clothes and background, shading) on 70 % of the photos and 20 % clean
        samples: the false alarms left are on printed clothes and hair (docs/experiments.md, exp. 6).
        "real-v5": "real-v3" with black clothing across the skin's edge on 40 % of the photos.
        "real-v6": "real-v4" with 60 % of the hard-negative prints as all-over patterns (a small motif
        repeated across clothing or wallpaper). "real-v7": "real-v6" with half of those patterns in a
        saturated colour (coloured clothes were the false alarms on held-out photos). "real-v8": "real-v6" with
        half of the pieces real ink layers (the 'realink' source; give ``realink_dir``).
        """
        if name not in PRESETS:
            raise ValueError(f"unknown SynthConfig preset {name!r}; known: {', '.join(sorted(PRESETS))}")
        values = {k: dict(v) if isinstance(v, dict) else v for k, v in PRESETS[name].items()}  # own copies
        return cls(**{**values, **overrides})


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
