"""Mine real hard negatives: crops of the *train* split's clean photos where a remover (the shipped one, or
``--model``) changes pixels (it finds "ink" on photos with no tattoo), written as training samples with no ink.

    python scripts/mine_negatives.py --out cache/train-neg [--model M.onnx] [--per-blob 2] [--size 320]
    python scripts/mine_negatives.py --out cache/train-negC --clothes ../shared/data/clothes   # clothes/ train split
    python scripts/mine_negatives.py --out cache/train-negW --whole   # crops near the detector's scale

The synthetic hard negatives (prints, garments, textiles) never lowered the false alarms on held-out
clean photos (docs/experiments.md, experiments 6-7); these are the detector's own mistakes on real
photos. Only the train split is read (``split_photos`` of people/, or ``split_clothes`` of clothes/ with
``--clothes``), so the held-out photos stay unseen.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from skindeep.remove import Remover
from skindeep.synth import split_photos
from skindeep.synth.config import Sample
from skindeep.synth.photos import split_clothes
from skindeep.synth.sampleio import write_sample

MIN_BLOB = 0.0005  # share of the photo: smaller false alarms are not worth a sample


def blob_boxes(mask: np.ndarray, limit: int = 3) -> list[tuple[int, int, int, int]]:
    """(x, y, w, h) of the ``limit`` largest blobs of a (H, W) uint8 mask, each over ``MIN_BLOB``."""
    count, _, stats, _ = cv2.connectedComponentsWithStats((mask > 127).astype(np.uint8), connectivity=8)
    order = np.argsort(-stats[1:, cv2.CC_STAT_AREA])[:limit] + 1
    return [tuple(int(v) for v in stats[i, :4]) for i in order if stats[i, 4] >= MIN_BLOB * mask.size]


def crop_around(rgb: np.ndarray, box: tuple[int, int, int, int], rng: np.random.Generator, size: int,
                whole: bool = False) -> np.ndarray:
    """A square crop holding ``box`` with margin (side 1.3-3x the box, at least a quarter of the short
    side; with ``whole``, the short side itself, so the crop shows the blob near the scale the detector
    sees the whole photo at), shifted at random, resized to ``size``."""
    h, w = rgb.shape[:2]
    x, y, bw, bh = box
    side = min(h, w) if whole else int(min(min(h, w), max(max(bw, bh) * rng.uniform(1.3, 3.0), min(h, w) / 4)))
    cx = x + bw / 2 + rng.uniform(-0.25, 0.25) * side
    cy = y + bh / 2 + rng.uniform(-0.25, 0.25) * side
    x0 = int(np.clip(cx - side / 2, 0, w - side))
    y0 = int(np.clip(cy - side / 2, 0, h - side))
    return cv2.resize(rgb[y0:y0 + side, x0:x0 + side], (size, size), interpolation=cv2.INTER_AREA)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--people", type=Path, default=Path("../shared/data/people"))
    ap.add_argument("--clothes", type=Path, default=None,
                    help="mine the train split of this clothes/ folder instead of people/")
    ap.add_argument("--size", type=int, default=320)
    ap.add_argument("--per-blob", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", type=Path, default=None, help="ONNX to mine with (default: the shipped one)")
    ap.add_argument("--whole", action="store_true",
                    help="crop the photo's short side around each blob (near the detector's own scale) instead "
                         "of 1.3-3x the blob")
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    remover = Remover(a.model)
    train = split_clothes(a.clothes)[0] if a.clothes else split_photos(a.people)[0]
    written = photos_hit = 0
    for i, path in enumerate(train):
        rgb = np.asarray(Image.open(path).convert("RGB"))
        boxes = blob_boxes(remover.remove(rgb).ink_mask)
        photos_hit += bool(boxes)
        for j, box in enumerate(boxes):
            for k in range(a.per_blob):
                crop = crop_around(rgb, box, rng, a.size, a.whole)
                ink = np.zeros(crop.shape[:2], np.uint8)
                params = dict(kind="mined_negative", photo=path.name, box=list(box))
                write_sample(Sample(f"neg_{path.stem}_{j}_{k}", crop, crop.copy(), ink, params), a.out)
                written += 1
        if (i + 1) % 200 == 0:
            print(f"{i + 1}/{len(train)} photos, {photos_hit} with false alarms, {written} samples", flush=True)
    print(f"done: {len(train)} photos, {photos_hit} with false alarms, {written} samples in {a.out}")


if __name__ == "__main__":
    main()
