"""Flicker and speed of `skindeep video` on a synthetic 720p clip (writes the numbers for video.md).

A hand photo from ../shared/data/people gets dark strokes drawn on its skin (multiplicative ink, so the
skin texture shows through), then moves, zooms and turns along a known affine path with fresh camera
noise per frame. Each mode processes the same clip file; flicker is measured on the decoded outputs with
the *true* motion (skindeep.video.synthetic.temporal_change), error against the clean clip inside the ink.

    python benchmarks/video_bench.py [--model PATH] [--frames 48] [--size 1280x720] [--sheet out.png]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from skindeep.video import FrameProcessor, VideoConfig, remove_video
from skindeep.video import io as vio
from skindeep.video.synthetic import make_clip, temporal_change, write_clip

ROOT = Path(__file__).resolve().parents[1]
PEOPLE = ROOT.parent / "shared" / "data" / "people"
SHIPPED = ROOT / "src" / "skindeep" / "weights" / "skindeep.onnx"


def tattooed_photo(name: str = "hgr_0019", seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(tattooed, ink alpha, clean) from a people/ photo: smooth dark strokes inside its skin mask."""
    clean = cv2.cvtColor(cv2.imread(str(PEOPLE / f"{name}.jpg")), cv2.COLOR_BGR2RGB)
    skin = cv2.imread(str(PEOPLE / f"{name}.skin.png"), cv2.IMREAD_GRAYSCALE) > 127
    skin = cv2.erode(skin.astype(np.uint8), np.ones((25, 25), np.uint8)) > 0
    rng = np.random.default_rng(seed)
    ys, xs = np.nonzero(skin)
    ink = np.zeros(skin.shape, np.uint8)
    for _ in range(7):  # wavy strokes, 4-9 px wide, starting on skin
        i = rng.integers(len(xs))
        x, y, angle = float(xs[i]), float(ys[i]), rng.uniform(0, 2 * np.pi)
        points = []
        for _ in range(30):
            angle += rng.normal(0, 0.25)
            x, y = x + 4 * np.cos(angle), y + 4 * np.sin(angle)
            points.append((x, y))
        cv2.polylines(ink, [np.int32(points)], False, 255, int(rng.integers(4, 10)), cv2.LINE_AA)
    ink = np.where(skin, ink, 0).astype(np.uint8)
    transmittance = np.array([0.22, 0.25, 0.32], np.float32)  # blue-black ink
    a = ink[..., None].astype(np.float32) / 255.0
    tattooed = clean.astype(np.float32) * (1 - a + a * transmittance)
    return np.clip(tattooed + 0.5, 0, 255).astype(np.uint8), ink, clean


def synth_photo(seed: int, size: int = 720) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(tattooed, ink alpha, clean) from skindeep.synth (ink physics, real designs), square ``size``."""
    from skindeep.synth import SynthConfig, Synthesizer

    config = SynthConfig(size=size, p_clean=0.0, p_hard_negative=0.0, p_jpeg=0.0, noise_sigma=(0.0, 0.0))
    sample = Synthesizer(PEOPLE, PEOPLE.parent / "designs", config).sample(seed)
    return sample.tattooed, sample.ink, sample.clean


def model_path(arg: str | None) -> tuple[Path, str]:
    if arg:
        return Path(arg), arg
    if SHIPPED.is_file():
        meta = json.loads(SHIPPED.with_suffix(".json").read_text()) if SHIPPED.with_suffix(".json").is_file() else {}
        facts = ", ".join(f"{k} {meta[k]}" for k in ("version", "step", "stage") if k in meta)
        return SHIPPED, f"shipped weights (src/skindeep/weights/skindeep.onnx; {facts})"
    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import build_tiny_onnx

    path = build_tiny_onnx(Path(tempfile.mkdtemp()) / "tiny.onnx")
    return path, "tiny stand-in model (tests/conftest.py: dark = ink, clean = 15x15 box blur)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--synth", type=int, default=None, metavar="SEED",
                        help="tattoo from skindeep.synth (this seed) instead of strokes drawn on hgr_0019")
    parser.add_argument("--sheet", default=None, help="write a PNG: input | per-frame | temporal, 3 frames")
    args = parser.parse_args()
    width, height = map(int, args.size.split("x"))
    path, which = model_path(args.model)
    from skindeep.remove import Remover

    remover = Remover(model_path=path, protect_face=False)
    tattooed, ink, clean = tattooed_photo() if args.synth is None else synth_photo(args.synth)
    source = "hgr_0019 + 7 strokes" if args.synth is None else f"skindeep.synth seed {args.synth}"
    clip = make_clip(tattooed, ink, clean, args.frames, (width, height), noise=2.0)
    work = Path(tempfile.mkdtemp())
    src = write_clip(work / "in.mp4", clip.frames, fps=24, audio_seconds=args.frames / 24)
    decoded_in = [f.rgb for f in vio.read_frames(vio.open_input(src))]

    def flicker(frames: list[np.ndarray]) -> float:
        return temporal_change(frames, clip.ink, clip.transforms)

    def error(frames: list[np.ndarray]) -> float:
        return float(np.mean([np.abs(f.astype(np.float32) - c)[i > 0].mean()
                              for f, c, i in zip(frames, clip.clean, clip.ink, strict=True)]))

    clean_encoded = write_clip(work / "clean.mp4", clip.clean, fps=24, crf=18)
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"model: {which}\nclip: {args.frames} frames {width}x{height} @ 24 fps, {source}\n"
          f"CPU: {os.cpu_count()} cores, load average before the run {load}\n")
    print("| mode | flicker in ink, before encoding | flicker in ink, output file (crf 18) "
          "| error vs clean in ink | fps (wall) | CPU s/frame |")
    print("|---|---|---|---|---|---|")
    print(f"| input (tattooed) | {flicker(clip.frames):.2f} | {flicker(decoded_in):.2f} "
          f"| {error(decoded_in):.1f} | - | - |")
    clean_dec = [f.rgb for f in vio.read_frames(vio.open_input(clean_encoded))]
    print(f"| clean ground truth | {flicker(clip.clean):.2f} | {flicker(clean_dec):.2f} | 0.0 | - | - |")
    modes = {
        "per-frame (photo pipeline on each frame)": VideoConfig(temporal=False),
        "temporal (default)": VideoConfig(),
        "temporal, key frame every 2nd": VideoConfig(key_every=2),
        "temporal, key frame every 3rd": VideoConfig(key_every=3),
    }
    outputs = {}
    for name, config in modes.items():
        t, cpu = time.perf_counter(), time.process_time()  # CPU: all threads (onnxruntime, x264) of this job
        report = remove_video(src, work / "out.mp4", config, remover=remover)
        seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
        outputs[name] = [f.rgb for f in vio.read_frames(vio.open_input(report.dst))]
        processor = FrameProcessor(remover, config)  # the same frames again, kept before the encoder
        raw = [processor(frame) for frame in decoded_in]
        print(f"| {name} | {flicker(raw):.2f} | {flicker(outputs[name]):.2f} | {error(outputs[name]):.1f} "
              f"| {report.frames / seconds:.2f} | {cpu / report.frames:.3f} |", flush=True)
    if args.sheet:
        picks = [args.frames // 4, args.frames // 2, 3 * args.frames // 4]
        rows = [np.hstack([decoded_in[i]] + [outputs[n][i] for n in list(modes)[:2]]) for i in picks]
        sheet = cv2.resize(np.vstack(rows), None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
        cv2.imwrite(args.sheet, cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))


if __name__ == "__main__":
    main()
