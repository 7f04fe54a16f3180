"""Fréchet distance between Gaussians fitted to features: the FID of Heusel et al. 2017,
"GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash Equilibrium".

Only numpy is needed: the matrix square root goes through symmetric eigendecompositions.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

SMALL_SAMPLE = 2000  # below this FD is noticeably biased upward (Chong & Forsyth 2020, "Effectively Unbiased FID")


def _as_float64(features) -> np.ndarray:
    """Features as a float64 [N, D] array, whether they come as a tensor (any device) or an array."""
    x = torch.as_tensor(features).detach().cpu().double().numpy()
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"features must be [N, D] with N >= 2, got shape {tuple(x.shape)}")
    return x


def feature_stats(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean [D] and unbiased (ddof=1) covariance [D, D] of [N, D] features, in float64."""
    x = _as_float64(features)
    return x.mean(axis=0), np.atleast_2d(np.cov(x, rowvar=False))


def _psd_sqrt(sigma: np.ndarray) -> np.ndarray:
    """Symmetric square root of a covariance; eigenvalues below zero are rounding, so clip them."""
    w, v = np.linalg.eigh((sigma + sigma.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """FD = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^{1/2}), in float64.

    Tr((S1 S2)^{1/2}) is the sum of square roots of the eigenvalues of S1 S2, which are those of
    sqrt(S1) S2 sqrt(S1) (a similar matrix). That one is symmetric PSD, so `eigvalsh` gives real
    eigenvalues and the tiny negative ones are plain rounding. We use it rather than
    scipy.linalg.sqrtm(S1 @ S2): that product is not symmetric, so sqrtm works through a complex
    Schur form and, for singular covariances (fewer samples than dimensions), returns complex or
    non-finite results that need the eps*I patch; the eigenvalue route needs no patch.
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    d = mu1.shape[0]
    if mu1.shape != (d,) or mu2.shape != (d,) or sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise ValueError(f"shapes do not match: mu1 {mu1.shape}, sigma1 {sigma1.shape}, "
                         f"mu2 {mu2.shape}, sigma2 {sigma2.shape}")
    root1 = _psd_sqrt(sigma1)
    cross = np.linalg.eigvalsh(root1 @ sigma2 @ root1)
    trace_sqrt = np.sqrt(np.clip(cross, 0, None)).sum()
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt)


def frechet_distance_from_features(a, b) -> float:
    """FD between Gaussians fitted to two [N, D] feature sets; warns when either has < 2,000 samples."""
    n = min(len(a), len(b))
    if n < SMALL_SAMPLE:
        warnings.warn(f"Fréchet distance from only {n} samples: FD is biased upward for small n; "
                      f"use at least {SMALL_SAMPLE} (10,000+ is usual) and compare FDs only at equal n.",
                      UserWarning, stacklevel=2)
    return frechet_distance(*feature_stats(a), *feature_stats(b))
