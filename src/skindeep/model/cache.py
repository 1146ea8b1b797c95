"""Pre-write synthetic samples for training (train split) or validation (val split) into a folder.

    python -m skindeep.model.cache --split train --n 4000 --size 320 --out cache/train
    python -m skindeep.model.cache --split val --n 200 --size 320 --out cache/val --seed 1
    python -m skindeep.model.cache --split train --n 3000 --preset real-v2 --seed 3 --out cache/train-v2
    python -m skindeep.model.cache --split train --n 1500 --preset real-v8 --realink cache/realink --out cache/train-realink

Only the project's split of photos and designs is used (``split_photos``/``split_designs``, seed 0), so
validation never sees a training photo or design. Samples already in the folder are skipped (rerunnable).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from skindeep.model.data import make_synthesizer
from skindeep.synth.config import PRESET_NAMES


def write_cache(out: str | Path, n: int, size: int, split: str, seed: int, people_dir: str | Path,
                designs_dir: str | Path, log=print, preset: str = "default", realink: str | Path = "") -> int:
    """Write ``n`` samples named ``{split}{i:06d}``; returns how many were newly written."""
    from skindeep.synth import sample_seeds, write_sample

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    synth = make_synthesizer(people_dir, designs_dir, size, split, preset, realink)
    written, t0 = 0, time.monotonic()
    for i, s in enumerate(sample_seeds(n, seed)):
        name = f"{split}{i:06d}"
        if (out / f"{name}.json").exists():  # the json is written last: the sample is complete
            continue
        write_sample(synth.sample(s, name=name), out)
        written += 1
        if written % 250 == 0:
            log(f"{out}: {i + 1}/{n} ({(time.monotonic() - t0) / written:.3f} s/sample)")
    return written


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--size", type=int, default=320)
    ap.add_argument("--split", choices=("train", "val"), required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--preset", default="default", choices=PRESET_NAMES, help="SynthConfig preset (docs/synth.md)")
    ap.add_argument("--people", default="../shared/data/people")
    ap.add_argument("--designs", default="../shared/data/designs")
    ap.add_argument("--realink", default="", help="real ink layers for the 'realink' source (skindeep.model.realink)")
    a = ap.parse_args(argv)
    n = write_cache(a.out, a.n, a.size, a.split, a.seed, a.people, a.designs, preset=a.preset, realink=a.realink)
    print(f"wrote {n} new samples to {a.out}")


if __name__ == "__main__":
    main()
