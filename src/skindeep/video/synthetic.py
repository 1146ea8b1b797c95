"""Synthetic test clips with known motion, and the flicker metric measured on them.

A clip is a still tattooed image moved and zoomed by a known affine transform per frame (plus fresh
camera noise per frame), so the true motion between frames is exact. The flicker of a processed clip is
the mean absolute change, inside the ink region, between each frame and the previous one warped onto it
by that true motion: 0 for a perfectly stable fill (up to resampling), large when the fill flickers.
Used by tests/test_video.py and benchmarks/video.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from skindeep.video import io as vio


@dataclass
class SynthClip:
    """``frames``: list of (H, W, 3) uint8; ``ink``: list of (H, W) uint8 ink alpha per frame;
    ``clean``: list of (H, W, 3) uint8 (the same motion applied to the clean image, no noise);
    ``transforms``: list of 2x3 float64 affine maps from the source image to each frame."""

    frames: list[np.ndarray]
    ink: list[np.ndarray]
    clean: list[np.ndarray]
    transforms: list[np.ndarray]


def camera_path(n_frames: int, src_size: tuple[int, int], out_size: tuple[int, int], zoom: float = 1.15,
                pan: float = 0.08, turn: float = 3.0) -> list[np.ndarray]:
    """Smooth affine maps (source -> frame): a slow zoom-in by ``zoom``, a pan of ``pan`` x the frame
    width and a rotation of ``turn`` degrees over the clip, centred on the source."""
    sw, sh = src_size
    ow, oh = out_size
    base = max(ow / sw, oh / sh) * 1.05  # cover the frame with a little margin
    maps = []
    for t in np.linspace(0.0, 1.0, n_frames):
        scale = base * (1.0 + (zoom - 1.0) * t)
        m = cv2.getRotationMatrix2D((sw / 2, sh / 2), turn * t, scale)
        m[0, 2] += ow / 2 - sw / 2 + pan * ow * (t - 0.5)
        m[1, 2] += oh / 2 - sh / 2
        maps.append(m)
    return maps


def make_clip(tattooed: np.ndarray, ink: np.ndarray, clean: np.ndarray | None, n_frames: int,
              out_size: tuple[int, int], noise: float = 2.0, seed: int = 0, **path) -> SynthClip:
    """Move a tattooed image ((H, W, 3) uint8, ink alpha (H, W) uint8) along :func:`camera_path`.

    ``noise``: std of the Gaussian camera noise added to every frame independently (grey levels).
    """
    rng = np.random.default_rng(seed)
    clean = tattooed if clean is None else clean
    maps = camera_path(n_frames, (tattooed.shape[1], tattooed.shape[0]), out_size, **path)
    frames, inks, cleans = [], [], []
    for m in maps:
        frame = cv2.warpAffine(tattooed, m, out_size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        noisy = frame.astype(np.float32) + rng.normal(0.0, noise, frame.shape).astype(np.float32)
        frames.append(np.clip(noisy + 0.5, 0, 255).astype(np.uint8))
        inks.append(cv2.warpAffine(ink, m, out_size, flags=cv2.INTER_LINEAR))
        cleans.append(cv2.warpAffine(clean, m, out_size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT))
    return SynthClip(frames, inks, cleans, maps)


def temporal_change(frames: list[np.ndarray], ink: list[np.ndarray], transforms: list[np.ndarray],
                    dilate: int = 2) -> float:
    """Mean |frame_t - warp(frame_{t-1})| (grey levels, RGB mean) inside the ink region of frame t.

    ``transforms`` are the clip's source -> frame affine maps; the motion t-1 -> t is derived from them.
    The region is the ink (alpha > 0) dilated by ``dilate`` pixels, where the warp has a source pixel.
    """
    kernel = np.ones((2 * dilate + 1, 2 * dilate + 1), np.uint8)
    total, count = 0.0, 0
    for t in range(1, len(frames)):
        h, w = frames[t].shape[:2]
        motion = _compose(transforms[t], transforms[t - 1])
        warped = cv2.warpAffine(frames[t - 1], motion, (w, h), flags=cv2.INTER_LINEAR)
        inside = cv2.warpAffine(np.ones((h, w), np.uint8), motion, (w, h), flags=cv2.INTER_NEAREST)
        region = (cv2.dilate((ink[t] > 0).astype(np.uint8), kernel) > 0) & (cv2.erode(inside, kernel) > 0)
        diff = np.abs(frames[t].astype(np.float32) - warped.astype(np.float32)).mean(axis=2)
        total += float(diff[region].sum())
        count += int(region.sum())
    return total / max(count, 1)


def _compose(to_t: np.ndarray, to_prev: np.ndarray) -> np.ndarray:
    """The affine map frame_{t-1} -> frame_t, given the source -> frame maps of both."""
    a = np.vstack([to_t, [0, 0, 1]])
    b = np.vstack([to_prev, [0, 0, 1]])
    return (a @ np.linalg.inv(b))[:2]


def write_clip(path: str | Path, frames: list[np.ndarray], fps: int = 25, pts: list[int] | None = None,
               time_base: Fraction | None = None, audio_seconds: float | None = None,
               rotation: float | None = None, crf: int = 12) -> Path:
    """Encode ``frames`` as an H.264 file (optionally with a sine AAC track and a rotation tag).

    ``pts``/``time_base`` give variable frame rate timestamps; default: constant ``fps``.
    """
    h, w = frames[0].shape[:2]
    time_base = time_base or Fraction(1, fps)
    pts = pts if pts is not None else [round(i / fps / time_base) for i in range(len(frames))]
    writer = vio.VideoWriter(path, w, h, Fraction(fps), time_base, crf=crf, preset="ultrafast")
    if rotation is not None:
        writer.stream.set_display_rotation(rotation)  # before the header is written by the first mux
    if audio_seconds:
        _add_sine_audio(writer, audio_seconds)
    with writer:
        for frame, p in zip(frames, pts, strict=True):
            writer.write(frame, p)
    return Path(path)


def _add_sine_audio(writer: vio.VideoWriter, seconds: float, rate: int = 16000) -> None:
    """Encode a 440 Hz AAC track of ``seconds`` into ``writer``'s container (before any video)."""
    import av

    stream = writer.container.add_stream("aac", rate=rate)
    stream.layout = "mono"
    n = int(seconds * rate)
    samples = (0.2 * np.sin(2 * np.pi * 440 * np.arange(n) / rate)).astype(np.float32)[None]
    for pos in range(0, n, 1024):
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[:, pos:pos + 1024]), format="fltp",
                                           layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = rate, pos, Fraction(1, rate)
        writer.container.mux(stream.encode(frame))
    writer.container.mux(stream.encode())
