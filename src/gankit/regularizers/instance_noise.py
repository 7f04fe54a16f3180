"""Instance noise (Sonderby et al. 2017; Arjovsky & Bottou 2017): Gaussian noise on D's inputs, annealed to zero,
so real and fake distributions overlap early in training and D's gradients stay informative."""

from __future__ import annotations

import torch

from gankit.regularizers.batch_random import BatchRandom, batch_random


def instance_noise(x: torch.Tensor, sigma0: float, progress: float,
                   generator: BatchRandom | torch.Generator | None = None, until: float = 1.0) -> torch.Tensor:
    """x + N(0, sigma^2) with sigma = sigma0 * (1 - progress / until), zero from ``until`` (a fraction of the run)
    on, so G can sharpen its samples against a noise-free D before the run ends."""
    sigma = sigma0 * max(0.0, 1.0 - progress / until)
    if sigma <= 0:
        return x
    return x + sigma * batch_random(generator).randn(*x.shape, device=x.device, dtype=x.dtype)
