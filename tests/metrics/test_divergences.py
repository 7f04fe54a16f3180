"""KL, JS and Wasserstein-1 against values computed by hand."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from gankit.metrics.divergences import (
    js_divergence,
    js_from_samples_1d,
    kl_divergence,
    kl_from_samples_1d,
    wasserstein1_1d,
    wasserstein1_2d,
    wasserstein1_histograms,
)


def test_kl_by_hand():
    expected = 0.5 * math.log(0.5 / 0.9) + 0.5 * math.log(0.5 / 0.1)
    assert kl_divergence([0.5, 0.5], [0.9, 0.1]) == pytest.approx(expected, rel=1e-12)
    assert kl_divergence([0.5, 0.5], [0.9, 0.1], base=2) == pytest.approx(expected / math.log(2), rel=1e-12)


def test_kl_normalises_and_handles_zeros():
    assert kl_divergence([5, 5], [9, 1]) == pytest.approx(kl_divergence([0.5, 0.5], [0.9, 0.1]))
    assert kl_divergence([0.0, 1.0], [0.5, 0.5]) == pytest.approx(math.log(2))  # p = 0 terms add nothing
    assert kl_divergence([0.5, 0.5], [1.0, 0.0]) == math.inf


def test_js_by_hand():
    assert js_divergence([1, 0], [0, 1]) == pytest.approx(math.log(2))
    assert js_divergence([1, 0], [0, 1], base=2) == pytest.approx(1.0)
    assert js_divergence([0.2, 0.8], [0.2, 0.8]) == pytest.approx(0.0, abs=1e-15)
    p, q = np.array([0.5, 0.5]), np.array([0.9, 0.1])
    m = (p + q) / 2
    expected = 0.5 * np.sum(p * np.log(p / m)) + 0.5 * np.sum(q * np.log(q / m))
    assert js_divergence(p, q) == pytest.approx(expected, rel=1e-12)
    assert js_divergence(q, p) == pytest.approx(expected, rel=1e-12)


def test_invalid_histograms_raise():
    with pytest.raises(ValueError, match="non-negative"):
        kl_divergence([0.5, -0.5], [0.5, 0.5])
    with pytest.raises(ValueError, match="shape"):
        js_divergence([0.5, 0.5], [0.2, 0.3, 0.5])


def test_histogram_estimates_from_samples():
    x = np.array([0.1, 0.2, 0.3, 1.6, 1.7, 1.8])  # half in each of two bins on [0.1, 1.8]
    y = np.array([0.1, 1.6, 1.7, 1.8])  # a quarter / three quarters
    expected = kl_divergence([0.5, 0.5], [0.25, 0.75])
    assert kl_from_samples_1d(x, y, bins=2) == pytest.approx(expected)
    assert js_from_samples_1d(x, y, bins=2) == pytest.approx(js_divergence([0.5, 0.5], [0.25, 0.75]))
    assert js_from_samples_1d(x, x + 10, bins=4) == pytest.approx(math.log(2))  # disjoint supports


def test_w1_1d_by_hand():
    assert wasserstein1_1d([0.0], [3.0]) == pytest.approx(3.0)
    assert wasserstein1_1d([0, 1, 2], [1, 2, 3]) == pytest.approx(1.0)
    # Unequal sizes: F_x jumps to 1 at 0; F_y is 1/2 on [0, 2): integral of |F_x - F_y| = 2 * 1/2.
    assert wasserstein1_1d([0.0], [0.0, 2.0]) == pytest.approx(1.0)


def test_w1_histograms_by_hand():
    positions = [0.0, 1.0, 2.0, 3.0]
    assert wasserstein1_histograms([1, 0, 0, 0], [0, 0, 0, 1], positions) == pytest.approx(3.0)
    # Half the mass moves from 0 to 2: cost 1/2 * 2.
    assert wasserstein1_histograms([2, 0, 0, 0], [1, 0, 1, 0], positions) == pytest.approx(1.0)


def test_w2d_square_shifted():
    square = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    assert wasserstein1_2d(square, square + [1.0, 0.0]) == pytest.approx(1.0)
    assert wasserstein1_2d(square, square[::-1]) == pytest.approx(0.0)  # order does not matter


def test_w2d_is_optimal_not_greedy():
    # Matching in order (or greedily) pairs (0,0)-(0,1) and (0,2)-(0,-1.5): mean 2.25. The optimum crosses: 1.25.
    x = np.array([[0.0, 0.0], [0.0, 2.0]])
    y = np.array([[0.0, 1.0], [0.0, -1.5]])
    assert wasserstein1_2d(x, y) == pytest.approx(1.25)


def test_w2d_matches_brute_force():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    best = min(np.linalg.norm(x - y[list(perm)], axis=1).mean() for perm in itertools.permutations(range(6)))
    assert wasserstein1_2d(x, y) == pytest.approx(best, rel=1e-12)


def test_w2d_unequal_sizes_raise():
    with pytest.raises(ValueError, match="4 and 3"):
        wasserstein1_2d(np.zeros((4, 2)), np.zeros((3, 2)))
