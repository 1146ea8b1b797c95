"""One time-boxed training run on the lent GPU machine (or a CPU dry run), from the device pack to $OUT.

Called by ``scripts/device_train.sh`` (which installs the pack's wheels first); docs/training.md
("The GPU run") has the routine. Steps, all inside ``--budget`` seconds counted from ``--started``:

1. unpack the pack (``skindeep.model.devicepack.unpack``) and point the synth engine at it;
2. train ``--config`` (``configs/gpu.toml``) from ``--init`` (default: the shipped ONNX, rebuilt by
   ``skindeep.model.from_onnx``) for the time left minus a reserve for the steps below;
3. write to ``--out``: ``checkpoint.pt`` (fp16 weights only), ``skindeep.onnx`` + ``.json`` (exported
   with the shipped model's recommended settings, parity with torch checked by the exporter),
   ``metrics.json`` (the run's and the shipped model's validation figures on the pack's val set,
   sample-steps, distinct samples, timings, sizes), ``sheet.jpg`` (held-out real-train photos:
   photo | shipped ink | shipped clean | new ink | new clean) and ``train.csv``.

Every file is checked against the 16 MiB the device tool brings back; a larger ONNX is gzipped.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from skindeep.errors import SkinDeepError

REPO = Path(__file__).resolve().parents[3]
SHIPPED_ONNX = Path(__file__).resolve().parents[1] / "weights" / "skindeep.onnx"
FILE_LIMIT = 16 * 1024 * 1024  # the device tool brings back files of at most 16 MiB
CPU_BATCH = 4  # --device cpu (the dry run): the GPU batches (~100) would take minutes per step and GBs


def finish_reserve(budget: float) -> float:
    """Seconds kept back from training for validation, export, parity, metrics and the sheet: 10 % of
    the budget, at least 30 s (measured: ~25 s on the loaded 2-core CPU in the 60 s dry run), at most 90."""
    return float(min(90.0, max(30.0, 0.10 * budget)))


def _shipped_settings(onnx_path: Path) -> dict[str, Any]:
    """The shipped model's threshold and ``recommended_*`` settings, as ``export_checkpoint`` kwargs."""
    meta_path = onnx_path.with_suffix(".json")
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    out = {k[len("recommended_"):]: v for k, v in meta.items() if k.startswith("recommended_")}
    if "threshold" in meta:
        out["threshold"] = meta["threshold"]
    return out


def _sheet(models: list, photos: Path, out: Path, n: int = 6, side: int = 320) -> Path | None:
    """photo | ink | clean of each model, for the first ``n`` held-out real photos."""
    from skindeep.eval.images import save_jpeg
    from skindeep.model.sheet import compare_sheet

    if not photos.is_dir() or not any(photos.glob("*.jpg")):
        return None
    return save_jpeg(out, compare_sheet(models, photos, n, side, height=200))


def _finite(d: dict) -> dict:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}


def run(pack: str | Path, out: str | Path, budget: float, device: str = "cuda", config: str | Path | None = None,
        init: str | Path | None = None, started: float | None = None, workers: int | None = None,
        work: str | Path | None = None, log=print) -> dict[str, Any]:
    """Do the run (module docstring); returns the metrics written to ``out/metrics.json``. ``work``:
    where to unpack and train (default: a temporary folder, removed at the end)."""
    if work is None:
        with tempfile.TemporaryDirectory(prefix="skindeep-run-") as tmp:
            return run(pack, out, budget, device, config, init, started, workers, tmp, log)
    import torch

    from skindeep.model.checkpoint import model_from_checkpoint, slim_checkpoint
    from skindeep.model.config import load_config
    from skindeep.model.data import load_val_set
    from skindeep.model.devicepack import unpack
    from skindeep.model.export import export_checkpoint
    from skindeep.model.from_onnx import model_from_onnx
    from skindeep.model.train import train
    from skindeep.model.validate import model_metrics

    wall0 = time.time()
    started = started or wall0
    deadline = started + budget
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(work)
    paths = unpack(pack, work)
    os.environ["SKINDEEP_FONT_DIRS"] = str(paths["fonts"])  # spawned loader workers inherit it
    init = Path(init) if init else SHIPPED_ONNX

    cfg = load_config(config or REPO / "configs" / "gpu.toml")
    cfg.device = device
    cfg.model.pretrained = False  # the weights come from --init; ImageNet is in the pack's loss weights
    cfg.data.people_dir, cfg.data.designs_dir = str(paths["people"]), str(paths["designs"])
    cfg.data.synth_split = "all"  # the pack holds the train split only
    cfg.data.train_dir, cfg.data.val_dir = "", str(paths["val"])
    if cfg.data.real_dir:  # real tattoo boxes: the pack's train part of real-train
        cfg.data.real_dir = str(paths["real_train"])
    if cfg.data.pseudo_dir:  # pseudo-labels of those photos, at their packed size
        cfg.data.pseudo_dir = str(paths["pseudo"])
    cfg.loss.feature_weights = str(paths["loss"])
    cpus = os.cpu_count() or 1
    cfg.data.workers = workers if workers is not None else min(cfg.data.workers, max(1, cpus - 1))
    if device == "cpu":
        for s in cfg.stages:
            s.batch = min(s.batch, CPU_BATCH)
    reserve = finish_reserve(budget)
    cfg.time_budget = deadline - reserve - time.time()
    if cfg.time_budget < 5:
        raise SkinDeepError(f"--budget {budget:.0f} s leaves {cfg.time_budget:.0f} s to train after the "
                            f"{reserve:.0f} s reserve and the start; give more")
    cfg.validate("device run")
    log(f"device run: budget {budget:.0f} s, training {cfg.time_budget:.0f} s, reserve {reserve:.0f} s, "
        f"{cfg.data.workers} workers of {cpus} CPUs, init {init}")

    run_dir = work / "run"
    t_train = time.time()
    state = train(cfg, run_dir, init=init, pretrained=False, log=log)
    t_export = time.time()

    ckpt = slim_checkpoint(run_dir / "last.pt", out / "checkpoint.pt")
    settings = _shipped_settings(SHIPPED_ONNX)
    meta = export_checkpoint(ckpt, out / "skindeep.onnx", timing=False, **settings)
    t_metrics = time.time()

    dev = torch.device("cuda" if device == "cuda" and torch.cuda.is_available() else "cpu")
    new = model_from_checkpoint(ckpt)[0]
    shipped = model_from_onnx(SHIPPED_ONNX, cfg.model)
    val_set = load_val_set(paths["val"], cfg.data.val_limit)
    # the run's figures are the trainer's last validation (same set, its float32 weights)
    figures = {"run": _finite(state["metrics"]),
               "shipped": _finite(model_metrics(shipped.to(dev), val_set, cfg.data.ink_threshold).as_dict())}
    sheet = _sheet([shipped.cpu(), new.cpu()], paths["real"], out / "sheet.jpg")
    if (run_dir / "train.csv").is_file():
        shutil.copy2(run_dir / "train.csv", out / "train.csv")
    t_end = time.time()

    onnx_path = out / "skindeep.onnx"
    if onnx_path.stat().st_size > FILE_LIMIT:  # a bigger network: gzip keeps it under what comes back
        with onnx_path.open("rb") as src, gzip.open(str(onnx_path) + ".gz", "wb") as dst:
            shutil.copyfileobj(src, dst)
        onnx_path.unlink()
    telea_path = run_dir / "telea.json"
    metrics = {
        "device": torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu",
        "budget_s": budget, "train_budget_s": round(cfg.time_budget, 1), "reserve_s": reserve,
        "seconds": {"start": round(t_train - started, 1), "train": round(t_export - t_train, 1),
                    "export": round(t_metrics - t_export, 1), "metrics_sheet": round(t_end - t_metrics, 1),
                    "total": round(t_end - started, 1)},
        "steps": state["step"], "sample_steps": state["sample_steps"], "distinct_samples": state["distinct_samples"],
        "samples_per_s": round(state["sample_steps"] / max(t_export - t_train, 1e-9), 1),
        "workers": cfg.data.workers, "stages": [s.__dict__ for s in cfg.stages],
        "val_set": f"{len(val_set)} samples of the pack's val/ (the first of cache/val: val split, 320 px, seed 1)",
        "val": figures,
        "telea_val": json.loads(telea_path.read_text()) if telea_path.is_file() else None,
        "export": {k: meta.get(k) for k in ("threshold", "parity", "bytes")},
        "files": {p.name: p.stat().st_size for p in sorted(out.iterdir()) if p.is_file()},
        "sheet": sheet.name if sheet else None,
        "init": str(init),
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, default=str) + "\n")
    too_big = {n: b for n, b in metrics["files"].items() if b > FILE_LIMIT}
    if too_big:
        raise SkinDeepError(f"{out}: {too_big} over the 16 MiB that comes back from the GPU machine")
    log(f"done in {t_end - started:.0f} s of {budget:.0f}: {state['sample_steps']} sample-steps, "
        f"{state['distinct_samples']} distinct samples; val run {figures['run']} shipped {figures['shipped']}")
    return metrics


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pack", default="pack")
    ap.add_argument("--out", required=True)
    ap.add_argument("--budget", type=float, required=True, help="seconds for everything, from --started")
    ap.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    ap.add_argument("--config", default=None, help="default: configs/gpu.toml")
    ap.add_argument("--init", default=None, help="default: the shipped ONNX")
    ap.add_argument("--started", type=float, default=None, help="epoch seconds the call began (the script's)")
    ap.add_argument("--workers", type=int, default=None, help="loader workers (default: the config's, < CPUs)")
    a = ap.parse_args(argv)
    try:
        run(a.pack, a.out, a.budget, a.device, a.config, a.init, a.started, a.workers,
            log=lambda m: print(m, flush=True))
    except SkinDeepError as exc:
        raise SystemExit(f"error: {exc}") from exc


if __name__ == "__main__":
    main()
