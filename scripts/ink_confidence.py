"""How sure a model is of real ink: the detector's probability inside and outside real tattoo boxes.

    python scripts/ink_confidence.py --model M.onnx cache/real-holdout [-n 200]

For each boxed photo (``NAME.jpg`` + ``NAME.json`` with ``boxes``), ``Remover.detect`` at the model's own
settings: the share of the boxes' central 60 % (mostly ink) at or above the model's threshold and above
0.5, and the share of the pixels no box reaches (grown by 10 % of its side) at or above the threshold
(false alarms on real photos). A box fine-tune should raise the first without raising the last; the
photo-level ``real_score.py`` figures say whether that shows after the fill.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--model", default=None, help="ONNX model (default: the shipped one)")
    ap.add_argument("-n", type=int, default=200, help="at most this many photos (sorted names)")
    args = ap.parse_args()

    from skindeep.io import read_image
    from skindeep.remove.pipeline import Remover
    from skindeep.synth.photos import box_maps, json_boxes

    remover = Remover(model_path=args.model)
    threshold = remover.threshold
    rows = []
    for photo in sorted(args.folder.glob("*.jpg"))[: args.n]:
        boxes = json_boxes(photo)
        if not boxes:
            continue
        rgb = read_image(photo).rgb
        prob = remover.detect(rgb)
        _, core, grown = box_maps(prob.shape, boxes, core=0.6, margin=0.1).astype(bool)
        outside = ~grown
        rows.append(((prob[core] >= threshold).mean(), (prob[core] > 0.5).mean(),
                     (prob[outside] >= threshold).mean() if outside.any() else 0.0))
    sure, found, false = np.mean(rows, axis=0)
    print(f"{args.model or 'shipped'} on {len(rows)} boxed photos of {args.folder}: box cores p >= "
          f"{threshold:g} {sure:.1%}, p > 0.5 {found:.1%}; outside the boxes p >= {threshold:g} {false:.2%}")


if __name__ == "__main__":
    main()
