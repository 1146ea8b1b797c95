"""Tests for skindeep.io: orientation, metadata, alpha, odd modes, atomic writes, clear errors."""

from __future__ import annotations

import functools
import io as _io
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage
from PIL import ImageCms, ImageOps

from skindeep.errors import InputError
from skindeep.io import decode_image, encode_image, orient, read_image, read_mask, write_image


def pattern(h: int = 40, w: int = 60) -> np.ndarray:
    """An asymmetric RGB test picture, so flips and rotations are visible."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 4 % 256, y * 6 % 256, (x + 2 * y) % 256], axis=2).astype(np.uint8)


@functools.cache
def srgb_icc() -> bytes:
    """One sRGB profile per run: its header holds the time it was made, so two calls can differ."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def changed(rgb: np.ndarray) -> np.ndarray:
    """Change a small block, as the remover would."""
    out = rgb.copy()
    out[5:10, 5:10] = (200, 10, 10)
    return out


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_matches_pillow(orientation):
    exif = PILImage.Exif()
    exif[0x0112] = orientation
    buf = _io.BytesIO()
    PILImage.fromarray(pattern()).save(buf, format="PNG", exif=exif.tobytes())
    expected = ImageOps.exif_transpose(PILImage.open(_io.BytesIO(buf.getvalue()))).convert("RGB")
    assert np.array_equal(orient(pattern(), orientation), np.asarray(expected))
    # and read_image applies it
    (path := Path(tempfile.mkdtemp()) / "o.png").write_bytes(buf.getvalue())
    assert np.array_equal(read_image(path).rgb, np.asarray(expected))


def test_exif_orientation_applied_and_reset(tmp_path):
    exif = PILImage.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to view
    exif[0x010F] = "SkinDeepCam"  # Make
    PILImage.fromarray(pattern()).save(tmp_path / "o.jpg", exif=exif.tobytes(), quality=95)
    img = read_image(tmp_path / "o.jpg")
    assert img.rgb.shape == (60, 40, 3)  # turned upright
    write_image(tmp_path / "out.jpg", img.rgb, like=img)
    back = PILImage.open(tmp_path / "out.jpg")
    assert back.size == (40, 60)
    assert back.getexif().get(0x0112) == 1 and back.getexif().get(0x010F) == "SkinDeepCam"


def test_jpeg_keeps_icc_and_quality(tmp_path):
    rgb = pattern(64, 64)
    PILImage.fromarray(rgb).save(tmp_path / "a.jpg", quality=70, icc_profile=srgb_icc())
    img = read_image(tmp_path / "a.jpg")
    write_image(tmp_path / "b.jpg", img.rgb, like=img)
    a, b = PILImage.open(tmp_path / "a.jpg"), PILImage.open(tmp_path / "b.jpg")
    assert b.info.get("icc_profile") == srgb_icc()
    assert a.quantization == b.quantization  # same quality tables as the input


def test_png_alpha_kept_and_untouched_pixels_exact(tmp_path):
    rgba = np.dstack([pattern(), np.linspace(0, 255, 60, dtype=np.uint8)[None].repeat(40, 0)])
    PILImage.fromarray(rgba, "RGBA").save(tmp_path / "a.png", icc_profile=srgb_icc())
    img = read_image(tmp_path / "a.png")
    assert img.alpha is not None and np.array_equal(img.alpha, rgba[..., 3])
    out = changed(img.rgb)
    write_image(tmp_path / "b.png", out, like=img)
    back = PILImage.open(tmp_path / "b.png")
    assert back.mode == "RGBA" and back.info.get("icc_profile") == srgb_icc()
    assert np.array_equal(np.asarray(back)[..., :3], out) and np.array_equal(np.asarray(back)[..., 3], rgba[..., 3])


def test_greyscale_round_trip(tmp_path):
    grey = pattern()[..., 0]
    PILImage.fromarray(grey, "L").save(tmp_path / "g.png")
    img = read_image(tmp_path / "g.png")
    assert img.rgb.shape == (40, 60, 3) and np.array_equal(img.rgb[..., 1], grey)
    write_image(tmp_path / "o.png", changed(img.rgb), like=img)
    back = PILImage.open(tmp_path / "o.png")
    assert back.mode == "L"
    assert np.array_equal(np.asarray(back)[20:], grey[20:])


def test_16bit_rgb_keeps_depth_and_untouched_values(tmp_path):
    import cv2

    rng = np.random.default_rng(0)
    deep = rng.integers(0, 65535, (30, 50, 3), dtype=np.uint16)
    cv2.imwrite(str(tmp_path / "d.png"), deep[..., ::-1])
    img = read_image(tmp_path / "d.png")
    assert img.bit_depth == 16 and img.rgb.dtype == np.uint8
    assert np.abs(img.rgb.astype(int) - deep.astype(int) // 257).max() <= 1
    write_image(tmp_path / "o.png", changed(img.rgb), like=img)
    back = cv2.imread(str(tmp_path / "o.png"), cv2.IMREAD_UNCHANGED)[..., ::-1]
    assert back.dtype == np.uint16
    assert np.array_equal(back[15:], deep[15:])  # untouched rows: the exact 16-bit values
    assert tuple(back[7, 7]) == (200 * 257, 10 * 257, 10 * 257)


def test_16bit_grey(tmp_path):
    deep = (np.arange(30 * 50, dtype=np.uint32).reshape(30, 50) * 40).astype(np.uint16)
    PILImage.fromarray(deep).save(tmp_path / "g16.png")
    img = read_image(tmp_path / "g16.png")
    assert img.bit_depth == 16
    write_image(tmp_path / "o.png", img.rgb, like=img)
    import cv2

    back = cv2.imread(str(tmp_path / "o.png"), cv2.IMREAD_UNCHANGED)
    assert back.dtype == np.uint16 and back.ndim == 2 and np.array_equal(back, deep)


def test_cmyk_jpeg(tmp_path):
    cmyk = PILImage.fromarray(pattern()).convert("CMYK")
    cmyk.save(tmp_path / "c.jpg", quality=95)
    img = read_image(tmp_path / "c.jpg")
    assert img.mode == "CMYK" and img.rgb.shape == (40, 60, 3)
    write_image(tmp_path / "o.jpg", changed(img.rgb), like=img)
    back = PILImage.open(tmp_path / "o.jpg")
    assert back.mode == "CMYK"
    diff = np.abs(np.asarray(back.convert("RGB")).astype(int)[20:] - img.rgb.astype(int)[20:])
    assert diff.mean() < 4  # JPEG re-encoding only


def test_cmyk_tiff_untouched_exact(tmp_path):
    cmyk = np.random.default_rng(1).integers(0, 255, (30, 40, 4), dtype=np.uint8)
    PILImage.fromarray(cmyk, "CMYK").save(tmp_path / "c.tif")
    img = read_image(tmp_path / "c.tif")
    write_image(tmp_path / "o.tif", changed(img.rgb), like=img)
    back = np.asarray(PILImage.open(tmp_path / "o.tif"))
    assert back.shape == (30, 40, 4) and np.array_equal(back[15:], cmyk[15:])


def test_palette_png_and_gif(tmp_path):
    pal = PILImage.fromarray(pattern()).quantize(16)
    pal.save(tmp_path / "p.png")
    img = read_image(tmp_path / "p.png")
    assert np.array_equal(img.rgb, np.asarray(pal.convert("RGB")))
    write_image(tmp_path / "o.png", img.rgb, like=img)
    assert np.array_equal(np.asarray(PILImage.open(tmp_path / "o.png").convert("RGB")), img.rgb)
    pal.save(tmp_path / "p.gif")
    gif = read_image(tmp_path / "p.gif")
    write_image(tmp_path / "o.gif", gif.rgb, like=gif)
    assert np.array_equal(np.asarray(PILImage.open(tmp_path / "o.gif").convert("RGB")), gif.rgb)


def test_format_override_and_alpha_dropped_for_jpeg(tmp_path):
    rgba = np.dstack([pattern(), np.full((40, 60), 128, np.uint8)])
    PILImage.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    img = read_image(tmp_path / "a.png")
    write_image(tmp_path / "a.out", img.rgb, like=img, format="jpg")
    assert PILImage.open(tmp_path / "a.out").format == "JPEG"
    with pytest.raises(InputError, match="unsupported output format"):
        write_image(tmp_path / "x", img.rgb, format="xyz")
    data = encode_image(img.rgb, img, format="PNG")
    assert PILImage.open(_io.BytesIO(data)).mode == "RGBA"


def test_unreadable_and_missing_files_name_the_path(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"garbage")
    with pytest.raises(InputError, match="bad.jpg: not an image file"):
        read_image(bad)
    with pytest.raises(InputError, match="missing.png: no such file"):
        read_image(tmp_path / "missing.png")


def _read_error(path) -> str:
    with pytest.raises(InputError) as caught:
        read_image(path)
    return str(caught.value)


def test_read_errors_are_one_plain_sentence(tmp_path, bomb_png):
    """Empty, text, damaged and "decompression bomb" files: the file, the problem, the fix; no Pillow
    internals (object addresses, exception class names)."""
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "notes.jpg").write_text("a text file with an image name\n")
    (tmp_path / "bomb.png").write_bytes(bomb_png)
    whole = _io.BytesIO()
    PILImage.fromarray(pattern(64, 64)).save(whole, format="JPEG")
    (tmp_path / "cut.jpg").write_bytes(whole.getvalue()[:400])
    messages = {name: _read_error(tmp_path / name) for name in ("empty.jpg", "notes.jpg", "bomb.png", "cut.jpg")}
    assert messages["empty.jpg"] == (f"{tmp_path / 'empty.jpg'}: the file is empty (0 bytes), not an image; "
                                     "copy it again from where it came from")
    assert messages["notes.jpg"] == (f"{tmp_path / 'notes.jpg'}: not an image file (JPEG, PNG, WebP, TIFF, BMP or "
                                     "GIF data was expected); check that this is the photo you meant")
    assert messages["bomb.png"] == (f"{tmp_path / 'bomb.png'}: the image is 3,600 megapixels, over the "
                                    "179-megapixel limit skindeep decodes (a guard against decompression "
                                    "bombs); shrink it first")
    assert messages["cut.jpg"].startswith(f"{tmp_path / 'cut.jpg'}: the image is damaged or cut short (")
    for message in messages.values():
        assert "BytesIO" not in message and "0x" not in message and "Error" not in message, message
        assert "\n" not in message and message.count(str(tmp_path)) == 1


def test_write_errors_name_the_target_not_the_temporary_file(tmp_path):
    from skindeep.errors import OutputError

    (tmp_path / "x.png").mkdir()  # a folder where the photo should go
    with pytest.raises(OutputError) as caught:
        write_image(tmp_path / "x.png", pattern())
    assert str(caught.value) == (f"{tmp_path / 'x.png'}: cannot write the file: a folder of that name is in the "
                                 "way; rename it or choose another output name")
    assert [p.name for p in tmp_path.iterdir()] == ["x.png"]  # no temporary file left
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(OutputError, match="file/x.png: cannot write the file: a file is in the way of its folder"):
        write_image(tmp_path / "file" / "x.png", pattern())


def test_read_only_folder_names_the_target(tmp_path):
    from skindeep.errors import OutputError

    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("this user (root with CAP_DAC_OVERRIDE) may write into read-only folders")
        with pytest.raises(OutputError) as caught:
            write_image(folder / "x.jpg", pattern())
    finally:
        folder.chmod(0o755)
    assert str(caught.value) == (f"{folder / 'x.jpg'}: cannot write the file: permission denied; make the "
                                 "folder writable or choose another output folder")


def test_atomic_write_leaves_no_temp_files(tmp_path):
    write_image(tmp_path / "x.png", pattern())
    assert [p.name for p in tmp_path.iterdir()] == ["x.png"]


def test_read_mask_alpha_and_resize(tmp_path):
    alpha = np.zeros((20, 30), np.uint8)
    alpha[5:10, 5:10] = 255
    PILImage.fromarray(np.dstack([np.zeros((20, 30, 3), np.uint8), alpha]), "RGBA").save(tmp_path / "m.png")
    assert np.array_equal(read_mask(tmp_path / "m.png"), alpha)
    assert read_mask(tmp_path / "m.png", size=(60, 40)).shape == (40, 60)
    with pytest.raises(InputError, match="mask is 30x20"):
        read_mask(tmp_path / "m.png", size=(100, 20))


def test_written_files_get_the_usual_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        path = write_image(tmp_path / "x.png", pattern())
        assert path.stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600
        os.umask(0o027)
        assert write_image(tmp_path / "y.jpg", pattern()).stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(old)


def test_decode_image_from_memory_matches_read_image(tmp_path):
    exif = PILImage.Exif()
    exif[0x0112] = 6
    rgba = np.dstack([pattern(), np.linspace(0, 255, 60, dtype=np.uint8)[None].repeat(40, 0)])
    PILImage.fromarray(rgba, "RGBA").save(tmp_path / "a.png", exif=exif.tobytes(), icc_profile=srgb_icc())
    data = (tmp_path / "a.png").read_bytes()
    from_file, from_memory = read_image(tmp_path / "a.png"), decode_image(data, "upload.png")
    assert from_memory.rgb.shape == (60, 40, 3)  # orientation applied
    assert np.array_equal(from_memory.rgb, from_file.rgb) and np.array_equal(from_memory.alpha, from_file.alpha)
    assert from_memory.icc_profile == srgb_icc() and from_memory.path is None
    assert from_file.path == tmp_path / "a.png"
    # an already opened Pillow image gives the same result
    with PILImage.open(_io.BytesIO(data)) as opened:
        opened.load()
        assert np.array_equal(decode_image(data, "x", opened=opened).rgb, from_file.rgb)


def test_decode_image_16bit_from_memory_and_errors_name_the_upload():
    import cv2

    deep = np.random.default_rng(2).integers(0, 65535, (20, 30, 3), dtype=np.uint16)
    data = cv2.imencode(".png", deep[..., ::-1])[1].tobytes()
    img = decode_image(data, "deep.png")
    assert img.bit_depth == 16 and np.array_equal(img.raw, deep)
    with pytest.raises(InputError, match="upload 'x.jpg': not an image file"):
        decode_image(b"not an image", "upload 'x.jpg'")
