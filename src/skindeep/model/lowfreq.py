"""The learned low-frequency restorer: training set, network, training loop and ONNX export (issue 16).

LaMa's recipe (Suvorov et al. 2022) at a size a CPU can train: clean real photos (``people/`` with
``NAME.skin.png``, ``clothes/`` with ``NAME.parse.png`` label 1 = skin; the project's train splits
only) with tattoo-shaped holes cut inside the skin (blobs, thick strokes, design silhouettes, large
solid pieces, sleeves). The photo itself is the truth, so there is no rendering gap. Each hole is cut
out of the photo as the fill sees a region: its box grown by the fill's margin, the clean skin found by
``fill._clean_skin``, everything at the working size :data:`skindeep.remove.lowfreq.LEARN_SIDE` (the
inputs come from the very function inference uses, :func:`skindeep.remove.lowfreq.net_inputs`).

The network predicts the residual ``truth - membrane`` inside the hole: it starts at the membrane (its
last layer is zero) and only has to learn what the membrane misses (relief, the skin's own colour
drift), which is the most data-efficient design on a CPU. The target is the photo at the working size,
blurred by ``target_sigma`` px: fine texture is copied from the ring at full resolution afterwards.

    python -m skindeep.model.lowfreq cache --out runs/lowfreq/train.npz --split train
    python -m skindeep.model.lowfreq cache --out runs/lowfreq/val.npz --split val --per-photo 2
    python -m skindeep.model.lowfreq train --run runs/lowfreq --minutes 35
    python -m skindeep.model.lowfreq score --run runs/lowfreq
    python -m skindeep.model.lowfreq export --run runs/lowfreq --out src/skindeep/weights/lowfreq.onnx
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from skindeep.remove.fill import MAX_MARGIN, MIN_KNOWN, FillSettings, _clean_skin
from skindeep.remove.lowfreq import CHANNELS, CLEAN_MASK, LEARN_SIDE, MULTIPLE, net_inputs
from skindeep.synth.photos import read_rgb, split_clothes, split_photos
from skindeep.synth.svg import SvgRasteriser
from skindeep.synth.util import smooth_noise

HOLE_KINDS = ("blob", "strokes", "design", "solid", "sleeve")
HOLE_WEIGHTS = (0.2, 0.15, 0.3, 0.2, 0.15)  # real regions are mostly whole designs' silhouettes


@dataclass
class LowFreqSettings:
    """How the training set is cut and the network trained.

    side: working size (px, long side), = LEARN_SIDE at inference. per_photo: holes cut per photo.
    hole_min, hole_max: the hole's extent as a share of the photo's short side.
    target_sigma: Gaussian (working px) that removes the texture from the truth.
    width: channels at 1/2, 1/4, 1/8 of the working size.
    batch, lr, grad_weight: training; grad_weight weighs the L1 of the residual's finite differences
    (the relief) against the plain L1.
    luminance_only: one residual for all three channels, so the fill keeps the membrane's chroma (the
    border's own colour) and cannot learn the training set's typical skin colour (experiment 11).
    border_weight, border_px: weight of the mean signed luminance error in the band of the hole within
    ``border_px`` working px of clean skin: a step there is the seam a person sees.
    ring_skin_min: keep only holes whose ring (the band just outside them, ``ring_share`` of the hole's
    extent wide) is at least this share of labelled skin. A tight tattoo mask has skin all round it; a hole
    near a limb's edge has background and shadow in its ring, and teaches a brightness bias (experiment 11).
    """

    side: int = LEARN_SIDE
    per_photo: int = 4
    hole_min: float = 0.12
    hole_max: float = 0.7
    target_sigma: float = 1.0
    width: tuple[int, int, int] = (24, 40, 64)
    batch: int = 16
    lr: float = 2e-3
    grad_weight: float = 0.5
    luminance_only: bool = False
    border_weight: float = 0.0
    border_px: int = 3
    ring_skin_min: float = 0.0
    ring_share: float = 0.08
    seed: int = 0


# ----------------------------------------------------------------------------------------------- holes

def _blob(rng: np.random.Generator, n: int) -> np.ndarray:
    """A smooth random blob: thresholded low-frequency noise under an ellipse, (n, n) bool."""
    noise = smooth_noise(rng, (n, n), int(rng.integers(3, 7)))
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32) / max(n - 1, 1) * 2 - 1
    ell = 1.0 - (xx / rng.uniform(0.5, 1.0)) ** 2 - (yy / rng.uniform(0.5, 1.0)) ** 2
    return (ell + 0.6 * noise) > rng.uniform(0.0, 0.4)


def _strokes(rng: np.random.Generator, n: int) -> np.ndarray:
    """A few thick curved strokes (lettering, tribal bands), (n, n) bool."""
    canvas = np.zeros((n, n), np.uint8)
    for _ in range(int(rng.integers(1, 5))):
        pts = rng.uniform(0.1, 0.9, (4, 2)) * n
        t = np.linspace(0, 1, 40)[:, None]
        curve = ((1 - t) ** 3 * pts[0] + 3 * (1 - t) ** 2 * t * pts[1] + 3 * (1 - t) * t ** 2 * pts[2]
                 + t ** 3 * pts[3])
        cv2.polylines(canvas, [curve.astype(np.int32)], False, 1, max(2, int(n * rng.uniform(0.06, 0.2))))
    return canvas.astype(bool)


def _design(rng: np.random.Generator, n: int, svgs: list[Path], raster: SvgRasteriser) -> np.ndarray:
    """A design's silhouette (its strokes closed and its outline filled, as a region mask is drawn)."""
    for _ in range(3):
        path = svgs[int(rng.integers(len(svgs)))]
        try:
            alpha, _ = raster.render(path, n)
        except Exception:  # noqa: BLE001 - an unreadable design is simply another draw
            continue
        drawn = (cv2.resize(alpha, (n, n), interpolation=cv2.INTER_AREA) > 0.3).astype(np.uint8)
        k = max(3, int(n * rng.uniform(0.02, 0.08))) | 1
        drawn = cv2.morphologyEx(drawn, cv2.MORPH_CLOSE, np.ones((k, k), np.uint8))
        drawn = cv2.dilate(drawn, np.ones((3, 3), np.uint8))
        contours, _ = cv2.findContours(drawn, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        solid = cv2.drawContours(np.zeros_like(drawn), contours, -1, 1, cv2.FILLED)
        if solid.mean() > 0.05:
            return solid.astype(bool)
    return _blob(rng, n)


def _solid(rng: np.random.Generator, n: int) -> np.ndarray:
    """A large solid piece: a rotated ellipse or rectangle filling most of the canvas."""
    canvas = np.zeros((n, n), np.uint8)
    c = (n // 2, n // 2)
    axes = (int(n * rng.uniform(0.3, 0.5)), int(n * rng.uniform(0.2, 0.5)))
    angle = float(rng.uniform(0, 180))
    if rng.random() < 0.5:
        cv2.ellipse(canvas, c, axes, angle, 0, 360, 1, -1)
    else:
        box = cv2.boxPoints((c, (2 * axes[0], 2 * axes[1]), angle)).astype(np.int32)
        cv2.fillPoly(canvas, [box], 1)
    return canvas.astype(bool)


def _sleeve(rng: np.random.Generator, n: int) -> np.ndarray:
    """A band across the whole canvas (a sleeve or armband: the skin beside it is not around it)."""
    canvas = np.zeros((n, n), np.uint8)
    angle = rng.uniform(0, np.pi)
    d = np.array([np.cos(angle), np.sin(angle)])
    c = np.array([n / 2, n / 2])
    half = n * rng.uniform(0.15, 0.35)
    normal = np.array([-d[1], d[0]])
    quad = [c + d * n + normal * half, c - d * n + normal * half, c - d * n - normal * half, c + d * n - normal * half]
    cv2.fillPoly(canvas, [np.array(quad, np.int32)], 1)
    return canvas.astype(bool)


def hole_shape(rng: np.random.Generator, n: int, kind: str, svgs: list[Path], raster: SvgRasteriser) -> np.ndarray:
    """A tattoo-shaped hole of ``kind`` (one of HOLE_KINDS) on an (n, n) bool canvas."""
    if kind == "design" and svgs:
        return _design(rng, n, svgs, raster)
    return {"blob": _blob, "strokes": _strokes, "solid": _solid, "sleeve": _sleeve, "design": _blob}[kind](rng, n)


# ----------------------------------------------------------------------------------------- training set

def skin_label(photo: Path, shape: tuple[int, int]) -> np.ndarray | None:
    """The photo's hand-labelled skin (H, W) bool: ``NAME.skin.png`` > 127, else ``NAME.parse.png`` == 1."""
    stem = str(photo.with_suffix(""))
    skin = None
    if Path(stem + ".skin.png").is_file():
        m = cv2.imread(stem + ".skin.png", cv2.IMREAD_GRAYSCALE)
        skin = m > 127 if m is not None else None
    elif Path(stem + ".parse.png").is_file():
        p = cv2.imread(stem + ".parse.png", cv2.IMREAD_GRAYSCALE)
        skin = p == 1 if p is not None else None
    if skin is not None and skin.shape != shape:
        skin = cv2.resize(skin.astype(np.uint8), (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST) > 0
    return skin


def ring_skin_share(hole: np.ndarray, skin: np.ndarray, share: float) -> float:
    """The share of labelled ``skin`` (H, W) bool in the band just outside ``hole`` (H, W) bool, ``share`` of the
    hole's extent wide (at least 3 px); 0.0 when the band is empty."""
    hy, hx = np.nonzero(hole)
    if hy.size == 0:
        return 0.0
    r = max(3, round(share * max(np.ptp(hy), np.ptp(hx))))
    ring = cv2.dilate(hole.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    ring = ring.astype(bool) & ~hole
    return float(skin[ring].mean()) if ring.any() else 0.0


def cut_sample(rgb: np.ndarray, skin: np.ndarray, rng: np.random.Generator, svgs: list[Path],
               raster: SvgRasteriser, cfg: LowFreqSettings) -> dict[str, np.ndarray] | None:
    """One training sample: a hole cut inside the skin of ``rgb`` (H, W, 3) uint8, ``skin`` (H, W) bool.

    Returns, at the working size padded to (side, side): ``inputs`` (CHANNELS, S, S) float16, ``target``
    (3, S, S) float16 (the truth, colours as x / 255 - 0.5), ``membrane`` likewise, ``loss`` (S, S) bool
    (hole pixels that are labelled skin and not clean); None when the draw does not fit.
    """
    h, w = skin.shape
    inner = cv2.erode(skin.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    ys, xs = np.nonzero(inner)
    if ys.size < 200:
        return None
    n = max(24, int(min(h, w) * rng.uniform(cfg.hole_min, cfg.hole_max)))
    kind = HOLE_KINDS[int(rng.choice(len(HOLE_KINDS), p=HOLE_WEIGHTS))]
    shape = hole_shape(rng, n, kind, svgs, raster)
    i = int(rng.integers(ys.size))
    y0, x0 = ys[i] - n // 2, xs[i] - n // 2
    hole = np.zeros((h, w), bool)
    sy0, sx0 = max(0, y0), max(0, x0)
    sy1, sx1 = min(h, y0 + n), min(w, x0 + n)
    if sy1 - sy0 < 8 or sx1 - sx0 < 8:
        return None
    hole[sy0:sy1, sx0:sx1] = shape[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0]
    hole &= skin  # the truth under the hole must be skin
    if hole.sum() < 150 or hole.sum() < 0.1 * shape.sum():
        return None
    hy, hx = np.nonzero(hole)
    bx0, by0, bx1, by1 = hx.min(), hy.min(), hx.max() + 1, hy.max() + 1
    # The box the fill would see: the region's box grown by the fill's margin.
    margin = max(24, min(MAX_MARGIN, round(FillSettings().margin * max(bx1 - bx0, by1 - by0))))
    gx0, gy0, gx1, gy1 = max(0, bx0 - margin), max(0, by0 - margin), min(w, bx1 + margin), min(h, by1 + margin)
    src, hole_c, skin_c = rgb[gy0:gy1, gx0:gx1], hole[gy0:gy1, gx0:gx1], skin[gy0:gy1, gx0:gx1]
    if cfg.ring_skin_min > 0 and ring_skin_share(hole_c, skin_c, cfg.ring_share) < cfg.ring_skin_min:
        return None
    known = _clean_skin(src, ~hole_c)
    if known.sum() < MIN_KNOWN:
        return None
    inputs, membrane, small_known = net_inputs(src, known, hole_c, cfg.side)
    size = (inputs.shape[2], inputs.shape[1])
    truth = cv2.resize(src.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    truth = cv2.GaussianBlur(truth, (0, 0), cfg.target_sigma)
    small_skin = cv2.resize(skin_c.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0.75
    loss = (inputs[7] > 0) & small_skin & ~small_known
    if loss.sum() < 20:
        return None
    s = cfg.side

    def pad(x: np.ndarray) -> np.ndarray:
        out = np.zeros(x.shape[:-2] + (s, s), np.float16)
        out[..., :x.shape[-2], :x.shape[-1]] = x
        return out

    return {"inputs": pad(inputs), "target": pad(truth.transpose(2, 0, 1) / 255.0 - 0.5),
            "membrane": pad(membrane.transpose(2, 0, 1) / 255.0 - 0.5), "loss": pad(loss).astype(bool),
            "kind": np.int8(HOLE_KINDS.index(kind))}


def training_photos(data: Path, split: str) -> list[Path]:
    """The photos of ``people/`` and ``clothes/`` in the project's ``split`` ('train' or 'val')."""
    people_train, people_val = split_photos(data / "people")
    clothes_train, clothes_val = split_clothes(data / "clothes")
    return people_train + clothes_train if split == "train" else people_val + clothes_val


def build_cache(data: Path, split: str, out: Path, cfg: LowFreqSettings, limit: int = 0) -> int:
    """Cut ``cfg.per_photo`` holes per photo of ``split`` and save them to ``out`` (npz). Returns the count."""
    rng = np.random.default_rng(cfg.seed + (0 if split == "train" else 1))
    photos = training_photos(data, split)
    rng.shuffle(photos)
    if limit:
        photos = photos[:limit]
    svgs = sorted((data / "designs").rglob("*.svg"))
    raster = SvgRasteriser(64)
    samples: list[dict] = []
    t0 = time.time()
    for k, photo in enumerate(photos):
        try:
            rgb = read_rgb(photo)
        except Exception:  # noqa: BLE001 - an unreadable photo is skipped
            continue
        skin = skin_label(photo, rgb.shape[:2])
        if skin is None:
            continue
        kept = 0
        for _ in range(cfg.per_photo * (4 if cfg.ring_skin_min > 0 else 1)):  # the ring test rejects most draws
            s = cut_sample(rgb, skin, rng, svgs, raster, cfg)
            if s is not None:
                samples.append(s)
                kept += 1
            if kept == cfg.per_photo:
                break
        if k % 100 == 0:
            print(f"{k}/{len(photos)} photos, {len(samples)} samples, {time.time() - t0:.0f} s", flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, **{key: np.stack([s[key] for s in samples]) for key in samples[0]})
    return len(samples)


# ------------------------------------------------------------------------------------------------ network

def _conv(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, padding=dilation, dilation=dilation),
                         nn.LeakyReLU(0.2, inplace=True))


class LowFreqNet(nn.Module):
    """A tiny U-Net: (B, CHANNELS, H, W) float32 -> residual (B, 3, H, W), colours / 255; H, W multiples of 8.

    Encoder at 1/2, 1/4, 1/8; dilated convolutions (2, 4, 8) at 1/8 reach ~230 working px, the whole
    box, so the middle of a large hole sees its border. The output is made at 1/2 and upsampled: the
    residual is low-frequency by design. The last layer starts at zero (the membrane exactly).
    ``luminance_only``: one output channel, repeated for R, G and B (the output shape is the same).
    """

    def __init__(self, width: tuple[int, int, int] = (24, 40, 64), luminance_only: bool = False):
        super().__init__()
        a, b, c = width
        self.e1 = nn.Sequential(_conv(CHANNELS, a, 2), _conv(a, a))
        self.e2 = nn.Sequential(_conv(a, b, 2), _conv(b, b))
        self.e3 = nn.Sequential(_conv(b, c, 2), _conv(c, c, dilation=2), _conv(c, c, dilation=4),
                                _conv(c, c, dilation=8))
        self.d2 = _conv(c + b, b)
        self.d1 = _conv(b + a, a)
        self.out = nn.Conv2d(a, 1 if luminance_only else 3, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f1 = self.e1(x)
        f2 = self.e2(f1)
        f3 = self.e3(f2)
        up = nn.functional.interpolate
        y = self.d2(torch.cat([up(f3, size=f2.shape[-2:], mode="bilinear", align_corners=False), f2], 1))
        y = self.d1(torch.cat([up(y, size=f1.shape[-2:], mode="bilinear", align_corners=False), f1], 1))
        y = self.out(y)
        if y.shape[1] == 1:
            y = torch.cat([y, y, y], 1)
        return up(y, size=x.shape[-2:], mode="bilinear", align_corners=False)


def masked_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, grad_weight: float) -> torch.Tensor:
    """L1 in the hole plus ``grad_weight`` x L1 of the horizontal and vertical differences (the relief).

    pred, target: (B, 3, H, W). mask: (B, 1, H, W) float 0/1. Each sample weighs the same."""
    per = mask.sum((1, 2, 3)).clamp(min=1.0)
    l1 = ((pred - target).abs() * mask).sum((1, 2, 3)) / per / 3
    err = pred - target
    mx = mask[..., :, 1:] * mask[..., :, :-1]
    my = mask[..., 1:, :] * mask[..., :-1, :]
    gx = ((err[..., :, 1:] - err[..., :, :-1]).abs() * mx).sum((1, 2, 3)) / mx.sum((1, 2, 3)).clamp(min=1.0) / 3
    gy = ((err[..., 1:, :] - err[..., :-1, :]).abs() * my).sum((1, 2, 3)) / my.sum((1, 2, 3)).clamp(min=1.0) / 3
    return (l1 + grad_weight * (gx + gy)).mean()


def border_band(clean: torch.Tensor, mask: torch.Tensor, px: int) -> torch.Tensor:
    """The pixels of ``mask`` within ``px`` px of ``clean`` (both (B, 1, H, W) float 0/1): where the
    fill meets the skin around it."""
    near = nn.functional.max_pool2d(clean, 2 * px + 1, stride=1, padding=px)
    return mask * near


def border_step(pred: torch.Tensor, target: torch.Tensor, band: torch.Tensor) -> torch.Tensor:
    """|mean signed grey error| (the mean of R, G and B) over ``band`` per sample, averaged (samples without a band count 0).

    pred, target: (B, 3, H, W); band: (B, 1, H, W). A fill brighter or darker than the skin right
    around it shows as a seam even when its L1 is small, so the sign is kept before averaging."""
    err = (pred - target).mean(1, keepdim=True)
    per = band.sum((1, 2, 3))
    step = (err * band).sum((1, 2, 3)) / per.clamp(min=1.0)
    return (step.abs() * (per > 0)).mean()


# ----------------------------------------------------------------------------------------------- training

def _batch(d: dict[str, np.ndarray], idx: np.ndarray, rng: np.random.Generator) -> tuple[torch.Tensor, ...]:
    """Tensors for the samples ``idx``, flipped at random (the padding moves with them: it reads as unknown)."""
    x = d["inputs"][idx].astype(np.float32)
    t = (d["target"][idx] - d["membrane"][idx]).astype(np.float32)
    m = d["loss"][idx][:, None].astype(np.float32)
    if rng.random() < 0.5:
        x, t, m = x[..., ::-1], t[..., ::-1], m[..., ::-1]
    if rng.random() < 0.5:
        x, t, m = x[..., ::-1, :], t[..., ::-1, :], m[..., ::-1, :]
    return tuple(torch.from_numpy(np.ascontiguousarray(a)) for a in (x, t, m))


class OnnxNet(nn.Module):
    """An exported restorer (``weights/lowfreq.onnx``) behind the torch network's call, so
    :func:`evaluate` scores shipped weights on the same holes as a run's checkpoint."""

    def __init__(self, path: Path):
        super().__init__()
        from skindeep.remove.lowfreq import LowFreqRestorer

        self.restorer = LowFreqRestorer(path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = [self.restorer.residual(np.ascontiguousarray(a)) / 255.0 for a in x.numpy()]
        return torch.from_numpy(np.stack(out).transpose(0, 3, 1, 2).astype(np.float32))


def evaluate(net: nn.Module, d: dict[str, np.ndarray], batch: int = 32,
             border_px: int = LowFreqSettings.border_px) -> dict[str, float]:
    """Mean L1 (grey levels) in the hole of the membrane and of membrane + residual over a cached set,
    overall and per hole kind (``membrane_l1``, ``learned_l1``, ``<kind>_membrane``, ``<kind>_learned``),
    and the mean |luminance step| in the band where the hole meets clean skin (``membrane_step``,
    ``learned_step``; :func:`border_step`)."""
    net.eval()
    base, ours, step_base, step_ours = [], [], [], []
    with torch.no_grad():
        for s in range(0, len(d["inputs"]), batch):
            x = torch.from_numpy(d["inputs"][s:s + batch].astype(np.float32))
            t = torch.from_numpy((d["target"][s:s + batch] - d["membrane"][s:s + batch]).astype(np.float32))
            m = torch.from_numpy(d["loss"][s:s + batch][:, None].astype(np.float32))
            per = m.sum((1, 2, 3)).clamp(min=1.0) * 3
            pred = net(x)
            base.append(((t.abs() * m).sum((1, 2, 3)) / per).numpy())
            ours.append((((pred - t).abs() * m).sum((1, 2, 3)) / per).numpy())
            band = border_band(x[:, CLEAN_MASK:CLEAN_MASK + 1], m, border_px)
            step_base.append(float(border_step(torch.zeros_like(t), t, band)) * len(x))
            step_ours.append(float(border_step(pred, t, band)) * len(x))
    net.train()
    b, o = np.concatenate(base) * 255, np.concatenate(ours) * 255
    n = len(d["inputs"])
    out = {"membrane_l1": float(b.mean()), "learned_l1": float(o.mean()),
           "membrane_step": sum(step_base) / n * 255, "learned_step": sum(step_ours) / n * 255}
    for k, kind in enumerate(HOLE_KINDS):
        sel = d["kind"] == k
        if sel.any():
            out[f"{kind}_membrane"], out[f"{kind}_learned"] = float(b[sel].mean()), float(o[sel].mean())
    return {k: round(v, 2) for k, v in out.items()}


def load_net(run: Path) -> LowFreqNet:
    """The network of ``run/last.pt``, in eval mode."""
    state = torch.load(run / "last.pt", weights_only=False)
    net = LowFreqNet(tuple(state["cfg"]["width"]), state["cfg"].get("luminance_only", False))
    net.load_state_dict(state["net"])
    return net.eval()


def train(run: Path, cfg: LowFreqSettings, minutes: float, threads: int = 1) -> None:
    """Train on ``run/train*.npz`` for ``minutes`` of wall time (resumes from ``run/last.pt``), checking
    ``run/val.npz`` every few hundred steps. Cosine learning rate over the time budget."""
    torch.set_num_threads(threads)
    torch.manual_seed(cfg.seed)
    parts = [dict(np.load(p)) for p in sorted(run.glob("train*.npz"))]  # more files: more holes
    d = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    del parts
    v = dict(np.load(run / "val.npz")) if (run / "val.npz").exists() else None
    net = LowFreqNet(cfg.width, cfg.luminance_only)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    step, spent = 0, 0.0
    ckpt = run / "last.pt"
    if ckpt.exists():
        state = torch.load(ckpt, weights_only=False)
        net.load_state_dict(state["net"])
        opt.load_state_dict(state["opt"])
        step, spent = state["step"], state["seconds"]
    rng = np.random.default_rng(cfg.seed + step)
    budget = minutes * 60
    t0 = time.time() - spent
    print(f"{sum(p.numel() for p in net.parameters())} parameters, {len(d['inputs'])} samples", flush=True)
    while time.time() - t0 < budget:
        frac = (time.time() - t0) / budget
        for g in opt.param_groups:
            g["lr"] = cfg.lr * (0.05 + 0.95 * 0.5 * (1 + np.cos(np.pi * frac)))
        x, t, m = _batch(d, rng.integers(0, len(d["inputs"]), cfg.batch), rng)
        pred = net(x)
        loss = masked_loss(pred, t, m, cfg.grad_weight)
        if cfg.border_weight > 0:
            loss = loss + cfg.border_weight * border_step(pred, t, border_band(x[:, CLEAN_MASK:CLEAN_MASK + 1], m, cfg.border_px))
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        if step % 50 == 0:
            print(f"step {step} loss {loss.item() * 255:.2f} lr {opt.param_groups[0]['lr']:.2e} "
                  f"{time.time() - t0:.0f} s", flush=True)
        if step % 500 == 0:
            torch.save({"net": net.state_dict(), "opt": opt.state_dict(), "step": step,
                        "seconds": time.time() - t0, "cfg": asdict(cfg)}, ckpt)
            if v is not None:
                print("val", evaluate(net, v), flush=True)
    torch.save({"net": net.state_dict(), "opt": opt.state_dict(), "step": step,
                "seconds": time.time() - t0, "cfg": asdict(cfg)}, ckpt)
    if v is not None:
        print("val (final)", evaluate(net, v), flush=True)


def export(run: Path, out: Path, tolerance: float = 1e-3) -> float:
    """Write ``run/last.pt`` as ONNX (dynamic height and width) and check onnxruntime against torch on
    two sizes. Returns the largest difference (colours / 255); raises if over ``tolerance``."""
    import onnxruntime as ort

    net = load_net(run)
    out.parent.mkdir(parents=True, exist_ok=True)
    dummy = torch.zeros(1, CHANNELS, 8 * MULTIPLE, 12 * MULTIPLE)
    torch.onnx.export(net, dummy, str(out), input_names=["x"], output_names=["residual"], opset_version=17,
                      dynamic_axes={"x": {2: "h", 3: "w"}, "residual": {2: "h", 3: "w"}}, dynamo=False)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    worst = 0.0
    gen = torch.Generator().manual_seed(0)
    for h, w in ((128, 96), (72, 128)):
        x = torch.rand(1, CHANNELS, h, w, generator=gen) - 0.5
        with torch.no_grad():
            ref = net(x).numpy()
        got = session.run(None, {"x": x.numpy()})[0]
        worst = max(worst, float(np.abs(ref - got).max()))
    if worst > tolerance:
        raise RuntimeError(f"onnxruntime differs from torch by {worst:.2e} (> {tolerance})")
    return worst


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m skindeep.model.lowfreq", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("cache", help="cut holes in clean photos and save the training set (npz)")
    c.add_argument("--data", type=Path, default=Path("../shared/data"))
    c.add_argument("--split", choices=("train", "val"), default="train")
    c.add_argument("--out", type=Path, required=True)
    c.add_argument("--per-photo", type=int, default=LowFreqSettings.per_photo)
    c.add_argument("--limit", type=int, default=0, help="at most this many photos (0 = all)")
    c.add_argument("--seed", type=int, default=0, help="another seed cuts other holes (a second file)")
    c.add_argument("--ring-skin-min", type=float, default=LowFreqSettings.ring_skin_min,
                   help="keep only holes whose ring is at least this share of labelled skin (tight masks)")
    t = sub.add_parser("train", help="train (resumes from RUN/last.pt)")
    t.add_argument("--run", type=Path, required=True)
    t.add_argument("--minutes", type=float, default=35.0)
    t.add_argument("--luminance-only", action="store_true", help="one residual for R, G and B")
    t.add_argument("--border-weight", type=float, default=LowFreqSettings.border_weight,
                   help="weight of the mean luminance step where the fill meets clean skin")
    v = sub.add_parser("score", help="L1 in the hole on RUN/val.npz: membrane and learned, per hole kind")
    v.add_argument("--run", type=Path, required=True)
    v.add_argument("--onnx", type=Path, help="score these exported weights on RUN/val.npz instead of RUN/last.pt")
    e = sub.add_parser("export", help="RUN/last.pt to ONNX, checked against torch")
    e.add_argument("--run", type=Path, required=True)
    e.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    if args.cmd == "cache":
        cfg = LowFreqSettings(per_photo=args.per_photo, seed=args.seed, ring_skin_min=args.ring_skin_min)
        print(f"{build_cache(args.data, args.split, args.out, cfg, args.limit)} samples -> {args.out}")
    elif args.cmd == "train":
        train(args.run, LowFreqSettings(luminance_only=args.luminance_only, border_weight=args.border_weight),
              args.minutes)
    elif args.cmd == "score":
        torch.set_num_threads(1)
        net = OnnxNet(args.onnx) if args.onnx else load_net(args.run)
        print(evaluate(net, dict(np.load(args.run / "val.npz"))))
    else:
        print(f"max |onnxruntime - torch| = {export(args.run, args.out):.2e}")


if __name__ == "__main__":
    main()
