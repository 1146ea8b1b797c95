"""Batch removal on a real Dask LocalCluster (2 worker processes, 1 thread each) started by the tests.

Checks the promises of ``skindeep.scale``: outputs bit-identical to the single-process path, a bad file
reported while the rest is done, a rerun that skips finished files, and one model load per worker.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("distributed")
batch = pytest.importorskip("skindeep.remove.batch", reason="skindeep.remove.batch not available yet")

from distributed import Client, LocalCluster  # noqa: E402

from skindeep import scale  # noqa: E402
from skindeep.errors import SkinDeepError  # noqa: E402

N_PHOTOS = 8


@pytest.fixture(scope="module")
def client() -> Client:
    """A real 2-process cluster on this machine; started once for the module (start-up ~1-2 s)."""
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster, Client(cluster) as c:
        yield c


@pytest.fixture(autouse=True)
def _fresh_worker_cache(client: Client) -> None:
    """Each test counts model loads from zero."""
    client.run(scale.clear_worker_cache)


def _photo(seed: int, size: tuple[int, int] = (96, 128)) -> np.ndarray:
    """(H, W, 3) uint8 skin-like noise with a few dark strokes the tiny model reads as ink."""
    rng = np.random.default_rng(seed)
    h, w = size
    img = np.clip(rng.normal((200, 160, 140), 12, (h, w, 3)), 0, 255).astype(np.uint8)
    for _ in range(3):
        y, x = rng.integers(8, h - 16), rng.integers(8, w - 40)
        img[y : y + 6, x : x + 30] = rng.integers(10, 40)
    return img


def _make_inputs(folder: Path, n: int = N_PHOTOS) -> list[Path]:
    """Half PNG, half JPEG, so both writers go through the cluster."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / (f"photo{i:02d}.png" if i % 2 == 0 else f"photo{i:02d}.jpg")
        Image.fromarray(_photo(i)).save(path, quality=92)
        paths.append(path)
    return paths


def _jobs(inputs: list[Path], out_dir: Path) -> list:
    out_dir.mkdir(parents=True, exist_ok=True)
    return [batch.Job(src=p, dst=out_dir / p.name) for p in inputs]


def _kwargs(model: Path) -> dict:
    # threads=1 on both sides, so the comparison with the single-process path is exact.
    return {"model_path": model, "threads": 1}


def _totals(client: Client) -> tuple[dict, dict]:
    """Per-worker (loads, jobs, skipped) summed over Remover configurations, and the raw stats."""
    stats = scale.cluster_stats(client)
    per_worker = {
        address: {what: sum(v[what] for v in info["removers"].values()) for what in ("loads", "jobs", "skipped")}
        for address, info in stats.items()
    }
    return per_worker, stats


def test_cluster_outputs_match_single_process_bit_for_bit(client, tiny_model_path, tmp_path):
    inputs = _make_inputs(tmp_path / "in")
    options = batch.RemoveOptions()
    results = scale.run_on_cluster(
        _jobs(inputs, tmp_path / "cluster"), options, _kwargs(tiny_model_path), address=client
    )
    assert [r.src for r in results] == inputs  # same order as the jobs
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]

    from skindeep.remove import Remover

    remover = Remover(**_kwargs(tiny_model_path))
    for job in _jobs(inputs, tmp_path / "local"):
        assert batch.run_job(remover, job, options).ok
    for path in inputs:
        cluster_bytes = (tmp_path / "cluster" / path.name).read_bytes()
        assert cluster_bytes == (tmp_path / "local" / path.name).read_bytes(), path.name
    # and the removal really changed the dark strokes (not a copy of the input)
    out = np.asarray(Image.open(tmp_path / "cluster" / "photo00.png").convert("RGB"))
    assert np.abs(out.astype(int) - _photo(0).astype(int)).max() > 50


def test_bad_file_is_reported_and_the_rest_done(client, tiny_model_path, tmp_path):
    inputs = _make_inputs(tmp_path / "in", n=4)
    bad = tmp_path / "in" / "broken.jpg"
    bad.write_bytes(b"\xff\xd8 this is not a jpeg")
    truncated = tmp_path / "in" / "truncated.png"
    truncated.write_bytes((tmp_path / "in" / "photo00.png").read_bytes()[:200])
    out_dir = tmp_path / "out"
    results = scale.run_on_cluster(
        _jobs([*inputs, bad, truncated], out_dir), batch.RemoveOptions(), _kwargs(tiny_model_path),
        address=client,
    )
    by_name = {r.src.name: r for r in results}
    for path in (bad, truncated):
        assert not by_name[path.name].ok
        assert path.name in by_name[path.name].error  # the message names the file
    assert all(by_name[p.name].ok for p in inputs)
    # only complete outputs in the folder: no output and no temporary file for the bad inputs
    assert sorted(os.listdir(out_dir)) == sorted(p.name for p in inputs)


def test_rerun_skips_finished_files(client, tiny_model_path, tmp_path):
    inputs = _make_inputs(tmp_path / "in", n=6)
    out_dir = tmp_path / "out"
    options, kwargs = batch.RemoveOptions(), _kwargs(tiny_model_path)
    first = scale.run_on_cluster(_jobs(inputs, out_dir), options, kwargs, address=client)
    assert all(r.ok for r in first)
    mtimes = {p.name: p.stat().st_mtime_ns for p in out_dir.iterdir()}
    before, _ = _totals(client)
    assert sum(w["jobs"] for w in before.values()) == 6

    second = scale.run_on_cluster(_jobs(inputs, out_dir), options, kwargs, address=client)
    assert all(r.ok and r.seconds == 0.0 for r in second)
    assert {p.name: p.stat().st_mtime_ns for p in out_dir.iterdir()} == mtimes
    after, _ = _totals(client)
    assert sum(w["jobs"] for w in after.values()) == 6  # nothing processed again
    assert sum(w["skipped"] for w in after.values()) == 6

    # a stopped run leaves some outputs missing: the rerun does exactly those
    lost = out_dir / inputs[3].name
    expected = lost.read_bytes()
    lost.unlink()
    third = scale.run_on_cluster(_jobs(inputs, out_dir), options, kwargs, address=client)
    assert [r.seconds > 0 for r in third] == [i == 3 for i in range(6)]
    assert lost.read_bytes() == expected
    final, _ = _totals(client)
    assert sum(w["jobs"] for w in final.values()) == 7


def test_model_loads_once_per_worker(client, tiny_model_path, tmp_path):
    # Besides skindeep.scale's own counter, count the onnxruntime sessions really created in each worker.
    # Nested functions, so cloudpickle ships them by value (the workers cannot import this test module).
    def count_sessions() -> None:
        import onnxruntime as ort

        if not hasattr(ort, "_skindeep_sessions"):
            original = ort.InferenceSession

            def counting(*args, **kwargs):
                ort._skindeep_sessions += 1
                return original(*args, **kwargs)

            ort.InferenceSession = counting
        ort._skindeep_sessions = 0

    def sessions() -> int:
        import onnxruntime as ort

        return ort._skindeep_sessions

    client.run(count_sessions)
    inputs = _make_inputs(tmp_path / "in", n=10)
    results = scale.run_on_cluster(
        _jobs(inputs, tmp_path / "out"), batch.RemoveOptions(), _kwargs(tiny_model_path), address=client
    )
    assert all(r.ok for r in results)
    per_worker, stats = _totals(client)
    assert len(per_worker) == 2
    assert len({info["pid"] for info in stats.values()}) == 2  # two real processes
    assert sum(w["jobs"] for w in per_worker.values()) == 10
    for worker in per_worker.values():
        # one Remover per worker that did any work, reused for all its photos
        assert worker["loads"] == (1 if worker["jobs"] else 0)
    assert sum(w["loads"] for w in per_worker.values()) < 10
    made = client.run(sessions)
    for address, worker in per_worker.items():
        assert made[address] == worker["loads"], f"onnxruntime sessions per worker {made}, stats {per_worker}"


def test_killed_worker_leaves_no_half_written_file(tiny_model_path, tmp_path):
    """A worker dies between writing the temporary file and renaming it: no partial output appears,
    Dask reruns the task on another worker, and every output ends up complete."""
    inputs = _make_inputs(tmp_path / "in", n=4)
    victim, marker = inputs[1].name, str(tmp_path / "killed-once")

    def die_before_rename_once() -> None:
        original = os.replace

        def replace(src, dst, *args, **kwargs):
            if os.path.basename(dst) == victim and not os.path.exists(marker):
                open(marker, "w").close()
                os._exit(1)  # like a SIGKILL: no cleanup, the temporary file stays behind
            return original(src, dst, *args, **kwargs)

        os.replace = replace

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster, Client(cluster) as own:
        own.run(die_before_rename_once)
        results = scale.run_on_cluster(
            _jobs(inputs, tmp_path / "out"), batch.RemoveOptions(), _kwargs(tiny_model_path), address=own
        )
    assert os.path.exists(marker)  # a worker really died
    assert all(r.ok for r in results), [r.error for r in results]
    visible = sorted(name for name in os.listdir(tmp_path / "out") if not name.startswith("."))
    assert visible == sorted(p.name for p in inputs)
    from skindeep.remove import Remover

    reference = batch.run_job(Remover(**_kwargs(tiny_model_path)), batch.Job(inputs[1], tmp_path / victim),
                              batch.RemoveOptions())
    assert reference.ok
    assert (tmp_path / "out" / victim).read_bytes() == (tmp_path / victim).read_bytes()


def test_is_finished_redoes_stale_in_place_and_incomplete_outputs(tmp_path):
    src, dst = tmp_path / "a.png", tmp_path / "out" / "a.png"
    Image.fromarray(_photo(0)).save(src)
    job = batch.Job(src=src, dst=dst)
    assert not scale.is_finished(job)  # no output yet
    dst.parent.mkdir()
    dst.write_bytes(src.read_bytes())
    assert scale.is_finished(job)
    assert not scale.is_finished(job, batch.RemoveOptions(save_mask=True))  # its mask is missing
    batch.side_path(dst, "mask").write_bytes(b"x")
    assert scale.is_finished(job, batch.RemoveOptions(save_mask=True))
    newer = dst.stat().st_mtime_ns + 10**9
    os.utime(src, ns=(newer, newer))
    assert not scale.is_finished(job)  # the input changed after the output was written
    assert not scale.is_finished(batch.Job(src=src, dst=src))  # writing over the input itself


def test_local_address_starts_and_closes_its_own_cluster(tiny_model_path, tmp_path):
    inputs = _make_inputs(tmp_path / "in", n=4)
    results = scale.run_on_cluster(
        _jobs(inputs, tmp_path / "out"), batch.RemoveOptions(), _kwargs(tiny_model_path), address="local:2"
    )
    assert all(r.ok for r in results)
    assert sorted(os.listdir(tmp_path / "out")) == sorted(p.name for p in inputs)


def test_parse_address():
    assert scale.parse_address("local:3") == scale.ClusterSpec(local=True, n_workers=3)
    assert scale.parse_address("local").n_workers == (os.cpu_count() or 1)
    assert scale.parse_address("tcp://10.0.0.5:8786") == scale.ClusterSpec(local=False, address="tcp://10.0.0.5:8786")
    for bad in ("local:0", "local:two", "", "tcp://a b"):
        with pytest.raises(SkinDeepError, match="cluster address"):
            scale.parse_address(bad)
    job = batch.Job(src=Path("a.jpg"), dst=Path("b.jpg"))
    with pytest.raises(SkinDeepError, match="cannot reach the Dask scheduler at bogus:addr::"):
        scale.run_on_cluster([job], batch.RemoveOptions(), {}, address="bogus:addr::")


def test_empty_job_list_starts_nothing():
    assert scale.run_on_cluster([], batch.RemoveOptions(), {}, address="tcp://127.0.0.1:1") == []
