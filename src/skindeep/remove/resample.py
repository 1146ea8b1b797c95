"""Resampling helpers shared by the pipeline steps (cv2, numpy in and out)."""

from __future__ import annotations

import cv2
import numpy as np

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive), full-size pixels


def resize(array: np.ndarray, size: tuple[int, int], shrink: bool) -> np.ndarray:
    """cv2.resize to (width, height); area filter when shrinking, bilinear when growing."""
    if (array.shape[1], array.shape[0]) == size:
        return array
    return cv2.resize(array, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def upsample_region(small: np.ndarray, size: tuple[int, int], region: Box) -> np.ndarray:
    """The part ``region`` of ``small`` bilinearly resized to ``size`` (width, height), without resizing
    the rest: same sampling as ``cv2.resize(small, size)[y0:y1, x0:x1]``."""
    hs, ws = small.shape[:2]
    fx, fy = ws / size[0], hs / size[1]
    x0, y0, x1, y1 = region
    matrix = np.float32([[fx, 0, (x0 + 0.5) * fx - 0.5], [0, fy, (y0 + 0.5) * fy - 0.5]])
    return cv2.warpAffine(small, matrix, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)


def merge_boxes(boxes: list[Box]) -> list[Box]:
    """Merge overlapping boxes until none overlap."""
    boxes = sorted(boxes)
    merged = True
    while merged:
        merged = False
        out: list[Box] = []
        for box in boxes:
            for i, other in enumerate(out):
                if box[0] < other[2] and other[0] < box[2] and box[1] < other[3] and other[1] < box[3]:
                    out[i] = (min(box[0], other[0]), min(box[1], other[1]), max(box[2], other[2]),
                              max(box[3], other[3]))
                    merged = True
                    break
            else:
                out.append(box)
        boxes = out
    return boxes
