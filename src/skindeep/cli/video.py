"""`skindeep video IN -o OUT`: remove tattoos from a video, stable in time."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from skindeep.errors import SkinDeepError
from skindeep.video import VideoConfig, remove_video  # needs PyAV: the CLI group names the extra if absent
from skindeep.video.pipeline import default_remover


@click.command(name="video")
@click.argument("src", type=click.Path(path_type=Path))
@click.option("-o", "--output", "dst", type=click.Path(path_type=Path), default=None,
              help="Output video (default: IN_clean.mp4 next to the input).")
@click.option("--model", "model_path", type=click.Path(path_type=Path), default=None,
              help="ONNX weights (default: the shipped model).")
@click.option("--start", type=float, default=None, help="Process from this time (seconds).")
@click.option("--end", type=float, default=None, help="Process up to this time (seconds, exclusive).")
@click.option("--codec", default="libx264", show_default=True, help="Video encoder (libx264, libx265, ...).")
@click.option("--crf", type=int, default=18, show_default=True, help="Constant rate factor (lower = better).")
@click.option("--preset", default="medium", show_default=True, help="Encoder speed preset (x264/x265).")
@click.option("--threshold", type=float, default=None, help="Ink probability threshold (default: model's).")
@click.option("--strength", type=float, default=1.0, show_default=True, help="0..1, how much ink to remove.")
@click.option("--per-frame", is_flag=True, help="No temporal stabilisation: each frame alone (flickers).")
@click.option("--key-every", type=int, default=1, show_default=True,
              help="Run the network on every k-th frame only; in between, carry mask and fill along the optical flow (faster).")
@click.option("--no-face-protection", is_flag=True, help="Also change eyes, brows, lips and nostrils.")
@click.option("--no-audio", is_flag=True, help="Drop the audio instead of copying it.")
@click.option("--overwrite", is_flag=True, help="Replace OUT if it exists.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def command(src, dst, model_path, start, end, codec, crf, preset, threshold, strength, per_frame,
            key_every, no_face_protection, no_audio, overwrite, quiet) -> None:
    """Remove tattoos from the video SRC; keeps size, timing, rotation and audio.

    Ctrl-C stops early and leaves a playable video of the frames done so far.
    """
    dst = dst or src.with_name(f"{src.stem}_clean.mp4")
    if dst.exists() and not overwrite:
        raise click.ClickException(f"{dst} exists; pass --overwrite to replace it")
    if dst.exists() and src.exists() and dst.samefile(src):  # also a link to it (resolve() misses hard links)
        raise click.ClickException(f"{dst}: the output would overwrite the input")
    config = VideoConfig(
        codec=codec, crf=crf, preset=preset, start=start, end=end, temporal=not per_frame,
        key_every=key_every, threshold=threshold, strength=strength,
        protect_face=False if no_face_protection else None, audio=not no_audio, progress=not quiet,
    )
    try:
        remover = None
        if model_path is not None:
            remover = default_remover(model_path)
        report = remove_video(src, dst, config, remover=remover)
    except SkinDeepError as exc:
        raise click.ClickException(str(exc)) from exc
    what = "stopped (Ctrl-C) after" if report.interrupted else "wrote"
    click.echo(
        f"{what} {report.frames} frames to {report.dst} in {report.seconds:.1f} s ({report.fps:.2f} fps, "
        f"{report.detections} detections, {report.scene_cuts} scene cuts, "
        f"audio {'copied' if report.audio_copied else 'none'})",
        err=True,
    )
    if report.interrupted:
        sys.exit(130)
