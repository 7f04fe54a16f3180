"""Mode counting on 2-D mixtures, exactly per the PacGAN / VEEGAN protocol.

A sample is high quality (HQ) if it lies within 3 standard deviations of its nearest mode
centre. A mode is captured if it is the nearest centre of at least one HQ sample. Reverse KL
is KL(p_gen || uniform) over the modes, with p_gen the share of HQ samples nearest each mode.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from gankit.data.mixtures import Mixture


@dataclass(frozen=True)
class ModeReport:
    modes: int
    num_modes: int
    hq_fraction: float
    reverse_kl: float
    counts: list[int]

    def as_dict(self) -> dict:
        return {"modes": self.modes, "num_modes": self.num_modes, "hq_percent": 100 * self.hq_fraction,
                "reverse_kl": self.reverse_kl}


def count_modes(samples: torch.Tensor, mixture: Mixture, n_std: float = 3.0) -> ModeReport:
    samples = samples.detach().float().cpu()
    centers = mixture.centers.float().cpu()
    dist = torch.cdist(samples, centers)  # [N, K]
    nearest_dist, nearest = dist.min(dim=1)
    hq = nearest_dist <= n_std * mixture.std
    counts = torch.bincount(nearest[hq], minlength=mixture.num_modes)
    total = int(counts.sum())
    if total:
        p = counts.double() / total
        nz = p > 0
        reverse_kl = float((p[nz] * (p[nz] * mixture.num_modes).log()).sum())
    else:
        reverse_kl = math.inf
    return ModeReport(int((counts > 0).sum()), mixture.num_modes, float(hq.float().mean()), reverse_kl, counts.tolist())
