"""Score a candidate model on the issue-9 figures at several thresholds: real-dev (real_score.py) and
false positives on held-out clean photos (``skindeep eval -n 0 --n-real 0 --n-clean 40``).

    python scripts/score_candidate.py runs/ft-v3/cand.onnx --thresholds 0.5,0.75 [--n 120] [--opt detect_size=256]

Prints one markdown table row per threshold (the rows of docs/experiments.md). The model's .json
must sit next to it (``skindeep export`` writes it); a temporary copy carries each threshold.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def real_dev(model: Path, threshold: float, n: int, opts: list[str]) -> str:
    cmd = [sys.executable, str(HERE / "real_score_with.py"), "--model", str(model), "--opt", f"threshold={threshold}"]
    for o in opts:
        cmd += ["--opt", o]
    out = subprocess.run(cmd + ["--", "../shared/data/real-dev", "-n", str(n)], capture_output=True, text=True).stdout
    figures = re.findall(r"(\d+\.\d+)", out.strip().splitlines()[-1])
    return " | ".join(figures[-4:])


def clean_fp(model: Path, threshold: float, opts: list[str]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / model.name
        shutil.copy(model, copy)
        meta = json.loads(model.with_suffix(".json").read_text())
        meta["threshold"] = threshold
        for o in opts:  # the settings travel through the metadata the remover reads
            key, value = o.split("=", 1)
            meta[f"recommended_{key}"] = float(value)
        copy.with_suffix(".json").write_text(json.dumps(meta))
        subprocess.run([str(Path(sys.executable).with_name("skindeep")), "eval", "--model", str(copy), "-n", "0", "--n-real", "0",
                        "--n-clean", "40", "--out", str(Path(tmp) / "eval")], capture_output=True, check=True)
        metrics = json.loads((Path(tmp) / "eval" / "metrics.json").read_text())
    return metrics["clean"]["summary"]["changed_mean"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", type=Path)
    ap.add_argument("--thresholds", default="0.5,0.75")
    ap.add_argument("--n", type=int, default=120)
    ap.add_argument("--opt", action="append", default=[], help="detect_size=N, restore_side=N or input_blur=S")
    a = ap.parse_args()
    print("| model | thr | change outside | edge | gap | texture | clean FP (40) |")
    for t in (float(x) for x in a.thresholds.split(",")):
        print(f"| {a.model} {' '.join(a.opt)} | {t} | {real_dev(a.model, t, a.n, a.opt)} | "
              f"{100 * clean_fp(a.model, t, a.opt):.2f} % |", flush=True)


if __name__ == "__main__":
    main()
