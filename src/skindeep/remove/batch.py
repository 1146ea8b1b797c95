"""Batch removal: plan which file goes where, and run one file (used by the CLI, the server and scale).

Output naming never overwrites an input unless asked: ``NAME.skindeep.EXT`` next to the input, or
``OUT/[sub/folders/]NAME.EXT`` with ``out_dir`` (``NAME.skindeep.EXT`` there too if that name is an input).
``overwrite=True`` without ``out_dir`` writes each result over its input. Every write is atomic.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from skindeep.errors import SkinDeepError
from skindeep.io import FORMAT_EXTS, format_for, is_image_path, read_image, read_mask, write_image, write_png
from skindeep.remove.pipeline import Remover

SUFFIX = ".skindeep"
SIDE_FILES = (".mask.png", ".layer.png")


@dataclass
class Job:
    """One photo to process: read ``src``, write ``dst``."""

    src: Path
    dst: Path
    # Why dst is not where the user pointed (``-o`` named the input itself), for a one-line notice.
    notice: str | None = None


@dataclass
class RemoveOptions:
    """Per-file options (the Remover holds the model-level ones).

    threshold / protect_face: None = the Remover's default. strength: 0..1. mask / keep: mask image
    files (white = selected) applied to every photo (must match its size or aspect ratio).
    save_mask: also write ``DST.mask.png``; save_layers: also write ``DST.layer.png`` (RGBA ink layer).
    format / quality: output format name (default: the input's) and JPEG/WebP quality (default: the
    input's own JPEG tables, else 95).
    """

    threshold: float | None = None
    strength: float = 1.0
    protect_face: bool | None = None
    mask: Path | None = None
    keep: Path | None = None
    save_mask: bool = False
    save_layers: bool = False
    format: str | None = None
    quality: int | None = None
    mask_mode: str = "limit"  # "limit": remove detected ink only inside mask; "replace": mask is the ink


@dataclass
class JobResult:
    """What happened to one Job. ``error`` names the file and the problem when ``ok`` is False."""

    src: Path
    dst: Path | None
    ok: bool
    error: str | None
    seconds: float
    ink_fraction: float = 0.0  # share of the photo's pixels that were changed
    mask_path: Path | None = None
    layer_path: Path | None = None
    skipped: bool = False  # True: dst was already there from an earlier run, nothing was done


def side_path(dst: Path, kind: str) -> Path:
    """``photo.skindeep.jpg`` -> ``photo.skindeep.mask.png`` (kind = "mask" or "layer")."""
    return dst.with_name(f"{dst.stem}.{kind}.png")


def _is_own_output(path: Path) -> bool:
    name = path.name.lower()
    return path.stem.lower().endswith(SUFFIX) or name.endswith(SIDE_FILES)


def _collect(inputs, recursive: bool) -> list[tuple[Path, Path | None]]:
    """(file, the folder it was found under or None) for every input; missing paths are kept (reported later)."""
    found: list[tuple[Path, Path | None]] = []
    for item in inputs:
        item = Path(item)
        if item.is_dir():
            pattern = "**/*" if recursive else "*"
            for path in sorted(item.glob(pattern)):
                if path.is_file() and is_image_path(path) and not _is_own_output(path):
                    found.append((path, item))
        else:
            found.append((item, None))
    return found


def plan_jobs(
    inputs,
    out_dir: str | os.PathLike | None = None,
    recursive: bool = False,
    overwrite: bool = False,
    format: str | None = None,
) -> list[Job]:
    """Turn files and folders into Jobs; never plans a write over an input unless ``overwrite``.

    inputs: files and/or folders (folders: image files directly inside, or the whole tree with
    ``recursive``; earlier skindeep outputs are skipped). out_dir: output folder (folder inputs keep
    their sub-folder layout inside it); if it has an image extension and there is one input file, it is
    the output file itself. format: output format ("png", "jpg"...), default the input's.
    """
    found = _collect(inputs, recursive)
    sources = {p.resolve() for p, _ in found}
    out = Path(out_dir) if out_dir is not None else None
    jobs: list[Job] = []
    for src, root in found:
        ext = FORMAT_EXTS[format_for(src, None, format)] if format else src.suffix
        if out is not None and len(found) == 1 and root is None and is_image_path(out) and not out.is_dir():
            dst = out
        elif out is not None:
            rel = src.parent.relative_to(root) if root is not None else Path()
            dst = out / rel / f"{src.stem}{ext}"
        elif overwrite:
            dst = src.with_suffix(ext)
        else:
            dst = src.with_name(f"{src.stem}{SUFFIX}{ext}")
        notice = None
        if dst.resolve() in sources and not overwrite:
            asked, dst = dst, dst.with_name(f"{src.stem}{SUFFIX}{ext}")
            notice = (f"{asked}: the output would replace an input, so the result goes to {dst.name} instead "
                      "(--overwrite replaces the input)")
        jobs.append(Job(src=src, dst=dst, notice=notice))
    return jobs


def _load_mask(path: Path | None, size: tuple[int, int]) -> np.ndarray | None:
    return None if path is None else read_mask(path, size)


def run_job(remover: Remover, job: Job, options: RemoveOptions) -> JobResult:
    """Remove tattoos from ``job.src`` and write ``job.dst`` (atomically); never raises for a bad file."""
    start = time.perf_counter()
    try:
        image = read_image(job.src)
        size = image.size
        result = remover.remove(
            image.rgb,
            mask=_load_mask(options.mask, size),
            keep=_load_mask(options.keep, size),
            threshold=options.threshold,
            strength=options.strength,
            protect_face=options.protect_face,
            mask_mode=options.mask_mode,
        )
        write_image(job.dst, result.image, like=image, format=options.format, quality=options.quality)
        mask_path = layer_path = None
        if options.save_mask:
            mask_path = write_png(side_path(job.dst, "mask"), result.ink_mask)
        if options.save_layers:
            layer_path = write_png(side_path(job.dst, "layer"), result.layer)
        changed = float(np.count_nonzero(result.ink_mask)) / result.ink_mask.size if options.strength > 0 else 0.0
        return JobResult(job.src, job.dst, True, None, time.perf_counter() - start, changed, mask_path, layer_path)
    except SkinDeepError as exc:  # unreadable input, unwritable output: the message names the file
        return JobResult(job.src, None, False, _one_line(str(exc)), time.perf_counter() - start)
    except Exception as exc:  # one bad photo must not stop a batch; the message names the file
        message = f"{job.src}: {type(exc).__name__}: {exc}"
        return JobResult(job.src, None, False, _one_line(message), time.perf_counter() - start)


def _one_line(message: str) -> str:
    """A batch lists one line per failure: fold any line breaks an error brought along."""
    return " ".join(message.split())
