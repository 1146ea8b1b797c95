"""Full-size passes split into row strips and run on a few threads.

NumPy's arithmetic runs on one core, and the fill's passes over a 12 MP box (blurs, patch copies, divisions)
are memory-bound arithmetic of that kind. NumPy and OpenCV release the GIL inside such loops, so threads
working on disjoint row ranges of the same arrays use the other cores, and the result is bit-identical to one
pass: every pixel is computed by the same operations in the same order, only by another thread.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

MIN_ROWS = 256  # a strip shorter than this costs more to hand to a thread than it saves
_POOLS: dict[int, ThreadPoolExecutor] = {}  # by size; 0 is ``alongside``'s
_POOLS_LOCK = threading.Lock()  # the server removes on several threads at once


def default_threads() -> int:
    """The machine's cores, at most 8: onnxruntime's and the fill's threads when none are given. Counted as the
    CLI and the Dask runner count them when they share the cores between workers (``os.cpu_count``)."""
    return max(1, min(os.cpu_count() or 1, 8))


def blur_reach(sigma: float, eight_bit: bool) -> int:
    """Rows around a pixel that ``cv2.GaussianBlur(img, (0, 0), sigma)`` reads, plus one: the kernel OpenCV makes
    spans 3 sigma each side for 8-bit images and 4 sigma for float ones. The ``reach`` of a strip that blurs."""
    size = int(round(sigma * (3 if eight_bit else 4) * 2 + 1)) | 1
    return size // 2 + 1


def row_strips(h: int, threads: int, min_rows: int = MIN_ROWS) -> list[tuple[int, int]]:
    """``threads`` consecutive row ranges (y0, y1) covering ``0..h``; fewer where a strip would have under
    ``min_rows`` rows."""
    n = max(1, min(threads, h // min_rows))
    cuts = [round(i * h / n) for i in range(n + 1)]
    return list(zip(cuts[:-1], cuts[1:], strict=True))


def for_strips(fn: Callable[[int, int], object], h: int, threads: int, min_rows: int = MIN_ROWS) -> list:
    """Run ``fn(y0, y1)`` on each of ``row_strips(h, threads, min_rows)``, on as many threads; their results in
    order.

    ``fn`` must write only rows ``y0..y1`` of any array it shares with the others."""
    strips = row_strips(h, threads, min_rows)
    if len(strips) == 1:
        return [fn(*strips[0])]
    return list(_pool(len(strips)).map(lambda s: fn(*s), strips))


def alongside(fn: Callable[..., object], *args, threads: int) -> Future:
    """``fn(*args)`` started on a thread of its own while the caller goes on (run at once when ``threads`` is 1):
    for a step whose result is needed only later, beside passes that keep one core busy."""
    if threads > 1:
        return _pool(0).submit(fn, *args)
    done: Future = Future()
    done.set_result(fn(*args))
    return done


def by_rows(fn: Callable[..., np.ndarray], inputs: tuple[np.ndarray, ...], out: np.ndarray, threads: int,
            reach: int = 0) -> np.ndarray:
    """``out[:] = fn(*inputs)``, made in row strips on ``threads`` threads, each strip of the ``inputs`` (h, ...)
    read with ``reach`` rows around it: the same array when each output row of ``fn`` reads only the input rows
    within ``reach`` of it (a per-pixel colour conversion: 0; a blur: its kernel's radius). Each thread writes its
    own rows of ``out`` (h, ...), which is returned."""
    h = out.shape[0]

    def strip(y0, y1):
        a, b = max(0, y0 - reach), min(h, y1 + reach)
        out[y0:y1] = fn(*(x[a:b] for x in inputs))[y0 - a:y1 - a]

    for_strips(strip, h, threads)
    return out


def _pool(size: int) -> ThreadPoolExecutor:
    """The process's pool of ``size`` threads (0: the one thread for ``alongside``), made on first use. A strip
    never waits on another strip, so strips of calls made at once queue on it and never deadlock."""
    with _POOLS_LOCK:
        if size not in _POOLS:
            _POOLS[size] = ThreadPoolExecutor(max(1, size), thread_name_prefix="skindeep-strip")
        return _POOLS[size]
