"""The skin fill (skindeep.remove.fill): shading continued, real texture, no border, thin ink kept."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from skindeep.colour import to_lab
from skindeep.remove import Remover
from skindeep.remove.fill import (
    FillSettings,
    density,
    fill_skin,
    layered_texture,
    outline_gap,
    skin_base,
    skin_texture,
    snap_outline,
    take_enclosed_ink,
)


def shaded_skin(h: int = 240, w: int = 320, seed: int = 0) -> np.ndarray:
    """Skin-coloured photo: a left-to-right shading ramp (150 -> 210 in red) plus fine grain (std 6)."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 1, w, dtype=np.float32)[None, :, None]
    base = np.float32([150, 105, 85]) + ramp * np.float32([60, 45, 35])
    grain = rng.normal(0, 6, (h, w, 1)).astype(np.float32)
    return np.clip(base + grain, 0, 255).astype(np.uint8)


def disc(h: int, w: int, cy: int, cx: int, r: int) -> np.ndarray:
    mask = np.zeros((h, w), np.uint8)
    cv2.circle(mask, (cx, cy), r, 1, -1)
    return mask.astype(bool)


def high_std(rgb: np.ndarray, where: np.ndarray) -> float:
    g = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float((g - cv2.GaussianBlur(g, (0, 0), 2.0))[where].std())


def filled(rgb: np.ndarray, hole: np.ndarray, settings: FillSettings | None = None) -> np.ndarray:
    """fill_skin on ``rgb`` with the network's output standing in as 'unchanged' (the worst case)."""
    out = rgb.copy()
    alpha = hole.astype(np.float32)
    ys, xs = np.nonzero(hole)
    fill_skin(rgb, out, alpha, [(int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)],
              settings or FillSettings(floor=1.0))
    return out


def test_dense_ink_becomes_shaded_textured_skin_and_outside_is_untouched():
    truth = shaded_skin()
    hole = disc(240, 320, 120, 160, 50)
    inked = truth.copy()
    inked[hole] = (20, 20, 25)  # opaque black ink
    out = filled(inked, hole)
    assert np.array_equal(out[~hole], inked[~hole])  # bit-identical outside
    # shading continues: the fill's mean colour per column follows the true ramp
    err = np.abs(out[hole].astype(np.float32).mean(0) - truth[hole].astype(np.float32).mean(0))
    assert err.max() < 4, err
    cols = np.nonzero(hole.any(0))[0]
    left, right = cols[:20], cols[-20:]

    def slope(img: np.ndarray) -> float:  # red, right edge of the disc minus its left edge
        return float(img[:, right][hole[:, right]][:, 0].mean() - img[:, left][hole[:, left]][:, 0].mean())

    assert abs(slope(out) - slope(truth)) < 4 and slope(truth) > 12, (slope(out), slope(truth))
    # real texture: the fine detail inside is as strong as the skin's around (a smear would be ~0)
    ring = cv2.dilate(hole.astype(np.uint8), np.ones((31, 31), np.uint8)).astype(bool) & ~hole
    interior = cv2.erode(hole.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    ratio = high_std(out, interior) / high_std(truth, ring)
    assert 0.8 < ratio < 1.25, ratio
    telea = cv2.inpaint(inked, hole.astype(np.uint8) * 255, 5, cv2.INPAINT_TELEA)
    assert high_std(telea, hole) / high_std(truth, ring) < 0.5  # the reference smears


def test_no_step_at_the_border():
    truth = shaded_skin(seed=1)
    hole = disc(240, 320, 120, 160, 60)
    inked = truth.copy()
    inked[hole] = (30, 25, 25)
    out = filled(inked, hole)
    g = cv2.GaussianBlur(cv2.cvtColor(out, cv2.COLOR_RGB2GRAY).astype(np.float32), (0, 0), 2.0)
    inner = hole & ~cv2.erode(hole.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    outer = cv2.dilate(hole.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool) & ~hole
    assert abs(g[inner].mean() - g[outer].mean()) < 2.0  # in grey levels; the ink was ~130 darker


def test_no_step_where_the_skin_next_to_the_region_differs_from_the_skin_further_out():
    """A loose box over a piece, the skin just past its edge lit brighter than the skin 10 px out (a limb's
    rim light, a highlight): a user's region (no skipped band) is filled to meet the skin that touches it.
    Skipping a band next to the mask, as for a detected mask (which leaves the tattoo's halo there), anchors
    it on the darker skin beyond: a step of 5.4 grey levels here, against 2.3."""
    h, w = 200, 240
    box = np.zeros((h, w), bool)
    box[60:140, 70:170] = True
    past = cv2.distanceTransform((~box).astype(np.uint8), cv2.DIST_L2, 3)
    rim = np.float32(30) * np.exp(-past / 5.0)  # brightest at the box's edge, gone ~15 px out
    rng = np.random.default_rng(4)
    skin = np.float32([170, 120, 95]) + rim[..., None] + rng.normal(0, 3, (h, w, 1)).astype(np.float32)
    photo = np.clip(skin, 0, 255).astype(np.uint8)
    photo[90:110, 100:140] = (25, 25, 30)  # the ink, well inside the loose box
    inner = box & ~cv2.erode(box.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    outer = cv2.dilate(box.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool) & ~box

    def step(skip: bool) -> float:
        out = filled(photo, box, FillSettings(floor=1.0, skip_edge_band=skip))
        g = cv2.GaussianBlur(cv2.cvtColor(out, cv2.COLOR_RGB2GRAY).astype(np.float32), (0, 0), 1.0)
        return abs(float(g[inner].mean() - g[outer].mean()))

    assert step(skip=False) < 3.0 < step(skip=True), (step(False), step(True))


def test_the_skin_network_picks_the_reference_skin_not_the_colour_box():
    """A dark arm (a vertical band) in front of a beige wall that the YCrCb colour box also calls skin, the piece
    covering the arm's width (bivtatt_121_1, bivtatt_104_1). Judged by colour, the fill copies the wall and the arm
    comes out as a pale patch; given the skin network's map (here: the band), it continues the arm's own tone."""
    h, w = 240, 240
    rng = np.random.default_rng(5)
    photo = np.empty((h, w, 3), np.float32)
    photo[:] = (225, 190, 160)  # the beige wall: inside the colour box
    arm = np.zeros((h, w), bool)
    arm[:, 80:160] = True
    photo[arm] = (120, 80, 60)  # dark skin
    photo = np.clip(photo + rng.normal(0, 3, (h, w, 1)), 0, 255).astype(np.uint8)
    hole = np.zeros((h, w), bool)
    hole[60:180, 80:160] = True  # the piece, as wide as the arm
    photo[hole] = (35, 30, 30)
    skin_small = cv2.resize(arm.astype(np.float32), (w // 2, h // 2), interpolation=cv2.INTER_AREA)

    def grey_in_hole(skin: np.ndarray | None) -> float:
        out = photo.copy()
        fill_skin(photo, out, hole.astype(np.float32), [(80, 60, 160, 180)], FillSettings(floor=1.0), skin)
        return float(cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)[hole].mean())

    arm_grey = float(cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)[arm & ~hole].mean())
    by_colour, by_network = grey_in_hole(None), grey_in_hole(skin_small)
    assert abs(by_network - arm_grey) < 6.0, (by_network, arm_grey)
    assert by_colour - arm_grey > 30.0, (by_colour, arm_grey)  # the failure the network's map mends


def test_with_floor_0_thin_ink_is_left_to_the_network_dense_ink_is_filled():
    truth = shaded_skin(seed=2)
    h, w = truth.shape[:2]
    thin = disc(h, w, 120, 90, 30)
    dense = disc(h, w, 120, 230, 30)
    inked = truth.copy()
    inked[thin] = np.clip(inked[thin].astype(np.int16) - 8, 0, 255).astype(np.uint8)  # faded ink, Delta E ~ 5
    inked[dense] = (25, 25, 30)
    known = ~(thin | dense)
    dense_only = FillSettings(floor=0.0)
    f = density(inked, skin_base(inked, known), dense_only)
    assert f[thin].mean() < 0.1 and f[dense].mean() > 0.9
    # the faded disc keeps what the network gave (here: the photo itself)
    out = filled(inked, thin | dense, dense_only)
    assert np.abs(out[thin].astype(np.int16) - inked[thin]).mean() < 1.0
    assert out[dense].mean() > 100
    # the default fills both: the faded disc is replaced by skin of the shading around it (the photo's
    # faded disc is 8 grey levels darker than the truth)
    assert (density(inked, skin_base(inked, known), FillSettings()) == 1).all()
    out = filled(inked, thin | dense, FillSettings())
    for disc_ in (thin, dense):
        assert np.abs(out[disc_].astype(np.float32).mean(0) - truth[disc_].astype(np.float32).mean(0)).max() < 4


def test_texture_is_copied_not_invented_and_repeatable():
    truth = shaded_skin(seed=3)
    hole = disc(240, 320, 120, 160, 40)
    a = skin_texture(truth, ~hole, hole, 2.0, seed=7)
    assert np.array_equal(a, skin_texture(truth, ~hole, hole, 2.0, seed=7))
    assert not a[~hole].any() and abs(float(a[hole].mean())) < 1.0
    # no clean skin to copy from: nothing is invented
    assert not skin_texture(truth, np.zeros_like(hole), hole, 2.0, seed=7).any()


def test_texture_contrast_matches_all_the_clean_skin_around():
    """Copied patches come from the calmer skin (busy ones are skipped), but the fill's contrast is that of
    all the clean skin around: matched to the calm patches alone it looked airbrushed (experiment 19)."""
    rng = np.random.default_rng(11)
    h, w = 240, 320
    grain = rng.normal(0, 1, (h, w, 1)).astype(np.float32) * np.where(np.arange(w) < 210, 3.0, 10.0)[None, :, None]
    skin = np.clip(np.float32([180, 130, 110]) + grain, 0, 255).astype(np.uint8)
    hole = disc(h, w, 120, 160, 40)
    ring = ~hole & disc(h, w, 120, 160, 120)
    detail = skin_texture(skin, ~hole, hole, 2.0, seed=3)
    around = high_std(skin, ring)
    calm = high_std(skin, ring & (np.arange(w) < 210)[None, :])
    inside = high_std(np.clip(128 + detail, 0, 255).astype(np.uint8), hole)
    assert calm < 0.7 * around
    assert 0.8 * around < inside < 1.25 * around


def relief_skin(h: int = 240, w: int = 320, seed: int = 0) -> np.ndarray:
    """Skin with relief at two scales: fine grain (std 3) plus blotches of about 6 px (std 6)."""
    rng = np.random.default_rng(seed)
    blotches = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 3.0)
    relief = 6 * blotches / blotches.std() + rng.normal(0, 3, (h, w)).astype(np.float32)
    return np.clip(np.float32([180, 130, 110]) + relief[..., None], 0, 255).astype(np.uint8)


def sobel_mean(img: np.ndarray, where: np.ndarray) -> float:
    g = img.astype(np.float32)
    g = g.mean(2) if g.ndim == 3 else g
    return float(np.hypot(cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1))[where].mean())


def test_layered_texture_restores_coarser_relief():
    """One band (finer than sigma 2) loses the blotches: the fill is flatter than the skin around. The
    octave bands copy them too: the fill's gradient energy comes closer to the ring's, and not above it."""
    truth = relief_skin(seed=5)
    hole = disc(240, 320, 120, 160, 50)
    ring = disc(240, 320, 120, 160, 90) & ~disc(240, 320, 120, 160, 60)
    smooth = cv2.GaussianBlur(truth.astype(np.float32), (0, 0), 12.0)  # what the membrane would give
    around = sobel_mean(truth, ring)
    one = sobel_mean(smooth + layered_texture(truth, ~hole, hole, 2.0, 1, seed=7), hole) / around
    three = sobel_mean(smooth + layered_texture(truth, ~hole, hole, 2.0, 3, seed=7), hole) / around
    assert one < 0.75
    assert one + 0.05 < three < 1.1
    layers = layered_texture(truth, ~hole, hole, 2.0, 3, seed=7)
    assert np.array_equal(layers, layered_texture(truth, ~hole, hole, 2.0, 3, seed=7))
    assert not layers[~hole].any()
    # one level is exactly skin_texture's band
    assert np.array_equal(layered_texture(truth, ~hole, hole, 2.0, 1, seed=7), skin_texture(truth, ~hole, hole, 2.0, 7))


def test_replace_region_is_restored_completely(tiny_model_path):
    """A painted region goes, whatever the ink head thinks: the tiny model sees no ink in a mid-grey mark."""
    img = shaded_skin(seed=4)
    mark = disc(240, 320, 120, 160, 35)
    img[mark] = (120, 120, 125)  # not dark enough for the tiny model's ink head
    painted = cv2.dilate(mark.astype(np.uint8), np.ones((5, 5), np.uint8)) * 255
    truth = shaded_skin(seed=4)
    ring = cv2.dilate(painted, np.ones((31, 31), np.uint8)).astype(bool) & (painted == 0)
    old = Remover(tiny_model_path, protect_face=False, fill=None).remove(img, mask=painted, mask_mode="replace")
    new = Remover(tiny_model_path, protect_face=False).remove(img, mask=painted, mask_mode="replace")
    assert np.abs(new.image[mark].astype(np.float32).mean(0) - truth[mark].astype(np.float32).mean(0)).max() < 6
    # the network alone gives back a smooth patch; the fill gives back the skin's grain
    assert high_std(old.image, mark) / high_std(truth, ring) < 0.5
    assert 0.75 < high_std(new.image, mark) / high_std(truth, ring) < 1.3
    assert np.array_equal(new.image[painted == 0], img[painted == 0])


def test_replace_runs_the_network_only_where_the_fill_cannot_take_the_region(tiny_model_path, monkeypatch):
    """A filled replace pixel is the fill alone, so the network's restoration is not made for it; a region with
    no clean pixels around it to copy (the whole photo painted) still gets the network's restoration."""
    img = shaded_skin(seed=5)
    mark = disc(240, 320, 120, 90, 30)
    img[mark] = (60, 60, 70)
    remover = Remover(tiny_model_path, protect_face=False)
    restored = []
    real_restore = Remover._restore
    def counting_restore(self, rgb, alpha, *args):  # noqa: E306
        restored.append(alpha > 0)
        return real_restore(self, rgb, alpha, *args)
    monkeypatch.setattr(Remover, "_restore", counting_restore)

    result = remover.remove(img, mask=mark, mask_mode="replace")
    filled, untouched = result.image, result.ink_mask == 0
    assert restored == [] and np.array_equal(filled[untouched], img[untouched])
    assert filled[mark].mean() > img[mark].mean() + 60  # the dark mark is gone
    everything = np.ones(mark.shape, bool)
    whole = remover.remove(img, mask=everything, mask_mode="replace").image
    assert len(restored) == 1 and restored[0].all()
    plain = Remover(tiny_model_path, protect_face=False, fill=None).remove(img, mask=everything, mask_mode="replace")
    assert np.array_equal(whole, plain.image)  # the network's restoration, tone and grain as without a fill


def test_real_photo_hole_beats_telea(shared_data):
    """A tattoo-sized hole in real clean skin: the fill keeps the skin's texture, Telea smears it."""
    people = shared_data / "people"
    photos = [p for p in sorted(people.glob("*.jpg")) if p.with_name(p.stem + ".skin.png").is_file()]
    for photo in (p for p in photos if max(Image.open(p).size) >= 600):  # the first with a wide skin area
        skin = np.asarray(Image.open(photo.with_name(photo.stem + ".skin.png")).convert("L")) > 127
        inner = cv2.erode(skin.astype(np.uint8), np.ones((81, 81), np.uint8)).astype(bool)
        if inner.sum() >= 400:
            break
    else:
        pytest.skip(f"no photo of >= 600 px with a wide skin area and a skin mask in {people}")
    rgb = np.asarray(Image.open(photo).convert("RGB"))
    # the hole goes where the skin has no structure (no fold, finger or nipple): the flattest shading
    g = cv2.GaussianBlur(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32), (0, 0), 3.0)
    structure = np.sqrt(np.maximum(cv2.blur(g * g, (61, 61)) - cv2.blur(g, (61, 61)) ** 2, 0))
    structure[~inner] = np.inf
    y, x = np.unravel_index(int(np.argmin(structure)), structure.shape)
    hole = disc(*skin.shape, int(y), int(x), 20) & skin
    inked = rgb.copy()
    inked[hole] = (25, 25, 30)
    out = filled(inked, hole)
    assert np.array_equal(out[~hole], rgb[~hole])
    ring = cv2.dilate(hole.astype(np.uint8), np.ones((31, 31), np.uint8)).astype(bool) & ~hole & skin
    telea = cv2.inpaint(inked, hole.astype(np.uint8) * 255, 5, cv2.INPAINT_TELEA)
    ours, theirs = high_std(out, hole) / high_std(rgb, ring), high_std(telea, hole) / high_std(rgb, ring)
    assert ours > theirs + 0.2 and 0.6 < ours < 1.6, (ours, theirs)
    err = np.abs(out[hole].astype(np.float32).mean(0) - rgb[hole].astype(np.float32).mean(0)).max()
    assert err < 15, err  # the colour of the skin, not of the ink


def outlined_piece(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Skin with a dark ring (a tattoo's outline, radius 80, 2 px wide) and a dark speck farther out; a
    mask that stops on the ring's inner edge (the disc of radius 79). Returns (rgb, mask, ring)."""
    img = shaded_skin(seed=seed)
    ring = np.zeros((240, 320), np.uint8)
    cv2.circle(ring, (160, 120), 80, 1, 2)
    img[ring > 0] = (45, 40, 50)
    img[115:125, 20:30] = (45, 40, 50)  # other ink, far from the mask
    return img, disc(240, 320, 120, 160, 79), ring > 0


def test_membrane_relaxation_is_the_plain_jacobi_sweep():
    """The in-place sweeps give exactly what a fresh padded copy and a gather per sweep gave."""
    from skindeep.remove.fill import JACOBI_STEPS, _relax

    rng = np.random.default_rng(3)
    for shape in ((37, 53, 3), (1, 9, 3), (12, 1, 1), (64, 40, 1)):
        cur = (rng.random(shape) * 255).astype(np.float32)
        free = rng.random(shape[:2]) < 0.7
        want = cur.copy()
        for _ in range(JACOBI_STEPS):
            p = cv2.copyMakeBorder(want, 1, 1, 1, 1, cv2.BORDER_REPLICATE).reshape(
                (shape[0] + 2, shape[1] + 2, -1))
            avg = (p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:]) * np.float32(0.25)
            want[free] = avg[free]
        got = _relax(cur.copy(), free[..., None])
        assert got.shape == shape and np.array_equal(got, want), shape
        assert not np.array_equal(got[free], cur[free])  # the sweeps moved the free pixels


def test_snap_outline_takes_the_outline_left_outside_the_mask():
    img, mask, ring = outlined_piece()
    alpha = mask.astype(np.float32)
    box = (82, 42, 239, 199)
    assert outline_gap(box) == 3  # 1 % of 157 px, at least 3
    boxes = snap_outline(img, alpha, [box])
    outside = ring & ~mask
    assert outside.sum() > 1000 and (alpha[outside] == 1.0).mean() > 0.95  # the outline joins the mask
    far = cv2.distanceTransform((~(mask | ring)).astype(np.uint8), cv2.DIST_L2, 3) > 2
    assert not alpha[far & ~mask].any()  # skin beyond the outline, and the other ink, stay out
    assert not alpha[115:125, 20:30].any()
    x0, y0, x1, y1 = boxes[0]
    assert len(boxes) == 1 and x0 <= 79 and x1 >= 242 and y0 <= 39 and y1 >= 202  # the box holds the new mask


def test_snap_outline_leaves_no_feather_between_the_mask_and_the_outline_it_takes():
    """A detected mask is feathered (here its outer 2 px at 0.75); once the outline beyond is taken, that
    feather lies between ink and ink and must not let a quarter of the ink through (a dotted line in the fill)."""
    img, mask, ring = outlined_piece(seed=3)
    alpha = mask.astype(np.float32)
    inner = disc(240, 320, 120, 160, 77)
    alpha[mask & ~inner] = 0.75
    snap_outline(img, alpha, [(82, 42, 239, 199)])
    assert (alpha[mask & ~inner] == 1.0).mean() > 0.95
    assert (alpha[ring & ~mask] == 1.0).mean() > 0.95


def test_snap_outline_leaves_a_mask_on_plain_skin_alone():
    img = shaded_skin(seed=2)
    alpha = disc(240, 320, 120, 160, 60).astype(np.float32)
    alpha[cv2.distanceTransform((alpha > 0).astype(np.uint8), cv2.DIST_L2, 3) < 3] = 0.3  # a feathered edge
    before = alpha.copy()
    snap_outline(img, alpha, [(100, 60, 221, 181)])
    assert np.array_equal(alpha, before)


def soft_outlined_piece(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Skin with a tattoo's outline whose edge is blurred (ink coverage falls off over ~3 px, as a real
    line does past any mask), and a mask that stops inside the line. Returns (rgb, mask, truth)."""
    truth = shaded_skin(seed=seed)
    line = np.zeros((240, 320), np.uint8)
    cv2.circle(line, (160, 120), 80, 1, 3)
    cover = cv2.GaussianBlur(line.astype(np.float32), (0, 0), 1.5)[..., None]
    cover = np.clip(cover / cover.max(), 0, 1)
    img = np.clip(truth * (1 - cover) + np.float32([45, 40, 50]) * cover, 0, 255).astype(np.uint8)
    return img, disc(240, 320, 120, 160, 80), truth


def test_soft_edge_takes_the_blurred_edge_of_the_line():
    img, mask, truth = soft_outlined_piece(seed=6)
    box = (80, 40, 241, 201)
    lum = lambda a: a.astype(np.float32).mean(-1)  # noqa: E731
    results = {}
    for soft in (False, True):
        alpha = mask.astype(np.float32)
        on_two = alpha.copy()
        boxes = snap_outline(img, alpha, [box], soft_edge=soft)
        assert snap_outline(img, on_two, [box], soft_edge=soft, threads=2) == boxes
        assert np.array_equal(on_two, alpha)  # the box shrunk beside the distances: the same mask
        assert 0.0 <= alpha.min() and alpha.max() <= 1.0
        out = img.copy()
        fill_skin(img, out, alpha, boxes, FillSettings(floor=1.0))
        changed = alpha > 0
        band = ~changed & (cv2.distanceTransform((~changed).astype(np.uint8), cv2.DIST_L2, 3) <= 2)
        # the first 2 px just outside what was changed: how much darker than the true skin
        results[soft] = float((lum(truth) - lum(out))[band].mean()), alpha
    hard_ring, _ = results[False]
    soft_ring, alpha = results[True]
    assert hard_ring > 8  # the snap alone leaves a dark ring: the line's blurred edge
    assert soft_ring < hard_ring / 2
    # lighter skin in the band is not taken: only pixels darker than the skin around are
    soft_only = (alpha > 0) & (alpha < 1)
    assert soft_only.sum() > 100
    assert (lum(img)[soft_only] < lum(truth)[soft_only] + 3).mean() > 0.9


def haloed_piece(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Skin with a dark outline (radius 80, 3 px) and a fresh tattoo's halo past it: the skin up to 5 px
    beyond the line redder by a fading 10 in Lab a; and a redder patch of skin (a flush, same strength) far
    from the piece. A mask that stops inside the line. Returns (rgb, mask, halo, flush)."""
    rng = np.random.default_rng(seed)
    lab = to_lab(shaded_skin(seed=seed))
    far = cv2.distanceTransform((~disc(240, 320, 120, 160, 81)).astype(np.uint8), cv2.DIST_L2, 3)
    halo = (far > 0) & (far <= 5)
    lab[..., 1] += np.where(halo, 10.0 * (1 - far / 7), 0).astype(np.float32)
    flush = np.zeros((240, 320), bool)
    flush[200:230, 20:80] = True
    lab[flush, 1] += 10.0
    lab[..., 1] += rng.normal(0, 0.5, (240, 320)).astype(np.float32)  # the skin's own colour grain
    rgb = np.clip(cv2.cvtColor(lab, cv2.COLOR_LAB2RGB) * 255, 0, 255).round().astype(np.uint8)
    line = np.zeros((240, 320), np.uint8)
    cv2.circle(line, (160, 120), 80, 1, 3)
    rgb[line > 0] = (45, 40, 50)
    return rgb, disc(240, 320, 120, 160, 79), halo & ~(line > 0), flush


def test_halo_takes_the_red_skin_along_the_line_and_not_a_flush_elsewhere():
    img, mask, halo, flush = haloed_piece(seed=4)
    taken = {}
    for on in (False, True):
        alpha = mask.astype(np.float32)
        snap_outline(img, alpha, [(81, 41, 240, 200)], soft_edge=True, halo=on)
        taken[on] = alpha
    assert (taken[False][halo] > 0).mean() < 0.2  # the soft edge alone takes only darker skin
    assert (taken[True][halo] > 0).mean() > 0.8  # the halo is taken, fading out
    assert 0.2 < taken[True][halo].mean() < 0.9
    assert not taken[True][flush].any()  # red skin not along the line is not a halo


def test_soft_edge_leaves_dark_background_past_a_box_alone():
    # a box over a forearm whose right side runs into a dark, bluish background (a box, not a line)
    img = shaded_skin(seed=7)
    img[:, 200:] = (35, 40, 60)
    mask = np.zeros(img.shape[:2], bool)
    mask[60:180, 100:205] = True  # the box's right edge lies 5 px into the background
    alpha = mask.astype(np.float32)
    snap_outline(img, alpha, [(100, 60, 205, 180)], soft_edge=True)
    past = ~mask & (alpha > 0)
    assert past[:, 205:].sum() == 0  # no background past the box is taken
    assert past.sum() < 0.02 * mask.sum()  # nor is the plain skin past its other edges


def test_replace_leaves_no_outline_and_reports_what_it_changed(tiny_model_path):
    img, mask, ring = outlined_piece(seed=3)
    truth = shaded_skin(seed=3)
    res = Remover(tiny_model_path, protect_face=False).remove(img, mask=mask.astype(np.uint8) * 255,
                                                            mask_mode="replace")
    outside = ring & ~mask
    lum = lambda a: a.astype(np.float32).mean(-1)  # noqa: E731
    assert np.abs(lum(res.image)[outside] - lum(truth)[outside]).mean() < 15  # was ~100 darker
    plain = Remover(tiny_model_path, protect_face=False, fill=FillSettings(snap_outline=False))
    kept = plain.remove(img, mask=mask.astype(np.uint8) * 255, mask_mode="replace")
    assert np.array_equal(kept.image[outside], img[outside])  # off: the outline stays
    assert (res.ink_mask[outside] == 255).mean() > 0.95  # the reported mask is what was applied
    assert np.array_equal(res.image[res.ink_mask == 0], img[res.ink_mask == 0])


def test_enclosed_ink_joins_the_mask_and_enclosed_skin_does_not():
    """A red piece whose mask left out two islands (a patch of the red ink, a patch of bare skin) and
    stopped short of a third red patch that runs out of it onto the skin."""
    img = shaded_skin(seed=7)
    red = np.float32([190, 40, 45])
    piece = disc(240, 320, 120, 160, 70)
    ink_island, skin_island = disc(240, 320, 100, 140, 12), disc(240, 320, 145, 185, 12)
    open_patch = np.zeros((240, 320), bool)
    open_patch[112:128, 200:245] = True  # from inside the piece to past its edge (x 230)
    img[piece & ~skin_island] = red
    img[open_patch] = red
    mask = piece & ~ink_island & ~skin_island & ~open_patch
    alpha = mask.astype(np.float32)
    on_two = alpha.copy()
    take_enclosed_ink(img, alpha, [(90, 50, 231, 191)])
    take_enclosed_ink(img, on_two, [(90, 50, 231, 191)], threads=2)  # the photo shrunk beside the mask
    assert np.array_equal(alpha, on_two)
    assert (alpha[ink_island] == 1.0).all()  # the red island is the piece's ink
    assert not alpha[skin_island].any()  # bare skin inside the piece is kept
    assert not alpha[open_patch].any()  # not enclosed: the mask's edge is the detector's call
    assert np.array_equal(alpha > 0, mask | ink_island)


def test_a_taken_island_leaves_no_feather_around_it_and_a_kept_one_keeps_its_own():
    img = shaded_skin(seed=7)
    piece, skin_island = disc(240, 320, 120, 160, 70), disc(240, 320, 145, 185, 12)
    ink_island = disc(240, 320, 100, 140, 12)
    img[piece & ~skin_island] = np.float32([190, 40, 45])
    alpha = (piece & ~ink_island & ~skin_island).astype(np.float32)
    rims = [disc(240, 320, cy, cx, 14) & ~isle for cy, cx, isle in ((100, 140, ink_island), (145, 185, skin_island))]
    for rim in rims:
        alpha[rim] = 0.75  # the detector's feather around each hole
    take_enclosed_ink(img, alpha, [(90, 50, 231, 191)])
    assert (alpha[ink_island | rims[0]] == 1.0).all()  # ink, and between ink and ink
    assert (alpha[rims[1]] == 0.75).all() and not alpha[skin_island].any()  # bare skin keeps its soft edge


def test_enclosed_ink_is_off_for_a_users_region(tiny_model_path):
    img = shaded_skin(seed=8)
    img[disc(240, 320, 120, 160, 20)] = (190, 40, 45)
    ring = disc(240, 320, 120, 160, 60) & ~disc(240, 320, 120, 160, 30)
    r = Remover(model_path=tiny_model_path, fill=FillSettings(enclosed_ink=True), protect_face=False)
    result = r.remove(img, mask=ring, mask_mode="replace")
    assert not result.ink_mask[disc(240, 320, 120, 160, 25)].any()
    assert np.array_equal(result.image[disc(240, 320, 120, 160, 25)], img[disc(240, 320, 120, 160, 25)])


def test_cli_snap_outline_can_be_turned_off(tiny_model_path, tmp_path):
    from click.testing import CliRunner

    from skindeep.cli.remove import command

    img, mask, ring = outlined_piece(seed=5)
    Image.fromarray(img).save(tmp_path / "arm.png")
    Image.fromarray(mask.astype(np.uint8) * 255).save(tmp_path / "arm-mask.png")
    masks = {}
    for flag in ("--snap-outline", "--no-snap-outline"):
        out = tmp_path / flag.strip("-")
        result = CliRunner().invoke(command, [str(tmp_path / "arm.png"), "-o", str(out), "--model", str(tiny_model_path),
                                              "--no-protect-face", "-q", "--mask", str(tmp_path / "arm-mask.png"),
                                              "--mask-mode", "replace", "--save-mask", flag])
        assert result.exit_code == 0, result.output
        masks[flag] = np.asarray(Image.open(out / "arm.mask.png")) > 0
    assert np.array_equal(masks["--no-snap-outline"], mask)  # exactly what was painted
    assert (masks["--snap-outline"] & ring & ~mask).sum() > 1000  # the outline joins it by default


def test_cli_halo_takes_the_red_skin_past_the_line(tiny_model_path, tmp_path):
    from click.testing import CliRunner

    from skindeep.cli.remove import command

    img, mask, halo, _ = haloed_piece(seed=5)
    Image.fromarray(img).save(tmp_path / "arm.png")
    Image.fromarray(mask.astype(np.uint8) * 255).save(tmp_path / "arm-mask.png")
    masks = {}
    for flags in ([], ["--halo"]):
        out = tmp_path / ("halo" if flags else "default")
        result = CliRunner().invoke(command, [str(tmp_path / "arm.png"), "-o", str(out), "--model", str(tiny_model_path),
                                              "--no-protect-face", "-q", "--mask", str(tmp_path / "arm-mask.png"),
                                              "--mask-mode", "replace", "--save-mask", *flags])
        assert result.exit_code == 0, result.output
        masks[bool(flags)] = np.asarray(Image.open(out / "arm.mask.png")) > 0
    assert (masks[False] & halo).mean() < 0.2 * halo.mean()
    assert (masks[True] & halo).sum() > 0.8 * halo.sum()


def test_patches_laid_as_blocks_match_adding_them_one_by_one():
    """``_add_patches`` (one phase of the texture copy, laid as a block array) gives what adding each
    windowed patch in turn gives, with the grid's last row and column moved back inside the box and
    overlapping their neighbours."""
    from numpy.lib.stride_tricks import sliding_window_view

    from skindeep.remove.fill import _add_patches, _window

    rng = np.random.default_rng(3)
    h, w, p = 70, 90, 16
    detail = rng.normal(size=(h, w, 3)).astype(np.float32)
    ys, xs = [3, 19, 35, 48], [5, 21, 37, 53, 66]  # a grid p apart, the last of each moved back (48, 66)
    ty, tx = (a.ravel() for a in np.meshgrid(ys, xs, indexing="ij"))
    keep = rng.random(ty.size) > 0.2  # some cells have no patch
    ty, tx = ty[keep], tx[keep]
    sy, sx = rng.integers(0, h - p + 1, ty.size), rng.integers(0, w - p + 1, ty.size)
    win = _window(p)
    acc, wsq = np.zeros((h, w, 3), np.float32), np.zeros((h, w), np.float32)
    _add_patches(acc, wsq, ty, tx, sliding_window_view(detail, (p, p), axis=(0, 1)), sy, sx, win)
    want, want_w = np.zeros_like(acc), np.zeros_like(wsq)
    for y, x, fy, fx in zip(ty, tx, sy, sx, strict=True):
        want[y:y + p, x:x + p] += win[..., None] * detail[fy:fy + p, fx:fx + p]
        want_w[y:y + p, x:x + p] += win * win
    np.testing.assert_allclose(acc, want, atol=1e-5)
    np.testing.assert_allclose(wsq, want_w, atol=1e-6)
    row_35 = np.zeros_like(wsq)
    for x in tx[ty == 35]:
        row_35[35:51, x:x + p] += win * win
    assert (want_w[48:51] > row_35[48:51] + 1e-6).any()  # the moved row overlaps the row on the grid before it


def test_patches_laid_in_strips_match_one_pass():
    """With the grid's block rows laid on several threads, ``_add_patches`` gives exactly what one thread gives."""
    from numpy.lib.stride_tricks import sliding_window_view

    from skindeep.remove.fill import _add_patches, _window

    rng = np.random.default_rng(4)
    h, w, p = 16 * 40, 16 * 6, 16
    detail = rng.normal(size=(h, w, 3)).astype(np.float32)
    ty, tx = (a.ravel() for a in np.meshgrid(np.arange(0, h - p + 1, p), np.arange(0, w - p + 1, p), indexing="ij"))
    sy, sx = rng.integers(0, h - p + 1, ty.size), rng.integers(0, w - p + 1, ty.size)
    sources = sliding_window_view(detail, (p, p), axis=(0, 1))
    results = []
    for threads in (1, 3):
        acc, wsq = np.ones((h, w, 3), np.float32), np.ones((h, w), np.float32)  # added to, not overwritten
        _add_patches(acc, wsq, ty, tx, sources, sy, sx, _window(p), threads)
        results.append((acc, wsq))
    assert np.array_equal(results[0][0], results[1][0]) and np.array_equal(results[0][1], results[1][1])
    assert np.abs(results[0][0] - 1).mean() > 0.1  # patches were laid


def test_texture_is_the_same_on_any_number_of_threads():
    """The texture copy's full-size passes (the detail's blurs, the patches, the contrast) split into row strips
    give the one-thread result bit for bit, strips' edges included."""
    rgb = shaded_skin(1100, 300, seed=5)
    hole = disc(1100, 300, 550, 150, 120) | disc(1100, 300, 300, 150, 60)
    one = skin_texture(rgb, ~hole, hole, 2.0, seed=7, threads=1)
    for threads in (2, 4):
        assert np.array_equal(skin_texture(rgb, ~hole, hole, 2.0, seed=7, threads=threads), one)
    assert high_std(one + 128, hole) > 1.0  # texture was copied into the hole


def test_row_strips_cover_the_rows_once():
    from skindeep.remove.strips import for_strips, row_strips

    assert row_strips(1000, 3) == [(0, 333), (333, 667), (667, 1000)]
    assert row_strips(300, 4) == [(0, 300)]  # too short to split
    assert row_strips(64, 4, min_rows=8) == [(0, 16), (16, 32), (32, 48), (48, 64)]
    seen = np.zeros(1000, int)

    def mark(y0, y1):
        seen[y0:y1] += 1
        return y1 - y0

    assert sum(for_strips(mark, 1000, 3)) == 1000 and (seen == 1).all()


def test_window_counts_match_counting_each_window():
    from skindeep.remove.fill import _window_count

    rng = np.random.default_rng(6)
    mask = rng.random((50, 70)) > 0.7
    ys, xs = rng.integers(0, 50, 40), rng.integers(0, 70, 40)  # windows past the edge are cut there
    want = [mask[y:y + 16, x:x + 16].sum() for y, x in zip(ys, xs, strict=True)]
    assert _window_count(mask, 16, ys, xs).tolist() == want


def test_taken_ink_raises_the_feather_as_a_full_size_distance_would():
    """``_take`` measures the distance to the new ink only around it; the feather it raises is the one a
    distance over the whole box gives."""
    from skindeep.remove.fill import _take

    rng = np.random.default_rng(8)
    alpha = (rng.random((120, 160)) * 1.2).clip(0, 1).astype(np.float32)
    core = alpha >= 0.5
    new = np.zeros_like(core)
    new[40:52, 60:75] = rng.random((12, 15)) > 0.5
    before = alpha.copy()
    want = alpha.copy()
    want[new] = 1.0
    want[(cv2.distanceTransform((~new).astype(np.uint8), cv2.DIST_L2, 3) <= 4) & core] = 1.0
    _take(alpha, core, new, 4)
    assert np.array_equal(alpha, want)
    assert np.array_equal(alpha[:30], before[:30]) and (before[:30] < 1).any()  # far rows keep their feather


def test_row_by_row_colour_tests_match_one_pass():
    """``by_rows`` gives a blurred colour test (``skin_coloured``, which reads 3 rows around a pixel) and a colour
    conversion made in strips exactly as over the whole array; with too little reach the strips' edges differ."""
    from skindeep.remove.gate import SKIN_COLOURED_REACH, skin_coloured
    from skindeep.remove.strips import by_rows

    rng = np.random.default_rng(9)
    rgb = np.clip(shaded_skin(1200, 90, seed=9).astype(int) + rng.integers(-60, 60, (1200, 90, 3)), 0, 255).astype(np.uint8)
    def rows(fn, out, threads, reach=0):
        return by_rows(fn, (rgb,), out, threads, reach)

    assert np.array_equal(rows(skin_coloured, np.empty((1200, 90), bool), 4, SKIN_COLOURED_REACH), skin_coloured(rgb))
    assert np.array_equal(rows(to_lab, np.empty(rgb.shape, np.float32), 3), to_lab(rgb))
    assert not np.array_equal(rows(lambda x: cv2.GaussianBlur(x, (0, 0), 3.0), np.empty_like(rgb), 4),
                              cv2.GaussianBlur(rgb, (0, 0), 3.0))



@pytest.mark.parametrize("sigma", [1.0, 2.3, 5.0])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_blur_reach_is_what_a_blur_in_strips_needs(sigma, dtype):
    """``blur_reach`` covers OpenCV's kernel (3 sigma for 8-bit images, 4 for float): strips read with it blur as
    one pass does; with half of it their edges differ. (8-bit kernels round their outermost taps to 0, so the
    reach is a row or two more than an 8-bit blur needs.)"""
    from skindeep.remove.strips import blur_reach, by_rows

    img = np.random.default_rng(3).integers(0, 255, (1100, 40, 3)).astype(dtype)
    def blur(x):
        return cv2.GaussianBlur(x, (0, 0), sigma)

    whole = blur(img)
    reach = blur_reach(sigma, eight_bit=dtype == np.uint8)
    assert np.array_equal(by_rows(blur, (img,), np.empty_like(img), 4, reach), whole)
    assert not np.array_equal(by_rows(blur, (img,), np.empty_like(img), 4, reach // 2), whole)


def test_copied_texture_draws_no_grid_at_the_patch_spacing():
    """Overlapping patches (half a patch apart) and neighbouring ones (a patch apart) rarely copy the same source:
    the copied grain of a noise-like skin is as uncorrelated at those lags as the skin itself. With 12 candidates
    a patch (the setting before experiment 44) the correlation was 0.07-0.08, a faint grid at 8 px."""
    from skindeep.remove.fill import _clean_detail

    rng = np.random.default_rng(0)
    h, w = 400, 600
    rgb = np.clip(150 + rng.normal(0, 12, (h, w, 1)), 0, 255).astype(np.uint8).repeat(3, 2)
    hole = disc(h, w, 200, 300, 130)
    lum = skin_texture(rgb, ~hole, hole, 2.0, seed=1).mean(2)
    inner = cv2.erode(hole.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)

    def correlation(x, where, dy, dx):
        x = x - x[where].mean()
        a, b = x[:h - dy, :w - dx], x[dy:, dx:]
        both = where[:h - dy, :w - dx] & where[dy:, dx:]
        return float((a[both] * b[both]).mean() / (x[where] ** 2).mean())

    skin = _clean_detail(rgb, ~hole, 0.0, 2.0, 1).mean(2)
    for dy, dx in ((0, 8), (8, 0), (0, 16), (16, 0), (8, 8)):
        assert abs(correlation(lum, inner, dy, dx)) < 0.045, (dy, dx)
        assert abs(correlation(skin, ~hole, dy, dx)) < 0.02  # the measure itself: noise is uncorrelated
