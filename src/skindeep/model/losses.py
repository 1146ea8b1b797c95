"""Training losses: ink-weighted L1, perceptual + Gram on frozen Lite0 features, mask BCE + Dice.

All tensors are float32: images ``(N,3,H,W)`` in 0..1, ink alpha ``(N,1,H,W)`` in 0..1, ink logits
``(N,1,H,W)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from skindeep.model.config import LossConfig


class FeatureLoss(nn.Module):
    """Perceptual L1 and Gram-matrix L1 on the first three levels (/2, /4, /8) of a frozen ImageNet
    EfficientNet-Lite0: the cheap layers, enough for skin texture and stroke remnants."""

    def __init__(self, pretrained: bool = True, depth: int = 3, weights: tuple[float, ...] = (1.0, 1.0, 1.0)):
        super().__init__()
        from skindeep.model.net import Lite0Encoder

        self.encoder = Lite0Encoder(pretrained, depth=depth).eval()
        for p in self.encoder.parameters():
            p.requires_grad_(False)
        self.weights = weights

    def train(self, mode: bool = True) -> FeatureLoss:
        super().train(mode)
        self.encoder.eval()  # always frozen, BatchNorm included
        return self

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (feature L1, Gram L1), each a scalar."""
        fp = self.encoder(pred)
        with torch.no_grad():
            ft = self.encoder(target)
        feat = pred.new_zeros(())
        gram = pred.new_zeros(())
        for w, a, b in zip(self.weights, fp, ft, strict=False):
            feat = feat + w * F.l1_loss(a, b)
            gram = gram + w * F.l1_loss(gram_matrix(a), gram_matrix(b))
        return feat, gram


def gram_matrix(x: torch.Tensor) -> torch.Tensor:
    """``(N,C,H,W)`` -> ``(N,C,C)`` normalised by C*H*W."""
    n, c, h, w = x.shape
    f = x.reshape(n, c, h * w)
    return torch.bmm(f, f.transpose(1, 2)) / (c * h * w)


def dice_loss(logits: torch.Tensor, target: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    """Soft Dice over each image, averaged; ``eps`` keeps ink-free images (target all 0) well defined."""
    p = torch.sigmoid(logits).flatten(1)
    t = target.flatten(1)
    inter = (p * t).sum(1)
    return (1 - (2 * inter + eps) / (p.sum(1) + t.sum(1) + eps)).mean()


def hard_negative_bce(logits: torch.Tensor, target: torch.Tensor, top: float) -> torch.Tensor:
    """Mean BCE over the ``top`` share (0..1] of non-ink pixels (``target == 0``) with the highest BCE,
    pooled over the batch; 0 when there is no non-ink pixel."""
    negatives = F.binary_cross_entropy_with_logits(logits, target, reduction="none")[target == 0]
    if negatives.numel() == 0:
        return logits.new_zeros(())
    k = max(1, int(round(top * negatives.numel())))
    return negatives.topk(k).values.mean()


def ink_weight(ink: torch.Tensor, extra: float, grow: int = 2) -> torch.Tensor:
    """Per-pixel L1 weight ``1 + extra * dilate(ink > 0)``: the ink and a thin ring around it matter most."""
    hard = (ink > 0).float()
    if grow > 0:
        hard = F.max_pool2d(hard, 2 * grow + 1, stride=1, padding=grow)
    return 1.0 + extra * hard


@dataclass
class LossTerms:
    """The weighted total and each unweighted term (floats for logging)."""

    total: torch.Tensor
    parts: dict[str, float]


class SkinDeepLoss(nn.Module):
    """Weighted sum of the terms in :class:`LossConfig`."""

    def __init__(self, cfg: LossConfig | None = None, pretrained: bool = True):
        super().__init__()
        self.cfg = cfg or LossConfig()
        self.features = None
        if self.cfg.perceptual or self.cfg.gram:
            from_file = bool(self.cfg.feature_weights)
            self.features = FeatureLoss(pretrained and not from_file)
            if from_file:  # the ImageNet levels, saved by skindeep.model.devicepack (no 17 MB package)
                state = torch.load(self.cfg.feature_weights, map_location="cpu", weights_only=True)
                self.features.encoder.load_state_dict(state)

    def forward(self, logits: torch.Tensor, clean: torch.Tensor, target: torch.Tensor, ink: torch.Tensor) -> LossTerms:
        cfg = self.cfg
        w = ink_weight(ink, cfg.l1_ink_weight)
        l1 = ((clean - target).abs() * w).sum() / (w.sum() * clean.shape[1])
        mask = (ink > cfg.mask_target).float() if cfg.mask_target > 0 else ink
        bce = F.binary_cross_entropy_with_logits(logits, mask)
        dice = dice_loss(logits, mask)
        total = cfg.l1 * l1 + cfg.bce * bce + cfg.dice * dice
        parts = {"l1": l1.item(), "bce": bce.item(), "dice": dice.item()}
        if cfg.hard_negative > 0:
            hard = hard_negative_bce(logits, mask, cfg.hard_negative_top)
            total = total + cfg.hard_negative * hard
            parts["hard_neg"] = hard.item()
        if self.features is not None:
            feat, gram = self.features(clean, target)
            total = total + cfg.perceptual * feat + cfg.gram * gram
            parts.update(feat=feat.item(), gram=gram.item())
        parts["total"] = total.item()
        return LossTerms(total, parts)


def box_losses(logits: torch.Tensor, box: torch.Tensor, core: torch.Tensor, outside: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """Weak supervision from tattoo boxes (``RealBoxDataset``): (projection, negative), two scalars.

    projection: BoxInst's (Tian et al. 2021) Dice between the ink map's max along each column / row
    inside the boxes and the boxes' core projected the same way: every column and row through a box's
    core crosses some ink, with no claim about which pixels. negative: mean BCE toward "no ink" where no
    box reaches (real skin, clothes and backgrounds the synthetic engine does not imitate).
    """
    p = torch.sigmoid(logits) * box
    proj = logits.new_zeros(())
    for dim in (-2, -1):
        pred = p.amax(dim=dim).flatten(1)
        target = core.amax(dim=dim).flatten(1)
        inter = (pred * target).sum(1)
        proj = proj + (1 - 2 * inter / (pred.pow(2).sum(1) + target.pow(2).sum(1)).clamp(min=1e-6)).mean()
    bce = F.binary_cross_entropy_with_logits(logits, torch.zeros_like(logits), reduction="none")
    negative = (bce * outside).sum() / outside.sum().clamp(min=1.0)
    return proj / 2, negative


def pseudo_loss(logits: torch.Tensor, ink: torch.Tensor) -> torch.Tensor:
    """Self-training on pseudo-labelled real ink (``RealPseudoDataset``): a scalar, the mean BCE toward
    "ink" over the labelled pixels. Unlabelled pixels say nothing (a missed piece is not skin).

    logits (B,1,S,S); ink (B,1,S,S) 1 on labelled ink, 0 elsewhere.
    """
    bce = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits), reduction="none")
    return (bce * ink).sum() / ink.sum().clamp(min=1.0)


def distil_loss(logits: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """Distillation on clean photos (``TeacherDataset``): a scalar, the mean BCE toward the teacher's ink
    probability over every pixel.

    logits (B,1,S,S); teacher (B,1,S,S) float32 0..1.
    """
    return F.binary_cross_entropy_with_logits(logits, teacher)


# The four undirected directions of the 8-neighbourhood, at BoxInst's dilation.
_PAIR_STEPS = ((0, 1), (1, 0), (1, 1), (1, -1))


def box_pairwise(logits: torch.Tensor, lab: torch.Tensor, box: torch.Tensor, dilation: int = 2,
                 theta: float = 2.0, tau: float = 0.3) -> torch.Tensor:
    """BoxInst's colour-affinity term (Tian et al. 2021): a scalar.

    Neighbouring pixels inside a box whose CIELAB colours are alike (``exp(-|dLab| / theta) >= tau``)
    should get the same label: the loss is ``-log(p_i p_j + (1 - p_i)(1 - p_j))`` averaged over those
    pairs. The box projection only says that each row and column crosses some ink; this term spreads a
    confident "ink" over the rest of the same ink and a confident "skin" over the skin between strokes.

    logits (B,1,S,S); lab (B,3,S,S) float32 CIELAB (L 0..100); box (B,1,S,S) 1 inside a box.
    """
    log_p, log_q = F.logsigmoid(logits), F.logsigmoid(-logits)
    total, count = logits.new_zeros(()), logits.new_zeros(())
    s = logits.shape[-1]
    for dy, dx in _PAIR_STEPS:
        dy, dx = dy * dilation, dx * dilation
        a = (slice(None), slice(None), slice(0, s - dy), slice(max(0, -dx), s - max(0, dx)))
        b = (slice(None), slice(None), slice(dy, s), slice(max(0, dx), s - max(0, -dx)))
        similar = torch.exp(-(lab[a] - lab[b]).norm(dim=1, keepdim=True) / theta) >= tau
        pair = similar & (box[a] > 0) & (box[b] > 0)
        same = torch.logaddexp(log_p[a] + log_p[b], log_q[a] + log_q[b])
        total = total - (same * pair).sum()
        count = count + pair.sum()
    return total / count.clamp(min=1.0)
