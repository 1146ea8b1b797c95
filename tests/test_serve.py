"""REST API of ``skindeep serve``: success, every error path, the worker-pool limit, nothing kept on disk.

Most tests use the real ``Remover`` with the tiny ONNX stand-in (dark pixels = ink, clean = box blur);
the concurrency tests use a gated fake so that "the pool is full" is a fact, not a timing guess.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import struct
import tempfile
import threading
import time
import zlib
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi")
from click.testing import CliRunner  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from skindeep.serve import ServeConfig, create_app  # noqa: E402

# The dark square ("the tattoo") in the test photo, and a margin beyond which nothing may change
# (the remover grows and feathers its mask by a few pixels).
INK = (slice(30, 50), slice(40, 70))
MARGIN = 12


def make_photo(height: int = 96, width: int = 128, seed: int = 0) -> np.ndarray:
    """Light, textured skin (so a blur changes it) with one dark square: (H, W, 3) uint8. Skin-coloured,
    as the remover's skin gate expects ink to have skin around it."""
    rng = np.random.default_rng(seed)
    noise = rng.integers(-25, 26, size=(height, width, 1))
    photo = np.clip(np.array([205, 160, 130]) + noise, 0, 255).astype(np.uint8)
    photo[INK] = 20
    return photo


def encode(array: np.ndarray, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt, **options)
    return buffer.getvalue()


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


def far_from_ink(shape: tuple[int, int]) -> np.ndarray:
    """(H, W) bool: pixels more than MARGIN away from the dark square."""
    far = np.ones(shape, bool)
    far[INK[0].start - MARGIN : INK[0].stop + MARGIN, INK[1].start - MARGIN : INK[1].stop + MARGIN] = False
    return far


@pytest.fixture(scope="module")
def remover(tiny_model_path):
    from skindeep.remove import Remover

    return Remover(model_path=tiny_model_path, protect_face=False)


@pytest.fixture
def client(remover):
    with TestClient(create_app(ServeConfig(remover=remover))) as test_client:
        yield test_client


def post_remove(
    client: TestClient,
    photo: bytes,
    name: str = "photo.png",
    ctype: str = "image/png",
    masks: dict[str, tuple[str, np.ndarray]] | None = None,
    **data,
):
    """POST /v1/remove with ``photo`` and optional ``masks`` ({"mask"|"keep": (filename, array)}), as PNGs."""
    files = {"image": (name, photo, ctype)}
    files.update({field: (fname, encode(array), "image/png") for field, (fname, array) in (masks or {}).items()})
    return client.post("/v1/remove", files=files, data=data)


# ---------------------------------------------------------------- success


def test_remove_png_changes_the_ink_and_nothing_far_from_it(client):
    photo = make_photo()
    response = post_remove(client, encode(photo))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    assert 'filename="photo.clean.png"' in response.headers["content-disposition"]
    out = decode(response.content)
    assert out.shape == photo.shape
    # The dark square is replaced by the blurred surroundings: much lighter than before.
    assert out[INK].mean() > photo[INK].mean() + 40
    np.testing.assert_array_equal(out[far_from_ink(photo.shape[:2])], photo[far_from_ink(photo.shape[:2])])
    assert float(response.headers["x-skindeep-ink-fraction"]) > 0.04


def test_remove_keeps_the_format_sent_or_the_one_asked_for(client):
    photo = make_photo()
    jpeg = post_remove(client, encode(photo, "JPEG", quality=90), "photo.jpg", "image/jpeg")
    assert jpeg.status_code == 200, jpeg.text
    assert jpeg.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(jpeg.content)).format == "JPEG"
    as_png = post_remove(client, encode(photo, "JPEG"), "photo.jpg", "image/jpeg", format="png")
    assert as_png.headers["content-type"] == "image/png"
    assert decode(as_png.content).shape == photo.shape
    for name in ("jpg", "jpeg"):  # the CLI's --format spelling works here too
        as_jpeg = post_remove(client, encode(photo), format=name)
        assert as_jpeg.status_code == 200 and as_jpeg.headers["content-type"] == "image/jpeg", as_jpeg.text


def test_remove_keeps_alpha_and_applies_exif_orientation(client):
    photo = make_photo()
    alpha = np.full(photo.shape[:2], 255, np.uint8)
    alpha[:, :10] = 0
    rgba = post_remove(client, encode(np.dstack([photo, alpha])))
    out = decode(rgba.content)
    assert out.shape == (*photo.shape[:2], 4)
    np.testing.assert_array_equal(out[..., 3], alpha)

    # Orientation 6 = "rotate 90 degrees clockwise to view": the result comes back upright.
    exif = Image.Exif()
    exif[0x0112] = 6
    rotated = post_remove(client, encode(photo, "PNG", exif=exif.tobytes()))
    assert decode(rotated.content).shape == (photo.shape[1], photo.shape[0], 3)


def test_user_mask_limits_and_replaces_the_detection(client):
    photo = make_photo()
    # limit: a mask over the left half of the square only -> the right half stays dark.
    mask = np.zeros(photo.shape[:2], np.uint8)
    mask[:, :55] = 255
    limited = decode(post_remove(client, encode(photo), masks={"mask": ("m.png", mask)}).content)
    assert limited[30:50, 40:50].mean() > photo[30:50, 40:50].mean() + 30
    np.testing.assert_array_equal(limited[30:50, 60:70], photo[30:50, 60:70])

    # replace: a mask over light skin where nothing was detected -> changed there, the square kept.
    painted = np.zeros(photo.shape[:2], np.uint8)
    painted[70:90, 90:120] = 255
    replaced = decode(
        post_remove(client, encode(photo), masks={"mask": ("m.png", painted)}, mask_mode="replace").content
    )
    assert np.abs(replaced[72:88, 92:118].astype(int) - photo[72:88, 92:118]).mean() > 5
    np.testing.assert_array_equal(replaced[INK], photo[INK])


def test_mask_drawn_at_preview_size_is_scaled_and_other_sizes_refused(client):
    photo = make_photo()
    half = np.zeros((48, 64), np.uint8)
    ok = post_remove(client, encode(photo), masks={"mask": ("m.png", half)})
    assert ok.status_code == 200, ok.text
    np.testing.assert_array_equal(decode(ok.content), photo)  # empty mask: nothing removed
    wrong = post_remove(client, encode(photo), masks={"mask": ("m.png", np.zeros((50, 50), np.uint8))})
    assert wrong.status_code == 422
    assert "mask 'm.png' is 50x50 but the image is 128x96" in wrong.json()["detail"]


def test_keep_mask_protects_its_area(client):
    photo = make_photo()
    keep = np.zeros(photo.shape[:2], np.uint8)
    keep[:, :55] = 255
    out = decode(post_remove(client, encode(photo), masks={"keep": ("k.png", keep)}).content)
    np.testing.assert_array_equal(out[:, :55], photo[:, :55])
    assert out[30:50, 58:70].mean() > photo[30:50, 58:70].mean() + 30


def test_json_output_has_image_mask_and_layer(client):
    photo = make_photo()
    body = post_remove(client, encode(photo), output="json").json()
    assert (body["width"], body["height"]) == (128, 96)
    image = decode(base64.b64decode(body["image"]["base64"]))
    mask = decode(base64.b64decode(body["mask"]["base64"]))
    layer = decode(base64.b64decode(body["layer"]["base64"]))
    assert image.shape == photo.shape and mask.shape == photo.shape[:2] and layer.shape == (96, 128, 4)
    assert mask[INK].min() == 255 and mask[far_from_ink(mask.shape)].max() == 0
    np.testing.assert_array_equal(layer[..., 3], mask)
    inked = mask > 0  # the layer holds the original pixels there; transparent pixels are zeroed
    np.testing.assert_array_equal(layer[inked][:, :3], photo[inked])
    assert layer[~inked].max() == 0
    assert body["mask"]["filename"] == "photo.mask.png" and body["layer"]["filename"] == "photo.ink.png"


def test_detect_returns_the_mask_and_the_probability(client):
    photo = make_photo()
    response = client.post("/v1/detect", files={"image": ("p.jpg", encode(photo, "JPEG"), "image/jpeg")})
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    mask = decode(response.content)
    assert mask.shape == photo.shape[:2] and mask.dtype == np.uint8
    assert mask[INK].min() == 255 and mask[far_from_ink(mask.shape)].max() == 0
    soft = decode(
        client.post(
            "/v1/detect", files={"image": ("p.png", encode(photo), "image/png")}, data={"soft": "true"}
        ).content
    )
    assert soft[INK].min() > 240 and soft[far_from_ink(soft.shape)].max() < 30


def test_health_docs_and_page(client):
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["model_loaded"] is True
    assert health["limits"]["workers"] == 1 and "version" in health
    spec = client.get("/openapi.json").json()
    assert {"/v1/remove", "/v1/detect", "/health"} <= set(spec["paths"])
    assert client.get("/docs").status_code == 200
    page = client.get("/")
    assert page.status_code == 200 and 'id="mask"' in page.text
    assert "pointerdown" in client.get("/static/app.js").text
    # The page's icon, and /favicon.ico for browsers that ask anyway (no 404 on every load).
    assert '<link rel="icon" href="/static/favicon.svg"' in page.text
    for path in ("/static/favicon.svg", "/favicon.ico"):
        icon = client.get(path)
        assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
        assert icon.text.startswith("<svg")


# ---------------------------------------------------------------- errors


def make_client(remover, **limits) -> TestClient:
    return TestClient(create_app(ServeConfig(remover=remover, **limits)))


def test_upload_over_the_byte_limit_is_413_with_the_limit(remover):
    client = make_client(remover, max_upload_bytes=2000)
    big = encode(make_photo())  # ~37 kB of noise
    response = post_remove(client, big)
    assert response.status_code == 413
    assert "the limit is 2000 bytes" in response.json()["detail"]


def test_chunked_upload_without_length_is_cut_at_the_limit(remover):
    # Straight ASGI, so we can count how much of a length-less (chunked) body the server reads.
    app = create_app(ServeConfig(remover=remover, max_upload_bytes=1000))
    chunks_read = 0
    sent: list[dict] = []

    head = b'--b\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n'

    async def receive() -> dict:
        nonlocal chunks_read
        chunks_read += 1
        body = head if chunks_read == 1 else b"x" * 1024  # one endless file part
        return {"type": "http.request", "body": body, "more_body": chunks_read < 1000}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/remove",
        "raw_path": b"/v1/remove",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-type", b"multipart/form-data; boundary=b")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 413
    assert "the limit is 1000 bytes" in json.loads(sent[1]["body"])["detail"]
    # The limit plus the allowance for form fields (64 KiB) is ~66 chunks of 1 KiB: not the 1000 sent.
    assert chunks_read <= 70
    assert app.state.pool.admitted == 0


def test_image_over_the_pixel_limit_is_413_with_the_limit(remover):
    client = make_client(remover, max_pixels=10_000)
    response = post_remove(client, encode(make_photo()))
    assert response.status_code == 413
    assert response.json()["detail"] == (
        "image 'photo.png' is 128x96 = 0.0123 megapixels; the limit is 0.01 megapixels"
    )
    # A mask is checked too.
    client = make_client(remover, max_pixels=12_288)
    response = post_remove(client, encode(make_photo()), masks={"mask": ("m.png", np.zeros((200, 200), np.uint8))})
    assert response.status_code == 413 and "mask 'm.png' is 200x200" in response.json()["detail"]


def test_decompression_bomb_is_413_in_the_servers_own_words(client, bomb_png):
    """Pillow refuses a 3.6-gigapixel header before our 50 MP check sees it; the client must still get
    one sentence with the server's limit, not Pillow's "could be decompression bomb DOS attack"."""
    response = post_remove(client, bomb_png, "bomb.png")
    assert response.status_code == 413
    assert response.json()["detail"] == "image 'bomb.png' is 3,600 megapixels; the limit is 50 megapixels"


def png_header_bomb(width: int, height: int) -> bytes:
    """A valid PNG header claiming ``width`` x ``height`` RGB, followed by 20 bytes of compressed data
    (a few pixels) and the end chunk: a server that checks the header refuses it (413); one that
    decodes first gets a truncated image (422) after allocating the whole of it."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + chunk(b"IEND", b""))


def test_header_only_decompression_bomb_is_413_before_decoding(client):
    """Tiny files whose headers claim 64 MP (over the server's 50 MP limit, under Pillow's own bomb
    guard) and 3600 MP (over both): refused from the header, for the photo and for a mask."""
    bomb = png_header_bomb(8000, 8000)
    assert len(bomb) < 100
    for endpoint in ("/v1/remove", "/v1/detect"):
        response = client.post(endpoint, files={"image": ("bomb.png", bomb, "image/png")})
        assert response.status_code == 413, (endpoint, response.text)
        assert response.json()["detail"] == (
            "image 'bomb.png' is 8000x8000 = 64 megapixels; the limit is 50 megapixels"
        )
    huge = client.post("/v1/remove", files={"image": ("huge.png", png_header_bomb(60_000, 60_000), "image/png")})
    assert huge.status_code == 413 and "image 'huge.png' is 3,600 megapixels" in huge.json()["detail"]
    assert "the limit is 50 megapixels" in huge.json()["detail"]
    files = {"image": ("photo.png", encode(make_photo()), "image/png"), "mask": ("m.png", bomb, "image/png")}
    masked = client.post("/v1/remove", files=files)
    assert masked.status_code == 413 and "mask 'm.png' is 8000x8000" in masked.json()["detail"]


def test_not_an_image_is_415_and_undecodable_is_422(client):
    text = post_remove(client, b"hello", "notes.txt", "text/plain")
    assert text.status_code == 415
    assert "image 'notes.txt' has content type 'text/plain'" in text.json()["detail"]
    broken = post_remove(client, b"\x89PNG\r\n\x1a\nthis is not really a png", "broken.png", "image/png")
    assert broken.status_code == 422
    assert "image 'broken.png' could not be decoded" in broken.json()["detail"]
    truncated = post_remove(client, encode(make_photo(), "JPEG")[:400], "cut.jpg", "image/jpeg")
    assert truncated.status_code == 422 and "cut.jpg" in truncated.json()["detail"]
    empty = post_remove(client, b"", "empty.png", "image/png")
    assert empty.status_code == 422 and "empty" in empty.json()["detail"]


def test_bad_parameters_are_422(client):
    photo = encode(make_photo())
    for field, value in [("threshold", "1.5"), ("strength", "-1"), ("format", "gif"), ("output", "zip")]:
        response = post_remove(client, photo, **{field: value})
        assert response.status_code == 422, (field, response.text)
        assert field in str(response.json()["detail"])
    assert client.post("/v1/remove").status_code == 422  # no image at all
    no_mask = post_remove(client, photo, mask_mode="replace")
    assert no_mask.status_code == 422 and "needs a mask" in no_mask.json()["detail"]


def test_an_error_the_remover_reports_is_422_naming_the_upload():
    class Refusing:
        def detect(self, image):
            return np.zeros(image.shape[:2], np.float32)

        def remove(self, image, **options):
            raise ValueError("strength must be in 0..1, got 2")

    client = TestClient(create_app(ServeConfig(remover=Refusing())))
    response = post_remove(client, encode(make_photo()))
    assert response.status_code == 422
    assert response.json()["detail"] == "image 'photo.png': strength must be in 0..1, got 2"
    assert client.app.state.pool.admitted == 0


# ---------------------------------------------------------------- worker pool


class GatedRemover:
    """A fake Remover whose ``remove`` waits for ``gate``; ``entered`` counts calls that started."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.entered = threading.Semaphore(0)

    def detect(self, image: np.ndarray) -> np.ndarray:
        return np.zeros(image.shape[:2], np.float32)

    def remove(self, image, mask=None, keep=None, threshold=None, strength=1.0, protect_face=None):
        self.entered.release()
        assert self.gate.wait(timeout=30), "test never opened the gate"
        zeros = np.zeros(image.shape[:2], np.uint8)
        return SimpleNamespace(
            image=image,
            ink_mask=zeros,
            ink_prob=zeros.astype(np.float32),
            layer=np.dstack([image, zeros]),
            seconds=0.0,
        )


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def test_requests_beyond_workers_and_queue_get_503_with_retry_after():
    fake = GatedRemover()
    app = create_app(ServeConfig(remover=fake, workers=1, queue=1, retry_after=7))
    photo = encode(make_photo())
    results: list = []
    with TestClient(app) as client:
        threads = [
            threading.Thread(target=lambda: results.append(post_remove(client, photo))) for _ in range(2)
        ]
        threads[0].start()
        assert fake.entered.acquire(timeout=10)  # request 1 is running on the only worker
        threads[1].start()
        wait_until(lambda: app.state.pool.admitted == 2)  # request 2 is waiting in the queue
        refused = post_remove(client, photo)
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "7"
        assert "--workers 1, --queue 1" in refused.json()["detail"]
        assert client.get("/health").status_code == 200  # health is never queued
        fake.gate.set()
        for thread in threads:
            thread.join(timeout=30)
        assert [r.status_code for r in results] == [200, 200]
        assert app.state.pool.admitted == 0
        assert post_remove(client, photo).status_code == 200  # slots are given back


def test_a_failing_job_gives_its_slot_back(remover):
    client = make_client(remover, workers=1, queue=0)
    for _ in range(3):
        assert post_remove(client, b"garbage", "x.png", "image/png").status_code == 422
    assert client.app.state.pool.admitted == 0
    assert post_remove(client, encode(make_photo())).status_code == 200


# ---------------------------------------------------------------- disk


def listing(folder) -> set[str]:
    return {os.path.join(root, name) for root, _, names in os.walk(folder) for name in names}


def test_nothing_uploaded_stays_on_disk(remover, tmp_path, monkeypatch):
    # Uploads over 1 MiB are spooled to a temporary file by the multipart parser: it must be gone.
    spool = tmp_path / "tmp"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(1)
    photo = rng.integers(0, 255, size=(800, 800, 3), dtype=np.uint8)
    data = encode(photo)
    assert len(data) > 1.5 * 2**20
    with TestClient(create_app(ServeConfig(remover=remover))) as client:
        response = post_remove(client, data)
        assert response.status_code == 200
        assert client.post("/v1/detect", files={"image": ("p.png", data, "image/png")}).status_code == 200
    assert listing(tmp_path) == set()


def test_save_dir_keeps_uploads_and_results(remover, tmp_path):
    client = make_client(remover, save_dir=tmp_path / "kept")
    response = post_remove(client, encode(make_photo()))
    assert response.status_code == 200
    names = sorted(p.name.split(".", 1)[1] for p in (tmp_path / "kept").iterdir())
    assert names == ["image.png", "result.png"]
    result = next((tmp_path / "kept").glob("*.result.png")).read_bytes()
    assert result == response.content


# ---------------------------------------------------------------- CLI


def test_cli_defaults_to_localhost_and_reports_a_missing_model(tmp_path):
    from skindeep.cli import main

    help_text = CliRunner().invoke(main, ["serve", "--help"]).output
    assert "--host" in help_text and "127.0.0.1" in help_text and "--save-dir" in help_text
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    result = CliRunner().invoke(main, ["serve", "--model", str(broken), "--port", "0"])
    assert result.exit_code != 0
    assert "broken.onnx" in result.output
