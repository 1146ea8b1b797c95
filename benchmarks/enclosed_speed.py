"""What taking the enclosed ink costs (session 22, experiment 39): a real colour piece with islands the detector
left (real-dev's bear, ``tssd_5358157545``) scaled up to 12 MP, automatic mode, ``FillSettings.enclosed_ink`` off
and on, run alternately; the step alone timed on the same mask.

    python benchmarks/enclosed_speed.py [--photo PATH] [--repeat 3] [--cases on] [--no-step]

``--cases on`` times only the shipped setting (the 12 MP speed row of the README); ``--no-step`` skips the step's
own timing.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from skindeep.remove import Remover
from skindeep.remove.fill import FillSettings, take_enclosed_ink

DEFAULT = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "real-dev" / "tssd_5358157545.jpg"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--photo", type=Path, default=DEFAULT)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cases", default="off,on", help="which of off, on to time, comma-separated")
    ap.add_argument("--no-step", action="store_true", help="do not time take_enclosed_ink alone")
    a = ap.parse_args()
    rgb = np.asarray(Image.open(a.photo).convert("RGB"))
    scale = np.sqrt(12e6 / (rgb.shape[0] * rgb.shape[1]))
    rgb = cv2.resize(rgb, (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale)), interpolation=cv2.INTER_CUBIC)
    removers = {name: Remover(fill=FillSettings(enclosed_ink=name == "on")) for name in a.cases.split(",")}
    for r in removers.values():
        r.remove(rgb)  # warm
    print(f"{a.photo.name} at {rgb.shape[1]}x{rgb.shape[0]} ({rgb.shape[0] * rgb.shape[1] / 1e6:.1f} MP)")
    for _ in range(a.repeat):
        for name, r in removers.items():
            res = r.remove(rgb)
            parts = " / ".join(f"{res.timings[k]:.2f}" for k in ("detect", "mask", "restore"))
            print(f"{name}: {res.seconds:.2f} s (detect / mask / restore {parts}), mask {100 * (res.ink_mask > 0).mean():.1f} %")
    if a.no_step:
        return
    alpha = Remover(fill=FillSettings(enclosed_ink=False)).remove(rgb).ink_mask.astype(np.float32) / 255.0
    ys, xs = np.nonzero(alpha)
    box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    for _ in range(a.repeat):
        grown = alpha.copy()
        t = time.perf_counter()
        take_enclosed_ink(rgb, grown, [box])
        print(f"take_enclosed_ink alone: {time.perf_counter() - t:.2f} s, {int(((grown > 0) & (alpha == 0)).sum())} px taken")


if __name__ == "__main__":
    main()
