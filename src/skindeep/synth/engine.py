"""The Synthesizer: photo crop -> hard negatives -> designs placed on skin -> ink physics -> camera."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from skindeep.colour import luminance
from skindeep.errors import InputError
from skindeep.synth import scene
from skindeep.synth.camera import sample_camera, shoot
from skindeep.synth.config import Sample, SynthConfig
from skindeep.synth.designs import DesignSampler
from skindeep.synth.photos import FACE_GROUPS, group_weights, list_photos, load_crop, photo_group
from skindeep.synth.realink import RealInkBank
from skindeep.synth.render import real_ink, render_ink
from skindeep.synth.svg import list_designs
from skindeep.synth.util import gauss, smooth_noise
from skindeep.synth.warp import place, sample_placement

MAX_PHOTO_TRIES = 8
PORTRAIT_GROUPS = ("frll", "frlca", "sfa", "ecu", "skimage")  # sources of realism/line-art pieces


def _side_fraction(rng: np.random.Generator, area: float) -> tuple[str, float]:
    """Side of a piece (fraction of the image side) meant to ink about ``area`` of the frame: a piece
    covers roughly 45 % of its box once its outline is filled. Returns (size class, side fraction)."""
    frac = float(np.sqrt(max(area, 1e-4) / 0.45) * np.exp(rng.normal(0.0, 0.2)))
    return ("small" if frac < 0.3 else "medium" if frac < 0.65 else "large"), frac


class Synthesizer:
    """Makes synthetic (tattooed, clean, ink) samples from people photos and designs.

    people_dir, designs_dir: the data folders. photos / designs: explicit lists (e.g. the train or
    val half of ``split_photos`` / ``split_designs``); default: every file in the folders.
    ``sample(seed)`` is deterministic in (seed, config, the lists, installed fonts).
    """

    def __init__(self, people_dir: str | Path, designs_dir: str | Path, config: SynthConfig | None = None,
                 photos: list[Path] | None = None, designs: list[Path] | None = None):
        self.config = config or SynthConfig()
        self.people_dir = Path(people_dir)
        self.designs_dir = Path(designs_dir)
        self.photos = [Path(p) for p in photos] if photos is not None else list_photos(people_dir)
        if not self.photos:
            raise InputError(f"{people_dir}: no people photos to use")
        if designs is None:
            designs = list_designs(designs_dir)
        elif not Path(designs_dir).is_dir():
            raise InputError(f"{designs_dir}: design folder does not exist or is not a folder")
        self.designs = [Path(d) for d in designs]
        self.photo_probs = group_weights(self.photos)
        # realism / line-art pieces are drawn from faces, as real portrait tattoos are
        faces = [p for p in self.photos if photo_group(p) in PORTRAIT_GROUPS]
        realink = RealInkBank(self.config.realink_dir) if self.config.realink_dir else None
        if self.config.source_weights.get("realink", 0) > 0 and realink is None:
            raise InputError("the 'realink' design source needs a folder of real ink layers (--realink, or "
                             "SynthConfig.realink_dir; make one with python -m skindeep.model.realink)")
        self.sampler = DesignSampler(self.designs, faces or self.photos, self.config.source_weights,
                                     self.config.svg_cache, realink)
        self._bad: set[Path] = set()

    # -- public API ---------------------------------------------------------------------------------
    def sample(self, seed: int, name: str | None = None) -> Sample:
        """One sample, a pure function of ``seed`` (and the config / file lists)."""
        rng = np.random.default_rng(seed)
        cfg = self.config
        s = cfg.size
        rgb, skin, photo_params = self._crop(rng)
        params: dict = dict(seed=int(seed), size=s, **photo_params)
        base = self._scene(rng, rgb, skin, params)
        if cfg.p_dark_garment > 0 and rng.random() < cfg.p_dark_garment:
            out, covered, note = scene.dark_garment(rng, base.astype(np.float32) / 255.0, (skin > 127).astype(np.float32))
            base = np.clip(np.round(out * 255), 0, 255).astype(np.uint8)
            skin = np.where(covered > 0.5, 0, skin).astype(skin.dtype)  # no ink on the garment
            params.setdefault("scene", []).append(note)
        if rng.random() < cfg.p_hard_negative:
            base, params["hard_negatives"] = self._hard_negatives(rng, base, skin)
        skin_f = (skin > 127).astype(np.float32)
        clean = base.astype(np.float32) / 255.0
        t_total = np.ones_like(clean)
        a_total = np.zeros(skin.shape, np.float32)
        tattoos: list[dict] = []
        is_clean = rng.random() < cfg.p_clean
        if not is_clean and skin_f.sum() >= 0.002 * s * s:
            ys, xs = np.nonzero(skin_f)
            dist = cv2.distanceTransform((skin_f > 0).astype(np.uint8), cv2.DIST_L2, 3)
            cdf = np.cumsum(dist[ys, xs].astype(np.float64) ** 2)
            face_host = photo_group(Path(photo_params["photo"])) in FACE_GROUPS
            # An ink-area budget for the photo (fraction of the frame inside the tattoo outlines), drawn
            # log-normal: tattoos are added until it is reached, so tiny single pieces and crowded
            # sleeves both occur without many bare or fully painted frames. The default median (0.45)
            # is above the real photos' 0.25 because the skin clips the pieces: measured, it lands there.
            budget = float(np.clip(np.exp(rng.normal(np.log(cfg.coverage_median), cfg.coverage_spread)), 0.005, 0.9))
            params["coverage_budget"] = round(budget, 4)
            covered = 0.0
            for k in range(min(cfg.max_tattoos, 2) if face_host else cfg.max_tattoos):
                # the first piece takes most of the budget (one coherent motif, as in real photos);
                # later, smaller ones fill what is left, away from the ink already there
                share = budget * (float(rng.uniform(0.6, 1.0)) if k == 0 else float(rng.uniform(0.3, 1.0)))
                area = share if k == 0 else max(budget - covered, 0.01) * share / budget
                if k:
                    free = cv2.dilate((a_total > 0.05).astype(np.uint8), np.ones((9, 9), np.uint8))[ys, xs] == 0
                    weights = np.where(free, dist[ys, xs].astype(np.float64) ** 2, 0.0)
                    if weights.sum() <= 0:
                        break
                    cdf = np.cumsum(weights)
                crop, t, a, tp = self._tattoo(rng, ys, xs, cdf, skin_f, photo_params["upscale"], face_host, area)
                t_total[crop] *= t
                a_total[crop] = 1.0 - (1.0 - a_total[crop]) * (1.0 - a)
                tattoos.append(tp)
                covered = _ink_region(a_total)
                if covered >= budget * 0.8:
                    break
        inked = clean * t_total
        if tattoos:
            inked = inked + self._highlights(clean) * (1.0 - t_total)
        cam = sample_camera(rng, cfg.noise_sigma, cfg.p_jpeg, cfg.jpeg_quality)
        c8, t8, ink8 = shoot(clean, inked, a_total, skin_f, cam)
        params.update(clean=is_clean or not tattoos, tattoos=tattoos, camera=_round(cam),
                      coverage=round(float((ink8 > 20).mean()), 4))
        return Sample(name or f"seed{seed}", t8, c8, ink8, params)

    def iter(self, n: int, seed: int) -> Iterator[Sample]:
        """``n`` samples named 000000.. whose seeds derive from ``seed`` (see ``sample_seeds``)."""
        for i, s in enumerate(sample_seeds(n, seed)):
            yield self.sample(s, name=f"{i:06d}")

    # -- steps -------------------------------------------------------------------------------------------
    def _crop(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, dict]:
        """A usable photo crop; unreadable photos are skipped with a warning (error if none works)."""
        last: InputError | None = None
        for _ in range(MAX_PHOTO_TRIES):
            photo = self.photos[int(rng.choice(len(self.photos), p=self.photo_probs))]
            if photo in self._bad:
                continue
            try:
                return load_crop(photo, self.config.size, rng, self.config.zoom)
            except InputError as exc:
                warnings.warn(f"skipping photo: {exc}", stacklevel=2)
                self._bad.add(photo)
                last = exc
        if len(self._bad) >= len(self.photos):
            raise InputError(f"{self.people_dir}: none of the {len(self.photos)} photos can be read ({last})")
        for photo in self.photos:  # rare: the random draws kept hitting bad files; take the first good one
            if photo not in self._bad:
                try:
                    return load_crop(photo, self.config.size, rng, self.config.zoom)
                except InputError as exc:
                    self._bad.add(photo)
                    last = exc
        raise InputError(f"{self.people_dir}: none of the {len(self.photos)} photos can be read ({last})")

    def _tattoo(self, rng, ys, xs, cdf, skin_f, upscale: float, face_host: bool,
                area: float) -> tuple[tuple[slice, slice], np.ndarray, np.ndarray, dict]:
        s = self.config.size
        source = self.sampler.pick_source(rng)
        size_class, frac = _side_fraction(rng, area)
        # no bigger than the visible body part allows (a piece over a far-away arm stays small)
        frac = min(frac, 1.6 * float(np.sqrt(len(ys) / (s * s))))
        if face_host:  # face tattoos are small pieces; a portrait-sized piece over a face looks absurd
            frac = min(frac, 0.4)
        side = frac * s
        # centres favour the inside of the skin (weight = squared distance to its edge), so big pieces sit on
        # the body part instead of being mostly clipped away by a sleeve or the background
        i = min(int(np.searchsorted(cdf, rng.random() * cdf[-1])), len(ys) - 1)
        placement = sample_placement(rng, xs[i] + rng.uniform(-0.5, 0.5), ys[i] + rng.uniform(-0.5, 0.5), side)
        raster = int(np.clip(side * 1.1, 48, 2 * s))
        design = self.sampler.draw(rng, source, raster)
        alpha, colour = place(design.alpha, design.colour, placement, s)
        # ink physics only inside the design's box (+ room for bleed and the fresh-ink halo): speed
        rows, cols = np.nonzero(alpha.any(1))[0], np.nonzero(alpha.any(0))[0]
        box = (0, 0, 0, 0)
        if len(rows):
            m = int(np.ceil(16 * s / 512)) + 4
            box = (max(rows[0] - m, 0), min(rows[-1] + m + 1, s), max(cols[0] - m, 0), min(cols[-1] + m + 1, s))
        y0, y1, x0, x1 = box
        crop = (slice(y0, y1), slice(x0, x1))
        if source == "realink":
            t, a, ink_params = real_ink(alpha[crop], colour[crop], skin_f[crop])
        else:
            t, a, ink_params = render_ink(rng, alpha[crop], None if colour is None else colour[crop], skin_f[crop],
                                          s, brush=source == "brush", scale=upscale, p_brown=self.config.p_brown_ink,
                                          bleed_scale=self.config.bleed_scale)
        return crop, t, a, dict(source=source, size_class=size_class, design=design.params,
                          placement=placement.to_json(), **ink_params)

    def _scene(self, rng, rgb: np.ndarray, skin: np.ndarray, params: dict) -> np.ndarray:
        """Hard negatives on the skin (``skindeep.synth.scene``), applied to the clean photo. Each draw
        happens only when its chance is > 0, so configs without them keep their exact samples."""
        cfg = self.config
        steps = [(cfg.p_darker_skin, lambda im: scene.darker_skin(rng, im, skin_f)),
                 (cfg.p_skin_marks, lambda im: scene.skin_marks(rng, im, skin_f)),
                 (cfg.p_cast_shadow, lambda im: scene.cast_shadow(rng, im))]
        if not any(p > 0 for p, _ in steps):
            return rgb
        skin_f = (skin > 127).astype(np.float32)
        out = rgb.astype(np.float32) / 255.0
        notes = []
        for p, step in steps:
            if p > 0 and rng.random() < p:
                out, note = step(out)
                notes.append(note)
        if not notes:
            return rgb
        params["scene"] = notes
        return np.clip(np.round(out * 255), 0, 255).astype(np.uint8)

    @staticmethod
    def _highlights(clean: np.ndarray) -> np.ndarray:
        """Specular part of the skin (bright, small-scale): it reflects off the surface, above the ink,
        so it is added back where the ink darkens. (S, S, 1) float32."""
        lum = luminance(clean)
        size = clean.shape[0]
        spec = np.clip(lum - gauss(lum, size / 40) - 0.04, 0, None)
        return (spec * 0.8)[..., None]

    def _hard_negatives(self, rng, rgb: np.ndarray, skin: np.ndarray) -> tuple[np.ndarray, list]:
        """Dark tattoo-like prints on clothing/background and soft shadows, painted into the photo
        itself (so both images have them; ink stays 0). Skin, moles and eyebrows are left as they are."""
        s = self.config.size
        out = rgb.astype(np.float32) / 255.0
        notes: list = []
        not_skin = 1.0 - np.clip(gauss((skin > 127).astype(np.float32), 1.0) * 2, 0, 1)
        ys, xs = np.nonzero(not_skin > 0.99)
        if len(ys) > 0.02 * s * s:
            for _ in range(int(rng.integers(1, 3))):
                source = self.sampler.pick_source(rng)
                if self.config.p_textile > 0 and rng.random() < self.config.p_textile:
                    side = float(rng.uniform(0.05, 0.16)) * s
                    motif = self.sampler.draw(rng, source, int(np.clip(side, 12, s))).alpha
                    motif = cv2.resize(motif, (max(4, round(side)),) * 2, interpolation=cv2.INTER_AREA)
                    colour = self.config.p_textile_colour > 0 and rng.random() < self.config.p_textile_colour
                    out, note = scene.textile_print(rng, out, not_skin, motif, colour)
                    notes.append(dict(note, source=source))
                    continue
                side = float(rng.uniform(0.15, 0.7)) * s
                i = int(rng.integers(len(ys)))
                placement = sample_placement(rng, xs[i], ys[i], side)
                design = self.sampler.draw(rng, source, int(np.clip(side, 48, 2 * s)))
                alpha, _ = place(design.alpha, None, placement, s)
                shade = np.array(rng.uniform(0.0, 0.35, 3), np.float32)  # dark print colour
                a = (alpha * not_skin * float(rng.uniform(0.6, 1.0)))[..., None]
                out = out * (1 - a) + out * shade * a
                notes.append(dict(kind="print", source=source, placement=placement.to_json()))
        if rng.random() < 0.5:  # soft shading across the frame (a light falloff, not blotches)
            field = 0.5 + 0.5 * smooth_noise(rng, (s, s), 2)
            depth = float(rng.uniform(0.1, 0.35))
            out = out * (1 - depth * field[..., None])
            notes.append(dict(kind="shadow", depth=round(depth, 3)))
        return np.clip(np.round(out * 255), 0, 255).astype(np.uint8), notes


def _ink_region(a: np.ndarray) -> float:
    """Fraction of the frame inside the ink's outline (ink > 0.08, 15 px-closed at 512 px, holes
    filled): the way ../shared/tools/ink_stats.py measures a tattoo region."""
    s = a.shape[0]
    k = max(3, int(round(15 * s / 512)) | 1)
    closed = cv2.morphologyEx((a > 0.08).astype(np.uint8), cv2.MORPH_CLOSE, np.ones((k, k), np.uint8))
    contours, _ = cv2.findContours(closed, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return float(cv2.drawContours(np.zeros_like(closed), contours, -1, 1, cv2.FILLED).mean())


def sample_seeds(n: int, seed: int) -> list[int]:
    """Per-sample seeds for a run: independent streams from numpy's SeedSequence(seed)."""
    return [int(x) for x in np.random.SeedSequence(seed).generate_state(n, dtype=np.uint64) % (2**63)]


def _round(d: dict) -> dict:
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in d.items()}
