"""The content mask a generator learns with ``data.mask``, and why D never sees it.

A real crop lies on its canvas as an upright rectangle, +1 in the mask and -1 on the padding, and its
padding is one flat level. Shown that mask, D told every fake by it alone, however good the image: on
the tutorial's 42 crops a run with the mask drew noise by 4,000 images where the same run without it drew
cells, and it did so whether G's mask was soft, thresholded, or drawn as an exact rectangle
(docs/benchmarks.md). So, as layered GANs compose a foreground over a background, G's mask decides where
its image is kept and where the padding level shows instead, and D judges that composite alone: its
mask input is held at 0. The mask then learns from D's verdict on the images, through the composite, and
``--crop-to-content`` cuts each sample where its mask is +1. Drawing the padding costs G nothing in D's
eyes, so left alone the masks spread over the whole canvas; ``mask.shrink`` pulls them onto the padding
wherever D does not need the image.
"""

from __future__ import annotations

import torch
from torch import nn


def padding_level(value) -> torch.Tensor:
    """The ``data.pad_value`` a run recorded (a grey level 0..255, or one per channel; -1, none recorded, is the
    loader's black) in the [-1, 1] of images, one value per channel or one for all."""
    levels = value if isinstance(value, (list, tuple)) else [0 if value == -1 else value]
    return torch.tensor([v / 127.5 - 1 for v in levels], dtype=torch.float32)


def composite(x: torch.Tensor, pad: torch.Tensor, shrink: float = 0.0) -> torch.Tensor:
    """A generator's output ``x`` (image channels, then the mask channel) as training and sampling show it: the
    mask +1 where it is above 0 and -1 elsewhere, the image the padding level ``pad`` [C] where the mask is -1.
    Exact in the forward pass; the mask's gradient is that of the soft blend (straight through), so what D says
    of the image reaches the mask. ``shrink`` adds to that gradient as if the loss held ``shrink`` times the
    share of the canvas the masks cover (``mask.shrink``): drawing the padding itself costs G nothing in D's
    eyes, so without it the masks spread over the whole canvas."""
    soft = (x[:, -1:] + 1) / 2
    if shrink > 0 and soft.requires_grad:
        push = shrink / soft.numel()
        soft.register_hook(lambda grad: grad + push)
    inside = (soft > 0.5).to(soft.dtype) + (soft - soft.detach())  # exactly 0 or 1 forward, soft backward
    image = x[:, :-1] * inside + pad.to(x).view(1, -1, 1, 1) * (1 - inside)
    return torch.cat([image, inside * 2 - 1], dim=1)


class _Composite:
    """G's forward hook: a plain object, so copies of G (the moving average) carry it and its settings."""

    def __init__(self, pad: torch.Tensor, shrink: float):
        self.pad, self.shrink = pad, shrink

    def __call__(self, module, args, out: torch.Tensor) -> torch.Tensor:
        return composite(out, self.pad, self.shrink)


class _Blind:
    """D's forward pre-hook: every ``channels``-th input channel (the mask of each sample, packed or not) set to 0."""

    def __init__(self, channels: int):
        self.channels = channels

    def __call__(self, module, args):
        x = args[0].clone()
        x[:, self.channels - 1::self.channels] = 0
        return (x, *args[1:])


def compose(G: nn.Module, pad: torch.Tensor, shrink: float = 0.0) -> nn.Module:
    """Make every forward pass of ``G`` (and of its copies) end in ``composite``. A hook, not a layer: the weights
    and a checkpoint's keys stay those of ``G``, and a loaded G gets the same hook
    (``inference.compose_as_trained``; ``shrink`` only acts on a backward pass: training)."""
    G.register_forward_hook(_Composite(pad, shrink))
    return G


def blind(D: nn.Module, channels: int) -> nn.Module:
    """Hide the mask channel of every image from ``D`` (``channels``: an image's, mask included)."""
    D.register_forward_pre_hook(_Blind(channels))
    return D
