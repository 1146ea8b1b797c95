"""`skindeep remove`: remove tattoos from photos and folders of photos."""

from __future__ import annotations

import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import click

from skindeep.cli.options import (
    model_option,
    model_setting_options,
    protect_face_option,
    strength_option,
    threshold_option,
)

_worker_remover = None
# At most this many "-o names the input" notices are printed one by one; the rest are counted.
MAX_NOTICES = 3


def _init_worker(remover_kwargs: dict) -> None:
    global _worker_remover
    from skindeep.remove import Remover

    _worker_remover = Remover(**remover_kwargs)


def _run_in_worker(job, options):
    from skindeep.remove.batch import run_job

    return run_job(_worker_remover, job, options)


def _skipped(job):
    from skindeep.remove.batch import JobResult

    return JobResult(src=job.src, dst=job.dst, ok=True, error=None, seconds=0.0, skipped=True)


def _run_local(jobs, options, remover_kwargs: dict, workers: int, progress, skip_existing: bool):
    """Yield JobResults, in this process or in ``workers`` processes.

    With ``skip_existing``, jobs an earlier run finished (same rule as ``--cluster``:
    ``skindeep.scale.is_finished``) come back as ``skipped`` without loading the model.
    """
    from skindeep.remove import Remover
    from skindeep.remove.batch import run_job
    from skindeep.scale import is_finished

    todo = []
    for job in jobs:
        if skip_existing and is_finished(job, options):
            yield _skipped(job)
            progress.update(1)
        else:
            todo.append(job)
    jobs = todo
    if not jobs:
        return
    if workers <= 1 or len(jobs) <= 1:
        remover = Remover(**remover_kwargs)
        for job in jobs:
            yield run_job(remover, job, options)
            progress.update(1)
        return
    # Split the cores between the workers so they do not fight over them.
    threads = max(1, (os.cpu_count() or 1) // workers)
    kwargs = {**remover_kwargs, "threads": remover_kwargs.get("threads") or threads}
    with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(kwargs,)) as pool:
        futures = [pool.submit(_run_in_worker, job, options) for job in jobs]
        for future in futures:
            yield future.result()
            progress.update(1)


def _echo_notices(notices: list[str]) -> None:
    """Say where outputs went that could not go where ``-o`` pointed (one line each, then a count)."""
    for notice in notices[:MAX_NOTICES]:
        click.echo(f"note: {notice}", err=True)
    if len(notices) > MAX_NOTICES:
        click.echo(f"note: {len(notices) - MAX_NOTICES} more outputs would have replaced their inputs; "
                   "they go to NAME.skindeep.EXT instead", err=True)


@click.command("remove")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", "out", type=click.Path(path_type=Path),
              help="Output folder (or output file for a single input). Default: NAME.skindeep.EXT next to each input.")
@click.option("-r", "--recursive", is_flag=True, help="Look for photos in sub-folders too.")
@click.option("--overwrite", is_flag=True, help="Allow writing over input files (without -o: replace each input).")
@click.option("--skip-existing/--no-skip-existing", default=True, show_default=True,
              help="Skip photos whose output an earlier run already wrote (newer than the input, with the "
                   "asked --save-mask/--save-layers files); --overwrite redoes everything.")
@click.option("--format", "fmt", type=click.Choice(["jpg", "jpeg", "png", "webp", "tif", "bmp"],
                                                   case_sensitive=False),
              help="Output format (default: the input's).")
@click.option("--quality", type=click.IntRange(1, 100), help="JPEG/WebP quality (default: the input's own).")
@click.option("--mask", type=click.Path(path_type=Path), help="Mask image (white = selected), see --mask-mode.")
@click.option("--mask-mode", type=click.Choice(["limit", "replace"]), default="limit", show_default=True,
              help="limit: remove detected ink only where --mask is white; replace: --mask is the ink mask "
                   "itself (hand-painted), detection and --threshold are not used.")
@click.option("--keep", type=click.Path(path_type=Path), help="Mask image: never change pixels where it is white.")
@threshold_option()
@strength_option()
@protect_face_option()
@click.option("--save-mask", is_flag=True, help="Also write the ink mask as DST.mask.png.")
@click.option("--save-layers", is_flag=True,
              help="Also write the ink layer as DST.layer.png (original pixels, alpha = mask).")
@model_option()
@model_setting_options(recommend=False)
@click.option("--skin-gate/--no-skin-gate", default=True, show_default=True,
              help="Remove ink only on skin: where the model's skin head sees skin (models without one: "
                   "ignore detections with no skin-coloured pixels around them). A --mask-mode replace "
                   "region mostly on skin keeps the background and clothes it spills onto.")
@click.option("--fill", "fill_mode", type=click.Choice(["all", "dense"]), default="all", show_default=True,
              help="all: fill everything the mask holds with shading and texture of the skin around it; "
                   "dense: fill only dense ink and let the network unmix faded and thin ink (keeps the real "
                   "texture under it, but can leave a pale ghost of the design). A --mask-mode replace "
                   "region is always filled whole.")
@click.option("--tone-match/--no-tone-match", default=True, show_default=True,
              help="Give the network's restorations (--fill dense, or a region with no skin around to fill "
                   "from) the colour of the skin around them.")
@click.option("--grain", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="Add the skin's fine texture (pores, grain) to restored areas that lack it (0 = off).")
@click.option("--learned-fill", is_flag=True,
              help="Dense ink's shading from the small learned restorer on top of the smooth membrane "
                   "(experimental, off by default: experiment 11).")
@click.option("--snap-outline/--no-snap-outline", default=True, show_default=True,
              help="Also fill the tattoo's outline a mask leaves just outside its edge (up to 1 % of the "
                   "region's size) and the ink a detected mask encloses but missed; --no-snap-outline "
                   "changes only the mask's own pixels.")
@click.option("--halo", is_flag=True,
              help="Also fill the reddened skin next to a fresh tattoo's lines (its halo), fading out up to 2 % "
                   "of the region's size past them (experimental, off by default: experiment 43).")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Photos processed in parallel (processes).")
@click.option("--threads", type=click.IntRange(1, 256), help="threads per worker (onnxruntime and the fill).")
@click.option("--cluster", metavar="ADDRESS", help="Run on a Dask cluster (needs the [scale] extra).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def command(inputs, out, recursive, overwrite, skip_existing, fmt, quality, mask, mask_mode, keep, threshold,
            strength, protect_face, save_mask, save_layers, model_path, skin_gate, fill_mode, tone_match, grain,
            learned_fill, snap_outline, halo, workers, threads, cluster, quiet, **model_settings):
    """Remove tattoos from photos (files and folders) at full resolution.

    \b
    Examples:
      skindeep remove photo.jpg                  # writes photo.skindeep.jpg
      skindeep remove shoot/ -r -o clean/ --workers 2
      skindeep remove arm.png --mask arm-tattoo.png --save-layers
    """
    from tqdm import tqdm

    from skindeep.errors import SkinDeepError
    from skindeep.remove import Remover
    from skindeep.remove.batch import RemoveOptions, plan_jobs

    if mask_mode == "replace" and mask is None:
        raise click.UsageError("--mask-mode replace needs --mask FILE")
    skip_existing = skip_existing and not overwrite  # --overwrite: write every output again
    remover_kwargs = {"model_path": model_path, "threshold": threshold, "protect_face": protect_face,
                      "threads": threads}
    remover_kwargs.update({name: value for name, value in model_settings.items() if value is not None})
    if not skin_gate:
        remover_kwargs.update(skin_gate=0.0, min_skin_around=0.0)
    if not tone_match:
        remover_kwargs["tone_match"] = 0.0
    if grain:
        remover_kwargs["grain"] = grain
    if learned_fill or not snap_outline or halo or fill_mode == "dense":
        from skindeep.remove.fill import FillSettings

        remover_kwargs["fill"] = FillSettings(learned_base=learned_fill, snap_outline=snap_outline,
                                              enclosed_ink=snap_outline, halo=halo,
                                              floor=0.0 if fill_mode == "dense" else 1.0)
    try:
        Remover(**remover_kwargs)  # fail fast (missing weights) before planning work
        jobs = plan_jobs(inputs, out_dir=out, recursive=recursive, overwrite=overwrite, format=fmt)
    except SkinDeepError as exc:
        raise click.ClickException(str(exc)) from exc
    if not jobs:
        raise click.ClickException("no photos found in " + ", ".join(map(str, inputs)))
    _echo_notices([job.notice for job in jobs if job.notice])
    options = RemoveOptions(threshold=threshold, strength=strength, protect_face=protect_face, mask=mask,
                            keep=keep, save_mask=save_mask, save_layers=save_layers, format=fmt, quality=quality,
                            mask_mode=mask_mode)

    with tqdm(total=len(jobs), unit="photo", disable=quiet or len(jobs) < 2, file=sys.stderr) as bar:
        if cluster:
            try:
                from skindeep.scale import run_on_cluster
            except ImportError as exc:
                raise click.ClickException(
                    f"--cluster needs skindeep.scale and Dask ({exc}); install pip install 'skindeep[scale]'."
                ) from exc
            try:
                results = run_on_cluster(jobs, options, remover_kwargs, cluster, skip_existing=skip_existing,
                                         progress=lambda _result: bar.update(1))
            except SkinDeepError as exc:  # bad address, scheduler unreachable, Dask missing
                raise click.ClickException(str(exc)) from exc
        else:
            results = list(_run_local(jobs, options, remover_kwargs, workers, bar, skip_existing))

    failed = [r for r in results if not r.ok]
    done = [r for r in results if r.ok and not r.skipped]
    skipped = [r for r in results if r.skipped]
    if not quiet:
        for r in [r for r in results if r.ok] if len(done) + len(skipped) <= 20 else []:
            if r.skipped:
                click.echo(f"{r.src} -> {r.dst}  skipped (already done; --no-skip-existing redoes it)")
            else:
                click.echo(f"{r.src} -> {r.dst}  ({r.ink_fraction:.1%} changed, {r.seconds:.2f} s)")
        click.echo(f"{len(done)} done, {len(skipped)} skipped, {len(failed)} failed", err=bool(failed))
    if failed:
        click.echo("Failed:", err=True)
        for r in failed:
            click.echo(f"  {r.error}", err=True)
        sys.exit(1)

