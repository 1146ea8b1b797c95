"""``skindeep serve``: start the web app and REST API on this machine."""

from __future__ import annotations

from pathlib import Path

import click

from skindeep.cli.options import protect_face_option, threshold_option


@click.command("serve")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind. Use 0.0.0.0 to let other machines in (e.g. inside Docker).",
)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--model",
    "model_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="ONNX model to use instead of the shipped one.",
)
@threshold_option(help="Default ink threshold, 0..1 (a request may give its own). Default: the model's.")
@protect_face_option(help="Default face protection (a request may give its own).")
@click.option(
    "--workers", default=1, show_default=True, type=click.IntRange(1), help="Photos processed at once."
)
@click.option(
    "--queue",
    default=4,
    show_default=True,
    type=click.IntRange(0),
    help="Requests that may wait for a worker; more get 503 with Retry-After.",
)
@click.option(
    "--max-upload-mb",
    default=32.0,
    show_default=True,
    type=click.FloatRange(0, min_open=True),
    help="Largest request (all files together), in MiB; bigger gets 413.",
)
@click.option(
    "--max-megapixels",
    default=50.0,
    show_default=True,
    type=click.FloatRange(0, min_open=True),
    help="Largest image, in megapixels; bigger gets 413.",
)
@click.option(
    "--retry-after",
    default=10,
    show_default=True,
    type=click.IntRange(1),
    help="Seconds a busy server tells clients to wait (Retry-After).",
)
@click.option(
    "--save-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep every upload and result here. Without it nothing uploaded is written to disk.",
)
def command(
    host: str,
    port: int,
    model_path: Path | None,
    threshold: float | None,
    protect_face: bool,
    workers: int,
    queue: int,
    max_upload_mb: float,
    max_megapixels: float,
    retry_after: int,
    save_dir: Path | None,
) -> None:
    """Start the web app (open http://HOST:PORT/) and the REST API (docs at /docs)."""
    import uvicorn

    from skindeep.errors import SkinDeepError
    from skindeep.serve import ServeConfig, create_app

    config = ServeConfig(
        model_path=model_path,
        threshold=threshold,
        protect_face=protect_face,
        max_upload_bytes=int(max_upload_mb * 2**20),
        max_pixels=int(max_megapixels * 1e6),
        workers=workers,
        queue=queue,
        retry_after=retry_after,
        save_dir=save_dir,
    )
    try:
        app = create_app(config)
        app.state.warm_up()
    except SkinDeepError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"skindeep: web app at http://{host}:{port}/  API docs at http://{host}:{port}/docs", err=True)
    uvicorn.run(app, host=host, port=port, log_level="info")
