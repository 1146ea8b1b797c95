#!/usr/bin/env bash
# All of issue 15's figures for one model, each set in its own file under OUTDIR:
#   bash scripts/eval_candidate.sh MODEL.onnx OUTDIR [--opt NAME=VALUE ...]
# clean.md: skin figures and false alarms on the clothes/ hold-out and the people val split
# (scripts/skin_eval.py); real-dev.txt and holdout.txt: real_score.py on real-dev and on the real-train
# hold-out (boxed photos of skindeep.synth.split_real_train's hold-out, linked into cache/real-holdout
# by scripts/real_holdout.py). Sets no setting was chosen on: clothes, people val, hold-out.
# real_score.py exits 1 while its targets are not met: that is a figure here, not a failure.
set -uo pipefail
model=$1; out=$2; shift 2
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$out"
[ -d cache/real-holdout ] || python "$here/real_holdout.py" cache/real-holdout
python "$here/skin_eval.py" --model "$model" "$@" > "$out/clean.md"
python "$here/real_score_with.py" --model "$model" "$@" -- ../shared/data/real-dev -n 200 --csv "$out/real-dev.csv" > "$out/real-dev.txt"
python "$here/real_score_with.py" --model "$model" "$@" -- cache/real-holdout -n 200 --csv "$out/holdout.csv" > "$out/holdout.txt"
