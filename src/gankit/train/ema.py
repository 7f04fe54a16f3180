"""Exponential moving average of G's weights (a smoother generator for sampling)."""

from __future__ import annotations

import copy

import torch
from torch import nn


def make_ema(G: nn.Module) -> nn.Module:
    ema = copy.deepcopy(G).eval()
    ema.requires_grad_(False)
    return ema


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
