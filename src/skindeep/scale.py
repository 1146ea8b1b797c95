"""Batch tattoo removal on a Dask distributed cluster (extra ``[scale]``).

``run_on_cluster`` maps :func:`skindeep.remove.batch.run_job` over a list of jobs on Dask workers:

- the model loads once per worker process: each worker keeps one :class:`~skindeep.remove.Remover` per
  distinct ``remover_kwargs`` in a module-level cache (a worker-local singleton), reused for every photo;
- a file that fails gives a ``JobResult`` with ``ok=False`` and the message; the other files go on;
- ``run_job`` writes each output to a temporary file and renames it, so a killed worker leaves no
  half-written output, and Dask reruns the task of a lost worker elsewhere;
- a rerun skips jobs whose output already exists (it can only exist complete, thanks to the rename).

Python entry point::

    from skindeep.remove.batch import RemoveOptions, plan_jobs
    from skindeep.scale import run_on_cluster

    jobs = plan_jobs(["photos/"], out_dir="clean/", recursive=True)
    results = run_on_cluster(jobs, RemoveOptions(), {"model_path": None}, address="local:2")
    failed = [r for r in results if not r.ok]

``address`` is ``"local"`` (a LocalCluster with one worker process per CPU core), ``"local:N"`` (N worker
processes), a scheduler address such as ``"tcp://10.0.0.5:8786"``, or an existing ``distributed.Client``.
On a real cluster every worker must have skindeep installed and see the input, output and model paths
(a shared file system).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any

from skindeep.errors import SkinDeepError
from skindeep.remove.batch import Job, JobResult, RemoveOptions, run_job, side_path

if TYPE_CHECKING:
    from distributed import Client

    from skindeep.remove import Remover

__all__ = [
    "ClusterSpec", "clear_worker_cache", "cluster_stats", "connect", "is_finished", "parse_address", "process_job",
    "run_on_cluster", "worker_stats",
]

# Worker-local state. Each Dask worker process imports this module once, so these live as long as the
# worker and are shared by every task it runs: this is what makes "one model per worker" hold.
_REMOVERS: dict[str, Remover] = {}
_STATS: dict[str, dict[str, int]] = {}
_LOCK = threading.Lock()  # a worker with several threads must still build each Remover once


@dataclass(frozen=True)
class ClusterSpec:
    """Where to run: a LocalCluster of ``n_workers`` processes, or an existing scheduler at ``address``."""

    local: bool
    n_workers: int | None = None
    address: str | None = None


def parse_address(address: str) -> ClusterSpec:
    """Parse ``"local"``, ``"local:N"`` or a scheduler address (``tcp://host:8786``, ``host:8786``)."""
    text = address.strip()
    if text == "local":
        return ClusterSpec(local=True, n_workers=os.cpu_count() or 1)
    if text.startswith("local:"):
        count = text.split(":", 1)[1]
        if not count.isdigit() or int(count) < 1:
            raise SkinDeepError(f"cluster address {address!r}: expected 'local:N' with N a positive integer")
        return ClusterSpec(local=True, n_workers=int(count))
    if not text or " " in text:
        raise SkinDeepError(
            f"cluster address {address!r}: expected 'local', 'local:N' or a scheduler address "
            "like tcp://host:8786"
        )
    return ClusterSpec(local=False, address=text)


def _cache_key(remover_kwargs: dict[str, Any]) -> str:
    """A stable text key for a Remover configuration (paths and other values compared as text)."""
    return json.dumps(remover_kwargs, sort_keys=True, default=str)


def _worker_remover(remover_kwargs: dict[str, Any]) -> Remover:
    """The Remover for ``remover_kwargs`` in this process, built (and its model loaded) on first use."""
    key = _cache_key(remover_kwargs)
    with _LOCK:
        remover = _REMOVERS.get(key)
        if remover is None:
            from skindeep.remove import Remover

            remover = Remover(**remover_kwargs)
            _REMOVERS[key] = remover
            _STATS.setdefault(key, {"loads": 0, "jobs": 0, "skipped": 0})["loads"] += 1
    return remover


def _count(key: str, what: str) -> None:
    with _LOCK:
        _STATS.setdefault(key, {"loads": 0, "jobs": 0, "skipped": 0})[what] += 1


def worker_stats() -> dict[str, Any]:
    """This process's cache: ``{"pid": int, "removers": {key: {"loads", "jobs", "skipped"}}}``.

    Run it on every worker with ``client.run(worker_stats)`` (or :func:`cluster_stats`) to check that
    each worker loaded each model once.
    """
    with _LOCK:
        return {"pid": os.getpid(), "removers": {key: dict(value) for key, value in _STATS.items()}}


def clear_worker_cache() -> int:
    """Drop this process's cached Removers and counters (frees the models); returns how many were held.

    On a long-lived cluster: ``client.run(clear_worker_cache)``.
    """
    with _LOCK:
        held = len(_REMOVERS)
        _REMOVERS.clear()
        _STATS.clear()
    return held


def cluster_stats(client: Client) -> dict[str, dict[str, Any]]:
    """``worker_stats()`` of every worker of ``client``'s cluster, keyed by worker address."""
    return client.run(worker_stats)


def is_finished(job: Job, options: RemoveOptions | None = None) -> bool:
    """True when a previous run already wrote this job's output (and the side files ``options`` asks for).

    ``run_job`` writes through a temporary file and a rename, so an output that exists is complete. An
    output older than its input is stale (the input changed since) and is done again; so is a job that
    writes over its own input (existence proves nothing there).
    """
    dst = job.dst
    if dst is None or not dst.is_file() or dst.stat().st_size == 0:
        return False
    if not job.src.is_file() or dst.resolve() == job.src.resolve():
        return False
    if dst.stat().st_mtime_ns < job.src.stat().st_mtime_ns:
        return False
    wanted = []
    if options is not None and options.save_mask:
        wanted.append(side_path(dst, "mask"))
    if options is not None and options.save_layers:
        wanted.append(side_path(dst, "layer"))
    return all(path.is_file() for path in wanted)


def _skipped_result(job: Job) -> JobResult:
    result = JobResult(src=job.src, dst=job.dst, ok=True, error=None, seconds=0.0)
    # The batch module may mark skipped jobs itself; set the flag where the dataclass has one.
    if any(f.name == "skipped" for f in fields(JobResult)):
        result = replace(result, skipped=True)
    return result


def process_job(
    job: Job, options: RemoveOptions, remover_kwargs: dict[str, Any], skip_existing: bool = True
) -> JobResult:
    """Run one job with this process's cached Remover. The task each Dask worker runs; no exceptions escape.

    A finished job (see :func:`is_finished`) is skipped without loading the model (``seconds == 0``).
    """
    key = _cache_key(remover_kwargs)
    if skip_existing and is_finished(job, options):
        _count(key, "skipped")
        return _skipped_result(job)
    start = time.perf_counter()
    try:
        result = run_job(_worker_remover(remover_kwargs), job, options)
    except Exception as exc:  # noqa: BLE001 - one bad file must not stop the batch; report it instead
        result = JobResult(
            src=job.src, dst=None, ok=False, error=f"{job.src}: {type(exc).__name__}: {exc}",
            seconds=time.perf_counter() - start,
        )
    _count(key, "jobs")
    return result


@contextmanager
def connect(address: str | Client, n_jobs: int | None = None) -> Iterator[Client]:
    """A ``distributed.Client`` for ``address``; a LocalCluster started here is closed on exit.

    A given ``Client`` is used as is and left open. ``n_jobs`` caps the size of a LocalCluster so a
    handful of photos does not start one process per core.
    """
    try:
        from distributed import Client, LocalCluster
    except ModuleNotFoundError as exc:
        raise SkinDeepError(
            "running on a cluster needs Dask distributed: pip install 'skindeep[scale]'"
        ) from exc
    if isinstance(address, Client):
        yield address
        return
    spec = parse_address(address)
    if not spec.local:
        try:
            client = Client(spec.address, timeout="30s")
        except (OSError, TimeoutError, ValueError) as exc:  # refused / timed out / malformed address
            raise SkinDeepError(f"cannot reach the Dask scheduler at {spec.address}: {exc}") from exc
        with client:
            yield client
        return
    n_workers = _local_size(spec, n_jobs)
    # One thread per worker process: the parallelism is in processes (no GIL, one model each), and
    # onnxruntime gets the cores inside each process (see _local_threads).
    with LocalCluster(
        n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster, Client(cluster) as client:
        yield client


def _local_size(spec: ClusterSpec, n_jobs: int | None) -> int:
    """Worker processes of a LocalCluster: as asked, but no more than there are jobs."""
    return max(1, min(spec.n_workers or 1, n_jobs or spec.n_workers or 1))


def _local_threads(remover_kwargs: dict[str, Any], n_workers: int) -> dict[str, Any]:
    """Share the cores between local workers unless the caller chose onnxruntime's thread count."""
    if remover_kwargs.get("threads") is not None:
        return remover_kwargs
    return {**remover_kwargs, "threads": max(1, (os.cpu_count() or 1) // n_workers)}


def run_on_cluster(
    jobs: Iterable[Job],
    options: RemoveOptions,
    remover_kwargs: dict[str, Any] | None = None,
    address: str | Client = "local",
    *,
    skip_existing: bool = True,
    progress: Callable[[JobResult], None] | None = None,
) -> list[JobResult]:
    """Remove tattoos from every job's ``src`` into its ``dst`` on a Dask cluster.

    Args:
        jobs: from :func:`skindeep.remove.batch.plan_jobs`.
        options: the same options the single-process path takes.
        remover_kwargs: ``Remover(**remover_kwargs)`` is built once per worker (``{}`` = default model).
        address: ``"local"``, ``"local:N"``, a scheduler address ``"tcp://host:8786"``, or a Client.
        skip_existing: skip jobs whose ``dst`` exists (a rerun after a stop does only what is left).
        progress: called with each ``JobResult`` as it finishes (in completion order).

    Returns:
        One ``JobResult`` per job, in the order of ``jobs``. A job whose worker crashed for good
        (Dask retries lost workers itself) comes back with ``ok=False`` and the cluster's message.
    """
    jobs = list(jobs)
    if not jobs:
        return []
    kwargs = dict(remover_kwargs or {})
    if isinstance(address, str) and parse_address(address).local:
        kwargs = _local_threads(kwargs, _local_size(parse_address(address), len(jobs)))
    with connect(address, n_jobs=len(jobs)) as client:
        from distributed import as_completed

        futures = client.map(
            process_job, jobs, options=options, remover_kwargs=kwargs, skip_existing=skip_existing,
            pure=False,
        )
        index = {future.key: i for i, future in enumerate(futures)}
        results: list[JobResult | None] = [None] * len(jobs)
        for future in as_completed(futures):
            i = index[future.key]
            if future.status == "finished":
                result = future.result()
            else:  # "error" (e.g. KilledWorker after repeated crashes) or "cancelled"
                result = JobResult(
                    src=jobs[i].src, dst=None, ok=False, error=f"{jobs[i].src}: {_failure(future)}", seconds=0.0
                )
            results[i] = result
            if progress is not None:
                progress(result)
    return [r for r in results if r is not None]


def _failure(future) -> str:
    """Why a Dask future did not finish, as text."""
    try:
        return f"the cluster could not run it: {future.exception()!r}"
    except Exception as exc:  # a cancelled future raises instead of returning its exception
        return f"the cluster could not run it: {type(exc).__name__}"
