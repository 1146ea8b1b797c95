"""End-to-end test of the web page in headless Chromium (the Debian package, driven by Playwright).

A real uvicorn server runs the app with the tiny ONNX stand-in (dark pixels = ink, clean = box
blur). The test uploads a photo, checks the detected ink shows as the overlay, paints with the brush
on clean skin and erases part of the detected ink, removes, and checks the downloaded files.
Skips when Chromium or Playwright is missing (``bash scripts/system-deps.sh``, ``pip install playwright``;
never ``playwright install``: the system Chromium is used).
"""

from __future__ import annotations

import io
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright not installed: pip install playwright"
)

from skindeep.serve import ServeConfig, create_app  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
if not Path(CHROMIUM).exists():
    pytest.skip(
        f"Chromium not found at {CHROMIUM}: run `bash scripts/system-deps.sh` (Debian package chromium)",
        allow_module_level=True,
    )

W, H = 320, 240
INK = (slice(60, 120), slice(60, 180))  # the dark square the detector finds (rows, cols)
ERASED = (slice(84, 96), slice(70, 100))  # inside INK, inside the eraser stroke (row 90)
PAINTED = (slice(180, 192), slice(200, 280))  # clean skin, inside the brush stroke (row 186)
FAR = (slice(0, 30), slice(250, 320))  # touched by nothing


def make_photo() -> np.ndarray:
    rng = np.random.default_rng(3)
    photo = rng.integers(150, 230, size=(H, W, 3), dtype=np.uint8)
    photo[INK] = 20
    return photo


@contextmanager
def running_server(config: ServeConfig) -> Iterator[str]:
    """uvicorn on a free 127.0.0.1 port in a thread; yields its URL."""
    server = uvicorn.Server(uvicorn.Config(create_app(config), host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def server_url(tiny_model_path):
    with running_server(ServeConfig(model_path=tiny_model_path, protect_face=False)) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def to_screen(box: dict, x: float, y: float) -> tuple[float, float]:
    """Photo pixel (x, y) -> page coordinates on the displayed mask canvas."""
    return box["x"] + x * box["width"] / W, box["y"] + y * box["height"] / H


def stroke(page, y: float, x0: float, x1: float) -> None:
    """Drag the mouse along photo row ``y`` from column ``x0`` to ``x1``."""
    page.locator("#mask").scroll_into_view_if_needed()
    box = page.locator("#mask").bounding_box()
    page.mouse.move(*to_screen(box, x0, y))
    page.mouse.down()
    page.mouse.move(*to_screen(box, x1, y), steps=12)
    page.mouse.up()


def mask_alpha(page, x: int, y: int) -> int:
    """Alpha of the overlay canvas at photo pixel (x, y) (the canvas is at photo size here)."""
    return page.evaluate(
        f"document.getElementById('mask').getContext('2d').getImageData({x}, {y}, 1, 1).data[3]"
    )


def download(page, selector: str) -> tuple[str, np.ndarray]:
    with page.expect_download() as info:
        page.click(selector)
    data = Path(info.value.path()).read_bytes()
    return info.value.suggested_filename, np.asarray(Image.open(io.BytesIO(data)))


def wait_phase(page, phase: str) -> None:
    """Wait until the page says it reached ``phase`` (``<body data-phase>``, set by app.js)."""
    page.wait_for_selector(f"body[data-phase={phase}]", state="attached")
    assert page.is_hidden("#status")  # the busy indicator is gone


def open_photo(page, url: str, path: Path) -> None:
    page.goto(url)
    page.set_input_files("#file", str(path))
    wait_phase(page, "ready")
    assert page.is_visible("#editor")
    assert page.is_hidden("#error"), page.text_content("#error")


def test_upload_paint_erase_remove_download(server_url, browser, tmp_path):
    photo = make_photo()
    path = tmp_path / "arm.png"
    Image.fromarray(photo).save(path)
    page = browser.new_page(viewport={"width": 1100, "height": 900}, accept_downloads=True)
    console_errors: list[str] = []
    page.on("pageerror", lambda exc: console_errors.append(str(exc)))
    detects: list[str] = []
    page.on("request", lambda request: "/v1/detect" in request.url and detects.append(request.url))
    open_photo(page, server_url, path)

    # The detection is shown: the overlay is opaque on the dark square, clear on skin.
    assert mask_alpha(page, 120, 90) == 255
    assert mask_alpha(page, 240, 186) == 0
    # The square is 60*120/(240*320) = 9.4 % of the photo; the applied mask grows it by a few pixels.
    found = re.search(r"Ink found on ([0-9.]+) % of the photo", page.text_content("#mask-info"))
    assert found and 9.4 <= float(found.group(1)) <= 12

    page.fill("#brush-size", "60")  # screen pixels; 320 photo pixels are shown ~930 px wide: ~20 px
    page.click("label:has(#tool-brush)")
    stroke(page, 186, 190, 290)
    page.click("label:has(#tool-eraser)")
    stroke(page, 90, 62, 108)
    assert mask_alpha(page, 240, 186) == 255
    assert mask_alpha(page, 85, 90) == 0
    # A new sensitivity asks the server again; the user's strokes survive it.
    page.fill("#threshold", "0.9")
    wait_phase(page, "ready")
    assert len(detects) == 2
    assert mask_alpha(page, 240, 186) == 255 and mask_alpha(page, 85, 90) == 0
    assert mask_alpha(page, 150, 110) == 255
    # Undo takes back the last stroke (the eraser) only; the stroke before it stays.
    page.click("#undo")
    assert mask_alpha(page, 85, 90) == 255 and mask_alpha(page, 240, 186) == 255
    stroke(page, 90, 62, 108)  # the eraser again
    assert mask_alpha(page, 85, 90) == 0

    page.click("#remove")
    wait_phase(page, "done")
    assert page.is_visible("#result")
    assert page.is_hidden("#error"), page.text_content("#error")

    name, result = download(page, "#dl-result")
    assert name == "arm.clean.png"
    assert result.shape == photo.shape
    diff = np.abs(result.astype(int) - photo.astype(int))
    assert diff[PAINTED].mean() > 5  # painted skin was "restored" (blurred) by the stand-in
    np.testing.assert_array_equal(result[ERASED], photo[ERASED])  # erased ink left alone
    np.testing.assert_array_equal(result[FAR], photo[FAR])
    # Detected, not erased ink was replaced by the stand-in's blur (visible near the square's edge).
    assert diff[114:120, 125:175].mean() > 20

    mask_name, mask = download(page, "#dl-mask")
    assert mask_name == "arm.mask.png" and mask.shape == (H, W)
    assert mask[PAINTED].min() == 255 and mask[ERASED].max() == 0 and mask[FAR].max() == 0
    assert mask[100:115, 125:175].min() == 255
    layer_name, layer = download(page, "#dl-layer")
    assert layer_name == "arm.ink.png" and layer.shape == (H, W, 4)
    np.testing.assert_array_equal(layer[..., 3], mask)

    # The before/after slider moves the divider.
    page.fill("#compare-slider", "20")
    assert "20%" in page.get_attribute("#after-clip", "style")
    assert console_errors == []
    page.close()


def test_phone_screen_touch_and_errors(server_url, browser, tmp_path):
    path = tmp_path / "arm.png"
    Image.fromarray(make_photo()).save(path)
    page = browser.new_page(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    open_photo(page, server_url, path)
    # Nothing sticks out sideways on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    box = page.locator("#mask").bounding_box()
    assert box["width"] <= 390
    # A finger tap paints a dot (pointer events, touch-action: none).
    assert mask_alpha(page, 240, 186) == 0
    page.touchscreen.tap(*to_screen(box, 240, 186))
    assert mask_alpha(page, 240, 186) == 255

    # A phone JPEG stored sideways with EXIF orientation 6: page and server both show it upright,
    # so the detected mask lines up with the picture.
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to view"
    sideways = tmp_path / "phone.jpg"
    Image.fromarray(np.ascontiguousarray(np.rot90(make_photo()))).save(
        sideways, quality=95, exif=exif.tobytes()
    )
    page.set_input_files("#file", str(sideways))
    wait_phase(page, "ready")
    assert page.evaluate(
        "[document.getElementById('mask').width, document.getElementById('mask').height]"
    ) == [W, H]
    assert mask_alpha(page, 120, 90) == 255 and mask_alpha(page, 240, 186) == 0

    # A file the server cannot decode: the page says so in words, and is not stuck busy.
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\nnot a png")
    page.set_input_files("#file", str(bad))
    wait_phase(page, "error")
    assert "cannot show that file" in page.text_content("#error")
    assert page.is_hidden("#editor")

    # An empty mask: the page says what to do instead of sending a useless request.
    open_photo(page, server_url, path)
    page.click("#clear-mask")
    page.click("#remove")
    wait_phase(page, "error")
    assert "mask is empty" in page.text_content("#error")
    assert page.is_hidden("#status")
    page.close()


def test_api_docs_render_without_internet(server_url, browser):
    page = browser.new_page()
    outside: list[str] = []

    def local_only(route) -> None:
        if route.request.url.startswith(server_url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", local_only)
    page.goto(f"{server_url}/docs")
    page.wait_for_selector(".opblock-summary-path[data-path='/v1/remove']", timeout=20_000)
    assert outside == []
    page.close()


@pytest.mark.skipif(
    not os.environ.get("SKINDEEP_SCREENSHOT_PHOTO"), reason="set SKINDEEP_SCREENSHOT_PHOTO to remake it"
)
def test_make_docs_screenshot(browser):
    """Remakes docs/web-screenshot.png with the shipped model: SKINDEEP_SCREENSHOT_PHOTO=photo.png
    (optional SKINDEEP_SCREENSHOT_SLIDER, percent). Not a check; skipped unless asked for."""
    out = Path(__file__).resolve().parents[1] / "docs" / "web-screenshot.png"
    with running_server(ServeConfig()) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 1700})
        page.goto(url)
        page.set_input_files("#file", os.environ["SKINDEEP_SCREENSHOT_PHOTO"])
        wait_phase(page, "ready")
        page.click("#remove")
        wait_phase(page, "done")
        page.fill("#compare-slider", os.environ.get("SKINDEEP_SCREENSHOT_SLIDER", "15"))
        page.set_viewport_size({"width": 1280, "height": 800})
        page.evaluate("window.scrollTo(0, 0)")
        shot = Image.open(io.BytesIO(page.screenshot(full_page=True))).convert("RGB")
        # 256 colours: a third of the bytes, and the page is flat colour apart from the photo.
        shot.quantize(256, method=Image.Quantize.MEDIANCUT).save(out, optimize=True)
        page.close()
