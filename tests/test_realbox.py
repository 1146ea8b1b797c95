"""Weak supervision from real tattoo boxes: the dataset's maps and the box losses."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from skindeep.model.data import RealBoxDataset  # noqa: E402
from skindeep.model.losses import box_losses, box_pairwise  # noqa: E402


@pytest.fixture()
def boxed_photo(tmp_path):
    img = np.full((120, 160, 3), 180, np.uint8)
    cv2.imwrite(str(tmp_path / "insta_0001.jpg"), img)
    (tmp_path / "insta_0001.json").write_text(json.dumps({"boxes": [[40, 30, 100, 90]]}))
    cv2.imwrite(str(tmp_path / "artist_0001.jpg"), img)  # no boxes: not used
    (tmp_path / "artist_0001.json").write_text(json.dumps({"boxes": []}))
    return tmp_path


def test_dataset_maps_are_consistent(boxed_photo):
    ds = RealBoxDataset(sorted(boxed_photo.glob("*.jpg")), 64, length=8)
    assert len(ds.items) == 1  # the photo without boxes is left out
    for i in range(len(ds)):
        item = ds[i]
        box, core, outside = item["box"], item["core"], item["outside"]
        assert item["image"].shape == (3, 64, 64) and box.shape == core.shape == outside.shape == (1, 64, 64)
        assert item["lab"].shape == (3, 64, 64) and float(item["lab"][0].max()) <= 100.0
        assert box.sum() > 0 and core.sum() > 0  # the crop is taken around the box
        assert bool((core <= box).all())  # the core lies inside the box
        assert float((box * outside).sum()) == 0  # "no ink" never inside a box


def test_box_losses_reward_ink_through_the_core_and_nothing_outside():
    box = torch.zeros(1, 1, 32, 32)
    box[..., 8:24, 8:24] = 1
    core = torch.zeros_like(box)
    core[..., 10:22, 10:22] = 1
    outside = 1 - box
    empty = torch.full_like(box, -6.0)
    cross = empty.clone()  # a thin cross through the core: every core row and column crosses ink
    cross[..., 16, 10:22] = 6.0
    cross[..., 10:22, 16] = 6.0
    spill = torch.full_like(box, 6.0)
    proj_empty, neg_empty = box_losses(empty, box, core, outside)
    proj_cross, neg_cross = box_losses(cross, box, core, outside)
    _, neg_spill = box_losses(spill, box, core, outside)
    assert float(proj_cross) < 0.1 < 0.9 < float(proj_empty)  # sparse ink is enough, no ink is not
    assert float(neg_cross) == pytest.approx(float(neg_empty)) and float(neg_empty) < 0.01
    assert float(neg_spill) > 5  # ink outside every box is punished


def two_colour_box():
    """A 32 px crop: skin colour with a dark stripe (the ink) at columns 12..19, all inside a box."""
    rgb = np.full((32, 32, 3), (200, 160, 140), np.uint8)
    rgb[:, 12:20] = (40, 40, 60)
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    stripe = torch.zeros(1, 1, 32, 32, dtype=torch.bool)
    stripe[..., 12:20] = True
    return torch.from_numpy(lab.transpose(2, 0, 1))[None], stripe, torch.ones(1, 1, 32, 32)


def test_box_pairwise_rewards_one_confident_label_per_colour():
    lab, stripe, box = two_colour_box()
    follows_colour = torch.where(stripe, 6.0, -6.0)  # ink on the stripe, skin elsewhere: sharp label edge
    unsure = torch.zeros_like(follows_colour)  # p = 0.5 everywhere
    speckled = follows_colour.clone()
    speckled[..., ::2, ::4] *= -1  # labels that flip inside one colour
    good, bad, noisy = (float(box_pairwise(x, lab, box)) for x in (follows_colour, unsure, speckled))
    assert good < 0.01  # the label edge lies on the colour edge, which no pair crosses
    assert bad == pytest.approx(np.log(2), abs=1e-4)  # an unsure map pays log 2 on every pair
    assert noisy > 10 * good and noisy > 0.1


def test_box_pairwise_ignores_pairs_outside_the_boxes():
    lab, stripe, _ = two_colour_box()
    speckled = torch.where(stripe, 6.0, -6.0)
    speckled[..., ::2, ::4] *= -1
    no_box = torch.zeros(1, 1, 32, 32)
    assert float(box_pairwise(speckled, lab, no_box)) == 0.0
