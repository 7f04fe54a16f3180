"""Fully connected generator and discriminator, for 2-D points and flattened images."""

from __future__ import annotations

import math

import torch
from torch import nn

from gankit.nets.registry import register


def _stack(sizes: list[int], act: nn.Module, batch_norm: bool) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers.append(nn.Linear(a, b))
        if batch_norm:
            layers.append(nn.BatchNorm1d(b))
        layers.append(act)
    return layers


@register("mlp-g")
class MLPGenerator(nn.Module):
    """z -> hidden ReLU layers -> output of ``out_shape``; tanh when the output is an image in [-1, 1]."""

    def __init__(self, z_dim: int = 100, out_shape: tuple = (2,), hidden: tuple = (256, 256, 256),
                 batch_norm: bool = False, tanh: bool = False):
        super().__init__()
        self.z_dim = z_dim
        self.out_shape = tuple(out_shape)
        layers = _stack([z_dim, *hidden], nn.ReLU(), batch_norm)
        layers.append(nn.Linear(hidden[-1] if hidden else z_dim, math.prod(self.out_shape)))
        if tanh:
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    @classmethod
    def data_kwargs(cls, info, cfg) -> dict:
        return {"z_dim": cfg["z_dim"], "out_shape": tuple(info.shape), "tanh": info.kind == "image"}

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(z.shape[0], *self.out_shape)


@register("mlp-d")
class MLPDiscriminator(nn.Module):
    """Input of ``in_shape`` -> hidden LeakyReLU(0.2) layers -> one logit per sample."""

    def __init__(self, in_shape: tuple = (2,), hidden: tuple = (256, 256, 256)):
        super().__init__()
        layers = _stack([math.prod(in_shape), *hidden], nn.LeakyReLU(0.2), batch_norm=False)
        layers.append(nn.Linear(hidden[-1] if hidden else math.prod(in_shape), 1))
        self.net = nn.Sequential(*layers)

    @classmethod
    def data_kwargs(cls, info, cfg) -> dict:
        return {"in_shape": tuple(info.shape)}

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last hidden layer (what feature matching compares)."""
        return self.net[:-1](x.flatten(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1)).squeeze(1)
