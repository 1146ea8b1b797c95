"""The learned low-frequency restorer (skindeep.remove.lowfreq, skindeep.model.lowfreq): shipped ONNX,
torch-free inference, the fill's pixels outside the mask untouched, the membrane as fallback."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from skindeep.remove import lowfreq
from skindeep.remove.fill import FillSettings, fill_skin, skin_base


def curved_skin(h: int = 200, w: int = 260) -> np.ndarray:
    """Skin-coloured photo with smooth, curved shading (a limb lit from one side), no grain: (h, w, 3) uint8."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    shade = 0.5 * (xx / w) + 0.5 * np.sin(np.pi * yy / h)  # 0..1
    base = np.float32([140, 95, 75]) + shade[..., None] * np.float32([80, 60, 45])
    return np.clip(base, 0, 255).astype(np.uint8)


def ellipse(h: int, w: int) -> np.ndarray:
    m = np.zeros((h, w), np.uint8)
    cv2.ellipse(m, (w // 2, h // 2), (w // 4, h // 4), 20, 0, 360, 1, -1)
    return m.astype(bool)


def test_shipped_weights_are_small_and_load():
    assert lowfreq.DEFAULT_WEIGHTS.is_file(), "weights/lowfreq.onnx is missing"
    assert lowfreq.DEFAULT_WEIGHTS.stat().st_size < 1_000_000
    net = lowfreq.load_restorer()
    assert net is not None and net is lowfreq.load_restorer()  # loaded once


def test_missing_weights_fall_back_to_the_membrane(tmp_path):
    assert lowfreq.load_restorer(str(tmp_path / "absent.onnx")) is None


def test_net_inputs_shapes_and_padding():
    rgb = curved_skin(300, 180)
    hole = ellipse(300, 180)
    x, membrane, small_known = lowfreq.net_inputs(rgb, ~hole, hole)
    assert x.shape == (lowfreq.CHANNELS, 128, 77) and x.dtype == np.float32
    assert membrane.shape == (128, 77, 3) and small_known.shape == (128, 77)
    both = x[6].astype(bool) & x[7].astype(bool)  # only the hole's border pixels are partly clean
    assert x[7].any() and both.sum() < 0.2 * x[7].sum() and x[6, 64, 38] == 0 and x[7, 64, 38] == 1
    padded = lowfreq.pad_to_multiple(x)
    assert padded.shape == (lowfreq.CHANNELS, 128, 80) and not padded[:, :, 77:].any()


def test_learned_base_follows_curved_shading_better_than_a_flat_fill():
    truth = curved_skin()
    hole = ellipse(*truth.shape[:2])
    inked = truth.copy()
    inked[hole] = (25, 25, 30)
    known = ~hole
    membrane = skin_base(inked, known)
    learned = lowfreq.learned_base(inked, known, hole, membrane, lowfreq.load_restorer())
    t = truth.astype(np.float32)
    flat = t[cv2.dilate(hole.astype(np.uint8), np.ones((21, 21), np.uint8)).astype(bool) & ~hole].mean(0)
    err_flat = float(np.abs(flat - t[hole]).mean())
    err_learned = float(np.abs(learned[hole] - t[hole]).mean())
    err_membrane = float(np.abs(membrane[hole] - t[hole]).mean())
    assert err_learned < 0.5 * err_flat, (err_learned, err_flat)
    # the curvature a harmonic membrane cannot follow (shipped weights: 0.9 against 3.1 and flat 4.8 grey levels)
    assert err_learned < err_membrane, (err_learned, err_membrane)
    assert np.array_equal(learned[~hole & (cv2.distanceTransform((~hole).astype(np.uint8), cv2.DIST_L2, 3) > 8)],
                          membrane[~hole & (cv2.distanceTransform((~hole).astype(np.uint8), cv2.DIST_L2, 3) > 8)])


def test_fill_with_learned_base_writes_only_inside_the_mask():
    truth = curved_skin()
    rng = np.random.default_rng(0)
    photo = np.clip(truth.astype(np.float32) + rng.normal(0, 5, truth.shape), 0, 255).astype(np.uint8)
    hole = ellipse(*truth.shape[:2])
    inked = photo.copy()
    inked[hole] = (25, 25, 30)
    ys, xs = np.nonzero(hole)
    box = [(int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)]
    outs = {}
    for learned in (False, True):
        out = inked.copy()
        fill_skin(inked, out, hole.astype(np.float32), box, replace(FillSettings(floor=1.0), learned_base=learned))
        assert np.array_equal(out[~hole], inked[~hole])  # bit-identical outside
        outs[learned] = out
    assert not np.array_equal(outs[True][hole], outs[False][hole])  # the learned base is used
    err = {k: float(np.abs(v[hole].astype(np.float32) - photo[hole]).mean()) for k, v in outs.items()}
    assert err[True] < 40, err  # skin, not ink (the ink is ~150 grey levels off)


def test_onnx_export_matches_torch(tmp_path):
    torch = pytest.importorskip("torch")
    from skindeep.model import lowfreq as train_lowfreq

    net = train_lowfreq.LowFreqNet((8, 12, 16))
    torch.manual_seed(0)
    for p in net.parameters():  # the zero-initialised last layer would make the check trivial
        torch.nn.init.normal_(p, 0.0, 0.1)
    run = tmp_path / "run"
    run.mkdir()
    torch.save({"net": net.state_dict(), "cfg": {"width": (8, 12, 16)}}, run / "last.pt")
    worst = train_lowfreq.export(run, tmp_path / "lowfreq.onnx")
    assert worst < 1e-3
    # and the torch-free side runs the exported file on an odd-sized input (padded inside)
    restorer = lowfreq.LowFreqRestorer(tmp_path / "lowfreq.onnx")
    x = np.random.default_rng(1).uniform(-0.5, 0.5, (lowfreq.CHANNELS, 61, 90)).astype(np.float32)
    res = restorer.residual(x)
    with torch.no_grad():
        ref = net(torch.from_numpy(lowfreq.pad_to_multiple(x))[None])[0].numpy()[:, :61, :90].transpose(1, 2, 0) * 255
    assert res.shape == (61, 90, 3) and np.abs(res - ref).max() < 0.255


def test_luminance_only_residual_is_the_same_on_every_channel(tmp_path):
    torch = pytest.importorskip("torch")
    from skindeep.model import lowfreq as train_lowfreq

    net = train_lowfreq.LowFreqNet((8, 12, 16), luminance_only=True)
    torch.manual_seed(0)
    for p in net.parameters():
        torch.nn.init.normal_(p, 0.0, 0.1)
    x = torch.rand(2, lowfreq.CHANNELS, 32, 48) - 0.5
    with torch.no_grad():
        y = net(x)
    assert y.shape == (2, 3, 32, 48)
    assert float(y.abs().mean()) > 1e-3  # not the trivial zero output
    assert torch.equal(y[:, 0], y[:, 1]) and torch.equal(y[:, 1], y[:, 2])
    run = tmp_path / "run"
    run.mkdir()
    torch.save({"net": net.state_dict(), "cfg": {"width": (8, 12, 16), "luminance_only": True}}, run / "last.pt")
    assert train_lowfreq.export(run, tmp_path / "lum.onnx") < 1e-3


def test_border_step_sees_an_offset_at_the_border_and_not_inside():
    torch = pytest.importorskip("torch")
    from skindeep.model.lowfreq import border_band, border_step

    clean = torch.zeros(1, 1, 40, 40)
    clean[..., :, :10] = 1.0  # clean skin on the left, the hole on the right
    mask = 1.0 - clean
    band = border_band(clean, mask, 3)
    assert int(band.sum()) == 3 * 40  # three columns of the hole touch the clean skin
    target = torch.zeros(1, 3, 40, 40)
    far = target.clone()
    far[..., :, 20:] = 0.1  # an error deep inside the hole
    near = target.clone()
    near[..., :, 10:13] = 0.1  # the same error where the fill meets the skin
    assert float(border_step(far, target, band)) == 0.0
    assert float(border_step(near, target, band)) == pytest.approx(0.1, abs=1e-6)
    # a plus and a minus in the band cancel: the seam is a mean brightness step, not an L1
    both = target.clone()
    both[..., :20, 10:13], both[..., 20:, 10:13] = 0.1, -0.1
    assert float(border_step(both, target, band)) == pytest.approx(0.0, abs=1e-6)


def test_ring_skin_share_tells_a_tight_hole_from_one_at_the_limb_edge():
    pytest.importorskip("torch")
    from skindeep.model.lowfreq import ring_skin_share

    skin = np.zeros((100, 100), bool)
    skin[:, :60] = True  # a limb on the left, background on the right
    inside = np.zeros_like(skin)
    inside[40:60, 20:40] = True  # skin all round it
    at_edge = np.zeros_like(skin)
    at_edge[40:60, 45:60] = True  # touches the limb's edge: part of its ring is background
    assert ring_skin_share(inside, skin, 0.08) == 1.0
    edge_share = ring_skin_share(at_edge, skin, 0.08)
    assert 0.2 < edge_share < 0.8
    assert ring_skin_share(np.zeros_like(skin), skin, 0.08) == 0.0
