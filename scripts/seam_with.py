"""The restorer section of ``skindeep eval`` (real-dev photos, region given) for skindeep alone, under given
fill settings, without the rest of the evaluation: one line of figures per setting.

    python scripts/seam_with.py [--n 40] "" "fill.texture_levels=3,fill.soft_edge=1" ...

Each argument is a comma-separated list of Remover options in ``real_score_with.py``'s ``--opt`` form
(``fill.NAME=V`` sets one FillSettings field; empty = the shipped settings).
Used for the experiments in docs/experiments.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from real_score_with import parse_options


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("variants", nargs="+")
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--real", type=Path, default=Path("../shared/data/real-dev"))
    a = ap.parse_args()
    from skindeep.eval import real, restorer
    from skindeep.remove import Remover

    photos = real.evenly(real.list_real(a.real), a.n)
    for text in a.variants:
        options = parse_options([o.strip() for o in text.split(",") if o.strip()])
        ours = restorer.restorers(Remover(**options))["skindeep"]
        s = restorer.run_restorer_real(photos, {"skindeep": ours})["summary"]["skindeep"]
        print(f"[{text or 'shipped'}] " + ", ".join(f"{k} {v:.3g}" for k, v in s.items()), flush=True)


if __name__ == "__main__":
    main()
