"""Score a candidate model on the issue-9 figures at several thresholds: real-dev (real_score.py) and
false positives on held-out clean photos (``skindeep eval -n 0 --n-real 0 --n-clean 40``).

    python scripts/score_candidate.py runs/ft-v3/cand.onnx --thresholds 0.5,0.75 [--n 120] [--opt detect_size=256] [--rest] [--clothes]

Prints one markdown table row per threshold (the rows of docs/experiments.md). Options are
``Remover`` keywords (``PipelineConfig`` fields), applied to both the real-dev and the clean-photo runs.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

from real_score_with import parse_options  # this folder is on sys.path when run as a script

HERE = Path(__file__).resolve().parent


def real_dev(model: Path, threshold: float, n: int, opts: list[str]) -> str:
    cmd = [sys.executable, str(HERE / "real_score_with.py"), "--model", str(model), "--opt", f"threshold={threshold}"]
    for o in opts:
        cmd += ["--opt", o]
    out = subprocess.run(cmd + ["--", "../shared/data/real-dev", "-n", str(n)], capture_output=True, text=True).stdout
    figures = re.findall(r"(\d+\.\d+)", out.strip().splitlines()[-1])
    return " | ".join(figures[-4:])


def clean_fp(model: Path, threshold: float, opts: list[str], rest: bool = False, clothes: bool = False) -> float:
    """Mean share of pixels changed on the 40 held-out clean photos ``skindeep eval`` uses, or with
    ``rest`` on the other photos of the validation split (113): a confirmation set that no setting was
    chosen on; or with ``clothes`` on the held-out part of ``clothes/`` (``split_clothes``: 107 clothed
    street photos, printed and black clothes next to skin)."""
    from skindeep.eval.real import run_clean, select_clean
    from skindeep.remove import Remover
    from skindeep.synth import split_clothes, split_photos

    remover = Remover(model, threshold=threshold, **parse_options(opts))

    def remove(rgb):
        r = remover.remove(rgb)
        return r.image, r.ink_mask

    if clothes:
        return run_clean(split_clothes(Path("../shared/data/clothes"))[1], remove)["summary"]["changed_mean"]
    val = split_photos(Path("../shared/data/people"))[1]
    photos = select_clean(val, 40)
    if rest:
        chosen = set(photos)
        photos = [p for p in val if p not in chosen]
    return run_clean(photos, remove)["summary"]["changed_mean"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", type=Path)
    ap.add_argument("--thresholds", default="0.5,0.75")
    ap.add_argument("--n", type=int, default=120)
    ap.add_argument("--opt", action="append", default=[], help="a Remover keyword, NAME=VALUE (e.g. input_blur=1.0)")
    ap.add_argument("--rest", action="store_true", help="also the false positives on the other 113 val photos")
    ap.add_argument("--clothes", action="store_true", help="also the false positives on clothes/ (val split)")
    a = ap.parse_args()
    print("| model | thr | change outside | edge | gap | texture | clean FP (40) |" + (" clean FP (other 113) |" if a.rest else "")
          + (" clean FP (clothes val) |" if a.clothes else ""))
    for t in (float(x) for x in a.thresholds.split(",")):
        rest = f" {100 * clean_fp(a.model, t, a.opt, rest=True):.2f} % |" if a.rest else ""
        rest += f" {100 * clean_fp(a.model, t, a.opt, clothes=True):.2f} % |" if a.clothes else ""
        print(f"| {a.model} {' '.join(a.opt)} | {t} | {real_dev(a.model, t, a.n, a.opt)} | "
              f"{100 * clean_fp(a.model, t, a.opt):.2f} % |{rest}", flush=True)


if __name__ == "__main__":
    main()
