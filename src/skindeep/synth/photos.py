"""People photos: listing, the project split, loading a square crop with its skin mask."""

from __future__ import annotations

import zlib
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from skindeep.colour import luminance
from skindeep.errors import InputError
from skindeep.synth.skin import SkinModel, drop_dark_features

PHOTO_EXTS = (".jpg", ".jpeg", ".png", ".webp", ".bmp")
MASK_SUFFIXES = (".skin.png", ".skinhair.png", ".parse.png")  # .parse.png: clothes/ label maps
MAX_UPSCALE = 2.0
# Tattoos are mostly on arms, legs, torso and hands: face-only photo sets are drawn 0.3x as often.
FACE_GROUPS = ("frll", "frlca", "sfa", "ecu", "pratheepan", "skimage")
GROUP_FACTOR = {g: 0.3 for g in FACE_GROUPS}


def photo_group(path: Path) -> str:
    """The source prefix of a people photo (``abdomen_0001.jpg`` -> ``abdomen``)."""
    return path.stem.split("_")[0]


def group_weights(photos: list[Path]) -> np.ndarray:
    """Sampling probabilities that damp big groups (weight 1/sqrt(group size), x0.3 for face-only
    sets): the abdomen set alone is 28 % of the photos, real tattoos are mostly on arms, legs, backs."""
    groups = [photo_group(p) for p in photos]
    counts = {g: groups.count(g) for g in set(groups)}
    w = np.array([GROUP_FACTOR.get(g, 1.0) / np.sqrt(counts[g]) for g in groups])
    return w / w.sum()


def list_photos(people_dir: str | Path) -> list[Path]:
    """Sorted photo paths in ``people_dir`` (masks excluded). Raises InputError if missing or empty."""
    folder = Path(people_dir)
    if not folder.is_dir():
        raise InputError(f"{folder}: people folder does not exist or is not a folder")
    photos = sorted(
        p
        for p in folder.iterdir()
        if p.suffix.lower() in PHOTO_EXTS and not any(p.name.endswith(s) for s in MASK_SUFFIXES)
        and not p.name.endswith(".mask.png")
    )
    if not photos:
        raise InputError(f"{folder}: people folder has no photos (.jpg/.png/.webp)")
    return photos


def _split(items: list[Path], val_fraction: float, seed: int) -> tuple[list[Path], list[Path]]:
    order = np.random.default_rng(seed).permutation(len(items))
    n_val = int(round(len(items) * val_fraction))
    val = sorted(items[i] for i in order[:n_val])
    train = sorted(items[i] for i in order[n_val:])
    return train, val


def split_photos(people_dir: str | Path, val_fraction: float = 0.1, seed: int = 0) -> tuple[list[Path], list[Path]]:
    """THE project split of people photos (seed 0, 10 %): (train, val) lists of photo paths."""
    return _split(list_photos(people_dir), val_fraction, seed)


def _held_out(key: str, fraction: float) -> bool:
    """Deterministic, order-free hold-out choice by a stable hash of ``key`` (adding photos to a folder
    never moves the others across the split)."""
    return (zlib.crc32(key.encode()) % 1000) < fraction * 1000


def split_clothes(clothes_dir: str | Path, fraction: float = 0.2) -> tuple[list[Path], list[Path]]:
    """THE split of ``clothes/`` (20 % held out by name hash): (train, hold-out) photo paths. The hold-out
    is for the skin head's figures and clean-photo false alarms; only the train part may be trained on."""
    photos = sorted(Path(clothes_dir).glob("*.jpg"))
    return ([p for p in photos if not _held_out(p.stem, fraction)],
            [p for p in photos if _held_out(p.stem, fraction)])


def real_train_subject(path: Path) -> str:
    """Source and subject of a real-train photo: ``bivtatt_<subject>`` (one person's photos stay together),
    else the photo itself (Instagram and artists' photos carry no subject)."""
    return "_".join(path.stem.split("_")[:2])


def split_real_train(real_dir: str | Path, fraction: float = 0.2) -> tuple[list[Path], list[Path]]:
    """THE split of ``real-train/`` by source and subject (20 % held out): (train, hold-out) photo paths.
    The hold-out confirms real-photo figures chosen on real-dev; only the train part may be trained on."""
    photos = sorted(Path(real_dir).glob("*.jpg"))
    held = [p for p in photos if _held_out(real_train_subject(p), fraction)]
    return [p for p in photos if not _held_out(real_train_subject(p), fraction)], held


def json_boxes(photo: str | Path) -> list[list[int]]:
    """The tattoo boxes [x0, y0, x1, y1] of a ``real-train``-format photo (``NAME.json`` next to it);
    [] when none."""
    import json

    meta = Path(photo).with_suffix(".json")
    if not meta.is_file():
        return []
    return [list(map(int, b)) for b in json.loads(meta.read_text()).get("boxes") or []]


def box_core(box: list[int], core: float) -> tuple[slice, slice]:
    """(rows, cols) slices of the central ``core`` share of each side of ``box`` [x0, y0, x1, y1]."""
    x0, y0, x1, y1 = box
    mx, my = (x1 - x0) * (1 - core) / 2, (y1 - y0) * (1 - core) / 2
    return slice(int(y0 + my), int(np.ceil(y1 - my))), slice(int(x0 + mx), int(np.ceil(x1 - mx)))


def box_maps(shape: tuple[int, int], boxes: list[list[int]], core: float, margin: float) -> np.ndarray:
    """(3, h, w) uint8 maps of ``shape``: 1 inside any box, 1 on the central ``core`` share of each box's
    side (``box_core``), 1 inside any box grown by ``margin`` of its side."""
    maps = np.zeros((3, *shape), np.uint8)
    for box in boxes:
        x0, y0, x1, y1 = box
        maps[0, y0:y1, x0:x1] = 1
        maps[1][box_core(box, core)] = 1
        gx, gy = int((x1 - x0) * margin), int((y1 - y0) * margin)
        maps[2, max(0, y0 - gy):y1 + gy, max(0, x0 - gx):x1 + gx] = 1
    return maps


def square_around_box(rng: np.random.Generator, shape: tuple[int, int], boxes: list[list[int]],
                      spread: float) -> tuple[int, int, int]:
    """A random square ``(x0, y0, side)`` inside an (h, w) photo: side = short side / U(1, 2), centred on
    one of ``boxes`` give or take a normal offset of ``side / spread``."""
    h, w = shape
    side = max(8, int(min(h, w) / rng.uniform(1.0, 2.0)))
    x0b, y0b, x1b, y1b = boxes[int(rng.integers(len(boxes)))]
    cx = (x0b + x1b) / 2 + rng.normal(0, side / spread)
    cy = (y0b + y1b) / 2 + rng.normal(0, side / spread)
    return int(np.clip(cx - side / 2, 0, w - side)), int(np.clip(cy - side / 2, 0, h - side)), side


def read_rgb(path: Path, min_side: int = 0) -> np.ndarray:
    """Decode a photo to (H, W, 3) uint8 RGB. For JPEGs, decodes at 1/2, 1/4 or 1/8 scale when the
    short side stays >= ``min_side`` (DCT scaling via Pillow's draft mode: several times faster).
    Raises InputError naming the path when the file cannot be read."""
    try:
        with Image.open(path) as im:
            if min_side and im.format == "JPEG":
                w, h = im.size
                f = max(1.0, min(w, h) / min_side)
                im.draft("RGB", (int(np.ceil(w / f)), int(np.ceil(h / f))))
            return np.asarray(im.convert("RGB"))
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise InputError(f"{path}: cannot read image ({exc.__class__.__name__}: {exc})") from exc


def read_mask(path: Path) -> np.ndarray | None:
    """(H, W) uint8 mask or None if absent/unreadable."""
    if not path.exists():
        return None
    m = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    return m


def _label_mask(photo: Path, shape: tuple[int, int]) -> tuple[np.ndarray | None, str]:
    """The photo's own label mask resized to ``shape`` (0/255) and its kind, or (None, 'detector')."""
    stem = photo.with_suffix("")
    for suffix, origin in ((".skin.png", "label"), (".skinhair.png", "label+detector")):
        m = read_mask(Path(str(stem) + suffix))
        if m is not None:
            if m.shape != shape:
                m = cv2.resize(m, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)
            return np.where(m > 127, 255, 0).astype(np.uint8), origin
    return None, "detector"


def load_crop(
    photo: Path, size: int, rng: np.random.Generator, zoom: tuple[float, float], tries: int = 4
) -> tuple[np.ndarray, np.ndarray, dict]:
    """A random square crop of ``photo`` resized to ``size`` px, and its skin mask.

    Returns rgb (size, size, 3) uint8, skin (size, size) uint8 0/255, params dict.
    The crop side is the photo's short side / zoom (zoom >= 1). Of ``tries`` candidate crops (centred
    near skin most of the time) the one with the most skin wins: most people photos are full-body
    street shots while real tattoo photos are close-ups. Only the crop is resized (speed);
    ``params['upscale']`` > 1 says the crop was enlarged (the ink is then softened to match)."""
    # read before drawing from rng: a failed read must consume no randomness (workers stay identical)
    rgb = read_rgb(photo, min_side=int(np.ceil(size * zoom[1])))
    h, w = rgb.shape[:2]
    label, origin = _label_mask(photo, (h, w))
    # everything about the whole photo is decided on a ~64 px thumbnail (cheap); the full-size
    # skin mask is only made for the crop
    step = max(1, min(h, w) // 64)
    thumb = rgb[::step, ::step]
    model = SkinModel.fit(thumb) if origin != "label" else None
    if label is not None:
        small = label[::step, ::step] > 127
        on = thumb[small]
        y_ref = float(np.median(luminance(on))) if len(on) else None
    else:
        small = (model.apply(thumb) > 127) if model is not None else np.zeros(thumb.shape[:2], bool)
    ys, xs = np.nonzero(small)
    best = None
    for _ in range(tries):
        z = float(rng.uniform(*zoom))
        # at most MAX_UPSCALE x enlargement: blurry enlarged skin next to crisp ink is a give-away
        side = max(8, min(h, w, max(int(round(min(h, w) / z)), int(np.ceil(size / MAX_UPSCALE)))))
        if len(ys) and rng.random() < 0.85:
            i = int(rng.integers(len(ys)))
            cy = ys[i] * step + rng.integers(-side // 4, side // 4 + 1)
            cx = xs[i] * step + rng.integers(-side // 4, side // 4 + 1)
            y0, x0 = int(np.clip(cy - side // 2, 0, h - side)), int(np.clip(cx - side // 2, 0, w - side))
        else:
            y0, x0 = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        frac = float(small[y0 // step : (y0 + side) // step, x0 // step : (x0 + side) // step].mean()) if small.size else 0.0
        if best is None or frac > best[0]:
            best = (frac, z, side, y0, x0)
    frac, z, side, y0, x0 = best
    interp = cv2.INTER_AREA if side >= size else cv2.INTER_CUBIC
    rgb = cv2.resize(rgb[y0 : y0 + side, x0 : x0 + side], (size, size), interpolation=interp)
    if label is not None:
        skin = cv2.resize(label[y0 : y0 + side, x0 : x0 + side], (size, size), interpolation=cv2.INTER_NEAREST)
        if origin == "label+detector":  # swimwear masks include hair, eyes, lips: keep the skin colour
            skin = skin & (model.apply(rgb) if model is not None else 0)
        skin = drop_dark_features(rgb, skin, y_ref)
    else:
        skin = model.apply(rgb) if model is not None else np.zeros((size, size), np.uint8)
    flip = bool(rng.random() < 0.5)
    if flip:
        rgb, skin = rgb[:, ::-1], skin[:, ::-1]
    params = dict(photo=photo.name, decoded=[w, h], zoom=round(z, 4), crop=[x0, y0, side], flip=flip,
                  skin_mask=origin, upscale=round(size / side, 4))
    return np.ascontiguousarray(rgb), np.ascontiguousarray(skin), params
