"""The shipped model's skin head on real photos: clothes and hair are (almost) never repainted, a real
face keeps its features even under a hand-painted mask, and a portrait tattoo's "face" is not
protected as if it were a person's (the fixture-based face test with the stand-in model is in
test_remove.py)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from skindeep.model.skin import LABEL_CLOTHING, LABEL_HAIR, photo_labels
from skindeep.remove import Remover
from skindeep.remove.face import FaceProtector, face_hull
from skindeep.synth import split_clothes
from skindeep.synth.photos import read_rgb

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def remover() -> Remover:
    r = Remover()
    if not r.model.has_skin:
        pytest.fail("the shipped model has no skin head")
    return r


def _changed(remover: Remover, rgb: np.ndarray, **kw) -> np.ndarray:
    return np.any(remover.remove(rgb, **kw).image != rgb, axis=2)


def test_clothing_and_hair_are_hardly_ever_repainted(remover, shared_data):
    """Clothes hold-out photos (never trained on), hand-labelled: of the pixels labelled clothing or hair
    (a few pixels away from any other label: hand labels are not pixel-exact), the skin gate changes
    under 0.5 %, and at most half of what the same network changes with the gate off. Since session 10 the
    detector itself hardly fires on these clothes at the shipped threshold (0 pixels ungated), so both run
    at threshold 0.2 to give the gate something to stop: measured 0.19 % gated against 0.53 % ungated
    (session 5, at the shipped threshold: 0.24 % against 3.4 %)."""
    bare = Remover(skin_gate=0.0, min_skin_around=0.0)
    gated = ungated = total = 0
    for photo in split_clothes(shared_data / "clothes")[1][:12]:
        rgb = read_rgb(photo)
        labels = photo_labels(photo)
        deep = cv2.erode(np.isin(labels, (LABEL_CLOTHING, LABEL_HAIR)).astype(np.uint8),
                         np.ones((7, 7), np.uint8)).astype(bool)
        gated += int((_changed(remover, rgb, threshold=0.2, protect_face=False) & deep).sum())
        ungated += int((_changed(bare, rgb, threshold=0.2, protect_face=False) & deep).sum())
        total += int(deep.sum())
    assert ungated > 0.002 * total, "the test cannot fail: the ungated network repaints no clothes here"
    assert gated < 0.005 * total and gated <= 0.5 * ungated, (gated, ungated, total)


def test_real_face_features_stay_when_a_hand_mask_covers_them(remover):
    """The bundled FRL portrait with a hand-painted mask (``mask_mode="replace"``) over the hand-checked
    feature boxes (tests/fixtures/face_boxes.json): without face protection every feature is repainted;
    with it, at most 1 % of any box changes (the boxes are drawn a little beyond the landmark outlines).
    Since candidate C (session 10) the detector no longer reaches brows, eyes or lips even at threshold
    0.05, so a hand mask is what floods the face here."""
    boxes = json.loads((ROOT / "tests" / "fixtures" / "face_boxes.json").read_text())["photos"]["examples/tattooed.jpg"]
    rgb = read_rgb(ROOT / "examples" / "tattooed.jpg")
    painted = np.zeros(rgb.shape[:2], np.uint8)
    for x0, y0, x1, y1 in boxes["boxes"].values():
        painted[y0:y1, x0:x1] = 255
    bare = remover.remove(rgb, mask=painted, mask_mode="replace", protect_face=False).image
    out = remover.remove(rgb, mask=painted, mask_mode="replace").image
    for name, (x0, y0, x1, y1) in boxes["boxes"].items():
        assert np.any(bare[y0:y1, x0:x1] != rgb[y0:y1, x0:x1]), f"the test cannot fail: the {name} is not painted"
        changed = np.any(out[y0:y1, x0:x1] != rgb[y0:y1, x0:x1], axis=2).mean()
        assert changed <= 0.01, f"{changed:.1%} of the {name} changed"


def test_portrait_tattoo_face_is_not_protected_and_is_removed(remover, shared_data):
    """real-dev's chest portrait (bivtatt_106_1): dlib finds a face in the tattoo. It is mostly ink with
    no hair around it (to the skin head), so face protection leaves it to the remover: the output is the
    same with and without protection, and the tattooed face is removed: its mask covers it (the detector's
    recall: 36 % of its face in session 5, 93 % with the session-10 model) and the whole mask is filled."""
    photo = shared_data / "real-dev" / "bivtatt_106_1.jpg"
    if not photo.is_file():
        pytest.skip(f"{photo} not found")
    rgb = read_rgb(photo)
    faces = FaceProtector().landmarks(rgb)
    if not faces:
        pytest.skip("dlib is not installed or finds no face in the portrait")
    (x0, y0, x1, y1), hull = face_hull(faces[0], rgb.shape[:2])
    protected = remover.remove(rgb).image
    unprotected = remover.remove(rgb, protect_face=False).image
    assert np.array_equal(protected, unprotected), "the tattooed face was protected like a person's"
    changed = np.any(protected[y0:y1, x0:x1] != rgb[y0:y1, x0:x1], axis=2)[hull]
    assert changed.mean() > 0.75, f"only {changed.mean():.0%} of the tattooed face changed"
    # and the drawn face is gone, not only changed: its eyes, nose and shading spread the lightness inside the
    # hull (std 34 L); filled, it is skin (7). Filling dense ink only left the face as a pale drawing (23).
    spread = [cv2.cvtColor(x[y0:y1, x0:x1], cv2.COLOR_RGB2LAB)[hull][:, 0].astype(np.float32).std()
              for x in (rgb, protected)]
    assert spread[1] < 0.35 * spread[0], f"the face's lightness spread went only from {spread[0]:.0f} to {spread[1]:.0f}"


def test_skin_map_of_the_bundled_portrait(remover):
    """``Remover.skin``: full-size (H, W, 3) probabilities. On the bundled portrait the face box's
    middle (tests/fixtures/face_boxes.json: between the eyes and the lips) is skin, the top of the head
    is hair above the brows, the bottom rows hold clothing, and the grey backdrop in the corners is none
    of them. Without the skin gate there is no map."""
    boxes = json.loads((ROOT / "tests" / "fixtures" / "face_boxes.json").read_text())["photos"]["examples/tattooed.jpg"]
    rgb = read_rgb(ROOT / "examples" / "tattooed.jpg")
    skin = remover.skin(rgb)
    assert skin.shape == (*rgb.shape[:2], 3) and skin.dtype == np.float32
    eye_bottom = boxes["boxes"]["left_eye"][3]
    lips_top = boxes["boxes"]["lips"][1]
    brow_top = min(boxes["boxes"]["left_brow"][1], boxes["boxes"]["right_brow"][1])
    middle = skin[eye_bottom + 10:lips_top - 10, 280:350]
    assert (middle[..., 0] > 0.5).mean() > 0.95
    assert (skin[:brow_top - 40, :, 1] > 0.5).sum() > 0.5 * (skin[..., 1] > 0.5).sum()  # hair is above the brows
    assert (skin[-60:, :, 2] > 0.5).mean() > 0.3
    corners = np.concatenate([skin[:40, :40].reshape(-1, 3), skin[:40, -40:].reshape(-1, 3)])
    assert (corners.max(axis=1) < 0.5).mean() > 0.9
    assert Remover(skin_gate=0.0).skin(rgb) is None


def test_detect_with_skin_is_detect_and_skin_from_one_pass(remover):
    """The pseudo-labeller's single pass gives exactly what the two separate calls give."""
    rgb = read_rgb(ROOT / "examples" / "tattooed.jpg")
    prob, skin = remover.detect_with_skin(rgb)
    np.testing.assert_array_equal(prob, remover.detect(rgb))
    np.testing.assert_array_equal(skin, remover.skin(rgb))
    assert Remover(skin_gate=0.0).detect_with_skin(rgb)[1] is None


def test_a_region_between_a_white_shirts_halves_is_filled_in_the_chests_tone(remover, shared_data):
    """real-train's `insta_0225`: a box on a tan chest between the halves of a white shirt, given as the region.
    The fill copies only what the skin network and the colour box both call skin (experiment 30), so it comes
    out within a few grey levels of the chest around it; judged by the colour box alone it took the shirt's
    blended edge and came out 19 levels paler (measured 117.6 against 140.6, the chest 121.6)."""
    photo = shared_data / "real-train" / "insta_0225.jpg"
    if not photo.exists():
        pytest.skip(f"{photo} is not here")
    from skindeep.remove.fill import FillSettings

    rgb = read_rgb(photo)
    h, w = rgb.shape[:2]
    region = np.zeros((h, w), bool)
    for x0, y0, x1, y1 in json.loads(photo.with_suffix(".json").read_text())["boxes"]:
        region[max(0, y0 - 8):y1 + 8, max(0, x0 - 8):x1 + 8] = True
    ring = cv2.dilate(region.astype(np.uint8), np.ones((31, 31), np.uint8)).astype(bool) & ~region
    chest = ring & (remover.skin(rgb)[..., 0] >= 0.5)

    def grey_in_region(r: Remover) -> float:
        out = np.asarray(r.remove(rgb, mask=region, mask_mode="replace", protect_face=False).image)
        return float(cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)[region].mean())

    chest_grey = float(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[chest].mean())
    by_colour_box = grey_in_region(Remover(fill=FillSettings(skin_reference=False)))
    assert abs(grey_in_region(remover) - chest_grey) < 8.0, chest_grey
    assert by_colour_box - chest_grey > 12.0, (by_colour_box, chest_grey)  # the pale fill this mends
