"""`skindeep video IN -o OUT`: remove tattoos from a video, stable in time."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from skindeep.cli.options import model_option, protect_face_option, strength_option, threshold_option
from skindeep.errors import SkinDeepError
from skindeep.video import VideoConfig, remove_video  # needs PyAV: the CLI group names the extra if absent
from skindeep.video.io import CRF_RANGES, PRESETS, check_encoder
from skindeep.video.pipeline import default_remover


def _check_codec(ctx: click.Context, param: click.Parameter, codec: str) -> str:
    """--codec must name a video encoder of this FFmpeg build (checked before any work)."""
    try:
        check_encoder(codec, 18, None)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return codec


@click.command(name="video")
@click.argument("src", type=click.Path(path_type=Path))
@click.option("-o", "--output", "dst", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Output video (default: IN_clean.mp4 next to the input).")
@model_option()
@click.option("--start", type=click.FloatRange(min=0), default=None, help="Process from this time (seconds).")
@click.option("--end", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Process up to this time (seconds, exclusive).")
@click.option("--codec", default="libx264", show_default=True, callback=_check_codec,
              help="Video encoder (libx264, libx265, libvpx-vp9, ...).")
@click.option("--crf", type=click.IntRange(0, max(high for _, high in CRF_RANGES.values())), default=18,
              show_default=True,
              help="Constant rate factor, lower = better (libx264/libx265: 0..51; VP9/AV1: 0..63).")
@click.option("--preset", type=click.Choice(PRESETS), default="medium", show_default=True,
              help="Encoder speed preset (x264/x265).")
@threshold_option()
@strength_option()
@click.option("--per-frame", is_flag=True, help="No temporal stabilisation: each frame alone (flickers).")
@click.option("--key-every", type=click.IntRange(min=1), default=1, show_default=True,
              help="Run the network on every k-th frame only; in between, carry mask and fill along the optical flow (faster).")
@protect_face_option()
@click.option("--no-face-protection", "old_no_face_protection", is_flag=True, hidden=True,
              help="Old name of --no-protect-face (still accepted).")
@click.option("--no-audio", is_flag=True, help="Drop the audio instead of copying it.")
@click.option("--overwrite", is_flag=True, help="Replace OUT if it exists.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def command(src, dst, model_path, start, end, codec, crf, preset, threshold, strength, per_frame,
            key_every, protect_face, old_no_face_protection, no_audio, overwrite, quiet) -> None:
    """Remove tattoos from the video SRC; keeps size, timing, rotation and audio.

    A failed run leaves no OUT. Ctrl-C stops early and leaves a playable OUT of the frames done so far.
    """
    if old_no_face_protection:
        click.echo("note: --no-face-protection is now called --no-protect-face (as in skindeep remove)", err=True)
        protect_face = False
    try:
        check_encoder(codec, crf, preset)  # --crf's range depends on --codec
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--crf'") from None
    if start is not None and end is not None and end <= start:
        raise click.BadParameter(f"{end:g} s is not after --start ({start:g} s)", param_hint="'--end'")
    dst = dst or src.with_name(f"{src.stem}_clean.mp4")
    # samefile also catches a link to the input (resolve() misses hard links)
    if src.resolve() == dst.resolve() or (dst.exists() and src.exists() and dst.samefile(src)):
        raise click.ClickException(f"{dst}: the output would overwrite the input; choose another -o")
    if dst.exists() and not overwrite:
        raise click.ClickException(f"{dst} exists; pass --overwrite to replace it")
    config = VideoConfig(
        codec=codec, crf=crf, preset=preset, start=start, end=end, temporal=not per_frame,
        key_every=key_every, threshold=threshold, strength=strength,
        protect_face=protect_face, audio=not no_audio, progress=not quiet,
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
