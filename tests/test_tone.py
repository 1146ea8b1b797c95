"""skindeep.remove.tone: the restored area takes the low-frequency colour of the skin around it."""

import numpy as np

from skindeep.remove.tone import apply_tone_shift, tone_shift

SKIN = np.array([200, 150, 120], np.float32)


def _photo_and_blotch(seed=0):
    rng = np.random.default_rng(seed)
    rgb = np.clip(SKIN + rng.normal(0, 4, (240, 320, 3)), 0, 255).astype(np.uint8)
    alpha = np.zeros((240, 320), np.float32)
    alpha[80:160, 100:220] = 1.0
    out = rgb.copy()
    blotch = np.array([150, 165, 178], np.float32) + rng.normal(0, 6, (80, 120, 1))  # grey-blue, textured
    out[80:160, 100:220] = np.clip(blotch, 0, 255).astype(np.uint8)
    return rgb, out, alpha


def test_blotch_takes_the_colour_of_the_skin_around_and_keeps_its_texture():
    rgb, out, alpha = _photo_and_blotch()
    before = out[80:160, 100:220].astype(np.float32)
    shift = tone_shift(rgb, out, alpha)
    fixed = out.copy()
    apply_tone_shift(fixed, alpha, shift, 1.0, [(100, 80, 220, 160)])
    centre = fixed[100:140, 130:190].astype(np.float32)
    assert np.abs(centre.mean((0, 1)) - SKIN).max() < 10  # was 50 / 15 / 58 off
    grey = lambda x: x.mean(-1)  # noqa: E731
    assert 0.6 < grey(centre).std() / grey(before[20:60, 30:90]).std() < 1.5  # texture kept
    assert np.array_equal(fixed[alpha == 0], out[alpha == 0])  # untouched outside the mask


def test_half_amount_moves_half_way_and_zero_or_no_mask_does_nothing():
    rgb, out, alpha = _photo_and_blotch(1)
    shift = tone_shift(rgb, out, alpha)
    full, half, none = out.copy(), out.copy(), out.copy()
    apply_tone_shift(full, alpha, shift, 1.0)
    apply_tone_shift(half, alpha, shift, 0.5)
    apply_tone_shift(none, alpha, shift, 0.0)
    assert np.array_equal(none, out)
    r = lambda x: x[100:140, 130:190, 0].astype(np.float32).mean()  # noqa: E731
    assert abs(r(half) - (r(out) + r(full)) / 2) < 4 and r(out) < r(half) < r(full)
    assert tone_shift(rgb, out, np.zeros_like(alpha)) is None


def test_no_reference_skin_means_no_shift():
    """A mask covering the whole photo has nothing around it to match: the restoration stays."""
    rgb, out, _ = _photo_and_blotch(2)
    shift = tone_shift(rgb, out, np.ones((240, 320), np.float32))
    assert shift is not None and np.abs(shift.shift).max() == 0 and shift.known.max() == 0


def test_pale_lines_are_pulled_down_to_the_skin_around():
    """Over-corrected outlines (thin lines much lighter than the skin) come back near the skin's level."""
    rgb, _, alpha = _photo_and_blotch(4)
    out = rgb.copy()
    out[118:122, 100:220] = 250  # a pale line inside the mask
    shift = tone_shift(rgb, out, alpha)
    fixed = out.copy()
    apply_tone_shift(fixed, alpha, shift, 1.0)
    line = fixed[118:122, 130:190].astype(np.float32).mean((0, 1))
    assert np.abs(line - SKIN).max() < 30  # was 50 / 100 / 130 above; LIGHTER_THAN_SKIN is allowed
    assert abs((line[0] - line[2]) - (SKIN[0] - SKIN[2])) < 15  # skin-warm, not a grey line
