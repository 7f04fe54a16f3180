"""The 2-D Gaussian mixtures used to study mode collapse (PacGAN / VEEGAN protocol).

ring8: 8 modes on the unit circle, std 0.01. grid25: modes on {-4,-2,0,2,4}^2, std 0.05.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported where points are made, so the names here cost nothing to look up
    import torch


@dataclass
class Mixture:
    """An isotropic Gaussian mixture with equal weights; samples are drawn fresh every batch."""

    name: str
    centers: torch.Tensor  # [K, 2]
    std: float

    @property
    def num_modes(self) -> int:
        return self.centers.shape[0]

    def sample(self, n: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
        return self.sample_with_modes(n, generator, device)[0]

    def sample_with_modes(self, n: int, generator: torch.Generator | None = None, device=None):
        """(points [n, 2], index of the mode each was drawn from): the mode is the label of conditional recipes."""
        import torch

        device = device if device is not None else (generator.device if generator is not None else "cpu")
        centers = self.centers.to(device)
        k = torch.randint(self.num_modes, (n,), generator=generator, device=device)
        noise = torch.randn(n, 2, generator=generator, device=device)
        return centers[k] + self.std * noise, k


def ring8() -> Mixture:
    import torch

    angles = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)
    centers = torch.stack([angles.cos(), angles.sin()], dim=1).float()
    return Mixture("ring8", centers, std=0.01)


def grid25() -> Mixture:
    import torch

    axis = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0])
    centers = torch.cartesian_prod(axis, axis)
    return Mixture("grid25", centers, std=0.05)


MIXTURES = {"ring8": ring8, "grid25": grid25}
