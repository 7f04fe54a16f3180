"""Per-sample random numbers for one rank's slice of a global batch.

Under torchrun every rank holds the same generator and trains on its slice of the global batch.
Drawing per-sample randomness (augmentations, instance noise, noisy labels, the gradient penalty's
mixing) for the whole global batch and keeping this rank's slice gives each rank different numbers,
as it must, and N ranks together draw exactly what one process draws: the trajectory matches one
process, and resume stays exact with a single generator state.
"""

from __future__ import annotations

import torch


class BatchRandom:
    """``rand``/``randn``/``randint`` over a batch dimension ``dim`` of local size n: drawn for n * world, sliced."""

    def __init__(self, generator: torch.Generator | None = None, rank: int = 0, world: int = 1):
        self.generator, self.rank, self.world = generator, rank, world

    def _slice(self, draw, shape, dim: int) -> torch.Tensor:
        shape = list(shape)
        n = shape[dim]
        shape[dim] = n * self.world
        return draw(shape).narrow(dim, self.rank * n, n)

    def rand(self, *shape: int, device=None, dim: int = 0) -> torch.Tensor:
        return self._slice(lambda s: torch.rand(s, device=device, generator=self.generator), shape, dim)

    def randn(self, *shape: int, device=None, dtype=None, dim: int = 0) -> torch.Tensor:
        return self._slice(lambda s: torch.randn(s, device=device, dtype=dtype, generator=self.generator), shape, dim)

    def randint(self, low: int, high: int, shape: tuple[int, ...], device=None, dim: int = 0) -> torch.Tensor:
        return self._slice(lambda s: torch.randint(low, high, s, device=device, generator=self.generator), shape, dim)


def batch_random(source: BatchRandom | torch.Generator | None) -> BatchRandom:
    """Accept a BatchRandom (the trainer's), a plain generator or None (one process, e.g. in tests)."""
    return source if isinstance(source, BatchRandom) else BatchRandom(source)
