"""Remake the README's example pictures from the shipped model, in one command.

    python scripts/make_readme_pictures.py      # after shipping a new model or changing the pipeline

From the committed input ``examples/tattooed.jpg`` it writes

- ``examples/tattooed.skindeep.jpg``: what ``skindeep remove examples/tattooed.jpg`` writes (the same
  code path: a default ``Remover`` and ``skindeep.remove.batch.run_job``);
- ``examples/before_after.jpg``: input and result side by side (README.md, docs/remove.md).

and prints how much the result changed against the pictures it replaces. ``tests/test_scripts.py``
fails when the committed pictures no longer match what the tool makes. The input itself is made once
by ``examples/make_example.py`` (it needs ../shared/data) and is not remade here.

Not remade here (each needs data, a browser or minutes of CPU; docs/readme-pictures.md says how):
docs/eval/real-dev-sheet.jpg, the sheets and plots of ``skindeep eval`` in docs/eval,
docs/model/*.jpg, docs/web-*.png, docs/synth-sheet.jpg.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
INPUT = EXAMPLES / "tattooed.jpg"
RESULT = EXAMPLES / "tattooed.skindeep.jpg"
SHEET = EXAMPLES / "before_after.jpg"
# A picture still "matches" a fresh one when, both smoothed a little (Gaussian, SMOOTH_SIGMA px: JPEG
# noise is fine-grained and averages out, a changed result is a whole area), at most MAX_SHARE_OVER_8 of
# the pixels are more than 8 levels apart, and the mean difference is small. Measured on the example:
# re-encoding it at JPEG quality 75 gives 0.00 % and a mean of 1.3 levels; the picture of an older model
# (threshold 0.75) gives 1.15 % and a mean of 0.2 (tests/test_scripts.py).
SMOOTH_SIGMA = 2.0  # px
MAX_SHARE_OVER_8 = 0.001  # share of (smoothed) pixels with a channel more than 8 levels off
MAX_MEAN_DIFF = 2.0  # grey levels, unsmoothed, over all pixels and channels: catches an overall shift


def remove_example(src: Path = INPUT, dst: Path = RESULT, model_path: Path | None = None) -> Path:
    """Write what ``skindeep remove SRC -o DST --overwrite`` writes (default settings) and return DST."""
    from skindeep.remove import Remover
    from skindeep.remove.batch import Job, RemoveOptions, run_job

    result = run_job(Remover(model_path=model_path), Job(src, dst), RemoveOptions())
    if not result.ok:
        raise SystemExit(result.error)
    return dst


def side_by_side(before: Path, after: Path, out: Path, width: int = 360) -> Path:
    """Write ``before`` | ``after`` scaled to ``width`` px each, labelled, as a JPEG at ``out``."""
    a, b = Image.open(before).convert("RGB"), Image.open(after).convert("RGB")
    h = round(a.height * width / a.width)
    sheet = Image.new("RGB", (2 * width + 8, h + 28), "white")
    sheet.paste(a.resize((width, h), Image.LANCZOS), (0, 28))
    sheet.paste(b.resize((width, h), Image.LANCZOS), (width + 8, 28))
    draw = ImageDraw.Draw(sheet)
    draw.text((8, 8), "before", fill="black")
    draw.text((width + 16, 8), "after: skindeep remove", fill="black")
    sheet.save(out, quality=88)
    return out


@dataclass
class Difference:
    """How far two pictures of the same size are apart."""

    mean: float  # mean absolute difference, grey levels
    share_over_8: float  # share of pixels with some channel more than 8 levels off, both smoothed

    @property
    def matches(self) -> bool:
        return self.mean <= MAX_MEAN_DIFF and self.share_over_8 <= MAX_SHARE_OVER_8

    def __str__(self) -> str:
        return f"mean {self.mean:.3f} levels, {self.share_over_8:.3%} of pixels > 8 levels off"


def difference(a: Path, b: Path) -> Difference:
    """Compare two image files (RGB) as ``Difference`` says; a size mismatch counts as every pixel off."""
    import cv2

    x, y = (np.asarray(Image.open(p).convert("RGB"), np.float32) for p in (a, b))
    if x.shape != y.shape:
        return Difference(255.0, 1.0)
    smooth = np.abs(cv2.GaussianBlur(x, (0, 0), SMOOTH_SIGMA) - cv2.GaussianBlur(y, (0, 0), SMOOTH_SIGMA))
    return Difference(float(np.abs(x - y).mean()), float((smooth.max(axis=2) > 8).mean()))


def make(out_dir: Path = EXAMPLES, model_path: Path | None = None) -> tuple[Path, Path]:
    """Remake the result and the side-by-side sheet into ``out_dir``; returns (result, sheet)."""
    result = remove_example(INPUT, out_dir / RESULT.name, model_path)
    return result, side_by_side(INPUT, result, out_dir / SHEET.name)


def main() -> None:
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        old = [Path(shutil.copy(p, Path(tmp) / p.name)) for p in (RESULT, SHEET)]
        for before, now in zip(old, make(), strict=True):
            change = difference(before, now)
            print(f"{now.relative_to(ROOT)}: {'as before' if change.matches else 'changed'} ({change})")
    print("Look at examples/before_after.jpg; if it changed, say what it shows in README.md's caption.",
          file=sys.stderr)


if __name__ == "__main__":
    main()
