"""The restorer against the truth on real skin: holes cut in photos no model or setting was chosen on.

Tattoo-shaped holes (a design's silhouette, strokes, a blob, a solid piece, a sleeve: the shapes the learned
low-frequency restorer trains on) are cut in the hand-labelled skin of the people validation split and the
clothes hold-out and painted over with opaque ink. Each method fills the region and is scored against the photo
itself: LaMa's recipe (Suvorov et al. 2022) used as a measure. `real_score.py` has no truth and scores a fill
against the ring around the region, which, around a user's loose box, is often wall or clothing.

    python scripts/real_holes.py [--model M.onnx] [--opt NAME=VALUE ...] [-n 60] [--split val|train] [--csv OUT.csv]
                                 [--sheet OUT.jpg]

``--split train`` draws from the train splits instead (people train + clothes train, which no fill setting was
chosen on either): choose a setting there, then confirm it on ``val``.

Two regions per photo: the hole itself (a hand-drawn mask) and its box grown by 8 px + 10 % (a user's rectangle,
which also covers what is not skin; the truth is then the whole box). Figures: PSNR in the region, and the mean
absolute error of its low frequencies (Gaussian sigma 4 px: colour and shading, in grey levels), and how much of
the truth's texture the fill has, fine (grain, finer than 2 px) and relief (2-8 px): 1 is the skin's own, below 1 a
flat, airbrushed fill (``relief``). Methods:
skindeep (``mask_mode="replace"``, no face protection), Telea and Navier-Stokes. ``--opt`` as in
``real_score_with.py``.
"""

from __future__ import annotations

import argparse
import csv
import runpy
from pathlib import Path

import cv2
import numpy as np

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
INK = (40, 40, 50)  # opaque dark ink over the hole: nothing of the truth shows through
SIZE = (0.12, 0.5)  # the hole's extent, as a share of the photo's short side
LOW_SIGMA = 4.0  # px: the low frequencies the second figure compares
RELIEF_SIGMAS = (2.0, 8.0)  # px: the bands of the texture figures (fine: below the first; relief: between)


def cut_hole(skin: np.ndarray, rng: np.random.Generator, shape_of, tries: int = 10) -> np.ndarray | None:
    """(H, W) bool: a hole inside ``skin`` (H, W) bool, or None when none fits in ``tries``.

    shape_of(rng, n) -> (n, n) bool draws a tattoo-shaped silhouette; it is centred on a skin pixel at least
    2 px from the skin's edge, clipped to the skin, and kept when at least 150 px and a tenth of it remain."""
    h, w = skin.shape
    inner = cv2.erode(skin.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    ys, xs = np.nonzero(inner)
    if ys.size < 200:
        return None
    for _ in range(tries):
        n = max(24, int(min(h, w) * rng.uniform(*SIZE)))
        shape = shape_of(rng, n)
        i = int(rng.integers(ys.size))
        y0, x0 = ys[i] - n // 2, xs[i] - n // 2
        hole = np.zeros((h, w), bool)
        sy0, sx0, sy1, sx1 = max(0, y0), max(0, x0), min(h, y0 + n), min(w, x0 + n)
        hole[sy0:sy1, sx0:sx1] = shape[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0]
        hole &= skin
        if hole.sum() >= 150 and hole.sum() >= 0.1 * shape.sum():
            return hole
    return None


def loose_box(hole: np.ndarray) -> np.ndarray:
    """(H, W) bool: the box around ``hole`` (H, W) bool grown by 8 px + 10 % of its side, as a user draws one."""
    ys, xs = np.nonzero(hole)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    gy, gx = 8 + (y1 - y0) // 10, 8 + (x1 - x0) // 10
    box = np.zeros_like(hole)
    box[max(0, y0 - gy):y1 + gy, max(0, x0 - gx):x1 + gx] = True
    return box


def scores(out: np.ndarray, truth: np.ndarray, where: np.ndarray) -> tuple[float, float]:
    """PSNR (dB, capped at 60) and the low-frequency mean absolute error (grey levels) of ``out`` against
    ``truth`` (both (H, W, 3) uint8) over ``where`` (H, W) bool."""
    o, t = out.astype(np.float32), truth.astype(np.float32)
    mse = float(((o - t)[where] ** 2).mean())
    psnr = min(60.0, 10.0 * np.log10(255.0 ** 2 / max(mse, 1e-10)))
    low = np.abs(cv2.GaussianBlur(o, (0, 0), LOW_SIGMA) - cv2.GaussianBlur(t, (0, 0), LOW_SIGMA))
    return psnr, float(low[where].mean())


def relief(out: np.ndarray, truth: np.ndarray, where: np.ndarray) -> tuple[float, float]:
    """How much of the truth's texture ``out`` has over ``where`` (H, W) bool, in two bands of luminance: fine
    (finer than ``RELIEF_SIGMAS[0]``: grain, pores) and relief (between the two sigmas: creases, the shading of
    pores). Each is the RMS of the band in ``out`` over that in ``truth`` (both (H, W, 3) uint8): 1 is the
    skin's own texture, below 1 a flat (airbrushed) fill, above 1 a busier one."""
    def bands(x):
        g = cv2.cvtColor(x, cv2.COLOR_RGB2GRAY).astype(np.float32)
        b1, b2 = (cv2.GaussianBlur(g, (0, 0), s) for s in RELIEF_SIGMAS)
        return g - b1, b1 - b2
    inner = cv2.erode(where.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    inner = inner if inner.sum() >= 50 else where
    rms = lambda b: float(np.sqrt((b[inner] ** 2).mean()))  # noqa: E731
    return tuple(rms(o) / max(rms(t), 1e-3) for o, t in zip(bands(out), bands(truth), strict=True))


def methods(remover) -> dict:
    from skindeep.eval import baselines

    def ours(rgb, region):
        return np.asarray(remover.remove(rgb, mask=region, mask_mode="replace", protect_face=False).image)[..., :3]

    return {"skindeep": ours, "telea": baselines.telea, "navier-stokes": baselines.navier_stokes}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model")
    ap.add_argument("--opt", action="append", default=[], help="Remover keyword, NAME=VALUE (as real_score_with.py)")
    ap.add_argument("-n", type=int, default=60, help="photos (drawn with a fixed seed from the unseen splits)")
    ap.add_argument("--split", choices=("val", "train"), default="val")
    ap.add_argument("--csv")
    ap.add_argument("--sheet", help="the first 8 photos: inked | truth | each method, box region")
    a = ap.parse_args()

    from PIL import Image

    from skindeep.model import lowfreq
    from skindeep.remove.pipeline import Remover
    from skindeep.synth.svg import SvgRasteriser

    parse_options = runpy.run_path(str(Path(__file__).with_name("real_score_with.py")))["parse_options"]
    run = methods(Remover(model_path=a.model, **parse_options(a.opt)))
    photos = lowfreq.training_photos(DATA, a.split)
    photos = [photos[i] for i in sorted(np.random.default_rng(0).choice(len(photos), min(a.n, len(photos)),
                                                                        replace=False))]
    svgs, raster = sorted((DATA / "designs").rglob("*.svg")), SvgRasteriser()

    def shape_of(rng, n):
        kind = lowfreq.HOLE_KINDS[int(rng.choice(len(lowfreq.HOLE_KINDS), p=lowfreq.HOLE_WEIGHTS))]
        return lowfreq.hole_shape(rng, n, kind, svgs, raster)

    rows, tiles = [], []
    for k, path in enumerate(photos):
        rgb = np.asarray(Image.open(path).convert("RGB"))
        skin = lowfreq.skin_label(path, rgb.shape[:2])
        hole = None if skin is None else cut_hole(skin, np.random.default_rng(1000 + k), shape_of)
        if hole is None:
            continue
        inked = rgb.copy()
        inked[hole] = INK
        row = {"photo": path.name}
        shown = [inked, rgb]
        for region_name, region in (("hole", hole), ("box", loose_box(hole))):
            for name, fn in run.items():
                out = fn(inked, region)
                row[f"{name}_{region_name}_psnr"], row[f"{name}_{region_name}_low"] = scores(out, rgb, region)
                row[f"{name}_{region_name}_fine"], row[f"{name}_{region_name}_relief"] = relief(out, rgb, region)
                if region_name == "box":
                    shown.append(out)
        rows.append(row)
        if a.sheet and len(tiles) < 8:
            strip = np.concatenate(shown, 1)
            s = 240 / strip.shape[0]
            tiles.append(cv2.resize(strip, (int(strip.shape[1] * s), 240), interpolation=cv2.INTER_AREA))
        print(path.name, " ".join(f"{key} {v:.2f}" for key, v in row.items() if key != "photo"), flush=True)
    if not rows:
        raise SystemExit(f"{DATA}: no photo with a skin label to cut a hole in")
    if a.csv:
        with open(a.csv, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    if tiles:
        width = max(t.shape[1] for t in tiles)
        Image.fromarray(np.concatenate([np.pad(t, ((0, 0), (0, width - t.shape[1]), (0, 0)), constant_values=255)
                                        for t in tiles], 0)).save(a.sheet)
    print(f"\n{len(rows)} photos | region | method | PSNR (dB) | low-frequency error (grey levels) | "
          "fine texture / truth (median) | relief / truth (median)")
    for region_name in ("hole", "box"):
        for name in run:
            psnr = np.mean([r[f"{name}_{region_name}_psnr"] for r in rows])
            low = np.mean([r[f"{name}_{region_name}_low"] for r in rows])
            fine = np.median([r[f"{name}_{region_name}_fine"] for r in rows])
            rel = np.median([r[f"{name}_{region_name}_relief"] for r in rows])
            print(f"| {region_name} | {name} | {psnr:.2f} | {low:.2f} | {fine:.2f} | {rel:.2f} |")


if __name__ == "__main__":
    main()
