"""Direction fitting on synthetic scores, orthogonalisation, and direction files."""

import json

import numpy as np
import pytest
import torch

from gankit.latent import LatentError
from gankit.latent.directions import fit_direction, load_direction, orthogonalize, save_direction


def synthetic(n=4000, d=16, seed=0, noise=0.5):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(d)
    w /= np.linalg.norm(w)
    z = rng.standard_normal((n, d))
    return z, z @ w + noise * rng.standard_normal(n), w


def test_the_fitted_normal_points_along_the_attribute():
    z, scores, w = synthetic()
    fit = fit_direction(z, scores, fraction=0.05)
    assert fit.normal.shape == (16,) and np.linalg.norm(fit.normal) == pytest.approx(1, abs=1e-6)
    assert fit.normal @ w > 0.95  # the sign too: towards high scores
    assert fit.val_accuracy >= 0.95
    assert (fit.n_positive, fit.n_negative, fit.n_val) == (200, 200, 120)
    assert fit.positive_above > fit.negative_below
    flipped = fit_direction(z, -scores, fraction=0.05)
    assert flipped.normal @ w < -0.95


def test_scores_unrelated_to_the_latents_give_chance_accuracy():
    z, _, _ = synthetic()
    noise = np.random.default_rng(1).standard_normal(len(z))
    assert fit_direction(z, noise, fraction=0.1).val_accuracy < 0.7


def test_fitting_refuses_flat_scores_and_too_few_samples():
    z, scores, _ = synthetic(n=200)
    with pytest.raises(LatentError, match="hardly varies"):
        fit_direction(z, np.ones(len(z)), fraction=0.1)
    with pytest.raises(LatentError, match="-n 200 with --fraction 0.01"):
        fit_direction(z, scores, fraction=0.01)
    with pytest.raises(LatentError, match="--fraction"):
        fit_direction(z, scores, fraction=0.7)
    with pytest.raises(LatentError, match="--val-fraction"):
        fit_direction(z, scores, val_fraction=1.0)


def test_orthogonalize_gives_a_unit_vector_orthogonal_to_the_other():
    rng = np.random.default_rng(0)
    n1, n2 = rng.standard_normal(32), rng.standard_normal(32)
    n1, n2 = n1 / np.linalg.norm(n1), n2 / np.linalg.norm(n2)
    v = orthogonalize(n1, [n2])
    assert np.linalg.norm(v) == pytest.approx(1, abs=1e-6)
    assert abs(v @ n2) < 1e-6
    expected = n1 - (n1 @ n2) * n2
    assert np.allclose(v, expected / np.linalg.norm(expected), atol=1e-6)
    assert np.allclose(orthogonalize(n1, [3 * n2]), v, atol=1e-6)  # the other's length does not matter
    assert np.allclose(orthogonalize(n1, [1e-9 * n2]), v, atol=1e-6)  # however short it is
    n3 = rng.standard_normal(32)
    both = orthogonalize(n1, [n2, n3])
    assert abs(both @ n2) < 1e-6 and abs(both @ n3) < 1e-6
    with pytest.raises(LatentError, match="--orthogonal-to"):
        orthogonalize(n2, [-2 * n2])


def test_direction_files_round_trip_as_unit_vectors(tmp_path):
    v = np.arange(1.0, 9.0)
    path, meta = save_direction(tmp_path / "d.npy", v, {"score": "fmnist:Bag", "val_accuracy": 0.9})
    assert json.loads(meta.read_text())["score"] == "fmnist:Bag" and meta.name == "d.json"
    loaded = load_direction(path, 8)
    assert loaded.dtype == torch.float32 and torch.allclose(loaded, torch.tensor(v / np.linalg.norm(v)).float())
    with pytest.raises(LatentError, match=r"--direction .*d.npy: holds shape \[8\]; this generator's latents are \[100\]"):
        load_direction(path, 100)
    np.save(tmp_path / "zero.npy", np.zeros(8))
    with pytest.raises(LatentError, match="--orthogonal-to .*zero.npy"):
        load_direction(tmp_path / "zero.npy", 8, "--orthogonal-to")
    with pytest.raises(LatentError, match="no such file"):
        load_direction(tmp_path / "missing.npy", 8)
