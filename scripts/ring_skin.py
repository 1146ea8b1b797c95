"""How much of real_score.py's gap ring is skin, per photo, beside that photo's gap (issue 16).

    python scripts/ring_skin.py ../shared/data/real-dev runs/eval-C/real-dev.csv [-n 120] [--json out.json]

real_score.py compares the mean grey of the tattoo region with a 15 px ring around its padded boxes.
Where that ring is background or clothing, no restoration can close the gap: this says how often that
happens and what the gap is on photos whose ring is skin (the skin network's map, at the gate's 0.5).
CSV: real_score.py --csv output (photo, edge, gap, texture, clean) for the method being judged.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np

BANDS = ((0.0, 0.5), (0.5, 0.8), (0.8, 1.01))  # share of the ring that is skin


def ring_skin_shares(folder: Path, n: int) -> dict[str, float]:
    """{photo name: share of its gap ring the skin network calls skin} for the first ``n`` photos."""
    from skindeep.eval.real import list_real, load_real, skin_ring
    from skindeep.remove import Remover

    remover = Remover()
    shares = {}
    for path in list_real(folder)[:n]:
        photo = load_real(path)
        ring = skin_ring(photo)
        if ring.sum() > 100:  # real_score.py skips the gap below this
            shares[photo.name] = float((remover.skin(photo.rgb)[..., 0] >= 0.5)[ring].mean())
    return shares


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", type=Path)
    ap.add_argument("scores", type=Path)
    ap.add_argument("-n", type=int, default=120)
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    gaps = {row["photo"]: float(row["gap"]) for row in csv.DictReader(a.scores.open())}
    shares = ring_skin_shares(a.folder, a.n)
    if a.json:
        a.json.write_text(json.dumps({k: {"ring_skin": v, "gap": gaps.get(k)} for k, v in shares.items()}, indent=1))
    print("| ring that is skin | photos | gap < 0.35 | median gap |\n|---|---|---|---|")
    for lo, hi in BANDS:
        g = np.array([gaps[k] for k, v in shares.items() if lo <= v < hi and k in gaps])
        print(f"| {lo:.0%}–{min(hi, 1):.0%} | {len(g)} | {int((g < 0.35).sum())} | {np.median(g) if len(g) else float('nan'):.2f} |")


if __name__ == "__main__":
    main()
