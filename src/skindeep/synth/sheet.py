"""Contact sheets: rows of (clean | tattooed | ink) thumbnails to look at."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from skindeep.synth.config import Sample


def contact_sheet(samples: list[Sample], thumb: int = 160, columns: int = 2, gap: int = 4) -> np.ndarray:
    """(H, W, 3) uint8 grid: each cell is clean | tattooed | ink (ink shown dark on white)."""
    cells = []
    for s in samples:
        ink = np.repeat((255 - s.ink)[..., None], 3, -1)
        parts = [cv2.resize(im, (thumb, thumb), interpolation=cv2.INTER_AREA) for im in (s.clean, s.tattooed, ink)]
        sep = np.full((thumb, 2, 3), 255, np.uint8)
        cells.append(np.hstack([parts[0], sep, parts[1], sep, parts[2]]))
    if not cells:
        return np.full((thumb, thumb, 3), 255, np.uint8)
    ch, cw = cells[0].shape[:2]
    rows = (len(cells) + columns - 1) // columns
    out = np.full((rows * (ch + gap) - gap, columns * (cw + gap * 3) - gap * 3, 3), 255, np.uint8)
    for i, c in enumerate(cells):
        r, k = divmod(i, columns)
        out[r * (ch + gap) : r * (ch + gap) + ch, k * (cw + gap * 3) : k * (cw + gap * 3) + cw] = c
    return out


def write_sheet(samples: list[Sample], path: str | Path, thumb: int = 160, columns: int = 3,
                max_bytes: int = 3_000_000) -> Path:
    """Write a contact sheet: a JPEG (quality 90) when ``path`` ends in .jpg/.jpeg, the form to commit
    (a third of the PNG's bytes); else a PNG, reduced to a 256-colour palette when the full-colour file
    would exceed ``max_bytes``."""
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.fromarray(contact_sheet(samples, thumb, columns))
    if path.suffix.lower() in (".jpg", ".jpeg"):
        img.save(path, quality=90, optimize=True, progressive=True)
        return path
    img.save(path, optimize=True)
    if path.stat().st_size > max_bytes:
        img.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG).save(path, optimize=True)
    return path
