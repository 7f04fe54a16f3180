"""Divergences and Wasserstein-1 distances for histograms and low-dimensional samples.

KL(p || q) = sum_i p_i ln(p_i / q_i)                       (Kullback & Leibler 1951)
JS(p, q)   = KL(p || m) / 2 + KL(q || m) / 2, m = (p + q)/2 (Lin 1991), bounded by ln 2
W1(P, Q)   = inf over couplings of E|X - Y|                 (Kantorovich; Arjovsky et al. 2017 for GANs)

Logs are natural (nats) unless `base` is given, e.g. base=2 for bits.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist
from scipy.special import rel_entr
from scipy.stats import wasserstein_distance


def _histogram(p) -> np.ndarray:
    """A non-negative array normalised to sum 1."""
    p = np.asarray(p, dtype=np.float64)
    if np.any(p < 0) or not np.isfinite(p).all() or p.sum() <= 0:
        raise ValueError("a histogram must be finite, non-negative and have a positive sum")
    return p / p.sum()


def _pair(p, q) -> tuple[np.ndarray, np.ndarray]:
    p, q = _histogram(p), _histogram(q)
    if p.shape != q.shape:
        raise ValueError(f"histograms differ in shape: {p.shape} vs {q.shape}")
    return p, q


def kl_divergence(p, q, base: float = math.e) -> float:
    """KL(p || q) = sum p ln(p/q) of two histograms (normalised here); terms with p = 0 add 0,
    and KL is inf where p > 0 but q = 0."""
    p, q = _pair(p, q)
    return float(rel_entr(p, q).sum() / math.log(base))


def js_divergence(p, q, base: float = math.e) -> float:
    """JS(p, q) = (KL(p||m) + KL(q||m)) / 2 with m = (p + q)/2; finite, symmetric, at most ln 2 (1 bit)."""
    p, q = _pair(p, q)
    m = (p + q) / 2
    return float((rel_entr(p, m).sum() + rel_entr(q, m).sum()) / (2 * math.log(base)))


def _common_histograms(x, y, bins) -> tuple[np.ndarray, np.ndarray]:
    """Counts of x and y on the same bins, spanning both samples."""
    x, y = np.ravel(x).astype(np.float64), np.ravel(y).astype(np.float64)
    edges = np.histogram_bin_edges(np.concatenate([x, y]), bins=bins)
    return np.histogram(x, edges)[0], np.histogram(y, edges)[0]


def kl_from_samples_1d(x, y, bins: int | str = 50, base: float = math.e) -> float:
    """Histogram estimate of KL(P_x || P_y) from 1-D samples on common bins.

    It depends on the binning, and is inf as soon as a bin holds x samples but no y samples.
    """
    return kl_divergence(*_common_histograms(x, y, bins), base=base)


def js_from_samples_1d(x, y, bins: int | str = 50, base: float = math.e) -> float:
    """Histogram estimate of JS(P_x, P_y) from 1-D samples on common bins (depends on the binning)."""
    return js_divergence(*_common_histograms(x, y, bins), base=base)


def wasserstein1_1d(x, y) -> float:
    """Exact W1 between the empirical distributions of 1-D samples of any sizes:
    the integral of |F_x(t) - F_y(t)| over the merged support (scipy.stats.wasserstein_distance)."""
    return float(wasserstein_distance(np.ravel(x), np.ravel(y)))


def wasserstein1_histograms(p, q, positions) -> float:
    """Exact W1 between two 1-D histograms (normalised here) whose bins sit at `positions`."""
    p, q = _pair(p, q)
    positions = np.asarray(positions, dtype=np.float64)
    if positions.shape != p.shape or p.ndim != 1:
        raise ValueError(f"positions {positions.shape} must match the 1-D histograms {p.shape}")
    return float(wasserstein_distance(positions, positions, p, q))


def wasserstein1_2d(x, y) -> float:
    """Exact W1 between two equal-size point sets with uniform weights (made for 2-D; any dimension works).

    With n points on each side and weights 1/n, some optimal transport plan is a permutation
    (Birkhoff), so W1 is the mean Euclidean distance of the optimal assignment
    (scipy.optimize.linear_sum_assignment, O(n^3): fine up to a few thousand points).
    Unequal sizes raise ValueError rather than subsample silently.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"point sets must be [n, d] with the same d, got {x.shape} and {y.shape}")
    if len(x) != len(y):
        raise ValueError(f"wasserstein1_2d needs equal sizes, got {len(x)} and {len(y)}; subsample the larger set")
    cost = cdist(x, y)
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].mean())
