"""Layers that let D look at a whole minibatch, so a collapsed G (all samples alike) is easy to spot.

- MinibatchStdDev (Karras et al. 2018): appends the average standard deviation over the batch as
  one more feature map.
- MinibatchDiscrimination (Salimans et al. 2016): for each sample, sum over the batch of
  exp(-L1 distance) between learned projections, appended as ``kernels`` more features.
"""

from __future__ import annotations

import torch
from torch import nn


class MinibatchStdDev(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        std = x.float().std(dim=0, unbiased=False).mean().to(x.dtype)
        return torch.cat([x, std.expand(x.shape[0], 1, *x.shape[2:])], dim=1)


class MinibatchDiscrimination(nn.Module):
    def __init__(self, in_features: int, kernels: int, kernel_dim: int = 8):
        super().__init__()
        self.T = nn.Parameter(torch.randn(in_features, kernels * kernel_dim) * 0.02)
        self.kernels, self.kernel_dim = kernels, kernel_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = (x.flatten(1) @ self.T).view(-1, self.kernels, self.kernel_dim)
        l1 = (m.unsqueeze(0) - m.unsqueeze(1)).abs().sum(3)  # [N, N, kernels]
        o = torch.exp(-l1).sum(1) - 1  # minus the sample's distance to itself
        return torch.cat([x.flatten(1), o], dim=1)
