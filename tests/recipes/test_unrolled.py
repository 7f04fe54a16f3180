"""Unrolled GAN: zero look-ahead steps is the plain non-saturating loss; k steps change G's gradient."""

import pytest
import torch

from gankit.recipes.base import DataInfo
from gankit.recipes.unrolled import Unrolled
from gankit.train.run import default_config


class Ctx:
    batch, progress, generator = 16, 0.0, None

    def __init__(self):
        self.g = torch.Generator().manual_seed(0)

    def real(self):
        return torch.randn(16, 2, generator=self.g), None

    def z(self, n):
        return torch.randn(n, 8, generator=self.g)

    def report(self, name, value):
        pass


def _g_grad(steps):
    torch.manual_seed(0)
    cfg = {**default_config("unrolled", "ring8"), "z_dim": 8, "G.hidden": [16], "D.hidden": [16], "unroll.steps": steps}
    obj = Unrolled(cfg, DataInfo("points", (2,)))
    loss = obj.g_loss(Ctx())
    grads = torch.autograd.grad(loss, list(obj.G.parameters()))
    return loss, torch.cat([g.flatten() for g in grads]), obj


def test_zero_steps_is_the_nonsaturating_loss():
    loss, _, obj = _g_grad(0)
    f = obj.D(obj.G(Ctx().z(16)))  # g_loss drew exactly one latent batch from a fresh context
    assert torch.allclose(loss, torch.nn.functional.softplus(-f).mean())


def test_look_ahead_changes_the_generator_gradient_and_leaves_d_alone():
    _, plain, _ = _g_grad(0)
    loss, unrolled, obj = _g_grad(5)
    before = {n: p.clone() for n, p in obj.D.named_parameters()}
    assert torch.isfinite(unrolled).all() and not torch.allclose(plain, unrolled)
    obj.g_loss(Ctx())
    assert all(torch.equal(before[n], p) for n, p in obj.D.named_parameters())


@pytest.mark.parametrize("k", [1, 2])
def test_look_ahead_steps_equal_the_formula_on_a_linear_discriminator(k):
    """D(x) = w.x + b: G's loss is softplus(-D_k(fake)), D_k after k SGD steps from D on the same batch."""
    torch.manual_seed(0)
    cfg = {**default_config("unrolled", "ring8"), "z_dim": 8, "G.hidden": [16], "D.hidden": [16],
           "unroll.steps": k, "unroll.lr": 0.5}
    obj = Unrolled(cfg, DataInfo("points", (2,)))
    obj.D = torch.nn.Linear(2, 1)
    loss = obj.g_loss(Ctx())

    ctx = Ctx()
    real, _ = ctx.real()
    fake = obj.G(ctx.z(16)).detach()
    w, b = obj.D.weight.detach()[0], obj.D.bias.detach()[0]
    for _ in range(k):
        d_r, d_f = real @ w + b, fake @ w + b
        # d/dD softplus(-D) = -sigmoid(-D); d/dD softplus(D) = sigmoid(D); then the chain rule through w.x + b
        gr, gf = -torch.sigmoid(-d_r), torch.sigmoid(d_f)
        w, b = (w - 0.5 * ((gr[:, None] * real).mean(0) + (gf[:, None] * fake).mean(0)),
                b - 0.5 * (gr.mean() + gf.mean()))
    expected = torch.nn.functional.softplus(-(fake @ w + b)).mean()
    assert torch.allclose(loss, expected, atol=1e-6)
