"""Rebuild a trainable torch network from the shipped ONNX file, so no torch checkpoint has to be kept.

The exporter (``skindeep.model.export``) folds spectral norm into the decoder's weights and the ONNX
exporter fuses every encoder BatchNorm into the conv before it. Both are undone here in a way that gives
the same function:

- a conv whose BatchNorm was fused gets the fused weight, and its BatchNorm becomes the identity plus
  the fused bias (weight 1, bias b, running mean 0, running variance 1 - eps). The encoder's BatchNorm
  always runs in eval mode (``SkinDeepNet.train``), so this is exact in training too;
- a spectrally normalised conv gets ``weight_orig`` = the folded weight and power-iteration vectors
  ``u``, ``v`` with ``u . (W v) = 1``, so eval mode's ``weight = W / (u . W v)`` is the folded weight
  exactly (``set_spectral``; checked end to end by ``check_rebuilt``).

Convs are matched in execution order (torch forward hooks against the ONNX graph's Conv nodes) and by
shape, so a mismatch fails loudly instead of loading the wrong weights.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from skindeep.errors import InputError
from skindeep.model.config import ModelConfig
from skindeep.model.net import SkinDeepNet, build_model

REBUILD_TOLERANCE = 1e-3  # max |torch(rebuilt) - onnxruntime| accepted, as the exporter's parity check


def _conv_order(model: nn.Module) -> list[tuple[str, nn.Conv2d]]:
    """(name, conv) of every Conv2d in the order one forward pass runs them."""
    names = {m: n for n, m in model.named_modules()}
    order: list[nn.Conv2d] = []
    hooks = [m.register_forward_hook(lambda mod, _i, _o: order.append(mod))
             for m in model.modules() if isinstance(m, nn.Conv2d)]
    # a network with the skin head (ModelConfig.skin_head) exports it too: run it as well
    kwargs = {"with_skin": True} if getattr(model, "has_skin", False) else {}
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, 3, 64, 64), **kwargs)
    finally:
        for h in hooks:
            h.remove()
    return [(names[m], m) for m in order]


def _bn_after(model: nn.Module) -> dict[str, nn.BatchNorm2d]:
    """conv name -> the BatchNorm that follows it (EfficientNet-Lite naming: stem.0 -> stem.1,
    _expand_conv -> _bn0, _depthwise_conv -> _bn1, _project_conv -> _bn2)."""
    mods = dict(model.named_modules())
    pairs = {"stem.0": "stem.1", "_expand_conv": "_bn0", "_depthwise_conv": "_bn1", "_project_conv": "_bn2"}
    out = {}
    for name in mods:
        for conv_suffix, bn_suffix in pairs.items():
            if name.endswith(conv_suffix):
                bn = mods.get(name[: -len(conv_suffix)] + bn_suffix)
                if isinstance(bn, nn.BatchNorm2d):
                    out[name] = bn
    return out


def _onnx_convs(path: Path) -> tuple[list[tuple[np.ndarray, np.ndarray | None]], dict[str, np.ndarray]]:
    import onnx
    from onnx import numpy_helper

    if not path.is_file():
        raise InputError(f"{path}: ONNX model not found")
    try:
        graph = onnx.load(str(path)).graph
    except Exception as exc:  # onnx raises several kinds for a corrupt file
        raise InputError(f"{path}: not a readable ONNX model ({exc})") from exc
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    for node in graph.node:  # the exporter shares equal tensors (untrained BatchNorm) through Identity
        if node.op_type == "Identity" and node.input[0] in inits:
            inits[node.output[0]] = inits[node.input[0]]
    convs = []
    for node in graph.node:
        if node.op_type == "Conv":
            w = inits[node.input[1]]
            b = inits[node.input[2]] if len(node.input) > 2 and node.input[2] else None
            convs.append((w, b))
    return convs, inits


def set_spectral(conv: nn.Conv2d, w: torch.Tensor) -> None:
    """Give a spectrally normalised conv the folded weight ``w`` and unit vectors ``u``, ``v`` with
    ``u . (W v) = 1``: eval mode divides by exactly that, so ``weight == w``. ``v`` is the top right
    singular vector and ``u`` leans from the top left one toward the second by ``acos(1 / sigma)``
    (sigma of a folded weight is 1 to 1.5 %: the exporter's sigma came from one power iteration).
    A weight whose sigma is under 1 (a blend of two, ``skindeep.model.blend``) gets ``u`` lengthened to
    ``1 / sigma`` instead: eval mode does not normalise the vectors, so that is exact too.
    Training mode's power iteration then moves ``u`` back to the top singular vector, as it always does."""
    mat = w.reshape(w.shape[0], -1).double()
    u, s, vh = torch.linalg.svd(mat, full_matrices=False)
    top = float(s[0])
    cos = min(1.0, 1.0 / top)
    lean = u[:, 1] if u.shape[1] > 1 else torch.zeros_like(u[:, 0])
    conv.weight_orig.data.copy_(w)
    length = max(1.0, 1.0 / top)
    conv.weight_u.data.copy_((length * (cos * u[:, 0] + (1.0 - cos * cos) ** 0.5 * lean)).float())
    conv.weight_v.data.copy_(vh[0].float())


def onnx_model_config(path: str | Path, cfg: ModelConfig | None = None) -> ModelConfig:
    """``cfg`` (defaults when None) with the skin part of the ONNX graph at ``path``: a graph with a
    ``skin`` output has either a skin head on the encoder or a skin network of its own (the one whose
    convolution count fits), whatever ``cfg`` says; a graph without one has neither.
    Raises :class:`InputError` naming the file when it is missing or unreadable."""
    path = Path(path)
    return _fit_skin(path, cfg or ModelConfig(), len(_onnx_convs(path)[0]))


def _fit_skin(path: Path, cfg: ModelConfig, conv_count: int) -> ModelConfig:
    """``cfg`` with the skin part of the graph at ``path`` (see :func:`onnx_model_config`), given the
    graph's ``conv_count`` already read."""
    import dataclasses

    import onnx

    if not any(o.name == "skin" for o in onnx.load(str(path), load_external_data=False).graph.output):
        return dataclasses.replace(cfg, skin_head=False, skin_net=False)
    shapes = [dataclasses.replace(cfg, skin_head=True, skin_net=False),
              dataclasses.replace(cfg, skin_head=False, skin_net=True)]
    return next((c for c in shapes if len(_conv_order(build_model(c, pretrained=False))) == conv_count), shapes[0])


def model_from_onnx(path: str | Path, cfg: ModelConfig | None = None) -> SkinDeepNet:
    """A :class:`SkinDeepNet` (shape ``cfg``, defaults when None) with the weights of the ONNX file at
    ``path``; in eval mode. Its skin part is the graph's (:func:`onnx_model_config`), whatever ``cfg`` says.
    Raises :class:`InputError` naming the file when the graph does not fit."""
    path = Path(path)
    convs, inits = _onnx_convs(path)
    cfg = _fit_skin(path, cfg or ModelConfig(), len(convs))
    model = build_model(cfg, pretrained=False)
    order = _conv_order(model)
    if len(order) != len(convs):
        raise InputError(f"{path}: {len(convs)} convolutions in the ONNX graph, the network has {len(order)}; "
                         "was it exported from another model shape?")
    bns = _bn_after(model)
    with torch.no_grad():
        for (name, conv), (w, b) in zip(order, convs, strict=True):
            w = torch.from_numpy(np.array(w, np.float32))
            if tuple(w.shape) != tuple(conv.weight.shape):
                raise InputError(f"{path}: conv {name} is {tuple(conv.weight.shape)} in the network but "
                                 f"{tuple(w.shape)} in the ONNX graph")
            if hasattr(conv, "weight_orig"):
                set_spectral(conv, w)
            else:
                conv.weight.copy_(w)
            bias = None if b is None else torch.from_numpy(np.array(b, np.float32))
            if conv.bias is not None:
                conv.bias.copy_(bias if bias is not None else torch.zeros_like(conv.bias))
            elif name in bns:  # fused BatchNorm: identity scale, the fused bias as its shift
                bn = bns[name]
                bn.weight.fill_(1.0)
                bn.bias.copy_(bias if bias is not None else torch.zeros_like(bn.bias))
                bn.running_mean.zero_()
                bn.running_var.fill_(1.0 - bn.eps)
            elif bias is not None:
                raise InputError(f"{path}: conv {name} has a bias in the ONNX graph but none in the network")
        for pname, p in model.named_parameters():
            key = f"net.{pname}"
            if key in inits and not isinstance(dict(model.named_modules()).get(pname.rsplit(".", 1)[0]), nn.Conv2d):
                p.copy_(torch.from_numpy(np.array(inits[key], np.float32)).reshape(p.shape))
    return model.eval()


def check_rebuilt(model: SkinDeepNet, onnx_path: str | Path, sizes=((96, 160), (256, 256)), seed: int = 0) -> float:
    """Largest |torch - onnxruntime| over both outputs on random inputs of ``sizes``; raises
    :class:`InputError` when it reaches :data:`REBUILD_TOLERANCE`."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    gen = torch.Generator().manual_seed(seed)
    worst = 0.0
    model = model.eval()
    for h, w in sizes:
        x = torch.rand(1, 3, h, w, generator=gen)
        with torch.no_grad():
            logit, clean = model(x)[:2]
        ink_o, clean_o = sess.run(["ink", "clean"], {"image": x.numpy()})[:2]
        worst = max(worst, float(np.abs(torch.sigmoid(logit).numpy() - ink_o).max()),
                    float(np.abs(clean.numpy() - clean_o).max()))
    if worst >= REBUILD_TOLERANCE:
        raise InputError(f"{onnx_path}: the rebuilt torch network differs from the ONNX by {worst:.2e} "
                         f"(tolerance {REBUILD_TOLERANCE})")
    return worst
