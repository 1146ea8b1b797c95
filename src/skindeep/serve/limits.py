"""The bounded worker pool and the ASGI middleware that enforces the request limits.

Admission happens in the middleware, *before* the request body is read: a refused request (503)
costs neither the upload's memory nor a worker. An admitted request holds a slot until both its
response is finished and its job (if any) has left the thread pool, so at most ``workers + queue``
uploads are ever held in memory, even when clients disconnect mid-job.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class _Ticket:
    """One admitted request; frees its pool slot when the last holder (request, job) lets go."""

    def __init__(self, pool: WorkerPool):
        self._pool = pool
        self._holders = 1
        self._lock = threading.Lock()

    def hold(self) -> None:
        with self._lock:
            self._holders += 1

    def release(self) -> None:
        with self._lock:
            self._holders -= 1
            last = self._holders == 0
        if last:
            self._pool._leave()


class WorkerPool:
    """At most ``workers`` jobs run at once and at most ``queue`` more wait; the rest are refused.

    CPU-bound work (decode, model, encode) runs on the pool's threads, never on the event loop.
    """

    def __init__(self, workers: int, queue: int):
        if workers < 1 or queue < 0:
            raise ValueError(f"workers must be >= 1 and queue >= 0, got workers={workers}, queue={queue}")
        self.workers = workers
        self.queue = queue
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="skindeep-serve")
        self._lock = threading.Lock()
        self.admitted = 0  # requests holding a slot (running + waiting)

    @property
    def capacity(self) -> int:
        return self.workers + self.queue

    def try_admit(self) -> _Ticket | None:
        """A ticket if a slot is free, else None (the caller answers 503)."""
        with self._lock:
            if self.admitted >= self.capacity:
                return None
            self.admitted += 1
        return _Ticket(self)

    def _leave(self) -> None:
        with self._lock:
            self.admitted -= 1

    async def run(self, ticket: _Ticket | None, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on a worker thread and await its result."""
        if ticket is not None:
            ticket.hold()
        future = self.executor.submit(fn, *args)
        if ticket is not None:
            future.add_done_callback(lambda _: ticket.release())
        return await asyncio.wrap_future(future)

    def shutdown(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


class _BodyTooLarge(Exception):
    pass


async def send_json(send: Send, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
    """Answer ``{"detail": detail}`` with ``status`` directly on the ASGI channel."""
    body = json.dumps({"detail": detail}).encode()
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


class LimitsMiddleware:
    """For POST requests under ``/v1/``: refuse bodies over ``max_body_bytes`` (413) and requests
    beyond the pool's capacity (503 + Retry-After); hand the pool ticket to the endpoint.

    The body limit is checked on the Content-Length header and again while streaming, so a chunked
    upload without a length is cut off as soon as it passes the limit.
    """

    def __init__(
        self, app: Any, pool: WorkerPool, max_body_bytes: int, max_upload_bytes: int, retry_after: int
    ):
        self.app = app
        self.pool = pool
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes
        self.retry_after = retry_after

    def _too_large(self, size: int | None) -> str:
        told = f"the request is {size} bytes" if size is not None else "the request is larger than that"
        return (
            f"upload too large: {told}; the limit is {self.max_upload_bytes} bytes "
            f"({self.max_upload_bytes / 2**20:g} MiB) for all files of one request"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            await send_json(send, 413, self._too_large(int(length)))
            return
        ticket = self.pool.try_admit()
        if ticket is None:
            await send_json(
                send,
                503,
                f"server busy: {self.pool.workers} job(s) running and {self.pool.queue} waiting, the most "
                f"this server takes (--workers {self.pool.workers}, --queue {self.pool.queue}); "
                f"try again in {self.retry_after} s",
                {"Retry-After": str(self.retry_after)},
            )
            return
        scope.setdefault("state", {})["ticket"] = ticket
        try:
            await self._call_limited(scope, receive, send)
        finally:
            ticket.release()

    async def _call_limited(self, scope: Scope, receive: Receive, send: Send) -> None:
        received = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    exceeded = True
                    raise _BodyTooLarge()
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:  # the app turned our exception into its own error page: replace it
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _BodyTooLarge:
            pass
        if exceeded and not started:
            await send_json(send, 413, self._too_large(None))
