"""Real tattoos as designs: ink layers lifted off real photos (``python -m skindeep.model.realink``).

Each layer is an RGBA PNG at the photo's own resolution: A is the ink amount (0..255) and RGB the ink's
reflectance ``r`` (0..255), so that on any skin ``t = 1 - a * (1 - r)`` gives back the transmittance the ink
had on its own skin (``skindeep.synth.render.real_ink``). The engine places a layer like any design, so its
colour, line work, shading and needle grain are those of a real piece, and the skin around it is the host
photo's, whose label is exact.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from skindeep.errors import InputError
from skindeep.synth.design import Design


class RealInkBank:
    """The layers of one folder. ``draw`` prefers layers at least half the wanted size, so a small piece
    is not blown up into a blur."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise InputError(f"{self.folder}: real-ink folder does not exist (make it with python -m skindeep.model.realink)")
        self.files = sorted(self.folder.glob("*.png"))
        self.sides = np.array([_long_side(f) for f in self.files], np.int64)

    def __len__(self) -> int:
        return len(self.files)

    def draw(self, rng: np.random.Generator, size: int) -> Design:
        """A layer squared (centred on transparent padding) and resized to (size, size)."""
        big = np.nonzero(self.sides * 2 >= size)[0]
        pool = big if len(big) else np.argsort(self.sides)[-max(1, len(self.sides) // 5):]
        path = self.files[int(pool[int(rng.integers(len(pool)))])]
        alpha, reflect = read_layer(path)
        alpha, reflect = _square(alpha, reflect)
        shrink = alpha.shape[0] > size
        interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
        alpha = cv2.resize(alpha, (size, size), interpolation=interp)
        reflect = cv2.resize(reflect, (size, size), interpolation=interp)
        if rng.random() < 0.5:
            alpha, reflect = alpha[:, ::-1], reflect[:, ::-1]
        return Design(np.ascontiguousarray(alpha), np.ascontiguousarray(reflect),
                      dict(generator="realink", file=path.name))


def read_layer(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(h, w) float32 0..1 ink amount and (h, w, 3) float32 0..1 reflectance of a layer PNG."""
    bgra = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if bgra is None or bgra.ndim != 3 or bgra.shape[2] != 4:
        raise InputError(f"{path}: not an RGBA real-ink layer")
    rgba = cv2.cvtColor(bgra, cv2.COLOR_BGRA2RGBA).astype(np.float32) / 255.0
    return rgba[..., 3].copy(), rgba[..., :3].copy()


def write_layer(path: str | Path, alpha: np.ndarray, reflect: np.ndarray) -> None:
    """Write (h, w) amount and (h, w, 3) reflectance, both float 0..1, as an RGBA PNG."""
    rgba = np.concatenate([reflect, alpha[..., None]], axis=2)
    rgba = np.clip(np.round(rgba * 255), 0, 255).astype(np.uint8)
    if not cv2.imwrite(str(path), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA)):
        raise InputError(f"{path}: could not write the layer")


def _long_side(path: Path) -> int:
    with Image.open(path) as image:  # the header only; closed at once (a bank holds hundreds of layers)
        return max(image.size)


def _square(alpha: np.ndarray, reflect: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    h, w = alpha.shape
    side = max(h, w)
    y, x = (side - h) // 2, (side - w) // 2
    a = np.zeros((side, side), np.float32)
    r = np.ones((side, side, 3), np.float32)
    a[y:y + h, x:x + w] = alpha
    r[y:y + h, x:x + w] = reflect
    return a, r
