"""The shipped model's skin head on real photos: clothes are never repainted, a portrait tattoo is
removed while real faces keep their features (the fixture-based face test is in test_remove.py)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from skindeep.model.skin import LABEL_CLOTHING, LABEL_HAIR, photo_labels, split_clothes
from skindeep.remove import Remover
from skindeep.remove.face import FaceProtector, face_hull
from skindeep.synth.photos import read_rgb


@pytest.fixture(scope="module")
def remover() -> Remover:
    r = Remover()
    if not r.model.has_skin:
        pytest.fail("the shipped model has no skin head")
    return r


def test_nothing_labelled_clothing_or_hair_is_repainted(remover, shared_data):
    """Clothes hold-out photos (never trained on), hand-labelled: pixels labelled clothing or hair, a few
    pixels away from any other label (hand labels are not pixel-exact), never change."""
    photos = split_clothes(shared_data / "clothes")[1][:12]
    changed_total = 0
    for photo in photos:
        rgb = read_rgb(photo)
        labels = photo_labels(photo)
        not_skin = np.isin(labels, (LABEL_CLOTHING, LABEL_HAIR)).astype(np.uint8)
        deep = cv2.erode(not_skin, np.ones((7, 7), np.uint8)).astype(bool)
        out = remover.remove(rgb, protect_face=False).image
        changed = np.any(out != rgb, axis=2)
        assert not (changed & deep).any(), f"{photo.name}: {int((changed & deep).sum())} clothing/hair pixels changed"
        changed_total += int(changed.sum())
    # with the gate off the same photos do change (the test can fail): clothes prints look like ink
    bare = Remover(skin_gate=0.0, min_skin_around=0.0)
    repainted = sum(int(np.any(bare.remove(read_rgb(p), protect_face=False).image != read_rgb(p), axis=2).sum())
                    for p in photos)
    assert repainted > changed_total


def test_portrait_tattoo_is_removed_not_protected(remover, shared_data):
    """real-dev's chest portrait (bivtatt_106_1): dlib finds a face in the tattoo; it must be removed
    like any other ink, not protected as a person's face."""
    photo = shared_data / "real-dev" / "bivtatt_106_1.jpg"
    if not photo.is_file():
        pytest.skip(f"{photo} not found")
    rgb = read_rgb(photo)
    faces = FaceProtector().landmarks(rgb)
    if not faces:
        pytest.skip("dlib is not installed or finds no face in the portrait")
    (x0, y0, x1, y1), hull = face_hull(faces[0], rgb.shape[:2])
    out = remover.remove(rgb).image
    changed = np.any(out[y0:y1, x0:x1] != rgb[y0:y1, x0:x1], axis=2)[hull]
    assert changed.mean() > 0.5, f"only {changed.mean():.0%} of the tattooed face changed"
