"""Pseudo-labels of real ink, for self-training the ink head on real photos (issue 15, experiment 17).

The shipped detector finds much of the real ink but is unsure of it: in the core of real tattoo boxes it
gives p > 0.5 on about three times as many pixels as p > 0.98, and the remover keeps only what reaches its
threshold (docs/training.md, session 7). The box projection says only that each row and column of a box
crosses some ink, so it is satisfied by a thin line of confident pixels.

A pseudo-label is the detector's own confident ink (the remover's threshold) grown by hysteresis into the
connected ink it is unsure of (``grow``), on skin; in a boxed photo, only inside the boxes. The network then
learns those labels from small, blurred, flipped crops (``skindeep.model.data.RealPseudoDataset``) while the
labels come from the full-size, mirror-averaged view (Noisy Student, Xie et al. 2020). Only "ink" is
labelled: a piece the detector misses gets no label, so its misses are not taught as skin.

Only the train split of ``real-train/`` is labelled (``split_real_train``): the boxed photos and the
unlabelled ``artist_`` ones.

    python -m skindeep.model.pseudo --out cache/pseudo [--model M.onnx] [--grow 0.6] [--colour 20]

With ``--teacher N`` it writes instead the detector's ink probability on N clean train photos (people and
clothes train splits), the targets that hold a student to the teacher where there is no ink (``loss.distil``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np

from skindeep.synth.photos import box_maps, json_boxes, read_rgb, split_real_train

BOX_MARGIN = 0.1  # a boxed photo's label may reach this share of a box's side past it (loose boxes)
COLOUR_DISTANCE = 20.0  # Lab distance from the skin expected under a box beyond which a pixel is ink (experiment 29)
RING = 0.25  # the skin around a box that predicts the skin under it: this share of the box's long side
GROW_CLOSE = 8.0  # Lab distance within which a pixel inside a box is taken for bare skin (experiment 31)
GROW_ROUNDS = 3  # rounds of taking in that bare skin: each lets the prediction follow the skin one step further
SKIN = 0.5  # the skin head's probability from which a pixel is skin (tattooed skin is skin)


def pseudo_label(prob: np.ndarray, threshold: float, grow: float, boxes: list[list[int]] | None = None
                 ) -> np.ndarray:
    """(H, W) uint8 0/255 pseudo-label of a photo from its (H, W) float32 ink probability ``prob`` (0..1):
    every 8-connected region of ``prob >= grow`` that holds a pixel of ``prob >= threshold``; with
    ``boxes`` [[x0, y0, x1, y1], ...], only inside the boxes grown by ``BOX_MARGIN``."""
    from skindeep.remove.fill import seeded_regions

    if not 0.0 < grow <= threshold <= 1.0:
        raise ValueError(f"need 0 < grow <= threshold <= 1, got grow={grow}, threshold={threshold}")
    weak = (prob >= grow).astype(np.uint8)
    if boxes is not None:
        weak &= box_maps(prob.shape, boxes, 1.0, BOX_MARGIN)[2]
    regions, seeded = seeded_regions(weak, prob >= threshold)
    return np.where(seeded[regions], 255, 0).astype(np.uint8)


def predicted_skin(crop: np.ndarray, known: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """(h, w, 3) float32 0..255 RGB of the bare skin predicted under ``crop`` (h, w, 3) uint8.

    The prediction starts from the ``known`` (h, w) bool skin around a box, spread across it as a membrane
    (``skindeep.remove.fill.skin_base``). Then, ``GROW_ROUNDS`` times, the pixels of ``inside`` (h, w) bool
    within ``GROW_CLOSE`` of it are taken for bare skin and join the references, so the prediction follows
    skin inside the box that is lit or shaded unlike the ring (experiment 31: bare skin in loose boxes was
    labelled ink, experiment 29).
    """
    return _grown_prediction(crop, known, inside)[1]


def _grown_prediction(crop: np.ndarray, known: np.ndarray, inside: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``predicted_skin``, and the lightly blurred crop in Lab it was grown by: ((h, w, 3) Lab, (h, w, 3) RGB)."""
    from skindeep.colour import to_lab
    from skindeep.remove.fill import skin_base

    smooth = to_lab(cv2.GaussianBlur(crop, (0, 0), 1.0))  # like the fill's density: grain is not ink
    base = skin_base(crop, known)
    for _ in range(GROW_ROUNDS):
        known = known | (inside & (np.linalg.norm(smooth - to_lab(base), axis=2) < GROW_CLOSE))
        base = skin_base(crop, known)
    return smooth, base


def _skin_distance(crop: np.ndarray, known: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """(h, w, 3) float32 Lab difference of each pixel of ``crop`` (h, w, 3) uint8 from ``predicted_skin``."""
    from skindeep.colour import to_lab

    smooth, base = _grown_prediction(crop, known, inside)
    return smooth - to_lab(base)


def colour_label(rgb: np.ndarray, skin: np.ndarray, boxes: list[list[int]],
                 distance: float = COLOUR_DISTANCE) -> np.ndarray:
    """(H, W) uint8 0/255 label of the ink inside ``boxes`` found by colour alone, independent of the detector.

    rgb: (H, W, 3) uint8. skin: (H, W) float32 0..1, the skin head's skin probability. Under each box the
    skin is predicted from the skin in a ring around it (``RING``) and from the bare skin inside it that
    matches that prediction (``_skin_distance``). Ink is what lies inside the box, on skin, farther than
    ``distance`` in Lab from the prediction, unless it is lighter with nearly the same colour (lit skin: ink
    darkens skin or changes its colour). These are the faded, colour and grey pieces the detector misses,
    which its own pseudo-labels cannot teach it.
    """
    label = np.zeros(skin.shape, np.uint8)
    for crop, known, inside in box_contexts(skin, boxes):
        diff = _skin_distance(rgb[crop], known, inside)
        colour_shift = np.linalg.norm(diff[..., 1:], axis=2)  # a and b: hue and chroma, not lightness
        lit = (diff[..., 0] > 0) & (colour_shift < distance)
        ink = inside & (np.linalg.norm(diff, axis=2) > distance) & ~lit
        ink = cv2.morphologyEx(ink.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
        label[crop] |= ink * np.uint8(255)
    return label


def box_contexts(skin: np.ndarray, boxes: list[list[int]]):
    """For each box with skin around it to predict from: (crop, known, inside), where ``crop`` is a pair of
    slices holding the box and a ring of ``RING`` of its long side, ``known`` (h, w) bool the skin of the crop
    outside every box, and ``inside`` (h, w) bool the skin inside this box. skin: (H, W) float32 0..1."""
    h, w = skin.shape
    inside_any = box_maps((h, w), boxes, 1.0, 0.05)[2].astype(bool)
    on_skin = skin >= SKIN
    for x0, y0, x1, y1 in boxes:
        grow = max(8, round(RING * max(x1 - x0, y1 - y0)))
        cx0, cy0, cx1, cy1 = max(0, x0 - grow), max(0, y0 - grow), min(w, x1 + grow), min(h, y1 + grow)
        crop = (slice(cy0, cy1), slice(cx0, cx1))
        known = on_skin[crop] & ~inside_any[crop]
        if np.count_nonzero(known) < 64:
            continue  # no skin around the box to predict it from
        inside = np.zeros_like(known)
        inside[y0 - cy0:y1 - cy0, x0 - cx0:x1 - cx0] = True
        yield crop, known, inside & on_skin[crop]


def label_photos(photos: list[Path], out: Path, model: str | Path | None, grow: float,
                 colour: float | None = None, log=print) -> dict:
    """Write ``out/NAME.png`` for each photo in ``photos`` where the detector labels any ink; returns the
    counts (photos labelled, labelled share of the pixels per source). With ``colour`` (a Lab distance),
    a boxed photo's label also takes ``colour_label``'s ink (the union)."""
    from skindeep.remove import Remover

    remover = Remover(model)
    threshold = remover.threshold
    out.mkdir(parents=True, exist_ok=True)
    stats: dict[str, list[float]] = {}
    start = time.time()
    for i, photo in enumerate(photos, 1):
        rgb = read_rgb(photo)
        boxes = json_boxes(photo) or None
        prob, skin = remover.detect_with_skin(rgb)
        label = pseudo_label(prob, threshold, grow, boxes)
        if colour is not None and boxes and skin is not None:
            label |= colour_label(rgb, skin[..., 0], boxes, colour)
        share = float((label > 0).mean())
        stats.setdefault(photo.name.split("_")[0], []).append(share)
        if share > 0:
            cv2.imwrite(str(out / f"{photo.stem}.png"), label)
        if i % 25 == 0 or i == len(photos):
            log(f"{i}/{len(photos)} photos ({(time.time() - start) / i:.1f} s each)")
    summary = {src: {"photos": len(v), "labelled": int(np.count_nonzero(v)), "mean_share": float(np.mean(v))}
               for src, v in sorted(stats.items())}
    (out / "pseudo.json").write_text(json.dumps({"model": str(model or "shipped"), "threshold": threshold,
                                                 "grow": grow, "colour": colour, "sources": summary}, indent=2))
    return summary


def teacher_maps(photos: list[Path], out: Path, model: str | Path | None, log=print) -> None:
    """Write the detector's ink probability on each of ``photos`` as ``out/NNNNN.png`` ((H, W) uint8, p * 255,
    at the photo's size as the trainer decodes it) and ``out/teacher.json`` listing ``[photo, map name]``:
    the targets of ``loss.distil`` (``skindeep.model.data.TeacherDataset``)."""
    from skindeep.model.data import _read_png
    from skindeep.remove import Remover

    remover = Remover(model)
    out.mkdir(parents=True, exist_ok=True)
    pairs, start = [], time.time()
    for i, photo in enumerate(photos, 1):
        prob = remover.detect_with_skin(_read_png(photo, True))[0]
        name = f"{i:05d}.png"
        cv2.imwrite(str(out / name), np.round(prob * 255).astype(np.uint8))
        pairs.append([str(photo), name])
        if i % 25 == 0 or i == len(photos):
            log(f"{i}/{len(photos)} photos ({(time.time() - start) / i:.1f} s each)")
    (out / "teacher.json").write_text(json.dumps({"model": str(model or "shipped"), "photos": pairs}, indent=1))


def clean_train_photos(people: Path, clothes: Path, n: int, seed: int = 0) -> list[Path]:
    """Up to ``n`` photos drawn at random from the train splits of ``people`` and ``clothes`` together (their
    held-out parts are the clean sets that judge a candidate)."""
    from skindeep.synth.photos import split_clothes, split_photos

    photos = split_photos(people)[0] + split_clothes(clothes)[0]
    pick = np.random.default_rng(seed).permutation(len(photos))[:n]
    return [photos[i] for i in sorted(pick)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m skindeep.model.pseudo", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for NAME.png labels")
    parser.add_argument("--real", type=Path, default=Path("../shared/data/real-train"))
    parser.add_argument("--model", type=Path, default=None, help="ONNX that labels (default: the shipped one)")
    parser.add_argument("--grow", type=float, default=0.6, help="hysteresis: confident ink grows into p >= this")
    parser.add_argument("--colour", type=float, default=None,
                        help="also label a box's pixels this far in Lab from the skin around it (colour_label)")
    parser.add_argument("--teacher", type=int, default=0, metavar="N",
                        help="instead: write the detector's ink probability on N clean train photos (teacher_maps)")
    parser.add_argument("--people", type=Path, default=Path("../shared/data/people"))
    parser.add_argument("--clothes", type=Path, default=Path("../shared/data/clothes"))
    a = parser.parse_args(argv)
    if a.teacher:
        teacher_maps(clean_train_photos(a.people, a.clothes, a.teacher), a.out, a.model)
        return
    summary = label_photos(split_real_train(a.real)[0], a.out, a.model, a.grow, a.colour)
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
