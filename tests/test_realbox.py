"""Weak supervision from real tattoo boxes: the dataset's maps and the box losses."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from skindeep.model.data import RealBoxDataset  # noqa: E402
from skindeep.model.losses import box_losses  # noqa: E402


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
