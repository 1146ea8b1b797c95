"""The design type every source sampler returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Design:
    """A tattoo design before it meets skin.

    alpha: (R, R) float32 0..1, how much ink each pixel of the design holds.
    colour: (R, R, 3) float32 0..1 RGB of the ink as drawn, or None for a single ink colour the
        renderer picks (black / blue-black / dark green); for a 'realink' layer, the ink's reflectance
        (``skindeep.synth.realink``).
    params: JSON-able description (source, file, font, text, generator settings).
    """

    alpha: np.ndarray
    colour: np.ndarray | None = None
    params: dict = field(default_factory=dict)
