"""Before/after sheet of the skin fill's low frequencies on the largest real-dev regions (region given).

Each row: input | region | membrane fill | learned fill | the two low-frequency bases' difference (x4,
grey = none). Looking only: real-dev is never trained on.

    python scripts/fill_base_sheet.py --real ../shared/data/real-dev --rows 6 --out runs/fill-base-sheet.png
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np

from skindeep.eval import images, real
from skindeep.remove import Remover
from skindeep.remove.fill import FillSettings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--real", type=Path, default=Path("../shared/data/real-dev"))
    ap.add_argument("--rows", type=int, default=6)
    ap.add_argument("--height", type=int, default=300)
    ap.add_argument("--out", type=Path, default=Path("runs/fill-base-sheet.png"))
    args = ap.parse_args()
    photos = real.list_real(args.real)
    sizes = {p: int(real.load_real(p).region.sum()) for p in photos}
    largest = sorted(photos, key=lambda p: -sizes[p])[:args.rows]
    removers = {name: Remover(protect_face=False, threads=1, fill=replace(FillSettings(), learned_base=learned))
                for name, learned in (("membrane", False), ("learned", True))}
    rows = []
    for path in largest:
        photo = real.load_real(path)
        outs = {name: np.asarray(r.remove(photo.rgb, mask=photo.region, mask_mode="replace").image)[..., :3]
                for name, r in removers.items()}
        diff = np.clip(128 + 4 * (outs["learned"].astype(np.int16) - outs["membrane"]), 0, 255).astype(np.uint8)
        tiles = [photo.rgb, images.overlay(photo.rgb, photo.region.astype(np.uint8) * 255), *outs.values(), diff]
        rows.append(images.row(tiles, args.height, ["input", "region", *outs, "learned - membrane (x4)"],
                               caption=f"{photo.name}: region {sizes[path]} px"))
    print(images.save_png(args.out, images.stack(rows)))


if __name__ == "__main__":
    main()
