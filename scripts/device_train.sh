#!/usr/bin/env bash
# One training run in one call of the lent GPU machine (docs/training.md, "The GPU run"):
#
#   bash scripts/device_train.sh --budget SECONDS [--device cuda|cpu] [--pack DIR] [--out DIR] [--config FILE]
#
# Installs the pack's wheels into a temporary folder, then runs skindeep.model.device_run: unpack the
# pack, train configs/gpu.toml from the shipped weights until the budget (minus a reserve) is spent,
# validate, export ONNX (parity with torch checked), write checkpoint, ONNX + JSON, metrics.json,
# sheet.jpg, train.csv and log.txt to --out (default: $OUT, the device tool's folder).
# The CPU dry run (tests/test_device_run.py) runs exactly this with --device cpu --budget 60.
set -euo pipefail
started=$(date +%s.%N)
budget="" device=cuda pack=pack out="${OUT:-}" config=""
while [ $# -gt 0 ]; do
  case "$1" in
    --budget) budget="$2"; shift 2 ;;
    --device) device="$2"; shift 2 ;;
    --pack) pack="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --config) config="$2"; shift 2 ;;
    *) echo "device_train.sh: unknown option $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done
if [ -z "$budget" ]; then echo "device_train.sh: --budget SECONDS is required" >&2; exit 2; fi
if [ -z "$out" ]; then echo "device_train.sh: give --out DIR (or set \$OUT)" >&2; exit 2; fi
if [ ! -f "$pack/manifest.json" ]; then
  echo "device_train.sh: $pack is not a device pack; build it with python scripts/make_device_pack.py" >&2; exit 2
fi
if [ -d "$out" ] && [ -n "$(ls -A "$out")" ]; then
  echo "device_train.sh: $out is not empty; give an empty or new folder (nothing there is overwritten)" >&2; exit 2
fi
repo=$(cd "$(dirname "$0")/.." && pwd)
py="${PYTHON:-python3}"
mkdir -p "$out"
site=$(mktemp -d /tmp/skindeep-site.XXXXXX)
trap 'rm -rf "$site"' EXIT
if compgen -G "$pack/wheels/*.whl" > /dev/null; then
  "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$site" "$pack"/wheels/*.whl
fi
export PYTHONPATH="$site:$repo/src${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1 OMP_WAIT_POLICY=PASSIVE
# loader workers hand batches over in shared memory: say how much there is, for the log
{ echo "shared memory: $(df -h /dev/shm 2>/dev/null | tail -1)"; nproc; } > "$out/log.txt"
args=(--budget "$budget" --device "$device" --pack "$pack" --out "$out" --started "$started")
if [ -n "$config" ]; then args+=(--config "$config"); fi
"$py" -m skindeep.model.device_run "${args[@]}" 2>&1 | tee -a "$out/log.txt"
