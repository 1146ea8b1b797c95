"""The restorer alone: every method is given the tattoo's region, so only the fill is judged.

Real photos (real-dev): the region is ``NAME.mask.png`` (else the padded boxes), as ``real_score.py
--method skindeep-region`` gives it; skindeep restores it with ``mask_mode="replace"``. Figures per
method:

- ``clean``: share of photos clean by real_score.py's three tests at once (edge after/before < 0.6, gap
  after/before < 0.35, texture 0.6-1.3 of the skin ring; :func:`is_clean`);
- ``texture``: median texture inside / ring, and ``texture_ok``, the share of photos with it in 0.8-1.25;
- ``seam``: the luminance step across the region's border, over the same step across a contour in
  clean skin (the region's outline moved :data:`CONTOUR_OFFSET` px out): ~1 means the border cannot be
  found, a smear or a pale patch gives more (:func:`border_step`). Median over the photos.

Synthetic pairs (the benchmark set) with the true mask (``ink > 0``): PSNR and SSIM inside the ink
(``ink > INK_MIN``) against the clean truth, as :mod:`skindeep.eval.bench` scores them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from skindeep.eval import baselines, bench, images, metrics, real
from skindeep.remove.gate import skin_coloured

CLEAN_EDGE, CLEAN_GAP, CLEAN_TEXTURE = 0.6, 0.35, (0.6, 1.3)  # real_score.py's "photos clean"
TEXTURE_OK = (0.8, 1.25)  # issue 16's target band for texture inside / ring
SEAM_BAND = 6  # px either side of a border over which the local luminance is averaged
SEAM_WINDOW = 15  # px: how far along the border that average reaches
CONTOUR_OFFSET = 20  # px: the clean-skin contour is the region's outline moved this far out

Restorer = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (rgb, region bool) -> rgb


def restorers(remover) -> dict[str, Restorer]:
    """skindeep (the region in ``mask_mode="replace"``), Telea, Navier-Stokes and, when the
    ``pypatchmatch`` package is installed, PatchMatch."""

    def ours(rgb: np.ndarray, region: np.ndarray) -> np.ndarray:
        return np.asarray(remover.remove(rgb, mask=region, mask_mode="replace", protect_face=False).image)[..., :3]

    found: dict[str, Restorer] = {"skindeep": ours, "telea": baselines.telea, "ns": baselines.navier_stokes}
    try:
        from patchmatch import patch_match
    except ImportError:  # optional reference (eval extra); its row is simply absent
        return found
    found["patchmatch"] = lambda rgb, region: patch_match.inpaint(
        np.ascontiguousarray(rgb), (region > 0).astype(np.uint8) * 255, patch_size=5)
    return found


def is_clean(fig: dict[str, float]) -> bool:
    """real_score.py's "clean" photo: no ink lines left, no luminance gap, and not a smear."""
    return bool(fig["edge"] < CLEAN_EDGE and fig["gap"] < CLEAN_GAP
                and CLEAN_TEXTURE[0] <= fig["texture"] <= CLEAN_TEXTURE[1])


def border_step(rgb: np.ndarray, region: np.ndarray, skin: np.ndarray) -> float:
    """Median luminance step (grey levels) across the border of ``region`` where skin lies outside it.

    rgb: (H, W, 3) uint8. region, skin: (H, W) bool. At each border pixel, the mean luminance of the
    band ``SEAM_BAND`` px inside the region is compared with the band outside, both averaged over a
    ``SEAM_WINDOW`` px window. nan when no border pixel has skin beside it.
    """
    lum = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY).astype(np.float32)
    inside = region.astype(np.uint8)
    d_in = cv2.distanceTransform(inside, cv2.DIST_L2, 3)
    d_out = cv2.distanceTransform(1 - inside, cv2.DIST_L2, 3)
    band_in = ((d_in > 0) & (d_in <= SEAM_BAND)).astype(np.float32)
    band_out = ((d_out > 0) & (d_out <= SEAM_BAND) & skin).astype(np.float32)
    k = (SEAM_WINDOW, SEAM_WINDOW)
    w_in, w_out = cv2.blur(band_in, k), cv2.blur(band_out, k)
    mean_in = cv2.blur(lum * band_in, k) / np.maximum(w_in, 1e-6)
    mean_out = cv2.blur(lum * band_out, k) / np.maximum(w_out, 1e-6)
    border = (d_in > 0) & (d_in <= 1.5) & (w_in > 0.05) & (w_out > 0.05)
    h, w = region.shape
    border[:SEAM_BAND], border[h - SEAM_BAND:], border[:, :SEAM_BAND], border[:, w - SEAM_BAND:] = False, False, False, False
    if not border.any():
        return float("nan")
    return float(np.median(np.abs(mean_in - mean_out)[border]))


def seam_figures(photo: real.RealPhoto, out: np.ndarray) -> dict[str, float]:
    """``seam_step`` (across the region's border in ``out``), ``skin_step`` (across a contour in clean
    skin, the outline moved ``CONTOUR_OFFSET`` px out) and ``seam`` (their ratio)."""
    skin = skin_coloured(photo.rgb)
    step = border_step(out, photo.region, skin & ~photo.region)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * CONTOUR_OFFSET + 1,) * 2)
    moved = cv2.dilate(photo.region.astype(np.uint8), kernel).astype(bool)
    skin_step = border_step(out, moved, skin & ~moved & ~photo.boxes)
    ratio = step / skin_step if np.isfinite(step) and np.isfinite(skin_step) and skin_step > 0 else float("nan")
    return {"seam_step": step, "skin_step": skin_step, "seam": ratio}


def _summary(rows: list[dict[str, float]]) -> dict[str, float]:
    def med(key: str) -> float:
        v = [r[key] for r in rows if np.isfinite(r[key])]
        return float(np.median(v)) if v else float("nan")

    scored = [r for r in rows if np.isfinite(r["texture"]) and np.isfinite(r["gap"])]
    return {
        "n": len(scored),
        "clean": float(np.mean([is_clean(r) for r in scored])) if scored else float("nan"),
        "clean_count": int(sum(is_clean(r) for r in scored)),
        "edge": med("edge"), "gap": med("gap"), "texture": med("texture"),
        "texture_ok": float(np.mean([TEXTURE_OK[0] <= r["texture"] <= TEXTURE_OK[1] for r in scored]))
        if scored else float("nan"),
        "seam": med("seam"), "seam_step": med("seam_step"), "skin_step": med("skin_step"),
        "seconds": metrics.finite_mean(r["seconds"] for r in rows),
    }


def run_restorer_real(photos: list[Path], methods: dict[str, Restorer], sheet_path: Path | None = None,
                      sheet_rows: int = 12, progress: Callable[[str], None] | None = None) -> dict:
    """Every method given each photo's region. The sheet shows the ``sheet_rows`` largest regions:
    input | region | each method. Returns ``{"photos", "summary": {method: {...}}, "sheet"}``."""
    sizes = {p: int(real.load_real(p).region.sum()) for p in photos} if sheet_path is not None else {}
    largest = set(sorted(sizes, key=lambda p: -sizes[p])[:sheet_rows])
    rows, sheet = [], []
    for path in photos:
        photo = real.load_real(path)
        record: dict = {"name": photo.name, "methods": {}}
        tiles = [photo.rgb, images.overlay(photo.rgb, photo.region.astype(np.uint8) * 255)]
        for name, fn in methods.items():
            t = time.perf_counter()
            out = fn(photo.rgb, photo.region)
            fig = real.real_figures(photo, out)
            fig.update(seam_figures(photo, out), seconds=time.perf_counter() - t)
            record["methods"][name] = fig
            tiles.append(out)
        rows.append(record)
        if path in largest:
            fig = record["methods"][next(iter(methods))]
            sheet.append((sizes[path], images.row(tiles, 240, ["input", "region", *methods], caption=(
                f"{photo.name}: {next(iter(methods))} edge {fig['edge']:.2f}, gap {fig['gap']:.2f}, texture "
                f"{fig['texture']:.2f}, seam {fig['seam']:.2f}"))))
        if progress:
            progress(photo.name)
    written = ""
    if sheet:
        written = images.save_jpeg(sheet_path, images.stack([r for _, r in sorted(sheet, key=lambda s: -s[0])])).name
    summary = {name: _summary([r["methods"][name] for r in rows]) for name in methods}
    return {"photos": rows, "summary": summary, "sheet": written}


def run_restorer_synthetic(bset, methods: dict[str, Restorer], n: int, sizes: tuple[int, ...],
                           progress: Callable[[str], None] | None = None) -> dict:
    """Every method given the true mask (``ink > 0``) of the first ``n`` benchmark cases: PSNR/SSIM in the ink."""
    cases = []
    for case in bset.cases(n, sizes):
        sample = bset.sample(case)
        ink = np.asarray(sample.ink)
        region = ink > 0
        if not region.any():
            continue
        record = {"name": case.name, "size": case.size, "ink_type": case.ink_type, "methods": {}}
        for name, fn in methods.items():
            out = fn(sample.tattooed, region)
            score = bench.score_output(out, sample.clean, ink, None)
            record["methods"][name] = {"psnr_in": score["psnr_in"], "ssim_in": score["ssim_in"]}
        cases.append(record)
        if progress:
            progress(case.name)
    summary = {
        name: {
            "n": len(cases),
            "psnr_in": metrics.finite_mean((c["methods"][name]["psnr_in"] for c in cases), cap=metrics.PSNR_CAP),
            "ssim_in": metrics.finite_mean(c["methods"][name]["ssim_in"] for c in cases),
        }
        for name in methods
    }
    return {"cases": cases, "summary": summary}
