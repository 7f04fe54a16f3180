"""Weight clipping (WGAN): keeps the critic in a compact set, so it is K-Lipschitz for some K."""

import torch
from torch import nn


@torch.no_grad()
def clip_weights(module: nn.Module, c: float) -> None:
    """Clamp every parameter of ``module`` into [-c, c], in place, after each critic step."""
    for p in module.parameters():
        p.clamp_(-c, c)
