"""skindeep.video on tiny generated clips (PyAV, no system ffmpeg), with the tiny stand-in model.

The clips are a light, softly textured "skin" with thin dark strokes (ink for the tiny model: dark pixels)
moved and zoomed by a known affine path, with fresh noise per frame, an AAC track and a rotation tag.
"""

from __future__ import annotations

import os
import signal
from fractions import Fraction

import av
import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from skindeep.colour import luminance
from skindeep.errors import InputError
from skindeep.video import VideoConfig, remove_video
from skindeep.video import io as vio
from skindeep.video.stabilise import (
    FlowEstimator,
    Motion,
    fuse_prob,
    hysteresis_mask,
    propagate_fill,
    small_grey,
    warp,
)
from skindeep.video.synthetic import make_clip, temporal_change, write_clip

FPS = 12
N_FRAMES = 16
SIZE = (160, 120)


def _skin_with_strokes(seed: int = 0, size: tuple[int, int] = (320, 240)) -> tuple[np.ndarray, np.ndarray]:
    """(tattooed, ink): light textured background (luminance > 0.55) with six 3 px dark strokes."""
    rng = np.random.default_rng(seed)
    w, h = size
    base = cv2.GaussianBlur(rng.uniform(150, 230, (h // 8, w // 8, 3)).astype(np.float32), (0, 0), 1.5)
    base = cv2.resize(base, (w, h), interpolation=cv2.INTER_CUBIC).clip(0, 255).astype(np.uint8)
    ink = np.zeros((h, w), np.uint8)
    for _ in range(6):
        a, b = rng.integers(40, [w - 40, h - 40], (2, 2))
        cv2.line(ink, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])), 255, 3)
    tattooed = (base * (1 - ink[..., None] / 255.0 * 0.85)).astype(np.uint8)
    return tattooed, ink


@pytest.fixture(scope="module")
def remover(tiny_model_path):
    from skindeep.video.pipeline import default_remover

    # the clips' random multi-colour backgrounds are not skin-coloured: no skin gate
    return default_remover(tiny_model_path, protect_face=False, min_skin_around=0)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """(path, SynthClip): 16 frames at 12 fps, 160x120, AAC audio, rotated 90 degrees."""
    tattooed, ink = _skin_with_strokes()
    synth = make_clip(tattooed, ink, None, N_FRAMES, SIZE, noise=3.0)
    path = tmp_path_factory.mktemp("clip") / "inked.mp4"
    write_clip(path, synth.frames, fps=FPS, audio_seconds=N_FRAMES / FPS, rotation=90)
    return path, synth


def _decode(path):
    with vio.open_input(path) as container:
        frames = list(vio.read_frames(container))
    return frames


def _audio_seconds(path) -> float:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        packets = [p for p in container.demux(stream) if p.pts is not None]
        return float((packets[-1].pts + packets[-1].duration - packets[0].pts) * stream.time_base)


def _luminance(rgb: np.ndarray) -> np.ndarray:
    return luminance(rgb) / 255.0


def test_keeps_size_frames_fps_audio_and_rotation(clip, remover, tmp_path):
    src, _ = clip
    report = remove_video(src, tmp_path / "out.mp4", VideoConfig(), remover=remover)
    before, after = vio.probe(src), vio.probe(report.dst)
    assert (after.width, after.height) == (before.width, before.height) == SIZE
    assert report.frames == after.n_frames == N_FRAMES
    assert after.fps == before.fps == FPS
    assert after.has_audio and report.audio_copied
    with av.open(str(src)) as a, av.open(str(report.dst)) as b:
        assert b.streams.audio[0].codec_context.name == a.streams.audio[0].codec_context.name == "aac"
    assert _audio_seconds(report.dst) == pytest.approx(_audio_seconds(src), abs=1e-3)
    frames_in, frames_out = _decode(src), _decode(report.dst)
    assert [f.time for f in frames_out] == pytest.approx([f.time for f in frames_in], abs=1e-3)
    with av.open(str(report.dst)) as container:
        assert next(container.decode(video=0)).rotation == 90


def _encode_as_is(src, dst, config: VideoConfig) -> list:
    """Decode ``src`` and encode its frames unchanged with ``config``'s codec settings: what an output
    that changed nothing would decode to (the RGB -> yuv420p -> RGB round trip included)."""
    info = vio.probe(src)
    with vio.VideoWriter(dst, info.width, info.height, info.fps, info.time_base, codec=config.codec,
                         crf=config.crf, preset=config.preset, pix_fmt=config.pix_fmt) as writer:
        for frame in _decode(src):
            writer.write(frame.rgb, frame.pts)
    return _decode(dst)


def test_no_ink_left_and_rest_untouched(clip, remover, tmp_path):
    src, synth = clip
    config = VideoConfig(crf=0)  # lossless: the only change outside the ink is the colour round trip
    report = remove_video(src, tmp_path / "out.mp4", config, remover=remover)
    as_is = _encode_as_is(src, tmp_path / "as_is.mp4", config)
    for i, (frame, ink, original, same) in enumerate(zip(_decode(report.dst), synth.ink, _decode(src), as_is,
                                                         strict=True)):
        lum = _luminance(frame.rgb)
        assert lum[ink > 128].min() > 0.3  # the tiny model's ink: luminance well under 0.3
        assert _luminance(original.rgb)[ink > 128].min() < 0.2  # (there was ink there)
        far = cv2.dilate(ink, np.ones((9, 9), np.uint8)) == 0
        moved = np.any(frame.rgb != same.rgb, axis=-1) & far
        assert not moved.any(), f"frame {i}: {moved.sum()} pixels away from the ink changed, e.g. " \
                                f"(y, x) {tuple(int(v) for v in np.argwhere(moved)[0])}"


def test_temporal_mode_flickers_less_than_per_frame(clip, remover, tmp_path):
    src, synth = clip
    flicker = {}
    for temporal in (False, True):
        report = remove_video(src, tmp_path / f"{temporal}.mp4", VideoConfig(temporal=temporal), remover=remover)
        outputs = [f.rgb for f in _decode(report.dst)]
        flicker[temporal] = temporal_change(outputs, synth.ink, synth.transforms, dilate=2)
    assert flicker[True] < 0.8 * flicker[False], flicker


def test_variable_frame_rate_timestamps_kept(remover, tmp_path):
    tattooed, ink = _skin_with_strokes(seed=1)
    synth = make_clip(tattooed, ink, None, 8, (96, 64))
    pts = [0, 40, 80, 200, 240, 330, 400, 520]  # milliseconds, uneven gaps
    src = write_clip(tmp_path / "vfr.mp4", synth.frames, fps=FPS, pts=pts, time_base=Fraction(1, 1000))
    report = remove_video(src, tmp_path / "out.mp4", VideoConfig(), remover=remover)
    assert [round(f.time * 1000) for f in _decode(report.dst)] == pts


def test_start_end_window(clip, remover, tmp_path):
    src, _ = clip
    config = VideoConfig(start=3 / FPS, end=9 / FPS)  # frames 3..8
    report = remove_video(src, tmp_path / "cut.mp4", config, remover=remover)
    frames = _decode(report.dst)
    assert report.frames == len(frames) == 6
    assert frames[0].time == pytest.approx(0.0, abs=1e-3)
    assert _audio_seconds(report.dst) == pytest.approx(0.5, abs=0.07)  # whole AAC frames (64 ms)
    with pytest.raises(ValueError, match=r"end \(0.5 s\) must be after start"):
        remove_video(src, tmp_path / "bad.mp4", VideoConfig(start=1.0, end=0.5), remover=remover)


def test_odd_size_is_padded_and_tags_are_kept(remover, tmp_path):
    frames = make_clip(*_skin_with_strokes(seed=4), None, 4, (95, 63)).frames
    src = tmp_path / "odd.mov"
    with vio.VideoWriter(src, 95, 63, Fraction(FPS), Fraction(1, FPS), codec="png", pix_fmt="rgb24") as writer:
        writer.container.metadata["title"] = "holiday"
        for i, frame in enumerate(frames):
            writer.write(frame, i)
    assert (vio.probe(src).width, vio.probe(src).height) == (95, 63)
    report = remove_video(src, tmp_path / "out.mp4", VideoConfig(), remover=remover)
    out = vio.probe(report.dst)
    assert (out.width, out.height) == (96, 64)  # yuv420p: one edge pixel added on each odd side
    decoded = _decode(report.dst)[0].rgb
    assert np.abs(decoded[:, 95].astype(int) - decoded[:, 94]).mean() < 4  # the edge was repeated
    with av.open(str(report.dst)) as container:
        assert container.metadata.get("title") == "holiday"


def test_scene_cut_resets_and_redetects(remover, tmp_path):
    a = make_clip(*_skin_with_strokes(seed=2), None, 10, SIZE)
    b = make_clip(*_skin_with_strokes(seed=3), None, 10, SIZE)
    b.frames = [(f * 0.8).astype(np.uint8) for f in b.frames]  # another shot, dimmer (skin still light)
    src = write_clip(tmp_path / "cut.mp4", a.frames + b.frames, fps=FPS)
    seen = []

    class Spy:
        threshold = remover.threshold

        def detect(self, image):
            return remover.detect(image)

        def remove(self, image, **kw):
            seen.append(image.copy())
            return remover.remove(image, **kw)

    # Key frames every 3rd frame (more where the flow fails on the tattoo); the cut forces one at frame 10.
    report = remove_video(src, tmp_path / "out.mp4", VideoConfig(key_every=3), remover=Spy())
    assert report.scene_cuts == 1 and report.frames == 20
    assert report.detections == len(seen) < 16
    decoded = _decode(src)
    assert any(np.array_equal(image, decoded[10].rgb) for image in seen)
    assert not any(np.array_equal(image, decoded[1].rgb) for image in seen)  # frame 1 was carried
    out = _decode(report.dst)
    for frame, ink in zip(out, a.ink + b.ink, strict=True):  # no ink left, key frame or not
        assert _luminance(frame.rgb)[ink > 128].min() > 0.3


def test_ctrl_c_leaves_a_playable_partial_file(clip, remover, tmp_path):
    class StopAfter:
        def __init__(self, n):
            self.n, self.threshold = n, remover.threshold

        def detect(self, image):
            return remover.detect(image)

        def remove(self, image, **kw):
            self.n -= 1
            if self.n < 0:
                raise KeyboardInterrupt
            return remover.remove(image, **kw)

    src, _ = clip
    before = signal.getsignal(signal.SIGINT)
    report = remove_video(src, tmp_path / "partial.mp4", VideoConfig(), remover=StopAfter(5))
    assert report.interrupted and report.frames == 5
    assert len(_decode(report.dst)) == 5
    assert [p.name for p in tmp_path.iterdir()] == ["partial.mp4"]  # the temporary file became the output
    assert signal.getsignal(signal.SIGINT) is before  # the caller's handler is given back


def test_sigint_finishes_the_frame_and_closes_the_file(clip, remover, tmp_path):
    class CtrlCAt:  # a real SIGINT, as a terminal sends it, while frame 4 is being processed
        calls, threshold = 0, remover.threshold

        def detect(self, image):
            return remover.detect(image)

        def remove(self, image, **kw):
            CtrlCAt.calls += 1
            if CtrlCAt.calls == 4:
                os.kill(os.getpid(), signal.SIGINT)
            return remover.remove(image, **kw)

    src, _ = clip
    report = remove_video(src, tmp_path / "partial.mp4", VideoConfig(), remover=CtrlCAt())
    assert report.interrupted and report.frames == 4  # the frame in hand is finished and written
    assert len(_decode(report.dst)) == 4 and vio.probe(report.dst).has_audio


@pytest.mark.parametrize("skin_gated", [False, True])
def test_face_features_are_found_every_kth_frame_and_kept(clip, remover, tmp_path, skin_gated):
    class BoxFinder:  # stands in for dlib: "the face features" are a fixed box of the frame
        calls = 0
        hair: list = []

        def mask(self, rgb, hair=None):
            BoxFinder.calls += 1
            BoxFinder.hair.append(hair)
            keep = np.zeros(rgb.shape[:2], bool)
            keep[30:90, 40:120] = True
            return keep

    class WithFaces:
        threshold, protect_face, face = remover.threshold, True, BoxFinder()

        def detect(self, image):
            return remover.detect(image)

        def remove(self, image, **kw):
            assert kw["protect_face"] is False  # the carried mask replaces per-frame face detection
            return remover.remove(image, **kw)

    WithFaces.skin_gated = skin_gated
    src, _ = clip
    report = remove_video(src, tmp_path / "faces.mp4", VideoConfig(face_every=8, crf=0), remover=WithFaces())
    assert BoxFinder.calls == 2  # frames 0 and 8 of 16
    # a remover that only ever repaints skin needs no hair zone (as for photos); others keep theirs
    assert BoxFinder.hair == ([False] * 2 if skin_gated else [None] * 2)
    for before, after in zip(_decode(src), _decode(report.dst), strict=True):
        inner = (slice(34, 86), slice(44, 116))  # the box, less the carried mask's resampled edge
        assert np.abs(after.rgb[inner].astype(int) - before.rgb[inner]).mean() < 1.5  # ink kept there
        assert _luminance(before.rgb[inner]).min() < 0.2


def test_broken_missing_and_audio_only_inputs(remover, tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(InputError, match="broken.mp4"):
        remove_video(broken, tmp_path / "o1.mp4", remover=remover)
    with pytest.raises(InputError, match="no such file"):
        remove_video(tmp_path / "absent.mp4", tmp_path / "o2.mp4", remover=remover)
    audio_only = tmp_path / "sound.m4a"
    with av.open(str(audio_only), "w") as container:
        stream = container.add_stream("aac", rate=16000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate, frame.pts = 16000, 0
        container.mux(stream.encode(frame))
        container.mux(stream.encode())
    with pytest.raises(InputError, match="sound.m4a: the file has no video stream"):
        remove_video(audio_only, tmp_path / "o3.mp4", remover=remover)
    assert not (tmp_path / "o1.mp4").exists()


def test_unreadable_video_message_has_no_raw_errno(tmp_path):
    junk = tmp_path / "junk.mov"
    junk.write_bytes(b"not a video at all")
    with pytest.raises(InputError) as caught:
        vio.open_input(junk)
    message = str(caught.value)
    assert message.startswith(f"{junk}: not a video FFmpeg can read (invalid data found")
    assert "Errno" not in message and "1094995529" not in message and message.count(str(junk)) == 1


@pytest.mark.parametrize("config, words", [
    (VideoConfig(strength=5), "strength must be in 0..1"),
    (VideoConfig(threshold=-1), "threshold must be in 0..1"),
    (VideoConfig(key_every=0), "key_every must be >= 1"),
    (VideoConfig(crf=99), "CRF 99 is outside libx264's range 0..51"),
    (VideoConfig(codec="libvpx-vp9", crf=64), "CRF 64 is outside libvpx-vp9's range 0..63"),
    (VideoConfig(codec="aac"), "'aac' is not a video encoder"),
    (VideoConfig(preset="quick"), "preset 'quick' is not one of"),
])
def test_bad_config_is_refused_before_anything_is_written(clip, remover, tmp_path, config, words):
    with pytest.raises(ValueError, match=words):
        remove_video(clip[0], tmp_path / "out.mp4", config, remover=remover)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_run_leaves_no_output_and_keeps_an_existing_one(clip, remover, tmp_path):
    class FailsAtFrame3:
        calls, threshold = 0, remover.threshold

        def remove(self, image, **kw):
            FailsAtFrame3.calls += 1
            if FailsAtFrame3.calls == 3:
                raise RuntimeError("out of memory")
            return remover.remove(image, **kw)

    src, _ = clip
    with pytest.raises(RuntimeError, match="out of memory"):
        remove_video(src, tmp_path / "new.mp4", VideoConfig(), remover=FailsAtFrame3())
    assert list(tmp_path.iterdir()) == []  # neither new.mp4 nor its temporary file
    old = tmp_path / "old.mp4"
    old.write_bytes(b"the user's earlier result")
    FailsAtFrame3.calls = 0
    with pytest.raises(RuntimeError, match="out of memory"):
        remove_video(src, old, VideoConfig(), remover=FailsAtFrame3())
    assert [p.name for p in tmp_path.iterdir()] == ["old.mp4"] and old.read_bytes() == b"the user's earlier result"


def test_encoder_failure_is_one_sentence_naming_the_output(clip, remover, tmp_path):
    """A preset x264 refuses fails at the first frame; closing the file must not hide that error."""
    from skindeep.errors import SkinDeepError
    from skindeep.video import pipeline

    dst = tmp_path / "out.mp4"
    config = VideoConfig(preset="quick", audio=False)
    with pytest.raises(SkinDeepError) as caught:
        with vio.open_input(clip[0]) as container:  # past check_config, as a caller of _run would be
            info = vio.stream_info(clip[0], container)
            pipeline._run(container, info, dst, config, pipeline.FrameProcessor(remover, config))
    assert str(caught.value).startswith(f"{dst}: encoding failed (invalid argument)")
    assert list(tmp_path.iterdir()) == []


def test_unwritable_output_is_refused_before_any_work_naming_the_target(clip, remover, tmp_path):
    from skindeep.errors import OutputError

    (tmp_path / "file").write_bytes(b"")
    dst = tmp_path / "file" / "out.mp4"
    with pytest.raises(OutputError) as caught:
        remove_video(clip[0], dst, VideoConfig(), remover=remover)
    assert str(caught.value) == (f"{dst}: cannot write the video: a file is in the way of its folder; rename it "
                                 "or choose another output folder")


def test_read_only_output_folder_is_refused_before_any_work(clip, remover, tmp_path):
    from skindeep.errors import OutputError

    folder = tmp_path / "ro"
    folder.mkdir(mode=0o555)
    if os.access(folder, os.W_OK):
        pytest.skip("this user (root with CAP_DAC_OVERRIDE) may write into read-only folders")
    with pytest.raises(OutputError, match="ro/out.mp4: cannot write the video: permission denied"):
        remove_video(clip[0], folder / "out.mp4", VideoConfig(), remover=remover)
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("flags, words", [
    (["--strength", "5"], "Invalid value for '--strength': 5.0 is not in the range 0<=x<=1."),
    (["--strength", "-1"], "Invalid value for '--strength': -1.0 is not in the range 0<=x<=1."),
    (["--threshold", "7"], "Invalid value for '--threshold': 7.0 is not in the range 0<=x<=1."),
    (["--threshold", "-1"], "Invalid value for '--threshold': -1.0 is not in the range 0<=x<=1."),
    (["--key-every", "0"], "Invalid value for '--key-every': 0 is not in the range x>=1."),
    (["--crf", "99"], "Invalid value for '--crf': 99 is not in the range 0<=x<=63."),
    (["--crf", "55"], "Invalid value for '--crf': CRF 55 is outside libx264's range 0..51"),
    (["--codec", "nope"], "Invalid value for '--codec': 'nope' is not a video encoder"),
    (["--preset", "quick"], "Invalid value for '--preset': 'quick' is not one of"),
    (["--start", "-1"], "Invalid value for '--start': -1.0 is not in the range x>=0."),
    (["--start", "3", "--end", "2"], "Invalid value for '--end': 2 s is not after --start (3 s)"),
])
def test_cli_checks_every_option_before_any_work(clip, tiny_model_path, tmp_path, flags, words):
    from skindeep.cli import main

    dst = tmp_path / "out.mp4"
    result = CliRunner().invoke(main, ["video", str(clip[0]), "-o", str(dst), "--model", str(tiny_model_path),
                                       "-q", *flags])
    assert result.exit_code == 2 and words in result.output, result.output
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception,
                                                                                        SystemExit)
    assert list(tmp_path.iterdir()) == []  # no output, no temporary file


def test_flow_warp_follows_a_known_shift():
    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(rng.uniform(0, 255, (120, 160)).astype(np.float32), (0, 0), 2)
    texture = cv2.normalize(texture, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    shift = np.float32([[1, 0, 3], [0, 1, -2]])  # the scene moves 3 px right, 2 px up
    prev, cur = texture, cv2.warpAffine(texture, shift, (160, 120), borderMode=cv2.BORDER_REFLECT)
    motion = FlowEstimator().motion(prev, cur, (240, 320))  # flow at half size, maps at full size
    inner = (slice(20, -20), slice(20, -20))
    assert np.median(motion.map_x - np.arange(320)[None, :]) == pytest.approx(-6, abs=0.3)
    assert np.median(motion.map_y - np.arange(240)[:, None]) == pytest.approx(4, abs=0.3)
    assert motion.valid[inner].mean() > 0.9
    big_prev = cv2.resize(np.dstack([prev] * 3), (320, 240))
    big_cur = cv2.resize(np.dstack([cur] * 3), (320, 240))
    assert np.abs(warp(big_prev, motion).astype(int) - big_cur)[inner].mean() < 3
    assert small_grey(big_cur, 160).shape == (120, 160)


def test_mask_fusion_takes_new_ink_at_once_and_smooths_dropouts():
    past = np.array([[0.9, 0.9, 0.0]], np.float32)
    now = np.array([[0.9, 0.1, 0.9]], np.float32)  # steady ink, a one-frame dropout, new ink
    fused = fuse_prob(now, past, np.ones_like(past), memory=0.7)
    assert fused[0, 0] == pytest.approx(0.9) and fused[0, 1] == pytest.approx(0.66) and fused[0, 2] == 0.9
    assert fuse_prob(now, past, np.zeros_like(past), memory=0.7)[0, 1] == pytest.approx(0.1)  # flow failed
    was_masked = np.array([[1.0, 1.0, 0.0]], np.float32)
    mask = hysteresis_mask(np.array([[0.3, 0.2, 0.3]], np.float32), was_masked, np.ones_like(past), 0.5)
    assert mask.tolist() == [[255, 0, 0]]  # stays in down to 0.25, does not enter below 0.5


def test_propagate_fill_only_inside_the_mask():
    fresh = np.full((8, 8, 3), 100, np.uint8)
    prev = np.full((8, 8, 3), 200, np.uint8)
    alpha = np.zeros((8, 8), np.float32)
    alpha[2:6, 2:6] = 1.0
    gy, gx = np.mgrid[0:8, 0:8].astype(np.float32)
    still = Motion(gx, gy, np.ones((8, 8), np.float32))
    out = propagate_fill(fresh, alpha, prev, alpha, still, memory=0.8)
    assert (out[alpha == 0] == 100).all()  # bit-identical outside the mask
    assert (out[alpha == 1] == 180).all()
    shifted = Motion(gx - 2, gy, np.ones((8, 8), np.float32))  # content moved 2 px to the right
    prev[:, 4:] = 0
    out = propagate_fill(fresh, alpha, prev, alpha, shifted, memory=1.0)
    assert (out[2:6, 2:6] == 200).all()  # e.g. x=5 comes from x=3 in the previous frame (x=5 there is 0)
    assert (out[alpha == 0] == 100).all()


def test_cli_runs_and_refuses_to_overwrite(clip, tiny_model_path, tmp_path):
    from skindeep.cli import main

    src, _ = clip
    dst = tmp_path / "cli.mp4"
    args = ["video", str(src), "-o", str(dst), "--model", str(tiny_model_path), "-q", "--no-protect-face"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert vio.probe(dst).n_frames == N_FRAMES
    old_name = CliRunner().invoke(main, [*args[:-1], "--no-face-protection", "--overwrite"])
    assert old_name.exit_code == 0 and "now called --no-protect-face" in old_name.output, old_name.output
    again = CliRunner().invoke(main, args)
    assert again.exit_code != 0 and "exists" in again.output
    broken = tmp_path / "junk.mov"
    broken.write_bytes(b"not a video at all")
    bad = CliRunner().invoke(main, ["video", str(broken), "-o", str(tmp_path / "x.mp4"), "-q"])
    assert bad.exit_code != 0 and "junk.mov" in bad.output


def test_cli_refuses_to_write_over_its_input(clip, tiny_model_path, tmp_path):
    """Even with --overwrite, the output may not be the input: not by the same name, another spelling of
    its path, a symbolic link or a hard link to it. The input stays byte for byte as it was."""
    from skindeep.cli import main

    src = tmp_path / "in" / "take.mp4"
    src.parent.mkdir()
    src.write_bytes(clip[0].read_bytes())
    original = src.read_bytes()
    (tmp_path / "sym.mp4").symlink_to(src)
    os.link(src, tmp_path / "hard.mp4")
    for dst in (src, tmp_path / "in" / ".." / "in" / "take.mp4", tmp_path / "sym.mp4", tmp_path / "hard.mp4"):
        args = ["video", str(src), "-o", str(dst), "--overwrite", "--model", str(tiny_model_path), "-q",
                "--no-face-protection"]
        result = CliRunner().invoke(main, args)
        assert result.exit_code != 0, f"-o {dst}: wrote over the input"
        assert "overwrite the input" in result.output, result.output
        assert src.read_bytes() == original, f"-o {dst}: the input changed"
