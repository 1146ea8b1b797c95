"""Detect small, restore at full resolution (DESIGN.md idea 2).

1. ``detect``: the network runs on the photo shrunk to a working size (long side ``detect_size``); the
   ink probability is upsampled to full size.
2. mask: threshold, drop specks, dilate a little, feather (with ``mask_mode="replace"``, the user's mask
   itself); with the fill on, snap it onto the outline left just outside it (``fill.snap_outline``);
   then the user's mask (only there, in "limit" mode), the keep mask (never there) and face protection
   (eyes, brows, lips, nostrils) cut it.
3. restore: boxes around the masked ink (plus context) are cut from the full-size photo and run through
   the network in overlapping tiles, at the photo's own resolution (or, for photos over
   ``restore_pixels`` or with a long side over ``restore_side``, at a reduced scale with the
   *correction* upsampled, see ``_restore``).
4. composite: ``out = in + alpha * (clean - in)``, only inside the boxes; where alpha is 0 the output
   is the input, bit for bit. Cost grows with the ink area, not with the megapixels.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from functools import cached_property

import cv2
import numpy as np

from skindeep.colour import to_lab
from skindeep.remove.face import FaceProtector, face_hull, hair_zone
from skindeep.remove.fill import (
    OUTLIER_LAB,
    FillSettings,
    fill_skin,
    region_means,
    snap_outline,
    take_enclosed_ink,
)
from skindeep.remove.gate import gate_blobs
from skindeep.remove.grain import add_grain
from skindeep.remove.resample import Box, merge_boxes, resize, upsample_region
from skindeep.remove.session import DEFAULT_RESTORE_SIDE, MODEL_SETTINGS, InkModel
from skindeep.remove.strips import alongside, default_threads
from skindeep.remove.tone import apply_tone_shift, tone_shift


@dataclass
class Result:
    """The outcome of one removal.

    image: (H, W, 3) uint8, same size as the input; pixels with ``ink_mask == 0`` are bit-identical.
    ink_mask: (H, W) uint8 0..255, the mask actually applied (after user mask, keep and face
        protection; before ``strength``).
    ink_prob: (H, W) float32 0..1, the raw detection at full size.
    layer: (H, W, 4) uint8 RGBA ink layer: the original pixels, alpha = ``ink_mask``. Stacked over
        ``image`` in an editor it brings the tattoo back. Made when first read, from ``original``: at
        12 MP the stack is 48 MB and 0.1-0.2 s that most callers (a batch without ``--save-layers``, the
        video) never use.
    original: (H, W, 3) uint8, the photo as the removal read it (the caller's own array when that was
        already uint8 RGB: not a copy, so change it only after reading ``layer``).
    seconds: wall time of the removal.
    """

    image: np.ndarray
    ink_mask: np.ndarray
    ink_prob: np.ndarray
    original: np.ndarray = field(repr=False)
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)

    @cached_property
    def layer(self) -> np.ndarray:
        return np.dstack([self.original, self.ink_mask])


MASK_MODES = ("limit", "replace")
SPILL_SKIN_SHARE = 0.5  # a replace region keeps the non-skin it spills onto when at least this share of it is skin


@dataclass
class PipelineConfig:
    """Knobs of the pipeline. Sizes in pixels; ``None`` means "from the model's metadata"."""

    detect_size: int | None = None  # long side of the photo as the detector sees it
    # Above this long side, restore at reduced scale (correction upsampled). None = the model's
    # recommendation: the network restores best near the scale it was trained at (docs/training.md).
    restore_side: int | None = None
    # Also cap the restore-scale area: the network, trained on small photos, restores better and faster
    # at <= 0.6 MP than at full size (benchmarks/remove_speed.md, "Restore scale"). None = no cap.
    restore_pixels: int | None = 600_000
    # Gaussian sigma (px at the working scale) of the softening applied to the network's input; the
    # photo's own detail is put back wherever the network sees no ink. None = the model's metadata.
    input_blur: float | None = None
    tile: int = 640  # side of a restore tile's core, at restore scale
    context: int = 48  # margin around each core the network also sees; tiles blend over it
    max_pass_pixels: int = 1_100_000  # largest single network input (bounds memory), at restore scale
    grow: float = 1 / 800  # mask dilation radius as a fraction of the long side (min 1 px)
    feather: float = 1 / 600  # feather width (alpha 1 -> 0) as a fraction of the long side (min 1.5 px)
    min_speck: int = 6  # drop ink blobs smaller than this many pixels *at detection scale*
    # Shift the restored area's low-frequency colour toward the skin around it (0 = off, 1 = fully):
    # the network brings colour ink back as white/grey blotches (skindeep.remove.tone).
    tone_match: float = 1.0
    tone_sigma: float = 0.06  # "around", as a fraction of the long side
    # Add the fine texture (pores, grain) the fill lacks compared with the skin around it (0 = off, 1 =
    # all of it; skindeep.remove.grain): dense ink comes back as a smooth patch otherwise. Off by
    # default: real_score.py counts the grain as edge energy left in the tattoo (edge 0.66 -> 0.69 at
    # 0.4, 0.76 at 1; docs/experiments.md, experiment 7).
    grain: float = 0.0
    # Ink is removed only where the network's skin head (skindeep.model.skin) gives at least this skin
    # probability: clothing, hair and backgrounds are never repainted. 0 = off; a model without a skin
    # head falls back to the colour gate below.
    skin_gate: float = 0.5
    # Colour gate, for models without a skin head: drop detected blobs with less than this share of
    # skin-coloured pixels around them (hair, prints on clothes, dark backgrounds; skindeep.remove.gate).
    # 0 = off.
    min_skin_around: float = 0.05
    # Hysteresis: pixels above this lower threshold join a blob that reaches the threshold (the
    # detector is sure of part of a tattoo and unsure of the rest). 0 = off.
    grow_threshold: float | None = None  # None = the model's metadata
    # Also detect at this smaller long side (None = the model's metadata, 0 = off): large dense pieces
    # (portraits, sleeves) look like the training tattoos only when shrunk, and at 320 px the detector
    # finds their outlines but not their shaded middles. A detected blob grows into what the coarse view
    # calls ink, where the fine view gives at least ``coarse_support`` (so a confident speck on a printed
    # dress does not spread over the whole dress). docs/experiments.md, experiment 7.
    coarse_detect_size: int | None = None
    coarse_support: float | None = None
    # Average the detector over the photo and its mirror image: a false alarm is rarely as sure of itself
    # in both, real ink is (clean photos 0.43 % -> 0.38 % changed, real-dev as good or better;
    # docs/experiments.md, experiment 7). One more pass at the detection size.
    mirror_detect: bool = True
    # Fill dense ink with real skin (skindeep.remove.fill): the skin's shading continued across the
    # region plus fine texture copied from the skin around it at full resolution, wherever the photo is
    # far from skin colour; thin ink keeps the network's unmixing. A mask_mode="replace" region is
    # filled completely. None = off (the network alone: a blurred, pale patch under opaque ink).
    fill: FillSettings | None = field(default_factory=FillSettings)
    # A mask_mode="replace" region that is mostly skin keeps what is not skin and runs into it from outside
    # (the shirt or the background a loosely painted region spills onto), by the skin head's map: filled,
    # it became a skin-coloured rectangle. Non-skin enclosed by skin inside it, and a region painted on
    # the cloth itself, are still replaced (_without_spill).
    replace_keeps_spill: bool = True


# PipelineConfig fields whose None means "the model's recommendation": one per row of MODEL_SETTINGS.
FROM_MODEL = tuple(setting.name for setting in MODEL_SETTINGS)


def as_rgb(image) -> np.ndarray:
    """A numpy array or PIL image -> (H, W, 3) uint8 RGB (alpha dropped, greyscale stacked)."""
    if not isinstance(image, np.ndarray):
        try:
            from PIL import Image as PILImage
        except ImportError:  # pragma: no cover - Pillow is a core dependency
            PILImage = None
        if PILImage is not None and isinstance(image, PILImage.Image):
            image = np.asarray(image.convert("RGB"))
        else:
            raise TypeError(f"image must be a numpy array or a PIL image, got {type(image).__name__}")
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] not in (1, 3, 4):
        raise ValueError(f"image must be (H, W), (H, W, 3) or (H, W, 4), got shape {image.shape}")
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    image = image[..., :3]
    if image.dtype == np.uint16:
        image = ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
    elif image.dtype.kind == "f":
        image = np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)
    elif image.dtype == np.bool_:
        image = image.astype(np.uint8) * 255
    elif image.dtype != np.uint8:
        raise ValueError(f"image dtype must be uint8, uint16 or float in 0..1, got {image.dtype}")
    return np.ascontiguousarray(image)


def as_mask(mask, shape: tuple[int, int], name: str) -> np.ndarray | None:
    """A user mask (numpy, PIL, or None) -> (H, W) float32 0..1 of ``shape``; bool/uint8/float accepted."""
    if mask is None:
        return None
    if not isinstance(mask, np.ndarray):
        mask = np.asarray(mask.convert("L")) if hasattr(mask, "convert") else np.asarray(mask)
    if mask.ndim == 3:
        mask = mask[..., -1] if mask.shape[2] in (2, 4) else mask.max(axis=2)
    if mask.shape != tuple(shape):
        raise ValueError(f"{name} mask is {mask.shape[1]}x{mask.shape[0]}, the image is {shape[1]}x{shape[0]}")
    if mask.dtype == np.bool_:
        return mask.astype(np.float32)
    if mask.dtype.kind == "f":
        return np.clip(mask, 0, 1).astype(np.float32)
    return mask.astype(np.float32) / 255.0


def _mask_boxes(mask: np.ndarray) -> list[Box]:
    """Non-overlapping boxes around the non-zero blobs of an (H, W) mask."""
    count, _, stats, _ = cv2.connectedComponentsWithStats((mask > 0).astype(np.uint8), connectivity=8)
    return merge_boxes([(int(x), int(y), int(x + bw), int(y + bh)) for x, y, bw, bh, _ in stats[1:count]])


def _without_spill(mask: np.ndarray, on_skin_small: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """``mask`` (H, W) float32 0..1 less what is not skin and continues outside it.

    on_skin_small: (hs, ws) float32, 1 where the skin head sees skin (``Remover._on_skin``), over the whole
    photo. rgb: (H, W, 3) uint8, the photo. A region painted over an arm that spills onto the shirt or the
    background keeps them: they run on past the region's edge in the colour they have there
    (``_grow_same_colour``, at the map's scale). What is not skin but stops at the region's edge, or has
    another colour than what lies beyond (a dense flower the skin head doubts, next to a dark background),
    stays in the region. Judged per painted region, and only in one that is mostly skin: a region painted
    on the cloth itself is what the user wants gone. Returns a new (H, W) float32 array, or ``mask`` itself when nothing is taken
    out."""
    hs, ws = on_skin_small.shape
    inside = cv2.resize((mask > 0).astype(np.uint8), (ws, hs), interpolation=cv2.INTER_NEAREST) > 0
    skin = on_skin_small >= 0.5
    regions, region_of = cv2.connectedComponents(inside.astype(np.uint8), connectivity=8)
    skin_share = region_means(skin, region_of, regions)  # read only inside the regions (label 0 is outside)
    off = inside & ~skin & (skin_share[region_of] >= SPILL_SKIN_SHARE)
    if not off.any():
        return mask
    # Grown from what lies past the region's edge (by more than a map pixel: a mask and the coarse map do
    # not line up exactly) through the region's non-skin.
    edge = cv2.dilate(inside.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    lab = to_lab(cv2.resize(rgb, (ws, hs), interpolation=cv2.INTER_AREA))
    spill = _grow_same_colour(~edge & ~skin, off | (edge & ~inside & ~skin), lab) & off
    if not spill.any():
        return mask
    # Also over the map pixels just outside the region (its mask is 0 there anyway), so that scaled up the
    # spill reaches the region's own edge: its first row of photo pixels stayed a sliver otherwise.
    spill |= cv2.dilate(spill.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & ~inside
    return mask * ~_spill_at_full_size(spill, inside & ~spill, lab, rgb)


def _spill_at_full_size(spill: np.ndarray, kept: np.ndarray, lab: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """``spill`` (h, w) bool of the skin map scaled up to the photo, ``rgb`` (H, W, 3) uint8: (H, W) bool.

    Scaled up, a map pixel is several photo pixels wide, and the edge between the kept skin and the spill
    would be a staircase across the fill. Along that edge each photo pixel goes to the side whose colour
    around it (the mean Lab of the nearby ``spill`` and ``kept`` map pixels, ``lab`` (h, w, 3)) it is
    nearer to, so the edge follows the silhouette at the photo's own resolution."""
    h, w = rgb.shape[:2]
    soft = cv2.resize(spill.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    out = soft >= 0.5
    ys, xs = np.nonzero((soft > 0.02) & (soft < 0.98))
    if len(ys) == 0:
        return out
    means = []
    for side in (spill, kept):  # sampled at the edge's pixels only: a full-size Lab map is 144 MB at 12 MP
        weight = cv2.boxFilter(side.astype(np.float32), -1, (5, 5))
        mean = cv2.boxFilter(lab * side[..., None], -1, (5, 5)) / np.maximum(weight, 1e-6)[..., None]
        means.append((_bilinear_at(mean, ys, xs, (h, w)), _bilinear_at(weight, ys, xs, (h, w))))
    px = to_lab(rgb[ys, xs][None])[0]
    (spill_mean, spill_w), (kept_mean, kept_w) = means
    nearer = np.linalg.norm(px - spill_mean, axis=1) < np.linalg.norm(px - kept_mean, axis=1)
    known = (spill_w > 0.05) & (kept_w > 0.05)  # both sides near: else the scaled-up map decides
    out[ys[known], xs[known]] = nearer[known]
    return out


def _bilinear_at(small: np.ndarray, ys: np.ndarray, xs: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``small`` (hs, ws[, c]) float32 scaled up to ``shape`` (H, W) as ``cv2.resize`` (bilinear) does, read only
    at the pixels ``ys``, ``xs`` (N,) int: (N[, c]) float32."""
    def axis(pos: np.ndarray, small_n: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        f = (pos + 0.5) * (small_n / n) - 0.5
        i = np.floor(f).astype(np.int64)
        t = (f - i).astype(np.float32)
        t[i < 0], i[i < 0] = 0.0, 0  # cv2.resize holds the edge pixel past either end
        t[i >= small_n - 1], i[i >= small_n - 1] = 0.0, small_n - 1
        return i, np.minimum(i + 1, small_n - 1), t

    y0, y1, ty = axis(ys, small.shape[0], shape[0])
    x0, x1, tx = axis(xs, small.shape[1], shape[1])
    if small.ndim == 3:
        ty, tx = ty[:, None], tx[:, None]
    top = small[y0, x0] * (1 - tx) + small[y0, x1] * tx
    bottom = small[y1, x0] * (1 - tx) + small[y1, x1] * tx
    return top * (1 - ty) + bottom * ty


def _grow_same_colour(seed: np.ndarray, may: np.ndarray, lab: np.ndarray) -> np.ndarray:
    """``seed`` (h, w) bool grown into ``may`` (h, w) bool one pixel at a time, while each new pixel's colour in
    ``lab`` (h, w, 3) float32 stays within ``OUTLIER_LAB`` of the seed colour it grew from: a change of colour
    (a flower's edge) stops it. Each grown pixel inherits its neighbours' reference, so a slow blend cannot
    carry it across. Returns (h, w) bool."""
    grown = seed.copy()
    ref = lab * grown[..., None]
    for _ in range(sum(grown.shape)):
        near = cv2.boxFilter(grown.astype(np.float32), -1, (3, 3), normalize=False)
        step = (near > 0) & may & ~grown
        if not step.any():
            break
        around = cv2.boxFilter(ref, -1, (3, 3), normalize=False) / np.maximum(near, 1)[..., None]
        step &= np.linalg.norm(lab - around, axis=2) <= OUTLIER_LAB
        if not step.any():
            break
        grown |= step
        ref[step] = around[step]
    return grown


def _cells(length: int, core: float) -> list[tuple[int, int]]:
    """Split 0..length into equal cells no longer than ``core``: [(start, end), ...]."""
    n = max(1, int(np.ceil(length / core)))
    edges = np.round(np.linspace(0, length, n + 1)).astype(int)
    return list(zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True))


def _margin_ramp(start: int, end: int, core_start: int, core_end: int, margin: int) -> np.ndarray:
    """Blend weight along one axis of a tile: 1 on the core, falling linearly over the margin (never 0)."""
    idx = np.arange(start, end)
    outside = np.maximum(np.maximum(core_start - idx, idx - (core_end - 1)), 0)
    return np.clip(1.0 - outside / (margin + 1.0), 1e-3, 1.0).astype(np.float32)


def restore_scale(h: int, w: int, cfg: PipelineConfig) -> float:
    """Scale (<= 1) at which an (h, w) photo is restored: long side <= ``restore_side`` and, when set,
    area <= ``restore_pixels``."""
    scale = min(1.0, (cfg.restore_side or DEFAULT_RESTORE_SIDE) / max(h, w))
    if cfg.restore_pixels:
        scale = min(scale, float(np.sqrt(cfg.restore_pixels / (h * w))))
    return scale


def _blend_toward(rgb: np.ndarray, out: np.ndarray, strength: float, boxes: list[Box]) -> None:
    """``out = rgb + strength * (out - rgb)`` inside ``boxes``, in place (uint8)."""
    for x0, y0, x1, y1 in boxes:
        src = rgb[y0:y1, x0:x1].astype(np.float32)
        out[y0:y1, x0:x1] = np.rint(src + np.float32(strength) * (out[y0:y1, x0:x1] - src)).astype(np.uint8)


# A detected face is a portrait tattoo, not a person, when at least this share of it (inside jaw line and
# brows) is ink and the skin head sees less than this share of hair in the zone around it: a real face's
# false alarms are eyes, brows and beards (a small share), and a real head has hair; a tattooed one is
# drawn on skin. Without a skin head every face is protected.
INK_FACE_SHARE = 0.3
HAIR_AROUND_REAL_FACE = 0.1


def _is_ink_face(alpha: np.ndarray, hair_small: np.ndarray, pts: np.ndarray) -> bool:
    """Whether the face with landmarks ``pts`` (68, 2) is a tattoo: mostly ink in ``alpha`` (H, W), and
    hardly any hair (``hair_small`` (h, w) probability at the working size) in its hair zone."""
    (x0, y0, x1, y1), hull = face_hull(pts, alpha.shape)
    if not hull.any() or float((alpha[y0:y1, x0:x1][hull] > 0.5).mean()) < INK_FACE_SHARE:
        return False
    zone = hair_zone(pts)
    hx0, hy0 = np.maximum(np.floor(zone.lo).astype(int), 0)
    hx1, hy1 = np.minimum(np.ceil(zone.hi).astype(int), (alpha.shape[1], alpha.shape[0]))
    if hx1 <= hx0 or hy1 <= hy0:
        return True
    region = (int(hx0), int(hy0), int(hx1), int(hy1))
    around = zone.paint(*region)
    if not around.any():
        return True
    hair = upsample_region(hair_small, (alpha.shape[1], alpha.shape[0]), region)
    return float((hair[around] >= 0.5).mean()) < HAIR_AROUND_REAL_FACE


def _padded(n: int) -> int:
    return n + (-n) % 32


class Remover:
    """Removes tattoos from photos. Load once, call ``remove`` many times; picklable (for Dask/Ray).

    model_path: the ONNX weights (default: the shipped ``skindeep/weights/skindeep.onnx``).
    threshold: ink probability above which a pixel is ink (default: the model's metadata, else 0.5).
    protect_face: never change eyes, eyebrows, lips, nostrils and the hair around faces (needs dlib;
        warns once if absent).
    threads: onnxruntime's threads, and the fill's (default: the machine's cores, at most 8).
    config: a ``PipelineConfig`` (working sizes, tiles, feathering); keyword overrides are accepted
        too, e.g. ``Remover(detect_size=768)``.
    """

    def __init__(
        self,
        model_path: str | os.PathLike | None = None,
        threshold: float | None = None,
        protect_face: bool = True,
        threads: int | None = None,
        config: PipelineConfig | None = None,
        **overrides,
    ):
        self.model = InkModel(model_path, threads)
        self.threshold = float(threshold if threshold is not None else self.model.info.threshold)
        self.protect_face = protect_face
        self.config = replace(config or PipelineConfig(), **overrides)
        for name in FROM_MODEL:
            if getattr(self.config, name) is None:
                setattr(self.config, name, self.model.info.recommended[name])
        self.face = FaceProtector()

    def _threads(self) -> int:
        return self.model.threads or default_threads()

    def __repr__(self) -> str:
        return (f"Remover(model_path={str(self.model.path)!r}, threshold={self.threshold}, "
                f"protect_face={self.protect_face})")

    # -- detection -----------------------------------------------------------------------------
    @property
    def skin_gated(self) -> bool:
        """Whether ink is removed only where the network says skin (a model with a skin output and
        ``skin_gate`` > 0); then hair is never skin, and face protection needs no hair zone."""
        return self.config.skin_gate > 0 and self.model.has_skin

    def _run_small(self, soft: np.ndarray, want_clean: bool) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """(ink, clean or None, skin (h, w, 3) or None) of the network on ``soft``."""
        if self.skin_gated:
            return self.model.run_with_skin(soft, want_clean)
        ink, clean = self.model.run(soft, want_clean)
        return ink, clean, None

    def _detect_shape(self, rgb: np.ndarray) -> tuple[int, int]:
        """(h, w) of the detector's working size for ``rgb``."""
        h, w = rgb.shape[:2]
        scale = min(1.0, self.config.detect_size / max(h, w))
        return (h, w) if scale == 1.0 else (max(1, round(h * scale)), max(1, round(w * scale)))

    def _detect_small(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Ink probability at the working size; ``clean`` (0..1) when the photo is not shrunk; the skin
        head's (h, w, 3) skin / hair / clothing probabilities when the gate uses it (else None)."""
        hs, ws = self._detect_shape(rgb)
        shrunk = (hs, ws) != rgb.shape[:2]
        soft = self._soften(resize(rgb, (ws, hs), shrink=True) if shrunk else rgb)
        ink, clean, skin = self._run_small(soft, want_clean=not shrunk)
        if self.config.mirror_detect:
            mirrored, _, mirrored_skin = self._run_small(np.ascontiguousarray(soft[:, ::-1]), want_clean=False)
            ink = (ink + mirrored[:, ::-1]) / np.float32(2)
            if skin is not None:
                skin = (skin + mirrored_skin[:, ::-1]) / np.float32(2)
        return ink, clean, skin

    def _coarse_small(self, rgb: np.ndarray, shape: tuple[int, int]) -> np.ndarray | None:
        """Ink probability at ``coarse_detect_size``, resized to ``shape`` (h, w); None when off or
        not smaller than the detection itself."""
        side = self.config.coarse_detect_size
        if not side or side >= max(shape):
            return None
        h, w = rgb.shape[:2]
        scale = side / max(h, w)
        small = resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), shrink=True)
        ink, _ = self.model.run(self._soften(small), want_clean=False)
        return resize(ink, (shape[1], shape[0]), shrink=False)

    def _soften(self, rgb: np.ndarray) -> np.ndarray:
        """What the network sees: ``rgb`` blurred by ``input_blur`` (unchanged when 0)."""
        sigma = self.config.input_blur or 0.0
        return rgb if sigma <= 0 else cv2.GaussianBlur(rgb, (0, 0), sigma)

    def _grow_map(self, prob_small: np.ndarray, coarse: np.ndarray | None) -> np.ndarray:
        """Where detected blobs may grow: ``prob_small`` raised by the ``coarse`` view (``_coarse_small``)
        where it has support."""
        if coarse is None:
            return prob_small
        return np.maximum(prob_small, np.where(prob_small >= self.config.coarse_support, coarse, np.float32(0)))

    def skin(self, image) -> np.ndarray | None:
        """(H, W, 3) float32 skin, hair and clothing probabilities 0..1 (``SKIN_CLASSES`` order) at the
        image's full size, as the skin gate sees them; None when the gate is off (``skin_gate`` 0) or
        the model has no skin output."""
        if not self.skin_gated:
            return None
        rgb = as_rgb(image)
        return resize(self._detect_small(rgb)[2], (rgb.shape[1], rgb.shape[0]), shrink=False)

    def detect(self, image) -> np.ndarray:
        """(H, W) float32 ink probability 0..1 for a numpy/PIL ``image``, at the image's full size (with
        ``coarse_detect_size``, the fine and coarse views combined as blobs grow into them)."""
        rgb = as_rgb(image)
        grow = self._detection_maps(rgb)[1]
        return resize(grow, (rgb.shape[1], rgb.shape[0]), shrink=False)

    def detect_with_skin(self, image) -> tuple[np.ndarray, np.ndarray | None]:
        """``detect`` and ``skin`` from one pass of the network: (H, W) float32 ink probability and
        (H, W, 3) float32 skin / hair / clothing probabilities or None."""
        rgb = as_rgb(image)
        _, grow, _, skin_small = self._detection_maps(rgb)
        size = (rgb.shape[1], rgb.shape[0])
        return resize(grow, size, shrink=False), None if skin_small is None else resize(skin_small, size, shrink=False)

    def _detection_maps(self, rgb: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
        """At the working size: (ink probability, where blobs may grow (``_grow_map``), ``clean`` or None,
        the skin head's output or None); both ink maps are zero off skin when the skin head is used."""
        # The coarse view shrinks the whole photo too (a 12 MP one: 40-60 ms): beside the fine one.
        coarse = alongside(self._coarse_small, rgb, self._detect_shape(rgb), threads=self._threads())
        prob_small, clean_full, skin_small = self._detect_small(rgb)
        grow_small = self._grow_map(prob_small, coarse.result())
        if skin_small is not None:
            on_skin = self._on_skin(skin_small)
            prob_small, grow_small = prob_small * on_skin, grow_small * on_skin
        return prob_small, grow_small, clean_full, skin_small

    # -- mask ----------------------------------------------------------------------------------
    def _on_skin(self, skin_small: np.ndarray) -> np.ndarray:
        """(h, w) float32 1 where ink may be removed: the skin head's skin probability reaches
        ``skin_gate``, grown by one detection pixel (ink edges, feathering)."""
        on = (skin_small[..., 0] >= self.config.skin_gate).astype(np.uint8)
        return cv2.dilate(on, np.ones((3, 3), np.uint8)).astype(np.float32)

    def _alpha(self, prob_small: np.ndarray, grow_small: np.ndarray, prob: np.ndarray, threshold: float,
               rgb: np.ndarray, skin_small: np.ndarray | None = None) -> tuple[np.ndarray, list[Box]]:
        """Feathered (H, W) float32 0..1 mask from the full-size ``prob``, and the boxes holding it.

        prob_small: (hs, ws) the detector at its working size, which seeds blobs. grow_small: the same
        size, where blobs may grow (``_grow_map``). prob: ``grow_small`` at full size (H, W).
        skin_small: the skin head's (hs, ws, 3) output, or None (then the colour gate applies); the
        three maps above are already gated by it.
        Specks are found at detection scale (cheap); the mask itself is cut at full size, only inside
        boxes around the remaining blobs, so the cost follows the ink area.
        """
        h, w = prob.shape
        hs, ws = prob_small.shape
        alpha = np.zeros((h, w), np.float32)
        low = self.config.grow_threshold
        low = low if 0 < low < threshold else threshold
        binary = (grow_small >= low).astype(np.uint8)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
        kept = stats[:, cv2.CC_STAT_AREA] >= self.config.min_speck
        # Hysteresis (and the coarse view): a blob counts only where the detector itself reaches
        # `threshold`; without either, every blob does and this is a no-op.
        strong = np.zeros(count, bool)
        strong[np.unique(labels[prob_small >= threshold])] = True
        kept &= strong
        kept[0] = False
        if skin_small is None and self.config.min_skin_around > 0 and kept.any():
            kept = gate_blobs(resize(rgb, (ws, hs), shrink=True), labels, kept, self.config.min_skin_around)
        if not kept.any():
            return alpha, []
        # One small pixel of slack so nearest-neighbour upsampling never clips a blob's edge.
        allowed_small = cv2.dilate(kept[labels].astype(np.uint8), np.ones((3, 3), np.uint8))
        sx, sy = w / ws, h / hs
        long_side = max(h, w)
        radius = max(1, round(long_side * self.config.grow))
        fade = max(1.5, long_side * self.config.feather)
        pad = radius + int(np.ceil(fade)) + int(np.ceil(max(sx, sy))) + 2
        boxes = merge_boxes([
            (max(int(x * sx) - pad, 0), max(int(y * sy) - pad, 0),
             min(int(np.ceil((x + bw) * sx)) + pad, w), min(int(np.ceil((y + bh) * sy)) + pad, h))
            for (x, y, bw, bh, _), keep in zip(stats, kept, strict=True) if keep
        ])
        for x0, y0, x1, y1 in boxes:
            iy = np.minimum(((np.arange(y0, y1) + 0.5) / sy).astype(int), hs - 1)
            ix = np.minimum(((np.arange(x0, x1) + 0.5) / sx).astype(int), ws - 1)
            core = (prob[y0:y1, x0:x1] >= low) & (allowed_small[np.ix_(iy, ix)] > 0)
            # Distance to the nearest ink pixel: 1 up to `radius` (the dilation), then a linear feather
            # over `fade` pixels. One linear-time pass, unlike a large elliptic dilate plus a blur.
            dist = cv2.distanceTransform((~core).astype(np.uint8), cv2.DIST_L2, 3)
            alpha[y0:y1, x0:x1] = np.clip((radius + fade - dist) / fade, 0.0, 1.0)
        return alpha, boxes

    # -- restoration ---------------------------------------------------------------------------
    def _restore(self, rgb: np.ndarray, alpha: np.ndarray, boxes: list[Box],
                 full_pass: tuple[np.ndarray, np.ndarray] | None, strength: float) -> np.ndarray:
        """(H, W, 3) uint8 output: ``rgb`` blended with restored skin by ``alpha * strength``.

        Restoration runs at scale ``s = min(1, restore_side / long side)``; ``full_pass`` is the detection's
        (ink, clean) when that already ran on the whole photo at full size. The photo at that scale is
        cut into a grid of cores (``tile`` px); only cores holding ink go through the network, each with
        ``context`` px around it, and neighbouring tiles blend over that margin (one whole pass instead
        when that is cheaper and small enough). Back at full size, for ``s < 1``, the clean skin is
        ``up(clean_s) + (1 - up(ink_s)) * (rgb - up(rgb_s))``: the upsampled restoration plus the
        photo's own fine detail (pores, hair) wherever the network sees no ink (the same holds at
        ``s = 1`` when the network's input was softened by ``input_blur``). Only pixels with
        ``alpha > 0`` are computed and written, so the cost follows the ink area.
        """
        cfg = self.config
        h, w = rgb.shape[:2]
        out = rgb.copy()
        scale = restore_scale(h, w, cfg)
        hs, ws = (h, w) if scale == 1.0 else (max(1, round(h * scale)), max(1, round(w * scale)))
        rx, ry = w / ws, h / hs  # full-size pixels per restore-scale pixel
        cells = [(x0, y0, x1, y1) for y0, y1 in _cells(hs, cfg.tile) for x0, x1 in _cells(ws, cfg.tile)]
        touched = []
        for x0, y0, x1, y1 in cells:
            full = (round(x0 * rx), round(y0 * ry), round(x1 * rx), round(y1 * ry))
            if any(full[0] < b[2] and b[0] < full[2] and full[1] < b[3] and b[1] < full[3] for b in boxes) \
                    and alpha[full[1]:full[3], full[0]:full[2]].any():
                touched.append(((x0, y0, x1, y1), full))
        if not touched:
            return out

        small = self._soften(rgb if scale == 1.0 else resize(rgb, (ws, hs), shrink=True))
        m = cfg.context
        tiles = [(max(x0 - m, 0), max(y0 - m, 0), min(x1 + m, ws), min(y1 + m, hs)) for (x0, y0, x1, y1), _ in touched]
        tiled_cost = sum(_padded(y1 - y0) * _padded(x1 - x0) for x0, y0, x1, y1 in tiles)
        single_cost = _padded(hs) * _padded(ws)
        if full_pass is not None and scale == 1.0:  # small photo: the detection pass already restored it
            ink_s, clean_s = full_pass
        elif single_cost <= min(tiled_cost, cfg.max_pass_pixels):
            ink_s, clean_s = self.model.run(small)
        else:
            ink_s, clean_s = self._run_tiles(small, tiles, [c for c, _ in touched])

        for _, (x0, y0, x1, y1) in touched:
            a = alpha[y0:y1, x0:x1]
            ys, xs = np.nonzero(a)
            if ys.size == 0:
                continue
            src = rgb[y0:y1, x0:x1][ys, xs].astype(np.float32)
            if scale == 1.0 and small is rgb:  # the network saw the photo itself: its output is final
                fix = clean_s[y0:y1, x0:x1][ys, xs] * np.float32(255.0)
            elif scale == 1.0:
                keep_detail = 1.0 - np.clip(ink_s[y0:y1, x0:x1][ys, xs], 0.0, 1.0)
                fix = clean_s[y0:y1, x0:x1][ys, xs] * np.float32(255.0) + keep_detail[:, None] * (
                    src - small[y0:y1, x0:x1][ys, xs].astype(np.float32))
            else:
                region = (x0, y0, x1, y1)
                up_clean = upsample_region(clean_s, (w, h), region)[ys, xs] * np.float32(255.0)
                up_small = upsample_region(small, (w, h), region)[ys, xs].astype(np.float32)
                keep_detail = 1.0 - np.clip(upsample_region(ink_s, (w, h), region)[ys, xs], 0.0, 1.0)
                fix = up_clean + keep_detail[:, None] * (src - up_small)
            a_px = a[ys, xs][:, None] * np.float32(strength)
            out[y0 + ys, x0 + xs] = np.clip(np.rint(src + a_px * (fix - src)), 0, 255).astype(np.uint8)
        return out

    def _matched_restoration(self, rgb: np.ndarray, alpha: np.ndarray, boxes: list[Box],
                             full_pass: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
        """(H, W, 3) uint8: the network's restoration at full strength (``_restore``), tone-matched to the
        skin around it."""
        out = self._restore(rgb, alpha, boxes, full_pass, 1.0)
        shift = tone_shift(rgb, out, alpha, self.config.tone_sigma) if self.config.tone_match > 0 else None
        if shift is not None:
            apply_tone_shift(out, alpha, shift, self.config.tone_match, boxes)
        return out

    def _fill_whole(self, rgb: np.ndarray, alpha: np.ndarray, boxes: list[Box],
                    full_pass: tuple[np.ndarray, np.ndarray] | None, fill: FillSettings,
                    skin: np.ndarray | None) -> np.ndarray:
        """(H, W, 3) uint8 with the whole mask filled (``fill.floor`` 1). A filled pixel is the fill alone, so
        the network's restoration runs only on the regions the fill cannot take (too little clean skin
        around them)."""
        out = rgb.copy()
        left = fill_skin(rgb, out, alpha, boxes, fill, skin, self.config.skin_gate, self._threads())
        if left:
            rest = np.zeros_like(alpha)
            for x0, y0, x1, y1 in left:
                rest[y0:y1, x0:x1] = alpha[y0:y1, x0:x1]
            restored = self._matched_restoration(rgb, rest, left, full_pass)
            for x0, y0, x1, y1 in left:
                np.copyto(out[y0:y1, x0:x1], restored[y0:y1, x0:x1], where=rest[y0:y1, x0:x1, None] > 0)
        return out

    def _run_tiles(self, small: np.ndarray, tiles: list[Box], cores: list[Box]) -> tuple[np.ndarray, np.ndarray]:
        """Network over ``tiles`` of (h, w, 3) uint8 ``small``, blended: (ink (h, w), clean (h, w, 3)) 0..1.

        Outside the tiles both are 0 (never read there)."""
        h, w = small.shape[:2]
        ink = np.zeros((h, w), np.float32)
        clean = np.zeros((h, w, 3), np.float32)
        weight = np.zeros((h, w), np.float32)
        m = self.config.context
        for (x0, y0, x1, y1), (cx0, cy0, cx1, cy1) in zip(tiles, cores, strict=True):
            tile_ink, tile_clean = self.model.run(small[y0:y1, x0:x1])
            ramp = np.outer(_margin_ramp(y0, y1, cy0, cy1, m), _margin_ramp(x0, x1, cx0, cx1, m))
            ink[y0:y1, x0:x1] += tile_ink * ramp
            clean[y0:y1, x0:x1] += tile_clean * ramp[..., None]
            weight[y0:y1, x0:x1] += ramp
        np.divide(ink, weight, out=ink, where=weight > 0)
        np.divide(clean, weight[..., None], out=clean, where=weight[..., None] > 0)
        return ink, clean

    # -- public --------------------------------------------------------------------------------
    def remove(
        self,
        image,
        mask=None,
        keep=None,
        threshold: float | None = None,
        strength: float = 1.0,
        protect_face: bool | None = None,
        mask_mode: str = "limit",
    ) -> Result:
        """Remove tattoos from ``image`` (numpy (H, W[, 3|4]) or PIL image).

        mask: optional (H, W) mask (bool, uint8 0..255 or float 0..1), used as ``mask_mode`` says.
        mask_mode: "limit" (default): remove detected ink only inside ``mask``. "replace": ``mask`` is
            the ink mask as it is (like a hand-painted mask in an inpainter; needs a mask): detection,
            ``threshold``, growing and feathering are not applied; ``keep`` and face protection still are.
        keep: optional (H, W) mask: never change pixels there.
        threshold: ink probability threshold (default: the Remover's).
        strength: 0..1, how much of the tattoo to remove (0 = unchanged, 1 = all).
        protect_face: override the Remover's face protection for this call.
        """
        start = time.perf_counter()
        timings: dict[str, float] = {}
        rgb = as_rgb(image)
        h, w = rgb.shape[:2]
        user_mask = as_mask(mask, (h, w), "user")
        keep_mask = as_mask(keep, (h, w), "keep")
        threshold = self.threshold if threshold is None else float(threshold)
        if not 0.0 <= strength <= 1.0:
            raise ValueError(f"strength must be in 0..1, got {strength}")
        if mask_mode not in MASK_MODES:
            raise ValueError(f"mask_mode must be one of {MASK_MODES}, got {mask_mode!r}")
        if mask_mode == "replace" and user_mask is None:
            raise ValueError("mask_mode 'replace' needs a mask")

        t = time.perf_counter()
        prob_small, grow_small, clean_full, skin_small = self._detection_maps(rgb)
        prob = resize(grow_small, (w, h), shrink=False)
        timings["detect"] = time.perf_counter() - t

        t = time.perf_counter()
        if mask_mode == "replace":
            alpha = user_mask
            if skin_small is not None and self.config.replace_keeps_spill:  # skin_small is None unless gated
                alpha = _without_spill(user_mask, self._on_skin(skin_small), rgb)
            boxes = _mask_boxes(alpha)
        else:
            alpha, boxes = self._alpha(prob_small, grow_small, prob, threshold, rgb, skin_small)
        if self.config.fill is not None and self.config.fill.snap_outline:
            boxes = snap_outline(rgb, alpha, boxes, self.config.fill.soft_edge, self.config.fill.halo,
                                 self._threads())  # before "limit", keep and faces cut the mask
        if self.config.fill is not None and self.config.fill.enclosed_ink and mask_mode != "replace":
            take_enclosed_ink(rgb, alpha, boxes, self._threads())  # a user's region is what it is
        for x0, y0, x1, y1 in boxes:
            box = alpha[y0:y1, x0:x1]
            if user_mask is not None and mask_mode == "limit":
                box *= user_mask[y0:y1, x0:x1]
            if keep_mask is not None:
                box[keep_mask[y0:y1, x0:x1] >= 0.5] = 0.0
        protect = self.protect_face if protect_face is None else protect_face
        if protect and boxes and any(alpha[y0:y1, x0:x1].any() for x0, y0, x1, y1 in boxes):
            # With a skin head, hair is never skin, so the hair zone is not needed; and a "face" that is
            # mostly ink is a portrait tattoo, removed like any other (user masks are not judged).
            skin_known = skin_small is not None
            is_ink = None
            if skin_known and mask_mode != "replace":
                hair_small = np.ascontiguousarray(skin_small[..., 1])
                is_ink = lambda pts: _is_ink_face(alpha, hair_small, pts)  # noqa: E731
            for x0, y0, x1, y1, features in self.face.regions(rgb, hair=False if skin_known else None,
                                                               skip=is_ink):
                alpha[y0:y1, x0:x1][features] = 0.0
        ink_mask = np.zeros((h, w), np.uint8)
        for x0, y0, x1, y1 in boxes:
            ink_mask[y0:y1, x0:x1] = np.rint(alpha[y0:y1, x0:x1] * 255.0)
            alpha[y0:y1, x0:x1] = ink_mask[y0:y1, x0:x1] / np.float32(255.0)  # what is applied is what is reported
        timings["mask"] = time.perf_counter() - t

        t = time.perf_counter()
        full_pass = None if clean_full is None else (prob_small, clean_full)
        if strength <= 0:
            out = rgb.copy()
        elif self.config.tone_match <= 0 and self.config.grain <= 0 and self.config.fill is None:
            out = self._restore(rgb, alpha, boxes, full_pass, strength)
        else:
            # fill, tone- and grain-match the full-strength restoration, then blend: strength stays linear
            fill = self.config.fill
            if fill is not None and mask_mode == "replace":
                # what the user painted is gone: the whole region is filled; and it is drawn past the ink,
                # so the fill meets the skin touching it (no skipped band)
                fill = replace(fill, floor=1.0, skip_edge_band=False)
            skin = None if skin_small is None else skin_small[..., 0]
            if fill is not None and fill.whole_mask:
                out = self._fill_whole(rgb, alpha, boxes, full_pass, fill, skin)
            else:
                out = self._matched_restoration(rgb, alpha, boxes, full_pass)
                if fill is not None:  # after the tone match: the fill has the skin's colour already
                    fill_skin(rgb, out, alpha, boxes, fill, skin, self.config.skin_gate, self._threads())
            add_grain(rgb, out, alpha, boxes, self.config.grain)
            if strength < 1.0:
                _blend_toward(rgb, out, strength, boxes)
        timings["restore"] = time.perf_counter() - t
        return Result(image=out, ink_mask=ink_mask, ink_prob=prob, original=rgb,
                      seconds=time.perf_counter() - start, timings=timings)

    __call__ = remove
