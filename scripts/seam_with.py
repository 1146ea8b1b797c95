"""The restorer section of ``skindeep eval`` (real-dev photos, region given) for skindeep alone, under given
fill settings, without the rest of the evaluation: one line of figures per setting.

    python scripts/seam_with.py [--n 40] "" "texture_levels=3,soft_edge=True" ...

Each argument is a comma-separated list of ``FillSettings`` fields (empty = the shipped settings).
Used for the experiments in docs/experiments.md.
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path


def settings(text: str):
    """``"texture_levels=3,soft_edge=True"`` -> FillSettings with those fields changed."""
    from dataclasses import replace

    from skindeep.remove.fill import FillSettings

    pairs = [p.split("=", 1) for p in text.split(",") if p.strip()]
    return replace(FillSettings(), **{k.strip(): ast.literal_eval(v.strip()) for k, v in pairs})


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
        fill = settings(text)
        ours = restorer.restorers(Remover(fill=fill))["skindeep"]
        s = restorer.run_restorer_real(photos, {"skindeep": ours})["summary"]["skindeep"]
        print(f"[{text or 'shipped'}] " + ", ".join(f"{k} {v:.3g}" for k, v in s.items()), flush=True)


if __name__ == "__main__":
    main()
