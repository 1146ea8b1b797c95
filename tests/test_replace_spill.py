"""A replace region painted loosely over skin keeps the background and clothes it spills onto
(``skindeep.remove.pipeline._without_spill``), with the shipped skin head on real photos too."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from skindeep.model.skin import LABEL_SKIN, photo_labels
from skindeep.remove import Remover
from skindeep.remove.pipeline import _without_spill
from skindeep.synth import split_clothes
from skindeep.synth.photos import read_rgb

SKIN, BACKGROUND, FLOWER = (200, 150, 120), (20, 60, 30), (230, 60, 160)


def _photo(on_skin: np.ndarray, size: int = 40, inside: np.ndarray | None = None) -> np.ndarray:
    """A (size, size, 3) uint8 photo: skin where ``on_skin`` (any size) is 1, dark green background elsewhere;
    ``inside`` (size, size) bool gets a pink flower instead."""
    small = np.where(on_skin[..., None] > 0.5, np.uint8(SKIN), np.uint8(BACKGROUND)).astype(np.uint8)
    rgb = cv2.resize(small, (size, size), interpolation=cv2.INTER_NEAREST)
    if inside is not None:
        rgb[inside] = FLOWER
    return rgb


def _box(shape: tuple[int, int], y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    mask = np.zeros(shape, np.float32)
    mask[y0:y1, x0:x1] = 1.0
    return mask


def test_background_running_into_the_region_is_taken_out_of_it():
    on_skin = np.ones((40, 40), np.float32)
    on_skin[:, 26:] = 0.0  # an arm's edge: background from column 26 on, inside and outside the box
    kept = _without_spill(_box((40, 40), 10, 30, 8, 30), on_skin, _photo(on_skin))
    assert kept[10:30, 8:26].min() == 1.0  # the skin part of the region stays
    assert kept[:, 26:].max() == 0.0  # the background part is left as it is


def test_what_is_not_skin_but_enclosed_by_skin_stays_in_the_region():
    on_skin = np.ones((40, 40), np.float32)
    on_skin[16:22, 16:22] = 0.0  # a dense piece the skin head doubts, skin all round it
    mask = _box((40, 40), 10, 30, 10, 30)
    np.testing.assert_array_equal(_without_spill(mask, on_skin, _photo(on_skin)), mask)


def test_a_region_painted_on_the_cloth_itself_is_left_whole():
    on_skin = np.ones((40, 40), np.float32)
    on_skin[:, 20:] = 0.0
    mask = _box((40, 40), 10, 30, 16, 36)  # 80 % cloth: the user means the cloth
    np.testing.assert_array_equal(_without_spill(mask, on_skin, _photo(on_skin)), mask)


def test_non_skin_that_stops_at_the_region_edge_stays_in_it():
    on_skin = np.ones((40, 40), np.float32)
    on_skin[10:16, 10:18] = 0.0  # a dense piece at the region's edge, skin beyond it
    mask = _box((40, 40), 10, 30, 10, 30)
    np.testing.assert_array_equal(_without_spill(mask, on_skin, _photo(on_skin)), mask)


def test_a_flower_at_the_region_edge_next_to_the_background_stays_in_it():
    """The skin head calls both the flower and the dark background beyond it "not skin", and on its coarse
    map they touch: the flower's colour is not the background's, so it is the user's to remove."""
    on_skin = np.ones((40, 40), np.float32)
    on_skin[:16, :18] = 0.0  # background in the corner, running into the flower
    flower = np.zeros((40, 40), bool)
    flower[10:16, 10:18] = True
    mask = _box((40, 40), 10, 30, 10, 30)
    kept = _without_spill(mask, on_skin, _photo(on_skin, inside=flower))
    np.testing.assert_array_equal(kept, mask)
    background = _without_spill(mask, on_skin, _photo(on_skin))  # the same shapes, all background
    assert background[10:16, 10:18].max() == 0.0


def test_a_coarse_map_is_scaled_up():
    on_skin = np.ones((20, 20), np.float32)  # the skin head's map at half the photo's size
    on_skin[:8, :] = 0.0  # background above the body, running into the box
    kept = _without_spill(_box((40, 40), 10, 34, 10, 30), on_skin, _photo(on_skin))
    assert kept[10:15, 10:30].max() == 0.0 and kept[17:34, 10:30].min() == 1.0


def test_the_shipped_model_keeps_the_background_of_a_loose_box_on_real_photos(shared_data):
    """Clothed people of the clothes/ hold-out (never trained on), hand-labelled: a box around the edge of
    the bare skin, about two thirds skin, painted as a replace region. The labelled background in it (7 px from any skin) is
    left as it was, bit for bit, on at least 90 % of its pixels (2 photos of the hold-out have such a box);
    without the rule at least half of it is painted skin-coloured. The skin in the box is still replaced."""
    remover = Remover()
    tried = 0
    for photo in split_clothes(shared_data / "clothes")[1]:
        rgb = read_rgb(photo)
        skin = photo_labels(photo) == LABEL_SKIN
        if skin.shape != rgb.shape[:2]:
            continue
        h, w = skin.shape
        count, parts, stats, _ = cv2.connectedComponentsWithStats(skin.astype(np.uint8))
        if count < 2 or stats[1:, cv2.CC_STAT_AREA].max() < 0.03 * h * w:
            continue  # bare skin too small (a face, a hand) for a box mostly on skin
        body = parts == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        side = min(h, w) // 4
        # the box is centred on a point of the largest bare skin's outline, where it holds 60-85 % skin
        inner = cv2.distanceTransform(body.astype(np.uint8), cv2.DIST_L2, 3)
        edge = np.argwhere((inner > 0) & (inner < 1.5))
        for cy, cx in edge[:: max(1, len(edge) // 50)]:
            y0, x0 = max(0, cy - side // 2), max(0, cx - side // 2)
            region = _box((h, w), y0, y0 + side, x0, x0 + side)
            share = skin[region > 0].mean()
            if 0.6 <= share <= 0.85:
                break
        else:
            continue
        tried += 1
        out = remover.remove(rgb, mask=region, mask_mode="replace", protect_face=False).image
        changed = np.any(out != rgb, axis=2)
        far = (region > 0) & (cv2.distanceTransform((~skin).astype(np.uint8), cv2.DIST_L2, 3) > 7)
        on = (region > 0) & cv2.erode(skin.astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool)
        assert changed[far].mean() <= 0.1, (photo.name, changed[far].mean())
        assert changed[on].mean() >= 0.9, (photo.name, changed[on].mean())
        if tried == 1:  # the test can fail: without the rule, the background in the box is repainted
            whole = Remover(replace_keeps_spill=False).remove(rgb, mask=region, mask_mode="replace",
                                                              protect_face=False).image
            assert np.any(whole != rgb, axis=2)[far].mean() >= 0.5
        if tried == 2:
            return
    pytest.fail(f"only {tried} clothes hold-out photos had a box of the kind this test needs")


def test_no_sliver_of_the_region_is_left_on_the_background_where_its_edge_falls_between_map_pixels():
    """A 563 px photo seen by a 320 px skin map: the box's first row lies between two map rows. Scaled up,
    the spill reached only part of the way there and that row stayed in the region, a 1 px line of skin
    drawn across the background."""
    on_skin = np.ones((320, 320), np.float32)
    on_skin[:, :80] = 0.0  # background on the left, inside and outside the box
    mask = _box((563, 563), 263, 388, 96, 300)
    kept = _without_spill(mask, on_skin, _photo(on_skin, size=563))
    edge = 80 * 563 // 320
    assert kept[263:388, 96:edge - 2].max() == 0.0  # every row of the box, its first included
    assert kept[263:388, edge + 2:300].min() == 1.0


def test_the_kept_background_follows_the_silhouette_at_the_photos_resolution():
    """A 1200 px photo seen by a 100 px skin map (12 photo pixels per map pixel), a slanted arm's edge across a
    box: scaled up, the map's edge is a staircase up to 12 px off the silhouette. The edge of what is kept
    follows the silhouette itself, within a pixel or two."""
    size, small = 1200, 100
    yy, xx = np.mgrid[:size, :size]
    skin_px = xx > 300 + 0.4 * yy  # the arm to the right of a slanted silhouette
    rgb = np.where(skin_px[..., None], np.uint8(SKIN), np.uint8(BACKGROUND)).astype(np.uint8)
    on_skin = (cv2.resize(skin_px.astype(np.float32), (small, small), interpolation=cv2.INTER_AREA) >= 0.5)
    mask = _box((size, size), 300, 900, 250, 1000)
    kept = _without_spill(mask, on_skin.astype(np.float32), rgb) > 0
    inside = mask > 0
    wrong = inside & (kept != skin_px)  # background still in the region, or arm taken out of it
    rows_off = wrong.reshape(size, size).sum(1)[300:900]
    assert rows_off.max() <= 2, rows_off.max()
    staircase = inside & ((cv2.resize(on_skin.astype(np.float32), (size, size)) >= 0.5) != skin_px)
    assert staircase.sum(1)[300:900].max() >= 5  # what the scaled-up map alone would leave
