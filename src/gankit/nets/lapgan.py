"""LAPGAN's networks (Denton, Chintala, Szlam, Fergus 2015): one generator and one discriminator per level of a
Laplacian pyramid (``nets.pyramid``), each held by one composite module, so a run checkpoints, averages and exports
a single G and a single D.

Levels run coarse to fine: level 0 at the coarsest size (8 pixels or fewer by default), each next one twice the
size, the last at the image's. ``lapgan-g`` samples coarse to fine: level 0 draws a whole coarse image from z (an MLP,
z -> hidden ReLU layers -> tanh); every finer level upsamples the image so far (bilinear) and adds the residual its
conditional generator draws from one noise plane, that upsampled image and, for a class-conditional net, one constant
plane per class: three same-size convolutions (7x7, 7x7, 5x5, ReLU between) to a residual of the image's channels.

The latent of ``lapgan-g`` is one vector: z (``z_dim``) followed by the noise planes of the finer levels, coarse to
fine, flattened; ``latent_dim`` is its length. So an image is a deterministic function of the latent (and the
class). Each level's image is clamped to [-1, 1], the range of real images, on which every finer level was trained.

``lapgan-d`` holds a D per level and picks it by the side of the image it is given: the coarsest judges a whole
coarse image (an MLP with ReLU); a finer one judges a fine image joined with the upsampled coarse image it should
refine (and the class planes): 5x5 convolution, 5x5 stride-2 convolution, ReLU after each, a linear logit. Every
level may drop out features before its logit layers (``dropout``, as the paper's D did; off by default).
"""

from __future__ import annotations

import torch
from torch import nn

from gankit.nets.conditioning import append_planes, append_to_vector, conditioning_kwargs
from gankit.nets.mlp import MLPGenerator
from gankit.nets.pyramid import level_sizes, levels_down_to, up
from gankit.nets.registry import register

COARSEST = 8  # with levels=0, the pyramid halves the image until it is this many pixels or fewer
RESOLUTIONS = "sides that halve evenly down to 8 pixels or fewer (8, 12, 16, 28, 32, 48, 64, ...)"


def pyramid_levels(resolution: int, levels: int) -> list[int]:
    """The side of each level, coarse to fine; ``levels`` 0: down to ``COARSEST`` pixels or fewer. A side that
    cannot be halved is refused with the nearest resolution that can."""
    count = levels or levels_down_to(resolution, COARSEST)
    try:
        return level_sizes(resolution, count)
    except ValueError as e:
        hint = nearest_resolution(resolution, count)
        raise ValueError(f"{e}; resize the images with --set data.resolution={hint}"
                         + ("" if levels else " or choose fewer levels with lapgan.levels")) from None


def nearest_resolution(resolution: int, levels: int = 0) -> int:
    """The side nearest ``resolution`` that halves evenly into ``levels`` levels (0: down to ``COARSEST`` pixels);
    the larger of two equally near, as upsampling loses nothing."""
    count = levels or levels_down_to(resolution, COARSEST)
    step = 2 ** (count - 1)
    return max(step, step * ((resolution + step // 2) // step))


class PyramidNets:
    """What the LAPGAN nets tell a recipe about the resolutions they take (see ``registry.register``)."""

    RESOLUTIONS = RESOLUTIONS

    @classmethod
    def nearest_resolution(cls, resolution: int) -> int:
        return nearest_resolution(resolution)


class LevelGenerator(nn.Module):
    """[noise plane, upsampled coarse image, class planes] -> a residual of ``channels`` at the same size."""

    def __init__(self, channels: int, width: int, c_dim: int):
        super().__init__()
        self.c_dim = c_dim
        self.net = nn.Sequential(nn.Conv2d(1 + channels + c_dim, width, 7, 1, 3), nn.ReLU(),
                                 nn.Conv2d(width, width, 7, 1, 3), nn.ReLU(),
                                 nn.Conv2d(width, channels, 5, 1, 2))

    def forward(self, noise: torch.Tensor, coarse: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(append_planes(torch.cat([noise, coarse], 1), c, self.c_dim))


class LevelDiscriminator(nn.Module):
    """[fine image, upsampled coarse image, class planes] -> one logit: does the fine image refine the coarse one?"""

    def __init__(self, channels: int, size: int, width: int, c_dim: int, dropout: float):
        super().__init__()
        self.c_dim = c_dim
        half = (size + 1) // 2
        self.net = nn.Sequential(nn.Conv2d(2 * channels + c_dim, width, 5, 1, 2), nn.ReLU(),
                                 nn.Conv2d(width, width, 5, 2, 2), nn.ReLU(), nn.Dropout(dropout),
                                 nn.Flatten(), nn.Linear(width * half * half, 1))

    def forward(self, x: torch.Tensor, coarse: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(append_planes(torch.cat([x, coarse], 1), c, self.c_dim)).squeeze(1)


class CoarsestDiscriminator(nn.Module):
    """A whole coarse image (and its one-hot class) -> hidden ReLU layers with dropout -> one logit."""

    def __init__(self, channels: int, size: int, hidden: tuple, c_dim: int, dropout: float):
        super().__init__()
        self.c_dim = c_dim
        layers: list[nn.Module] = []
        width = channels * size * size + c_dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(dropout)]
            width = h
        self.net = nn.Sequential(*layers, nn.Linear(width, 1))

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(append_to_vector(x.flatten(1), c, self.c_dim)).squeeze(1)


@register("lapgan-g")
class LAPGANGenerator(PyramidNets, nn.Module):
    def __init__(self, z_dim: int = 100, img_resolution: int = 32, img_channels: int = 3, levels: int = 0,
                 width: int = 64, hidden: tuple = (1200, 1200), c_dim: int = 0):
        super().__init__()
        self.z_dim, self.c_dim = z_dim, c_dim
        self.sizes = pyramid_levels(img_resolution, levels)
        self.coarsest = MLPGenerator(z_dim, (img_channels, self.sizes[0], self.sizes[0]), tuple(hidden), tanh=True,
                                     c_dim=c_dim)
        self.refine = nn.ModuleList([LevelGenerator(img_channels, width, c_dim) for _ in self.sizes[1:]])
        self.latent_dim = z_dim + sum(s * s for s in self.sizes[1:])  # z, then a noise plane per finer level

    @classmethod
    def data_kwargs(cls, info, cfg) -> dict:
        return {"z_dim": cfg["z_dim"], "img_resolution": info.resolution, "img_channels": info.channels,
                "levels": cfg.get("lapgan.levels", 0), **conditioning_kwargs(cfg, info, "G")}

    def split(self, latent: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """A latent [N, latent_dim] -> (z [N, z_dim], the noise planes [N, 1, s, s] of the finer levels, coarse to
        fine)."""
        if latent.shape[1] != self.latent_dim:
            raise ValueError(f"lapgan-g takes latents of {self.latent_dim} numbers (z_dim {self.z_dim} and a noise "
                             f"plane of {' + '.join(f'{s}x{s}' for s in self.sizes[1:])}), got {latent.shape[1]}")
        parts = latent.split([self.z_dim, *(s * s for s in self.sizes[1:])], dim=1)
        return parts[0], [p.reshape(-1, 1, s, s) for p, s in zip(parts[1:], self.sizes[1:])]

    def residual(self, level: int, noise: torch.Tensor, coarse: torch.Tensor,
                 c: torch.Tensor | None = None) -> torch.Tensor:
        """Level ``level``'s (1 and up) residual from its noise plane and the upsampled coarser image."""
        return self.refine[level - 1](noise, coarse, c)

    def images(self, latent: torch.Tensor, c: torch.Tensor | None = None) -> list[torch.Tensor]:
        """Every level's image, drawn coarse to fine from one latent."""
        z, planes = self.split(latent)
        images = [self.coarsest(z, c)]
        for level, noise in enumerate(planes, start=1):
            coarse = up(images[-1])
            images.append((coarse + self.residual(level, noise.to(coarse.dtype), coarse, c)).clamp(-1, 1))
        return images

    def forward(self, latent: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.images(latent, c)[-1]


@register("lapgan-d")
class LAPGANDiscriminator(PyramidNets, nn.Module):
    def __init__(self, img_resolution: int = 32, img_channels: int = 3, levels: int = 0, width: int = 64,
                 hidden: tuple = (600, 600), c_dim: int = 0, dropout: float = 0.0):
        super().__init__()
        self.c_dim = c_dim
        self.sizes = pyramid_levels(img_resolution, levels)
        self.coarsest = CoarsestDiscriminator(img_channels, self.sizes[0], tuple(hidden), c_dim, dropout)
        self.refine = nn.ModuleList([LevelDiscriminator(img_channels, s, width, c_dim, dropout)
                                     for s in self.sizes[1:]])

    @classmethod
    def data_kwargs(cls, info, cfg) -> dict:
        return {"img_resolution": info.resolution, "img_channels": info.channels,
                "levels": cfg.get("lapgan.levels", 0), **conditioning_kwargs(cfg, info, "D")}

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None, coarse: torch.Tensor | None = None):
        """Logits of the level whose side ``x`` has: the coarsest judges ``x`` alone, a finer one ``x`` beside
        ``coarse``, the coarser image upsampled to ``x``'s size."""
        if x.shape[-1] not in self.sizes:
            raise ValueError(f"lapgan-d judges images of {self.sizes} pixels, got {x.shape[-1]}")
        level = self.sizes.index(x.shape[-1])
        if level == 0:
            return self.coarsest(x, c)
        if coarse is None:
            raise ValueError(f"the {x.shape[-1]}-pixel level of lapgan-d judges an image beside its upsampled coarse "
                             "image: pass coarse")
        return self.refine[level - 1](x, coarse, c)


__all__ = ["LAPGANDiscriminator", "LAPGANGenerator", "nearest_resolution", "pyramid_levels"]
