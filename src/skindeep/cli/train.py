"""``skindeep train``: train the removal model from a TOML config (see docs/training.md)."""

from __future__ import annotations

import click


@click.command(name="train")
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False),
              help="TOML training config, e.g. configs/default.toml.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Output folder: last.pt, best.pt, train.csv, val.csv.")
@click.option("--resume", is_flag=True, help="Continue from OUT/last.pt (model, optimizer, stage, step).")
@click.option("--init", "init", type=click.Path(dir_okay=False), default=None,
              help="Start from this checkpoint's weights with a fresh schedule (fine-tuning).")
@click.option("--max-steps", type=int, default=None, help="Stop after this many steps (then --resume).")
def command(config_path: str, out_dir: str, resume: bool, init: str | None, max_steps: int | None) -> None:
    """Train the removal model. Works under `torchrun --nproc_per_node N` (DDP)."""
    import os

    # Idle OpenMP threads must sleep, not spin: on a shared 2-core CPU spinning made steps 15x slower.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from skindeep.errors import SkinDeepError
    from skindeep.model.config import load_config
    from skindeep.model.train import train

    try:
        cfg = load_config(config_path)
        train(cfg, out_dir, resume=resume, init=init, max_steps=max_steps,
              log=lambda msg: click.echo(msg, err=True))
    except SkinDeepError as exc:
        raise click.ClickException(str(exc)) from exc
