"""Kernel Inception Distance (Binkowski et al. 2018, "Demystifying MMD GANs").

KID is the unbiased estimate of MMD^2 between the feature distributions under the cubic
polynomial kernel k(x, y) = (x.y / d + 1)^3, averaged over random subsets. Unlike FD it has no
bias from the sample size, so values at different n can be compared.
"""

from __future__ import annotations

import torch


def _as_float64(features) -> torch.Tensor:
    x = torch.as_tensor(features).detach().cpu().double()
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"features must be [N, D] with N >= 2, got shape {tuple(x.shape)}")
    return x


def _polynomial_kernel(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (x @ y.T / x.shape[1] + 1) ** 3


def mmd2_unbiased(x: torch.Tensor, y: torch.Tensor) -> float:
    """Unbiased MMD^2 for equal-size sets (m each):

    sum_{i!=j} k(x_i, x_j) / (m(m-1)) + sum_{i!=j} k(y_i, y_j) / (m(m-1)) - 2 sum_{i,j} k(x_i, y_j) / m^2.
    The cross term keeps its diagonal: x_i and y_i are independent, so it is already unbiased.
    """
    m = x.shape[0]
    k_xx, k_yy, k_xy = _polynomial_kernel(x, x), _polynomial_kernel(y, y), _polynomial_kernel(x, y)
    within = (k_xx.sum() - k_xx.diagonal().sum() + k_yy.sum() - k_yy.diagonal().sum()) / (m * (m - 1))
    return float(within - 2 * k_xy.mean())


def kernel_inception_distance(a, b, subsets: int = 100, subset_size: int = 1000,
                              seed: int = 0) -> tuple[float, float]:
    """Mean and (population) std of the unbiased MMD^2 over `subsets` random subsets.

    Each subset draws subset_size rows of a and of b without replacement; subset_size is clipped
    to min(len(a), len(b)). The same seed gives the same result.
    """
    x, y = _as_float64(a), _as_float64(b)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"feature dimensions differ: {x.shape[1]} vs {y.shape[1]}")
    m = min(subset_size, x.shape[0], y.shape[0])
    generator = torch.Generator().manual_seed(seed)
    values = torch.tensor([
        mmd2_unbiased(x[torch.randperm(x.shape[0], generator=generator)[:m]],
                      y[torch.randperm(y.shape[0], generator=generator)[:m]])
        for _ in range(subsets)
    ], dtype=torch.float64)
    return float(values.mean()), float(values.std(correction=0))
