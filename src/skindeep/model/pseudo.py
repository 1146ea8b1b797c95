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

    python -m skindeep.model.pseudo --out cache/pseudo [--model M.onnx] [--grow 0.6]
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


def pseudo_label(prob: np.ndarray, threshold: float, grow: float, boxes: list[list[int]] | None = None
                 ) -> np.ndarray:
    """(H, W) uint8 0/255 pseudo-label of a photo from its (H, W) float32 ink probability ``prob`` (0..1):
    every 8-connected region of ``prob >= grow`` that holds a pixel of ``prob >= threshold``; with
    ``boxes`` [[x0, y0, x1, y1], ...], only inside the boxes grown by ``BOX_MARGIN``."""
    if not 0.0 < grow <= threshold <= 1.0:
        raise ValueError(f"need 0 < grow <= threshold <= 1, got grow={grow}, threshold={threshold}")
    weak = (prob >= grow).astype(np.uint8)
    if boxes is not None:
        weak &= box_maps(prob.shape, boxes, 1.0, BOX_MARGIN)[2]
    count, regions = cv2.connectedComponents(weak, connectivity=8)
    seeded = np.zeros(count, bool)
    seeded[np.unique(regions[(prob >= threshold) & (weak > 0)])] = True
    seeded[0] = False
    return np.where(seeded[regions], 255, 0).astype(np.uint8)


def label_photos(photos: list[Path], out: Path, model: str | Path | None, grow: float, log=print) -> dict:
    """Write ``out/NAME.png`` for each photo in ``photos`` where the detector labels any ink; returns the
    counts (photos labelled, labelled share of the pixels per source)."""
    from skindeep.remove import Remover

    remover = Remover(model)
    threshold = remover.threshold
    out.mkdir(parents=True, exist_ok=True)
    stats: dict[str, list[float]] = {}
    start = time.time()
    for i, photo in enumerate(photos, 1):
        rgb = read_rgb(photo)
        boxes = json_boxes(photo) or None
        label = pseudo_label(remover.detect(rgb), threshold, grow, boxes)
        share = float((label > 0).mean())
        stats.setdefault(photo.name.split("_")[0], []).append(share)
        if share > 0:
            cv2.imwrite(str(out / f"{photo.stem}.png"), label)
        if i % 25 == 0 or i == len(photos):
            log(f"{i}/{len(photos)} photos ({(time.time() - start) / i:.1f} s each)")
    summary = {src: {"photos": len(v), "labelled": int(np.count_nonzero(v)), "mean_share": float(np.mean(v))}
               for src, v in sorted(stats.items())}
    (out / "pseudo.json").write_text(json.dumps({"model": str(model or "shipped"), "threshold": threshold,
                                                 "grow": grow, "sources": summary}, indent=2))
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m skindeep.model.pseudo", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for NAME.png labels")
    parser.add_argument("--real", type=Path, default=Path("../shared/data/real-train"))
    parser.add_argument("--model", type=Path, default=None, help="ONNX that labels (default: the shipped one)")
    parser.add_argument("--grow", type=float, default=0.6, help="hysteresis: confident ink grows into p >= this")
    a = parser.parse_args(argv)
    summary = label_photos(split_real_train(a.real)[0], a.out, a.model, a.grow)
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
