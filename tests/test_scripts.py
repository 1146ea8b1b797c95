"""Helpers of the experiment scripts in scripts/ (run as files, so loaded by path here)."""

import runpy
from pathlib import Path

import numpy as np

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
