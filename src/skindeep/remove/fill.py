"""Skin fill: frequency-separated restoration of dense ink, as a retoucher does it (numpy/OpenCV only).

The network restores at a few hundred pixels and only adds a gain and an offset where its ink head
fires: under opaque ink it gives back a blurred, pale patch. Retouchers split the skin into two bands
and repair each where it is easy:

- **low frequencies** (shading, colour): a membrane (harmonic) interpolation of the skin around the
  region, solved coarse-to-fine at a small working size. It takes the border's colour exactly and
  continues it smoothly inward, so there is no step at the border (the gradient-domain blend of a
  Poisson fill with no guidance field) and no tile grid (one solve per region).
- **high frequencies** (pores, fine hair, grain, the camera's noise): real texture at the photo's own
  resolution, copied patch by patch from nearby clean skin around the region. Overlapping patches are
  blended with a variance-preserving window (sum of ``w * patch`` over ``sqrt(sum of w**2)``, Heitz and
  Neyret 2018), so neither a seam nor a faded overlap shows, and the result is scaled so its contrast
  equals the ring's.

The whole mask is filled (``floor`` 1, the default). With ``floor`` 0 thin ink is not filled: the network
unmixes it and keeps the real texture under it, and per pixel the *density* (how far the photo's colour is
from the skin the membrane predicts, in Lab) chooses between the network's restoration (thin) and the fill
(dense). On real photos that left the light parts of dense pieces (a portrait's face, a shaded elephant) and
thin lines as pale ghosts of the design, so it is no longer the default (docs/experiments.md, experiment 32).

All of it runs per box around the mask; pixels with ``alpha == 0`` are never written.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from skindeep.colour import to_lab
from skindeep.remove.gate import SKIN_COLOURED_REACH, skin_coloured
from skindeep.remove.lowfreq import LowFreqRestorer, learned_base, load_restorer, shrink_known, working_size
from skindeep.remove.resample import Box, merge_boxes, upsample_region
from skindeep.remove.strips import alongside, blur_reach, by_rows, for_strips

WORK_SIDE = 256  # long side (px) of a region's box when its membrane is solved
JACOBI_STEPS = 40  # relaxation sweeps per pyramid level (the coarse level's solution starts each one)
MIN_KNOWN = 64  # below this many clean pixels around a region, it is not filled (nothing to copy)
NEAREST = 48  # a target patch copies one of this many nearest clean source patches, at random: overlapping
# patches copy the same source 1 time in NEAREST, and at 12 that drew a faint grid at half the patch size (exp. 44)
MIN_SKIN_SHARE = 0.2  # the ring is judged by its skin-coloured pixels when at least this share is skin
OUTLINE_GAP = 0.01  # how far past a mask its tattoo's outline and halo may lie (share of the box's long side, >= 3 px)
OUTLIER_LAB = 20.0  # Lab distance from the skin around beyond which a clean pixel is ink, not skin
OUTLIER_SIGMA = 0.03  # "around" for that test, as a fraction of the working size
MAX_ENERGY = 2.0  # source patches with more fine detail than this x the median (edges, hair, ink) are skipped
MAX_SOURCES = 4000  # candidate source patches per region (bounds the nearest-patch search)
SOFT_EDGE_GRAIN = 0.5  # a line's soft edge is darker than the skin around by more than this many of its std
MAX_MARGIN = 128  # px: the ring of skin around a region is never wider (bounds memory on big photos)


@dataclass
class FillSettings:
    """How the fill is made and mixed; ``PipelineConfig`` carries them.

    texture_sigma: px at full size; detail finer than this Gaussian is copied from the ring.
    texture_levels: octave bands of texture copied (``layered_texture``): 1 = only the detail finer than
        ``texture_sigma``; each more band adds the next octave of coarser relief.
    dense_from, dense_to: Lab distance (Delta E) from the predicted skin at which a pixel starts to be
        filled, and is fully filled: below ``dense_from`` the ink is thin and the network's unmixing is
        kept.
    floor: the least fill weight anywhere in the mask: 1 fills everything (always so for
        ``mask_mode="replace"``); 0 fills only dense ink and keeps the network's unmixing of thin ink.
    margin: the ring of clean skin used around a region, as a fraction of the region's box side
        (at least 24 px).
    snap_outline: take the tattoo's outline just outside the mask into it (``snap_outline``), so no dark
        line is left along the region's border.
    soft_edge: with ``snap_outline``, also take the line's soft edge just past the snapped outline: the
        skin-coloured pixels there darker than the skin beyond, next to the mask's ink-like edge, with an
        alpha that fades over ``outline_gap`` (``_take_soft_edge``).
    halo: with ``soft_edge``, the soft edge also takes the skin next to the line that is redder than the skin
        beyond (a fresh tattoo's inflamed halo), and reaches twice as far. Left outside the mask, the halo is
        a pink rim around the patch, and as the fill's reference it tints the whole patch. Off by default: it
        also grows false alarms on reddened skin, and its band can be ragged (experiment 43).
    skip_edge_band: take the fill's reference skin only from ``outline_gap`` past the mask on: a detected
        mask leaves the tattoo's halo there. Off for a user's region (``mask_mode="replace"``): it is drawn
        past the ink, and the fill then meets the skin that touches it without a step (experiment 26).
    skin_reference: take the fill's reference skin only where the skin network's map (``fill_skin``'s
        ``skin_small``, when the model has one) and the colour box both say skin; off, the colour box alone
        (experiment 30).
    enclosed_ink: take the ink a detected mask encloses but missed into it (``take_enclosed_ink``): a red
        comb or a yellow beak inside a piece otherwise stays, and the fill around it glows in its colour.
    learned_base: add the learned low-frequency restorer's residual (``weights/lowfreq.onnx``,
        :mod:`skindeep.remove.lowfreq`) to the membrane; the membrane alone when off or when the file is
        missing.
    """

    texture_sigma: float = 2.0
    texture_levels: int = 1
    dense_from: float = 15.0
    dense_to: float = 35.0
    floor: float = 1.0
    margin: float = 0.35
    snap_outline: bool = True
    soft_edge: bool = True
    halo: bool = False
    skip_edge_band: bool = True
    skin_reference: bool = True
    enclosed_ink: bool = True
    learned_base: bool = False

    @property
    def whole_mask(self) -> bool:
        """Every masked pixel is filled (``floor`` 1): the ink's density is not measured, and the network's
        restoration is not mixed in."""
        return self.floor >= 1.0


def _relax(cur: np.ndarray, free: np.ndarray) -> np.ndarray:
    """``JACOBI_STEPS`` Jacobi sweeps of ``cur`` (h, w, c) float32 on its ``free`` (h, w, 1) bool pixels, the
    others held; the border replicated. One padded buffer whose middle is the solution, updated in place: a
    new padded copy and a boolean gather per sweep made a 256 px membrane take 0.1 s."""
    padded = cv2.copyMakeBorder(cur, 1, 1, 1, 1, cv2.BORDER_REPLICATE).reshape(
        (cur.shape[0] + 2, cur.shape[1] + 2, -1))
    inner = padded[1:-1, 1:-1]
    avg = np.empty_like(inner)
    for _ in range(JACOBI_STEPS):
        np.add(padded[:-2, 1:-1], padded[2:, 1:-1], out=avg)
        avg += padded[1:-1, :-2]
        avg += padded[1:-1, 2:]
        avg *= np.float32(0.25)
        np.copyto(inner, avg, where=free)
        padded[0, 1:-1], padded[-1, 1:-1] = inner[0], inner[-1]  # the corners are never read
        padded[1:-1, 0], padded[1:-1, -1] = inner[:, 0], inner[:, -1]
    return np.ascontiguousarray(inner)


def _membrane(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Harmonic interpolation of ``values`` (h, w, c) float32 from the ``known`` (h, w) bool pixels.

    Coarse-to-fine: the known pixels are averaged down a pyramid ("push"), the coarsest level's holes
    take the mean, and each finer level starts from the coarser solution upsampled ("pull") and relaxes
    its unknown pixels toward the mean of their four neighbours (Jacobi) with the known ones held. The
    result is smooth inside and equals ``values`` at the known pixels.
    """
    weight = known.astype(np.float32)
    levels = [(values * weight[..., None], weight)]
    while min(levels[-1][1].shape) > 8:
        v, wgt = levels[-1]
        size = (max(1, wgt.shape[1] // 2), max(1, wgt.shape[0] // 2))
        levels.append((cv2.resize(v, size, interpolation=cv2.INTER_AREA),
                       cv2.resize(wgt, size, interpolation=cv2.INTER_AREA)))
    solution = None
    for v, wgt in reversed(levels):
        v = v.reshape(wgt.shape + (-1,))
        fixed = wgt > 1e-3
        mean = v[fixed].sum(0) / np.maximum(wgt[fixed].sum(), 1e-6) if fixed.any() else np.zeros(v.shape[2], np.float32)
        fixed_value = v / np.maximum(wgt, 1e-6)[..., None]
        if solution is None:
            cur = np.broadcast_to(mean.astype(np.float32), v.shape).copy()
        else:
            cur = cv2.resize(solution, (wgt.shape[1], wgt.shape[0]), interpolation=cv2.INTER_LINEAR)
            cur = cur.reshape(v.shape)
        cur[fixed] = fixed_value[fixed]
        free = ~fixed
        if free.any():
            cur = _relax(cur, free[..., None])
        solution = cur
    return solution.reshape(values.shape)


def skin_base(rgb: np.ndarray, known: np.ndarray) -> np.ndarray:
    """The low frequencies of the skin under a region: (h, w, 3) float32 0..255.

    rgb: (h, w, 3) uint8, a box around the region. known: (h, w) bool, the clean pixels (outside the mask).
    Solved at long side ``WORK_SIDE`` at most and bilinearly upsampled.
    """
    h, w = known.shape
    size = working_size(h, w, WORK_SIDE)
    small, small_known = shrink_known(rgb, known, size)  # a masked pixel never bleeds into the ring
    low = _membrane(small, small_known)
    return cv2.resize(low, (w, h), interpolation=cv2.INTER_LINEAR) if size != (w, h) else low


def _window(p: int) -> np.ndarray:
    """(p, p) float32 raised-cosine window, never exactly 0."""
    hann = np.hanning(p + 2)[1:-1].astype(np.float32)
    return np.outer(hann, hann)


def skin_texture(rgb: np.ndarray, known: np.ndarray, target: np.ndarray, sigma: float, seed: int,
                 finer: float = 0.0, threads: int = 1) -> np.ndarray:
    """Real fine texture for the ``target`` pixels, copied from clean skin nearby: (h, w, 3) float32.

    rgb: (h, w, 3) uint8 box. known: (h, w) bool clean pixels (sources). target: (h, w) bool pixels that
    need texture. sigma: high-pass Gaussian (px). seed: makes the choice of patches repeatable.
    finer: when > 0, a band-pass: detail coarser than this Gaussian (px) and finer than ``sigma``.
    threads: the full-size passes run in that many row strips at once (``strips``), bit-identical to one.
    Returns the detail (zero mean) inside ``target`` and 0 elsewhere; all zeros when no clean patch fits.
    """
    h, w = known.shape
    out = np.zeros((h, w, 3), np.float32)
    p = int(max(16, 2 * round(4 * sigma)))  # patch side: several times the detail's size
    step = p // 2
    if h < p or w < p:
        return out
    detail = _clean_detail(rgb, known, finer, sigma, threads)
    # Source patches: fully clean, and not busier than usual (no edges of clothes, hair, other ink).
    squared = detail * detail
    energy = cv2.boxFilter(squared[..., 0] + squared[..., 1] + squared[..., 2], -1, (p, p), anchor=(0, 0),
                           borderType=cv2.BORDER_CONSTANT)  # channel by channel: sum(2) took 0.4 s at 12 MP
    # Candidate sources on a grid, at most ~MAX_SOURCES of them (a 12 MP box would hold half a million).
    stride = max(2, p // 4, int(np.ceil(np.sqrt(known.sum() / MAX_SOURCES))))
    sy, sx = np.mgrid[0:h - p + 1:stride, 0:w - p + 1:stride]
    sy, sx = sy.ravel(), sx.ravel()
    ok = _window_count(~known, p, sy, sx) == 0
    sy, sx = sy[ok], sx[ok]
    if sy.size == 0:
        return out
    e = energy[sy, sx]
    busy = e > MAX_ENERGY * float(np.median(e))
    if (~busy).sum() >= 4:
        sy, sx = sy[~busy], sx[~busy]
    # Target patches: a grid at half-patch steps covering every target pixel.
    bounds = _bounds(target)
    if bounds is None:
        return out
    ty0 = max(0, min(bounds[0] - step, h - p))
    tx0 = max(0, min(bounds[1] - step, w - p))
    grid_y = np.arange(ty0, min(bounds[2], h - p + step), step).clip(0, h - p)
    grid_x = np.arange(tx0, min(bounds[3], w - p + step), step).clip(0, w - p)
    uy, ux = np.unique(grid_y), np.unique(grid_x)
    gy, gx = np.meshgrid(uy, ux, indexing="ij")
    gy, gx = gy.ravel(), gx.ravel()
    keep = _window_count(target, p, gy, gx) > 0
    gy, gx = gy[keep], gx[keep]
    rng = np.random.default_rng(seed)
    k = min(NEAREST, sy.size)
    # The nearest sources are looked up once per cell of 4 x 4 patches (its centre), not per patch:
    # a 7 MP region holds 100,000 target patches.
    cell = 4 * p
    keys = (gy // cell) * (w // cell + 1) + gx // cell
    cells, which = np.unique(keys, return_inverse=True)
    cy = (cells // (w // cell + 1)) * cell + cell // 2
    cx = (cells % (w // cell + 1)) * cell + cell // 2
    nearest = np.empty((cells.size, k), np.int64)
    for start in range(0, cells.size, 256):  # chunks bound the distance matrix's memory
        d2 = ((cy[start:start + 256, None] - sy[None, :]).astype(np.float32) ** 2
              + (cx[start:start + 256, None] - sx[None, :]).astype(np.float32) ** 2)
        nearest[start:start + 256] = np.argpartition(d2, k - 1, axis=1)[:, :k] if k < sy.size else np.arange(k)
    pick = nearest[which.ravel(), rng.integers(0, k, gy.size)]
    win = _window(p)
    acc = np.zeros((h, w, 3), np.float32)
    wsq = np.zeros((h, w), np.float32)
    sources = sliding_window_view(detail, (p, p), axis=(0, 1))  # (h-p+1, w-p+1, 3, p, p), no copy
    # Four phases of patches half a patch apart: within one, patches lie a whole patch apart and do not
    # overlap, so each phase is laid as blocks of one array (a Python loop over 100,000 patches took 12 s,
    # and fancy-indexed scatters 2-3 s of a 12 MP region).
    phase = (np.searchsorted(uy, gy) % 2) * 2 + np.searchsorted(ux, gx) % 2
    for ph in range(4):
        sel = np.nonzero(phase == ph)[0]
        if sel.size:
            _add_patches(acc, wsq, gy[sel], gx[sel], sources, sy[pick[sel]], sx[pick[sel]], win, threads)

    def normalised(y0, y1):  # only the target's pixels: the patches' squares reach past it
        np.divide(acc[y0:y1], np.sqrt(wsq[y0:y1])[..., None], out=out[y0:y1],
                  where=((wsq[y0:y1] > 0) & target[y0:y1])[..., None])

    for_strips(normalised, h, threads)
    gain = _texture_gain(detail, known, out, target).astype(np.float32)  # float32: a float64 factor took 0.7 s

    def scaled(y0, y1):
        out[y0:y1] *= gain

    for_strips(scaled, h, threads)
    return out


def _texture_gain(detail: np.ndarray, known: np.ndarray, copied: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(3,) float64: the factor on each channel of the ``copied`` texture (h, w, 3) float32 in ``target`` (h, w) bool
    that matches its contrast to the ``detail`` (h, w, 3) float32 of the ``known`` (h, w) bool skin around.

    The contrast of all the clean skin around, not only of the calm patches copied: those are chosen for lacking
    edges, and matched to themselves the fill came out at about 2/3 of the skin ring's fine detail and read as
    airbrushed (experiment 19)."""
    return np.clip(_channel_std(detail, known) / np.maximum(_channel_std(copied, target), 1e-3), 0.5, 2.0)


def _clean_detail(rgb: np.ndarray, known: np.ndarray, finer: float, sigma: float, threads: int) -> np.ndarray:
    """(h, w, 3) float32: the detail of ``rgb`` (h, w, 3) uint8 between Gaussians ``finer`` and ``sigma`` (px; the
    photo itself when ``finer`` is 0), from the ``known`` (h, w) bool pixels only and 0 elsewhere. A high-pass
    of the clean pixels alone (normalised blurs): the ink's darkness must not ring into the detail of the skin
    next to it, or every copied patch would carry a halo. Made in row strips, each read with the blur's reach
    of rows around it, so each strip's rows are what one pass over the box gives."""
    def detail(rgb_rows, known_rows):
        src, weight = rgb_rows.astype(np.float32), known_rows.astype(np.float32)
        return (_clean_blur(src, weight, finer) - _clean_blur(src, weight, sigma)) * weight[..., None]

    return by_rows(detail, (rgb, known), np.empty(rgb.shape, np.float32), threads,
                   blur_reach(max(sigma, finer), eight_bit=False))


def _window_count(mask: np.ndarray, p: int, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """(n,) int: how many pixels of ``mask`` (h, w) bool lie in the (p, p) window at each corner (``ys``, ``xs``),
    the window cut at the array's edge. From one integral image: a box filter of the whole array at float32
    took 0.15 s of a 12 MP box to be read at a few thousand corners."""
    h, w = mask.shape
    total = cv2.integral(mask.view(np.uint8))
    y1, x1 = np.minimum(ys + p, h), np.minimum(xs + p, w)
    return total[y1, x1] - total[ys, x1] - total[y1, xs] + total[ys, xs]


def _bounds(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(y0, x0, y1, x1), the bounding box of the pixels of ``mask`` (h, w) bool (end exclusive), or None when
    there are none. OpenCV's one pass: ``np.nonzero`` built two index arrays of a 12 MP fill to take their ends."""
    x, y, w, h = cv2.boundingRect(np.ascontiguousarray(mask).view(np.uint8))
    return (y, x, y + h, x + w) if w > 0 else None


def _channel_std(x: np.ndarray, where: np.ndarray) -> np.ndarray:
    """(3,) float64 standard deviation of each channel of ``x`` (h, w, 3) float32 over ``where`` (h, w) bool
    (OpenCV's masked pass: numpy's gather of a 12 MP region and its column-wise reduction took ~0.5 s)."""
    return cv2.meanStdDev(x, mask=where.astype(np.uint8))[1].ravel()


def _add_patches(acc: np.ndarray, wsq: np.ndarray, ty: np.ndarray, tx: np.ndarray, sources: np.ndarray,
                 sy: np.ndarray, sx: np.ndarray, win: np.ndarray, threads: int = 1) -> None:
    """Add windowed source patches to ``acc`` (h, w, 3) and their squared window to ``wsq`` (h, w), in place.

    Target corners (``ty``, ``tx``) lie on a grid one patch apart (one phase of ``skin_texture``), except
    the last row or column, moved back inside the box; ``sources`` is ``sliding_window_view`` of the detail
    and (``sy``, ``sx``) the source corners. The grid is laid as one block array; the few moved patches,
    which may overlap it, are added one by one. The grid's block rows are laid in ``threads`` strips at once."""
    p = win.shape[0]
    y0, x0 = int(ty.min()), int(tx.min())
    on_grid = ((ty - y0) % p == 0) & ((tx - x0) % p == 0)
    iy, ix = (ty[on_grid] - y0) // p, (tx[on_grid] - x0) // p
    gy, gx = sy[on_grid], sx[on_grid]
    cols = int(ix.max()) + 1 if ix.size else 0

    def lay(r0, r1):  # block rows r0..r1 of the grid; the strips' pixels do not overlap
        sel = (iy >= r0) & (iy < r1)
        rows = r1 - r0
        # Laid out as the image is (block row, y, block column, x), so adding it needs no transposed copy.
        blocks = np.zeros((rows, p, cols, p, 3), np.float32)
        blocks[iy[sel] - r0, :, ix[sel]] = sources[gy[sel], gx[sel]].transpose(0, 2, 3, 1) * win[None, ..., None]
        acc[y0 + r0 * p:y0 + r1 * p, x0:x0 + cols * p] += blocks.reshape(rows * p, cols * p, 3)
        present = np.zeros((rows, cols), np.float32)
        present[iy[sel] - r0, ix[sel]] = 1.0
        wsq[y0 + r0 * p:y0 + r1 * p, x0:x0 + cols * p] += np.kron(present, win * win)

    if iy.size:
        for_strips(lay, int(iy.max()) + 1, threads, min_rows=8)
    for y, x, fy, fx in zip(ty[~on_grid], tx[~on_grid], sy[~on_grid], sx[~on_grid], strict=True):
        acc[y:y + p, x:x + p] += sources[fy, fx].transpose(1, 2, 0) * win[..., None]
        wsq[y:y + p, x:x + p] += win * win


def _clean_blur(src: np.ndarray, weight: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of (h, w, 3) float32 ``src`` over the pixels of ``weight`` (h, w) float32 only; ``src``
    itself when ``sigma`` is 0."""
    if sigma <= 0:
        return src
    return cv2.GaussianBlur(src * weight[..., None], (0, 0), sigma) / np.maximum(
        cv2.GaussianBlur(weight, (0, 0), sigma), 1e-4)[..., None]


def layered_texture(rgb: np.ndarray, known: np.ndarray, target: np.ndarray, sigma: float, levels: int,
                    seed: int, threads: int = 1) -> np.ndarray:
    """Real skin texture in ``levels`` octave bands: (h, w, 3) float32, zero outside ``target``.

    Band 0 is ``skin_texture``'s detail finer than ``sigma``. Band ``l`` >= 1 is the detail between
    ``sigma * 2**(l-1)`` and ``sigma * 2**l`` px (skin's relief: creases, the shading of pores, veins),
    copied the same way at 1/2**l of the size, where the same patch covers 2**l times the skin, and
    contrast-matched in its own band. The membrane under it is smooth at every scale, so without the
    coarser bands a large fill looks like a flat, airbrushed patch even with the right grain.
    rgb: (h, w, 3) uint8 box. known, target: (h, w) bool, and threads, as in ``skin_texture``.
    """
    out = skin_texture(rgb, known, target, sigma, seed, threads=threads)
    h, w = known.shape
    for level in range(1, levels):
        scale = 0.5 ** level
        size = (round(w * scale), round(h * scale))
        if min(size) < 16:
            break
        small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        clean = cv2.resize(known.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0.99
        wanted = cv2.resize(target.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0
        band = skin_texture(small, clean, wanted, sigma, seed + level, finer=sigma / 2, threads=threads)
        out += cv2.resize(band, (w, h), interpolation=cv2.INTER_LINEAR)
    if levels > 1:  # the coarser bands are scaled up past the target; the finest is zero outside it already
        out *= target[..., None]
    return out


def lab_difference(rgb: np.ndarray, base: np.ndarray) -> np.ndarray:
    """(h, w, 3) float32 Lab difference (dL, da, db) of each pixel of ``rgb`` (h, w, 3) uint8 from ``base``
    (h, w, 3) float32 0..255, the skin predicted there (``skin_base``)."""
    return to_lab(rgb) - to_lab(base)


def lab_distance(rgb: np.ndarray, base: np.ndarray) -> np.ndarray:
    """(h, w) float32 Delta E (Lab distance) of each pixel of ``rgb`` (h, w, 3) uint8 from ``base`` (h, w, 3)
    float32 0..255, the skin predicted there (``skin_base``)."""
    return np.linalg.norm(lab_difference(rgb, base), axis=2)


def density(rgb: np.ndarray, base: np.ndarray, settings: FillSettings) -> np.ndarray:
    """How much each pixel is to be filled, (h, w) float32 0..1, from its Lab distance to ``base``.

    rgb: (h, w, 3) uint8. base: (h, w, 3) float32 0..255, the predicted skin (``skin_base``).
    Dense ink is far from any skin colour; faded ink is close to it (the network unmixes it).
    """
    if settings.whole_mask:  # no need to measure the ink
        return np.ones(rgb.shape[:2], np.float32)
    dist = lab_distance(cv2.GaussianBlur(rgb, (0, 0), 1.0), base)
    d = np.clip((dist - settings.dense_from) / max(settings.dense_to - settings.dense_from, 1e-3), 0.0, 1.0)
    # An ink line's soft edge is filled with the line: a small dilation and blur, no hard switch.
    d = cv2.dilate(d, np.ones((3, 3), np.uint8))
    d = cv2.GaussianBlur(d, (0, 0), 1.5)
    return np.maximum(d, np.float32(settings.floor)).astype(np.float32)


def _clean_skin(rgb: np.ndarray, clean: np.ndarray, skip_edge_band: bool = True,
                skin: np.ndarray | None = None, threads: int = 1) -> np.ndarray:
    """The pixels of ``clean`` (h, w) bool that look like bare skin: the references for shading and texture.

    Skin only, when enough is: a box drawn over a forearm also covers the bed sheet beside it, whose
    colour and folds are not what the skin under the ink looks like. Skin is what the colour box
    (``skin_coloured``) takes for skin and, where the model has a skin network, what its map ``skin``
    (h, w) bool also calls skin. The colour box alone also takes a beige wall, a wooden stool or pink
    paving for skin, and a dark arm filled from them came out as a pale patch; the map alone, scaled up
    from the network's working size, reaches a few pixels past a limb's edge onto the background, and
    those pixels, next to the region, darkened or tinted the fill. With too little of both, the colour
    box decides. With ``skip_edge_band``,
    not the first ``OUTLINE_GAP`` of the box's side next to the mask: a detected mask leaves the tattoo's
    halo just outside it. Without it the fill meets the skin that touches the region without a step (a
    user's region). And not the pixels far in Lab from the skin around them (the rest of the outline, a
    neighbouring tattoo's ink): taken as skin, they would darken the whole fill.
    """
    coloured = clean & _skin_coloured(rgb, threads)
    known = clean
    for on_skin in ((coloured & skin,) if skin is not None else ()) + (coloured,):
        if on_skin.sum() >= max(MIN_KNOWN, MIN_SKIN_SHARE * clean.sum()):
            known = on_skin
            break
    if skip_edge_band:
        h, w = known.shape
        gap = max(3, round(OUTLINE_GAP * max(h, w)))
        away = known & (cv2.distanceTransform(clean.astype(np.uint8), cv2.DIST_L2, 3) > gap)
        known = away if away.sum() >= MIN_KNOWN else known
    cleaner = known & ~_ink_like(rgb, known)
    return cleaner if cleaner.sum() >= MIN_KNOWN else known


def _skin_coloured(rgb: np.ndarray, threads: int) -> np.ndarray:
    """``skin_coloured`` of ``rgb`` (h, w, 3) uint8 made in row strips on ``threads`` threads: (h, w) bool."""
    return by_rows(skin_coloured, (rgb,), np.empty(rgb.shape[:2], bool), threads, SKIN_COLOURED_REACH)


def _small(rgb: np.ndarray) -> np.ndarray:
    """``rgb`` (h, w, 3) uint8 shrunk to the working size (long side ``WORK_SIDE``): (h', w', 3) uint8."""
    return cv2.resize(rgb, working_size(*rgb.shape[:2], WORK_SIDE), interpolation=cv2.INTER_AREA)


def _small_lab(rgb: np.ndarray) -> np.ndarray:
    """``_small(rgb)`` in Lab: (h', w', 3) float32."""
    return to_lab(_small(rgb))


def _local_skin(rgb: np.ndarray, known: np.ndarray, lab: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``rgb`` (h, w, 3) uint8 in Lab at the working size, and the mean Lab of the ``known`` (h, w) bool
    pixels around each pixel (``OUTLIER_SIGMA``): two (h', w', 3) float32 arrays. ``lab``: ``_small_lab(rgb)``
    when the caller has it already (a 12 MP box takes 40-60 ms to shrink)."""
    lab = _small_lab(rgb) if lab is None else lab
    size = (lab.shape[1], lab.shape[0])
    return lab, _clean_blur(lab, _shrunk(known, size), max(2.0, OUTLIER_SIGMA * max(size)))


def _ink_like(rgb: np.ndarray, known: np.ndarray,
              local_skin: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """(h, w) bool: the pixels of ``rgb`` (h, w, 3) uint8 farther than ``OUTLIER_LAB`` in Lab from the mean
    of the ``known`` (h, w) bool pixels around them (``OUTLIER_SIGMA``), grown by one pixel: ink, not skin.
    ``local_skin``: ``_local_skin(rgb, known)`` when the caller has it already."""
    h, w = known.shape
    lab, local = local_skin if local_skin is not None else _local_skin(rgb, known)
    ink_like = (np.linalg.norm(lab - local, axis=2) > OUTLIER_LAB).astype(np.uint8)
    ink_like = cv2.dilate(cv2.resize(ink_like, (w, h), interpolation=cv2.INTER_NEAREST), np.ones((3, 3), np.uint8))
    return ink_like.astype(bool)


def _shift(rgb: np.ndarray, known: np.ndarray, channels: list[int],
           local_skin: tuple[np.ndarray, np.ndarray] | None = None, threads: int = 1) -> np.ndarray:
    """(h, w, len(channels)) float32: each pixel of ``rgb`` (h, w, 3) uint8 at full size minus the mean of the
    ``known`` (h, w) bool pixels around it, in the Lab ``channels`` (0 = L, 1 = a). ``local_skin`` as in
    ``_ink_like``."""
    h, w = known.shape
    local = (local_skin if local_skin is not None else _local_skin(rgb, known))[1]
    local = cv2.resize(np.ascontiguousarray(local[..., channels]), (w, h), interpolation=cv2.INTER_LINEAR)
    lab = by_rows(lambda x: to_lab(x)[..., channels], (rgb,), np.empty((h, w, len(channels)), np.float32), threads)
    return lab - local.reshape(h, w, len(channels))


def outline_gap(box: Box) -> int:
    """px: how far outside a mask a tattoo's outline and halo may lie, for a region in ``box``."""
    return max(3, round(OUTLINE_GAP * max(box[2] - box[0], box[3] - box[1])))


def snap_outline(rgb: np.ndarray, alpha: np.ndarray, boxes: list[Box], soft_edge: bool = False,
                 halo: bool = False, threads: int = 1) -> list[Box]:
    """Take the tattoo's outline that a mask leaves just outside its edge into the mask, in place.

    A mask drawn by hand, or found by the detector, often stops on the dark line around a piece or
    inside its soft halo; filled up to there, the line stays and draws the region's border. Here the
    pixels within ``outline_gap`` of the mask's core (``alpha >= 0.5``) that are ink-like (far in Lab
    from the skin beyond that band, ``_ink_like``) and connected to the core through such pixels get
    ``alpha = 1``. With ``soft_edge``, the line's blurred edge up to ``outline_gap`` further out
    (``_take_soft_edge``: skin-coloured, darker than that skin by more than its grain, connected to the
    mask's inked edge) gets an alpha fading from 1 to 0 across that band, the way a retoucher's soft brush
    in *Lighten* mode takes a halo. With ``halo`` too, that edge also takes the redder skin next to the line,
    up to twice as far (``_take_soft_edge``).
    rgb: (H, W, 3) uint8. alpha: (H, W) float32 0..1. boxes: boxes (x0, y0, x1, y1) holding every masked
    pixel. threads: the soft edge's full-size colour passes run in that many row strips (the same result).
    Returns boxes holding the grown mask (each grown by its gap, twice with ``soft_edge``, three times with
    ``halo``; merged).
    """
    h, w = alpha.shape
    grown_boxes = []
    for box in boxes:
        gap, (gx0, gy0, gx1, gy1), a, core = _outline_box(alpha, box)
        if not core.any():
            grown_boxes.append(box)
            continue
        rgb_box = rgb[gy0:gy1, gx0:gx1]
        lab = alongside(_small_lab, rgb_box, threads=threads)
        near = cv2.distanceTransform((~core).astype(np.uint8), cv2.DIST_L2, 3) <= gap
        skin_beyond = ~near & (a == 0)
        if skin_beyond.sum() < MIN_KNOWN:
            lab.result()
            grown_boxes.append(box)
            continue
        lab = lab.result()
        ink_like = _ink_like(rgb_box, skin_beyond, _local_skin(rgb_box, skin_beyond, lab))
        allowed = (core | (near & (a < 1) & ink_like)).astype(np.uint8)
        grown = _connected(core, allowed)  # only through ink-like pixels, all within ``gap`` px
        _take(a, core, grown & ~core, gap)
        if soft_edge:
            _take_soft_edge(rgb_box, a, grown, skin_beyond, gap, halo, threads, lab)
        grown_boxes.append(_grow(box, gap + (_soft_edge_reach(gap, halo) if soft_edge else 0), h, w))
    return merge_boxes(grown_boxes)


def take_enclosed_ink(rgb: np.ndarray, alpha: np.ndarray, boxes: list[Box], threads: int = 1) -> None:
    """Take the ink a mask encloses but missed into it, in place.

    The detector often leaves islands inside a colour piece (a red comb, a yellow beak: ink it takes for
    skin). Left out of the mask they stay in the result, and the fill, which takes them for skin around it,
    glows in their colour. An island is what the mask's core (``alpha >= 0.5``) encloses (not connected to
    the edge of the box grown by 3 ``outline_gap``). Its pixels get ``alpha = 1`` where they are both far
    from the skin predicted there (``OUTLIER_LAB`` in Lab from the membrane of the skin beyond the mask)
    and nearer to the ink around them (the mean Lab of the masked pixels nearby) than to that skin; a
    nipple or a patch of bare skin inside a black piece is nearer to the skin, and stays.
    rgb: (H, W, 3) uint8. alpha: (H, W) float32 0..1. boxes: boxes (x0, y0, x1, y1) holding every masked
    pixel; the islands lie inside them, so they still do. threads: 2 or more shrink the photo beside the mask.
    """
    for box in boxes:
        gap, (gx0, gy0, gx1, gy1), a, core = _outline_box(alpha, box)
        enclosed = _enclosed(~core)
        if not enclosed.any():
            continue
        # The skin and ink colours are smooth: measured at the membrane's working size (a 12 MP box at full
        # size took a second), and only the islands' own pixels at full size.
        size = working_size(*core.shape, WORK_SIDE)
        scale = size[0] / core.shape[1]
        small = alongside(_small, rgb[gy0:gy1, gx0:gx1], threads=threads)
        core_small = _shrunk(core, size)
        far = cv2.distanceTransform((core_small < 0.5).astype(np.uint8), cv2.DIST_L2, 3) > max(1.0, gap * scale)
        beyond = far & (_shrunk((a == 0) & ~enclosed, size) > 0.99)
        small = small.result()
        if beyond.sum() < MIN_KNOWN:
            continue
        skin = to_lab(skin_base(small, _clean_skin(small, beyond, False)))
        ink = _clean_blur(to_lab(small), core_small, max(2.0, 0.1 * max(size)))
        ys, xs = np.nonzero(enclosed)
        sy = np.minimum((ys * scale).astype(np.int64), size[1] - 1)
        sx = np.minimum((xs * scale).astype(np.int64), size[0] - 1)
        lab = to_lab(rgb[gy0 + ys, gx0 + xs][:, None])[:, 0]
        to_skin = np.linalg.norm(lab - skin[sy, sx], axis=1)
        take = (to_skin > OUTLIER_LAB) & (np.linalg.norm(lab - ink[sy, sx], axis=1) < to_skin)
        taken = np.zeros_like(core)
        taken[ys[take], xs[take]] = True
        _take(a, core, taken, gap)


def _outline_box(alpha: np.ndarray, box: Box) -> tuple[int, Box, np.ndarray, np.ndarray]:
    """What the outline snap and the enclosed-ink step read around a box (x0, y0, x1, y1) of the mask ``alpha``
    (H, W) float32: its ``outline_gap``, the box grown by 3 gaps (clipped to the photo), ``alpha`` there (a
    view: writing it writes the mask) and the mask's core there (``alpha >= 0.5``, (h, w) bool)."""
    gap = outline_gap(box)
    grown = _grow(box, 3 * gap, *alpha.shape)
    a = alpha[grown[1]:grown[3], grown[0]:grown[2]]
    return gap, grown, a, a >= 0.5


def _take(alpha: np.ndarray, core: np.ndarray, new: np.ndarray, width: int) -> None:
    """Set ``alpha`` (h, w) float32 to 1, in place, on the ``new`` (h, w) bool ink taken into the mask, and on
    the mask's own feather next to it: the pixels of ``core`` (h, w) bool (``alpha >= 0.5``) below 1 within
    ``width`` px of the new ink. That feather was the edge of a hole or a notch; once the ink beyond it is
    taken it lies between ink and ink, and left below 1 it let a share of the ink through, a dotted outline
    of the hole in the fill (experiment 43)."""
    bounds = _bounds(new)
    if bounds is None:
        return
    alpha[new] = 1.0
    # Within the new ink's box grown by ``width`` only: the distances there are those of the whole box (a
    # chamfer path never leaves the rectangle spanned by its ends), and a full 12 MP box took 0.06 s a call.
    h, w = new.shape
    y0, x0 = max(0, bounds[0] - width - 1), max(0, bounds[1] - width - 1)
    y1, x1 = min(h, bounds[2] + width + 1), min(w, bounds[3] + width + 1)
    near = cv2.distanceTransform((~new[y0:y1, x0:x1]).astype(np.uint8), cv2.DIST_L2, 3) <= width
    alpha[y0:y1, x0:x1][near & core[y0:y1, x0:x1]] = 1.0


def _shrunk(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(h', w') float32: the share of ``mask`` (h, w) bool in each pixel at ``size`` (w', h')."""
    return cv2.resize(mask.astype(np.float32), size, interpolation=cv2.INTER_AREA)


def _enclosed(open_: np.ndarray) -> np.ndarray:
    """(h, w) bool: the pixels of ``open_`` (h, w) bool not 4-connected through ``open_`` to the array's edge."""
    count, labels = cv2.connectedComponents(open_.astype(np.uint8), connectivity=4)
    inner = np.ones(count, bool)
    inner[0] = False  # the background label: not open
    inner[np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])] = False
    return inner[labels]


def seeded_regions(allowed: np.ndarray, seed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The 8-connected regions of ``allowed`` (h, w) uint8 0/1: their (h, w) int32 labels (0 outside them) and a
    (count,) bool that is True for each region holding a pixel of ``seed`` (h, w) bool (never for label 0).
    Hysteresis in one labelling pass: a geodesic dilation took one full-size pass per pixel of reach (74 passes,
    0.37 s of a 12 MP piece)."""
    count, labels = cv2.connectedComponents(allowed, connectivity=8)
    hit = np.bincount(labels[seed], minlength=count) > 0
    hit[0] = False
    return labels, hit


def region_means(values: np.ndarray, labels: np.ndarray, count: int) -> np.ndarray:
    """(count,) float64: the mean of ``values`` (h, w) over each region of ``labels`` (h, w) int 0..count - 1
    (as ``seeded_regions`` gives them); 0 for a label with no pixel."""
    total = np.bincount(labels.ravel(), values.ravel().astype(np.float64), count)
    return total / np.maximum(np.bincount(labels.ravel(), minlength=count), 1)


def _connected(seed: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """(h, w) bool: the pixels of ``allowed`` (h, w) uint8 0/1 8-connected through it to ``seed`` (h, w) bool."""
    labels, hit = seeded_regions(allowed, seed)
    return hit[labels]


def _soft_edge_reach(gap: int, halo: bool) -> int:
    """px past the snapped line that the soft edge may take: ``gap``, twice that with the halo."""
    return 2 * gap if halo else gap


def _take_soft_edge(rgb: np.ndarray, alpha: np.ndarray, mask: np.ndarray, beyond: np.ndarray, gap: int,
                    halo: bool = False, threads: int = 1, lab: np.ndarray | None = None) -> None:
    """Raise ``alpha`` (h, w) float32, in place, on the blurred edge of the line the ``mask`` (h, w) bool
    ends on: the skin-coloured pixels of ``rgb`` (h, w, 3) uint8 darker than the skin of ``beyond``
    (h, w) bool by more than its own grain (``SOFT_EDGE_GRAIN`` standard deviations), connected through
    such pixels to the mask's ink-like edge, at most ``gap`` px away: 1 next to the mask, 0 at ``gap + 1``
    px. Where the mask's edge runs through skin or background (a box), nothing is taken: dark background
    and clothes are not skin-coloured, skin is not darker than itself, and a dark pore is not connected.
    With ``halo``, a pixel redder (Lab a) than that skin by more than its grain is taken too, up to ``2 * gap``
    px away: a fresh tattoo's inflamed halo, which follows the line at a steady width. ``lab``:
    ``_small_lab(rgb)`` when the caller has it already."""
    coloured = _skin_coloured(rgb, threads)
    skin = beyond & coloured
    if skin.sum() < max(MIN_KNOWN, MIN_SKIN_SHARE * beyond.sum()):
        return
    edge = mask & (cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 3) <= gap)
    local_skin = _local_skin(rgb, skin, lab)
    line = edge & _ink_like(rgb, skin, local_skin)
    if not line.any():
        return
    shift = _shift(rgb, skin, [0, 1] if halo else [0], local_skin, threads)
    dark = -shift[..., 0]
    differs = dark > SOFT_EDGE_GRAIN * float(dark[skin].std())
    if halo:
        red = shift[..., 1]
        differs |= red > SOFT_EDGE_GRAIN * float(red[skin].std())
    reach = _soft_edge_reach(gap, halo)
    dist = cv2.distanceTransform((~line).astype(np.uint8), cv2.DIST_L2, 3)
    candidate = ~mask & coloured & differs & (dist <= reach)
    band = _connected(line, (line | candidate).astype(np.uint8)) & candidate  # the grain is not connected
    alpha[band] = np.maximum(alpha[band], np.clip(1.0 - (dist[band] - 1.0) / reach, 0.0, 1.0))


def _grow(box: Box, margin: int, h: int, w: int) -> Box:
    x0, y0, x1, y1 = box
    return max(0, x0 - margin), max(0, y0 - margin), min(w, x1 + margin), min(h, y1 + margin)


def _mix_fill(out: np.ndarray, src: np.ndarray, a: np.ndarray, f: np.ndarray | None, fill: np.ndarray,
              where: np.ndarray, origin: tuple[int, int], threads: int = 1) -> None:
    """Write ``src + a * ((1 - f) * net + f * fill - src)`` into ``out`` (H, W, 3) uint8 at the ``where`` pixels,
    in place; ``net`` is what ``out`` holds there (already ``src + a * (net - src)``). src (h, w, 3) uint8,
    a and f (h, w) float32, fill (h, w, 3) float32 and where (h, w) bool cover the box at ``origin`` (x, y).
    ``f`` None: 1 everywhere (the whole mask filled), and ``net`` is not read. A dense region is mixed in
    ``threads`` row strips at once."""
    y0, x0, y1, x1 = _bounds(where)
    def mixed(net, s, a_, f_, fill_):  # uint8 net and src; a and f broadcast over the channels
        s = s.astype(np.float32)
        filled = s + a_ * (fill_ - s)
        return np.clip(np.rint(filled if f_ is None else (1.0 - f_) * net + f_ * filled), 0, 255).astype(np.uint8)

    def at(x, index):  # f's pixels, with a channel axis, or None
        return None if x is None else x[index][..., None]

    if cv2.countNonZero(where.view(np.uint8)) > 0.3 * (y1 - y0) * (x1 - x0):  # dense: whole-rectangle arithmetic beats gathers
        def strip(r0, r1):
            box = (slice(y0 + r0, y0 + r1), slice(x0, x1))
            target = out[origin[1] + y0 + r0:origin[1] + y0 + r1, origin[0] + x0:origin[0] + x1]
            np.copyto(target, mixed(target, src[box], a[box][..., None], at(f, box), fill[box]),
                      where=where[box][..., None])

        for_strips(strip, y1 - y0, threads)
        return
    ys, xs = np.nonzero(where)
    oy, ox = origin[1] + ys, origin[0] + xs
    out[oy, ox] = mixed(out[oy, ox], src[ys, xs], a[ys, xs][:, None], at(f, (ys, xs)), fill[ys, xs])


def fill_skin(rgb: np.ndarray, out: np.ndarray, alpha: np.ndarray, boxes: list[Box],
              settings: FillSettings, skin_small: np.ndarray | None = None, skin_gate: float = 0.5,
              threads: int = 1) -> list[Box]:
    """Mix the skin fill into ``out``, in place, where ink is dense (everywhere in the mask with ``floor`` 1);
    returns the boxes holding masked pixels that were not filled at all (too little clean skin around them,
    or no dense ink).

    rgb: (H, W, 3) uint8, the photo. out: (H, W, 3) uint8, the network's restoration blended by ``alpha``
    (``rgb + alpha * (net - rgb)``; with ``floor`` 1 a filled pixel does not read it). alpha: (H, W) float32
    0..1, the mask. boxes: boxes (x0, y0, x1, y1) holding every masked pixel. Per pixel, with fill weight
    ``f`` (``density``), the result is ``rgb + alpha * ((1 - f) * net + f * fill - rgb)``; pixels with
    ``alpha == 0`` are not written. skin_small: (hs, ws) float32 0..1, the skin network's skin probability
    over the whole photo at its working size, or None; where it reaches ``skin_gate`` is where the fill takes
    its reference skin from (``_clean_skin``). threads: the texture's full-size passes run on that many
    threads (``skin_texture``); the output does not depend on it.
    """
    restorer = load_restorer() if settings.learned_base else None
    return [box for box in boxes if alpha[box[1]:box[3], box[0]:box[2]].any()
            and not _fill_box(rgb, out, alpha, box, settings, skin_small, skin_gate, restorer, threads)]


def _fill_box(rgb: np.ndarray, out: np.ndarray, alpha: np.ndarray, box: Box, settings: FillSettings,
              skin_small: np.ndarray | None, skin_gate: float, restorer: LowFreqRestorer | None,
              threads: int) -> bool:
    """``fill_skin`` for one box holding masked pixels; False when nothing was filled (too little clean skin
    around it to copy, or no dense ink in it)."""
    h, w = alpha.shape
    x0, y0, x1, y1 = box
    margin = max(24, min(MAX_MARGIN, round(settings.margin * max(x1 - x0, y1 - y0))))
    gx0, gy0, gx1, gy1 = _grow(box, margin, h, w)
    a = alpha[gy0:gy1, gx0:gx1]
    masked = a > 0
    src = rgb[gy0:gy1, gx0:gx1]
    skin = None if skin_small is None or not settings.skin_reference else (
        upsample_region(skin_small, (w, h), (gx0, gy0, gx1, gy1)) >= skin_gate)
    known = _clean_skin(src, ~masked, settings.skip_edge_band, skin, threads)
    if known.sum() < MIN_KNOWN:
        return False
    # The shading is made beside the texture copy when the whole mask is filled: then nothing else waits for it.
    shading = alongside(_shading, src, known, masked, restorer, threads=threads)
    f = None if settings.whole_mask else density(src, shading.result(), settings)
    own = np.zeros_like(masked)  # write only this box's pixels (the grown boxes may overlap)
    own[y0 - gy0:y1 - gy0, x0 - gx0:x1 - gx0] = True
    fill_here = masked & own if f is None else masked & own & (f > 0)
    if not fill_here.any():
        shading.result()
        return False
    seed = zlib.crc32(src[::7, ::7].tobytes())
    fill = layered_texture(src, known, fill_here, settings.texture_sigma, settings.texture_levels, seed, threads)
    fill += shading.result()
    _mix_fill(out, src, a, f, fill, fill_here, (gx0, gy0), threads)
    return True


def _shading(src: np.ndarray, known: np.ndarray, masked: np.ndarray,
             restorer: LowFreqRestorer | None) -> np.ndarray:
    """(h, w, 3) float32 0..255: the skin's low frequencies under the region (``skin_base``), with the learned
    restorer's residual when there is one (the membrane's missing relief and colour drift, learned on real skin)."""
    base = skin_base(src, known)
    return base if restorer is None else learned_base(src, known, masked, base, restorer)
