"""How well do pseudo-labels of real ink agree with hand masks? (issue 15, experiment 29)

Compares, on the real-dev photos that have a hand mask (``NAME.mask.png``), the detector's own pseudo-label
(``skindeep.model.pseudo.pseudo_label``, experiments 17-23) with a colour label grown inside the boxes
(``skindeep.model.pseudo.colour_label``): per photo precision, recall and IoU against the hand mask.

    python scripts/colour_label_check.py [--real ../shared/data/real-dev] [--distance 20]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from skindeep.model.pseudo import colour_label, pseudo_label
from skindeep.remove import Remover
from skindeep.synth.photos import json_boxes, read_mask, read_rgb


def scores(label: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    """(precision, recall, IoU) of the bool ``label`` against the bool ``truth``, both (H, W)."""
    both = np.count_nonzero(label & truth)
    return (both / max(np.count_nonzero(label), 1), both / max(np.count_nonzero(truth), 1),
            both / max(np.count_nonzero(label | truth), 1))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--real", type=Path, default=Path("../shared/data/real-dev"))
    parser.add_argument("--distance", type=float, default=None)
    parser.add_argument("-n", type=int, default=200)
    a = parser.parse_args()
    remover = Remover()
    kw = {} if a.distance is None else {"distance": a.distance}
    rows = []
    photos = [p for p in sorted(a.real.glob("*.jpg")) if p.with_suffix(".mask.png").exists()]
    for photo in photos[: a.n]:
        truth_path = photo.with_suffix(".mask.png")
        rgb = read_rgb(photo)
        truth = read_mask(truth_path) > 127
        boxes = json_boxes(photo)
        model = pseudo_label(remover.detect(rgb), remover.threshold, 0.6, boxes) > 0
        colour = colour_label(rgb, remover.skin(rgb)[..., 0], boxes, **kw) > 0
        rows.append(scores(model, truth) + scores(colour, truth) + scores(model | colour, truth))
        print(photo.stem, " ".join(f"{v:.2f}" for v in rows[-1]), flush=True)
    r = np.array(rows)
    for name, cols in (("model", r[:, 0:3]), ("colour", r[:, 3:6]), ("union", r[:, 6:9])):
        print(f"{name:7s} precision {np.mean(cols[:, 0]):.2f} recall {np.mean(cols[:, 1]):.2f} "
              f"IoU mean {np.mean(cols[:, 2]):.2f} median {np.median(cols[:, 2]):.2f} ({len(r)} photos)")


if __name__ == "__main__":
    main()
