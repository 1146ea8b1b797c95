"""Cost of the replace spill rule (experiment 25) at 12 MP, on a real photo with a loose box that spills onto
the background: real-train's ``insta_0224`` (two knees in green water) upscaled to 4000x3000.

    python benchmarks/replace_spill_speed.py 1   # the rule on (default)
    python benchmarks/replace_spill_speed.py 0   # the whole region filled

Each call removes twice (cold, then warm) and prints the warm time, its split and the process's peak RSS.
"""

import json
import os
import resource
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from skindeep.remove import Remover

SHARED = Path(os.environ.get("SKINDEEP_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
PHOTO = SHARED / "real-train" / "insta_0224.jpg"


def main() -> None:
    photo = Image.open(PHOTO).convert("RGB")
    box = np.zeros((photo.height, photo.width), np.uint8)
    for x0, y0, x1, y1 in json.loads(PHOTO.with_suffix(".json").read_text())["boxes"]:
        box[max(0, y0 - 8):y1 + 8, max(0, x0 - 8):x1 + 8] = 255  # as real_score.py pads them
    a = np.asarray(photo.resize((4000, 3000), Image.BICUBIC))
    mask = np.asarray(Image.fromarray(box).resize((4000, 3000), Image.NEAREST))
    on = sys.argv[1:] != ["0"]
    r = Remover(replace_keeps_spill=on)
    r.remove(a, mask=mask, mask_mode="replace")
    res = r.remove(a, mask=mask, mask_mode="replace")
    print("spill kept" if on else "whole region", f"warm {res.seconds:.2f} s",
          {k: round(v, 2) for k, v in res.timings.items()}, f"changed {100 * (res.ink_mask > 0).mean():.1f} %",
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
