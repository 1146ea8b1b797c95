"""Weight-space blending of a fine-tune with the network it started from (WiSE-FT, Wortsman et al. 2022).

A fine-tune that gains on one set often loses on another (experiments 33-45: each CPU fine-tune of K found a
few more real tattoos and painted a new clean photo). Blending the two networks' weights,
``(1 - alpha) * start + alpha * fine``, moves along the line between them; the paper finds points on it that keep
most of the start's robustness and most of the fine-tune's gain. It only makes sense for networks of the same
shape where one was fine-tuned from the other, so the two share one basin of the loss.

Spectrally normalised convolutions are blended in their effective (eval-mode) weights, ``W / sigma``: blending
``weight_orig`` and the power-iteration vectors separately would give neither network's scale.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from skindeep.model.export import fold_spectral_norm
from skindeep.model.from_onnx import set_spectral

SPECTRAL_PARTS = ("weight_orig", "weight_u", "weight_v")


def blend_networks(start: nn.Module, fine: nn.Module, alpha: float) -> nn.Module:
    """A copy of ``fine`` with every weight ``(1 - alpha) * start + alpha * fine``, in eval mode.

    ``alpha`` 0 gives ``start``'s function, 1 ``fine``'s. Integer buffers (BatchNorm's step count) are
    ``fine``'s. Raises ValueError when the two networks' parameters do not match by name and shape."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    start_state, fine_state = start.state_dict(), fine.state_dict()
    if start_state.keys() != fine_state.keys() or any(
            start_state[k].shape != fine_state[k].shape for k in fine_state):
        raise ValueError("the two networks differ in their parameters: blend only a fine-tune with its start")
    out = copy.deepcopy(fine).eval()
    state = out.state_dict()
    for key, value in fine_state.items():
        if key.rsplit(".", 1)[-1] in SPECTRAL_PARTS or not value.is_floating_point():
            continue
        state[key] = torch.lerp(start_state[key].float(), value.float(), alpha).to(value.dtype)
    out.load_state_dict(state)
    start_folded = fold_spectral_norm(start).state_dict()
    fine_folded = fold_spectral_norm(fine).state_dict()
    for name, module in out.named_modules():
        if hasattr(module, "weight_orig"):
            key = f"{name}.weight"
            with torch.no_grad():
                set_spectral(module, torch.lerp(start_folded[key], fine_folded[key], alpha))
    return out
