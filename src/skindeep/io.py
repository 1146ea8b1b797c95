"""Read and write photos without losing what the user cares about.

``read_image`` gives the pixels as RGB ``uint8`` ``(H, W, 3)`` (EXIF orientation applied) plus
everything needed to write the result back the way it came: alpha, ICC profile, EXIF (orientation reset
to 1), format, JPEG quantisation tables, and for greyscale, CMYK, palette and 16-bit images the original
pixel values. ``write_image`` uses those original values wherever the RGB pixel is unchanged, so a pixel
the remover did not touch comes back bit-identical even in a 16-bit or CMYK file (for lossless formats;
JPEG re-encodes every pixel, but with the input's own quantisation tables, i.e. its quality).

Writes are atomic: a temporary file in the destination folder, then ``os.replace``.
"""

from __future__ import annotations

import errno
import io as _io
import os
import re
import struct
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from PIL import JpegImagePlugin, UnidentifiedImageError

from skindeep.errors import InputError, OutputError

ORIENTATION_TAG = 0x0112
# File-name extension -> Pillow format name, for writing.
EXT_FORMATS = {
    ".jpg": "JPEG", ".jpeg": "JPEG", ".jpe": "JPEG", ".png": "PNG", ".webp": "WEBP", ".tif": "TIFF",
    ".tiff": "TIFF", ".bmp": "BMP", ".gif": "GIF",
}
FORMAT_EXTS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "TIFF": ".tif", "BMP": ".bmp", "GIF": ".gif"}
IMAGE_EXTS = frozenset(EXT_FORMATS)
DEFAULT_QUALITY = 95


@dataclass
class Image:
    """A photo as read from disk.

    ``rgb``: (H, W, 3) uint8, EXIF orientation applied. ``alpha``: (H, W) uint8 or None.
    ``raw``: the original pixel values (after orientation) where they are not plain 8-bit RGB(A):
    (H, W) uint8 for greyscale, (H, W, 4) uint8 for CMYK, (H, W[, C]) uint16 for 16-bit images
    (C = 3 or 4, RGB[A] order); None otherwise.
    """

    rgb: np.ndarray
    alpha: np.ndarray | None = None
    mode: str = "RGB"
    format: str | None = None
    exif: bytes | None = None
    icc_profile: bytes | None = None
    bit_depth: int = 8
    path: Path | None = None
    raw: np.ndarray | None = None
    info: dict = field(default_factory=dict)  # format-specific save options (qtables, dpi, ...)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return self.rgb.shape[1], self.rgb.shape[0]


def orient(array: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1..8) to an (H, W[, C]) array; same mapping as PIL.ImageOps.exif_transpose."""
    if orientation == 2:
        array = array[:, ::-1]
    elif orientation == 3:
        array = array[::-1, ::-1]
    elif orientation == 4:
        array = array[::-1]
    elif orientation == 5:
        array = array.swapaxes(0, 1)
    elif orientation == 6:
        array = np.rot90(array, 3)
    elif orientation == 7:
        array = np.rot90(array, 2).swapaxes(0, 1)
    elif orientation == 8:
        array = np.rot90(array, 1)
    return np.ascontiguousarray(array)


def _png_bit_depth(head: bytes) -> int:
    if head[:8] == b"\x89PNG\r\n\x1a\n" and len(head) >= 25:
        return head[24]
    return 8


def _read_16bit(data: bytes) -> np.ndarray | None:
    """16-bit pixels via OpenCV (Pillow reads 16-bit RGB as 8-bit), RGB[A] order; None if not 16-bit."""
    import cv2

    pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if pixels is None or pixels.dtype != np.uint16:
        return None
    if pixels.ndim == 3 and pixels.shape[2] == 3:
        pixels = pixels[:, :, ::-1]
    elif pixels.ndim == 3 and pixels.shape[2] == 4:
        pixels = pixels[:, :, [2, 1, 0, 3]]
    return np.ascontiguousarray(pixels)


def read_image(path: str | os.PathLike) -> Image:
    """Read a photo; raise InputError naming the file if it is missing or not a readable image."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc})") from exc
    image = decode_image(data, str(path))
    image.path = path
    return image


def decode_image(data: bytes, name: str = "image", opened: PILImage.Image | None = None) -> Image:
    """Decode an encoded photo held in memory exactly like ``read_image`` reads a file.

    data: the file's bytes (JPEG, PNG, WebP, TIFF, BMP, GIF...). name: how error messages name it.
    opened: optional, ``data`` already opened and loaded with Pillow (saves decoding it twice).
    Returns an ``Image`` (``path`` None): EXIF orientation applied, ICC/EXIF/alpha/16-bit/CMYK kept.
    Raises InputError naming ``name`` when ``data`` is not a readable image.
    """
    try:
        if opened is not None:
            return _from_pil(opened, data)
        with PILImage.open(_io.BytesIO(data)) as img:
            img.load()
            return _from_pil(img, data)
    except InputError:
        raise
    except (PILImage.DecompressionBombError, OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"{name}: {unreadable_reason(data, exc)}") from exc


READABLE_FORMATS = "JPEG, PNG, WebP, TIFF, BMP or GIF"


def bomb_pixels(exc: PILImage.DecompressionBombError) -> tuple[int, int] | None:
    """(pixels in the image, Pillow's limit) from a DecompressionBombError's message; None if it changed.

    Pillow refuses the image in ``Image.open`` and never hands back its size, only this sentence:
    "Image size (3600000000 pixels) exceeds limit of 178956970 pixels, could be decompression bomb ...".
    """
    numbers = re.findall(r"\((\d+) pixels\).*?(\d+) pixels", str(exc))
    return (int(numbers[0][0]), int(numbers[0][1])) if numbers else None


def unreadable_reason(data: bytes, exc: Exception) -> str:
    """Why ``data`` could not be decoded, in words a user can act on (no Pillow internals): the part of
    the sentence after the file's name."""
    if not data:
        return "the file is empty (0 bytes), not an image; copy it again from where it came from"
    if isinstance(exc, PILImage.DecompressionBombError):
        sizes = bomb_pixels(exc)
        what = f"{sizes[0] / 1e6:,.0f} megapixels, over the {sizes[1] / 1e6:,.0f}-megapixel" if sizes else "over the"
        return (f"the image is {what} limit skindeep decodes (a guard against decompression bombs); "
                "shrink it first")
    if isinstance(exc, UnidentifiedImageError):
        return f"not an image file ({READABLE_FORMATS} data was expected); check that this is the photo you meant"
    return f"the image is damaged or cut short ({exc}); open it in an image viewer, or copy it again"


def _from_pil(img: PILImage.Image, data: bytes | None) -> Image:
    """An ``Image`` from an opened, loaded Pillow image; ``data`` (its encoded bytes) gives 16-bit pixels."""
    exif = img.getexif()
    orientation = int(exif.get(ORIENTATION_TAG, 1) or 1)
    if ORIENTATION_TAG in exif:
        exif[ORIENTATION_TAG] = 1  # pixels are turned upright below
    exif_bytes = exif.tobytes() if len(exif) else None
    info: dict = {}
    if img.format == "JPEG" and getattr(img, "quantization", None):
        info["qtables"] = img.quantization
        info["subsampling"] = JpegImagePlugin.get_sampling(img)
    if "dpi" in img.info:
        info["dpi"] = img.info["dpi"]
    if img.format == "TIFF" and img.info.get("compression") not in (None, "raw"):
        info["compression"] = img.info["compression"]
    if img.format == "WEBP" and img.info.get("lossless"):
        info["lossless"] = True
    common = {"format": img.format, "exif": exif_bytes, "icc_profile": img.info.get("icc_profile"),
              "info": info, "mode": img.mode}

    raw16 = None
    if data is not None and (img.mode.startswith("I") or img.format in ("PNG", "TIFF")):
        if img.mode.startswith("I;16") or _png_bit_depth(data[:32]) == 16 or img.format == "TIFF":
            raw16 = _read_16bit(data)
    if raw16 is not None:
        raw16 = orient(raw16, orientation)
        colour = raw16[..., :3] if raw16.ndim == 3 else np.repeat(raw16[..., None], 3, axis=2)
        rgb = _to_uint8(colour)
        alpha = _to_uint8(raw16[..., 3]) if raw16.ndim == 3 and raw16.shape[2] == 4 else None
        return Image(rgb=rgb, alpha=alpha, bit_depth=16, raw=raw16, **common)

    raw = None
    alpha = None
    if img.mode == "CMYK":
        raw = orient(np.asarray(img), orientation)
        rgb = orient(np.asarray(img.convert("RGB")), orientation)
    elif img.mode in ("L", "LA", "1"):
        grey = np.asarray(img.convert("L"))
        raw = orient(grey, orientation)
        rgb = np.repeat(raw[..., None], 3, axis=2)
        if img.mode == "LA":
            alpha = orient(np.asarray(img.getchannel("A")), orientation)
    elif img.mode.startswith("I") or img.mode == "F":
        # 32-bit integer / float greyscale: scale to 8 bits for the model; written back as 8-bit grey.
        grey = np.asarray(img, dtype=np.float64)
        top = 65535.0 if grey.max() > 255 else 255.0
        raw = orient(np.clip(grey / top * 255.0 + 0.5, 0, 255).astype(np.uint8), orientation)
        rgb = np.repeat(raw[..., None], 3, axis=2)
        common["mode"] = "L"
    else:
        has_alpha = img.mode in ("RGBA", "LA", "PA", "RGBa") or "transparency" in img.info
        if img.mode == "P":
            common["info"]["palette_image"] = img.copy()
        rgba = np.asarray(img.convert("RGBA" if has_alpha else "RGB"))
        rgba = orient(rgba, orientation)
        rgb = np.ascontiguousarray(rgba[..., :3])
        alpha = np.ascontiguousarray(rgba[..., 3]) if has_alpha else None
    return Image(rgb=np.ascontiguousarray(rgb), alpha=alpha, raw=raw, **common)


def _to_uint8(values16: np.ndarray) -> np.ndarray:
    return ((values16.astype(np.uint32) + 128) // 257).astype(np.uint8)


def format_for(path: str | os.PathLike, like: Image | None = None, format: str | None = None) -> str:
    """The Pillow format name to write ``path`` with: explicit ``format``, else the extension, else ``like``."""
    if format:
        name = format.upper()
        name = {"JPG": "JPEG", "TIF": "TIFF"}.get(name, name)
        if name not in FORMAT_EXTS:
            raise InputError(f"{path}: unsupported output format {format!r} (use one of {sorted(FORMAT_EXTS)})")
        return name
    ext = Path(path).suffix.lower()
    if ext in EXT_FORMATS:
        return EXT_FORMATS[ext]
    if like is not None and like.format in FORMAT_EXTS:
        return like.format
    return "PNG"


def _keep_untouched(new: np.ndarray, old: np.ndarray | None, changed: np.ndarray | None) -> np.ndarray:
    """Use ``old`` values wherever the RGB pixel was not ``changed`` (keeps 16-bit / CMYK / grey exact)."""
    if old is None or changed is None or old.shape[:2] != new.shape[:2]:
        return new
    if old.ndim == 3 and new.ndim == 3 and old.shape[2] != new.shape[2]:
        old = old[..., : new.shape[2]]
    if old.ndim != new.ndim:
        return new
    where = changed if new.ndim == 2 else changed[..., None]
    return np.where(where, new, old).astype(new.dtype)


def _grey(rgb: np.ndarray) -> np.ndarray:
    """ITU-R 601 luma like Pillow's convert('L'); exact for grey input (R == G == B)."""
    rgb = rgb.astype(np.uint32)
    return ((rgb[..., 0] * 19595 + rgb[..., 1] * 38470 + rgb[..., 2] * 7471 + 0x8000) >> 16).astype(np.uint8)


def encode_image(
    rgb: np.ndarray,
    like: Image | None = None,
    format: str = "PNG",
    quality: int | None = None,
    alpha: np.ndarray | None = None,
) -> bytes:
    """Encode (H, W, 3) uint8 ``rgb`` as ``format`` bytes, keeping ``like``'s metadata, alpha and bit depth.

    ``alpha`` (H, W) uint8 overrides ``like.alpha``. Untouched pixels (equal to ``like.rgb``) keep their
    original greyscale / CMYK / 16-bit values.
    """
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rgb must be (H, W, 3) uint8, got shape {rgb.shape}")
    same_size = like is not None and like.rgb.shape == rgb.shape
    changed = np.any(rgb != like.rgb, axis=2) if same_size else None
    if alpha is None and same_size:
        alpha = like.alpha
    src_mode = like.mode if like is not None else "RGB"
    grey = src_mode in ("L", "LA", "1", "I", "I;16", "I;16B", "I;16L", "F") or (
        like is not None and like.raw is not None and like.raw.ndim == 2
    )
    if format in ("JPEG", "BMP") or (format == "GIF" and alpha is not None and src_mode != "P"):
        alpha = None if format != "GIF" else alpha

    if like is not None and like.bit_depth == 16 and format in ("PNG", "TIFF"):
        return _encode_16bit(rgb, like, changed, alpha, grey, format)

    if grey:
        pixels = _keep_untouched(_grey(rgb), like.raw if like is not None and like.raw.ndim == 2 else None,
                                 changed)
        pil = PILImage.fromarray(pixels, "L")
        if alpha is not None:
            pil.putalpha(PILImage.fromarray(alpha, "L"))
    elif src_mode == "CMYK" and format in ("JPEG", "TIFF"):
        cmyk = np.asarray(PILImage.fromarray(rgb, "RGB").convert("CMYK"))
        pil = PILImage.fromarray(_keep_untouched(cmyk, like.raw, changed), "CMYK")
    else:
        pil = PILImage.fromarray(rgb, "RGB")
        if alpha is not None:
            pil.putalpha(PILImage.fromarray(np.ascontiguousarray(alpha, dtype=np.uint8), "L"))
        if format == "GIF" and like is not None and "palette_image" in like.info:
            # Map back onto the input's own palette: untouched colours are in it exactly.
            pil = pil.convert("RGB").quantize(palette=like.info["palette_image"], dither=PILImage.Dither.NONE)

    options: dict = {}
    if like is not None:
        icc = like.icc_profile
        cmyk_icc = src_mode == "CMYK" and pil.mode != "CMYK"
        if icc and not cmyk_icc:  # a CMYK profile would be wrong for RGB pixels
            options["icc_profile"] = icc
        if like.exif and format in ("JPEG", "PNG", "WEBP", "TIFF"):
            options["exif"] = like.exif
        if "dpi" in like.info and format in ("JPEG", "PNG", "TIFF"):
            options["dpi"] = like.info["dpi"]
    if format == "JPEG":
        if quality is None and like is not None and "qtables" in like.info:
            options["qtables"] = like.info["qtables"]
            options["subsampling"] = like.info["subsampling"]
        else:
            options["quality"] = quality or DEFAULT_QUALITY
    elif format == "WEBP":
        if like is not None and like.info.get("lossless") and quality is None:
            options["lossless"] = True
        else:
            options["quality"] = quality or DEFAULT_QUALITY
    elif format == "TIFF" and like is not None and "compression" in like.info:
        options["compression"] = like.info["compression"]
    buffer = _io.BytesIO()
    try:
        pil.save(buffer, format=format, **options)
    except (OSError, ValueError, KeyError):
        # Some metadata does not fit some format (e.g. odd qtables); the pixels matter most.
        buffer = _io.BytesIO()
        options = {k: v for k, v in options.items() if k in ("icc_profile", "quality", "lossless")}
        if format == "JPEG" and "quality" not in options:
            options["quality"] = DEFAULT_QUALITY
        pil.save(buffer, format=format, **options)
    return buffer.getvalue()


def _encode_16bit(
    rgb: np.ndarray, like: Image, changed: np.ndarray | None, alpha: np.ndarray | None, grey: bool, format: str
) -> bytes:
    """16-bit PNG/TIFF through OpenCV (Pillow cannot write 16-bit RGB); ICC re-inserted for PNG."""
    import cv2

    raw = like.raw
    if grey:
        new = _grey(rgb).astype(np.uint16) * 257
    else:
        new = rgb.astype(np.uint16) * 257
    old_colour = None
    if raw is not None:
        old_colour = raw[..., :3] if raw.ndim == 3 else raw
    pixels = _keep_untouched(new, old_colour, changed)
    if alpha is not None:
        if raw is not None and raw.ndim == 3 and raw.shape[2] == 4 and changed is not None:
            alpha16 = raw[..., 3]
        else:
            alpha16 = alpha.astype(np.uint16) * 257
        if pixels.ndim == 2:
            pixels = np.stack([pixels, pixels, pixels], axis=2)
        pixels = np.concatenate([pixels, alpha16[..., None]], axis=2)
    if pixels.ndim == 3:
        order = [2, 1, 0, 3][: pixels.shape[2]]
        pixels = pixels[..., order]
    ok, encoded = cv2.imencode(".png" if format == "PNG" else ".tif", np.ascontiguousarray(pixels))
    if not ok:
        raise OSError("OpenCV could not encode a 16-bit image")
    data = encoded.tobytes()
    if format == "PNG" and like.icc_profile:
        data = _png_insert_chunk(data, b"iCCP", b"icc\x00\x00" + zlib.compress(like.icc_profile))
    return data


def _png_insert_chunk(png: bytes, kind: bytes, payload: bytes) -> bytes:
    """Insert a chunk right after IHDR (8-byte signature + 25-byte IHDR chunk)."""
    chunk = struct.pack(">I", len(payload)) + kind + payload
    chunk += struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
    return png[:33] + chunk + png[33:]


def _umask() -> int:
    """The process umask. Read from /proc on Linux: setting it to read it back (os.umask) would race
    with files other threads (e.g. the server's) create meanwhile."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and os.replace (never half-written).

    Raises OutputError naming ``path`` (not the temporary file) when the folder cannot take it.
    """
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a photo should get the usual permissions
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            # The OS names the hidden temporary file; the user only knows the file they asked for.
            raise OutputError(f"{path}: cannot write the file: {unwritable_reason(exc)}") from exc
        raise


_WRITE_FIXES = {
    errno.EACCES: "permission denied; make the folder writable or choose another output folder",
    errno.EPERM: "permission denied; make the folder writable or choose another output folder",
    errno.EROFS: "the file system is read-only; choose another output folder",
    errno.ENOSPC: "the disk is full; free some space or choose another output folder",
    errno.EDQUOT: "the disk quota is used up; free some space or choose another output folder",
    errno.EISDIR: "a folder of that name is in the way; rename it or choose another output name",
    errno.ENOTDIR: "a file is in the way of its folder; rename it or choose another output folder",
    errno.EEXIST: "a file is in the way of its folder; rename it or choose another output folder",  # mkdir
}


WRITE_ERRNOS = frozenset(_WRITE_FIXES)


def unwritable_reason(exc: OSError) -> str:
    """Why a write failed and what to do, without the OS's names for temporary files."""
    return _WRITE_FIXES.get(exc.errno, (exc.strerror or type(exc).__name__).lower())


def write_image(
    path: str | os.PathLike,
    rgb: np.ndarray,
    like: Image | None = None,
    format: str | None = None,
    quality: int | None = None,
    alpha: np.ndarray | None = None,
) -> Path:
    """Write (H, W, 3) uint8 ``rgb`` to ``path`` atomically, keeping ``like``'s ICC/EXIF/alpha/depth/quality.

    ``format``: a Pillow format name or extension ("jpg", "PNG"...); default from ``path``'s extension,
    else ``like.format``. ``quality``: JPEG/WebP quality; default: the input's own JPEG tables, else 95.
    """
    fmt = format_for(path, like, format)
    write_bytes_atomic(path, encode_image(rgb, like, fmt, quality, alpha))
    return Path(path)


def write_png(path: str | os.PathLike, array: np.ndarray) -> Path:
    """Write a (H, W) L, (H, W, 3) RGB or (H, W, 4) RGBA uint8 array as PNG, atomically."""
    mode = {2: "L"}.get(array.ndim) or {3: "RGB", 4: "RGBA"}[array.shape[2]]
    buffer = _io.BytesIO()
    PILImage.fromarray(np.ascontiguousarray(array, dtype=np.uint8), mode).save(buffer, format="PNG")
    write_bytes_atomic(path, buffer.getvalue())
    return Path(path)


def read_mask(path: str | os.PathLike, size: tuple[int, int] | None = None) -> np.ndarray:
    """Read a user mask as (H, W) uint8 0..255 (white = selected), EXIF orientation applied.

    ``size`` (width, height): the photo's size; a mask of another size is resized to it (nearest) when
    the aspect ratio matches within 1 %, else InputError. Alpha masks (transparent PNGs) use the alpha.
    """
    image = read_image(path)
    if image.alpha is not None and image.alpha.min() < 255:
        mask = image.alpha
    else:
        mask = _grey(image.rgb)
    if size is not None and (mask.shape[1], mask.shape[0]) != tuple(size):
        w, h = size
        if abs(mask.shape[1] / mask.shape[0] - w / h) > 0.01 * (w / h):
            raise InputError(f"{path}: mask is {mask.shape[1]}x{mask.shape[0]}, the photo is {w}x{h}")
        import cv2

        mask = cv2.resize(mask, (w, h), interpolation=cv2.INTER_NEAREST)
    return np.ascontiguousarray(mask)


def is_image_path(path: str | os.PathLike) -> bool:
    """True if ``path`` has an image extension skindeep reads."""
    return Path(path).suffix.lower() in IMAGE_EXTS
