"""Each loss, on hand-made logits, equals its formula."""

import math

import pytest
import torch

from gankit import losses
from gankit.config import ConfigError

r = torch.tensor([2.0, -1.0, 0.5])
f = torch.tensor([-3.0, 0.0, 1.5])


def sig(x):
    return 1 / (1 + math.exp(-x))


def test_minimax_and_nonsaturating_match_the_log_formulas():
    for name in ("minimax", "nonsaturating"):
        loss = losses.get(name)
        assert torch.allclose(loss.d_real(r), torch.tensor([-math.log(sig(v)) for v in r.tolist()]))
        assert torch.allclose(loss.d_fake(f), torch.tensor([-math.log(1 - sig(v)) for v in f.tolist()]))
    assert torch.allclose(losses.get("minimax").g(f), torch.tensor([math.log(1 - sig(v)) for v in f.tolist()]))
    assert torch.allclose(losses.get("nonsaturating").g(f), torch.tensor([-math.log(sig(v)) for v in f.tolist()]))


def test_label_target_moves_the_real_label():
    smoothed = losses.get("nonsaturating").d_real(r, 0.9)
    expected = [-(0.9 * math.log(sig(v)) + 0.1 * math.log(1 - sig(v))) for v in r.tolist()]
    assert torch.allclose(smoothed, torch.tensor(expected))


def test_least_squares():
    loss = losses.get("least-squares")
    assert torch.allclose(loss.d_real(r), 0.5 * (r - 1) ** 2)
    assert torch.allclose(loss.d_fake(f), 0.5 * f ** 2)
    assert torch.allclose(loss.g(f), 0.5 * (f - 1) ** 2)


def test_wasserstein_and_hinge():
    w = losses.get("wasserstein")
    assert torch.equal(w.d_real(r), -r) and torch.equal(w.d_fake(f), f) and torch.equal(w.g(f), -f)
    h = losses.get("hinge")
    assert torch.allclose(h.d_real(r), torch.tensor([0.0, 2.0, 0.5]))
    assert torch.allclose(h.d_fake(f), torch.tensor([0.0, 1.0, 2.5]))
    assert torch.equal(h.g(f), -f)


def test_minimax_g_saturates_where_nonsaturating_does_not():
    """The reason for the non-saturating loss: when D confidently rejects fakes, minimax gives G almost no gradient."""
    f = torch.tensor([-8.0], requires_grad=True)
    (g_mm,) = torch.autograd.grad(losses.get("minimax").g(f).sum(), f)
    (g_ns,) = torch.autograd.grad(losses.get("nonsaturating").g(f).sum(), f)
    assert abs(g_mm.item()) < 1e-3 < abs(g_ns.item())


def test_unknown_loss_names_the_value():
    with pytest.raises(ConfigError, match="bogus"):
        losses.get("bogus")


def test_relativistic_pairing_scores_each_real_against_its_fake():
    loss = losses.get("relativistic")
    assert loss.paired and not losses.get("hinge").paired
    # D: -log sigmoid(r_i - f_i); G: -log sigmoid(f_i - r_i)
    assert torch.allclose(loss.d_pair(r, f), torch.tensor([-math.log(sig(a - b)) for a, b in zip(r.tolist(), f.tolist())]))
    assert torch.allclose(loss.g_pair(r, f), torch.tensor([-math.log(sig(b - a)) for a, b in zip(r.tolist(), f.tolist())]))
    # only the difference counts: shifting both logits alike changes nothing
    assert torch.allclose(loss.d_pair(r + 7, f + 7), loss.d_pair(r, f))
    with pytest.raises(TypeError, match="paired"):
        loss.d_real(r)
