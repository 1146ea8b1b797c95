"""The skin head: labels and splits, the network's third output, its export, and the skin gate."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from skindeep.model import skin as S
from skindeep.remove import Remover


def test_targets_mark_only_what_each_label_knows():
    labels = np.array([[S.LABEL_BACKGROUND, S.LABEL_SKIN, S.LABEL_HAIR, S.LABEL_CLOTHING,
                        S.LABEL_NOT_SKIN, S.LABEL_SKIN_ONLY, S.LABEL_UNKNOWN]], np.uint8)
    target, known = S.targets(labels)
    assert target.shape == known.shape == (3, 1, 7)
    # skin / hair / clothing, per code
    np.testing.assert_array_equal(target[:, 0], [[0, 1, 0, 0, 0, 1, 0], [0, 0, 1, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0, 0]])
    np.testing.assert_array_equal(known[0, 0], [1, 1, 1, 1, 1, 1, 0])  # skin known but for unknown
    np.testing.assert_array_equal(known[1, 0], [1, 1, 1, 1, 0, 0, 0])  # hair only where fully labelled
    np.testing.assert_array_equal(known[2, 0], known[1, 0])


def test_box_labels_mark_the_core_of_each_box_as_skin():
    lab = S.box_labels((100, 100), [[10, 20, 60, 70]], core=0.4)
    assert lab[45, 35] == S.LABEL_SKIN_ONLY  # box centre
    assert lab[22, 12] == S.LABEL_UNKNOWN  # inside the box but near its loose edge
    assert lab[90, 90] == S.LABEL_UNKNOWN  # outside: a box says nothing about non-skin
    assert (lab == S.LABEL_SKIN_ONLY).sum() == 20 * 20


def test_crop_labels_follow_the_photo_crop_and_flip():
    labels = np.zeros((40, 60), np.uint8)
    labels[:, 30:] = S.LABEL_SKIN  # right half skin
    params = dict(decoded=[60, 40], crop=[20, 0, 40], flip=False)
    out = S.crop_labels(labels, params, 20)
    assert out.shape == (20, 20)
    assert (out[:, :5] == 0).all() and (out[:, -5:] == S.LABEL_SKIN).all()
    flipped = S.crop_labels(labels, dict(params, flip=True), 20)
    np.testing.assert_array_equal(flipped, out[:, ::-1])
    # labels stored at another size than the decoded photo are resized first
    half = S.crop_labels(labels[::2, ::2], params, 20)
    np.testing.assert_array_equal(half, out)


def test_splits_are_deterministic_disjoint_and_keep_subjects_together(tmp_path):
    for name in ["bivtatt_7_1", "bivtatt_7_2", "bivtatt_9_1", *[f"insta_{i:04d}" for i in range(40)]]:
        (tmp_path / f"{name}.jpg").write_bytes(b"")
    train, held = S.split_real_train(tmp_path)
    assert not set(train) & set(held) and len(train) + len(held) == 43
    assert held and train  # 20 % of 43 subjects, by hash: both sides non-empty
    sides = {p.stem: (p in held) for p in train + held}
    assert sides["bivtatt_7_1"] == sides["bivtatt_7_2"]  # one person's photos stay on one side
    assert S.split_real_train(tmp_path) == (train, held)


def test_network_skin_head_shapes_and_no_change_to_ink():
    torch = pytest.importorskip("torch")
    from skindeep.model.net import SkinDeepNet

    torch.manual_seed(0)
    plain = SkinDeepNet(pretrained=False).eval()
    with_head = SkinDeepNet(pretrained=False, skin_head=True).eval()
    with_head.load_state_dict(plain.state_dict(), strict=False)
    x = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        ink0, clean0 = plain(x)
        ink1, clean1, skin = with_head(x, with_skin=True)
    assert skin.shape == (1, 3, 64, 96)
    # the head only reads the encoder: the removal outputs are exactly those of the network without it
    assert torch.equal(ink0, ink1) and torch.equal(clean0, clean1)
    with pytest.raises(ValueError, match="no skin head"):
        plain(x, with_skin=True)


def test_export_adds_the_skin_output_and_checks_its_parity(tmp_path):
    torch = pytest.importorskip("torch")
    import onnxruntime as ort

    from skindeep.model.export import ExportError, check_parity, export_onnx
    from skindeep.model.net import SkinDeepNet

    torch.manual_seed(0)
    net = SkinDeepNet(pretrained=False, skin_head=True).eval()
    torch.nn.init.normal_(net.skin_head.fuse[-1].weight, std=0.5)
    path = export_onnx(net, tmp_path / "m.onnx", sample_size=64)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [o.name for o in sess.get_outputs()] == ["ink", "clean", "skin"]
    report = check_parity(net, path, sizes=((64, 96),))
    assert report.ok and report.max_abs_skin < 1e-3
    torch.nn.init.normal_(net.skin_head.fuse[-1].weight, std=0.5)  # new head weights: parity must fail
    with pytest.raises(ExportError, match="skin"):
        check_parity(net, path, sizes=((64, 64),))


def test_skin_network_has_its_own_encoder_and_leaves_ink_alone():
    torch = pytest.importorskip("torch")
    from skindeep.model.net import SkinDeepNet

    torch.manual_seed(0)
    plain = SkinDeepNet(pretrained=False).eval()
    with_net = SkinDeepNet(pretrained=False, skin_net=True).eval()
    with_net.load_state_dict(plain.state_dict(), strict=False)
    x = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        ink0, clean0 = plain(x)
        ink1, clean1, skin = with_net(x, with_skin=True)
        before = skin.clone()
        for p in with_net.encoder.parameters():  # the removal encoder does not feed the skin network
            p.add_(0.1)
        after = with_net(x, with_skin=True)[2]
    assert skin.shape == (1, 3, 64, 96)
    assert torch.equal(ink0, ink1) and torch.equal(clean0, clean1)
    assert torch.equal(before, after)
    with pytest.raises(ValueError, match="not both"):
        SkinDeepNet(pretrained=False, skin_head=True, skin_net=True)


def test_skin_network_exports_grafts_and_comes_back_from_onnx(tmp_path):
    torch = pytest.importorskip("torch")
    import onnxruntime as ort

    from skindeep.model.checkpoint import load_checkpoint, save_checkpoint
    from skindeep.model.config import TrainConfig
    from skindeep.model.export import check_parity, export_onnx
    from skindeep.model.from_onnx import model_from_onnx
    from skindeep.model.net import SkinDeepNet, SkinNet

    torch.manual_seed(0)
    base = SkinDeepNet(pretrained=False, skin_head=True).eval()
    save_checkpoint(tmp_path / "base.pt", {"model": base.state_dict(), "config": TrainConfig().to_dict()})
    skin = SkinNet(pretrained=False)
    torch.nn.init.normal_(skin.head.out[-1].weight, std=0.5)
    save_checkpoint(tmp_path / "skin.pt", {"model": skin.state_dict(), "config": {}, "spec": {}})
    grafted = S.graft(tmp_path / "base.pt", tmp_path / "skin.pt", tmp_path / "g.pt")
    state = load_checkpoint(grafted)
    assert state["config"]["model"]["skin_net"] and not state["config"]["model"]["skin_head"]
    assert not any(k.startswith("skin_head.") for k in state["model"])
    net = SkinDeepNet(pretrained=False, skin_net=True).eval()
    net.load_state_dict({k: v.float() for k, v in state["model"].items()})
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(net(x, with_skin=True)[2], torch.nn.functional.interpolate(
            skin.eval()(x).half().float(), scale_factor=4.0, mode="bilinear"), atol=2e-2)
    path = export_onnx(net, tmp_path / "m.onnx", sample_size=64)
    assert check_parity(net, path, sizes=((64, 96),)).max_abs_skin < 1e-3
    rebuilt = model_from_onnx(path)
    assert rebuilt.skin_net is not None and rebuilt.skin_head is None
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        want = torch.sigmoid(rebuilt(x, with_skin=True)[2]).numpy()
    assert np.abs(sess.run(["skin"], {"image": x.numpy()})[0] - want).max() < 1e-3


def _stroke_on_skin_and_on_cloth() -> np.ndarray:
    """Left half reddish skin, right half blue cloth, a dark vertical stroke on each."""
    img = np.zeros((96, 192, 3), np.uint8)
    img[:, :96] = (200, 140, 110)
    img[:, 96:] = (60, 80, 170)
    img[20:76, 44:50] = 20
    img[20:76, 140:146] = 20
    return img


def test_skin_gate_removes_ink_only_on_skin(tiny_skin_model_path, tiny_model_path):
    img = _stroke_on_skin_and_on_cloth()
    opts = dict(threshold=0.5, protect_face=False, tone_match=0.0, mirror_detect=False, min_skin_around=0.0)
    gated = Remover(tiny_skin_model_path, **opts)
    assert gated.skin_gated
    out = gated.remove(img)
    assert out.ink_mask[20:76, 44:50].min() == 255  # the stroke on skin is removed
    assert out.ink_mask[:, 120:].max() == 0  # nothing on the cloth is touched
    np.testing.assert_array_equal(out.image[:, 120:], img[:, 120:])
    # the same model with the gate off, and a model with no skin output, repaint both strokes
    for remover in (Remover(tiny_skin_model_path, skin_gate=0.0, **opts), Remover(tiny_model_path, **opts)):
        assert not remover.skin_gated
        both = remover.remove(img).ink_mask
        assert both[20:76, 44:50].min() == 255 and both[20:76, 140:146].min() == 255


def test_user_replace_mask_is_not_gated(tiny_skin_model_path):
    img = _stroke_on_skin_and_on_cloth()
    mask = np.zeros(img.shape[:2], bool)
    mask[20:76, 138:148] = True  # the user paints the stroke on the cloth
    out = Remover(tiny_skin_model_path, protect_face=False, tone_match=0.0).remove(img, mask=mask, mask_mode="replace")
    assert out.ink_mask[20:76, 140:146].min() == 255


def test_recolour_skin_like_recolours_only_clothing_and_keeps_its_texture():
    rng = np.random.default_rng(0)
    img = np.zeros((32, 32, 3), np.uint8)
    img[..., 2] = 200  # blue everywhere
    img[:, :16] = (60, 200, 40)  # green cloth on the left...
    img[::2, :16] = (30, 100, 20)  # ...with stripes: its texture
    labels = np.full((32, 32), S.LABEL_SKIN, np.uint8)
    labels[:, :16] = S.LABEL_CLOTHING
    out = S.recolour_skin_like(rng, img, labels)
    np.testing.assert_array_equal(out[:, 16:], img[:, 16:])  # everything but clothing untouched
    hue = cv2.cvtColor(out, cv2.COLOR_RGB2HSV)[:, :16, 0]
    assert ((hue >= 2) & (hue <= 21)).all()  # red-orange, where skin hues are
    lum = out[:, :16].astype(int).sum(-1)
    assert (lum[0::2] < lum[1::2]).all()  # the stripes (lightness) survive


def test_skin_toned_background_recolours_each_chosen_label_on_its_own_and_never_skin():
    rng = np.random.default_rng(1)
    img = np.full((24, 36, 3), (40, 90, 200), np.uint8)  # blue floor, cloth and skin alike
    labels = np.full((24, 36), S.LABEL_BACKGROUND, np.uint8)
    labels[:, 12:24] = S.LABEL_CLOTHING
    labels[:, 24:] = S.LABEL_SKIN
    out = S.recolour_skin_like(rng, img, labels, (S.LABEL_BACKGROUND,))
    np.testing.assert_array_equal(out[:, 12:], img[:, 12:])  # clothing and skin untouched
    hue = cv2.cvtColor(out, cv2.COLOR_RGB2HSV)[..., 0]
    assert ((hue[:, :12] >= 2) & (hue[:, :12] <= 21)).all()  # the floor is skin-toned now
    both = S.recolour_skin_like(np.random.default_rng(1), img, labels, (S.LABEL_BACKGROUND, S.LABEL_CLOTHING))
    np.testing.assert_array_equal(both[:, 24:], img[:, 24:])
    assert np.abs(both[:, 12:24].astype(int) - img[:, 12:24]).max() > 40  # the cloth recoloured too
    np.testing.assert_array_equal(S.recolour_skin_like(rng, img, labels, ()), img)  # nothing chosen: as given


def test_augment_recolours_the_background_only_when_asked():
    rng_img = np.random.default_rng(2)
    image = rng_img.integers(0, 40, (64, 64, 3), dtype=np.uint8)
    image[..., 2] += 180  # a blue, grainy background
    labels = np.full((64, 64), S.LABEL_BACKGROUND, np.uint8)
    plain = S.SkinNetTrainSpec(size=48, p_recolour=0.0, p_recolour_background=0.0)
    asked = S.SkinNetTrainSpec(size=48, p_recolour=0.0, p_recolour_background=1.0)
    for seed in range(3):
        a, _ = S.augment(np.random.default_rng(seed), image, labels, plain)
        b, _ = S.augment(np.random.default_rng(seed), image, labels, asked)
        assert a[..., 2].mean() > a[..., 0].mean() + 0.3  # still blue
        assert b[..., 0].mean() > b[..., 2].mean()  # red over blue: skin-toned


def test_floor_texture_is_a_skin_toned_surface_of_cells_with_grout():
    for seed in range(6):
        tex = S.floor_texture(np.random.default_rng(seed), 96)
        assert tex.shape == (96, 96, 3) and tex.dtype == np.uint8
        hsv = cv2.cvtColor(tex, cv2.COLOR_RGB2HSV)
        warm = (hsv[..., 0] <= 30) | (hsv[..., 1] < 40)  # beiges, browns, terracottas or greys: no blues, greens
        assert warm.mean() > 0.8
        grey = cv2.cvtColor(tex, cv2.COLOR_RGB2GRAY).astype(np.float32)
        assert grey.std() > 8  # cells of different colours, not a flat wash
    a, b = (S.floor_texture(np.random.default_rng(7), 64) for _ in range(2))
    np.testing.assert_array_equal(a, b)  # the generator alone decides it


def test_with_floor_replaces_only_the_background_and_not_skin():
    rng = np.random.default_rng(0)
    img = np.full((64, 64, 3), 30, np.uint8)
    labels = np.full((64, 64), S.LABEL_SKIN, np.uint8)
    labels[:, :20] = S.LABEL_BACKGROUND
    labels[:, 20:30] = S.LABEL_NOT_SKIN
    labels[:, 30:40] = S.LABEL_CLOTHING
    labels[:, 40:50] = S.LABEL_HAIR
    out = S.with_floor(rng, img, labels)
    np.testing.assert_array_equal(out[:, 30:], img[:, 30:])  # clothing, hair and skin as they were
    assert np.abs(out[:, :30].astype(int) - 30).mean() > 20  # the floor is laid where nothing is skin
    only_skin = np.full((64, 64), S.LABEL_SKIN, np.uint8)
    assert S.with_floor(rng, img, only_skin) is img


def test_hair_weight_makes_hair_taken_for_skin_cost_more():
    torch = pytest.importorskip("torch")
    labels = np.zeros((1, 8, 8), np.uint8)
    labels[:, :4] = 1  # skin on the top half
    labels[:, 4:] = 2  # hair below
    target, known = (torch.from_numpy(a) for a in S.targets(labels))
    all_skin = torch.full((1, 3, 8, 8), -4.0)
    all_skin[:, 0] = 4.0  # every pixel called skin, nothing hair
    right = torch.where(target > 0, 4.0, -4.0)
    plain, heavy = S.skin_loss(all_skin, target, known), S.skin_loss(all_skin, target, known, hair_weight=3.0)
    assert float(heavy) > 1.3 * float(plain)  # the hair rows called skin now cost more
    assert float(S.skin_loss(right, target, known, hair_weight=3.0)) < 0.1 * float(heavy)  # a right answer stays cheap


def test_whole_view_sees_the_whole_photo_at_the_detectors_scale_with_labels_aligned():
    # a tall street photo (300 x 820): left half "skin" (red, code 1), right half "clothing" (blue, code 3)
    rgb = np.zeros((820, 300, 3), np.uint8)
    labels = np.full((820, 300), S.LABEL_SKIN, np.uint8)
    rgb[:, :150] = (200, 40, 40)
    rgb[:, 150:] = (40, 40, 200)
    labels[:, 150:] = S.LABEL_CLOTHING
    rng = np.random.default_rng(0)
    for _ in range(20):
        img, lab = S.whole_view(rng, rgb, labels, 256, long_side=(300.0, 340.0))
        assert img.shape == (256, 256, 3) and lab.shape == (256, 256)
        known = lab != S.LABEL_UNKNOWN
        # the photo is ~110-124 px wide at that scale: the rest of the window is mirror padding, unlabelled
        assert 100 <= known[128].sum() <= 130
        assert (lab[known] == S.LABEL_SKIN).any() and (lab[known] == S.LABEL_CLOTHING).any()
        # labels follow the pixels (away from the resampled seam between the halves)
        red = (img[..., 0] > 150) & known
        blue = (img[..., 2] > 150) & known
        assert (lab[red] == S.LABEL_SKIN).mean() > 0.97 and (lab[blue] == S.LABEL_CLOTHING).mean() > 0.97
