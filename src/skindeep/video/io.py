"""Video decode/encode with PyAV: RGB frames in and out, timestamps, rotation and audio kept.

Frames are numpy RGB ``uint8`` ``(H, W, 3)`` arrays at the stream's coded size (rotation is metadata:
it is read from the input's display matrix and written back unchanged, never applied to the pixels).
Each frame keeps its own ``pts`` in the input stream's ``time_base``, so variable frame rate video comes
out with the same timestamps. Audio packets are copied (remuxed) without re-encoding.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from skindeep.errors import InputError, OutputError, SkinDeepError
from skindeep.io import WRITE_ERRNOS, unwritable_reason

try:
    import av
    from av.sidedata.sidedata import Type as SideDataType
except ModuleNotFoundError as exc:  # pragma: no cover - depends on the install
    raise ModuleNotFoundError("skindeep.video needs PyAV: pip install 'skindeep[video]'", name="av") from exc

log = logging.getLogger(__name__)

# Container tags the muxer writes itself; the others are copied from the input.
MUXER_OWNED_TAGS = {"encoder", "major_brand", "minor_version", "compatible_brands"}
# Codecs whose quality is set with a constant rate factor, and the CRF values each accepts (FFmpeg's
# ranges); other codecs get a generous bit rate instead.
CRF_RANGES = {"libx264": (0, 51), "libx265": (0, 51), "libvpx-vp9": (0, 63), "libsvtav1": (0, 63),
              "libaom-av1": (0, 63)}
CRF_CODECS = set(CRF_RANGES)
# Speed presets of x264 and x265 (the same names); other codecs ignore the preset.
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow",
           "placebo")


def av_reason(exc: Exception) -> str:
    """What went wrong, from a PyAV/FFmpeg error, without FFmpeg's raw error number or file name
    ("[Errno 1094995529] Invalid data found when processing input: 'x.mov'" -> "invalid data found
    when processing input")."""
    reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return reason[0].lower() + reason[1:]


def unwritable_video(name: str | Path, exc: OSError) -> OutputError:
    """The disk refused the video ``name`` (permissions, space, a file in the way): one sentence."""
    return OutputError(f"{name}: cannot write the video: {unwritable_reason(exc)}")


def _encoding_error(name: str | Path, exc: Exception, what: str) -> SkinDeepError:
    """One sentence for a failed write of the video ``name``: the disk's fault (permissions, space) or
    the encoder's (its settings)."""
    if isinstance(exc, OSError) and exc.errno in WRITE_ERRNOS:
        return unwritable_video(name, exc)
    return SkinDeepError(f"{name}: {what} failed ({av_reason(exc)}); check the --codec, --crf and --preset "
                         "options")


def check_encoder(codec: str, crf: int, preset: str | None) -> None:
    """ValueError with one sentence when ``codec`` is not a video encoder here, ``crf`` is outside its
    range or ``preset`` is not an x264/x265 preset."""
    try:
        kind = av.codec.Codec(codec, "w").type
    except (av.codec.codec.UnknownCodecError, ValueError):
        kind = None
    if kind != "video":
        raise ValueError(f"{codec!r} is not a video encoder this FFmpeg build has (try libx264, libx265 or "
                         "libvpx-vp9)")
    low, high = CRF_RANGES.get(codec, (None, None))
    if low is not None and not low <= crf <= high:
        raise ValueError(f"CRF {crf} is outside {codec}'s range {low}..{high} (lower = better quality)")
    if codec in ("libx264", "libx265") and preset is not None and preset not in PRESETS:
        raise ValueError(f"preset {preset!r} is not one of {', '.join(PRESETS)}")


@dataclass
class VideoInfo:
    """What ``probe`` learns about a video file's first video stream (and whether it has audio)."""

    path: Path
    width: int
    height: int
    fps: Fraction  # average frame rate (frames per second)
    time_base: Fraction  # unit of the frames' pts
    n_frames: int  # from the container, or estimated from duration x fps; 0 if unknown
    duration: float  # seconds, 0.0 if unknown
    codec: str
    has_audio: bool


@dataclass
class DecodedFrame:
    """One decoded frame: ``rgb`` (H, W, 3) uint8, ``pts`` in ``time_base`` units, ``time`` in seconds."""

    rgb: np.ndarray
    pts: int
    time: float
    display_matrix: tuple[int, ...] | None  # 9 int32 (16.16 fixed point), None when absent


def open_input(path: str | Path) -> av.container.InputContainer:
    """Open ``path`` for reading; InputError naming the file when it is missing or not a video."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        container = av.open(str(path), "r")
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise InputError(f"{path}: not a video FFmpeg can read ({av_reason(exc)}); check that it is a whole "
                         ".mp4, .mov, .mkv or .webm file") from exc
    if not container.streams.video:
        container.close()
        raise InputError(f"{path}: the file has no video stream")
    return container


def probe(path: str | Path) -> VideoInfo:
    """Read the header of ``path`` (no decoding) and return its :class:`VideoInfo`."""
    with open_input(path) as container:
        return stream_info(Path(path), container)


def stream_info(path: Path, container: av.container.InputContainer) -> VideoInfo:
    """:class:`VideoInfo` of an open container (``path`` is only recorded)."""
    stream = container.streams.video[0]
    fps = stream.average_rate or stream.guessed_rate or Fraction(25)
    if stream.duration is not None and stream.time_base is not None:
        duration = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        duration = container.duration / av.time_base
    else:
        duration = 0.0
    n_frames = stream.frames or int(round(duration * fps))
    return VideoInfo(
        path=path,
        width=stream.codec_context.width,
        height=stream.codec_context.height,
        fps=Fraction(fps),
        time_base=Fraction(stream.time_base),
        n_frames=n_frames,
        duration=duration,
        codec=stream.codec_context.name,
        has_audio=bool(container.streams.audio),
    )


def display_matrix(frame: av.VideoFrame) -> tuple[int, ...] | None:
    """The frame's display matrix (rotation/flip metadata) as 9 ints, or None when it has none."""
    # Looked up by its type: iterating the container gives the side data in PyAV 18.1.0 but their types in 18.1.1.
    side_data = frame.side_data.get(SideDataType.DISPLAYMATRIX)
    return None if side_data is None else tuple(int(v) for v in np.frombuffer(bytes(side_data), "<i4"))


def read_frames(
    container: av.container.InputContainer,
    start: float | None = None,
    end: float | None = None,
    on_audio=None,
) -> Iterator[DecodedFrame]:
    """Decode the first video stream's frames with ``start <= time < end`` (seconds) as RGB.

    Demuxes video and the first audio stream together (one pass over the file): audio packets inside
    the window are handed to ``on_audio(packet)`` as they come, so they can be remuxed in order.
    """
    vstream = container.streams.video[0]
    vstream.thread_type = "AUTO"  # frame threads: decoding is cheap next to removal, but free
    astream = container.streams.audio[0] if (container.streams.audio and on_audio) else None
    if start:
        # Seek to the key frame before `start`; the frames before it are decoded and dropped below.
        container.seek(int(start / vstream.time_base), stream=vstream, backward=True, any_frame=False)
    streams = [s for s in (vstream, astream) if s is not None]
    rate = vstream.average_rate or vstream.guessed_rate or Fraction(25)
    step = max(1, round(1 / (rate * vstream.time_base)))  # one frame, in time_base units
    last_pts = None
    for packet in container.demux(streams):
        if astream is not None and packet.stream.index == astream.index:
            if packet.pts is not None and _in_window(float(packet.pts * packet.time_base), start, end):
                on_audio(packet)
            continue
        for frame in packet.decode():
            pts = frame.pts if frame.pts is not None else frame.dts
            if pts is None:  # raw streams (.h264) carry no timestamps: count frames instead
                pts = 0 if last_pts is None else last_pts + step
            last_pts = pts
            time = float(pts * vstream.time_base)
            if start is not None and time < start - 1e-6:
                continue
            if end is not None and time >= end - 1e-6:
                return
            yield DecodedFrame(frame.to_ndarray(format="rgb24"), pts, time, display_matrix(frame))


def _in_window(time: float, start: float | None, end: float | None) -> bool:
    return (start is None or time >= start - 1e-6) and (end is None or time < end - 1e-6)


class VideoWriter:
    """Encode RGB frames (and remux copied audio packets) into ``path``.

    ``time_base`` is the input stream's: frames are written with their input ``pts`` minus ``pts_offset``
    so variable frame rate timing survives. Odd sizes are padded by one edge pixel (yuv420p needs even
    sizes). ``close()`` flushes the encoder and writes the trailer, so a stopped run is still playable.
    ``name``: how error messages name the file, when ``path`` is a temporary stand-in for it.
    """

    def __init__(
        self,
        path: str | Path,
        width: int,
        height: int,
        fps: Fraction,
        time_base: Fraction,
        codec: str = "libx264",
        crf: int = 18,
        preset: str | None = "medium",
        pix_fmt: str = "yuv420p",
        display_matrix: tuple[int, ...] | None = None,
        audio_template: av.audio.stream.AudioStream | None = None,
        metadata: dict[str, str] | None = None,
        name: str | Path | None = None,
    ) -> None:
        self.path = Path(path)
        self.name = name or self.path  # how messages name the file (the target, not a temporary file)
        self.time_base = time_base
        try:
            self.container = av.open(str(self.path), "w")
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise SkinDeepError(f"{self.name}: cannot write a video with this name ({av_reason(exc)}); "
                                "end it in .mp4, .mov or .mkv") from exc
        try:
            self.stream = self.container.add_stream(codec, rate=fps, options=_quality_options(codec, crf, preset))
        except (av.FFmpegError, ValueError) as exc:
            self.container.close()
            raise SkinDeepError(f"{self.name}: codec {codec!r} is unknown or not allowed in this container "
                                f"({av_reason(exc)}); try libx264") from exc
        # Chroma subsampling needs even sizes (yuv420p: both, yuv422p: width); pad by one edge pixel.
        self.pad = (height % 2 if "420" in pix_fmt or pix_fmt == "nv12" else 0,
                    width % 2 if any(k in pix_fmt for k in ("420", "422", "nv12")) else 0)
        if any(self.pad):
            log.warning("%s: %dx%d is odd; %s needs even sizes, padding by one edge pixel",
                        self.name, width, height, pix_fmt)
        self.stream.width, self.stream.height = width + self.pad[1], height + self.pad[0]
        self.stream.pix_fmt = pix_fmt
        self.stream.codec_context.time_base = time_base
        if codec not in CRF_CODECS:
            self.stream.bit_rate = int(width * height * float(fps) * 0.3)
        if display_matrix is not None:
            self.stream.set_display_matrix(list(display_matrix))
        self.audio = None
        if audio_template is not None:
            audio_codec = audio_template.codec_context.name
            if audio_codec not in self.container.supported_codecs:
                self.container.close()
                raise SkinDeepError(f"{self.name}: this container cannot hold the input's {audio_codec} audio "
                                    "without re-encoding; use another extension (.mkv) or drop it (--no-audio)")
            self.audio = self.container.add_stream_from_template(audio_template)
        for key, value in (metadata or {}).items():
            if key not in MUXER_OWNED_TAGS:  # keep e.g. creation_time, location, title
                self.container.metadata[key] = value
        self.audio_pts_offset = 0
        self.frames = 0

    def write(self, rgb: np.ndarray, pts: int) -> None:
        """Encode one (H, W, 3) uint8 frame at ``pts`` (in ``time_base`` units, already offset)."""
        if any(self.pad):
            rgb = np.pad(rgb, ((0, self.pad[0]), (0, self.pad[1]), (0, 0)), mode="edge")
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame.pts = pts
        frame.time_base = self.time_base
        try:
            self.container.mux(self.stream.encode(frame))
        except (av.FFmpegError, OSError) as exc:
            raise _encoding_error(self.name, exc, "encoding") from exc
        self.frames += 1

    def write_audio(self, packet: av.Packet) -> None:
        """Remux one audio packet unchanged (its timestamps shifted by ``audio_pts_offset``)."""
        if self.audio is None:
            return
        packet.pts -= self.audio_pts_offset
        if packet.dts is not None:
            packet.dts -= self.audio_pts_offset
        packet.stream = self.audio
        try:
            self.container.mux(packet)
        except av.FFmpegError as exc:
            raise SkinDeepError(f"{self.name}: cannot copy the audio stream into this container "
                                f"({av_reason(exc)}); use .mkv or drop the audio (--no-audio)") from exc

    def close(self) -> None:
        """Flush the encoder and write the trailer (safe to call twice)."""
        if self.container is None:
            return
        try:
            self.container.mux(self.stream.encode())
        except (av.FFmpegError, OSError) as exc:
            raise _encoding_error(self.name, exc, "finishing the video") from exc
        finally:
            self.container.close()
            self.container = None

    def abandon(self) -> None:
        """Close without flushing, after an error: the file is to be deleted, and a second error from the
        encoder must not hide the first."""
        if self.container is None:
            return
        try:
            self.container.close()
        except (av.FFmpegError, OSError):
            pass
        self.container = None

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _quality_options(codec: str, crf: int, preset: str | None) -> dict[str, str]:
    if codec not in CRF_CODECS:
        log.info("codec %s has no CRF; using a bit rate instead of --crf", codec)
        return {}
    options = {"crf": str(crf)}
    if codec in ("libx264", "libx265") and preset:
        options["preset"] = preset
    if codec == "libvpx-vp9":
        options["b"] = "0"  # constant quality mode
    return options
