"""Writing and reading sample folders: NAME.tattooed.png, NAME.clean.png, NAME.ink.png, NAME.json."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from skindeep.errors import InputError
from skindeep.synth.config import Sample

SUFFIXES = (".tattooed.png", ".clean.png", ".ink.png", ".json")


def _png(img: np.ndarray) -> bytes:
    arr = img[..., ::-1] if img.ndim == 3 else img
    # fixed compression level: PNG bytes depend only on the pixels -> byte-identical reruns
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(arr), [cv2.IMWRITE_PNG_COMPRESSION, 3])
    if not ok:
        raise ValueError("PNG encoding failed")
    return buf.tobytes()


def encode_sample(sample: Sample) -> dict[str, bytes]:
    """The 4 files of a sample as {file name: bytes} (lets worker processes do the PNG encoding)."""
    return {
        f"{sample.name}.tattooed.png": _png(sample.tattooed),
        f"{sample.name}.clean.png": _png(sample.clean),
        f"{sample.name}.ink.png": _png(sample.ink),
        f"{sample.name}.json": (json.dumps(sample.params, indent=1, sort_keys=True) + "\n").encode(),
    }


def write_files(files: dict[str, bytes], out_dir: str | Path) -> None:
    """Write encoded sample files into ``out_dir`` (created if needed)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        try:
            (out / name).write_bytes(data)
        except OSError as exc:
            raise InputError(f"{out / name}: cannot write ({exc})") from exc


def write_sample(sample: Sample, out_dir: str | Path) -> None:
    """Write the 4 files of ``sample`` into ``out_dir`` (created if needed):
    NAME.tattooed.png, NAME.clean.png, NAME.ink.png (alpha 0..255), NAME.json (parameters)."""
    write_files(encode_sample(sample), out_dir)


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
