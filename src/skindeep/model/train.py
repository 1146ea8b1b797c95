"""The training loop: progressive-resizing stages, one-cycle LR per stage, AdamW, CSV logs, validation,
checkpoints every few minutes, ``best.pt`` by validation PSNR inside the ink, resume, and DDP.

Run it with ``skindeep train --config configs/default.toml --out runs/main`` (see docs/training.md).
Under ``torchrun --nproc_per_node N`` it trains data-parallel on the gloo (CPU) or NCCL (GPU) backend;
rank 0 alone writes logs and checkpoints.

Output folder: ``last.pt`` (resume point), ``best.pt`` (best validation), ``train.csv``, ``val.csv``,
``telea.json`` (the reference figures), ``config.json``.

With ``time_budget`` > 0 (the GPU run, docs/training.md) the stages share that many seconds instead of
running their step counts, and online synthesis streams from ``SynthStream`` workers; ``device``,
``amp`` (bf16 autocast on cuda) and ``channels_last`` say where and how the steps run.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset
from torch.utils.data.distributed import DistributedSampler

from skindeep.errors import SkinDeepError
from skindeep.model.checkpoint import load_checkpoint, read_start, save_checkpoint
from skindeep.model.config import TrainConfig
from skindeep.model.data import (
    FolderDataset,
    RealBoxDataset,
    RealPseudoDataset,
    SynthDataset,
    SynthStream,
    TeacherDataset,
    load_val_set,
)
from skindeep.model.losses import LossTerms, SkinDeepLoss, box_losses, box_pairwise, distil_loss, pseudo_loss
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
                        length=length, split=cfg.data.synth_split, max_zoom=cfg.data.max_zoom,
                        p_grade=cfg.data.colour_grade, p_sharpen=cfg.data.sharpen)


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


def _real_train_photos(cfg: TrainConfig) -> list[Path]:
    from skindeep.synth.photos import split_real_train

    # a device pack's real-train/train folder holds the train split already (data.synth_split = "all")
    return sorted(Path(cfg.data.real_dir).glob("*.jpg")) if cfg.data.synth_split == "all" \
        else split_real_train(cfg.data.real_dir)[0]


def _endless(ds: Dataset, batch: int, workers: int):
    # Decoding and cropping real JPEGs in the trainer's own process would stall every step (16 a step on
    # the GPU run); up to 2 workers, spawned like the synthetic loader's. Items depend only on their
    # index, so the batches are the same with or without workers.
    workers = min(2, workers)
    return iter(DataLoader(ds, batch_size=batch, num_workers=workers, worker_init_fn=_worker_init,
                           multiprocessing_context="spawn" if workers > 0 else None))


def real_batches(cfg: TrainConfig, size: int, seed: int):
    """Endless batches of real crops (``data.real_dir``, train split only), or None when off: one dict with
    the boxed crops for the box losses, the pseudo-labelled crops (``data.pseudo_dir``) for
    ``loss.pseudo`` under keys prefixed ``pl_``, and the teacher's clean crops (``data.teacher_dir``) for
    ``loss.distil`` under keys prefixed ``dt_``."""
    if not cfg.data.real_dir:
        return None
    boxes_on = bool(cfg.loss.box_projection or cfg.loss.box_negative or cfg.loss.box_pairwise)
    pseudo_on = bool(cfg.loss.pseudo and cfg.data.pseudo_dir)
    distil_on = bool(cfg.loss.distil and cfg.data.teacher_dir)
    if not (boxes_on or pseudo_on or distil_on):
        return None
    photos = _real_train_photos(cfg)
    feeds = []
    if distil_on:
        ds = TeacherDataset(cfg.data.teacher_dir, size, seed=seed, length=10**9)
        feeds.append(("dt_", _endless(ds, cfg.data.teacher_batch, cfg.data.workers)))
    if boxes_on:
        ds = RealBoxDataset(photos, size, seed=seed, length=10**9)
        feeds.append(("", _endless(ds, cfg.data.real_batch, cfg.data.workers)))
    if pseudo_on:
        ds = RealPseudoDataset(photos, cfg.data.pseudo_dir, size, seed=seed, length=10**9,
                               grade=cfg.data.pseudo_grade)
        feeds.append(("pl_", _endless(ds, cfg.data.pseudo_batch, cfg.data.workers)))
    return ({prefix + k: v for prefix, it in feeds for k, v in next(it).items()} for _ in itertools.count())


def real_terms(net: torch.nn.Module, cfg: TrainConfig, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict]:
    """Weighted real-photo losses of one ``real_batches`` batch, and their unweighted values for the log."""
    # one forward pass for both kinds of crop (same size)
    images = [batch[k] for k in ("image", "pl_image", "dt_image") if k in batch]
    logits = net(torch.cat(images) if len(images) > 1 else images[0])[0]
    total, parts = logits.new_zeros(()), {}
    if "dt_image" in batch:
        logits, dt_logits = logits[:-len(batch["dt_image"])], logits[-len(batch["dt_image"]):]
        dt = distil_loss(dt_logits, batch["dt_teacher"])
        total = total + cfg.loss.distil * dt
        parts["distil"] = dt.item()
    if "image" in batch:
        box_logits, logits = logits[:len(batch["image"])], logits[len(batch["image"]):]
        proj, neg = box_losses(box_logits, batch["box"], batch["core"], batch["outside"])
        total = total + cfg.loss.box_projection * proj + cfg.loss.box_negative * neg
        parts.update(box_proj=proj.item(), box_neg=neg.item())
        if cfg.loss.box_pairwise:
            pair = box_pairwise(box_logits, batch["lab"], batch["box"])
            total = total + cfg.loss.box_pairwise * pair
            parts["box_pair"] = pair.item()
    if "pl_image" in batch:
        pl = pseudo_loss(logits, batch["pl_ink"])
        total = total + cfg.loss.pseudo * pl
        parts["pseudo"] = pl.item()
    return total, parts


def make_stream_loader(cfg: TrainConfig, stage: int, d: Dist, device: torch.device) -> DataLoader:
    """An endless loader of ``SynthStream`` batches for ``stage`` (time-boxed runs)."""
    s = cfg.stages[stage]
    ds = SynthStream(cfg.data.people_dir, cfg.data.designs_dir, s.size, cfg.data.synth_size,
                     cfg.data.synth_presets, seed=(cfg.seed * 1000 + stage) * 1000 + d.rank, reuse=cfg.data.reuse,
                     pool=cfg.data.pool, max_zoom=cfg.data.max_zoom, p_grade=cfg.data.colour_grade,
                     p_sharpen=cfg.data.sharpen, split=cfg.data.synth_split, realink=cfg.data.realink_dir)
    workers = cfg.data.workers
    return DataLoader(ds, batch_size=s.batch, num_workers=workers, worker_init_fn=_worker_init,
                      multiprocessing_context="spawn" if workers > 0 else None,
                      prefetch_factor=2 if workers > 0 else None, pin_memory=device.type == "cuda")


@dataclass
class Device:
    """Where the training steps run: the torch device, bf16 autocast, channels-last memory format."""

    device: torch.device
    amp: bool = False
    channels_last: bool = False


def resolve_device(cfg: TrainConfig) -> Device:
    """``cfg.device`` ("auto": cuda when there is one); autocast and channels-last only on cuda
    (bf16 autocast on a CPU is slower than float32)."""
    name = cfg.device
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise SkinDeepError("device = \"cuda\" but torch sees no GPU; use device = \"cpu\" or \"auto\"")
    cuda = name == "cuda"
    return Device(torch.device(name), amp=cfg.amp and cuda, channels_last=cfg.channels_last and cuda)


def one_cycle_lr(progress: float, peak: float, pct_start: float = 0.2, div: float = 10.0,
                 final_div: float = 100.0) -> float:
    """The LR of torch's OneCycleLR (cosine, the settings ``make_scheduler`` uses) at ``progress``
    (0..1) of a stage: for time-boxed stages, whose step count is not known in advance."""
    start, low = peak / div, peak / div / final_div
    p = min(max(progress, 0.0), 1.0)
    if p < pct_start:
        a, b, t = start, peak, p / pct_start
    else:
        a, b, t = peak, low, (p - pct_start) / (1.0 - pct_start)
    return b + (a - b) / 2.0 * (1.0 + math.cos(math.pi * t))


def _to_unit(t: torch.Tensor) -> torch.Tensor:
    return t.float().div_(255.0) if t.dtype == torch.uint8 else t


def train_step(net: torch.nn.Module, model: SkinDeepNet, criterion: SkinDeepLoss, opt: torch.optim.Optimizer,
               batch: dict[str, torch.Tensor], dev: Device, grad_clip: float,
               real: tuple[TrainConfig, dict[str, torch.Tensor]] | None = None) -> LossTerms:
    """One optimisation step on ``batch`` (moved to ``dev``; uint8 tensors are scaled to 0..1 there), plus
    the box losses of a real batch when ``real`` = (config, batch) is given; returns the loss terms."""
    x, clean, ink = (_to_unit(batch[k].to(dev.device, non_blocking=True)) for k in ("tattooed", "clean", "ink"))
    if dev.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.autocast(device_type=dev.device.type, dtype=torch.bfloat16, enabled=dev.amp):
        out = net(x)
        terms = criterion(out[0], out[1], clean, ink)
        total = terms.total
        if real is not None:
            cfg, real_batch = real
            extra, parts = real_terms(net, cfg, {k: _to_unit(v.to(dev.device)) for k, v in real_batch.items()})
            total = total + extra
            terms.parts.update(parts, total=total.item())
    opt.zero_grad(set_to_none=True)
    total.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    opt.step()
    return terms


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


def _with_start_skin(cfg: TrainConfig, start_cfg, init: str | Path, log: Callable[[str], None]) -> TrainConfig:
    """``cfg`` with the skin part of the model it starts from (``start_cfg``, :func:`read_start`): the skin is
    frozen here (trained on its own, skindeep.model.skin), so a fine-tune keeps the skin network it starts
    with rather than a head the config names but the start lacks."""
    if start_cfg == cfg.model:
        return cfg
    log(f"{init}: skin head {start_cfg.skin_head}, skin network {start_cfg.skin_net} (the start's, not the config's)")
    return replace(cfg, model=start_cfg)


def _train(
    cfg: TrainConfig,
    out_dir: str | Path,
    resume: bool,
    init: str | Path | None,
    max_steps: int | None,
    pretrained: bool | None,
    log: Callable[[str], None],
) -> dict[str, Any]:
    called = time.monotonic()  # a time budget counts from here: building the model and the val set too
    d = setup_dist()
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed + d.rank)
    start_weights = None
    if init:  # a resumed fine-tune gets the same shape again
        start_cfg, start_weights = read_start(init, cfg.model)
        cfg = _with_start_skin(cfg, start_cfg, init, log)
    out = Path(out_dir)
    ckpt = load_checkpoint(out / "last.pt") if resume and (out / "last.pt").exists() else None
    if ckpt is not None and ckpt["config"]["model"] != cfg.to_dict()["model"]:
        # Checked before config.json is written: a refused resume must not overwrite the run's record.
        raise SkinDeepError(f"{out / 'last.pt'}: model config differs from the one given; cannot resume "
                            "(a fine-tune resumes with the same --config and --init it started with)")
    if d.main:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2))

    dev = resolve_device(cfg)
    model = build_model(cfg.model, pretrained=pretrained)
    for skin in (model.skin_head, model.skin_net):  # trained on its own (skindeep.model.skin); kept here
        if skin is not None:
            skin.requires_grad_(False)
    opt = make_optimizer(model, cfg)
    state: dict[str, Any] = {"stage": 0, "stage_step": 0, "step": 0, "best": None, "seconds": 0.0, "metrics": {},
                             "sample_steps": 0, "distinct_samples": 0}
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        state.update({k: ckpt[k] for k in state if k in ckpt})
        log(f"resumed from {out / 'last.pt'} at step {state['step']} (stage {state['stage']})")
    elif start_weights is not None:
        model.load_state_dict(start_weights)
        log(f"initialised weights from {init}")

    model.to(dev.device)
    if dev.channels_last:
        model.to(memory_format=torch.channels_last)
    if ckpt is not None:  # the optimizer's moments were loaded on the CPU: move them with the model
        for st in opt.state.values():
            for k, v in st.items():
                if torch.is_tensor(v) and k != "step":
                    st[k] = v.to(dev.device)
    net: torch.nn.Module = model
    if d.world > 1:
        net = torch.nn.parallel.DistributedDataParallel(model)
    criterion = SkinDeepLoss(cfg.loss, pretrained=cfg.model.pretrained if pretrained is None else pretrained)
    criterion.to(dev.device)
    model.train()
    log(f"device {dev.device}, bf16 autocast {dev.amp}, channels_last {dev.channels_last}, "
        f"{cfg.data.workers} loader workers")

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
        parts = ["total", "l1", "bce", "dice", "hard_neg", "feat", "gram", "box_proj", "box_neg", "box_pair", "pseudo",
                 "distil"]
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
    if cfg.time_budget > 0:
        return _train_timed(cfg, net, model, criterion, opt, dev, state, d, validate, checkpoint, train_log, log,
                            called)
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
                terms = train_step(net, model, criterion, opt, batch, dev, cfg.grad_clip,
                                   None if real is None else (cfg, next(real)))
                sched.step()
                state["sample_steps"] += s.batch
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


def _train_timed(cfg: TrainConfig, net, model, criterion, opt, dev: Device, state: dict[str, Any], d: Dist,
                 validate: Callable[[], None], checkpoint: Callable[[str], None], train_log: CsvLog | None,
                 log: Callable[[str], None], start: float) -> dict[str, Any]:
    """Stages by time (``cfg.time_budget`` seconds from ``start``, shared in proportion to their
    ``steps``), on streamed synthetic batches (or the sample folder). Each stage's one-cycle LR runs
    from its first batch (loader start-up does not eat the warm-up) to its end. Validates and writes
    ``last.pt`` at the end, or when stopped by SIGTERM."""
    total = cfg.total_steps
    ends = [start + cfg.time_budget * sum(s.steps for s in cfg.stages[: i + 1]) / total
            for i in range(len(cfg.stages))]
    seen: set[int] = set()
    while state["stage"] < len(cfg.stages) and not _Stop.requested:
        stage = state["stage"]
        s = cfg.stages[stage]
        log(f"stage {stage}: size {s.size}, batch {s.batch}, until {ends[stage] - start:.0f} s, lr {s.lr}")
        if cfg.data.train_dir:  # a sample folder: as many steps as could possibly fit
            loader = make_loader(cfg, stage, state["stage_step"], 10**7 // s.batch, d)
        else:
            loader = make_stream_loader(cfg, stage, d, dev.device)
        real = real_batches(cfg, s.size, (cfg.seed * 1000 + stage) * 1_000_003 + d.rank)
        t0 = time.monotonic()
        first = None
        for batch in loader:
            now = time.monotonic()
            first = first or now
            progress = (now - first) / max(ends[stage] - first, 1e-6)
            lr = one_cycle_lr(progress, s.lr)
            opt.param_groups[0]["lr"], opt.param_groups[1]["lr"] = lr * cfg.encoder_lr_scale, lr
            terms = train_step(net, model, criterion, opt, batch, dev, cfg.grad_clip,
                               None if real is None else (cfg, next(real)))
            if "sample_id" in batch:
                seen.update(batch["sample_id"].tolist())
            state["step"] += 1
            state["stage_step"] += 1
            state["sample_steps"] += s.batch
            state["distinct_samples"] = len(seen)
            now = time.monotonic()
            state["seconds"] += now - t0
            if d.main and state["step"] % cfg.log_every == 0:
                train_log.write({"step": state["step"], "stage": stage, "size": s.size, "lr": lr, **terms.parts,
                                 "sec_per_step": now - t0, "elapsed": state["seconds"]})
            t0 = now
            if state["step"] % cfg.val_every == 0:
                validate()
                t0 = time.monotonic()
            if now >= ends[stage] or _Stop.requested:
                break
        del loader  # ends its workers before the next stage's start
        log(f"stage {stage} done at step {state['step']}: {state['sample_steps']} sample-steps, "
            f"{state['distinct_samples']} distinct synthetic samples so far")
        if _Stop.requested:
            break
        state["stage"] += 1
        state["stage_step"] = 0
    validate()
    checkpoint("last.pt")
    log(f"time budget spent: step {state['step']}, {state['sample_steps']} sample-steps, "
        f"{state['distinct_samples']} distinct samples, {time.monotonic() - start:.0f} s")
    if d.world > 1:
        dist.barrier()
    return dict(state)
