"""Fully connected generator and discriminator, for 2-D points and flattened images."""

from __future__ import annotations

import math

import torch
from torch import nn

from gankit.nets.conditioning import append_to_vector, conditioning_kwargs
from gankit.nets.minibatch import MinibatchDiscrimination
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
                 batch_norm: bool = False, tanh: bool = False, c_dim: int = 0):
        super().__init__()
        self.z_dim, self.c_dim = z_dim, c_dim
        self.out_shape = tuple(out_shape)
        layers = _stack([z_dim + c_dim, *hidden], nn.ReLU(), batch_norm)
        layers.append(nn.Linear(hidden[-1] if hidden else z_dim, math.prod(self.out_shape)))
        if tanh:
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    @classmethod
    def data_kwargs(cls, info, cfg) -> dict:
        return {"z_dim": cfg["z_dim"], "out_shape": tuple(info.shape), "tanh": info.kind == "image",
                **conditioning_kwargs(cfg, info, "G")}

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(append_to_vector(z, c, self.c_dim)).view(z.shape[0], *self.out_shape)


@register("mlp-d")
class MLPDiscriminator(nn.Module):
    """Input of ``in_shape`` -> hidden LeakyReLU(0.2) layers -> one logit per sample."""

    def __init__(self, in_shape: tuple = (2,), hidden: tuple = (256, 256, 256), c_dim: int = 0, aux_classes: int = 0,
                 minibatch_disc: int = 0):
        super().__init__()
        self.c_dim = c_dim
        width = hidden[-1] if hidden else math.prod(in_shape) + c_dim
        layers = _stack([math.prod(in_shape) + c_dim, *hidden], nn.LeakyReLU(0.2), batch_norm=False)
        if minibatch_disc:
            layers.append(MinibatchDiscrimination(width, minibatch_disc))
            width += minibatch_disc
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, 1)
        self.aux = nn.Linear(width, aux_classes) if aux_classes else None

    @classmethod
    def data_kwargs(cls, info, cfg) -> dict:
        return {"in_shape": tuple(info.shape), **conditioning_kwargs(cfg, info, "D")}

    def features(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """The last hidden layer (what feature matching compares)."""
        return self.body(append_to_vector(x.flatten(1), c, self.c_dim))

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.features(x, c)).squeeze(1)

    def forward_aux(self, x: torch.Tensor, c: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(real/fake logit, class logits) from one pass: the auxiliary classifier of ACGAN."""
        h = self.features(x, c)
        return self.head(h).squeeze(1), self.aux(h)
