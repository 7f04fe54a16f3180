"""Fréchet distance: closed forms computable by hand, agreement with sample estimates, the small-n warning."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import scipy.linalg
import torch

from gankit.metrics.frechet import feature_stats, frechet_distance, frechet_distance_from_features


def _random_spd(rng: np.random.Generator, eigenvalues) -> np.ndarray:
    q, _ = np.linalg.qr(rng.normal(size=(len(eigenvalues), len(eigenvalues))))
    return q @ np.diag(eigenvalues) @ q.T


def test_diagonal_closed_form():
    # With diagonal covariances (S1 S2)^{1/2} = diag(sqrt(a b)), so FD = ||dmu||^2 + sum (sqrt a - sqrt b)^2.
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 9.0])
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([3.0, 1.0, -2.0])
    expected = (9 + 0 + 16) + (1 + 1 + 0)
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-12)


def test_non_commuting_2x2_closed_form():
    # For a 2x2 matrix M with real non-negative eigenvalues, Tr(M^{1/2}) = sqrt(Tr M + 2 sqrt(det M)).
    s1 = np.array([[2.0, 0.5], [0.5, 1.0]])
    s2 = np.array([[1.0, -0.3], [-0.3, 3.0]])
    assert not np.allclose(s1 @ s2, s2 @ s1)
    m = s1 @ s2
    trace_sqrt = math.sqrt(np.trace(m) + 2 * math.sqrt(np.linalg.det(m)))
    expected = 1.0 + np.trace(s1) + np.trace(s2) - 2 * trace_sqrt
    assert frechet_distance([0.0, 0.0], s1, [1.0, 0.0], s2) == pytest.approx(expected, rel=1e-12)


def test_agrees_with_scipy_sqrtm_on_well_conditioned_covariances():
    rng = np.random.default_rng(1)
    s1, s2 = _random_spd(rng, np.linspace(0.5, 2, 16)), _random_spd(rng, np.linspace(0.2, 3, 16))
    mu1, mu2 = rng.normal(size=16), rng.normal(size=16)
    reference = (np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2)
                 - 2 * np.trace(scipy.linalg.sqrtm(s1 @ s2).real))
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(reference, rel=1e-10)


def test_singular_covariances_need_no_patch():
    # 5 samples in 10 dimensions: a rank-4 covariance. Rounding puts eigenvalues of ~1e-16 where
    # zeros belong, and their square roots (~1e-8) bound the accuracy: about 1e-8 of the trace.
    features = np.random.default_rng(2).normal(size=(5, 10))
    mu, sigma = feature_stats(features)
    assert np.linalg.matrix_rank(sigma) == 4
    assert abs(frechet_distance(mu, sigma, mu, sigma)) < 1e-6 * np.trace(sigma)


def _gaussian_params():
    """8-D Gaussians with non-commuting full covariances; the means differ along a low-variance axis."""
    rng = np.random.default_rng(0)
    s1, s2 = np.zeros((8, 8)), np.zeros((8, 8))
    s1[0, 0], s2[0, 0] = 0.01, 0.0025
    s1[1:, 1:] = _random_spd(rng, np.linspace(0.5, 1.5, 7))
    s2[1:, 1:] = _random_spd(rng, np.linspace(0.1, 0.4, 7))
    mu1, mu2 = np.zeros(8), np.zeros(8)
    mu2[0] = 4.0
    return mu1, s1, mu2, s2


def test_sample_estimate_matches_closed_form_at_large_n():
    # Why n = 500,000 in 8 dims: the relative error of FD from sample stats shrinks like C / sqrt(n).
    # The covariance part alone has C of order sqrt(2 / d) or more, so 1e-3 on it would need n ~ 1e7.
    # Here the mean term (16) dominates FD (~18) and lies along an axis of variance 0.01, where
    # it is estimated very precisely; over 200 seeds at n = 20,000 we measured C ~ 0.14, so at
    # n = 500,000 the relative error has sd ~ 2e-4 and 1e-3 is a ~5 sd margin for any seed.
    # The covariance part is checked exactly by the closed-form tests above.
    mu1, s1, mu2, s2 = _gaussian_params()
    rng = np.random.default_rng(0)
    n = 500_000
    a = mu1 + rng.standard_normal((n, 8)) @ np.linalg.cholesky(s1).T
    b = mu2 + rng.standard_normal((n, 8)) @ np.linalg.cholesky(s2).T
    expected = frechet_distance(mu1, s1, mu2, s2)
    assert expected - 16 > 1.5  # the covariance part is not negligible
    assert frechet_distance_from_features(a, b) == pytest.approx(expected, rel=1e-3)


def test_feature_stats_are_float64_mean_and_unbiased_covariance():
    x = torch.tensor([[1.0, 2.0], [3.0, 6.0], [5.0, 10.0]])
    mu, sigma = feature_stats(x)
    assert mu.dtype == sigma.dtype == np.float64
    np.testing.assert_allclose(mu, [3.0, 6.0])
    np.testing.assert_allclose(sigma, [[4.0, 8.0], [8.0, 16.0]])  # ddof=1


def test_set_against_itself_is_zero():
    features = np.random.default_rng(3).normal(size=(3000, 32)) @ np.random.default_rng(4).normal(size=(32, 32))
    trace = np.trace(feature_stats(features)[1])
    assert abs(frechet_distance_from_features(features, features)) < 1e-6 * trace


def test_warns_below_2000_samples_only():
    rng = np.random.default_rng(5)
    with pytest.warns(UserWarning, match=r"500 samples.*biased upward"):
        frechet_distance_from_features(rng.normal(size=(500, 4)), rng.normal(size=(3000, 4)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frechet_distance_from_features(rng.normal(size=(2000, 4)), rng.normal(size=(2000, 4)))


def test_shape_mismatch_raises():
    with pytest.raises(ValueError, match="shapes"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))
