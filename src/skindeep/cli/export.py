"""``skindeep export``: checkpoint -> ONNX + onnxruntime parity check + metadata JSON."""

from __future__ import annotations

import json

import click

from skindeep.cli.options import model_setting_options


@click.command(name="export")
@click.option("--checkpoint", required=True, type=click.Path(dir_okay=False), help="e.g. runs/main/best.pt")
@click.option("--out", default="src/skindeep/weights/skindeep.onnx", show_default=True,
              type=click.Path(dir_okay=False), help="ONNX file; metadata goes next to it as .json.")
@click.option("--threshold", type=click.FloatRange(0, 1), default=None,
              help="Recommended ink threshold (metadata); default: best mask F1 on the run's val set.")
@model_setting_options(recommend=True)
@click.option("--no-timing", is_flag=True, help="Skip the 1024x1024 onnxruntime timing.")
def command(checkpoint: str, out: str, threshold: float | None, no_timing: bool, **recommended) -> None:
    """Export CHECKPOINT to ONNX; fails loudly if onnxruntime and torch differ by >= 1e-3.

    The --detect-size ... --coarse-support values go into the metadata as the settings the remover uses
    with this model (skindeep.remove.session.MODEL_SETTINGS).
    """
    from skindeep.errors import SkinDeepError
    from skindeep.model.export import export_checkpoint

    try:
        meta = export_checkpoint(checkpoint, out, threshold=threshold, timing=not no_timing, **recommended)
    except SkinDeepError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(meta, indent=2))
