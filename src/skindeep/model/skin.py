"""Teach the network where skin is: a skin / hair / clothing head on the removal network's encoder.

Ink is only ever removed on skin (DESIGN.md idea 4). The colour-box gate (``skindeep.remove.gate``)
cannot tell a skin-coloured print or a tan skirt from an arm; hand-labelled maps can. The head
(``skindeep.model.net.SkinHead``) reads the frozen encoder, so training it changes nothing the removal
network already does, and it costs almost nothing at inference (one more output of the same pass).

Supervision (labels per pixel, ``LABEL_*`` codes below):
- ``clothes/``: hand-labelled background / skin / hair / clothing maps (``NAME.parse.png``);
- ``people/``: hand-labelled skin masks (``NAME.skin.png``): skin vs. "not skin" only;
- synthetic tattoos are rendered on that skin (``skindeep.synth``): tattooed skin is skin;
- ``real-train/`` boxed photos: the core of each tattoo box is skin (real, dense, colour ink is skin).
Each source is split into train and hold-out (``split_clothes``, ``split_real_train``, the project split
of ``people/``); only the train parts are used here.

    python -m skindeep.model.skin build --out cache/skin --init checkpoints/shipped.pt
    python -m skindeep.model.skin train --cache cache/skin --init checkpoints/shipped.pt --out runs/skin
    python -m skindeep.model.skin graft runs/ft/best.pt runs/skin/skin.pt --out runs/ft/with-skin.pt
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from skindeep.synth.photos import box_core, json_boxes, split_clothes, split_real_train, square_around_box

SKIN_CLASSES = ("skin", "hair", "clothing")
# Label codes: which of the three targets are known at a pixel.
LABEL_BACKGROUND, LABEL_SKIN, LABEL_HAIR, LABEL_CLOTHING = 0, 1, 2, 3  # all three known
LABEL_NOT_SKIN = 4  # skin = 0, hair / clothing unknown (people/ masks)
LABEL_SKIN_ONLY = 5  # skin = 1, hair / clothing unknown (inside a real tattoo box)
LABEL_UNKNOWN = 255
INPUT_BLUR = 1.0  # the remover softens what the detector sees by this sigma (skindeep.json)
# Long side (px) of a whole photo as the detector sees it (skindeep.json: recommended_detect_size 320), with
# the jitter of ``whole_view``.
WHOLE_LONG_SIDE = (240.0, 420.0)


# -- labels ------------------------------------------------------------------------------------------
def photo_labels(photo: Path) -> np.ndarray | None:
    """(H, W) uint8 label codes of a labelled photo at its own size, or None when it has no labels."""
    parse = photo.with_name(photo.stem + ".parse.png")
    if parse.is_file():
        m = cv2.imread(str(parse), cv2.IMREAD_GRAYSCALE)
        return np.where(m <= 3, m, LABEL_UNKNOWN).astype(np.uint8)
    skin = photo.with_name(photo.stem + ".skin.png")
    if skin.is_file():
        m = cv2.imread(str(skin), cv2.IMREAD_GRAYSCALE)
        return np.where(m > 127, LABEL_SKIN, LABEL_NOT_SKIN).astype(np.uint8)
    return None


def crop_labels(labels: np.ndarray, params: dict, size: int) -> np.ndarray:
    """The labels of a synthetic sample, cut the way ``skindeep.synth.photos.load_crop`` cut its photo."""
    w, h = params["decoded"]
    x0, y0, side = params["crop"]
    if labels.shape != (h, w):
        labels = cv2.resize(labels, (w, h), interpolation=cv2.INTER_NEAREST)
    out = cv2.resize(labels[y0:y0 + side, x0:x0 + side], (size, size), interpolation=cv2.INTER_NEAREST)
    return out[:, ::-1].copy() if params["flip"] else out


def box_labels(shape: tuple[int, int], boxes: list, core: float = 0.4) -> np.ndarray:
    """Unknown everywhere but the central ``core`` (fraction of each side) of each tattoo box: skin."""
    out = np.full(shape, LABEL_UNKNOWN, np.uint8)
    for box in boxes:
        out[box_core(box, core)] = LABEL_SKIN_ONLY
    return out


def targets(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Label codes (..., H, W) -> (target, known), each (..., 3, H, W) float32 for SKIN_CLASSES."""
    lab = labels[..., None, :, :]
    cls = np.arange(1, 4, dtype=np.uint8).reshape(3, 1, 1)
    target = (lab == cls).astype(np.float32)
    target[..., 0, :, :] = np.maximum(target[..., 0, :, :], labels == LABEL_SKIN_ONLY)
    full = labels <= LABEL_CLOTHING
    known = np.repeat(full[..., None, :, :], 3, axis=-3).astype(np.float32)
    known[..., 0, :, :] = np.maximum(known[..., 0, :, :], (labels == LABEL_NOT_SKIN) | (labels == LABEL_SKIN_ONLY))
    return target, known


# -- the training set ----------------------------------------------------------------------------------
@dataclass
class SkinSetSpec:
    """What goes into the skin training set."""

    people_dir: str = "../shared/data/people"
    clothes_dir: str = "../shared/data/clothes"
    real_dir: str = "../shared/data/real-train"
    designs_dir: str = "../shared/data/designs"
    size: int = 256
    per_clothes: int = 2  # synthetic samples per clothes/ photo
    per_people: int = 1
    per_real: int = 2
    # Whole-photo views per labelled or boxed photo, at the scale the remover sees (``whole_view``): the
    # synthetic samples are crops at 2-5x that scale, and a net trained only on them called whole plaid
    # jumpsuits and khaki trousers skin at 320 px (experiment 21).
    per_whole: int = 0
    seed: int = 0
    p_recolour: float = 0.0  # share of samples whose clothing is recoloured skin-like (recolour_skin_like)


def _random_flip(rng: np.random.Generator, img: np.ndarray, lab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An (H, W, ...) image and its (H, W) labels mirrored left-right together with chance 1/2, as contiguous
    arrays."""
    if rng.random() < 0.5:
        img, lab = img[:, ::-1], lab[:, ::-1]
    return np.ascontiguousarray(img), np.ascontiguousarray(lab)


def _real_crop(rng: np.random.Generator, rgb: np.ndarray, boxes: list, size: int) -> tuple[np.ndarray, np.ndarray]:
    """A random square crop of a boxed real photo around one of its boxes, resized to ``size``."""
    x0, y0, side = square_around_box(rng, rgb.shape[:2], boxes, spread=8)
    labels = box_labels(rgb.shape[:2], boxes)
    img = cv2.resize(rgb[y0:y0 + side, x0:x0 + side], (size, size), interpolation=cv2.INTER_AREA)
    lab = cv2.resize(labels[y0:y0 + side, x0:x0 + side], (size, size), interpolation=cv2.INTER_NEAREST)
    return _random_flip(rng, img, lab)


def whole_view(rng: np.random.Generator, rgb: np.ndarray, labels: np.ndarray, size: int,
               long_side: tuple[float, float] = WHOLE_LONG_SIDE) -> tuple[np.ndarray, np.ndarray]:
    """A (size, size, 3) uint8 view of a whole photo and its (size, size) label codes, at the scale the
    remover's detector sees it: the photo's long side resized to U(``long_side``) px, then a random
    ``size`` square window; where the photo is narrower than the window it is mirrored and the labels
    there are ``LABEL_UNKNOWN``. Flipped at random."""
    h, w = rgb.shape[:2]
    scale = rng.uniform(*long_side) / max(h, w)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    img = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA)
    lab = cv2.resize(labels, (nw, nh), interpolation=cv2.INTER_NEAREST)
    pad_y, pad_x = max(0, size - nh), max(0, size - nw)
    if pad_y or pad_x:
        top, left = int(rng.integers(pad_y + 1)), int(rng.integers(pad_x + 1))
        border = (top, pad_y - top, left, pad_x - left)
        img = cv2.copyMakeBorder(img, *border, cv2.BORDER_REFLECT_101)
        lab = cv2.copyMakeBorder(lab, *border, cv2.BORDER_CONSTANT, value=LABEL_UNKNOWN)
    y0 = int(rng.integers(img.shape[0] - size + 1))
    x0 = int(rng.integers(img.shape[1] - size + 1))
    img, lab = img[y0:y0 + size, x0:x0 + size], lab[y0:y0 + size, x0:x0 + size]
    return _random_flip(rng, img, lab)


def recolour_skin_like(rng: np.random.Generator, rgb: np.ndarray, labels: np.ndarray,
                        codes: tuple[int, ...] = (LABEL_CLOTHING,)) -> np.ndarray:
    """``rgb`` with the pixels of each label code in ``codes`` (clothing by default) recoloured to a random
    skin-like hue and saturation, one draw per code, their lightness and texture kept: colour alone must not
    decide skin (orange trousers, a red plaid coat, a beige stone floor)."""
    hsv, chosen = None, np.zeros(labels.shape, bool)
    for code in codes:
        region = labels == code
        if not region.any():
            continue
        if hsv is None:
            hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
        hsv[..., 0][region] = int(rng.integers(3, 20))  # OpenCV hue 0..180: reds to oranges, where skin is
        sat = hsv[..., 1][region].astype(np.float32)
        hsv[..., 1][region] = np.clip(sat * rng.uniform(0.4, 1.0) + rng.uniform(30, 90), 0, 255).astype(np.uint8)
        chosen |= region
    if hsv is None:
        return rgb
    out = rgb.copy()  # the HSV round trip is lossy: only the recoloured pixels are written back
    out[chosen] = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[chosen]
    return out


def _surface_colours(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 3) uint8 RGB colours of stone, tile and wood: mostly skin-like beiges, browns and terracottas, some
    greys."""
    hsv = np.stack([rng.uniform(4, 26, n), rng.uniform(25, 170, n), rng.uniform(60, 235, n)], 1)
    grey = rng.random(n) < 0.2
    hsv[grey, 1] = rng.uniform(0, 25, int(grey.sum()))
    return cv2.cvtColor(hsv.astype(np.uint8)[None], cv2.COLOR_HSV2RGB)[0]


def floor_texture(rng: np.random.Generator, size: int) -> np.ndarray:
    """A (size, size, 3) uint8 skin-toned hard surface: a stone mosaic (Voronoi cells of random colours) or
    square tiles, with grout lines, shading and grain. Floors and walls like these stand beside tattooed
    skin in studio photos, and the labelled photos hardly show any (experiment 48)."""
    if rng.random() < 0.6:  # mosaic: each pixel takes the colour of its nearest seed
        n = int(rng.integers(12, 120))
        seeds = rng.uniform(0, size, (n, 2)).astype(np.float32)
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
        d = (yy[..., None] - seeds[:, 0]) ** 2 + (xx[..., None] - seeds[:, 1]) ** 2
        part = np.partition(d, 1, axis=-1)
        cell = d.argmin(-1)
        grout = np.sqrt(part[..., 1]) - np.sqrt(part[..., 0]) < rng.uniform(1.0, 4.0)
    else:  # tiles on a square grid
        side = int(rng.integers(size // 10, size // 2))
        yy, xx = np.mgrid[0:size, 0:size]
        rows, cols = yy // side, xx // side
        cell = rows * (size // side + 1) + cols
        width = int(rng.integers(1, 4))
        grout = (yy % side < width) | (xx % side < width)
        n = int(cell.max()) + 1
    img = _surface_colours(rng, n)[cell].astype(np.float32)
    img[grout] = _surface_colours(rng, 1)[0] * rng.uniform(0.3, 1.3)
    img *= 1 + rng.uniform(-0.25, 0.25) * np.linspace(-1, 1, size, dtype=np.float32)[:, None, None]  # light falloff
    img += rng.normal(0, rng.uniform(2, 10), img.shape).astype(np.float32)
    return np.clip(cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 1.2)), 0, 255).astype(np.uint8)


def with_floor(rng: np.random.Generator, rgb: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``rgb`` (S, S, 3) uint8 with its background (and people/'s "not skin") replaced by a
    :func:`floor_texture`; the labels stay as they are: a surface is not skin."""
    where = (labels == LABEL_BACKGROUND) | (labels == LABEL_NOT_SKIN)
    if not where.any():
        return rgb
    out = rgb.copy()
    out[where] = floor_texture(rng, rgb.shape[0])[where]
    return out


def build_set(spec: SkinSetSpec, out: str | Path, log=print) -> Path:
    """Write ``out/skin.npz``: images (N, S, S, 3) uint8 (synthetic tattoos on the labelled photos, and
    real boxed photos) and labels (N, S, S) uint8 codes. Train splits only."""
    from skindeep.synth.config import SynthConfig
    from skindeep.synth.engine import Synthesizer
    from skindeep.synth.photos import split_photos
    from skindeep.synth.svg import list_designs

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    people_train, _ = split_photos(spec.people_dir)
    people_train = [p for p in people_train if p.with_name(p.stem + ".skin.png").is_file()]
    clothes_train, _ = split_clothes(spec.clothes_dir)
    real_train, _ = split_real_train(spec.real_dir)
    designs = list_designs(spec.designs_dir)
    # Held-out designs are irrelevant here (no ink metric), so all designs are drawn.
    cfg = SynthConfig.preset("real-v7", size=spec.size, p_clean=0.3, zoom=(1.0, 2.5))
    images, labels = [], []
    jobs = [(p, spec.per_clothes) for p in clothes_train] + [(p, spec.per_people) for p in people_train]
    synth = Synthesizer(spec.people_dir, spec.designs_dir, cfg, photos=[p for p, _ in jobs], designs=designs)
    start = time.time()
    rng = np.random.default_rng(spec.seed)
    for i, (photo, count) in enumerate(jobs):
        synth.photos, synth.photo_probs = [photo], np.ones(1)  # this photo, at a random crop
        full = photo_labels(photo)
        for k in range(count):
            sample = synth.sample(spec.seed * 1_000_003 + i * 17 + k)
            lab = crop_labels(full, sample.params, spec.size)
            image = sample.tattooed
            if spec.p_recolour > 0 and rng.random() < spec.p_recolour:
                image = recolour_skin_like(rng, image, lab)
            images.append(image)
            labels.append(lab)
        if i % 200 == 0:
            log(f"skin set: {i}/{len(jobs)} labelled photos, {time.time() - start:.0f} s")
    for photo in real_train:
        boxes = json_boxes(photo)
        if not boxes:
            continue
        rgb = cv2.cvtColor(cv2.imread(str(photo)), cv2.COLOR_BGR2RGB)
        for _ in range(spec.per_real):
            img, lab = _real_crop(rng, rgb, boxes, spec.size)
            images.append(img)
            labels.append(lab)
    whole = [p for p, _ in jobs] + [p for p in real_train if json_boxes(p)] if spec.per_whole else []
    for photo in whole:
        rgb = cv2.cvtColor(cv2.imread(str(photo)), cv2.COLOR_BGR2RGB)
        full = photo_labels(photo)
        if full is None:  # a boxed real photo: the core of each box is (tattooed) skin
            full = box_labels(rgb.shape[:2], json_boxes(photo))
        elif full.shape != rgb.shape[:2]:
            full = cv2.resize(full, rgb.shape[1::-1], interpolation=cv2.INTER_NEAREST)
        for _ in range(spec.per_whole):
            img, lab = whole_view(rng, rgb, full, spec.size)
            images.append(img)
            labels.append(lab)
    path = out / "skin.npz"
    np.savez(path, images=np.stack(images), labels=np.stack(labels))
    log(f"skin set: {len(images)} samples -> {path} ({time.time() - start:.0f} s)")
    return path


# -- features and training ---------------------------------------------------------------------------------
def soften(images: np.ndarray) -> np.ndarray:
    """What the detector sees: (N, H, W, 3) uint8 blurred by ``INPUT_BLUR``."""
    return np.stack([cv2.GaussianBlur(im, (0, 0), INPUT_BLUR) for im in images])


def encoder_features(model, images: np.ndarray, batch: int = 16) -> list[np.ndarray]:
    """The frozen encoder's /4 .. /32 maps of (N, H, W, 3) uint8 images, float16 (N, C, h, w) each."""
    import torch

    feats: list[list[np.ndarray]] = [[], [], [], []]
    model.eval()
    with torch.no_grad():
        for i in range(0, len(images), batch):
            x = torch.from_numpy(soften(images[i:i + batch])).permute(0, 3, 1, 2).float() / 255.0
            for j, f in enumerate(model.encoder(x)[1:]):
                feats[j].append(f.half().numpy())
    return [np.concatenate(f) for f in feats]


def cached_features(model, images: np.ndarray, path: Path, log=print) -> list[np.ndarray]:
    """``encoder_features`` of ``images``, kept in ``path`` (they depend on the frozen network only, and
    take a quarter of an hour on a busy 2-core CPU)."""
    if path.is_file():
        with np.load(path) as z:
            if len(z["f0"]) == len(images):
                return [z[f"f{i}"] for i in range(4)]
    log(f"skin head: computing the encoder features of {len(images)} samples -> {path}")
    feats = encoder_features(model, images)
    np.savez(path, **{f"f{i}": f for i, f in enumerate(feats)})
    return feats


def skin_loss(logits, target, known, hair_weight: float = 1.0):
    """Masked BCE over the known targets + soft Dice on skin (the class the gate uses).

    ``hair_weight`` multiplies the skin channel's BCE on hair pixels: dark hair looks like black ink,
    so hair taken for skin is where the gate lets the worst false alarms through."""
    import torch
    import torch.nn.functional as F

    bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    if hair_weight != 1.0:
        bce = torch.cat([bce[:, :1] * (1 + (hair_weight - 1) * target[:, 1:2]), bce[:, 1:]], dim=1)
    bce = (bce * known).sum() / known.sum().clamp(min=1.0)
    p = torch.sigmoid(logits[:, 0]) * known[:, 0]
    t = target[:, 0] * known[:, 0]
    dice = 1 - (2 * (p * t).sum() + 1) / (p.sum() + t.sum() + 1)
    return bce + 0.5 * dice


def train_head(init: str | Path, cache: str | Path, out: str | Path, steps: int = 1500, batch: int = 16,
               lr: float = 2e-3, log=print) -> Path:
    """Train the skin head on the frozen network of checkpoint ``init``; writes ``out/skin.pt`` (the whole
    network's weights with the head, ready for ``skindeep export``) and ``out/skin_train.csv``."""
    import torch
    import torch.nn.functional as F

    from skindeep.model.checkpoint import load_checkpoint, save_checkpoint
    from skindeep.model.config import config_from_dict
    from skindeep.model.net import build_model

    torch.manual_seed(0)
    state = load_checkpoint(init)
    values = dict(state["config"])
    values["model"] = {**values.get("model", {}), "skin_head": True}
    cfg = config_from_dict(values, str(init))
    model = build_model(cfg.model, pretrained=False)
    missing, unexpected = model.load_state_dict({k: v.float() for k, v in state["model"].items()}, strict=False)
    if unexpected or any(not k.startswith("skin_head.") for k in missing):
        raise ValueError(f"{init}: weights do not fit the network ({unexpected[:3]} {missing[:3]})")
    data = np.load(Path(cache) / "skin.npz")
    labels = data["labels"]
    t0 = time.time()
    feats = cached_features(model, data["images"], Path(cache) / f"features-{Path(init).stem}.npz", log)
    log(f"features of {len(labels)} samples in {time.time() - t0:.0f} s")
    head = model.skin_head.train()
    opt = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    rng = np.random.default_rng(0)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = ["step,loss,seconds"]
    running = 0.0
    for step in range(1, steps + 1):
        idx = np.sort(rng.choice(len(labels), batch, replace=False))
        fs = [torch.from_numpy(f[idx]).float() for f in feats]
        logits = head(*fs)
        lab = labels[idx]
        target, known = (torch.from_numpy(a) for a in targets(lab))
        logits = F.interpolate(logits, size=lab.shape[-2:], mode="bilinear", align_corners=False)
        loss = skin_loss(logits, target, known)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        running = 0.9 * running + 0.1 * loss.item() if step > 1 else loss.item()
        if step % 50 == 0 or step == steps:
            rows.append(f"{step},{running:.4f},{time.time() - t0:.0f}")
            log(f"step {step}: loss {running:.4f} ({time.time() - t0:.0f} s)")
            (out / "skin_train.csv").write_text("\n".join(rows) + "\n")
    weights = {k: v.detach().half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    keep = {k: state[k] for k in ("step", "stage", "best", "metrics", "seconds") if k in state}
    path = out / "skin.pt"
    save_checkpoint(path, {"model": weights, "config": cfg.to_dict(),
                           **keep, "skin_from": str(init), "skin_steps": steps})
    log(f"wrote {path}")
    return path


# -- the dedicated skin network (SkinNet) --------------------------------------------------------------------
@dataclass
class SkinNetTrainSpec:
    """How ``train_net`` trains :class:`skindeep.model.net.SkinNet` on ``cache/skin/skin.npz``."""

    steps: int = 2400
    batch: int = 12
    size: int = 224  # crops of the 256 px samples
    lr: float = 1.5e-3  # the head; the pretrained encoder gets lr * encoder_lr_scale
    encoder_lr_scale: float = 0.3
    p_recolour: float = 0.35  # clothing recoloured skin-like (recolour_skin_like), on the fly
    # Background (and people/'s "not skin") recoloured skin-like, on the fly: floors, walls and cloth behind
    # people that the labelled photos rarely show in skin colours (experiment 48). 0 = skinnet3/4's recipe.
    p_recolour_background: float = 0.0
    p_floor: float = 0.0  # background replaced by a skin-toned floor or wall texture (with_floor), on the fly
    hair_weight: float = 3.0  # skin_loss: hair taken for skin costs this much more (1 = session 7's net)
    save_every: int = 100
    seed: int = 0


def augment(rng: np.random.Generator, image: np.ndarray, labels: np.ndarray, spec: SkinNetTrainSpec
            ) -> tuple[np.ndarray, np.ndarray]:
    """One training view of a (S, S, 3) uint8 sample and its (S, S) label codes: a random zoomed crop,
    a flip, skin-toned clothing (and, when ``spec`` asks, a skin-toned background or a floor laid over it),
    exposure / contrast / white-balance jitter, then what the detector sees (``soften``). Returns
    (size, size, 3) float32 0..1 and (size, size) uint8."""
    s = image.shape[0]
    side = int(s * rng.uniform(0.55, 1.0))
    y0, x0 = rng.integers(0, s - side + 1, size=2)
    img = cv2.resize(image[y0:y0 + side, x0:x0 + side], (spec.size, spec.size), interpolation=cv2.INTER_AREA)
    lab = cv2.resize(labels[y0:y0 + side, x0:x0 + side], (spec.size, spec.size), interpolation=cv2.INTER_NEAREST)
    img, lab = _random_flip(rng, img, lab)
    codes = (LABEL_CLOTHING,) if rng.random() < spec.p_recolour else ()
    if spec.p_recolour_background > 0 and rng.random() < spec.p_recolour_background:  # skinnet4's draws kept
        codes += (LABEL_BACKGROUND, LABEL_NOT_SKIN)
    img = recolour_skin_like(rng, img, lab, codes)
    if spec.p_floor > 0 and rng.random() < spec.p_floor:  # drawn only when asked: skinnet4's draws kept
        img = with_floor(rng, img, lab)
    img = cv2.GaussianBlur(img, (0, 0), INPUT_BLUR).astype(np.float32) / 255.0
    gains = rng.uniform(0.93, 1.07, size=3).astype(np.float32) * rng.uniform(0.75, 1.25)
    mean = img.mean()
    img = (img - mean) * rng.uniform(0.8, 1.2) + mean
    img = np.clip(img * gains, 0.0, 1.0) ** rng.uniform(0.85, 1.15)
    return img.astype(np.float32), lab


def train_net(cache: str | Path, out: str | Path, spec: SkinNetTrainSpec | None = None, resume: bool = False,
              log=print) -> Path:
    """Train a :class:`skindeep.model.net.SkinNet` from ImageNet weights; ``out/last.pt`` is written every
    ``save_every`` steps (``resume`` carries on from it) and ``out/skinnet.pt`` at the end."""
    import torch
    import torch.nn.functional as F

    from skindeep.model.checkpoint import save_checkpoint
    from skindeep.model.net import SkinNet

    spec = spec or SkinNetTrainSpec()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(spec.seed)
    net = SkinNet(pretrained=True).train()
    enc = list(net.encoder.parameters())
    head = list(net.head.parameters())
    opt = torch.optim.AdamW([{"params": enc, "lr": spec.lr * spec.encoder_lr_scale},
                             {"params": head, "lr": spec.lr}], weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=[spec.lr * spec.encoder_lr_scale, spec.lr], total_steps=spec.steps, pct_start=0.08)
    start_step, rows = 0, ["step,loss,seconds"]
    rng = np.random.default_rng(spec.seed)
    last = out / "last.pt"
    if resume and last.is_file():
        state = torch.load(last, map_location="cpu", weights_only=False)
        net.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        start_step, rows = state["step"], state["rows"]
        rng.bit_generator.state = state["rng"]
        log(f"resumed {last} at step {start_step}")
    data = np.load(Path(cache) / "skin.npz")
    images, labels = data["images"], data["labels"]
    t0 = time.time() - (float(rows[-1].split(",")[-1]) if len(rows) > 1 else 0.0)
    running = None
    for step in range(start_step + 1, spec.steps + 1):
        idx = rng.choice(len(labels), spec.batch, replace=False)
        views = [augment(rng, images[i], labels[i], spec) for i in idx]
        x = torch.from_numpy(np.stack([v[0] for v in views])).permute(0, 3, 1, 2)
        lab = np.stack([v[1] for v in views])
        target, known = (torch.from_numpy(a) for a in targets(lab))
        logits = F.interpolate(net(x), size=lab.shape[-2:], mode="bilinear", align_corners=False)
        loss = skin_loss(logits, target, known, spec.hair_weight)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        running = loss.item() if running is None else 0.95 * running + 0.05 * loss.item()
        if step % 25 == 0 or step == spec.steps:
            rows.append(f"{step},{running:.4f},{time.time() - t0:.0f}")
            (out / "train.csv").write_text("\n".join(rows) + "\n")
        if step % spec.save_every == 0 or step == spec.steps:
            log(f"step {step}: loss {running:.4f} ({time.time() - t0:.0f} s)")
            save_checkpoint(last, {"model": net.state_dict(), "optimizer": opt.state_dict(),
                                   "scheduler": sched.state_dict(), "step": step, "rows": rows,
                                   "rng": rng.bit_generator.state, "config": {}, "spec": vars(spec)})
    path = out / "skinnet.pt"
    weights = {k: v.detach().half() if v.is_floating_point() else v for k, v in net.state_dict().items()}
    save_checkpoint(path, {"model": weights, "config": {}, "spec": vars(spec), "step": spec.steps})
    log(f"wrote {path}")
    return path


def graft(model_ckpt: str | Path, skin_ckpt: str | Path, out: str | Path) -> Path:
    """Put the skin head of ``skin_ckpt`` into the network of ``model_ckpt`` (weights-only, float16).

    Only valid when both have the same encoder (the head reads nothing else): a network fine-tuned with
    ``frozen_encoder_levels = 5`` from the one the head was trained on. Raises ValueError otherwise.
    """
    import torch

    from skindeep.model.checkpoint import load_checkpoint, save_checkpoint

    base, head = load_checkpoint(model_ckpt), load_checkpoint(skin_ckpt)
    if "spec" in head:  # a SkinNet (train_net): its own encoder, fits any removal network
        return _graft_net(base, head, model_ckpt, skin_ckpt, out)
    enc = [k for k in head["model"] if k.startswith("encoder.")]
    changed = [k for k in enc if not torch.equal(base["model"][k].half(), head["model"][k].half())]
    if changed:
        raise ValueError(f"{model_ckpt} and {skin_ckpt} have different encoders ({len(changed)} tensors, "
                         f"e.g. {changed[0]}): retrain the skin head on {model_ckpt}")
    weights = {k: (v.half() if v.is_floating_point() else v) for k, v in base["model"].items()}
    weights.update({k: v for k, v in head["model"].items() if k.startswith("skin_head.")})
    config = dict(base["config"])
    config["model"] = {**config["model"], "skin_head": True}
    keep = {k: base[k] for k in ("step", "stage", "best", "metrics", "seconds") if k in base}
    save_checkpoint(out, {"model": weights, "config": config, **keep, "skin_from": str(skin_ckpt),
                          "slim_from": str(model_ckpt)})
    return Path(out)


def _graft_net(base: dict, net: dict, model_ckpt, skin_ckpt, out) -> Path:
    from skindeep.model.checkpoint import save_checkpoint

    weights = {k: (v.half() if v.is_floating_point() else v) for k, v in base["model"].items()
               if not k.startswith(("skin_head.", "skin_net."))}
    weights.update({f"skin_net.{k}": v for k, v in net["model"].items()})
    config = dict(base["config"])
    config["model"] = {**config["model"], "skin_head": False, "skin_net": True}
    keep = {k: base[k] for k in ("step", "stage", "best", "metrics", "seconds") if k in base}
    save_checkpoint(out, {"model": weights, "config": config, **keep, "skin_from": str(skin_ckpt),
                          "slim_from": str(model_ckpt)})
    return Path(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m skindeep.model.skin", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="write the skin training set (cache/skin/skin.npz)")
    b.add_argument("--out", default="cache/skin")
    b.add_argument("--data", default="../shared/data", help="folder holding people/, clothes/, real-train/, designs/")
    b.add_argument("--size", type=int, default=256)
    b.add_argument("--recolour", type=float, default=0.0, help="share of samples with skin-toned clothing")
    b.add_argument("--whole", type=int, default=0, help="whole-photo views per photo, at the detector's scale")
    t = sub.add_parser("train", help="train the skin head on a frozen removal network")
    t.add_argument("--init", required=True, help="checkpoint of the removal network")
    t.add_argument("--cache", default="cache/skin")
    t.add_argument("--out", default="runs/skin")
    t.add_argument("--steps", type=int, default=1500)
    n = sub.add_parser("train-net", help="train the dedicated skin network (its own encoder)")
    n.add_argument("--cache", default="cache/skin")
    n.add_argument("--out", default="runs/skinnet")
    n.add_argument("--steps", type=int, default=SkinNetTrainSpec.steps)
    n.add_argument("--batch", type=int, default=SkinNetTrainSpec.batch)
    n.add_argument("--hair-weight", type=float, default=SkinNetTrainSpec.hair_weight)
    n.add_argument("--recolour-background", type=float, default=SkinNetTrainSpec.p_recolour_background,
                   help="share of views whose background is recoloured skin-like")
    n.add_argument("--floor", type=float, default=SkinNetTrainSpec.p_floor,
                   help="share of views whose background is replaced by a floor or wall texture")
    n.add_argument("--resume", action="store_true")
    g = sub.add_parser("graft", help="put a trained skin head (same encoder) or skin network into a network")
    g.add_argument("model")
    g.add_argument("skin")
    g.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    if args.cmd == "train-net":
        spec = SkinNetTrainSpec(steps=args.steps, batch=args.batch, hair_weight=args.hair_weight,
                                p_recolour_background=args.recolour_background, p_floor=args.floor)
        train_net(args.cache, args.out, spec, resume=args.resume)
    elif args.cmd == "graft":
        print(graft(args.model, args.skin, args.out))
    elif args.cmd == "build":
        d = Path(args.data)
        spec = SkinSetSpec(people_dir=str(d / "people"), clothes_dir=str(d / "clothes"),
                           real_dir=str(d / "real-train"), designs_dir=str(d / "designs"), size=args.size,
                           p_recolour=args.recolour, per_whole=args.whole)
        build_set(spec, args.out)
    else:
        train_head(args.init, args.cache, args.out, steps=args.steps)


if __name__ == "__main__":
    main()
