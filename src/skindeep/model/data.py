"""Training data: pre-written sample folders and online synthesis, as torch Datasets.

A sample folder holds ``NAME.tattooed.png``, ``NAME.clean.png``, ``NAME.ink.png`` (+ ``NAME.json``), as
written by ``skindeep synth`` / :mod:`skindeep.model.cache`. Both datasets give dicts of float32 tensors:
``tattooed (3,S,S)``, ``clean (3,S,S)`` in 0..1 and ``ink (1,S,S)`` alpha in 0..1, after a random square
crop (side between S and the image's short side, so scale varies), a resize to S, and a random flip.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset, IterableDataset, get_worker_info

from skindeep.colour import luminance, to_lab
from skindeep.errors import InputError
from skindeep.synth.photos import box_maps, json_boxes, square_around_box

SUFFIXES = ("tattooed", "clean", "ink")


@dataclass
class Triple:
    """One training pair as numpy arrays: ``tattooed``/``clean`` (H,W,3) uint8 RGB, ``ink`` (H,W) uint8."""

    tattooed: np.ndarray
    clean: np.ndarray
    ink: np.ndarray


def list_samples(folder: str | Path) -> list[str]:
    """Sorted sample names (``NAME`` of ``NAME.tattooed.png``) in ``folder``; raises if there are none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: sample folder not found")
    names = sorted(p.name[: -len(".tattooed.png")] for p in folder.glob("*.tattooed.png"))
    # write_sample writes NAME.json last: where a folder has JSON files, a sample without one is still
    # being written (a cache writer may run next to the trainer).
    if any(folder.glob("*.json")):
        names = [n for n in names if (folder / f"{n}.json").exists()]
    if not names:
        raise InputError(f"{folder}: no NAME.tattooed.png samples in this folder")
    return names


def _read_png(path: Path, color: bool) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR if color else cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise InputError(f"{path}: missing or unreadable image")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB) if color else img


def read_triple(folder: str | Path, name: str) -> Triple:
    """Read one sample written by ``write_sample``; raises :class:`InputError` naming a bad file."""
    folder = Path(folder)
    t = _read_png(folder / f"{name}.tattooed.png", True)
    c = _read_png(folder / f"{name}.clean.png", True)
    k = _read_png(folder / f"{name}.ink.png", False)
    if not (t.shape == c.shape and t.shape[:2] == k.shape):
        raise InputError(f"{folder / name}: tattooed/clean/ink sizes differ ({t.shape}, {c.shape}, {k.shape})")
    return Triple(t, c, k)


def random_crop(triple: Triple, size: int, rng: np.random.Generator, flip: bool = True,
                max_zoom: float = 1.0) -> Triple:
    """Random square crop with side in [size / max_zoom, short side], resized to ``size``, random h-flip.

    ``max_zoom`` > 1 also takes crops smaller than ``size`` and enlarges them, so the network sees ink
    larger (in pixels) than in the samples, as in full-resolution photos. Images smaller than ``size``
    are first upscaled so the short side is ``size``.
    """
    h, w = triple.ink.shape
    if min(h, w) < size:
        f = size / min(h, w)
        nh, nw = max(size, round(h * f)), max(size, round(w * f))
        triple = Triple(*(cv2.resize(a, (nw, nh), interpolation=cv2.INTER_LINEAR) for a in _arrays(triple)))
        h, w = nh, nw
    smallest = size if max_zoom <= 1 else max(8, round(size / max_zoom))
    side = int(rng.integers(smallest, min(h, w) + 1))
    y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    mirror = flip and rng.random() < 0.5  # one decision for all three arrays
    out = []
    for a in _arrays(triple):
        a = a[y : y + side, x : x + side]
        if side != size:
            interp = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
            a = cv2.resize(a, (size, size), interpolation=interp)
        if mirror:
            a = a[:, ::-1]
        out.append(np.ascontiguousarray(a))
    return Triple(*out)


def random_grade(rng: np.random.Generator):
    """A random colour grade, as a function of an (H, W, 3) uint8 RGB image: white balance, exposure,
    saturation (down to near grey) and gamma, as real photos vary. Per pixel, so two images graded by the
    same function stay equal where they were equal."""
    gains = np.exp(rng.normal(0.0, 0.08, 3) + rng.normal(0.0, 0.12)).astype(np.float32)
    saturation = float(rng.uniform(0.1, 1.4))
    gamma = float(np.exp(rng.normal(0.0, 0.18)))
    lut_in = np.arange(256, dtype=np.float32) / 255.0

    def grade(rgb: np.ndarray) -> np.ndarray:
        x = lut_in[rgb] * gains
        grey = luminance(x)
        x = grey[..., None] + saturation * (x - grey[..., None])
        x = np.clip(x, 0.0, 1.0) ** gamma
        return np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)

    return grade


def colour_grade(triple: Triple, rng: np.random.Generator) -> Triple:
    """The same ``random_grade`` on tattooed and clean (ink unchanged), so ``tattooed == clean`` where
    ``ink == 0`` still holds. The first model missed clear ink on desaturated and colour-cast real photos
    (docs/experiments.md, experiment 4)."""
    grade = random_grade(rng)
    return Triple(grade(triple.tattooed), grade(triple.clean), triple.ink)


def sharpen(triple: Triple, rng: np.random.Generator) -> Triple:
    """The same random unsharp mask on tattooed and clean: real close-ups (and phone pipelines) are far
    crisper than our samples, and a detector trained only on soft photos misses sharp ink
    (docs/experiments.md, experiment 6). The filter spreads the pair's difference by a pixel or two
    beyond the ink, so the ink alpha is raised to at least 1 there (as the synth does): ``tattooed ==
    clean`` where ``ink == 0`` still holds."""
    sigma = float(rng.uniform(0.6, 1.6))
    amount = float(rng.uniform(0.4, 1.6))

    def unsharp(rgb: np.ndarray) -> np.ndarray:
        x = rgb.astype(np.float32)
        return np.clip(np.rint(x + amount * (x - cv2.GaussianBlur(x, (0, 0), sigma))), 0, 255).astype(np.uint8)

    t, c = unsharp(triple.tattooed), unsharp(triple.clean)
    ink = triple.ink.copy()
    ink[(t != c).any(-1) & (ink == 0)] = 1
    return Triple(np.where((ink == 0)[..., None], c, t), c, ink)


def augment(triple: Triple, size: int, rng: np.random.Generator, max_zoom: float, p_grade: float,
            p_sharpen: float = 0.0) -> Triple:
    """Random crop (``random_crop``), then with chance ``p_grade`` a ``colour_grade`` and with chance
    ``p_sharpen`` a ``sharpen`` (each drawn only when its chance is > 0, so older configs keep their
    exact crops)."""
    out = random_crop(triple, size, rng, max_zoom=max_zoom)
    if p_grade > 0 and rng.random() < p_grade:
        out = colour_grade(out, rng)
    if p_sharpen > 0 and rng.random() < p_sharpen:
        out = sharpen(out, rng)
    return out


def _arrays(t: Triple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return t.tattooed, t.clean, t.ink


def to_tensors(t: Triple) -> dict[str, torch.Tensor]:
    """Triple (uint8) -> dict of float32 tensors in 0..1: tattooed/clean (3,H,W), ink (1,H,W)."""

    def img(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(a).permute(2, 0, 1).float().div_(255.0)

    return {
        "tattooed": img(t.tattooed),
        "clean": img(t.clean),
        "ink": torch.from_numpy(t.ink)[None].float().div_(255.0),
    }


class FolderDataset(Dataset):
    """Random crops of ``size`` px from a folder of samples. ``length`` virtual items per epoch (each picks
    a sample by index modulo the folder size); the crop randomness comes from ``seed`` and the index."""

    max_zoom: float = 1.0  # class defaults: objects pickled by an older version still work
    p_grade: float = 0.0
    p_sharpen: float = 0.0

    def __init__(self, folder: str | Path, size: int, seed: int = 0, length: int | None = None,
                 max_zoom: float = 1.0, p_grade: float = 0.0, p_sharpen: float = 0.0):
        self.folder = Path(folder)
        self.max_zoom = max_zoom
        self.p_grade = p_grade
        self.p_sharpen = p_sharpen
        self.names = list_samples(self.folder)
        self.size = size
        self.seed = seed
        self.length = length or len(self.names)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([self.seed, i])
        name = self.names[int(rng.integers(len(self.names)))] if self.length != len(self.names) else self.names[i]
        return to_tensors(augment(read_triple(self.folder, name), self.size, rng, self.max_zoom, self.p_grade,
                                  self.p_sharpen))


class SynthDataset(Dataset):
    """Online synthetic pairs on the project's *train* split: item ``i`` is ``Synthesizer.sample(seed+i)``,
    randomly cropped to ``size``. The synthesizer is built lazily in each DataLoader worker."""

    max_zoom: float = 1.0
    p_grade: float = 0.0
    p_sharpen: float = 0.0

    def __init__(self, people_dir: str | Path, designs_dir: str | Path, size: int, synth_size: int = 320,
                 seed: int = 0, length: int = 100_000, split: str = "train", max_zoom: float = 1.0,
                 p_grade: float = 0.0, p_sharpen: float = 0.0):
        self.people_dir, self.designs_dir = Path(people_dir), Path(designs_dir)
        self.max_zoom = max_zoom
        self.p_grade = p_grade
        self.p_sharpen = p_sharpen
        self.size, self.synth_size, self.seed, self.length, self.split = size, synth_size, seed, length, split
        self._synth = None

    def __len__(self) -> int:
        return self.length

    def synthesizer(self):
        if self._synth is None:
            self._synth = make_synthesizer(self.people_dir, self.designs_dir, self.synth_size, self.split)
        return self._synth

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        s = self.synthesizer().sample(self.seed + i)
        rng = np.random.default_rng([self.seed, i, 1])
        return to_tensors(augment(Triple(s.tattooed, s.clean, s.ink), self.size, rng, self.max_zoom, self.p_grade,
                                  self.p_sharpen))


class SynthStream(IterableDataset):
    """Endless online synthetic crops for a time-boxed run (``TrainConfig.time_budget``): the GPU takes
    samples faster than CPU workers can synthesise them, so each worker keeps a pool of its last
    ``pool`` samples and, for every new sample it synthesises, yields ``reuse`` random crops (crop,
    zoom, flip, colour grade, sharpen: ``augment``) of random pool members. Each synthesised sample
    draws its ``SynthConfig`` preset from ``presets`` (name -> weight), on the project's train split
    (``split="all"``: the folders hold only that split, as the device pack's do). ``realink``: the real ink
    layers' folder, for presets that draw them.

    Items are the dicts of :func:`to_tensors` but uint8 (0..255, a quarter of the bytes between
    processes and to the GPU; ``skindeep.model.train.train_step`` scales them) plus ``sample_id``
    (int64: worker id * 2**40 + the worker's sample count), so the trainer counts the distinct samples
    it trained on exactly.
    Deterministic in (seed, worker id).
    """

    def __init__(self, people_dir: str | Path, designs_dir: str | Path, size: int, synth_size: int,
                 presets: dict[str, float], seed: int = 0, reuse: int = 1, pool: int = 32,
                 max_zoom: float = 1.0, p_grade: float = 0.0, p_sharpen: float = 0.0, split: str = "train",
                 realink: str | Path = ""):
        self.split, self.realink = split, realink
        self.people_dir, self.designs_dir = Path(people_dir), Path(designs_dir)
        self.size, self.synth_size, self.seed = size, synth_size, seed
        self.presets = dict(sorted(presets.items()))
        self.reuse, self.pool = reuse, pool
        self.max_zoom, self.p_grade, self.p_sharpen = max_zoom, p_grade, p_sharpen

    def __iter__(self):
        info = get_worker_info()
        worker = info.id if info is not None else 0
        rng = np.random.default_rng([self.seed, worker, 7])
        names = list(self.presets)
        probs = np.array([self.presets[n] for n in names], np.float64)
        probs /= probs.sum()
        synths: dict[str, object] = {}
        pool: list[tuple[int, Triple]] = []
        made = 0
        while True:
            preset = names[int(rng.choice(len(names), p=probs))]
            if preset not in synths:
                synths[preset] = make_synthesizer(self.people_dir, self.designs_dir, self.synth_size, self.split,
                                                  preset, self.realink)
            s = synths[preset].sample(int(rng.integers(2**62)))
            item = (worker * 2**40 + made, Triple(s.tattooed, s.clean, s.ink))
            made += 1
            if len(pool) < self.pool:
                pool.append(item)
            else:
                pool[int(rng.integers(len(pool)))] = item
            for _ in range(self.reuse):
                sample_id, triple = pool[int(rng.integers(len(pool)))]
                t = augment(triple, self.size, rng, self.max_zoom, self.p_grade, self.p_sharpen)
                out = {"tattooed": torch.from_numpy(t.tattooed).permute(2, 0, 1), "clean":
                       torch.from_numpy(t.clean).permute(2, 0, 1), "ink": torch.from_numpy(t.ink)[None]}
                out["sample_id"] = torch.tensor(sample_id, dtype=torch.int64)
                yield out


def make_synthesizer(people_dir: str | Path, designs_dir: str | Path, size: int, split: str,
                     preset: str = "default", realink: str | Path = ""):
    """A ``skindeep.synth.Synthesizer`` restricted to the project's ``train`` or ``val`` split, with the
    ``SynthConfig.preset`` named ``preset`` (``realink``: its real ink layers' folder, if it draws them).
    ``split="all"``: every photo and design in the folders (the device pack's folders hold the train split
    only)."""
    from skindeep import synth

    if split not in ("train", "val", "all"):
        raise ValueError(f"split must be 'train', 'val' or 'all', got {split!r}")
    config = synth.SynthConfig.preset(preset, size=size, realink_dir=str(realink or ""))
    if split == "all":
        return synth.Synthesizer(people_dir, designs_dir, config)
    photos = synth.split_photos(people_dir)[0 if split == "train" else 1]
    designs = synth.split_designs(designs_dir)[0 if split == "train" else 1]
    return synth.Synthesizer(people_dir, designs_dir, config, photos=photos, designs=designs)


def load_val_set(folder: str | Path, limit: int | None = None) -> list[tuple[str, Triple]]:
    """The fixed validation set: the first ``limit`` samples of ``folder`` (sorted names), full size."""
    names = list_samples(folder)[: limit or None]
    return [(n, read_triple(folder, n)) for n in names]


class _RealPhotoCrops(Dataset):
    """Endless-style datasets of crops from real photos: ``length`` items, item ``i`` drawn from
    ``items`` (tuples whose first entry is the photo's path) by a generator seeded with (seed, i)."""

    items: list[tuple]
    seed: int
    length: int

    def __len__(self) -> int:
        return self.length

    def _draw(self, i: int) -> tuple[np.random.Generator, tuple, np.ndarray]:
        """(the item's generator, the drawn item, its photo as (H, W, 3) uint8 RGB)."""
        rng = np.random.default_rng((self.seed, i))
        item = self.items[int(rng.integers(len(self.items)))]
        return rng, item, _read_png(item[0], True)


class RealBoxDataset(_RealPhotoCrops):
    """Real tattooed photos with a box around each tattoo (``real-train/`` format: ``NAME.jpg`` +
    ``NAME.json`` with ``boxes`` [x0, y0, x1, y1]), as weak supervision for the ink head.

    Items: ``image (3,S,S)`` float32 0..1, softened as the remover softens what the detector sees;
    ``lab (3,S,S)`` float32 CIELAB of the image (L 0..100);
    ``box (1,S,S)`` 1 inside any box (loose: ink somewhere in it); ``core (1,S,S)`` 1 on the central
    ``core`` share of each box's side (every row and column there crosses ink); ``outside (1,S,S)`` 1 where
    no box, grown by ``margin`` of its side, reaches (no ink there). A random square crop around a box,
    side = short side / U(1, 2), resized to S, random flip.
    """

    def __init__(self, photos: list[Path], size: int, seed: int = 0, length: int = 1000, core: float = 0.8,
                 margin: float = 0.1, blur: float = 1.0):
        self.items = []
        for p in photos:
            boxes = json_boxes(p)
            if boxes:
                self.items.append((Path(p), boxes))
        if not self.items:
            raise InputError("no real photos with tattoo boxes to train on")
        self.size, self.seed, self.length = size, seed, length
        self.core, self.margin, self.blur = core, margin, blur

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        rng, (_, boxes), rgb = self._draw(i)
        maps = box_maps(rgb.shape[:2], boxes, self.core, self.margin)  # box, core, grown box
        img, crop = crop_real(rgb, maps, square_around_box(rng, rgb.shape[:2], boxes, spread=6), self.size,
                              self.blur, rng)
        out = real_image_tensors(img)
        for k, name in enumerate(("box", "core")):
            out[name] = torch.from_numpy(np.ascontiguousarray(crop[k:k + 1])).float()
        out["outside"] = 1.0 - torch.from_numpy(np.ascontiguousarray(crop[2:3])).float()
        return out


def crop_real(rgb: np.ndarray, maps: np.ndarray, square: tuple[int, int, int], size: int, blur: float,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A real photo's square ``(x0, y0, side)`` and its label maps, at ``size``: ((S, S, 3) uint8 image,
    softened by ``blur`` as the remover softens what the detector sees; (K, S, S) maps, nearest), flipped
    left-right at random (both alike). rgb (H, W, 3) uint8; maps (K, H, W) uint8."""
    x0, y0, side = square
    img = cv2.resize(rgb[y0:y0 + side, x0:x0 + side], (size, size), interpolation=cv2.INTER_AREA)
    if blur > 0:
        img = cv2.GaussianBlur(img, (0, 0), blur * size / 320)
    crop = maps[:, y0:y0 + side, x0:x0 + side].transpose(1, 2, 0)
    crop = cv2.resize(crop, (size, size), interpolation=cv2.INTER_NEAREST).reshape(size, size, -1)
    crop = crop.transpose(2, 0, 1)
    if rng.random() < 0.5:
        img, crop = img[:, ::-1], crop[:, :, ::-1]
    return np.ascontiguousarray(img), np.ascontiguousarray(crop)


def image_tensor(img: np.ndarray) -> torch.Tensor:
    """(3, S, S) float32 0..1 of an (S, S, 3) uint8 crop."""
    return torch.from_numpy(img.transpose(2, 0, 1).copy()).float() / 255.0


def real_image_tensors(img: np.ndarray) -> dict[str, torch.Tensor]:
    """``image`` (``image_tensor``) and ``lab (3,S,S)`` float32 CIELAB (L 0..100, for box_pairwise) of an
    (S, S, 3) uint8 crop."""
    lab = to_lab(img)
    return {"image": image_tensor(img), "lab": torch.from_numpy(lab.transpose(2, 0, 1).copy())}


class TeacherDataset(_RealPhotoCrops):
    """Clean photos with a teacher's ink probability (``skindeep.model.pseudo --teacher``: ``teacher.json``
    lists ``[photo path, map name]`` pairs, each map an (H, W) uint8 PNG of p * 255 in ``teacher_dir``), for
    distilling the teacher's clean-photo behaviour.

    Items: ``image (3,S,S)`` float32 0..1 softened as in ``RealBoxDataset``; ``teacher (1,S,S)`` float32 0..1.
    A random square crop anywhere in the photo (side = short side / U(1, 2)), resized to S, random flip.
    """

    def __init__(self, teacher_dir: str | Path, size: int, seed: int = 0, length: int = 1000, blur: float = 1.0):
        index = Path(teacher_dir) / "teacher.json"
        if not index.is_file():
            raise InputError(f"{index}: no teacher maps (python -m skindeep.model.pseudo --teacher)")
        pairs = json.loads(index.read_text())["photos"]
        self.items = [(Path(p), Path(teacher_dir) / name) for p, name in pairs]
        if not self.items:
            raise InputError(f"{index}: lists no photos")
        self.size, self.seed, self.length, self.blur = size, seed, length, blur

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        rng, (photo, map_path), rgb = self._draw(i)
        teacher = cv2.imread(str(map_path), cv2.IMREAD_GRAYSCALE)
        if teacher is None or teacher.shape != rgb.shape[:2]:
            raise InputError(f"{map_path}: teacher map missing or not the size of {photo}")
        whole = [[0, 0, rgb.shape[1], rgb.shape[0]]]
        img, crop = crop_real(rgb, teacher[None], square_around_box(rng, rgb.shape[:2], whole, spread=2),
                              self.size, self.blur, rng)
        return {"image": image_tensor(img), "teacher": torch.from_numpy(crop.astype(np.float32) / 255.0)}


class RealPseudoDataset(_RealPhotoCrops):
    """Real tattooed photos with a pseudo-label of their ink (``skindeep.model.pseudo``: ``NAME.png`` in
    ``label_dir``, 255 where the detector's confident ink grows), for self-training the ink head.

    Items: ``image (3,S,S)`` float32 0..1 softened as in ``RealBoxDataset``; ``ink (1,S,S)`` float32 1 on
    the labelled ink, 0 where there is no label (not "no ink"). A random square crop (side = short side /
    U(1, 2)) centred near a random labelled pixel, resized to S, random flip, and with chance ``grade`` a
    ``random_grade`` (the student's noise: the labels came from the ungraded photo). Photos without a
    label file are left out.
    """

    def __init__(self, photos: list[Path], label_dir: str | Path, size: int, seed: int = 0, length: int = 1000,
                 blur: float = 1.0, grade: float = 0.0):
        self.items = [(Path(p), Path(label_dir) / f"{Path(p).stem}.png") for p in photos]
        self.items = [(p, lab) for p, lab in self.items if lab.is_file()]
        if not self.items:
            raise InputError(f"{label_dir}: no pseudo-labels for these photos (python -m skindeep.model.pseudo)")
        self.size, self.seed, self.length, self.blur, self.grade = size, seed, length, blur, grade

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        rng, (_, label_path), rgb = self._draw(i)
        label = (cv2.imread(str(label_path), cv2.IMREAD_GRAYSCALE) > 127).astype(np.uint8)
        if label.shape != rgb.shape[:2]:
            raise InputError(f"{label_path}: pseudo-label is {label.shape[::-1]}, photo is {rgb.shape[1::-1]}")
        ys, xs = np.nonzero(label)
        k = int(rng.integers(len(ys))) if len(ys) else 0
        centre = [[int(xs[k]), int(ys[k]), int(xs[k]) + 1, int(ys[k]) + 1]] if len(ys) else \
            [[0, 0, rgb.shape[1], rgb.shape[0]]]
        img, crop = crop_real(rgb, label[None], square_around_box(rng, rgb.shape[:2], centre, spread=6),
                              self.size, self.blur, rng)
        if self.grade > 0 and rng.random() < self.grade:
            img = random_grade(rng)(img)
        return {"image": image_tensor(img), "ink": torch.from_numpy(crop.astype(np.float32))}
