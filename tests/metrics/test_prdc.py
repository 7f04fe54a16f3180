"""Precision / recall and density / coverage: sanity cases and agreement with the definitions."""

from __future__ import annotations

import pytest
import torch

import gankit.metrics.prdc as prdc_module
from gankit.metrics.prdc import density_coverage, prdc, precision_recall


def _normal(n: int, d: int = 8, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed))


def _blob(n: int, side: float, seed: int) -> torch.Tensor:
    """A 2-D unit Gaussian blob centred at (5 * side, 0); in 2-D the k-NN balls fit the blob tightly."""
    x = _normal(n, d=2, seed=seed)
    x[:, 0] += 5.0 * side
    return x


def _by_definition(real: torch.Tensor, fake: torch.Tensor, k_pr: int, k_dc: int) -> dict[str, float]:
    """The four metrics straight from full distance matrices."""
    rr, ff, rf = torch.cdist(real, real), torch.cdist(fake, fake), torch.cdist(real, fake)
    radius = lambda d, k: d.sort(dim=1).values[:, k]  # noqa: E731  (column 0 is the point itself)
    inside_pr = rf <= radius(rr, k_pr)[:, None]
    inside_dc = rf <= radius(rr, k_dc)[:, None]
    return {
        "precision": inside_pr.any(dim=0).float().mean().item(),
        "recall": (rf <= radius(ff, k_pr)[None, :]).any(dim=1).float().mean().item(),
        "density": inside_dc.sum().item() / (k_dc * fake.shape[0]),
        "coverage": inside_dc.any(dim=1).float().mean().item(),
    }


def test_identical_sets():
    x = _normal(500)
    assert precision_recall(x, x) == (1.0, 1.0)
    density, coverage = density_coverage(x, x, k=5)
    assert coverage == 1.0
    # Each real ball holds its centre plus its k neighbours, all of them fake too: density = (k + 1) / k.
    assert density == pytest.approx(6 / 5)


def test_independent_draws_of_one_distribution():
    result = prdc(_normal(2000, seed=0), _normal(2000, seed=1))
    assert result["density"] == pytest.approx(1.0, abs=0.1)  # E[density] = 1 for matching distributions
    assert result["coverage"] > 0.9


def test_far_away_fake_scores_zero():
    result = prdc(_normal(500, seed=0), _normal(500, seed=1) + 100.0)
    assert result == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_fake_on_half_of_the_support():
    real = torch.cat([_blob(1000, +1, seed=0), _blob(1000, -1, seed=1)])
    result = prdc(real, _blob(1000, +1, seed=2))
    assert result["precision"] > 0.95
    assert result["recall"] == pytest.approx(0.5, abs=0.05)
    assert result["density"] == pytest.approx(1.0, abs=0.1)
    assert result["coverage"] == pytest.approx(0.5, abs=0.05)


def test_chunked_pass_matches_the_definitions(monkeypatch):
    monkeypatch.setattr(prdc_module, "CHUNK", 7)  # several blocks and a ragged last one
    real, fake = _normal(100, d=4, seed=0), _normal(80, d=4, seed=1) * 1.3 + 0.2
    expected = _by_definition(real, fake, k_pr=3, k_dc=5)
    assert prdc(real, fake, k_pr=3, k_dc=5) == pytest.approx(expected)


def test_k_must_leave_neighbours():
    with pytest.raises(ValueError, match="k must be"):
        precision_recall(_normal(3), _normal(10), k=3)
