"""The FastAPI app behind ``skindeep serve``: REST API (``/v1/remove``, ``/v1/detect``, ``/health``)
and the web page (``/``, static files, no build step).

Build it with ``create_app(ServeConfig(model_path=...))``; tests pass a ready ``remover`` instead
(anything with the ``skindeep.remove.Remover`` methods ``remove`` and ``detect``).
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np
from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from skindeep import __version__
from skindeep.errors import SkinDeepError
from skindeep.serve.codec import (
    FORMATS,
    ApiError,
    decode_image,
    decode_mask,
    describe,
    encode_image,
    encode_layer,
    encode_png,
    output_format,
)
from skindeep.serve.limits import LimitsMiddleware, WorkerPool

T = TypeVar("T")
STATIC_DIR = Path(__file__).resolve().parent / "static"
# Multipart boundaries and form fields on top of the files themselves.
_FORM_OVERHEAD_BYTES = 64 * 1024
# Content types browsers and curl send for images; anything else is refused with 415.
_GENERIC_TYPES = ("", "application/octet-stream")


@dataclass
class ServeConfig:
    """Settings of one server. ``remover`` (a ready Remover, e.g. a test double) wins over ``model_path``."""

    model_path: Path | None = None  # None: the shipped model
    remover: Any = None
    threshold: float | None = None  # default ink threshold for requests; None: the model's own
    protect_face: bool = True  # default face protection when a request gives none
    max_upload_bytes: int = 32 * 2**20  # all files of one request together
    max_pixels: int = 50_000_000  # per image
    workers: int = 1  # jobs running at once (each uses the model's own threads)
    queue: int = 4  # jobs waiting; beyond that: 503
    retry_after: int = 10  # seconds, sent with 503
    save_dir: Path | None = None  # keep uploads and results here; None: keep nothing


@dataclass
class _Upload:
    field: str
    filename: str | None
    data: bytes


def _make_remover(config: ServeConfig) -> Any:
    if config.remover is not None:
        return config.remover
    from skindeep.remove import Remover

    return Remover(model_path=config.model_path, threshold=config.threshold, protect_face=config.protect_face)


async def _read_upload(upload: UploadFile | None, field: str, required: bool = False) -> _Upload | None:
    """The bytes of one multipart file; 415 when its content type is not an image."""
    if upload is None or (not required and not upload.filename and upload.size == 0):
        return None  # an empty optional file input in a browser form
    content_type = (upload.content_type or "").split(";")[0].strip().lower()
    if not content_type.startswith("image/") and content_type not in _GENERIC_TYPES:
        raise ApiError(
            415,
            f"{describe(field, upload.filename)} has content type '{content_type}'; "
            "send an image (PNG, JPEG, WEBP, TIFF or BMP)",
        )
    data = await upload.read()
    if not data:
        raise ApiError(422, f"{describe(field, upload.filename)} is empty (0 bytes)")
    return _Upload(field, upload.filename, data)


def _check_total(uploads: list[_Upload | None], limit: int) -> None:
    total = sum(len(u.data) for u in uploads if u is not None)
    if total > limit:
        raise ApiError(
            413,
            f"upload too large: the files are {total} bytes; "
            f"the limit is {limit} bytes ({limit / 2**20:g} MiB)",
        )


def _stem(filename: str | None) -> str:
    stem = Path(filename or "image").stem
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in stem)[:80] or "image"


class _Saver:
    """Writes a request's uploads and results to ``save_dir`` (only when the user asked for it)."""

    def __init__(self, save_dir: Path | None):
        self.save_dir = save_dir
        self.prefix = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"

    def save(self, name: str, data: bytes) -> None:
        if self.save_dir is not None:
            self.save_dir.mkdir(parents=True, exist_ok=True)
            (self.save_dir / f"{self.prefix}.{name}").write_bytes(data)

    def save_upload(self, upload: _Upload | None) -> None:
        if upload is not None:
            self.save(f"{upload.field}{Path(upload.filename or '').suffix or '.bin'}", upload.data)


def _part(media_type: str, filename: str, data: bytes) -> dict[str, str]:
    """One file of the JSON answer: its type, a file name for downloads and the bytes in base64."""
    return {"media_type": media_type, "filename": filename, "base64": base64.b64encode(data).decode("ascii")}


def _run_model(photo: _Upload, call: Callable[[], T]) -> T:
    """Run a Remover call; errors it reports about the input become 422 naming the upload."""
    try:
        return call()
    except (SkinDeepError, ValueError) as exc:
        raise ApiError(422, f"{describe(photo.field, photo.filename)}: {exc}") from exc


def _fastapi_class() -> Callable[..., FastAPI]:
    """FastAPI with the /docs page's scripts served by this server (fastapi-offline) where installed:
    plain FastAPI loads them from a CDN, so its /docs page stays blank on a machine without internet."""
    try:
        from fastapi_offline import FastAPIOffline
    except ImportError:
        return FastAPI
    return FastAPIOffline


def create_app(config: ServeConfig | None = None) -> FastAPI:
    """The ASGI app: REST API, OpenAPI docs at ``/docs`` and the web page at ``/``."""
    config = config or ServeConfig()
    remover = _make_remover(config)
    pool = WorkerPool(config.workers, config.queue)
    state = {"model_loaded": False}

    def warm_up() -> None:
        # The first call loads the ONNX session; do it at start so /health tells the truth and a
        # broken model fails the start, not the first user.
        remover.detect(np.full((64, 64, 3), 128, np.uint8))
        state["model_loaded"] = True

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if not state["model_loaded"]:
            await pool.run(None, warm_up)
        yield
        pool.shutdown()

    app = _fastapi_class()(
        title="skindeep",
        version=__version__,
        summary="Remove tattoos from photos.",
        description=(
            "Upload a photo, get it back without its tattoos. Limits: "
            f"{config.max_upload_bytes} bytes per request, {config.max_pixels} pixels per image, "
            f"{config.workers} job(s) at once + {config.queue} waiting (beyond: 503 with Retry-After)."
        ),
        lifespan=lifespan,
    )
    app.add_middleware(
        LimitsMiddleware,
        pool=pool,
        max_body_bytes=config.max_upload_bytes + _FORM_OVERHEAD_BYTES,
        max_upload_bytes=config.max_upload_bytes,
        retry_after=config.retry_after,
    )
    app.state.pool = pool
    app.state.config = config
    app.state.warm_up = warm_up  # the CLI calls it before binding, to report a broken model cleanly

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=exc.status, headers=exc.headers)

    def remove_job(
        photo: _Upload,
        mask: _Upload | None,
        keep: _Upload | None,
        options: dict[str, Any],
        fmt: str | None,
        quality: int | None,
        output: str,
    ) -> Response:
        saver = _Saver(config.save_dir)
        decoded = decode_image(photo.data, photo.field, photo.filename, config.max_pixels)
        shape = decoded.rgb.shape[:2]
        user_mask = (
            decode_mask(mask.data, mask.field, mask.filename, shape, config.max_pixels) if mask else None
        )
        keep_mask = (
            decode_mask(keep.data, keep.field, keep.filename, shape, config.max_pixels) if keep else None
        )
        for upload in (photo, mask, keep):
            saver.save_upload(upload)
        result = _run_model(
            photo, lambda: remover.remove(decoded.rgb, mask=user_mask, keep=keep_mask, **options)
        )
        name = output_format(fmt, decoded.format)
        data, media_type, ext = encode_image(result.image, decoded, name, quality)
        saver.save(f"result.{ext}", data)
        headers = {
            "X-Skindeep-Seconds": f"{result.seconds:.3f}",
            "X-Skindeep-Ink-Fraction": f"{float((result.ink_mask >= 128).mean()):.5f}",
        }
        stem = _stem(photo.filename)
        if output == "image":
            headers["Content-Disposition"] = f'inline; filename="{stem}.clean.{ext}"'
            return Response(data, media_type=media_type, headers=headers)
        if output == "mask":
            headers["Content-Disposition"] = f'inline; filename="{stem}.mask.png"'
            return Response(encode_png(result.ink_mask), media_type="image/png", headers=headers)
        if output == "layer":
            headers["Content-Disposition"] = f'inline; filename="{stem}.ink.png"'
            return Response(encode_layer(result.layer), media_type="image/png", headers=headers)
        body = {
            "width": int(decoded.rgb.shape[1]),
            "height": int(decoded.rgb.shape[0]),
            "seconds": result.seconds,
            "image": _part(media_type, f"{stem}.clean.{ext}", data),
            "mask": _part("image/png", f"{stem}.mask.png", encode_png(result.ink_mask)),
            "layer": _part("image/png", f"{stem}.ink.png", encode_layer(result.layer)),
        }
        return JSONResponse(body, headers=headers)

    def detect_job(
        photo: _Upload, threshold: float | None, protect_face: bool | None, soft: bool
    ) -> Response:
        decoded = decode_image(photo.data, photo.field, photo.filename, config.max_pixels)
        _Saver(config.save_dir).save_upload(photo)
        started = time.perf_counter()
        if soft:
            prob = _run_model(photo, lambda: remover.detect(decoded.rgb))
            mask = np.round(np.clip(prob, 0, 1) * 255).astype(np.uint8)
        else:
            # strength 0 computes the mask remove would apply (threshold, specks, growth, face) and
            # skips the restoration, the expensive part.
            options = {"threshold": threshold, "strength": 0.0, "protect_face": protect_face}
            mask = _run_model(photo, lambda: remover.remove(decoded.rgb, **options)).ink_mask
        kind = "prob" if soft else "mask"
        headers = {
            "X-Skindeep-Seconds": f"{time.perf_counter() - started:.3f}",
            "Content-Disposition": f'inline; filename="{_stem(photo.filename)}.{kind}.png"',
        }
        return Response(encode_png(mask), media_type="image/png", headers=headers)

    @app.post(
        "/v1/remove",
        summary="Remove tattoos from a photo",
        response_class=Response,
        responses={
            200: {
                "content": {"image/png": {}, "image/jpeg": {}, "image/webp": {}, "application/json": {}},
                "description": "The photo without its tattoos (or the mask / ink layer / all three as JSON).",
            },
            413: {"description": "Upload over the byte limit or image over the pixel limit."},
            415: {"description": "A file is not an image."},
            422: {"description": "A file cannot be decoded, or a parameter is out of range."},
            503: {"description": "All workers busy and the queue full; see Retry-After."},
        },
    )
    async def remove_endpoint(
        request: Request,
        image: UploadFile = File(..., description="The photo (PNG, JPEG, WEBP, TIFF, BMP)."),
        mask: UploadFile | None = File(None, description="Optional mask, white = ink; see mask_mode."),
        keep: UploadFile | None = File(
            None, description="Optional mask of areas to leave alone, white = keep."
        ),
        threshold: float | None = Form(None, ge=0.0, le=1.0, description="Ink probability threshold."),
        strength: float = Form(1.0, ge=0.0, le=1.0, description="1 = full removal, 0 = unchanged."),
        protect_face: bool | None = Form(None, description="Leave eyes, brows and lips alone."),
        mask_mode: Literal["limit", "replace"] = Form(
            "limit",
            description="limit: remove detected ink only inside `mask`; replace: `mask` is the ink mask "
            "as it is (e.g. a mask from /v1/detect corrected by hand), the detection is not used.",
        ),
        format: Literal["png", "jpeg", "jpg", "webp"] | None = Form(
            None, description="Output format (jpg = jpeg, as the CLI's --format says it); default: as sent."
        ),
        quality: int | None = Form(
            None, ge=1, le=100, description="JPEG/WEBP quality; default: the upload's own."
        ),
        output: Literal["image", "mask", "layer", "json"] = Form(
            "image", description="image, the applied mask, the RGBA ink layer, or all three as JSON (base64)."
        ),
    ) -> Response:
        photo = await _read_upload(image, "image", required=True)
        mask_upload = await _read_upload(mask, "mask")
        keep_upload = await _read_upload(keep, "keep")
        _check_total([photo, mask_upload, keep_upload], config.max_upload_bytes)
        if mask_mode == "replace" and mask_upload is None:
            raise ApiError(422, "mask_mode 'replace' needs a mask")
        options = {"threshold": threshold, "strength": strength, "protect_face": protect_face}
        format = "jpeg" if format == "jpg" else format
        if mask_mode != "limit":  # the default stays implicit, so any Remover-like object works
            options["mask_mode"] = mask_mode
        ticket = getattr(request.state, "ticket", None)
        return await pool.run(
            ticket, remove_job, photo, mask_upload, keep_upload, options, format, quality, output
        )

    @app.post(
        "/v1/detect",
        summary="Detect tattoo ink: the mask /v1/remove would apply, as a PNG (white = ink)",
        response_class=Response,
        responses={
            200: {"content": {"image/png": {}}, "description": "Greyscale PNG, same size as the photo."}
        },
    )
    async def detect_endpoint(
        request: Request,
        image: UploadFile = File(..., description="The photo."),
        threshold: float | None = Form(None, ge=0.0, le=1.0, description="Ink probability threshold."),
        protect_face: bool | None = Form(None, description="Leave eyes, brows and lips out of the mask."),
        soft: bool = Form(False, description="Return the raw ink probability (0..255) instead of the mask."),
    ) -> Response:
        photo = await _read_upload(image, "image", required=True)
        _check_total([photo], config.max_upload_bytes)
        ticket = getattr(request.state, "ticket", None)
        return await pool.run(ticket, detect_job, photo, threshold, protect_face, soft)

    @app.get("/health", summary="Is the model loaded; version and limits")
    async def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "version": __version__,
            "model_loaded": state["model_loaded"],
            "model": str(config.model_path) if config.model_path else "shipped",
            "threshold": getattr(remover, "threshold", config.threshold),
            "protect_face": config.protect_face,
            "limits": {
                "max_upload_bytes": config.max_upload_bytes,
                "max_pixels": config.max_pixels,
                "workers": config.workers,
                "queue": config.queue,
            },
            "busy": pool.admitted,
            "formats": sorted(FORMATS),
        }

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> FileResponse:
        # The page links the SVG itself; browsers still ask for /favicon.ico on /docs and raw images.
        return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
