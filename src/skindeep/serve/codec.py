"""Decode uploaded image bytes and encode results, in memory (nothing touches the disk).

The limits (pixels, decodability) are checked here, on the header, before any pixels are decoded; the
conversion itself is ``skindeep.io``'s, so the server reads and writes photos exactly like
``skindeep remove`` does (EXIF orientation, ICC profile, EXIF, alpha, JPEG quality, greyscale).
"""

from __future__ import annotations

import io
import warnings

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from skindeep import io as skio
from skindeep.errors import InputError


class ApiError(Exception):
    """An error the client can fix; becomes an HTTP response ``{"detail": message}`` with ``status``."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


# Output formats the API can write, by the name a client uses.
FORMATS = {
    "png": ("PNG", "image/png", "png"),
    "jpeg": ("JPEG", "image/jpeg", "jpg"),
    "webp": ("WEBP", "image/webp", "webp"),
}
# Masks may be drawn at a preview resolution: accept them when the aspect ratio matches within this.
_MASK_ASPECT_TOLERANCE = 0.02


def describe(field: str, filename: str | None) -> str:
    """``"image 'photo.jpg'"``: how error messages name an uploaded file."""
    return f"{field} '{filename}'" if filename else field


def open_image(data: bytes, field: str, filename: str | None, max_pixels: int) -> Image.Image:
    """Open and load ``data`` with Pillow (no orientation applied); 413 when over ``max_pixels``, 422
    when it is not a readable image.

    Pillow reads only the header here, so a small file that would decode to a huge image (a
    "decompression bomb") is refused without allocating its pixels.
    """
    name = describe(field, filename)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        # Pillow's own, higher limit fired before ours could: say it in the same words as ours.
        sizes = skio.bomb_pixels(exc)
        size = f"{sizes[0] / 1e6:,.0f} megapixels" if sizes else "too large"
        raise ApiError(413, f"{name} is {size}; the limit is {max_pixels / 1e6:.3g} megapixels") from exc
    except UnidentifiedImageError as exc:
        raise ApiError(
            422, f"{name} could not be decoded: not an image format this server reads ({len(data)} bytes)"
        ) from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise ApiError(422, f"{name} could not be decoded as an image ({len(data)} bytes): {exc}") from exc
    width, height = image.size
    if width * height > max_pixels:
        raise ApiError(
            413,
            f"{name} is {width}x{height} = {width * height / 1e6:.3g} megapixels; "
            f"the limit is {max_pixels / 1e6:.3g} megapixels",
        )
    try:
        image.load()
    except (OSError, ValueError, SyntaxError) as exc:
        raise ApiError(422, f"{name} could not be decoded (damaged or truncated file?): {exc}") from exc
    return image


def decode_image(data: bytes, field: str, filename: str | None, max_pixels: int) -> skio.Image:
    """Decode an uploaded photo: ``skindeep.io.Image`` with ``rgb`` (H, W, 3) uint8 upright, alpha,
    ICC profile, EXIF and the save options needed to write the result back the same way."""
    image = open_image(data, field, filename, max_pixels)
    try:
        return skio.decode_image(data, describe(field, filename), opened=image)
    except InputError as exc:
        raise ApiError(422, str(exc)) from exc


def decode_mask(
    data: bytes, field: str, filename: str | None, shape: tuple[int, int], max_pixels: int
) -> np.ndarray:
    """Decode a user mask to uint8 (H, W) 0..255 matching ``shape`` = (H, W) of the photo.

    White = selected. For an image with transparency the alpha channel is the mask (strokes painted
    on a transparent layer). A mask of another size but the same aspect ratio (drawn on a preview) is
    resized; any other size is an error.
    """
    decoded = decode_image(data, field, filename, max_pixels)
    if decoded.alpha is not None and (decoded.alpha < 255).any():
        mask = decoded.alpha
    else:
        mask = cv2.cvtColor(decoded.rgb, cv2.COLOR_RGB2GRAY)
    height, width = shape
    if mask.shape != (height, width):
        mh, mw = mask.shape
        if abs(mw / mh - width / height) > _MASK_ASPECT_TOLERANCE * (width / height):
            raise ApiError(
                422,
                f"{describe(field, filename)} is {mw}x{mh} but the image is {width}x{height}; "
                "send a mask of the same size (or at least the same aspect ratio)",
            )
        mask = cv2.resize(mask, (width, height), interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(mask, dtype=np.uint8)


def output_format(requested: str | None, source_format: str | None) -> str:
    """The client's ``format`` if given, else the upload's own format when we can write it, else png."""
    if requested:
        return requested
    by_pillow_name = {pillow: key for key, (pillow, _, _) in FORMATS.items()}
    by_pillow_name["MPO"] = "jpeg"  # phone JPEGs with a preview image inside open as MPO
    return by_pillow_name.get(source_format or "", "png")


def encode_image(
    rgb: np.ndarray, like: skio.Image, fmt: str, quality: int | None = None
) -> tuple[bytes, str, str]:
    """Encode the result RGB uint8 (H, W, 3) as ``fmt`` (a key of FORMATS) with ``like``'s metadata and
    alpha; returns (bytes, media type, file extension). PNG is lossless, so the pixels the remover left
    alone come back bit-identical; JPEG without ``quality`` reuses the upload's own quantisation."""
    pillow_name, media_type, ext = FORMATS[fmt]
    return skio.encode_image(rgb, like=like, format=pillow_name, quality=quality), media_type, ext


def encode_png(array: np.ndarray) -> bytes:
    """Lossless PNG of a uint8 mask (H, W) or RGBA layer (H, W, 4)."""
    mode = "L" if array.ndim == 2 else {3: "RGB", 4: "RGBA"}[array.shape[-1]]
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array, dtype=np.uint8), mode).save(
        buffer, format="PNG", compress_level=3
    )
    return buffer.getvalue()


def encode_layer(layer: np.ndarray) -> bytes:
    """PNG of an RGBA ink layer (H, W, 4) uint8 with the colour of fully transparent pixels set to 0.

    Those pixels are invisible either way; zeroing them shrinks a 12 MP layer from a full photo's
    worth of PNG (~20 MB) to roughly the size of the ink.
    """
    clear = layer[..., 3] == 0
    if clear.any():
        layer = layer.copy()
        layer[clear] = 0
    return encode_png(layer)
