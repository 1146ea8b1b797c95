"""How well do pseudo-labels of real ink agree with hand masks? (issue 15, experiment 29)

Compares, on the real-dev photos that have a hand mask (``NAME.mask.png``), the detector's own pseudo-label
(``skindeep.model.pseudo.pseudo_label``, experiments 17-23) with a colour label grown inside the boxes
(``skindeep.model.pseudo.colour_label``): per photo precision, recall and IoU against the hand mask.

With ``--clean N`` it measures instead what the colour label takes on skin with no ink at all (experiment 31):
N photos of the people *train* split (every 20th), two loose boxes drawn on each around skin pixels
(15-40 % of the short side), and the share of each photo's box area the label calls ink. Every labelled pixel
there is wrong: bare skin lit or shaded unlike the skin around the box.

    python scripts/colour_label_check.py [--real ../shared/data/real-dev] [--distance 20]
    python scripts/colour_label_check.py --clean 60
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from skindeep.model.pseudo import colour_label, pseudo_label
from skindeep.remove import Remover
from skindeep.synth.photos import box_maps, json_boxes, read_mask, read_rgb, split_photos


def scores(label: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    """(precision, recall, IoU) of the bool ``label`` against the bool ``truth``, both (H, W)."""
    both = np.count_nonzero(label & truth)
    return (both / max(np.count_nonzero(label), 1), both / max(np.count_nonzero(truth), 1),
            both / max(np.count_nonzero(label | truth), 1))


def boxes_on_skin(skin: np.ndarray, rng: np.random.Generator, n: int = 2) -> list[list[int]]:
    """``n`` loose boxes [x0, y0, x1, y1] centred on random pixels of ``skin`` (H, W) bool; [] with too little."""
    h, w = skin.shape
    ys, xs = np.nonzero(skin)
    if ys.size < 500:
        return []
    boxes = []
    for _ in range(n):
        i = rng.integers(ys.size)
        bw = int(rng.uniform(0.15, 0.4) * min(h, w))
        bh = int(bw * rng.uniform(0.6, 1.6))
        x0, y0 = int(np.clip(xs[i] - bw // 2, 0, w - bw)), int(np.clip(ys[i] - bh // 2, 0, h - max(bh, 1)))
        boxes.append([x0, y0, x0 + bw, min(h, y0 + bh)])
    return boxes


def clean_check(remover: Remover, n: int, kw: dict) -> None:
    """Share of box area labelled ink on clean people-train photos (all of it wrong)."""
    rng = np.random.default_rng(31)
    shares = []
    for photo in split_photos(Path("../shared/data/people"))[0][::20][:n]:
        skin = read_mask(photo.with_name(photo.stem + ".skin.png"))
        rgb = read_rgb(photo)
        if skin is None or skin.shape != rgb.shape[:2]:
            continue
        boxes = boxes_on_skin(skin > 127, rng)
        if not boxes:
            continue
        label = colour_label(rgb, remover.detect_with_skin(rgb)[1][..., 0], boxes, **kw) > 0
        shares.append(np.count_nonzero(label) / np.count_nonzero(box_maps(rgb.shape[:2], boxes, 1.0, 0.0)[2]))
        print(photo.stem, f"{shares[-1]:.3f}", flush=True)
    s = np.array(shares)
    print(f"clean skin labelled ink: mean {s.mean():.4f} of the box area, median {np.median(s):.4f}, "
          f"photos over 5 %: {(s > 0.05).sum()} of {s.size}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--real", type=Path, default=Path("../shared/data/real-dev"))
    parser.add_argument("--distance", type=float, default=None)
    parser.add_argument("-n", type=int, default=200)
    parser.add_argument("--clean", type=int, default=0, help="measure on N clean people-train photos instead")
    a = parser.parse_args()
    remover = Remover()
    kw = {} if a.distance is None else {"distance": a.distance}
    if a.clean:
        clean_check(remover, a.clean, kw)
        return
    rows = []
    photos = [p for p in sorted(a.real.glob("*.jpg")) if p.with_suffix(".mask.png").exists()]
    for photo in photos[: a.n]:
        truth_path = photo.with_suffix(".mask.png")
        rgb = read_rgb(photo)
        truth = read_mask(truth_path) > 127
        boxes = json_boxes(photo)
        prob, skin = remover.detect_with_skin(rgb)
        model = pseudo_label(prob, remover.threshold, 0.6, boxes) > 0
        colour = colour_label(rgb, skin[..., 0], boxes, **kw) > 0
        rows.append(scores(model, truth) + scores(colour, truth) + scores(model | colour, truth))
        print(photo.stem, " ".join(f"{v:.2f}" for v in rows[-1]), flush=True)
    r = np.array(rows)
    for name, cols in (("model", r[:, 0:3]), ("colour", r[:, 3:6]), ("union", r[:, 6:9])):
        print(f"{name:7s} precision {np.mean(cols[:, 0]):.2f} recall {np.mean(cols[:, 1]):.2f} "
              f"IoU mean {np.mean(cols[:, 2]):.2f} median {np.median(cols[:, 2]):.2f} ({len(r)} photos)")


if __name__ == "__main__":
    main()
