"""Instance noise (Sonderby et al. 2017; Arjovsky & Bottou 2017): Gaussian noise on D's inputs, annealed to zero,
so real and fake distributions overlap early in training and D's gradients stay informative."""

from __future__ import annotations

import torch

from gankit.regularizers.batch_random import BatchRandom, batch_random


def instance_noise(x: torch.Tensor, sigma0: float, progress: float,
                   generator: BatchRandom | torch.Generator | None = None) -> torch.Tensor:
    """x + N(0, sigma^2) with sigma = sigma0 * (1 - progress), zero at the end of the run."""
    sigma = sigma0 * max(0.0, 1.0 - progress)
    if sigma <= 0:
        return x
    return x + sigma * batch_random(generator).randn(*x.shape, device=x.device, dtype=x.dtype)
