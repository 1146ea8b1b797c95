"""`skindeep synth`: write synthetic tattooed/clean/ink training pairs."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

import click

from skindeep.errors import SkinDeepError
from skindeep.synth.config import PRESET_NAMES

_WORKER = None


def _single_threaded_cv2() -> None:
    """One OpenCV thread per process: the work is parallel across samples; OpenCV's own pool only
    thrashes on a shared machine (measured: 77 -> 50 ms/sample at 256 px under load)."""
    import cv2

    cv2.setNumThreads(1)


def _init_worker(people: str, designs: str, config) -> None:
    global _WORKER
    from skindeep.synth import Synthesizer

    _single_threaded_cv2()
    _WORKER = Synthesizer(people, designs, config)


def _make(job: tuple[int, str, bool]):
    """Worker: make one sample and encode its files here, so the parent only writes bytes."""
    from skindeep.synth.sampleio import encode_sample

    seed, name, keep = job
    sample = _WORKER.sample(seed, name=name)
    return encode_sample(sample), (sample if keep else None)


@click.command("synth")
@click.option("--people", "people", required=True, type=click.Path(path_type=Path), help="Folder of clean people photos.")
@click.option("--designs", "designs", required=True, type=click.Path(path_type=Path), help="Folder of SVG (or pre-rasterised PNG) designs.")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="Output folder.")
@click.option("-n", "n", default=100, show_default=True, type=click.IntRange(min=1), help="Number of samples.")
@click.option("--seed", default=0, show_default=True, type=int, help="Run seed (same seed: byte-identical output).")
@click.option("--size", default=256, show_default=True, type=click.IntRange(min=32), help="Sample side in pixels.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1), help="Worker processes.")
@click.option("--preset", default="default", show_default=True,
              type=click.Choice(PRESET_NAMES), help="SynthConfig preset (docs/synth.md).")
@click.option("--realink", default=None, type=click.Path(path_type=Path),
              help="Folder of real ink layers (python -m skindeep.model.realink), for presets that draw them (real-v8).")
@click.option("--p-clean", default=None, type=click.FloatRange(0, 1), help="Share of samples with no tattoo.")
@click.option("--preview", is_flag=True, help="Also write OUT/preview.png: a contact sheet (clean | tattooed | ink) of the first 48.")
def command(people: Path, designs: Path, out: Path, n: int, seed: int, size: int, workers: int,
            preset: str, realink: Path | None, p_clean: float | None, preview: bool) -> None:
    """Write N synthetic samples: NAME.tattooed.png, NAME.clean.png, NAME.ink.png, NAME.json."""
    from tqdm import tqdm

    from skindeep.synth import SynthConfig, Synthesizer, sample_seeds
    from skindeep.synth.sampleio import write_files
    from skindeep.synth.sheet import write_sheet

    _single_threaded_cv2()
    config = SynthConfig.preset(preset, size=size, realink_dir=str(realink or ""))
    if p_clean is not None:
        config.p_clean = p_clean
    try:
        synth = Synthesizer(people, designs, config)  # validates the folders before any worker starts
        # the first 48 samples travel back whole for the preview sheet; the rest as encoded files
        jobs = [(s, f"{i:06d}", preview and i < 48) for i, s in enumerate(sample_seeds(n, seed))]
        shown = []
        if workers == 1:
            global _WORKER
            _WORKER = synth
            results = map(_make, jobs)
            pool = None
        else:
            pool = mp.get_context("fork" if hasattr(mp, "get_context") else None).Pool(
                workers, initializer=_init_worker, initargs=(str(people), str(designs), config))
            results = pool.imap(_make, jobs, chunksize=4)  # ordered: output independent of workers
        try:
            for files, sample in tqdm(results, total=n, desc="synth", unit="sample"):
                write_files(files, out)
                if sample is not None:
                    shown.append(sample)
        finally:
            if pool is not None:
                pool.close()
                pool.join()
        if preview:
            path = write_sheet(shown, out / "preview.png")
            click.echo(f"preview: {path}")
    except SkinDeepError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"wrote {n} samples to {out}")
