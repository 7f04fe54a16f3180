"""Exponential moving average of G's weights (a smoother generator for sampling)."""

from __future__ import annotations

import copy

import torch
from torch import nn


def make_ema(G: nn.Module) -> nn.Module:
    ema = copy.deepcopy(G).eval()
    ema.requires_grad_(False)
    return ema


def ramped_beta(beta: float, rampup: float, nimg: int, batch: int) -> float:
    """The decay of the update made after ``nimg`` images seen: ``beta``, or a lower one while the run is young.

    With ``rampup`` r > 0 the average's half-life is at most r * nimg images, StyleGAN2-ADA's ramp-up
    (its ema_rampup 0.05): beta_t = min(beta, 0.5 ** (batch / (r * nimg))). The first update (nimg 0) uses 0,
    so G_ema starts as G; without a ramp-up the average keeps beta ** steps of the initial weights
    (0.999 ** 1200 = 30%), which only a long run washes out. Counted in images rather than steps, so a
    ramp-up lasts as many images at any batch size. It depends on the images seen alone, which checkpoints
    hold, so a resumed run averages as an unbroken one does.
    """
    if rampup <= 0 or beta <= 0:
        return beta
    if nimg <= 0:
        return 0.0
    return min(beta, 0.5 ** (batch / (rampup * nimg)))


@torch.no_grad()
def update_ema(ema: nn.Module, G: nn.Module, beta: float) -> None:
    """ema <- beta * ema + (1 - beta) * G for parameters; buffers (batch-norm statistics) are copied."""
    # one multi-tensor kernel each instead of one launch per tensor (on CPU: the same per-tensor ops)
    params_ema, params = list(ema.parameters()), list(G.parameters())
    if params:
        torch._foreach_lerp_(params_ema, params, 1.0 - beta)
    buffers_ema, buffers = list(ema.buffers()), list(G.buffers())
    if buffers:
        torch._foreach_copy_(buffers_ema, buffers)
