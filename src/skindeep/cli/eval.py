"""``skindeep eval``: benchmark the model on synthetic and real photos and write a report."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click

from skindeep.errors import SkinDeepError


def _sizes(ctx, param, value: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(s) for s in value.split(",") if s.strip())
    except ValueError:
        raise click.BadParameter(f"expected sizes like 256,512,1024, got {value!r}") from None
    if not sizes or any(s < 32 for s in sizes):
        raise click.BadParameter(f"sizes must be integers >= 32, got {value!r}")
    return sizes


@click.command(name="eval")
@click.option("--model", type=click.Path(dir_okay=False, path_type=Path), help="ONNX weights (default: shipped).")
@click.option("--people", type=click.Path(file_okay=False, path_type=Path),
              help="Clean people photos (default ../shared/data/people).")
@click.option("--designs", type=click.Path(file_okay=False, path_type=Path),
              help="SVG designs (default ../shared/data/designs).")
@click.option("--real", "real_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Real tattoo photos in real-dev format (default ../shared/data/real-dev).")
@click.option("-n", "n", type=int, default=45, show_default=True, help="Synthetic cases (0 = skip).")
@click.option("--sizes", default="256,512,1024", show_default=True, callback=_sizes, help="Synthetic sizes.")
@click.option("--n-real", type=int, default=40, show_default=True, help="Real photos (0 = skip).")
@click.option("--n-clean", type=int, default=40, show_default=True, help="Held-out clean photos (0 = skip).")
@click.option("--n-restore", type=int, default=40, show_default=True,
              help="Real photos for the restorer alone, region given (0 = skip).")
@click.option("--n-restore-synth", type=int, default=15, show_default=True,
              help="Synthetic pairs for the restorer alone, true mask given (0 = skip).")
@click.option("--threads", type=int, help="onnxruntime threads (default: the remover's).")
@click.option("--perceptual/--no-perceptual", default=None,
              help="Feature distance (needs torch; default: on when installed).")
@click.option("--set", "bench_set", type=click.Path(file_okay=False, path_type=Path),
              help="Score the synthetic pairs saved earlier with --save-set (same pixels whatever synth is now).")
@click.option("--save-set", type=click.Path(file_okay=False, path_type=Path),
              help="Also write the synthetic pairs to this folder, to replay them later with --set.")
@click.option("--fill-base", type=click.Choice(["membrane", "learned"]),
              help="Low frequencies of the skin fill: the membrane, or the learned restorer on top of it "
                   "(default: the shipped setting).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (default runs/eval/<date-time>).")
@click.option("--compare", nargs=2, type=click.Path(path_type=Path), metavar="RUN_A RUN_B",
              help="Compare two finished runs (folders with metrics.json) instead; writes compare.md.")
def command(model, people, designs, real_dir, n, sizes, n_real, n_clean, n_restore, n_restore_synth, threads, perceptual, bench_set, save_set,
            fill_base, out, compare):
    """Evaluate removal; write metrics.json, report.md, plots and contact sheets into --out."""
    from skindeep.eval import report

    try:
        if compare:
            path = report.compare_runs(compare[0], compare[1], out or Path(compare[1]))
            click.echo(path.read_text())
            click.echo(f"wrote {path}")
            return
        from skindeep.eval.run import EvalConfig, evaluate

        out = out or Path("runs") / "eval" / datetime.now().strftime("%Y%m%d-%H%M%S")
        cfg = EvalConfig(out=out, model=model, people=people, designs=designs, real=real_dir, n=n, sizes=sizes,
                         n_real=n_real, n_clean=n_clean, n_restore=n_restore,
                         n_restore_synth=n_restore_synth, threads=threads, perceptual=perceptual,
                         bench_set=bench_set, save_set=save_set, fill_base=fill_base,
                         command="skindeep eval " + " ".join(sys.argv[2:]))
        counts = {"synthetic": 0, "real": 0, "restorer": 0, "clean": 0}

        def progress(section: str, item: str) -> None:
            counts[section] += 1
            click.echo(f"\r{section} {counts[section]}: {item:<40}", nl=False, err=True)

        path = evaluate(cfg, progress=progress)
        click.echo("", err=True)
        click.echo(f"wrote {path} and {path.parent / 'metrics.json'}")
    except SkinDeepError as exc:
        raise click.ClickException(str(exc)) from exc
