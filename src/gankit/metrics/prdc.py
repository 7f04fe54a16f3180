"""Precision / recall (Kynkaanniemi et al. 2019, "Improved Precision and Recall Metric for
Assessing Generative Models") and density / coverage (Naeem et al. 2020, "Reliable Fidelity and
Diversity Metrics for Generative Models") on feature sets.

Each sample x of a set has a k-NN radius r_k(x): the distance to its k-th nearest other sample
of the same set; the balls B(x, r_k(x)) approximate that set's manifold. With real X (N samples)
and fake Y (M samples):

    precision = 1/M sum_j 1[y_j in some real ball]          (k = k_pr)
    recall    = 1/N sum_i 1[x_i in some fake ball]          (k = k_pr, fake radii)
    density   = 1/(kM) sum_j #{i : y_j in B(x_i, r_k(x_i))} (k = k_dc)
    coverage  = 1/N sum_i 1[some y_j in B(x_i, r_k(x_i))]   (k = k_dc)

Distances are float32 torch.cdist blocks of CHUNK rows, so no N x M matrix is ever held whole:
10,000 x 10,000 samples of 64-D features take a few seconds on two CPU cores.
"""

from __future__ import annotations

import torch

CHUNK = 1024  # rows per distance block: a 1024 x 10,000 float32 block is 40 MB
K_PR, K_DC = 3, 5  # the papers' neighbourhood sizes


def _as_float32(features) -> torch.Tensor:
    x = torch.as_tensor(features).detach().cpu().float()
    if x.ndim != 2:
        raise ValueError(f"features must be [N, D], got shape {tuple(x.shape)}")
    return x


def _knn_radii(x: torch.Tensor, *ks: int) -> list[torch.Tensor]:
    """For each k, the distance from each row to its k-th nearest other row (the row itself is the 0-th)."""
    for k in ks:
        if not 1 <= k < x.shape[0]:
            raise ValueError(f"k must be in [1, {x.shape[0] - 1}] for {x.shape[0]} samples, got {k}")
    nearest = torch.cat([torch.cdist(block, x).topk(max(ks) + 1, dim=1, largest=False).values
                         for block in x.split(CHUNK)])
    return [nearest[:, k] for k in ks]


def prdc(real, fake, k_pr: int = K_PR, k_dc: int = K_DC) -> dict[str, float]:
    """Precision, recall, density and coverage in one pass over the real-fake distances."""
    x, y = _as_float32(real), _as_float32(fake)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"feature dimensions differ: {x.shape[1]} vs {y.shape[1]}")
    (fake_radii,) = _knn_radii(y, k_pr)
    real_radii_pr, real_radii_dc = _knn_radii(x, k_pr, k_dc)
    fake_in_real = torch.zeros(y.shape[0], dtype=torch.bool)
    density_hits = torch.zeros(y.shape[0], dtype=torch.int64)
    real_in_fake, covered = [], []
    for block, radii_pr, radii_dc in zip(x.split(CHUNK), real_radii_pr.split(CHUNK), real_radii_dc.split(CHUNK)):
        dist = torch.cdist(block, y)  # [chunk, M]
        fake_in_real |= (dist <= radii_pr[:, None]).any(dim=0)
        density_hits += (dist <= radii_dc[:, None]).sum(dim=0)
        real_in_fake.append((dist <= fake_radii[None, :]).any(dim=1))
        covered.append(dist.min(dim=1).values <= radii_dc)
    return {
        "precision": float(fake_in_real.float().mean()),
        "recall": float(torch.cat(real_in_fake).float().mean()),
        "density": float(density_hits.sum()) / (k_dc * y.shape[0]),
        "coverage": float(torch.cat(covered).float().mean()),
    }


def precision_recall(real, fake, k: int = 3) -> tuple[float, float]:
    """Kynkaanniemi et al. 2019 precision and recall with k-NN radii."""
    result = prdc(real, fake, k_pr=k, k_dc=k)
    return result["precision"], result["recall"]


def density_coverage(real, fake, k: int = 5) -> tuple[float, float]:
    """Naeem et al. 2020 density and coverage with k-NN radii of the real samples."""
    result = prdc(real, fake, k_pr=k, k_dc=k)
    return result["density"], result["coverage"]
