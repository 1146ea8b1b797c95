"""Link the boxed photos of real-train's hold-out (``skindeep.synth.split_real_train``) into a folder,
with their box JSON, so ``real_score.py`` can score them:

    python scripts/real_holdout.py cache/real-holdout [--data ../shared/data/real-train] [--split train]

``--split train`` links the train split's boxed photos instead: the real photos a setting may be chosen on
(real-dev and the hold-out then judge it).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--data", default="../shared/data/real-train")
    ap.add_argument("--split", choices=("holdout", "train"), default="holdout")
    args = ap.parse_args()

    from skindeep.synth.photos import json_boxes, split_real_train

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    linked = 0
    for photo in split_real_train(args.data)[0 if args.split == "train" else 1]:
        if not json_boxes(photo):  # the unlabelled artists' photos cannot be scored
            continue
        for f in (photo, photo.with_suffix(".json")):
            if not (out / f.name).exists():
                (out / f.name).symlink_to(f.resolve())
        linked += 1
    print(f"{linked} boxed {args.split} photos in {out}")


if __name__ == "__main__":
    main()
