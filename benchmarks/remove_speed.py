"""Speed and peak memory of photo removal at 1, 4 and 12 MP with a small and a large tattoo.

    python benchmarks/remove_speed.py [--model PATH] [--threads N]
    python benchmarks/remove_speed.py --quality [--n 10]   # reduced-scale restore: PSNR and time
    python benchmarks/remove_speed.py --region             # a loose box given (mask_mode="replace")


Each case runs in a fresh process under ``/usr/bin/time -v`` (peak RSS = "Maximum resident set size"):
the process loads the Remover, removes once cold (session creation, first-run allocations) and once
warm; we report both and the warm time's split (detect / mask / restore). The photos are synthetic
samples (a CC BY ``frll_`` face with a design from the validation half) upscaled to the target size, so
the tattoo covers the same share of the photo at every size. With ``--region`` each photo is given a loose
box around its ink (the ink's bounding box grown by a quarter of its side, as a user draws one) and
restored with ``mask_mode="replace"``: the whole box is filled, less the background it spills onto.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SKINDEEP_DATA", ROOT.parent / "shared" / "data"))  # a worktree elsewhere: set it
SIZES = {"1 MP": (1152, 864), "4 MP": (2304, 1728), "12 MP": (4000, 3000)}
# Tattoo share of the photo (ink alpha > 20) for each case; the first seed in range is used.
CASES = {"small": (0.005, 0.03), "large": (0.08, 0.40)}


def make_photos(out: Path) -> list[tuple[str, str, Path, float]]:
    from PIL import Image

    from skindeep.synth import SynthConfig, Synthesizer, split_designs

    people, designs = SHARED / "people", SHARED / "designs"
    photos = [people / f"frll_{i:04d}.jpg" for i in (3, 7, 12, 21)]
    cfg = SynthConfig(size=640, p_clean=0.0, p_hard_negative=0.0, p_jpeg=0.0, zoom=(1.0, 1.0), max_tattoos=2,
                      noise_sigma=(0.0, 0.5))
    synth = Synthesizer(people, designs, cfg, photos=photos, designs=split_designs(designs)[1])
    made = []
    for case, (low, high) in CASES.items():
        for seed in range(500):
            sample = synth.sample(seed)
            coverage = float((sample.ink > 20).mean())
            if low <= coverage <= high:
                break
        for label, (w, h) in SIZES.items():
            # 4:3 photo: the square sample, padded with its own edge, then upscaled.
            side = sample.tattooed.shape[0]
            pad = (side * w // h - side) // 2
            wide = np.pad(sample.tattooed, ((0, 0), (pad, pad), (0, 0)), mode="edge")
            path = out / f"{case}_{label.replace(' ', '')}.png"
            Image.fromarray(wide).resize((w, h), Image.BICUBIC).save(path, compress_level=1)
            Image.fromarray(loose_box(np.pad(sample.ink, ((0, 0), (pad, pad))) > 20)).resize(
                (w, h), Image.NEAREST).save(path.with_suffix(".box.png"))
            made.append((label, case, path, coverage * side / wide.shape[1]))
    return made


def loose_box(ink: np.ndarray) -> np.ndarray:
    """(h, w) uint8 255 in the bounding box of ``ink`` (h, w) bool grown by a quarter of its side."""
    ys, xs = np.nonzero(ink)
    gy, gx = (ys.max() - ys.min()) // 4, (xs.max() - xs.min()) // 4
    box = np.zeros(ink.shape, np.uint8)
    box[max(0, ys.min() - gy):ys.max() + gy + 1, max(0, xs.min() - gx):xs.max() + gx + 1] = 255
    return box


def run_one(photo: Path, model: str | None, threads: int | None, region: bool = False) -> None:
    """Child process: cold + warm removal of one photo, JSON on stdout."""
    from skindeep.io import read_image
    from skindeep.remove import Remover

    rgb = read_image(photo).rgb
    given = {"mask": read_image(photo.with_suffix(".box.png")).rgb[..., 0], "mask_mode": "replace"} if region else {}
    t = time.perf_counter()
    remover = Remover(model, threads=threads)
    load = time.perf_counter() - t
    cold = remover.remove(rgb, **given)
    warm = remover.remove(rgb, **given)
    print(json.dumps({"load": load, "cold": cold.seconds, "warm": warm.seconds, "timings": warm.timings,
                      "changed": float((warm.ink_mask > 0).mean())}))


def psnr(a: np.ndarray, b: np.ndarray, where: np.ndarray) -> float:
    """PSNR (dB) of uint8 images ``a`` vs ``b`` over the pixels where ``where`` (H, W) is True."""
    err = (a.astype(np.float64) - b.astype(np.float64))[where]
    return float(10 * np.log10(255.0**2 / max(np.mean(err**2), 1e-10)))


# Restore-scale schemes compared by --quality: name -> Remover keyword overrides.
SCHEMES = {"full res (restore_side 2048 only)": {"restore_pixels": None},
           "<= 0.6 MP (default)": {"restore_pixels": 600_000}, "<= 0.4 MP": {"restore_pixels": 400_000}}
REFERENCE = "full res (restore_side 2048 only)"


def quality(n: int, size: int, model: str | None, threads: int | None) -> None:
    """PSNR inside the ink (vs the clean photo) and warm time of each restore scheme on ``n`` validation
    samples (held-out photos and designs) of ``size`` px. Face protection off: it is the same in all."""
    from skindeep.remove import Remover
    from skindeep.synth import SynthConfig, Synthesizer, split_designs, split_photos

    people, designs = SHARED / "people", SHARED / "designs"
    synth = Synthesizer(people, designs, SynthConfig(size=size, p_clean=0.0), photos=split_photos(people)[1],
                        designs=split_designs(designs)[1])
    removers = {name: Remover(model, threads=threads, protect_face=False, **kw) for name, kw in SCHEMES.items()}
    scores: dict[str, list[float]] = {name: [] for name in SCHEMES}
    times: dict[str, list[float]] = {name: [] for name in SCHEMES}
    base: list[float] = []
    for seed in range(n):
        sample = synth.sample(seed)
        ink = sample.ink > 0
        base.append(psnr(sample.tattooed, sample.clean, ink))
        for name, remover in removers.items():  # interleaved, so load noise hits all schemes alike
            if seed == 0:
                remover.remove(sample.tattooed)  # warm-up
            res = remover.remove(sample.tattooed)
            scores[name].append(psnr(res.image, sample.clean, ink))
            times[name].append(res.seconds)
        print(f"seed {seed}: ink {ink.mean():.1%}, input {base[-1]:.2f} dB, "
              + ", ".join(f"{k} {scores[k][-1]:.2f} dB {times[k][-1]:.2f} s" for k in SCHEMES), flush=True)
    print(f"\n{n} validation samples, {size}x{size} px; input (tattooed) PSNR in ink {np.mean(base):.2f} dB\n")
    print("| restore scheme | PSNR in ink, mean dB | vs full res dB | warm s, median | warm s, max |")
    print("|---|---|---|---|---|")
    ref = np.mean(scores[REFERENCE])
    for name in SCHEMES:
        print(f"| {name} | {np.mean(scores[name]):.2f} | {np.mean(scores[name]) - ref:+.2f} | "
              f"{np.median(times[name]):.2f} | {np.max(times[name]):.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--quality", action="store_true", help="compare restore scales: PSNR in ink and time")
    parser.add_argument("--region", action="store_true", help="give a loose box around the ink (replace mode)")
    parser.add_argument("--n", type=int, default=10, help="--quality: number of validation samples")
    parser.add_argument("--size", type=int, default=1024, help="--quality: sample side in px")
    args = parser.parse_args()
    if args.quality:
        quality(args.n, args.size, args.model, args.threads)
        return
    if args.one:
        run_one(args.one, args.model, args.threads, args.region)
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, case, photo, coverage in make_photos(Path(tmp)):
            cmd = ["/usr/bin/time", "-v", sys.executable, __file__, "--one", str(photo)]
            cmd += ["--model", args.model] if args.model else []
            cmd += ["--threads", str(args.threads)] if args.threads else []
            cmd += ["--region"] if args.region else []
            proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
            data = json.loads(proc.stdout.strip().splitlines()[-1])
            rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1))
            t = data["timings"]
            rows.append(f"| {label} | {case} ({coverage:.1%} ink, {data['changed']:.1%} changed) | "
                        f"{data['warm']:.2f} | {data['cold']:.2f} | {t['detect']:.2f} / {t['mask']:.2f} / "
                        f"{t['restore']:.2f} | {rss_kb / 1024:.0f} |")
            print(rows[-1], flush=True)
    print("\n| photo | tattoo | warm s | cold s | detect / mask / restore s | peak RSS MB |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
