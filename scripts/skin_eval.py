"""Skin head and clean-photo false alarms of a model, on sets no setting was chosen on.

    python scripts/skin_eval.py [--model M.onnx] [--opt skin_gate=0.5 ...] [--sets clothes,people] [--skin-only]

- skin head (when the model has one): skin IoU, and the share of clothing / hair pixels called skin,
  on the ``clothes/`` hold-out (``skindeep.synth.split_clothes``) and the people val split;
- false alarms of ``Remover.remove``: mean / max share of pixels changed, photos above 0.5 % and 5 %,
  on the same two sets (clean photos: any change is a false alarm).
Prints one markdown table row per set (docs/experiments.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from real_score_with import parse_options  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def clean_sets(names: list[str]) -> dict[str, list[Path]]:
    from skindeep.synth import split_clothes, split_photos

    sets = {}
    if "clothes" in names:
        sets["clothes hold-out"] = split_clothes(DATA / "clothes")[1]
    if "people" in names:
        sets["people val"] = split_photos(DATA / "people")[1]
    return sets


def skin_figures(remover, rgb: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Skin head at the detection size vs. the labels (codes of skindeep.model.skin), upsampled."""
    from skindeep.model.skin import LABEL_CLOTHING, LABEL_HAIR, LABEL_NOT_SKIN, LABEL_SKIN
    from skindeep.remove.resample import resize

    _, _, skin = remover._detect_small(rgb)
    said = resize(skin[..., 0], (rgb.shape[1], rgb.shape[0]), shrink=False) >= remover.config.skin_gate
    truth = labels == LABEL_SKIN
    known = labels <= LABEL_NOT_SKIN
    out = {"iou": float((said & truth).sum() / max((said | truth)[known].sum(), 1))}
    for name, code in (("clothing", LABEL_CLOTHING), ("hair", LABEL_HAIR)):
        where = labels == code
        out[f"{name}_as_skin"] = float(said[where].mean()) if where.any() else float("nan")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model")
    ap.add_argument("--opt", action="append", default=[], help="a Remover keyword, NAME=VALUE")
    ap.add_argument("--sets", default="clothes,people")
    ap.add_argument("--skin-only", action="store_true", help="only the skin head figures")
    ap.add_argument("-n", type=int, default=0, help="at most N photos per set (evenly spread; 0 = all)")
    args = ap.parse_args()

    from skindeep.eval.real import evenly
    from skindeep.model.skin import photo_labels
    from skindeep.remove import Remover
    from skindeep.synth.photos import read_rgb

    remover = Remover(args.model, **parse_options(args.opt))
    has_skin = remover.skin_gated
    print("| set | photos | skin IoU | clothing as skin | hair as skin | changed mean % | max % | > 0.5 % | > 5 % |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, photos in clean_sets(args.sets.split(",")).items():
        photos = evenly(photos, args.n or None)
        figs, changed = [], []
        for photo in photos:
            rgb = read_rgb(photo)
            labels = photo_labels(photo)
            if has_skin and labels is not None:
                figs.append(skin_figures(remover, rgb, labels))
            if not args.skin_only:
                out = remover.remove(rgb).image
                changed.append(100.0 * float((out != rgb).any(axis=2).mean()))
        mean = {k: float(np.nanmean([f[k] for f in figs])) if figs else float("nan")
                for k in ("iou", "clothing_as_skin", "hair_as_skin")}
        ch = np.array(changed) if changed else np.array([np.nan])
        print(f"| {name} | {len(photos)} | {mean['iou']:.3f} | {mean['clothing_as_skin']:.3f} | "
              f"{mean['hair_as_skin']:.3f} | {np.mean(ch):.2f} | {np.max(ch):.1f} | "
              f"{int((ch > 0.5).sum())} | {int((ch > 5).sum())} |", flush=True)


if __name__ == "__main__":
    main()
