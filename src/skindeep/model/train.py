"""The training loop: progressive-resizing stages, one-cycle LR per stage, AdamW, CSV logs, validation,
checkpoints every few minutes, ``best.pt`` by validation PSNR inside the ink, resume, and DDP.

Run it with ``skindeep train --config configs/default.toml --out runs/main`` (see docs/training.md).
Under ``torchrun --nproc_per_node N`` it trains data-parallel on the gloo (CPU) or NCCL (GPU) backend;
rank 0 alone writes logs and checkpoints.

Output folder: ``last.pt`` (resume point), ``best.pt`` (best validation), ``train.csv``, ``val.csv``,
``telea.json`` (the reference figures), ``config.json``.
"""

from __future__ import annotations

import csv
import json
import math
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset
from torch.utils.data.distributed import DistributedSampler

from skindeep.errors import SkinDeepError
from skindeep.model.checkpoint import load_checkpoint, save_checkpoint
from skindeep.model.config import TrainConfig
from skindeep.model.data import FolderDataset, RealBoxDataset, SynthDataset, load_val_set
from skindeep.model.losses import SkinDeepLoss, box_losses
from skindeep.model.net import SkinDeepNet, build_model
from skindeep.model.validate import model_metrics, telea_metrics

CHUNK_STEPS = 500  # the data loader is rebuilt every CHUNK_STEPS: picks up samples a cache writer added


@dataclass
class Dist:
    """Where this process sits in a (possibly 1-process) data-parallel job."""

    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup_dist() -> Dist:
    """Join the process group when started by torchrun (WORLD_SIZE > 1); gloo on CPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return Dist(dist.get_rank(), dist.get_world_size())


class CsvLog:
    """Append rows to a CSV file, writing the header when the file is new. A file written by an older
    version keeps its own header (a resumed run's columns stay aligned; new fields are not logged)."""

    def __init__(self, path: Path, fields: list[str]):
        self.path, self.fields = path, fields
        if path.exists():
            with path.open(newline="") as f:
                self.fields = next(csv.reader(f), fields)
        else:
            with path.open("w", newline="") as f:
                csv.writer(f).writerow(fields)

    def write(self, row: dict[str, Any]) -> None:
        with self.path.open("a", newline="") as f:
            csv.writer(f).writerow([_fmt(row.get(k, "")) for k in self.fields])


def _fmt(v: Any) -> Any:
    return f"{v:.6g}" if isinstance(v, float) else v


def make_optimizer(model: SkinDeepNet, cfg: TrainConfig) -> torch.optim.AdamW:
    """AdamW with two groups: the pretrained encoder (lr scaled by ``encoder_lr_scale``) and the rest."""
    enc = [p for p in model.encoder.parameters() if p.requires_grad]
    enc_ids = {id(p) for p in enc}
    rest = [p for p in model.parameters() if id(p) not in enc_ids and p.requires_grad]
    lr = cfg.stages[0].lr
    return torch.optim.AdamW(
        [{"params": enc, "lr": lr * cfg.encoder_lr_scale}, {"params": rest, "lr": lr}],
        weight_decay=cfg.weight_decay,
    )


def make_scheduler(opt: torch.optim.Optimizer, cfg: TrainConfig, stage: int) -> torch.optim.lr_scheduler.OneCycleLR:
    s = cfg.stages[stage]
    return torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=[s.lr * cfg.encoder_lr_scale, s.lr], total_steps=s.steps, pct_start=0.2,
        div_factor=10.0, final_div_factor=100.0,
    )


def make_dataset(cfg: TrainConfig, size: int, length: int, seed: int) -> Dataset:
    if cfg.data.train_dir:
        return FolderDataset(cfg.data.train_dir, size, seed=seed, length=length, max_zoom=cfg.data.max_zoom,
                             p_grade=cfg.data.colour_grade, p_sharpen=cfg.data.sharpen)
    return SynthDataset(cfg.data.people_dir, cfg.data.designs_dir, size, cfg.data.synth_size, seed=seed,
                        length=length, max_zoom=cfg.data.max_zoom, p_grade=cfg.data.colour_grade,
                        p_sharpen=cfg.data.sharpen)


def make_loader(cfg: TrainConfig, stage: int, stage_step: int, steps: int, d: Dist) -> DataLoader:
    """A loader for the next ``steps`` steps of ``stage``; its randomness depends on where training is."""
    s = cfg.stages[stage]
    seed = (cfg.seed * 1000 + stage) * 1_000_003 + stage_step
    ds = make_dataset(cfg, s.size, steps * s.batch * d.world, seed)
    sampler = DistributedSampler(ds, d.world, d.rank, shuffle=False) if d.world > 1 else None
    # spawn, not fork: a worker forked after the trainer's OpenMP/OpenCV threads started can deadlock.
    ctx = "spawn" if cfg.data.workers > 0 else None
    return DataLoader(ds, batch_size=s.batch, sampler=sampler, num_workers=cfg.data.workers, drop_last=True,
                      worker_init_fn=_worker_init, multiprocessing_context=ctx)


def real_batches(cfg: TrainConfig, size: int, seed: int):
    """Endless batches of real boxed crops (``data.real_dir``, train split only), or None when off."""
    if not cfg.data.real_dir or not (cfg.loss.box_projection or cfg.loss.box_negative):
        return None
    from skindeep.model.skin import split_real_train

    photos, _ = split_real_train(cfg.data.real_dir)
    ds = RealBoxDataset(photos, size, seed=seed, length=10**9)
    return iter(DataLoader(ds, batch_size=cfg.data.real_batch, num_workers=0))


def real_terms(net: torch.nn.Module, cfg: TrainConfig, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict]:
    """Weighted box losses of one real batch, and their unweighted values for the log."""
    logits = net(batch["image"])[0]
    proj, neg = box_losses(logits, batch["box"], batch["core"], batch["outside"])
    total = cfg.loss.box_projection * proj + cfg.loss.box_negative * neg
    return total, {"box_proj": proj.item(), "box_neg": neg.item()}


def _worker_init(_: int) -> None:
    import cv2

    cv2.setNumThreads(1)  # the trainer's threads own the cores
    torch.set_num_threads(1)


class _Stop:
    """Set by SIGTERM/SIGINT: the loop saves a checkpoint and returns cleanly."""

    requested = False

    @classmethod
    def install(cls) -> dict:
        """Install the handlers; returns the previous ones for ``restore``."""

        def handler(signum, frame):  # noqa: ARG001
            cls.requested = True

        previous = {}
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                previous[sig] = signal.signal(sig, handler)
            except ValueError:  # not the main thread (e.g. inside some test runners)
                pass
        return previous

    @staticmethod
    def restore(previous: dict) -> None:
        # train() is also a library call: give the caller its own Ctrl-C back.
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def train(
    cfg: TrainConfig,
    out_dir: str | Path,
    resume: bool = False,
    init: str | Path | None = None,
    max_steps: int | None = None,
    pretrained: bool | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train per ``cfg``, writing into ``out_dir``. Returns the final state summary (step, best, metrics).

    ``resume``: continue from ``out_dir/last.pt`` (model, optimizer, stage, step, best).
    ``init``: start from another checkpoint's weights with a fresh schedule (fine-tuning).
    ``max_steps``: stop after this many steps in this call (tests, time-boxed runs).
    """
    _Stop.requested = False
    previous = _Stop.install()
    try:
        return _train(cfg, out_dir, resume, init, max_steps, pretrained, log)
    finally:
        _Stop.restore(previous)


def _train(
    cfg: TrainConfig,
    out_dir: str | Path,
    resume: bool,
    init: str | Path | None,
    max_steps: int | None,
    pretrained: bool | None,
    log: Callable[[str], None],
) -> dict[str, Any]:
    d = setup_dist()
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed + d.rank)
    out = Path(out_dir)
    if d.main:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2))

    model = build_model(cfg.model, pretrained=pretrained)
    if model.skin_head is not None:  # trained on its own (skindeep.model.skin); kept as it is here
        model.skin_head.requires_grad_(False)
    opt = make_optimizer(model, cfg)
    state: dict[str, Any] = {"stage": 0, "stage_step": 0, "step": 0, "best": None, "seconds": 0.0, "metrics": {}}
    ckpt = None
    if resume and (out / "last.pt").exists():
        ckpt = load_checkpoint(out / "last.pt")
        if ckpt["config"]["model"] != cfg.to_dict()["model"]:
            raise SkinDeepError(f"{out / 'last.pt'}: model config differs from the one given; cannot resume")
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        state.update({k: ckpt[k] for k in state if k in ckpt})
        log(f"resumed from {out / 'last.pt'} at step {state['step']} (stage {state['stage']})")
    elif init:
        model.load_state_dict(load_checkpoint(init)["model"])
        log(f"initialised weights from {init}")

    net: torch.nn.Module = model
    if d.world > 1:
        net = torch.nn.parallel.DistributedDataParallel(model)
    criterion = SkinDeepLoss(cfg.loss, pretrained=cfg.model.pretrained if pretrained is None else pretrained)
    model.train()

    val_set, threshold = [], cfg.data.ink_threshold
    train_log = val_log = None
    if d.main:
        if cfg.data.val_dir:
            val_set = load_val_set(cfg.data.val_dir, cfg.data.val_limit)
            ref_path = out / "telea.json"
            if not ref_path.exists():
                ref = telea_metrics(val_set, threshold).as_dict()
                ref_path.write_text(json.dumps(ref, indent=2))
                log(f"telea (true mask) on {len(val_set)} val samples: {ref}")
        parts = ["total", "l1", "bce", "dice", "hard_neg", "feat", "gram", "box_proj", "box_neg"]
        train_log = CsvLog(out / "train.csv", ["step", "stage", "size", "lr", *parts, "sec_per_step", "elapsed"])
        val_log = CsvLog(out / "val.csv", ["step", "stage", "psnr_in", "ssim_in", "change_out", "iou", "f1", "n"])

    def checkpoint(name: str) -> None:
        if not d.main:
            return
        save_checkpoint(out / name, {
            "model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
            "config": cfg.to_dict(), **state,
        })

    def validate() -> None:
        if d.main and val_set:
            m = model_metrics(model, val_set, threshold)
            val_log.write({"step": state["step"], "stage": state["stage"], **m.as_dict()})
            state["metrics"] = m.as_dict()
            log(f"val step {state['step']}: {m.as_dict()}")
            if not math.isnan(m.psnr_in) and (state["best"] is None or m.psnr_in > state["best"]):
                state["best"] = m.psnr_in
                checkpoint("best.pt")
        if d.world > 1:
            dist.barrier()

    steps_this_call = 0
    last_ckpt = time.monotonic()
    sched = make_scheduler(opt, cfg, min(state["stage"], len(cfg.stages) - 1))
    while state["stage"] < len(cfg.stages):
        stage = state["stage"]
        s = cfg.stages[stage]
        sched = make_scheduler(opt, cfg, stage)
        if ckpt is not None and ckpt.get("stage") == stage and state["stage_step"] > 0:
            sched.load_state_dict(ckpt["scheduler"])
        ckpt = None
        log(f"stage {stage}: size {s.size}, batch {s.batch}, steps {state['stage_step']}/{s.steps}, lr {s.lr}")
        real = real_batches(cfg, s.size, (cfg.seed * 1000 + stage) * 1_000_003 + state["stage_step"] + d.rank)
        while state["stage_step"] < s.steps:
            chunk = min(CHUNK_STEPS, s.steps - state["stage_step"])
            t0 = time.monotonic()
            for batch in make_loader(cfg, stage, state["stage_step"], chunk, d):
                terms = criterion(*net(batch["tattooed"]), batch["clean"], batch["ink"])
                total = terms.total
                if real is not None:
                    extra, parts = real_terms(net, cfg, next(real))
                    total = total + extra
                    terms.parts.update(parts, total=total.item())
                opt.zero_grad(set_to_none=True)
                total.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                opt.step()
                sched.step()
                state["step"] += 1
                state["stage_step"] += 1
                steps_this_call += 1
                now = time.monotonic()
                state["seconds"] += now - t0
                if d.main and state["step"] % cfg.log_every == 0:
                    train_log.write({"step": state["step"], "stage": stage, "size": s.size,
                                     "lr": sched.get_last_lr()[-1], **terms.parts,
                                     "sec_per_step": now - t0, "elapsed": state["seconds"]})
                t0 = now
                if state["step"] % cfg.val_every == 0:
                    validate()
                    t0 = time.monotonic()
                if now - last_ckpt > cfg.checkpoint_minutes * 60:
                    checkpoint("last.pt")
                    last_ckpt = time.monotonic()
                if _Stop.requested or (max_steps is not None and steps_this_call >= max_steps):
                    checkpoint("last.pt")
                    log(f"stopped at step {state['step']} (stage {stage}); resume with --resume")
                    return dict(state)
        if state["step"] % cfg.val_every:  # not validated at this very step already
            validate()
        state["stage"] += 1
        state["stage_step"] = 0
        checkpoint("last.pt")
        last_ckpt = time.monotonic()
    log(f"finished at step {state['step']}; best psnr_in {state['best']}")
    if d.world > 1:
        dist.barrier()
    return dict(state)
