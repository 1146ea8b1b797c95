"""Photos per second of batch removal: in one process, and on Dask LocalClusters of 1 and 2 workers.

    python benchmarks/scale_bench.py --photos 40 --megapixels 1.0 --workers 1 2

Inputs are the first ``--photos`` photos of ``../shared/data/people`` resized to about ``--megapixels``
(synthetic noise photos where that folder is absent), written as JPEG to a temporary folder. The model is
``src/skindeep/weights/skindeep.onnx`` where it exists, else the tests' tiny ONNX stand-in (say which).
Prints a Markdown table: end to end (cluster start-up and model loads included) and steady state (cluster
up, models loaded; best and median of ``--repeat`` runs, as the machine may be shared).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from skindeep.remove import Remover
from skindeep.remove.batch import Job, RemoveOptions, run_job
from skindeep.scale import run_on_cluster

ROOT = Path(__file__).resolve().parents[1]
PEOPLE = ROOT.parent / "shared" / "data" / "people"
DEFAULT_MODEL = ROOT / "src" / "skindeep" / "weights" / "skindeep.onnx"


def make_photos(folder: Path, n: int, megapixels: float) -> str:
    """Write n JPEGs of about ``megapixels`` into folder; returns where they came from."""
    sources = sorted(PEOPLE.glob("*.jpg"))[:n] if PEOPLE.is_dir() else []
    for i in range(n):
        if sources:
            img = Image.open(sources[i % len(sources)]).convert("RGB")
        else:
            rng = np.random.default_rng(i)
            img = Image.fromarray(rng.integers(0, 256, (768, 1024, 3), dtype=np.uint8))
        scale = (megapixels * 1e6 / (img.width * img.height)) ** 0.5
        img = img.resize((round(img.width * scale), round(img.height * scale)), Image.LANCZOS)
        img.save(folder / f"photo{i:03d}.jpg", quality=92)
    return f"{PEOPLE} (first {n}, resized)" if sources else "synthetic noise"


def pick_model(tmp: Path) -> tuple[Path, str]:
    if DEFAULT_MODEL.is_file():
        return DEFAULT_MODEL, f"real weights {DEFAULT_MODEL.relative_to(ROOT)}"
    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import build_tiny_onnx

    return build_tiny_onnx(tmp / "tiny.onnx"), "tests' tiny ONNX stand-in (real weights absent)"


def jobs_for(inputs: list[Path], out_dir: Path) -> list[Job]:
    out_dir.mkdir(parents=True, exist_ok=True)
    return [Job(src=p, dst=out_dir / p.name) for p in inputs]


def process_cpu() -> float:
    """CPU seconds this process has used (all its threads)."""
    return time.process_time()


def timed(fn, cpu=process_cpu) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of ``fn()``; ``cpu()`` sums CPU time over the processes involved.

    CPU time per photo does not depend on what else runs on a shared machine, wall time does.
    """
    cpu0, start = cpu(), time.perf_counter()
    results = fn()
    seconds, cpu_seconds = time.perf_counter() - start, cpu() - cpu0
    failed = [r for r in results if not r.ok]
    if failed:
        raise SystemExit(f"{len(failed)} jobs failed, first: {failed[0].error}")
    return seconds, cpu_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=40)
    parser.add_argument("--megapixels", type=float, default=1.0)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per setting (the machine is shared)")
    args = parser.parse_args()

    from distributed import Client, LocalCluster

    with tempfile.TemporaryDirectory(prefix="skindeep-scale-") as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "in").mkdir()
        origin = make_photos(tmp / "in", args.photos, args.megapixels)
        inputs = sorted((tmp / "in").glob("*.jpg"))
        model, model_note = pick_model(tmp)
        options, cores = RemoveOptions(), os.cpu_count() or 1
        size = Image.open(inputs[0]).size
        print(f"photos: {len(inputs)} x {size[0]}x{size[1]} JPEG from {origin}")
        print(f"model: {model_note}; cores: {cores}; load average before: {os.getloadavg()[0]:.2f}\n")
        rows = []

        remover = Remover(model_path=model)
        remover.remove(np.asarray(Image.open(inputs[0]).convert("RGB")))  # load the model outside the timing
        runs = [timed(lambda r=r: [run_job(remover, job, options) for job in jobs_for(inputs, tmp / f"one{r}")])
                for r in range(args.repeat)]
        rows.append(("1 process, no Dask (`run_job` loop)", "1 x default", runs))

        for n in args.workers:
            kwargs = {"model_path": model, "threads": max(1, cores // n)}
            run = timed(lambda n=n, kwargs=kwargs: run_on_cluster(
                jobs_for(inputs, tmp / f"e2e{n}"), options, kwargs, address=f"local:{n}"))
            rows.append((f"`local:{n}` end to end (start-up, model loads)", f"{n} x {kwargs['threads']}",
                         [(run[0], float("nan"))]))
            with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0") as cl, \
                    Client(cl) as client:
                def cluster_cpu(client=client) -> float:
                    return process_cpu() + sum(client.run(process_cpu).values())

                run_on_cluster(jobs_for(inputs[: 2 * n], tmp / f"warm{n}"), options, kwargs, address=client)
                runs = [timed(lambda n=n, r=r, kwargs=kwargs, client=client: run_on_cluster(
                    jobs_for(inputs, tmp / f"steady{n}-{r}"), options, kwargs, address=client), cluster_cpu)
                    for r in range(args.repeat)]
            rows.append((f"{n} worker(s), steady state", f"{n} x {kwargs['threads']}", runs))

        print(f"best (and median) of {args.repeat} runs; end to end: one run. CPU s/photo: all processes\n")
        print("| run | workers x ORT threads | seconds | photos/s | CPU s / photo |")
        print("| --- | --- | ---: | ---: | ---: |")
        for name, workers, runs in rows:
            walls = [wall for wall, _ in runs]
            best, median = min(walls), float(np.median(walls))
            rate = f"{len(inputs) / best:.2f}" + (f" ({len(inputs) / median:.2f})" if len(runs) > 1 else "")
            cpu = min(c for _, c in runs) / len(inputs)
            print(f"| {name} | {workers} | {best:.1f} | {rate} | {'-' if np.isnan(cpu) else f'{cpu:.2f}'} |")
        print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
