"""Real ink layers lifted off tattoo photos (skindeep.model.realink) and read back as designs
(skindeep.synth.realink). Tiny photos made here."""

from __future__ import annotations

import numpy as np
import pytest

from skindeep.errors import InputError
from skindeep.model.realink import ink_layer, photo_layers
from skindeep.synth.realink import RealInkBank, read_layer, write_layer

SKIN = np.array([200.0, 150.0, 120.0], np.float32)


def _photo() -> tuple[np.ndarray, dict[str, tuple[slice, slice]]]:
    """(100, 100, 3) uint8 flat skin with, inside the box [20, 20, 70, 80): a black line, a yellow blob and a
    broad shallow shadow (a shading error's depth, 15 % darker)."""
    t = np.ones((100, 100, 3), np.float32)
    parts = {"line": (slice(30, 70), slice(30, 33)), "yellow": (slice(40, 50), slice(45, 60)),
             "shadow": (slice(72, 79), slice(40, 68))}
    t[parts["shadow"]] = 0.85
    t[parts["line"]] = 0.3
    t[parts["yellow"]] = (1.0, 0.95, 0.45)
    return np.round(SKIN * t).astype(np.uint8), parts


def test_ink_layer_takes_ink_of_any_colour_and_leaves_shallow_shading():
    photo, parts = _photo()
    inside = np.zeros((100, 100), bool)
    inside[20:80, 20:70] = True
    amount, reflect = ink_layer(photo, np.broadcast_to(SKIN, photo.shape), inside)
    assert amount[parts["line"]].min() == 1.0
    assert amount[parts["yellow"]].min() > 0.8
    assert amount[parts["shadow"]].max() == 0.0
    assert amount[~inside].max() == 0.0
    t = 1.0 - amount[..., None] * (1.0 - reflect)
    for part in ("line", "yellow"):  # the layer gives back the ink's transmittance on its own skin
        np.testing.assert_allclose(t[parts[part]], photo[parts[part]] / SKIN, atol=0.01)


def test_photo_layers_cut_each_box_and_skip_boxes_without_ink():
    photo, parts = _photo()
    skin = np.ones((100, 100), np.float32)
    layers = list(photo_layers(photo, skin, [[20, 20, 70, 80], [75, 5, 95, 60]]))
    assert len(layers) == 1  # the second box (x 75-95) holds bare skin only
    box, amount, reflect = layers[0]
    assert box == [20, 20, 70, 80] and amount.shape == (60, 50) and reflect.shape == (60, 50, 3)
    assert amount[10:50, 10:13].min() > 0.95  # the line, in the box's own coordinates
    assert amount[52:59, 20:48].max() == 0.0  # the shadow


def test_bank_round_trip_and_draw(tmp_path):
    amount = np.zeros((30, 90), np.float32)
    amount[10:20, 10:80] = 1.0
    reflect = np.full((30, 90, 3), 0.25, np.float32)
    write_layer(tmp_path / "a_0.png", amount, reflect)
    a, r = read_layer(tmp_path / "a_0.png")
    np.testing.assert_allclose(a, amount, atol=1 / 255)
    np.testing.assert_allclose(r, reflect, atol=1 / 255)
    design = RealInkBank(tmp_path).draw(np.random.default_rng(0), 45)
    assert design.alpha.shape == (45, 45) and design.colour.shape == (45, 45, 3)
    assert design.alpha[:15].max() == 0.0 and design.alpha[20:25, 10:35].min() > 0.9  # squared, centred
    assert design.params == dict(generator="realink", file="a_0.png")


def test_bank_errors_name_the_folder(tmp_path):
    with pytest.raises(InputError, match="nope"):
        RealInkBank(tmp_path / "nope")
    (tmp_path / "x.png").write_bytes(b"not a png")
    with pytest.raises(InputError, match="x.png"):
        read_layer(tmp_path / "x.png")


def test_a_deep_shadow_that_keeps_the_skins_hue_needs_the_detector_to_count_as_ink():
    """A limb's shadow darkens every channel alike; black ink on skin is bluer than the skin. Without the
    detector's word the first is dropped and the second kept."""
    t = np.ones((60, 60, 3), np.float32)
    t[5:25, 5:55] = 0.45  # the shadow: deep, the skin's own hue
    t[35:40, 5:55] = (0.30, 0.37, 0.46)  # a black line
    photo = np.round(SKIN * t).astype(np.uint8)
    inside = np.ones((60, 60), bool)
    skin = np.broadcast_to(SKIN, photo.shape)
    unseen, _ = ink_layer(photo, skin, inside, prob=np.zeros((60, 60), np.float32))
    assert unseen[5:25, 5:55].max() == 0.0 and unseen[35:40, 5:55].min() == 1.0
    seen = np.zeros((60, 60), np.float32)
    seen[5:25, 5:55] = 0.9
    kept, _ = ink_layer(photo, skin, inside, prob=seen)
    assert kept[5:25, 5:55].min() > 0.9 and kept[35:40, 5:55].min() == 1.0


def test_a_layer_that_fills_its_whole_box_is_dropped():
    photo = np.full((100, 100, 3), SKIN, np.float32)
    photo[20:80, 20:70] *= np.array([0.5, 0.45, 0.4], np.float32)  # the whole box darker: mispredicted skin
    layers = list(photo_layers(np.round(photo).astype(np.uint8), np.ones((100, 100), np.float32), [[20, 20, 70, 80]]))
    assert layers == []


def test_builder_names_a_folder_without_boxed_photos(tmp_path):
    from skindeep.model.realink import main

    with pytest.raises(SystemExit, match="nope: no boxed tattoo photos"):
        main(["--out", str(tmp_path / "bank"), "--real", str(tmp_path / "nope")])
    assert not (tmp_path / "bank").exists()
