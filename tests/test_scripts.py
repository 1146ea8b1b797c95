"""Helpers of the scripts in scripts/ (run as files, so loaded by path here)."""

import runpy
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def test_mine_negatives_finds_the_largest_blobs_and_crops_around_them():
    mine = runpy.run_path(str(SCRIPTS / "mine_negatives.py"))
    mask = np.zeros((400, 600), np.uint8)
    mask[100:140, 300:380] = 255  # 3200 px: a false alarm
    mask[300:302, 50:52] = 255  # 4 px: under MIN_BLOB, ignored
    boxes = mine["blob_boxes"](mask)
    assert boxes == [(300, 100, 80, 40)]
    rgb = np.zeros((400, 600, 3), np.uint8)
    rgb[100:140, 300:380] = 200  # the blob is bright: it must be in the crop
    rng = np.random.default_rng(0)
    for _ in range(10):
        crop = mine["crop_around"](rgb, boxes[0], rng, 160)
        assert crop.shape == (160, 160, 3) and crop.max() == 200
        # whole: the short side (400 px) around the blob, so the 80 px blob is 32 px wide at 160
        whole = mine["crop_around"](rgb, boxes[0], rng, 160, whole=True)
        cols = np.nonzero((whole[..., 0] > 100).any(0))[0]
        assert whole.shape == (160, 160, 3) and 30 <= cols.size <= 34


@pytest.fixture(scope="module")
def pictures():
    return runpy.run_path(str(SCRIPTS / "make_readme_pictures.py"))


def test_readme_pictures_match_what_the_shipped_model_makes_now(pictures, tmp_path):
    """The README shows examples/before_after.jpg as what `skindeep remove` does; remade from the shipped
    model they must match (else: python scripts/make_readme_pictures.py, and look at the caption)."""
    result, sheet = pictures["make"](tmp_path)
    for committed, fresh in ((pictures["RESULT"], result), (pictures["SHEET"], sheet)):
        change = pictures["difference"](committed, fresh)
        assert change.matches, (f"{committed.name} is stale: {change} against what the tool makes now; "
                                "run python scripts/make_readme_pictures.py")


def test_picture_difference_ignores_jpeg_noise_but_not_a_changed_result(pictures, tmp_path):
    """The tolerance: re-encoding a picture at a lower JPEG quality passes; repainting 1 % of it fails."""
    source = pictures["RESULT"]
    rgb = np.asarray(Image.open(source).convert("RGB"))
    Image.fromarray(rgb).save(tmp_path / "requality.jpg", quality=75)
    assert pictures["difference"](source, tmp_path / "requality.jpg").matches
    patched = rgb.copy()
    patched[:64, :64] = 255 - patched[:64, :64]  # 4096 px = 1 % of the 640x640 example
    Image.fromarray(patched).save(tmp_path / "patched.png")
    change = pictures["difference"](source, tmp_path / "patched.png")
    assert not change.matches and change.share_over_8 == pytest.approx(0.01, abs=0.002)


def test_real_holes_cuts_inside_the_skin_and_scores_against_the_photo():
    holes = runpy.run_path(str(SCRIPTS / "real_holes.py"))
    skin = np.zeros((200, 300), bool)
    skin[40:180, 60:200] = True  # a limb
    disc = lambda rng, n: (np.hypot(*np.mgrid[:n, :n] - n / 2) < n / 2)  # noqa: E731
    hole = holes["cut_hole"](skin, np.random.default_rng(1), disc)
    assert hole is not None and hole.sum() >= 150 and not (hole & ~skin).any()
    box = holes["loose_box"](hole)
    ys, xs = np.nonzero(hole)
    assert box[ys, xs].all() and box.sum() > hole.sum()
    by, bx = np.nonzero(box)
    assert by.min() == max(0, ys.min() - 8 - (np.ptp(ys) + 1) // 10)  # grown by 8 px + 10 %
    assert holes["cut_hole"](np.zeros((200, 300), bool), np.random.default_rng(1), disc) is None
    truth = np.random.default_rng(2).integers(0, 256, (200, 300, 3)).astype(np.uint8)
    assert holes["scores"](truth, truth, hole) == (60.0, 0.0)
    off = truth.copy()
    off[hole] = np.clip(off[hole].astype(int) + 10, 0, 255)  # 10 grey levels too light, inside only
    psnr, low = holes["scores"](off, truth, hole)
    assert 27.0 < psnr < 29.0 and 3.0 < low < 10.5
    assert holes["relief"](truth, truth, hole) == pytest.approx((1.0, 1.0))
    rng = np.random.default_rng(3)
    grain = np.clip(128 + rng.normal(0, 12, (200, 300, 1)), 0, 255).astype(np.uint8).repeat(3, 2)
    flat = grain.copy()
    flat[hole] = 128  # an airbrushed fill
    fine, rel = holes["relief"](flat, grain, hole)
    assert fine < 0.1 and rel < 0.5  # the flat fill has next to none of the grain's texture
    bumps = cv2.GaussianBlur(rng.normal(0, 1, (200, 300)).astype(np.float32), (0, 0), 5)
    bumps *= 20 / bumps.std()  # creases: relief, next to no grain
    skin_like = np.clip(128 + bumps[..., None] + rng.normal(0, 8, (200, 300, 1)), 0, 255).astype(np.uint8)
    relief_only = np.clip(128 + bumps[..., None], 0, 255).astype(np.uint8).repeat(3, 2)
    fine, rel = holes["relief"](relief_only, skin_like.repeat(3, 2), hole)
    assert fine < 0.5 and 0.8 < rel < 1.05  # the fill has the creases but not the grain
