"""Label tricks for D (Salimans et al. 2016; Chintala et al., 'How to train a GAN'): targets other than 1 and 0.

- one-sided label smoothing: real target ``smooth`` (e.g. 0.9), fake target stays 0;
- noisy (soft) labels: real targets drawn from [0.7, 1.2], fake from [0, 0.3];
- flipped labels: with probability ``flip`` a sample's real/fake target is swapped.
They only make sense for losses with targets (minimax, non-saturating, least squares).
"""

from __future__ import annotations

import torch

from gankit.regularizers.batch_random import BatchRandom, batch_random

NOISY_REAL = (0.7, 1.2)
NOISY_FAKE = (0.0, 0.3)


def targets(n: int, *, smooth: float = 1.0, noisy: bool = False, flip: float = 0.0, device="cpu",
            generator: BatchRandom | torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample (real_target, fake_target) tensors of length n."""
    rng = batch_random(generator)
    if noisy:
        u = rng.rand(2, n, device=device, dim=1)
        real = NOISY_REAL[0] + (NOISY_REAL[1] - NOISY_REAL[0]) * u[0]
        fake = NOISY_FAKE[0] + (NOISY_FAKE[1] - NOISY_FAKE[0]) * u[1]
    else:
        real = torch.full((n,), float(smooth), device=device)
        fake = torch.zeros(n, device=device)
    if flip > 0:
        swap = rng.rand(2, n, device=device, dim=1) < flip
        real, fake = torch.where(swap[0], fake, real), torch.where(swap[1], real, fake)
    return real, fake
