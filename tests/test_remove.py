"""Tests for skindeep.remove (pipeline, batch, CLI) with the tiny stand-in model (dark pixels = ink)."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image as PILImage

from skindeep.errors import SkinDeepError
from skindeep.remove import ModelError, Remover, Result
from skindeep.remove.batch import Job, RemoveOptions, plan_jobs, run_job
from skindeep.remove.fill import FillSettings
from skindeep.remove.pipeline import PipelineConfig, _cells
from skindeep.remove.resample import merge_boxes

ROOT = Path(__file__).resolve().parents[1]


def skin(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A light, noisy 'skin' photo with no dark pixels (the tiny model sees no ink in it)."""
    rng = np.random.default_rng(seed)
    return np.clip(rng.normal(175, 6, (h, w, 3)), 0, 255).astype(np.uint8)


def with_mark(img: np.ndarray, y: int, x: int, h: int, w: int, value: int = 15) -> np.ndarray:
    out = img.copy()
    out[y:y + h, x:x + w] = value
    return out


@pytest.fixture(scope="module")
def remover(tiny_model_path) -> Remover:
    return Remover(tiny_model_path, protect_face=False)


def test_untouched_pixels_bit_identical_on_12mp(remover):
    img = with_mark(skin(3000, 4000), 1400, 2000, 40, 120)
    res = remover.remove(img)
    assert isinstance(res, Result)
    assert res.image.shape == img.shape and res.image.dtype == np.uint8
    changed = np.any(res.image != img, axis=2)
    ys, xs = np.nonzero(changed)
    # Every change is within a small margin of the mark; nothing else in 12 MP moved.
    assert ys.min() >= 1400 - 20 and ys.max() < 1440 + 20
    assert xs.min() >= 2000 - 20 and xs.max() < 2120 + 20
    assert changed.sum() < 2 * 60 * 160
    # And the mask says the same: zero mask means untouched.
    assert np.array_equal(res.image[res.ink_mask == 0], img[res.ink_mask == 0])


def test_dark_mark_is_changed(remover):
    img = with_mark(skin(600, 800), 300, 300, 12, 200)
    res = remover.remove(img)
    mark = (slice(300, 312), slice(300, 500))
    assert res.image[mark].mean() > img[mark].mean() + 40  # blurred with the skin around it
    assert (res.ink_mask[mark] == 255).all()
    assert res.ink_prob[302:310, 305:495].min() > 0.5 and res.ink_prob[:100].max() < 0.1
    # The layer holds the original pixels with the mask as alpha, stacked only when it is read.
    assert "layer" not in vars(res)
    assert np.array_equal(res.layer[..., :3], img) and np.array_equal(res.layer[..., 3], res.ink_mask)
    assert res.layer.shape == (600, 800, 4) and res.layer.dtype == np.uint8 and res.layer is res.layer


def test_user_mask_restricts_and_keep_protects(remover):
    img = with_mark(with_mark(skin(400, 600), 100, 100, 10, 100), 300, 300, 10, 100)
    only_top = np.zeros(img.shape[:2], bool)
    only_top[:200] = True
    res = remover.remove(img, mask=only_top)
    assert res.image[100:110, 100:200].mean() > 60
    assert np.array_equal(res.image[200:], img[200:])
    res = remover.remove(img, keep=only_top)
    assert np.array_equal(res.image[:200], img[:200])
    assert res.image[300:310, 300:400].mean() > 60


def test_strength_zero_is_identity_and_half_is_between(remover):
    img = with_mark(skin(300, 400), 100, 100, 10, 150)
    assert np.array_equal(remover.remove(img, strength=0.0).image, img)
    full = remover.remove(img).image[100:110, 100:250].astype(float).mean()
    half = remover.remove(img, strength=0.5).image[100:110, 100:250].astype(float).mean()
    assert 15 < half < full and abs(half - (15 + full) / 2) < 3


def test_threshold_changes_what_is_ink(remover):
    img = skin(300, 400)
    img[100:110, 100:250] = 85  # luminance 0.33: prob ~0.23 with the tiny model
    assert remover.remove(img, threshold=0.5).ink_mask.max() == 0
    assert remover.remove(img, threshold=0.1).ink_mask[100:110, 100:250].min() == 255


def test_specks_are_dropped(remover):
    img = skin(300, 400)
    img[150, 200] = 0  # one dark pixel: noise, not a tattoo
    assert remover.remove(img).ink_mask.max() == 0


def test_detect_and_pil_input(remover):
    img = with_mark(skin(200, 300), 50, 50, 20, 20)
    prob = remover.detect(PILImage.fromarray(img).convert("RGBA"))
    assert prob.shape == (200, 300) and prob.dtype == np.float32
    assert prob[55:65, 55:65].min() > 0.9 and prob[150:, 200:].max() < 0.1


def test_tiled_restore_matches_single_pass_inside(tiny_model_path):
    """Inside each tile, away from its borders (where neighbouring tiles blend), the tiles give the clean
    skin of one big pass up to rounding (the network's output itself: no tone match or skin fill on top); near the
    borders, nearly so."""
    from skindeep.remove.pipeline import restore_scale

    img = skin(700, 900)
    yy, xx = np.mgrid[200:500, 100:800]
    img[200:500, 100:800][(yy % 16 < 3) | ((xx + yy) % 20 < 3)] = 15  # a dense hatch: the fill varies
    one = Remover(tiny_model_path, protect_face=False, tile=2048, tone_match=0, fill=None).remove(img).image
    remover = Remover(tiny_model_path, protect_face=False, tile=256, context=48, max_pass_pixels=0, tone_match=0,
                      fill=None)
    tiled = remover.remove(img).image
    mark = (slice(210, 490), slice(110, 790))  # 10 px inside the hatch
    assert one[mark].mean() > img[mark].mean() + 15, "the single pass did not restore the hatch"
    # The tile grid at restore scale (here ~0.98: restore_pixels), in full-size pixels.
    h, w = img.shape[:2]
    scale = restore_scale(h, w, remover.config)
    rows, cols = _cells(round(h * scale), 256), _cells(round(w * scale), 256)
    assert len(rows) * len(cols) >= 9, "the photo is not cut into tiles"
    cores = np.zeros((h, w), bool)
    away = remover.config.context + 8  # restore-scale px from a core's edge
    for y0, y1 in rows:
        for x0, x1 in cols:
            cores[round((y0 + away) / scale):round((y1 - away) / scale),
                  round((x0 + away) / scale):round((x1 - away) / scale)] = True
    inside = np.zeros((h, w), bool)
    inside[mark] = cores[mark]
    assert inside.sum() > 20_000
    diff = np.abs(tiled.astype(int) - one).max(-1)
    # Inside: the same network output up to float summation order, so a rare rounding flip of 1 level
    # (0.04 % of these pixels); near the borders the blend adds a few more (2.7 % of the hatch, <= 2).
    assert diff[inside].max() <= 1 and (diff[inside] > 0).mean() < 0.002, np.bincount(diff[inside])
    assert diff[mark].max() <= 2 and (diff[mark] > 0).mean() < 0.05, np.bincount(diff[mark].ravel())


def test_reduced_scale_restore_changes_only_the_mark(tiny_model_path):
    img = with_mark(skin(1200, 1600), 500, 500, 30, 300)
    res = Remover(tiny_model_path, protect_face=False, restore_side=800).remove(img)
    assert res.image[500:530, 500:800].mean() > 40
    assert np.array_equal(res.image[res.ink_mask == 0], img[res.ink_mask == 0])


def test_boxes_merge_and_cells_cover():
    boxes = merge_boxes([(7, 7, 13, 13), (11, 11, 19, 19), (77, 77, 85, 85)])
    assert sorted(boxes) == [(7, 7, 19, 19), (77, 77, 85, 85)]
    cells = _cells(1000, 256)
    assert cells[0][0] == 0 and cells[-1][1] == 1000 and len(cells) == 4
    assert all(a[1] == b[0] for a, b in zip(cells, cells[1:], strict=False))


def test_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(ModelError, match="model file not found"):
        Remover(tmp_path / "nope.onnx")
    assert issubclass(ModelError, SkinDeepError)


def test_remover_pickles_and_works_after(remover):
    clone = pickle.loads(pickle.dumps(remover))
    img = with_mark(skin(100, 100), 40, 40, 10, 10)
    assert np.array_equal(clone.remove(img).image, remover.remove(img).image)


def test_module_function_and_no_torch(tiny_model_path):
    code = textwrap.dedent(f"""
        import sys, numpy as np
        import skindeep.remove
        img = np.full((64, 64, 3), 180, np.uint8); img[20:30, 20:40] = 10
        res = skindeep.remove(img, model_path={str(tiny_model_path)!r}, protect_face=False)
        assert res.image[20:30, 20:40].mean() > 10, res.image[20:30, 20:40].mean()
        assert 'torch' not in sys.modules, 'torch was imported'
        print('ok')
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_face_protection_never_touches_features(tiny_model_path, shared_data):
    pytest.importorskip("dlib")
    from skindeep.io import read_image

    photos = sorted((shared_data / "people").glob("frll_*.jpg"))
    if not photos:
        pytest.skip("no frll_ faces in shared data")
    img = read_image(photos[0]).rgb
    remover = Remover(tiny_model_path)
    face = remover.face.mask(img)
    assert face is not None and face.sum() > 500, "no face features found on a frontal face photo"
    # A low threshold makes the tiny model call the darker features (brows, pupils, nostrils) ink.
    unprotected = remover.remove(img, threshold=0.02, protect_face=False)
    assert np.any(unprotected.image[face] != img[face]), "test cannot fail: nothing on the features is ink"
    res = remover.remove(img, threshold=0.02)
    assert np.array_equal(res.image[face], img[face])
    assert res.ink_mask[face].max() == 0


# Hand-checked eye, brow and lip boxes, derived once without skindeep.remove.face (tests/fixtures).
FACE_BOXES = json.loads((ROOT / "tests" / "fixtures" / "face_boxes.json").read_text())["photos"]


def ink_beside_the_eyes(rgb: np.ndarray, boxes: dict[str, list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """``rgb`` with dark ink strokes 3 px outside each eye box: one along the lower lid, one from the outer
    corner 60 px out towards the temple. Returns (inked copy, (H, W) bool of the temple strokes' far half,
    which is far enough from the eye to be removed)."""
    out, far = rgb.copy(), np.zeros(rgb.shape[:2], np.uint8)
    for side in ("right_eye", "left_eye"):
        x0, y0, x1, y1 = boxes[side]
        cy = (y0 + y1) // 2
        outer, step = (x0 - 3, -1) if side == "right_eye" else (x1 + 2, 1)  # the person's right is image left
        cv2.line(out, (x0, y1 + 3), (x1 - 1, y1 + 3), (20, 30, 40), 3)
        cv2.line(out, (outer, cy), (outer + step * 60, cy), (20, 30, 40), 4)
        cv2.line(far, (outer + step * 30, cy), (outer + step * 60, cy), 1, 4)
    return out, far.astype(bool)


def inscribed_ellipse(shape: tuple[int, int], box: list[int]) -> np.ndarray:
    """(H, W) bool: the ellipse inscribed in ``box`` [x0, y0, x1, y1] (eyes, lips and brows are rounded;
    a box's corners are skin, which face protection need not keep)."""
    x0, y0, x1, y1 = box
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    cx, cy, ax, ay = (x0 + x1 - 1) / 2, (y0 + y1 - 1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
    return ((xx - cx) / ax) ** 2 + ((yy - cy) / ay) ** 2 <= 1


@pytest.mark.parametrize("name", sorted(FACE_BOXES))
def test_hand_checked_eyes_brows_and_lips_stay_bit_identical(tiny_model_path, request, name):
    """Against boxes fixed once by hand, not against the protector's own mask: every eye, brow and lip
    pixel is unchanged, also with a tattoo drawn right beside the eyes."""
    pytest.importorskip("dlib", reason="face protection needs dlib (pip install 'skindeep[face]')")
    from skindeep.io import read_image

    # examples/ is bundled (never skips); people/ photos are in ../shared/data (skips when absent).
    path = ROOT / name if name.startswith("examples/") else request.getfixturevalue("shared_data") / name
    rgb = read_image(path).rgb
    assert [rgb.shape[1], rgb.shape[0]] == FACE_BOXES[name]["size"], f"{name} is not the photo the boxes are for"
    features = {k: inscribed_ellipse(rgb.shape[:2], box) for k, box in FACE_BOXES[name]["boxes"].items()}
    inked, far = ink_beside_the_eyes(rgb, FACE_BOXES[name]["boxes"])
    remover = Remover(tiny_model_path)
    for img in (rgb, inked):
        # A low threshold makes the tiny model (dark = ink) call pupils, brows and lip lines ink.
        bare = remover.remove(img, threshold=0.02, protect_face=False).image
        out = remover.remove(img, threshold=0.02).image
        for feature, inside in features.items():
            assert np.any(bare[inside] != img[inside]), f"{name}: test cannot fail: no {feature} pixel is ink"
            changed = int(np.any(out[inside] != img[inside], axis=-1).sum())
            assert changed == 0, f"{name}: {changed} pixels of the {feature} changed"
    assert np.any(out[far] != inked[far]), "the ink beside the eyes was not removed at all"


# -- batch and CLI -----------------------------------------------------------------------------------
@pytest.fixture()
def photos(tmp_path) -> Path:
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    PILImage.fromarray(with_mark(skin(120, 160, 1), 50, 50, 10, 40)).save(folder / "a.png")
    PILImage.fromarray(with_mark(skin(120, 160, 2), 30, 30, 10, 40)).save(folder / "b.jpg", quality=92)
    PILImage.fromarray(skin(80, 80, 3)).save(folder / "sub" / "c.png")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 this is not a jpeg")
    return folder


def test_plan_jobs_naming(photos, tmp_path):
    jobs = plan_jobs([photos])
    assert [j.dst.name for j in jobs] == ["a.skindeep.png", "b.skindeep.jpg", "broken.skindeep.jpg"]
    assert {j.src.name for j in plan_jobs([photos], recursive=True)} == {"a.png", "b.jpg", "broken.jpg", "c.png"}
    out = tmp_path / "out"
    rec = plan_jobs([photos], out_dir=out, recursive=True, format="png")
    assert out / "sub" / "c.png" in [j.dst for j in rec] and out / "b.png" in [j.dst for j in rec]
    assert [j.dst for j in plan_jobs([photos / "a.png"], overwrite=True)] == [photos / "a.png"]
    # -o pointing at the input folder still never overwrites an input
    assert [j.dst.name for j in plan_jobs([photos / "a.png"], out_dir=photos)] == ["a.skindeep.png"]
    assert plan_jobs([photos / "a.png"], out_dir=tmp_path / "x.jpg")[0].dst == tmp_path / "x.jpg"


def test_run_job_reports_bad_file(remover, photos, tmp_path):
    bad = run_job(remover, Job(photos / "broken.jpg", tmp_path / "x.jpg"), RemoveOptions())
    assert not bad.ok and "broken.jpg" in bad.error and not (tmp_path / "x.jpg").exists()
    good = run_job(remover, Job(photos / "a.png", tmp_path / "a.png"), RemoveOptions(save_mask=True))
    assert good.ok and good.dst.exists() and good.mask_path.exists() and good.ink_fraction > 0


def _cli(args):
    from skindeep.cli.remove import command

    return CliRunner().invoke(command, [str(a) for a in args])


def test_cli_batch_reports_failures_and_never_overwrites(photos, tiny_model_path):
    before = {p: p.read_bytes() for p in photos.rglob("*") if p.is_file()}
    result = _cli([photos, "-r", "--model", tiny_model_path, "--no-protect-face", "-q"])
    assert result.exit_code == 1
    assert "broken.jpg: not an image file" in result.output
    for path, data in before.items():
        assert path.read_bytes() == data, f"input {path} was modified"
    for name in ("a.skindeep.png", "b.skindeep.jpg", "sub/c.skindeep.png"):
        assert (photos / name).is_file()
    out = np.asarray(PILImage.open(photos / "a.skindeep.png"))
    assert out[50:60, 50:90].mean() > 40  # the mark was removed
    # Running again does not pick up its own outputs as inputs.
    assert len(plan_jobs([photos], recursive=True)) == 4


def test_cli_batch_prints_one_line_per_failure(photos, tiny_model_path, tmp_path, bomb_png):
    (photos / "empty.jpg").write_bytes(b"")
    (photos / "notes.png").write_text("not a photo")
    (photos / "bomb.png").write_bytes(bomb_png)
    out = tmp_path / "out"
    (out / "a.png").mkdir(parents=True)  # a folder where a.png's result should go
    result = _cli([photos, "-o", out, "--model", tiny_model_path, "--no-protect-face"])
    assert result.exit_code == 1
    failed = result.output.split("Failed:\n")[1].splitlines()
    assert sorted(line.strip().split(":")[0] for line in failed) == sorted(
        [str(out / "a.png"), *(str(photos / n) for n in ("bomb.png", "broken.jpg", "empty.jpg", "notes.png"))])
    assert f"  {out / 'a.png'}: cannot write the file: a folder of that name is in the way" in result.output
    assert f"  {photos / 'empty.jpg'}: the file is empty (0 bytes)" in result.output
    assert f"  {photos / 'bomb.png'}: the image is 3,600 megapixels" in result.output
    assert "1 done, 0 skipped, 5 failed" in result.output  # b.jpg; the rest each have one line
    assert ".tmp" not in result.output and "Error" not in result.output


def test_cli_output_equal_to_input_says_where_the_result_went(photos, tiny_model_path):
    src = photos / "a.png"
    before = src.read_bytes()
    result = _cli([src, "-o", src, "--model", tiny_model_path, "--no-protect-face", "-q"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (f"note: {src}: the output would replace an input, so the result goes to "
                                     "a.skindeep.png instead (--overwrite replaces the input)")
    assert src.read_bytes() == before and (photos / "a.skindeep.png").is_file()
    # A folder written into itself: three notices, then a count.
    for i in range(3):
        (photos / f"extra{i}.png").write_bytes(before)
    result = _cli([photos, "-o", photos, "--model", tiny_model_path, "--no-protect-face", "-q"])
    notes = [line for line in result.output.splitlines() if line.startswith("note: ")]
    assert len(notes) == 4 and notes[-1].startswith("note: 3 more outputs would have replaced their inputs")
    assert src.read_bytes() == before
    # No notice when nothing was redirected.
    assert "note:" not in _cli([src, "--model", tiny_model_path, "--no-protect-face", "-q"]).output


def test_one_table_drives_every_model_setting(tiny_model_path, tmp_path):
    """Each MODEL_SETTINGS row: read from the metadata, filled into PipelineConfig when None, overridable
    from Python and from `skindeep remove --NAME`, written by `skindeep export --NAME`."""
    import dataclasses
    import json
    import shutil

    from skindeep.cli.export import command as export_command
    from skindeep.cli.remove import command as remove_command
    from skindeep.remove import remove as remove_photo
    from skindeep.remove.session import MODEL_SETTINGS

    defaults = {f.name: f.default for f in dataclasses.fields(PipelineConfig)}
    model = tmp_path / "m.onnx"
    shutil.copy(tiny_model_path, model)
    # A value for each setting that is nobody's default: the table's low bound plus a little.
    given = {s.name: s.type(s.low + (16 if s.type is int else 0.25)) for s in MODEL_SETTINGS}
    model.with_suffix(".json").write_text(json.dumps({s.key: given[s.name] for s in MODEL_SETTINGS}))
    config = Remover(model, protect_face=False).config
    bare = tmp_path / "bare.onnx"
    shutil.copy(tiny_model_path, bare)
    for s in MODEL_SETTINGS:
        assert defaults[s.name] is None, f"PipelineConfig.{s.name} must default to None (= the model's)"
        assert getattr(config, s.name) == given[s.name], s.name
        assert getattr(Remover(bare, protect_face=False).config, s.name) == s.default, s.name
        assert getattr(Remover(model, protect_face=False, **{s.name: s.high}).config, s.name) == s.high
        # skindeep.remove(photo, NAME=...) makes a Remover with it too (it used to reach Remover.remove)
        made = remove_photo(skin(40, 40), model_path=bare, protect_face=False, **{s.name: s.high})
        assert made.image.shape == (40, 40, 3)
        remove_options = [o for p in remove_command.params for o in p.opts + p.secondary_opts]
        assert remove_options.count(s.option) == 1, f"{s.option} missing from or clashing in skindeep remove"
        export_option = next(p for p in export_command.params if s.option in p.opts)
        assert export_option.default == s.export_default


def test_cli_remove_overrides_a_model_setting(tiny_model_path, tmp_path):
    img = skin(300, 400)
    img[100:110, 100:175] = 15  # sure ink
    img[100:110, 175:250] = 85  # faint (prob ~0.23 with the tiny model), touching it
    PILImage.fromarray(img).save(tmp_path / "p.png")
    args = [tmp_path / "p.png", "--model", tiny_model_path, "--no-protect-face", "-q", "--save-mask",
            "--threshold", "0.5"]
    assert _cli([*args, "-o", tmp_path / "plain.png"]).exit_code == 0
    assert _cli([*args, "-o", tmp_path / "grown.png", "--grow-threshold", "0.1"]).exit_code == 0
    plain = np.asarray(PILImage.open(tmp_path / "plain.mask.png"))
    grown = np.asarray(PILImage.open(tmp_path / "grown.mask.png"))
    assert plain[100:110, 200:240].max() == 0 and grown[100:110, 200:240].min() == 255  # the faint half joined
    bad = _cli([*args, "--input-blur", "-1"])
    assert bad.exit_code == 2 and "Invalid value for '--input-blur': -1.0 is not in the range" in bad.output


def test_cli_overwrite_replaces_input(photos, tiny_model_path):
    src = photos / "a.png"
    original = np.asarray(PILImage.open(src)).copy()
    result = _cli([src, "--overwrite", "--model", tiny_model_path, "--no-protect-face", "-q"])
    assert result.exit_code == 0, result.output
    assert not (photos / "a.skindeep.png").exists()
    assert np.asarray(PILImage.open(src))[50:60, 50:90].mean() > original[50:60, 50:90].mean() + 30


def test_cli_save_mask_and_layers(photos, tiny_model_path, tmp_path):
    out = tmp_path / "res"
    result = _cli([photos / "a.png", "-o", out, "--save-mask", "--save-layers", "--model", tiny_model_path,
                   "--no-protect-face", "-q"])
    assert result.exit_code == 0, result.output
    mask = np.asarray(PILImage.open(out / "a.mask.png"))
    layer = PILImage.open(out / "a.layer.png")
    assert mask.dtype == np.uint8 and mask.shape == (120, 160) and mask[50:60, 50:90].min() == 255
    assert mask[:30].max() == 0
    assert layer.mode == "RGBA"
    layer = np.asarray(layer)
    assert np.array_equal(layer[..., 3], mask)
    original = np.asarray(PILImage.open(photos / "a.png"))
    assert np.array_equal(layer[..., :3], original)


def test_cli_empty_user_mask_changes_nothing(photos, tiny_model_path, tmp_path):
    mask = np.zeros((120, 160), np.uint8)  # empty user mask: nothing may change
    PILImage.fromarray(mask).save(tmp_path / "m.png")
    result = _cli([photos / "a.png", "-o", tmp_path / "o.png", "--mask", tmp_path / "m.png", "--model",
                   tiny_model_path, "-q"])
    assert result.exit_code == 0, result.output
    assert np.array_equal(np.asarray(PILImage.open(tmp_path / "o.png")), np.asarray(PILImage.open(photos / "a.png")))


def test_default_config_values():
    cfg = PipelineConfig()
    assert cfg.tile > cfg.context > 0 and cfg.restore_side is None  # None: the model's recommendation


def test_restore_side_comes_from_the_model_metadata(tiny_model_path, tmp_path):
    import json
    import shutil

    model = tmp_path / "m.onnx"
    shutil.copy(tiny_model_path, model)
    assert Remover(model, protect_face=False).config.restore_side == 2048  # no metadata: the default
    model.with_suffix(".json").write_text(json.dumps({"recommended_restore_side": 320}))
    assert Remover(model, protect_face=False).config.restore_side == 320
    assert Remover(model, protect_face=False, restore_side=640).config.restore_side == 640


def test_cli_cluster_without_scale_is_a_clear_error(photos, tiny_model_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "skindeep.scale", None)  # makes `import skindeep.scale` fail
    result = _cli([photos / "a.png", "--cluster", "tcp://nowhere:8786", "--model", tiny_model_path, "-q"])
    assert result.exit_code != 0 and "--cluster needs skindeep.scale" in result.output


def test_shipped_model_on_the_bundled_example():
    from skindeep.remove.session import DEFAULT_MODEL

    example = ROOT / "examples" / "tattooed.jpg"
    # Both ship with the project: their absence is a broken checkout or package, not a reason to skip.
    assert DEFAULT_MODEL.is_file(), f"the shipped weights are missing: {DEFAULT_MODEL}"
    assert example.is_file(), f"the bundled example is missing: {example}"
    from skindeep.io import read_image

    rgb = read_image(example).rgb
    res = Remover().remove(rgb)
    changed = np.any(res.image != rgb, axis=2)
    assert 0.002 < changed.mean() < 0.08, changed.mean()  # the tattoo, not the whole photo
    ys, _ = np.nonzero(changed)
    assert np.median(ys) > 0.6 * rgb.shape[0]  # the example's tattoo is on the neck


# -- follow-ups: reduced restore scale, mask modes, skipping finished outputs, cluster errors -------------
def test_restore_pixels_caps_what_the_network_sees(tiny_model_path):
    from skindeep.remove.pipeline import restore_scale

    assert restore_scale(864, 1152, PipelineConfig(restore_pixels=None)) == 1.0
    assert abs(restore_scale(1000, 1000, PipelineConfig(restore_pixels=250_000)) - 0.5) < 1e-9
    assert restore_scale(3000, 4000, PipelineConfig(restore_pixels=None)) == 2048 / 4000
    # floor 0: the network restores what is not dense ink (with floor 1 it would not run on a filled mark)
    remover = Remover(tiny_model_path, protect_face=False, restore_pixels=100_000, fill=FillSettings(floor=0.0))
    seen = []
    run = remover.model.run
    remover.model.run = lambda rgb, want_clean=True: seen.append((rgb.shape[:2], want_clean)) or run(rgb, want_clean)
    img = with_mark(skin(600, 800), 300, 300, 12, 200)
    res = remover.remove(img)
    restore_inputs = [shape for shape, clean in seen if clean]  # detection passes need no clean output
    assert restore_inputs and max(h * w for h, w in restore_inputs) <= 100_000 * 1.01
    assert res.image[300:312, 300:500].mean() > img[300:312, 300:500].mean() + 40
    assert np.array_equal(res.image[res.ink_mask == 0], img[res.ink_mask == 0])


def test_mask_mode_replace_uses_the_mask_as_is(remover):
    img = with_mark(skin(300, 400), 100, 100, 10, 150)  # detected ink at rows 100..110
    painted = np.zeros(img.shape[:2], np.uint8)
    painted[200:240, 50:120] = 255  # light skin, nothing detected there
    painted[220:240, 50:60] = 128
    keep = np.zeros(img.shape[:2], bool)
    keep[230:240, 100:120] = True
    res = remover.remove(img, mask=painted, keep=keep, mask_mode="replace")
    expected = painted.copy()
    expected[keep] = 0
    assert np.array_equal(res.ink_mask, expected)  # the painted mask, cut by keep; not grown or detected
    assert np.array_equal(res.image[90:120], img[90:120])  # the detected mark is outside the mask: kept
    assert np.array_equal(res.image[res.ink_mask == 0], img[res.ink_mask == 0])
    # limit (default): the same mask selects no detected ink, so nothing changes
    assert np.array_equal(remover.remove(img, mask=painted).image, img)


def test_mask_mode_is_validated(remover):
    img = skin(50, 50)
    with pytest.raises(ValueError, match="mask_mode must be one of"):
        remover.remove(img, mask=np.ones((50, 50), bool), mask_mode="paint")
    with pytest.raises(ValueError, match="'replace' needs a mask"):
        remover.remove(img, mask_mode="replace")


def test_cli_mask_mode_replace(photos, tiny_model_path, tmp_path):
    painted = np.zeros((120, 160), np.uint8)
    painted[90:110, 100:140] = 255
    PILImage.fromarray(painted).save(tmp_path / "m.png")
    args = [photos / "a.png", "-o", tmp_path / "o.png", "--model", tiny_model_path, "--no-protect-face", "-q"]
    result = _cli([*args, "--mask-mode", "replace"])
    assert result.exit_code == 2 and "--mask-mode replace needs --mask" in result.output
    result = _cli([*args, "--mask-mode", "replace", "--mask", tmp_path / "m.png", "--save-mask"])
    assert result.exit_code == 0, result.output
    assert np.array_equal(np.asarray(PILImage.open(tmp_path / "o.mask.png")), painted)
    out, src = np.asarray(PILImage.open(tmp_path / "o.png")), np.asarray(PILImage.open(photos / "a.png"))
    assert np.array_equal(out[50:60], src[50:60])  # the detected mark is not in the painted mask


def test_cli_skips_finished_outputs_unless_asked(photos, tiny_model_path, tmp_path):
    import os

    out = tmp_path / "out"
    args = [photos / "a.png", photos / "b.jpg", "-o", out, "--model", tiny_model_path, "--no-protect-face"]
    first = _cli(args)
    assert first.exit_code == 0 and "2 done, 0 skipped" in first.output, first.output
    stamp = (out / "a.png").stat().st_mtime_ns
    again = _cli(args)
    assert again.exit_code == 0 and "0 done, 2 skipped" in again.output, again.output
    assert "a.png  skipped (already done" in again.output and "changed" not in again.output
    assert (out / "a.png").stat().st_mtime_ns == stamp
    # An input newer than its output is done again; so is everything with --no-skip-existing / --overwrite.
    old = (photos / "b.jpg").stat().st_mtime_ns - 86400 * 10**9
    os.utime(out / "b.jpg", ns=(old, old))  # output older than its input: stale
    assert "1 done, 1 skipped" in _cli(args).output
    assert "2 done, 0 skipped" in _cli([*args, "--no-skip-existing"]).output
    assert "2 done, 0 skipped" in _cli([*args, "--overwrite"]).output
    # Asking for a side file an earlier run did not write redoes the job.
    assert "2 done, 0 skipped" in _cli([*args, "--save-mask"]).output
    assert "0 done, 2 skipped" in _cli([*args, "--save-mask"]).output


def test_cli_cluster_errors_are_clean_messages(photos, tiny_model_path):
    result = _cli([photos / "a.png", "--cluster", "local:many", "--model", tiny_model_path, "-q"])
    assert result.exit_code == 1, result.output
    assert "expected 'local:N'" in result.output and "Traceback" not in result.output
    assert not isinstance(result.exception, SkinDeepError)  # turned into a ClickException exit


def test_cli_cluster_progress_and_skipped(photos, tiny_model_path, monkeypatch):
    import skindeep.scale
    from skindeep.remove.batch import JobResult

    calls = {}

    def fake_run_on_cluster(jobs, options, remover_kwargs, address, *, skip_existing=True, progress=None):
        calls.update(address=address, skip_existing=skip_existing, mask_mode=options.mask_mode)
        results = [JobResult(jobs[0].src, jobs[0].dst, True, None, 0.0, skipped=True),
                   JobResult(jobs[1].src, jobs[1].dst, True, None, 0.5, ink_fraction=0.25)]
        for result in results:
            progress(result)
        return results

    monkeypatch.setattr(skindeep.scale, "run_on_cluster", fake_run_on_cluster)
    result = _cli([photos / "a.png", photos / "b.jpg", "--cluster", "local:2", "--model", tiny_model_path])
    assert result.exit_code == 0, result.output
    assert calls == {"address": "local:2", "skip_existing": True, "mask_mode": "limit"}
    assert "2/2" in result.stderr  # the progress bar advanced once per finished photo
    assert "a.png -> " in result.output and "skipped (already done" in result.output
    assert "(25.0% changed" in result.output and "1 done, 1 skipped, 0 failed" in result.output


def test_input_blur_softens_what_the_network_sees_and_keeps_the_rest(tiny_model_path, tmp_path):
    """input_blur: the network sees a blurred photo (a 1 px dark line fades below the tiny model's ink
    level), pixels outside the mask stay bit-identical, and the model's metadata can set it."""
    img = with_mark(skin(200, 300), 100, 50, 1, 200)  # 1 px line: ink for the plain input
    plain = Remover(tiny_model_path, protect_face=False, input_blur=0.0).remove(img)
    soft = Remover(tiny_model_path, protect_face=False, input_blur=2.0).remove(img)
    assert plain.ink_prob[100, 60:240].mean() > 0.5 > soft.ink_prob[100, 60:240].mean()
    thick = with_mark(skin(200, 300), 90, 50, 20, 200)  # a 20 px band survives the blur
    res = Remover(tiny_model_path, protect_face=False, input_blur=2.0).remove(thick)
    assert (res.ink_mask[95:105, 60:240] == 255).all()
    assert np.array_equal(res.image[res.ink_mask == 0], thick[res.ink_mask == 0])
    sharp = Remover(tiny_model_path, protect_face=False, input_blur=0.0).remove(thick)
    band = (slice(95, 105), slice(60, 240))
    assert res.image[band].mean() > thick[band].mean() + 8  # restored as without the blur, near enough
    assert abs(res.image[band].mean() - sharp.image[band].mean()) < 6
    # from the metadata
    import json
    import shutil

    model = tmp_path / "m.onnx"
    shutil.copy(tiny_model_path, model)
    meta = json.loads(Path(tiny_model_path).with_suffix(".json").read_text()) \
        if Path(tiny_model_path).with_suffix(".json").exists() else {}
    model.with_suffix(".json").write_text(json.dumps({**meta, "recommended_input_blur": 1.5}))
    assert Remover(model, protect_face=False).config.input_blur == 1.5
    assert Remover(tiny_model_path, protect_face=False).config.input_blur == 0.0


def skin_and_shirt() -> np.ndarray:
    """(400, 600, 3) uint8: skin on the left, a blue shirt on the right, a dark stroke on each (row 200)."""
    rng = np.random.default_rng(3)
    img = np.clip(rng.normal(0, 3, (400, 600, 3)) + [200, 150, 120], 0, 255).astype(np.uint8)
    img[:, 300:] = np.clip(rng.normal(0, 3, (400, 300, 3)) + [60, 90, 160], 0, 255).astype(np.uint8)
    return with_mark(with_mark(img, 200, 80, 10, 150), 200, 380, 10, 150)


def test_skin_gate_drops_dark_blobs_with_no_skin_around(tiny_model_path):
    """A dark stroke on skin is removed; the same stroke on a blue shirt (no skin around) is kept as is,
    unless the gate is off. Grey photos (no skin colour to judge by) skip the gate (the tests above)."""
    img = skin_and_shirt()
    on_skin, on_shirt = (slice(200, 210), slice(80, 230)), (slice(200, 210), slice(380, 530))
    res = Remover(tiny_model_path, protect_face=False).remove(img)
    assert (res.ink_mask[on_skin] == 255).all() and res.ink_mask[:, 300:].max() == 0
    assert np.array_equal(res.image[:, 300:], img[:, 300:])
    off = Remover(tiny_model_path, protect_face=False, min_skin_around=0).remove(img)
    assert (off.ink_mask[on_shirt] == 255).all()


def test_grow_threshold_extends_sure_blobs_only(tiny_model_path):
    """Hysteresis: the faint half of a stroke joins its dark half; a faint mark alone stays out."""
    img = skin(300, 400)
    img[100:110, 100:175] = 15  # sure ink
    img[100:110, 175:250] = 85  # faint (prob ~0.23 with the tiny model), touching it
    img[200:210, 100:250] = 85  # faint, alone
    plain = Remover(tiny_model_path, protect_face=False, threshold=0.5).remove(img).ink_mask
    grown = Remover(tiny_model_path, protect_face=False, threshold=0.5, grow_threshold=0.1).remove(img).ink_mask
    assert (plain[102:108, 100:170] == 255).all() and plain[102:108, 185:250].max() == 0
    assert (grown[102:108, 100:250] == 255).all()
    assert grown[200:210, 100:250].max() == 0 and plain[200:210, 100:250].max() == 0


def test_cli_skin_gate_and_tone_match_can_be_turned_off(tiny_model_path, tmp_path):
    PILImage.fromarray(skin_and_shirt()).save(tmp_path / "p.png")
    outputs = {}
    for flags in ([], ["--no-skin-gate"], ["--fill", "dense"], ["--fill", "dense", "--no-tone-match"]):
        dst = tmp_path / f"out{len(outputs)}.png"
        result = _cli([tmp_path / "p.png", "-o", dst, "--model", tiny_model_path, "--no-protect-face", "-q", *flags])
        assert result.exit_code == 0, result.output
        outputs[" ".join(flags)] = np.asarray(PILImage.open(dst)).astype(int)
    src = skin_and_shirt().astype(int)
    shirt, skin_mark = (slice(200, 210), slice(380, 530)), (slice(200, 210), slice(90, 220))
    assert np.array_equal(outputs[""][shirt], src[shirt])  # gated: the shirt's stroke stays
    assert outputs["--no-skin-gate"][shirt].mean() > src[shirt].mean() + 25  # removed (blurred in)
    dense, untoned = outputs["--fill dense"][skin_mark], outputs["--fill dense --no-tone-match"][skin_mark]
    assert np.abs(untoned - dense).mean() > 2  # the tone match moves the network's restoration


def _frontal_landmarks() -> np.ndarray:
    """68 iBUG points of an upright face: jaw from (60, 100) round the chin (100, 170) to (140, 100),
    brows at y 95, eyes at y 105, nose tip (point 33) at (100, 135), mouth at y 150."""
    pts = np.zeros((68, 2), np.float32)
    t = np.linspace(np.pi, 0, 17)
    pts[0:17] = np.stack([100 + 40 * np.cos(t), 100 + 70 * np.sin(t)], 1)
    pts[17:27] = np.stack([np.linspace(65, 135, 10), np.full(10, 95)], 1)
    pts[27:36] = np.stack([np.full(9, 100), np.linspace(105, 135, 9)], 1)
    pts[33] = (100, 135)
    pts[36:48] = np.stack([np.r_[np.linspace(72, 88, 6), np.linspace(112, 128, 6)], np.full(12, 105)], 1)
    pts[48:68] = np.stack([np.linspace(85, 115, 20), np.full(20, 150)], 1)
    return pts


def test_hair_zone_covers_the_head_but_not_the_face_or_neck():
    from skindeep.remove.face import hair_zone

    lo, hi, paint = hair_zone(_frontal_landmarks())
    zone = paint(0, 0, 240, 260)
    assert zone[30, 100] and zone[90, 55] and zone[90, 145], "above the forehead and beside the temples"
    assert not zone[120, 100] and not zone[100, 80], "the face itself stays removable"
    assert not zone[180, 100] and not zone[150, 40], "below the nose (neck, shoulders) stays removable"
    assert not zone[5, 5], "far from the head"
    ys, xs = np.nonzero(zone)
    assert lo[0] <= xs.min() and xs.max() <= hi[0] + 1 and lo[1] <= ys.min() and ys.max() <= hi[1] + 1


def test_face_regions_include_the_hair_zone_only_when_asked(monkeypatch):
    from skindeep.remove.face import FaceProtector

    pts = _frontal_landmarks()
    img = np.zeros((260, 240, 3), np.uint8)
    with_hair, without = FaceProtector(hair=True), FaceProtector(hair=False)
    for fp in (with_hair, without):
        monkeypatch.setattr(fp, "landmarks", lambda rgb: [pts])

    def protected(fp):
        out = np.zeros(img.shape[:2], bool)
        for x0, y0, x1, y1, features in fp.regions(img):
            out[y0:y1, x0:x1] |= features
        return out

    a, b = protected(with_hair), protected(without)
    assert b[105, 80] and a[105, 80], "eyes are protected either way"
    assert a[30, 100] and not b[30, 100]
    assert np.all(a[b])


def test_coarse_view_grows_sure_blobs_where_the_fine_view_supports_it(tiny_model_path, monkeypatch):
    """A coarse map that calls everything ink: the seed grows into its faint neighbour (fine support),
    not into plain skin (no support), and a faint mark alone (no seed) stays out."""
    img = skin(300, 400)
    img[100:110, 100:175] = 15  # sure ink
    img[100:110, 175:250] = 85  # faint (prob ~0.23 with the tiny model), touching it
    img[200:210, 100:250] = 85  # faint, alone
    remover = Remover(tiny_model_path, protect_face=False, threshold=0.5, min_skin_around=0,
                      coarse_detect_size=64, coarse_support=0.1)
    monkeypatch.setattr(remover, "_coarse_small", lambda rgb, shape: np.full(shape, 0.99, np.float32))
    mask = remover.remove(img).ink_mask
    assert (mask[102:108, 100:250] == 255).all()
    assert mask[200:210, 100:250].max() == 0
    assert mask[150:180].max() == 0 and mask[:, 300:].max() == 0  # skin the fine view calls clean
    remover.config.coarse_detect_size = 0  # off: the real _coarse_small returns None
    monkeypatch.undo()
    plain = remover.remove(img).ink_mask
    assert plain[102:108, 185:250].max() == 0


def test_coarse_small_is_off_unless_smaller_than_the_detection(tiny_model_path):
    img = skin(300, 400)
    remover = Remover(tiny_model_path, protect_face=False, detect_size=256, coarse_detect_size=128)
    coarse = remover._coarse_small(img, (192, 256))
    assert coarse.shape == (192, 256) and coarse.dtype == np.float32
    assert Remover(tiny_model_path, protect_face=False, coarse_detect_size=0)._coarse_small(img, (192, 256)) is None
    assert Remover(tiny_model_path, protect_face=False, coarse_detect_size=300)._coarse_small(img, (192, 256)) is None


def test_mirror_detect_averages_the_photo_and_its_mirror_image(tiny_model_path):
    """A stand-in detector that is not mirror-symmetric (ink = x / width): averaged with its run on the
    mirrored photo it gives 0.5 everywhere; without mirror_detect it stays a ramp."""
    img = skin(300, 400)

    def ramp(rgb, want_clean=True):
        h, w = rgb.shape[:2]
        ink = np.tile((np.arange(w, dtype=np.float32) + 0.5) / w, (h, 1))
        return ink, (rgb.astype(np.float32) / 255 if want_clean else None)

    out = {}
    for mirror in (False, True):
        remover = Remover(tiny_model_path, protect_face=False, mirror_detect=mirror)
        remover.model.run = ramp
        out[mirror] = remover._detect_small(img)[0]
    np.testing.assert_allclose(out[True], 0.5, atol=1e-6)
    assert out[False][:, -1].mean() - out[False][:, 0].mean() > 0.9
    assert Remover(tiny_model_path, protect_face=False).config.mirror_detect  # on by default


def _textured_skin_with_smooth_disc(seed: int = 0):
    """(rgb, out, alpha): skin with pore-like grain; ``out`` = rgb with a smooth disc in the middle."""
    rng = np.random.default_rng(seed)
    grain = cv2.GaussianBlur(rng.normal(0, 6, (200, 200)).astype(np.float32), (0, 0), 0.6)
    rgb = np.clip(np.array([200, 150, 125], np.float32) + grain[..., None], 0, 255).astype(np.uint8)
    alpha = np.zeros((200, 200), np.float32)
    cv2.circle(alpha, (100, 100), 40, 1.0, -1)
    out = rgb.copy()
    out[alpha > 0] = (200, 150, 125)
    return rgb, out, alpha


def test_grain_gives_a_smooth_fill_the_texture_of_the_skin_around():
    from skindeep.colour import luminance
    from skindeep.remove.grain import add_grain, high_pass

    rgb, out, alpha = _textured_skin_with_smooth_disc()
    ring = (cv2.dilate((alpha > 0).astype(np.uint8), np.ones((25, 25), np.uint8)) > 0) & (alpha == 0)
    inner = cv2.erode((alpha > 0).astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    reference = high_pass(luminance(rgb))[ring].std()
    assert high_pass(luminance(out))[inner].std() < 0.1 * reference  # the fill is smooth
    grained = out.copy()
    add_grain(rgb, grained, alpha, [(0, 0, 200, 200)])
    assert 0.6 * reference < high_pass(luminance(grained))[inner].std() < 1.4 * reference
    assert np.array_equal(grained[alpha == 0], rgb[alpha == 0])  # nothing outside the mask
    assert abs(grained[inner].astype(float).mean() - out[inner].astype(float).mean()) < 1.0  # colour kept
    again = out.copy()
    add_grain(rgb, again, alpha, [(0, 0, 200, 200)])
    assert np.array_equal(again, grained)  # deterministic


def test_grain_leaves_an_already_textured_fill_alone():
    from skindeep.remove.grain import add_grain

    rgb, _, alpha = _textured_skin_with_smooth_disc()
    textured = rgb.copy()  # a fill with the skin's own texture already
    add_grain(rgb, textured, alpha, [(0, 0, 200, 200)])
    assert np.abs(textured.astype(int) - rgb).mean() < 0.5


def test_cli_grain_option(tiny_model_path, tmp_path):
    img = with_mark(skin(200, 300), 100, 60, 10, 150)
    PILImage.fromarray(img).save(tmp_path / "p.png")
    outs = []
    for flags in ([], ["--grain", "1"]):
        dst = tmp_path / f"o{len(outs)}.png"
        result = _cli([tmp_path / "p.png", "-o", dst, "--model", tiny_model_path, "--no-protect-face", "-q", *flags])
        assert result.exit_code == 0, result.output
        outs.append(np.asarray(PILImage.open(dst)))
    assert not np.array_equal(outs[0], outs[1])
    assert np.array_equal(outs[1][:60], img[:60])  # far from the ink: untouched
