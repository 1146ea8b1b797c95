"""``skindeep export``: checkpoint -> ONNX + onnxruntime parity check + metadata JSON."""

from __future__ import annotations

import json

import click


@click.command(name="export")
@click.option("--checkpoint", required=True, type=click.Path(dir_okay=False), help="e.g. runs/main/best.pt")
@click.option("--out", default="src/skindeep/weights/skindeep.onnx", show_default=True,
              type=click.Path(dir_okay=False), help="ONNX file; metadata goes next to it as .json.")
@click.option("--threshold", type=float, default=None,
              help="Recommended ink threshold (metadata); default: best mask F1 on the run's val set.")
@click.option("--detect-size", default=320, show_default=True,
              help="Recommended long side for detection (metadata; the remover reads it).")
@click.option("--restore-side", default=320, show_default=True,
              help="Recommended long side for restoring (metadata): the scale the model restores best at.")
@click.option("--input-blur", default=0.0, show_default=True,
              help="Recommended Gaussian sigma (detector pixels) to soften the input by (metadata).")
@click.option("--grow-threshold", default=0.0, show_default=True,
              help="Recommended hysteresis threshold (metadata): pixels above it join a detected blob.")
@click.option("--coarse-detect-size", default=0, show_default=True,
              help="Recommended long side of a second, coarse detection blobs grow into (metadata; 0 = off).")
@click.option("--coarse-support", default=0.0, show_default=True,
              help="Recommended fine ink probability the coarse detection needs beside it (metadata).")
@click.option("--no-timing", is_flag=True, help="Skip the 1024x1024 onnxruntime timing.")
def command(checkpoint: str, out: str, threshold: float | None, detect_size: int, restore_side: int,
            input_blur: float, grow_threshold: float, coarse_detect_size: int, coarse_support: float,
            no_timing: bool) -> None:
    """Export CHECKPOINT to ONNX; fails loudly if onnxruntime and torch differ by >= 1e-3."""
    from skindeep.errors import SkinDeepError
    from skindeep.model.export import export_checkpoint

    try:
        meta = export_checkpoint(checkpoint, out, threshold=threshold, timing=not no_timing,
                                 detect_size=detect_size, restore_side=restore_side, input_blur=input_blur,
                                 grow_threshold=grow_threshold, coarse_detect_size=coarse_detect_size,
                                 coarse_support=coarse_support)
    except SkinDeepError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(meta, indent=2))
