"""One camera pipeline for both images of a pair, so they differ only where the ink is.

Order: resolution change (down, then back up) and defocus, applied to the clean skin and the inked
skin alike -> the difference is confined to the skin mask -> shared sensor noise (same noise field added
to both) -> 8-bit -> JPEG. JPEG works on 8x8 blocks, so compressing the tattooed image would also
change skin pixels next to the ink. We therefore compress both, and the tattooed image takes its
JPEG pixels only where ink > 0; everywhere else it IS the compressed clean image. The ink alpha is
raised to at least 1 wherever the pair differs before JPEG, so "tattooed == clean wherever ink == 0"
holds exactly. (Cost: no JPEG ringing outside the ink outline, which is below a grey level or two.)
"""

from __future__ import annotations

import cv2
import numpy as np

from skindeep.synth.util import gauss


def sample_camera(rng: np.random.Generator, noise_sigma: tuple[float, float], p_jpeg: float,
                  jpeg_quality: tuple[int, int]) -> dict:
    return dict(
        resample=float(rng.uniform(1.0, 2.5)) if rng.random() < 0.4 else 1.0,
        defocus=float(rng.uniform(0.4, 1.3)) if rng.random() < 0.5 else 0.0,
        noise=float(rng.uniform(*noise_sigma)),
        jpeg=int(rng.integers(jpeg_quality[0], jpeg_quality[1] + 1)) if rng.random() < p_jpeg else 0,
        noise_seed=int(rng.integers(2**31)),
    )


def _optics(img: np.ndarray, cam: dict) -> np.ndarray:
    h, w = img.shape[:2]
    if cam["resample"] > 1.01:
        small = cv2.resize(img, (max(8, int(w / cam["resample"])), max(8, int(h / cam["resample"]))),
                           interpolation=cv2.INTER_AREA)
        img = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    return gauss(img, cam["defocus"])


def jpeg_roundtrip(rgb: np.ndarray, quality: int) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    assert ok
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1].copy()


def shoot(clean: np.ndarray, inked: np.ndarray, ink: np.ndarray, skin: np.ndarray, cam: dict
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run the shared camera pipeline.

    clean, inked: (S, S, 3) float32 0..1 linear-ish RGB; ink: (S, S) float32 0..1; skin: (S, S) float32 0/1.
    Returns clean, tattooed (S, S, 3) uint8 and ink (S, S) uint8, with tattooed == clean wherever ink == 0.
    """
    c = _optics(clean, cam)
    t = c + (_optics(inked, cam) - c) * skin[..., None]  # blur must not carry ink off the skin
    a = _optics(ink, cam) * skin
    if cam["noise"] > 0:
        noise = np.random.default_rng(cam["noise_seed"]).standard_normal(c.shape, dtype=np.float32)
        noise *= np.float32(cam["noise"] / 255.0)
        c, t = c + noise, t + noise
    c8 = np.clip(np.round(c * 255.0), 0, 255).astype(np.uint8)
    t8 = np.clip(np.round(t * 255.0), 0, 255).astype(np.uint8)
    ink8 = np.clip(np.round(a * 255.0), 0, 255).astype(np.uint8)
    differs = (c8 != t8).any(-1)
    ink8[differs & (ink8 == 0)] = 1
    t8[ink8 == 0] = c8[ink8 == 0]
    if cam["jpeg"]:
        c8 = jpeg_roundtrip(c8, cam["jpeg"])
        tj = jpeg_roundtrip(t8, cam["jpeg"])
        t8 = np.where((ink8 > 0)[..., None], tj, c8)
    return c8, t8, ink8
