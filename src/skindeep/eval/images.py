"""Small picture helpers for the report: mask overlays, labelled tiles, grids, size-capped PNGs and JPEGs."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

MAX_PNG_BYTES = 1_400_000  # every committed PNG stays under 1.5 MB
SHEET_JPEG_QUALITY = 75  # photo sheets: a fifth of the PNG bytes, no visible loss at this size (the tree stays < 25 MB)


def overlay(rgb: np.ndarray, mask: np.ndarray, boxes: np.ndarray | None = None) -> np.ndarray:
    """``rgb`` dimmed, with ``mask`` (``(H, W)`` uint8 0..255 or bool) in red and box outlines in green."""
    m = np.asarray(mask, np.float32)
    m = m / 255.0 if m.max() > 1.0 else m
    out = rgb.astype(np.float32) * 0.6
    out = out * (1 - m[..., None]) + np.array([255.0, 40.0, 40.0]) * m[..., None]
    out = out.clip(0, 255).astype(np.uint8)
    if boxes is not None and boxes.any():
        contours, _ = cv2.findContours(boxes.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(out, contours, -1, (40, 220, 40), max(1, rgb.shape[0] // 300))
    return out


def tile(rgb: np.ndarray, height: int, label: str | None = None) -> np.ndarray:
    """``rgb`` resized to ``height`` rows (aspect kept), with an optional label in the top-left corner."""
    h, w = rgb.shape[:2]
    width = max(1, round(w * height / h))
    out = cv2.resize(np.ascontiguousarray(rgb), (width, height), interpolation=cv2.INTER_AREA)
    if label:
        (w1, _), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 1.0, 1)
        scale = min(max(0.35, height / 500), (width - 8) / max(w1, 1))  # shrink to fit narrow tiles
        (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        cv2.rectangle(out, (0, 0), (tw + 6, th + 8), (0, 0, 0), -1)
        cv2.putText(out, label, (3, th + 4), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def row(images: list[np.ndarray], height: int, labels: list[str] | None = None, gap: int = 4,
        caption: str | None = None) -> np.ndarray:
    """Tiles side by side with a white gap; ``labels`` (same length) are drawn on each tile and an
    optional ``caption`` in a white strip above the row (readable however narrow the tiles are)."""
    labels = labels or [None] * len(images)
    parts: list[np.ndarray] = []
    for img, label in zip(images, labels, strict=True):
        if parts:
            parts.append(np.full((height, gap, 3), 255, np.uint8))
        parts.append(tile(img, height, label))
    out = np.concatenate(parts, 1)
    if caption:
        (tw, _), _ = cv2.getTextSize(caption, cv2.FONT_HERSHEY_SIMPLEX, 0.45, 1)
        if tw + 6 > out.shape[1]:  # a narrow row: widen it so the caption is not cut
            out = np.pad(out, ((0, 0), (0, tw + 6 - out.shape[1]), (0, 0)), constant_values=255)
        strip = np.full((20, out.shape[1], 3), 255, np.uint8)
        cv2.putText(strip, caption, (3, 15), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
        out = np.concatenate([strip, out], 0)
    return out


def stack(rows: list[np.ndarray], gap: int = 4) -> np.ndarray:
    """Rows one under another, left-aligned and padded with white to the widest."""
    width = max(r.shape[1] for r in rows)
    parts: list[np.ndarray] = []
    for r in rows:
        if parts:
            parts.append(np.full((gap, width, 3), 255, np.uint8))
        parts.append(np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=255))
    return np.concatenate(parts, 0)


def save_png(path: Path, rgb: np.ndarray, max_bytes: int = MAX_PNG_BYTES) -> Path:
    """Write ``rgb`` as PNG no larger than ``max_bytes``: full colour, else 256-colour, else downscaled."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.fromarray(np.ascontiguousarray(rgb))
    while True:
        for candidate in (img, img.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)):
            buf = io.BytesIO()
            candidate.save(buf, format="PNG", optimize=True)
            if buf.tell() <= max_bytes:
                path.write_bytes(buf.getvalue())
                return path
        img = img.resize((max(1, img.width * 3 // 4), max(1, img.height * 3 // 4)), Image.Resampling.LANCZOS)


def save_jpeg(path: Path, rgb: np.ndarray, quality: int = SHEET_JPEG_QUALITY, max_bytes: int = MAX_PNG_BYTES) -> Path:
    """Write ``rgb`` (``(H, W, 3)`` uint8) as a JPEG no larger than ``max_bytes`` (downscaled until it
    fits). Photo sheets are committed: as PNG they were three times larger (docs/training.md, sizes)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.fromarray(np.ascontiguousarray(rgb))
    while True:
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=quality, optimize=True, progressive=True)
        if buf.tell() <= max_bytes:
            path.write_bytes(buf.getvalue())
            return path
        img = img.resize((max(1, img.width * 3 // 4), max(1, img.height * 3 // 4)), Image.Resampling.LANCZOS)
