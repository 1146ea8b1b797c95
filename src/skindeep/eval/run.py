"""One evaluation run: synthetic benchmark, real photos, clean photos → ``metrics.json`` + ``report.md``.

>>> from skindeep.eval.run import EvalConfig, evaluate
>>> evaluate(EvalConfig(out=Path("runs/eval/today"), n=45, n_real=40, n_clean=40))

No torch is imported unless the (optional) feature distance is on and torch is installed.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from skindeep.errors import InputError
from skindeep.eval import baselines, bench, real, report, restorer
from skindeep.eval.metrics import FeatureDistance


def default_data_dir() -> Path | None:
    """``../shared/data`` next to the current folder or next to the source checkout, if it exists."""
    here = Path(__file__).resolve()
    for base in (Path.cwd(), here.parents[3] if len(here.parents) > 3 else Path.cwd()):
        candidate = (base / ".." / "shared" / "data").resolve()
        if candidate.is_dir():
            return candidate
    return None


@dataclass
class EvalConfig:
    """What to evaluate. ``n``/``n_real``/``n_clean`` = 0 skip a section; folders None = defaults."""

    out: Path
    model: Path | None = None  # None = the shipped weights
    people: Path | None = None
    designs: Path | None = None
    real: Path | None = None
    n: int = 45
    sizes: tuple[int, ...] = (256, 512, 1024)
    n_real: int = 40
    n_clean: int = 40
    # The restorer alone, every method given the region: real-dev photos and synthetic pairs (true mask).
    n_restore: int = 40
    n_restore_synth: int = 15
    threads: int | None = None
    perceptual: bool | None = None  # None = on when torch and the encoder weights are installed
    grid_rows: int = 10
    bench_set: Path | None = None  # read the synthetic pairs from a set saved with save_set
    save_set: Path | None = None  # also write the synthetic pairs here (to replay them later)
    fill_base: str | None = None  # "membrane" or "learned" low frequencies in the skin fill; None = default
    command: str = "skindeep eval"
    extra: dict = field(default_factory=dict)

    def resolve(self) -> EvalConfig:
        """Fill in default folders and check that the needed ones exist (InputError naming them)."""
        data = default_data_dir()
        if self.people is None and data is not None:
            self.people = data / "people"
        if self.designs is None and data is not None:
            self.designs = data / "designs"
        if self.real is None and data is not None:
            self.real = data / "real-dev"
        needs = []
        if self.n > 0 and self.bench_set is None:
            needs += [("--people", self.people), ("--designs", self.designs)]
        if self.n_clean > 0:
            needs.append(("--people", self.people))
        if self.n_real > 0 or self.n_restore > 0:
            needs.append(("--real", self.real))
        if self.n_restore_synth > 0 and self.bench_set is None:
            needs += [("--people", self.people), ("--designs", self.designs)]
        for flag, path in needs:
            if path is None:
                raise InputError(f"no data folder for {flag}: ../shared/data was not found; pass {flag} DIR "
                                 "(or skip that part with -n 0 / --n-real 0 / --n-clean 0)")
            if not Path(path).is_dir():
                raise InputError(f"{path}: folder not found (given or defaulted for {flag})")
        return self


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def evaluate(cfg: EvalConfig, remover=None, progress: Callable[[str, str], None] | None = None) -> Path:
    """Run every section ``cfg`` asks for into ``cfg.out``; returns the path of ``report.md``.

    ``remover`` (anything with ``remove(image) -> Result`` and ``threshold``) defaults to
    ``skindeep.remove.Remover(cfg.model, threads=cfg.threads)``. ``progress(section, item)`` is called
    after each image.
    """
    cfg.resolve()
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    if remover is None:
        from skindeep.remove import Remover
        from skindeep.remove.fill import FillSettings

        overrides = {}
        if cfg.fill_base is not None:  # the same remover, only the fill's low frequencies chosen
            overrides["fill"] = replace(FillSettings(), learned_base=cfg.fill_base == "learned")
        remover = Remover(cfg.model, threads=cfg.threads, **overrides)
    model_path = Path(getattr(getattr(remover, "model", None), "path", cfg.model or "unknown"))
    info = getattr(getattr(remover, "model", None), "info", None)
    use_feat = FeatureDistance.available() if cfg.perceptual is None else cfg.perceptual
    feat = FeatureDistance() if use_feat else None

    def tick(section: str) -> Callable[[str], None] | None:
        return (lambda item: progress(section, item)) if progress else None

    metrics: dict = {
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": cfg.command,
        "fill_base": cfg.fill_base or "default",
        "skindeep_version": _version(),
        "host": f"{platform.machine()}, {os.cpu_count()} cpu",
        "model": {
            "path": _shown(model_path),
            "sha256": file_sha256(model_path) if model_path.is_file() else "",
            "version": str(getattr(info, "version", "unknown")),
            "threshold": float(getattr(remover, "threshold", 0.5)),
            "training": _training_meta(model_path),
        },
    }
    if cfg.n > 0:
        t = time.perf_counter()
        bset = bench.FrozenSet(cfg.bench_set) if cfg.bench_set else bench.BenchSet(cfg.people, cfg.designs)
        syn = bench.run_synthetic(bset, remover, cfg.n, tuple(cfg.sizes), out / "synthetic-grid.jpg",
                                  cfg.grid_rows, feat, tick("synthetic"), save_dir=cfg.save_set)
        syn.update(bench_version=bench.BENCH_VERSION, sweep=list(bench.SWEEP), ink_min=bench.INK_MIN,
                   sizes=sorted({c["size"] for c in syn["cases"]}), threads=cfg.threads or "default",
                   feature_distance=feat is not None, source=str(cfg.bench_set or "synthesised"),
                   seconds=time.perf_counter() - t)
        metrics["synthetic"] = syn
    if cfg.n_real > 0:
        t = time.perf_counter()
        photos = real.evenly(real.list_real(cfg.real), cfg.n_real)

        def ours(rgb, region):
            r = remover.remove(rgb)
            return np.asarray(r.image)[..., :3], np.asarray(r.ink_mask)

        def ours_in_region(rgb, region):  # the user-mask mode: ink removed only inside the given region
            r = remover.remove(rgb, mask=region)
            return np.asarray(r.image)[..., :3], np.asarray(r.ink_mask)

        methods = {
            "skindeep": ours,
            "skindeep_region": ours_in_region,
            "telea": lambda rgb, region: (baselines.telea(rgb, region), region.astype(np.uint8) * 255),
            "identity": lambda rgb, region: (rgb, np.zeros(rgb.shape[:2], np.uint8)),
        }
        metrics["real"] = {"folder": _shown(cfg.real),
                           **real.run_real(photos, methods, out / "real-sheet.jpg", progress=tick("real")),
                           "seconds": time.perf_counter() - t}
    if cfg.n_restore > 0 or cfg.n_restore_synth > 0:
        t = time.perf_counter()
        methods = restorer.restorers(remover)
        section: dict = {"folder": _shown(cfg.real), "methods": list(methods)}
        if cfg.n_restore > 0:
            photos = real.evenly(real.list_real(cfg.real), cfg.n_restore)
            section["real"] = restorer.run_restorer_real(photos, methods, out / "restorer-sheet.jpg",
                                                         progress=tick("restorer"))
        if cfg.n_restore_synth > 0:
            bset = bench.FrozenSet(cfg.bench_set) if cfg.bench_set else bench.BenchSet(cfg.people, cfg.designs)
            section["synthetic"] = restorer.run_restorer_synthetic(bset, methods, cfg.n_restore_synth,
                                                                   tuple(cfg.sizes), tick("restorer"))
        metrics["restorer"] = {**section, "seconds": time.perf_counter() - t}
    if cfg.n_clean > 0:
        t = time.perf_counter()
        from skindeep.synth import split_photos

        clean = real.select_clean(split_photos(cfg.people)[1], cfg.n_clean)

        def ours_clean(rgb):
            r = remover.remove(rgb)
            return np.asarray(r.image)[..., :3], np.asarray(r.ink_mask)

        metrics["clean"] = {"folder": _shown(cfg.people),
                            **real.run_clean(clean, ours_clean, out / "clean-sheet.jpg", progress=tick("clean")),
                            "seconds": time.perf_counter() - t}
    metrics["seconds"] = time.perf_counter() - start
    report.save_metrics(out, metrics)
    return report.write_report(out)


def _training_meta(model_path: Path) -> dict:
    """Step / stage / training seconds from the metadata JSON beside the weights, when present."""
    try:
        meta = json.loads(model_path.with_suffix(".json").read_text())
    except (OSError, ValueError):
        return {}
    return {k: meta[k] for k in ("step", "stage", "train_seconds", "train_size") if k in meta}


def _shown(path: Path) -> str:
    """``path`` relative to the current folder when it is inside it or beside it (``../shared/data``):
    reports should read the same on every machine."""
    rel = os.path.relpath(Path(path).resolve(), Path.cwd().resolve())
    return rel if rel.split(os.sep).count("..") <= 1 else str(path)


def _version() -> str:
    try:
        from skindeep import __version__

        return __version__
    except ImportError:  # pragma: no cover
        return "?"
