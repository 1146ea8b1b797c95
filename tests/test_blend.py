"""Weight-space blending of a fine-tune with its start (skindeep.model.blend, WiSE-FT)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from skindeep.model.blend import blend_networks  # noqa: E402
from skindeep.model.export import fold_spectral_norm  # noqa: E402
from skindeep.model.from_onnx import set_spectral  # noqa: E402
from skindeep.model.net import SkinDeepNet  # noqa: E402


def _pair() -> tuple[SkinDeepNet, SkinDeepNet]:
    """A start and a 'fine-tune' of it: every float weight moved by noise of 5 % of its scale."""
    torch.manual_seed(0)
    start = SkinDeepNet(pretrained=False).eval()
    fine = SkinDeepNet(pretrained=False).eval()
    fine.load_state_dict(start.state_dict())
    with torch.no_grad():
        for name, p in fine.named_parameters():
            if not name.endswith(("weight_u", "weight_v")):
                p.add_(0.05 * (p.abs().mean() + 1e-3) * torch.randn_like(p))
    return start, fine


def _folded(net) -> dict:
    return {k: v for k, v in fold_spectral_norm(net).state_dict().items() if v.is_floating_point()}


def _close(a, b) -> bool:
    """Equal to 1e-3 of the scale (an untrained network has unconverged power-iteration vectors, so its
    folded weights and outputs are far from 0-1 and float32 keeps fewer digits of them)."""
    return float((a - b).abs().max()) <= 1e-3 * float(b.abs().max())


def test_blend_ends_are_the_two_networks_and_its_middle_their_mean():
    start, fine = _pair()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        want_start, want_fine = start(x)[0], fine(x)[0]
        assert not _close(want_start, want_fine)  # the two differ: the ends are a real check
        assert _close(blend_networks(start, fine, 0.0)(x)[0], want_start)
        assert _close(blend_networks(start, fine, 1.0)(x)[0], want_fine)
        middle = _folded(blend_networks(start, fine, 0.5))
    a, b = _folded(start), _folded(fine)
    for key, value in middle.items():
        assert _close(value, (a[key] + b[key]) / 2), key


def test_blend_refuses_networks_of_another_shape_and_alpha_outside_0_1():
    start, fine = _pair()
    with pytest.raises(ValueError, match="differ"):
        blend_networks(SkinDeepNet(pretrained=False, skin_head=True), fine, 0.5)
    with pytest.raises(ValueError, match="alpha"):
        blend_networks(start, fine, 1.5)


@pytest.mark.parametrize("scale", [0.7, 1.0, 1.3])
def test_set_spectral_gives_the_weight_exactly_whatever_its_sigma(scale):
    """A blend's top singular value can fall under 1; eval mode must still give the weight that was set."""
    torch.manual_seed(1)
    conv = torch.nn.utils.spectral_norm(torch.nn.Conv2d(4, 6, 3)).eval()
    w = torch.randn(6, 4, 3, 3)
    w = scale * w / torch.linalg.matrix_norm(w.reshape(6, -1), ord=2)
    with torch.no_grad():
        set_spectral(conv, w)
        conv(torch.zeros(1, 4, 5, 5))  # eval mode's hook computes the weight from u, v
    assert torch.allclose(conv.weight, w, atol=1e-5)
