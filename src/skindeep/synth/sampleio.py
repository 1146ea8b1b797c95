"""Writing and reading sample folders: NAME.tattooed.png, NAME.clean.png, NAME.ink.png, NAME.json."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from skindeep.errors import InputError
from skindeep.synth.config import Sample

SUFFIXES = (".tattooed.png", ".clean.png", ".ink.png", ".json")


def _write_png(path: Path, img: np.ndarray) -> None:
    arr = img[..., ::-1] if img.ndim == 3 else img
    # fixed compression level: PNG bytes depend only on the pixels -> byte-identical reruns
    if not cv2.imwrite(str(path), np.ascontiguousarray(arr), [cv2.IMWRITE_PNG_COMPRESSION, 3]):
        raise InputError(f"{path}: cannot write PNG")


def write_sample(sample: Sample, out_dir: str | Path) -> None:
    """Write the 4 files of ``sample`` into ``out_dir`` (created if needed)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _write_png(out / f"{sample.name}.tattooed.png", sample.tattooed)
    _write_png(out / f"{sample.name}.clean.png", sample.clean)
    _write_png(out / f"{sample.name}.ink.png", sample.ink)
    (out / f"{sample.name}.json").write_text(json.dumps(sample.params, indent=1, sort_keys=True) + "\n")


def read_sample_dir(folder: str | Path) -> list[str]:
    """Sorted names of complete samples (all 4 files present) in a folder written by write_sample."""
    d = Path(folder)
    if not d.is_dir():
        raise InputError(f"{d}: sample folder does not exist")
    names = [p.name[: -len(".tattooed.png")] for p in d.glob("*.tattooed.png")]
    return sorted(n for n in names if all((d / f"{n}{s}").exists() for s in SUFFIXES))


def _read(path: Path, flag: int) -> np.ndarray:
    img = cv2.imread(str(path), flag)
    if img is None:
        raise InputError(f"{path}: cannot read sample image")
    return img


def load_sample(folder: str | Path, name: str) -> Sample:
    """Read one written sample back (arrays exactly as written)."""
    d = Path(folder)
    tattooed = _read(d / f"{name}.tattooed.png", cv2.IMREAD_COLOR)[..., ::-1].copy()
    clean = _read(d / f"{name}.clean.png", cv2.IMREAD_COLOR)[..., ::-1].copy()
    ink = _read(d / f"{name}.ink.png", cv2.IMREAD_GRAYSCALE)
    try:
        params = json.loads((d / f"{name}.json").read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"{d / (name + '.json')}: cannot read sample parameters ({exc})") from exc
    return Sample(name, tattooed, clean, ink, params)
