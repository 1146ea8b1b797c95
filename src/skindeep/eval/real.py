"""Real photos: tattooed photos with boxes (real-dev format) and clean photos (false positives).

The real-dev figures re-implement ``../shared/tools/real_score.py`` with the same definitions, so the
numbers agree with it on the same photos (the test suite checks this on a synthetic folder):

- boxes are padded by 8 px; the tattoo region is ``NAME.mask.png`` > 127 where it exists, else the boxes;
- ``outside``: mean absolute change (grey levels) outside the padded boxes, where > 100 px remain;
- ``edge``: Sobel edge energy of the luminance inside the region, after / before;
- ``gap``: |luminance(skin ring) - luminance(region)|, after / before; the ring is the region dilated by a
  31x31 square, minus the region and the boxes (only where the ring has > 100 px);
- ``texture``: edge energy inside the region after, over that of the skin ring before;
- aggregates: mean of ``outside``, medians of the ratios.

Two figures are ours: ``box_changed`` (share of the unpadded box area changed by more than
:data:`VISIBLE_TOL` grey levels) and, on clean photos, the share of pixels changed at all and visibly.
One difference from real_score.py: ``-n`` takes photos evenly spaced over the sorted list (both sources),
where real_score.py takes the first N (all ``bivtatt_*`` for N <= 48).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from skindeep.errors import InputError
from skindeep.eval import images, metrics

BOX_PAD = 8  # px, as real_score.py
RING = 31  # px, the skin ring's dilation square, as real_score.py and ink_stats.py
VISIBLE_TOL = 8  # grey levels: a change below this is not visible on a photo


@dataclass
class RealPhoto:
    """One real-dev photo: ``rgb`` (H,W,3) uint8, ``boxes`` padded (H,W) bool, ``region`` (H,W) bool."""

    name: str
    rgb: np.ndarray
    boxes: np.ndarray
    raw_boxes: np.ndarray  # (H,W) bool, the boxes without padding
    region: np.ndarray
    has_mask: bool


def evenly(items: list, n: int | None) -> list:
    """``n`` items evenly spaced over ``items`` (all when ``n`` is None or large enough), order kept."""
    if n is None or n >= len(items):
        return list(items)
    if n <= 0:
        return []
    idx = np.unique(np.linspace(0, len(items) - 1, n).round().astype(int))
    return [items[i] for i in idx]


def list_real(folder: Path) -> list[Path]:
    """The photos of a real-dev folder (``*.jpg`` with a ``.json`` beside), sorted; clear error otherwise."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: real-photo folder not found")
    photos = [p for p in sorted(folder.glob("*.jpg")) if p.with_suffix(".json").exists()]
    if not photos:
        raise InputError(f"{folder}: no NAME.jpg + NAME.json pairs (the real-dev format) found")
    return photos


def load_real(path: Path) -> RealPhoto:
    """Read one real-dev photo with its boxes (``NAME.json``) and optional region mask (``NAME.mask.png``)."""
    path = Path(path)
    try:
        meta = json.loads(path.with_suffix(".json").read_text())
        boxes_list = meta["boxes"]
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"{path.with_suffix('.json')}: cannot read the tattoo boxes ({exc})") from exc
    try:
        rgb = np.asarray(Image.open(path).convert("RGB"))
    except OSError as exc:
        raise InputError(f"{path}: cannot read the photo ({exc})") from exc
    h, w = rgb.shape[:2]
    boxes = np.zeros((h, w), bool)
    raw = np.zeros((h, w), bool)
    for x0, y0, x1, y1 in boxes_list:
        boxes[max(0, y0 - BOX_PAD) : y1 + BOX_PAD, max(0, x0 - BOX_PAD) : x1 + BOX_PAD] = True
        raw[max(0, y0) : y1, max(0, x0) : x1] = True
    mask_path = path.with_name(path.stem + ".mask.png")
    has_mask = mask_path.exists()
    if has_mask:
        region = np.asarray(Image.open(mask_path).convert("L")) > 127
        if region.shape != (h, w):
            raise InputError(f"{mask_path}: mask is {region.shape[::-1]}, the photo is {(w, h)}")
    else:
        region = boxes.copy()
    return RealPhoto(path.stem, rgb, boxes, raw, region, has_mask)


def _luminance(rgb: np.ndarray) -> np.ndarray:
    # OpenCV's rounded grey, not skindeep.colour.luminance: real_score.py measures with this one.
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY).astype(np.float32)


def _edge_energy(rgb: np.ndarray, where: np.ndarray) -> float:
    g = _luminance(rgb)
    return float(np.hypot(cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1))[where].mean())


def skin_ring(photo: RealPhoto) -> np.ndarray:
    """(H, W) bool: the skin ring the gap and texture compare with, as real_score.py draws it (the region
    dilated by a ``RING`` square, minus the region and the padded boxes); used only over 100 px."""
    return (cv2.dilate(photo.region.astype(np.uint8), np.ones((RING, RING), np.uint8)).astype(bool)
            & ~photo.region & ~photo.boxes)


def real_figures(photo: RealPhoto, out: np.ndarray) -> dict[str, float]:
    """The real_score.py figures (plus ``box_changed``) of output ``out`` for ``photo``; nan where undefined."""
    img, region, boxes = photo.rgb, photo.region, photo.boxes
    fig = {k: float("nan") for k in ("outside", "outside_changed", "edge", "gap", "texture")}
    if (~boxes).sum() > 100:  # some tattoos fill the whole photo
        fig["outside"] = metrics.mean_change(out, img, ~boxes)
        fig["outside_changed"] = metrics.changed_fraction(out, img, ~boxes, VISIBLE_TOL)
    after = _edge_energy(out, region)
    fig["edge"] = after / max(_edge_energy(img, region), 1e-6)
    ring = skin_ring(photo)
    if ring.sum() > 100:
        fig["texture"] = after / max(_edge_energy(img, ring), 1e-6)
        l0, l1 = _luminance(img), _luminance(out)
        g0 = abs(l0[ring].mean() - l0[region].mean())
        g1 = abs(l1[ring].mean() - l1[region].mean())
        fig["gap"] = float(g1 / max(g0, 1e-6))
    fig["box_changed"] = metrics.changed_fraction(out, img, photo.raw_boxes, VISIBLE_TOL)
    return fig


def summarize_real(rows: list[dict[str, float]]) -> dict[str, float]:
    """real_score.py's aggregates: mean ``outside``, medians of the rest (nan-skipping)."""

    def med(key: str) -> float:
        v = [r[key] for r in rows if np.isfinite(r[key])]
        return float(np.median(v)) if v else float("nan")

    out = {"outside": metrics.finite_mean(r["outside"] for r in rows)}
    out.update({k: med(k) for k in ("outside_changed", "edge", "gap", "texture", "box_changed")})
    out["n"] = len(rows)
    return out


def meets_targets(s: dict[str, float]) -> bool:
    """DESIGN.md's real-photo targets (the same test real_score.py's exit status makes)."""
    return s["outside"] < 1.0 and s["edge"] < 0.6 and s["gap"] < 0.5 and 0.5 < s["texture"] < 2.0


Method = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]  # (rgb, region) -> (out, mask)


def run_real(
    photos: list[Path], methods: dict[str, Method], sheet_path: Path | None = None, sheet_rows: int = 12,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Score each method on each photo; write a contact sheet (input | first method's mask | outputs).

    ``methods`` map a name to ``fn(rgb, region) -> (output rgb, mask used (H,W) uint8)``.
    Returns ``{"photos": [...], "summary": {method: {...}}, "sheet": file name or ""}``.
    """
    rows: list[dict] = []
    sheet: list[np.ndarray] = []
    shown = set(evenly(list(range(len(photos))), sheet_rows))
    for i, path in enumerate(photos):
        photo = load_real(path)
        record: dict = {"name": photo.name, "has_mask": photo.has_mask, "methods": {}}
        tiles, labels = [photo.rgb], ["input"]
        for name, fn in methods.items():
            out, mask = fn(photo.rgb, photo.region)
            record["methods"][name] = real_figures(photo, out)
            if name == "identity":
                continue
            if len(tiles) == 1:  # the mask of the first method only (the model's), then each output
                tiles.append(images.overlay(photo.rgb, mask, photo.boxes))
                labels.append(f"{name} mask")
            tiles.append(out)
            labels.append(name)
        rows.append(record)
        if sheet_path is not None and i in shown:
            fig = record["methods"][next(iter(methods))]
            sheet.append(images.row(tiles, 200, labels, caption=(
                f"{photo.name} ({'mask' if photo.has_mask else 'boxes'}): {next(iter(methods))} edge "
                f"{fig['edge']:.2f}, gap {fig['gap']:.2f}, texture {fig['texture']:.2f}")))
        if progress:
            progress(photo.name)
    summary = {
        name: summarize_real([r["methods"][name] for r in rows]) for name in methods
    }
    # per source (name prefix): boxes-only photos and masked ones behave differently
    prefixes = sorted({r["name"].split("_")[0] for r in rows})
    by_source = {
        name: {p: summarize_real([r["methods"][name] for r in rows if r["name"].split("_")[0] == p]) for p in prefixes}
        for name in methods
    }
    written = ""
    if sheet_path is not None and sheet:
        written = images.save_jpeg(sheet_path, images.stack(sheet)).name
    return {"photos": rows, "summary": summary, "by_source": by_source, "sheet": written}


def select_clean(photos: list[Path], n: int) -> list[Path]:
    """``n`` photos taken round-robin over the name prefixes (``PREFIX_NNNN``), so every source counts."""
    groups: dict[str, list[Path]] = {}
    for p in sorted(photos):
        groups.setdefault(p.name.split("_")[0], []).append(p)
    picked: list[Path] = []
    queues = [list(v) for _, v in sorted(groups.items())]
    while len(picked) < n and any(queues):
        for q in queues:
            if q and len(picked) < n:
                picked.append(q.pop(0))
    return picked


def _skin_mask(photo: Path, shape: tuple[int, int]) -> np.ndarray | None:
    """The photo's hand-labelled ``NAME.skin.png`` as (H, W) bool, or None when absent or mismatched."""
    path = photo.with_name(photo.stem + ".skin.png")
    if not path.is_file():
        return None
    skin = np.asarray(Image.open(path).convert("L")) > 127
    return skin if skin.shape == tuple(shape) else None


def run_clean(
    photos: list[Path], remove: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    sheet_path: Path | None = None, sheet_rows: int = 8, progress: Callable[[str], None] | None = None,
) -> dict:
    """False positives on clean photos: the share of pixels ``remove`` changes (at all / visibly).

    ``remove(rgb) -> (output rgb, mask used)``. The sheet shows the photos with the most change.
    """
    rows, kept = [], []
    for path in photos:
        try:
            rgb = np.asarray(Image.open(path).convert("RGB"))
        except OSError as exc:
            raise InputError(f"{path}: cannot read the photo ({exc})") from exc
        out, mask = remove(rgb)
        skin = _skin_mask(path, rgb.shape[:2])
        rows.append({
            "name": path.stem,
            "changed": metrics.changed_fraction(out, rgb),
            "changed_visible": metrics.changed_fraction(out, rgb, tol=VISIBLE_TOL),
            "mean_change": metrics.mean_change(out, rgb),
            # where a hand-labelled skin mask exists: false ink on skin vs on hair/clothes/background
            "changed_on_skin": metrics.changed_fraction(out, rgb, skin) if skin is not None else float("nan"),
            "changed_off_skin": metrics.changed_fraction(out, rgb, ~skin) if skin is not None else float("nan"),
        })
        kept.append((rows[-1]["changed"], path.stem, rgb, mask, out))
        kept = sorted(kept, key=lambda k: -k[0])[:sheet_rows]  # keep only the worst in memory
        if progress:
            progress(path.stem)
    changed = [r["changed"] for r in rows]
    summary = {
        "n": len(rows),
        "changed_mean": metrics.finite_mean(changed),
        "changed_median": float(np.median(changed)) if changed else float("nan"),
        "changed_visible_mean": metrics.finite_mean(r["changed_visible"] for r in rows),
        "photos_over_0.5%": int(sum(c > 0.005 for c in changed)),
        "changed_on_skin_mean": metrics.finite_mean(r["changed_on_skin"] for r in rows),
        "changed_off_skin_mean": metrics.finite_mean(r["changed_off_skin"] for r in rows),
        "with_skin_mask": int(sum(np.isfinite(r["changed_on_skin"]) for r in rows)),
        "by_prefix": {
            prefix: metrics.finite_mean(r["changed"] for r in rows if r["name"].split("_")[0] == prefix)
            for prefix in sorted({r["name"].split("_")[0] for r in rows})
        },
    }
    written = ""
    if sheet_path is not None and kept:
        sheet = [
            images.row([rgb, images.overlay(rgb, mask), out], 200, ["input", "mask", "output"],
                       caption=f"{name}: {c:.2%} of the pixels changed")
            for c, name, rgb, mask, out in kept
        ]
        written = images.save_jpeg(sheet_path, images.stack(sheet)).name
    return {"photos": rows, "summary": summary, "sheet": written}
