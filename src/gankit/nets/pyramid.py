"""Gaussian and Laplacian image pyramids (Burt & Adelson 1983), as LAPGAN (Denton et al. 2015) builds them.

``down`` (d) halves an image by 2x2 average pooling; ``up`` (u) doubles it by bilinear interpolation. Level k of
the Gaussian pyramid is I_k = d(I_{k-1}), I_0 the image; the Laplacian pyramid keeps the coarsest level I_K whole
and, for every finer level, the residual h_k = I_k - u(I_{k+1}). ``reconstruct`` inverts it: I_k = u(I_{k+1}) + h_k
from the coarsest level up, so the image comes back up to float rounding. Lists here run from coarse to fine, the
order in which LAPGAN samples.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def down(x: torch.Tensor) -> torch.Tensor:
    """[N, C, H, W] -> [N, C, H/2, W/2]: the mean of each 2x2 block (H and W even)."""
    if x.shape[-1] % 2 or x.shape[-2] % 2:
        raise ValueError(f"cannot halve an image of {x.shape[-2]}x{x.shape[-1]} pixels: its sides must be even")
    return F.avg_pool2d(x, 2)


def up(x: torch.Tensor) -> torch.Tensor:
    """[N, C, H, W] -> [N, C, 2H, 2W] by bilinear interpolation (pixel centres aligned, no corner alignment)."""
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


def gaussian(x: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """The ``levels`` images [I_{levels-1}, ..., I_1, I_0 = x], coarse to fine, each half the size of the next."""
    if levels < 1:
        raise ValueError(f"a pyramid has at least one level, not {levels}")
    images = [x]
    for _ in range(levels - 1):
        images.append(down(images[-1]))
    return images[::-1]


def laplacian(x: torch.Tensor, levels: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """(the coarsest image I_{levels-1}, the residuals [h_{levels-2}, ..., h_0] coarse to fine):
    h_k = I_k - u(I_{k+1})."""
    images = gaussian(x, levels)
    return images[0], [fine - up(coarse) for coarse, fine in zip(images[:-1], images[1:])]


def reconstruct(coarse: torch.Tensor, residuals: list[torch.Tensor]) -> torch.Tensor:
    """The image whose Laplacian pyramid is (``coarse``, ``residuals``): I_k = u(I_{k+1}) + h_k, coarse to fine."""
    x = coarse
    for h in residuals:
        x = up(x) + h
    return x


def level_sizes(resolution: int, levels: int) -> list[int]:
    """The side of every level, coarse to fine: ``resolution`` halved ``levels - 1`` times (each halving exact)."""
    sizes = [resolution]
    for _ in range(levels - 1):
        if sizes[-1] % 2:
            raise ValueError(f"cannot build {levels} pyramid levels on {resolution} pixels: {sizes[-1]} is odd")
        sizes.append(sizes[-1] // 2)
    return sizes[::-1]


def levels_down_to(resolution: int, coarsest: int = 8) -> int:
    """The levels that halve ``resolution`` until it is at most ``coarsest`` pixels (1: already that small)."""
    levels = 1
    while resolution > coarsest:
        resolution = (resolution + 1) // 2
        levels += 1
    return levels
