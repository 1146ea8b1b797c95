"""SVG design files: listing, the project split, and rasterising with resvg (LRU-cached)."""

from __future__ import annotations

import re
from collections import OrderedDict
from pathlib import Path

import cv2
import numpy as np
import resvg_py

from skindeep.errors import InputError

_STROKE_ATTR = re.compile(r'stroke-width(="|:\s*)([0-9.]+)')


def list_designs(designs_dir: str | Path) -> list[Path]:
    """Sorted SVG paths under ``designs_dir`` (recursive). Raises InputError if missing or empty."""
    folder = Path(designs_dir)
    if not folder.is_dir():
        raise InputError(f"{folder}: design folder does not exist or is not a folder")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".svg", ".png"))
    if not files:
        raise InputError(f"{folder}: design folder has no .svg (or pre-rasterised .png) files")
    return files


def rasterise_designs(designs_dir: str | Path, out_dir: str | Path, size: int = 512) -> int:
    """Write every SVG under ``designs_dir`` as an RGBA PNG (same relative path, .png) under ``out_dir``,
    for machines without an SVG renderer (the GPU box): the engine reads .png designs as well.
    Returns the number of files written."""
    src, dst = Path(designs_dir), Path(out_dir)
    raster = SvgRasteriser(capacity=1)
    n = 0
    for path in list_designs(src):
        if path.suffix.lower() != ".svg":
            continue
        alpha, colour = raster.render(path, size)
        rgba = np.dstack([colour[..., ::-1], alpha]) * 255.0  # BGRA for cv2
        target = dst / path.relative_to(src).with_suffix(".png")
        target.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(target), np.round(rgba).astype(np.uint8))
        n += 1
    return n


def svg_source(path: Path) -> str:
    """Which design source an SVG belongs to: 'color', 'kanji', 'omniglot' or 'icons'."""
    parts = {p.lower() for p in path.parts}
    if "openmoji" in parts and "color" in parts:
        return "color"
    if "kanjivg" in parts:
        return "kanji"
    if "omniglot-strokes" in parts:
        return "omniglot"
    return "icons"


def split_designs(designs_dir: str | Path, val_fraction: float = 0.1, seed: int = 0) -> tuple[list[Path], list[Path]]:
    """THE project split of design files (seed 0, 10 %): (train, val) lists of SVG paths."""
    from skindeep.synth.photos import _split

    return _split(list_designs(designs_dir), val_fraction, seed)


class SvgRasteriser:
    """Rasterise SVG files to (alpha, colour) at a requested size, keeping the last ``capacity`` results.

    Sizes are rounded up to a multiple of 32 and stroke scales to steps of 0.25, so the cache hits
    often; the warp resamples to the exact size anyway.
    """

    def __init__(self, capacity: int = 512):
        self.capacity = capacity
        self._cache: OrderedDict[tuple, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._text: dict[Path, str] = {}

    def _svg_text(self, path: Path) -> str:
        if path not in self._text:
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise InputError(f"{path}: cannot read SVG ({exc})") from exc
            # kanjivg files carry stroke-order numbers as <text>: drop them
            text = re.sub(r"<g[^>]*StrokeNumbers.*?</g>", "", text, flags=re.S)
            self._text[path] = text
        return self._text[path]

    def render(self, path: Path, size: int, stroke_scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """Rasterise an .svg (or read a pre-rasterised .png) design.

        Returns alpha (S, S) float32 0..1 and colour (S, S, 3) float32 0..1 (RGB of the art), where
        S = ``size`` rounded up to a multiple of 32; the design keeps its aspect, centred."""
        size = int(np.ceil(max(size, 32) / 32) * 32)
        is_png = path.suffix.lower() == ".png"
        stroke_scale = 1.0 if is_png else round(stroke_scale * 4) / 4
        key = (str(path), size, stroke_scale)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        if is_png:  # pre-rasterised design: no stroke to scale
            return self._png(path, size)
        text = self._svg_text(path)
        if stroke_scale != 1.0:
            text = _STROKE_ATTR.sub(lambda m: f"stroke-width{m.group(1)}{float(m.group(2)) * stroke_scale:.3g}", text)
        try:
            png = resvg_py.svg_to_bytes(svg_string=text, width=size, height=size)
        except (ValueError, RuntimeError) as exc:
            raise InputError(f"{path}: cannot rasterise SVG ({exc})") from exc
        rgba = cv2.imdecode(np.frombuffer(bytes(png), np.uint8), cv2.IMREAD_UNCHANGED)
        return self._remember(key, _decode_rgba(path, rgba, size))

    def _png(self, path: Path, size: int) -> tuple[np.ndarray, np.ndarray]:
        key = (str(path), size, 1.0)
        rgba = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if rgba is not None and rgba.ndim == 3 and rgba.shape[2] == 4 and rgba.shape[0] != size:
            interp = cv2.INTER_AREA if max(rgba.shape[:2]) > size else cv2.INTER_LINEAR
            f = size / max(rgba.shape[:2])
            rgba = cv2.resize(rgba, (max(1, round(rgba.shape[1] * f)), max(1, round(rgba.shape[0] * f))),
                              interpolation=interp)
        return self._remember(key, _decode_rgba(path, rgba, size))

    def _remember(self, key: tuple, result: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        self._cache[key] = result
        if len(self._cache) > self.capacity:
            self._cache.popitem(last=False)
        return result


def _decode_rgba(path: Path, rgba: np.ndarray | None, size: int) -> tuple[np.ndarray, np.ndarray]:
    if rgba is None or rgba.ndim != 3 or rgba.shape[2] != 4:
        raise InputError(f"{path}: design did not give an RGBA image")
    rgba = _pad_square(rgba, size)
    return rgba[..., 3].astype(np.float32) / 255.0, rgba[..., 2::-1].astype(np.float32) / 255.0


def _pad_square(img: np.ndarray, size: int) -> np.ndarray:
    """Centre an image on a transparent size x size canvas (resvg keeps the SVG's aspect ratio)."""
    h, w = img.shape[:2]
    if (h, w) == (size, size):
        return img
    if h > size or w > size:
        f = size / max(h, w)
        img = cv2.resize(img, (max(1, int(w * f)), max(1, int(h * f))), interpolation=cv2.INTER_AREA)
        h, w = img.shape[:2]
    out = np.zeros((size, size, img.shape[2]), img.dtype)
    y, x = (size - h) // 2, (size - w) // 2
    out[y : y + h, x : x + w] = img
    return out
