"""Video removal: decode, remove tattoos frame by frame with temporal stabilisation, encode.

``remove_video(src, dst, config)`` is the whole job. The per-frame work is a :class:`FrameProcessor`:
in temporal mode it warps the previous frame's ink probability, mask and output along the optical flow,
fuses them with the new detection and the new fill (one pass of the photo pipeline per key frame), and
starts afresh on scene cuts; in per-frame mode it runs the photo pipeline on each frame alone (the
flickering baseline).
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from skindeep.errors import InputError
from skindeep.video import io as vio
from skindeep.video.stabilise import (
    FlowEstimator,
    Motion,
    feather_mask,
    fuse_prob,
    hysteresis_mask,
    is_scene_cut,
    limit_fill,
    propagate_fill,
    small_grey,
    warp,
)

log = logging.getLogger(__name__)
_RING = np.ones((3, 3), np.uint8)


@dataclass
class VideoConfig:
    """Options of :func:`remove_video` (the CLI's flags map one to one)."""

    codec: str = "libx264"
    crf: int = 18
    preset: str | None = "medium"  # x264/x265 speed/size trade-off
    pix_fmt: str = "yuv420p"  # plays everywhere; needs even sizes (odd ones are padded by one pixel)
    start: float | None = None  # seconds; process only frames with start <= t < end
    end: float | None = None
    temporal: bool = True  # False: every frame alone, as the photo pipeline would (flickers)
    key_every: int = 1  # run the network on every k-th frame only; between, carry mask and fill by the flow
    mask_memory: float = 0.7  # weight of the flow-warped previous ink probability in the fused one
    fill_memory: float = 0.8  # weight of the flow-warped previous fill where it is still valid
    keep_ratio: float = 0.5  # a masked pixel stays masked down to keep_ratio x threshold (hysteresis)
    flow_size: int = 640  # longer side of the grey frames the flow is computed on (DIS "fast" preset)
    face_every: int = 8  # with face protection: find the face features every k-th frame, carry them between
    scene_cut: float = 0.5  # histogram distance above which the previous frame is forgotten
    threshold: float | None = None  # ink probability threshold; None: the remover's own
    strength: float = 1.0
    protect_face: bool | None = None  # None: the remover's default
    audio: bool = True  # copy the first audio stream (no re-encoding)
    progress: bool = False  # tqdm progress bar on stderr


@dataclass
class VideoReport:
    """What :func:`remove_video` did."""

    src: Path
    dst: Path
    frames: int  # frames written
    seconds: float  # wall time of the whole job
    fps: float  # frames processed per second
    width: int
    height: int
    detections: int  # frames the network ran on (key frames)
    scene_cuts: int
    audio_copied: bool
    interrupted: bool = False  # stopped by Ctrl-C; dst holds the frames done so far and is playable


@dataclass
class _Previous:
    grey: np.ndarray  # small grey frame, for flow and cut detection
    prob: np.ndarray  # (H, W) float32 fused ink probability
    out: np.ndarray  # (H, W, 3) uint8 output frame
    alpha: np.ndarray  # (H, W) float32 0..1 mask applied


@dataclass
class FrameProcessor:
    """Turns input frames into output frames, keeping the temporal state between calls."""

    remover: object
    config: VideoConfig = field(default_factory=VideoConfig)
    detections: int = 0
    scene_cuts: int = 0

    def __post_init__(self) -> None:
        self.flow = FlowEstimator()
        self.previous: _Previous | None = None
        self.since_key = 0
        own = getattr(self.remover, "threshold", None)
        self.threshold = self.config.threshold if self.config.threshold is not None else (own or 0.5)
        protect = self.config.protect_face
        self.protect = bool(getattr(self.remover, "protect_face", False)) if protect is None else protect
        # Face protection runs a face detector (dlib, ~0.1 s at 720p): in temporal mode find the features
        # every `face_every` frames and carry them along the flow, if the remover exposes its finder.
        finder = getattr(self.remover, "face", None)
        ours = self.protect and self.config.temporal and hasattr(finder, "mask")
        self.face_finder = finder if ours else None
        self.face_keep: np.ndarray | None = None  # (H, W) float32 1 on protected features
        self.since_face = 0

    def reset(self) -> None:
        """Forget the previous frame (a new shot, or a new clip)."""
        self.previous = None

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 frame in, (H, W, 3) uint8 frame out."""
        if not self.config.temporal:
            self.detections += 1
            return self._remove(rgb).image
        return self._temporal(rgb)

    def _feather(self, shape: tuple[int, ...]) -> tuple[int, float]:
        """Mask growth (px) and feather sigma (px) for a frame, as the photo pipeline would use."""
        pipeline = getattr(self.remover, "config", None)
        long_side = max(shape[:2])
        grow = max(1, round(long_side * getattr(pipeline, "grow", 1 / 800)))
        return grow, max(0.7, long_side * getattr(pipeline, "feather", 1 / 1600))

    def _remove(self, rgb: np.ndarray, threshold: float | None = None, keep: np.ndarray | None = None):
        return self.remover.remove(
            rgb,
            keep=keep,
            threshold=self.threshold if threshold is None else threshold,
            strength=self.config.strength,
            # Our own carried face mask goes in as `keep`; otherwise the remover protects faces itself.
            protect_face=False if self.face_finder is not None else self.config.protect_face,
        )

    def _faces(self, rgb: np.ndarray, motion: Motion | None) -> np.ndarray | None:
        """The protected face features of this frame, (H, W) float32 0/1, or None (none / not ours)."""
        if self.face_finder is None:
            return None
        if motion is None or self.face_keep is None or self.since_face + 1 >= self.config.face_every:
            # as in a photo: a skin-gated remover never repaints hair, so the hair zone is not kept
            found = self.face_finder.mask(rgb, hair=False if getattr(self.remover, "skin_gated", False) else None)
            self.face_keep = None if found is None else np.asarray(found, np.float32)
            self.since_face = 0
        else:
            self.face_keep = (warp(self.face_keep, motion) > 0.5).astype(np.float32)
            self.since_face += 1
        return self.face_keep

    def _temporal(self, rgb: np.ndarray) -> np.ndarray:
        cfg = self.config
        grey = small_grey(rgb, cfg.flow_size)
        motion = self._motion(grey, rgb.shape[:2])
        prev = self.previous
        faces = self._faces(rgb, motion)
        if motion is None:  # first frame or a new shot: nothing to carry over
            out, prob, alpha = self._key_frame(rgb, None, None, None, faces)
        else:
            prev_alpha = warp(prev.alpha, motion)
            key = self.since_key + 1 >= max(1, cfg.key_every) or _flow_fails_on(prev_alpha, motion.valid)
            if key:
                out, prob, alpha = self._key_frame(rgb, motion, prev, prev_alpha, faces)
            else:
                # Between key frames the mask and the fill travel along the flow; no network runs.
                self.since_key += 1
                # Grow the carried mask by a pixel: flow errors add up between key frames, and a lagging
                # mask edge would uncover ink; the extra ring gets the warped fill of the frame before.
                prob, alpha = warp(prev.prob, motion), cv2.dilate(prev_alpha, _RING)
                if faces is not None:
                    alpha *= 1.0 - faces
                out = propagate_fill(rgb, alpha, prev.out, alpha, motion, 1.0)
        self.previous = _Previous(grey, prob, out, alpha)
        return out

    def _key_frame(self, rgb, motion: Motion | None, prev: _Previous | None, prev_alpha: np.ndarray | None,
                   faces: np.ndarray | None):
        """Detect and remove, stabilise the mask, blend in the warped past fill: (out, prob, alpha).

        One network pass: the remover runs at a low threshold (a generous mask, its own fill) and hands
        back its raw detection; the stabilised mask then decides how much of that fill each pixel gets.
        """
        cfg = self.config
        result = self._remove(rgb, threshold=cfg.keep_ratio * self.threshold, keep=faces)
        self.detections += 1
        self.since_key = 0
        valid = None
        prob = np.asarray(result.ink_prob, np.float32)
        if motion is not None:
            valid = motion.valid
            prob = fuse_prob(prob, warp(prev.prob, motion), valid, cfg.mask_memory)
        mask = hysteresis_mask(prob, prev_alpha, valid, self.threshold, cfg.keep_ratio)
        alpha = feather_mask(mask, *self._feather(rgb.shape))
        if faces is not None:
            alpha *= 1.0 - faces
        out = limit_fill(rgb, result.image, result.ink_mask, alpha)
        if motion is not None:
            out = propagate_fill(out, alpha, prev.out, prev_alpha, motion, cfg.fill_memory)
        return out, prob, alpha

    def _motion(self, grey: np.ndarray, shape: tuple[int, int]) -> Motion | None:
        prev = self.previous
        if prev is None:
            return None
        if prev.grey.shape != grey.shape or is_scene_cut(prev.grey, grey, self.config.scene_cut):
            self.scene_cuts += 1
            return None
        return self.flow.motion(prev.grey, grey, shape)


def _flow_fails_on(alpha: np.ndarray, valid: np.ndarray, tolerance: float = 0.01) -> bool:
    """True when the flow is invalid on more than ``tolerance`` of the masked pixels (occlusion, blur)."""
    masked = alpha > 0.5
    return bool(masked.any()) and float((valid[masked] < 0.5).mean()) > tolerance


def default_remover(model_path: str | Path | None = None, **kwargs):
    """The photo pipeline's Remover (imported late: it loads onnxruntime), without the skin-tone match
    the grain match and the skin fill unless asked: the colour field is estimated per frame from that
    frame's mask and flickers (temporal mode's flicker reduction fell from > 20 % to 14 % with it on,
    tests/test_video.py), and fresh grain, or skin texture copied from new places, on every key frame
    would crawl."""
    from skindeep.remove import Remover

    return Remover(model_path=model_path, **{"tone_match": 0.0, "grain": 0.0, "fill": None, **kwargs})


def remove_video(
    src: str | Path, dst: str | Path, config: VideoConfig | None = None, remover=None
) -> VideoReport:
    """Remove tattoos from the video ``src`` and write ``dst`` (same size, timing, rotation, audio).

    ``remover``: a ``skindeep.remove.Remover`` (or anything with its ``detect``/``remove``); the default
    one when None. Raises ValueError for a bad ``config``, InputError for unreadable input, SkinDeepError
    for an unwritable output. The video is written to a hidden temporary file next to ``dst`` and renamed
    to ``dst`` at the end, so a failed run leaves no ``dst`` (and an existing one untouched). On Ctrl-C
    the encoder is flushed and the frames done so far become ``dst``, playable; the report says
    ``interrupted``.
    """
    config = config or VideoConfig()
    src, dst = Path(src), Path(dst)
    check_config(config)
    t0 = time.perf_counter()
    container = vio.open_input(src)
    try:
        info = vio.stream_info(src, container)
        remover = remover if remover is not None else default_remover()
        processor = FrameProcessor(remover, config)
        report = _run(container, info, dst, config, processor)
    finally:
        container.close()
    report.seconds = time.perf_counter() - t0
    return report


def check_config(config: VideoConfig) -> None:
    """ValueError with one sentence naming the option when a :class:`VideoConfig` value is out of range
    (checked before anything is read or written)."""
    if config.start is not None and config.start < 0:
        raise ValueError(f"start must be >= 0 seconds, got {config.start}")
    if config.start is not None and config.end is not None and config.end <= config.start:
        raise ValueError(f"end ({config.end} s) must be after start ({config.start} s)")
    if not 0.0 <= config.strength <= 1.0:
        raise ValueError(f"strength must be in 0..1, got {config.strength}")
    if config.threshold is not None and not 0.0 <= config.threshold <= 1.0:
        raise ValueError(f"threshold must be in 0..1, got {config.threshold}")
    if config.key_every < 1:
        raise ValueError(f"key_every must be >= 1 (1 = the network on every frame), got {config.key_every}")
    vio.check_encoder(config.codec, config.crf, config.preset)


def _run(container, info: vio.VideoInfo, dst: Path, config: VideoConfig, processor: FrameProcessor):
    from tqdm import tqdm

    start = config.start or 0.0
    audio_src = container.streams.audio[0] if (config.audio and container.streams.audio) else None
    pending_audio: list = []  # audio packets demuxed before the writer exists (it waits for frame 1)
    writer: vio.VideoWriter | None = None
    report = VideoReport(
        src=info.path, dst=dst, frames=0, seconds=0.0, fps=0.0, width=info.width, height=info.height,
        detections=0, scene_cuts=0, audio_copied=audio_src is not None,
    )
    end = config.end if config.end is not None else (info.duration or None)
    total = int(round((end - start) * float(info.fps))) if end else None
    tmp = _claim_temporary(dst)  # fails here, before any work, when dst's folder cannot take a file
    bar = tqdm(total=total or None, unit="frame", disable=not config.progress, desc=info.path.name)

    def on_audio(packet) -> None:
        if writer is None:
            pending_audio.append(packet)
        else:
            writer.write_audio(packet)

    t_work = time.perf_counter()
    frames = vio.read_frames(container, config.start, config.end, on_audio if audio_src else None)
    with _ctrl_c_stops() as stop:  # also over the flush: a file cut before its trailer does not play
        try:
            for frame in frames:
                if writer is None:
                    writer = _open_writer(tmp, info, config, frame.display_matrix, audio_src,
                                          dict(container.metadata), dst)
                    writer.audio_pts_offset = int(round(start / audio_src.time_base)) if audio_src else 0
                    for packet in pending_audio:
                        writer.write_audio(packet)
                    pending_audio.clear()
                writer.write(processor(frame.rgb), frame.pts - int(round(start / info.time_base)))
                bar.update(1)
                if stop.is_set():
                    break
        except KeyboardInterrupt:  # raised where no signal handler could be set (not the main thread)
            stop.set()
        except BaseException as exc:  # a failed run leaves no output: drop the temporary file
            bar.close()
            if writer is not None:
                writer.abandon()
            tmp.unlink(missing_ok=True)
            if isinstance(exc, vio.av.FFmpegError):  # the writer wraps its own errors: this one is decoding
                raise InputError(f"{info.path}: the video is damaged partway through ({vio.av_reason(exc)}); "
                                 "--start and --end can skip the damaged part") from exc
            raise
        bar.close()
        if writer is not None:
            if stop.is_set():
                log.warning("stopped: flushing the %d frames done into %s", writer.frames, dst)
            try:
                writer.close()
                os.replace(tmp, dst)  # only a whole, or a cleanly stopped and playable, video takes dst's name
            except BaseException as exc:
                tmp.unlink(missing_ok=True)
                if isinstance(exc, OSError):
                    raise vio.unwritable_video(dst, exc) from exc
                raise
    report.interrupted = stop.is_set()
    if writer is None:
        tmp.unlink(missing_ok=True)
        if report.interrupted:
            return report
        window = f"{config.start or 0:g} s and {'the end' if config.end is None else f'{config.end:g} s'}"
        raise InputError(f"{info.path}: no video frames between {window} (the video is {info.duration:.2f} s long)")
    report.frames = writer.frames
    report.fps = writer.frames / max(time.perf_counter() - t_work, 1e-9)
    report.detections, report.scene_cuts = processor.detections, processor.scene_cuts
    return report


@contextmanager
def _ctrl_c_stops() -> Iterator[threading.Event]:
    """While active, Ctrl-C (SIGINT) sets the yielded event instead of raising KeyboardInterrupt.

    The loop then stops after the current frame and the encoder is flushed and the file closed without
    being cut in the middle (an MP4 without its trailer does not play). Only the main thread can own
    signal handlers; elsewhere KeyboardInterrupt stays as it is.
    """
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def on_sigint(signum, frame) -> None:
        if not stop.is_set():
            log.warning("Ctrl-C: finishing the current frame, then closing the video")
        stop.set()

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


def _claim_temporary(dst: Path) -> Path:
    """Create ``dst``'s folder (as photo outputs get theirs) and an empty hidden file next to ``dst``
    with its extension (FFmpeg picks the container by it); OutputError naming ``dst`` if either fails."""
    tmp = dst.with_name(f".{dst.stem}.{secrets.token_hex(4)}.tmp{dst.suffix}")
    try:
        dst.parent.mkdir(parents=True, exist_ok=True)
        tmp.touch(exist_ok=False)
    except OSError as exc:
        raise vio.unwritable_video(dst, exc) from exc
    return tmp


def _open_writer(dst, info, config, matrix, audio_src, metadata, name) -> vio.VideoWriter:
    return vio.VideoWriter(
        dst, info.width, info.height, info.fps, info.time_base, codec=config.codec, crf=config.crf,
        preset=config.preset, pix_fmt=config.pix_fmt, display_matrix=matrix, audio_template=audio_src,
        metadata=metadata, name=name,
    )
