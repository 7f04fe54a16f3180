"""ResNet generator and discriminator of SNGAN (Miyato et al. 2018), at 4 * 2^k resolutions (32, 64, ...).

G: z -> linear to 4x4 -> k up-sampling residual blocks (BN, ReLU, nearest 2x, 3x3 convs) -> BN, ReLU,
3x3 conv, tanh. D: k down-sampling residual blocks (the first without a leading ReLU) -> ReLU ->
sum over positions -> linear logit, every layer spectrally normalised. With ``c_dim`` D is a
projection discriminator (Miyato & Koyama 2018): logit + <embed(y), features>.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from gankit.nets.conditioning import append_to_vector, conditioning_kwargs
from gankit.nets.registry import register


RESOLUTIONS = "4 * 2^k (8, 16, 32, 64, ...)"


def nearest_resolution(resolution: int) -> int:
    """The resolution of the ladder nearest ``resolution`` (the larger of two equally near: upsampling loses nothing)."""
    k = max(1, math.floor(math.log2(max(resolution, 8) / 4)))
    low, high = 4 * 2 ** k, 4 * 2 ** (k + 1)
    return low if resolution - low < high - resolution else high


def _levels(resolution: int) -> int:
    k = math.log2(resolution / 4)
    if resolution < 8 or k != int(k):
        raise ValueError(f"the ResNet networks need a resolution of {RESOLUTIONS}, got {resolution}; "
                         f"resize the images to one with --set data.resolution={nearest_resolution(resolution)}")
    return int(k)


class OnTheLadder:
    """What the ResNet nets tell a recipe about the resolutions they take (see ``registry.register``)."""

    RESOLUTIONS = RESOLUTIONS

    @classmethod
    def nearest_resolution(cls, resolution: int) -> int:
        return nearest_resolution(resolution)


class UpBlock(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.bn1, self.bn2 = nn.BatchNorm2d(cin), nn.BatchNorm2d(cout)
        self.conv1, self.conv2 = nn.Conv2d(cin, cout, 3, 1, 1), nn.Conv2d(cout, cout, 3, 1, 1)
        self.skip = nn.Conv2d(cin, cout, 1)

    def forward(self, x):
        h = F.interpolate(F.relu(self.bn1(x)), scale_factor=2)
        h = self.conv2(F.relu(self.bn2(self.conv1(h))))
        return h + self.skip(F.interpolate(x, scale_factor=2))


class DownBlock(nn.Module):
    def __init__(self, cin: int, cout: int, first: bool, sn):
        super().__init__()
        self.first = first
        self.conv1, self.conv2 = sn(nn.Conv2d(cin, cout, 3, 1, 1)), sn(nn.Conv2d(cout, cout, 3, 1, 1))
        self.skip = sn(nn.Conv2d(cin, cout, 1))

    def forward(self, x):
        h = x if self.first else F.relu(x)
        h = F.avg_pool2d(self.conv2(F.relu(self.conv1(h))), 2)
        skip = self.skip(F.avg_pool2d(x, 2)) if self.first else F.avg_pool2d(self.skip(x), 2)
        return h + skip


@register("resnet-g")
class ResNetGenerator(OnTheLadder, nn.Module):
    def __init__(self, z_dim: int = 128, img_resolution: int = 32, img_channels: int = 3, width: int = 64, c_dim: int = 0):
        super().__init__()
        self.z_dim, self.c_dim, self.base = z_dim, c_dim, width * 4
        self.project = nn.Linear(z_dim + c_dim, 16 * self.base)
        self.blocks = nn.Sequential(*[UpBlock(self.base, self.base) for _ in range(_levels(img_resolution))])
        self.out = nn.Sequential(nn.BatchNorm2d(self.base), nn.ReLU(), nn.Conv2d(self.base, img_channels, 3, 1, 1), nn.Tanh())

    @classmethod
    def data_kwargs(cls, info, cfg) -> dict:
        return {"z_dim": cfg["z_dim"], "img_resolution": info.resolution, "img_channels": info.channels,
                **conditioning_kwargs(cfg, info, "G")}

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        x = self.project(append_to_vector(z, c, self.c_dim)).view(z.shape[0], self.base, 4, 4)
        return self.out(self.blocks(x))


@register("resnet-d")
class ResNetDiscriminator(OnTheLadder, nn.Module):
    def __init__(self, img_resolution: int = 32, img_channels: int = 3, width: int = 64, c_dim: int = 0,
                 aux_classes: int = 0, spectral: bool = True):
        super().__init__()
        sn = spectral_norm if spectral else (lambda m: m)
        ch = width * 2
        levels = _levels(img_resolution)
        self.body = nn.Sequential(*[DownBlock(img_channels if i == 0 else ch, ch, i == 0, sn) for i in range(levels)])
        self.head = sn(nn.Linear(ch, 1))
        self.embed = sn(nn.Embedding(c_dim, ch)) if c_dim else None  # projection of the label
        self.aux = sn(nn.Linear(ch, aux_classes)) if aux_classes else None

    @classmethod
    def data_kwargs(cls, info, cfg) -> dict:
        return {"img_resolution": info.resolution, "img_channels": info.channels, **conditioning_kwargs(cfg, info, "D")}

    def features(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return F.relu(self.body(x)).sum(dim=(2, 3))

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        h = self.features(x)
        logit = self.head(h).squeeze(1)
        if self.embed is not None:
            if c is None:
                raise ValueError("this network is class-conditional: pass labels c")
            logit = logit + (self.embed(c) * h).sum(1)
        return logit

    def forward_aux(self, x: torch.Tensor, c: torch.Tensor | None = None):
        h = self.features(x)
        return self.head(h).squeeze(1), self.aux(h)
