"""ae and vae: the loss is the negative ELBO in closed form, reparameterised codes follow q(z|x), training moves G."""

import math

import pytest
import torch
import torch.nn.functional as F

from gankit.config import ConfigError
from gankit import recipes
from gankit.recipes import RECIPES
from gankit.recipes.autoencoder import Autoencoding, kl_standard_normal, reparameterize
from gankit.recipes.base import DataInfo
from gankit.train.run import default_config, open_run
from gankit.train.stats import read_stats
from tests.helpers import FAST

INFO = DataInfo("image", (1, 8, 8), num_classes=10)


class Ctx:
    """A hand-made StepContext: one fixed real batch and fixed noise for the reparameterisation."""

    batch, progress, generator = 4, 0.0, None

    def __init__(self, shape=(1, 8, 8), z_dim=3):
        g = torch.Generator().manual_seed(0)
        self.x = torch.rand(4, *shape, generator=g) * 2 - 1
        self.eps = torch.randn(4, z_dim, generator=g)
        self.reported = {}

    def real(self):
        return self.x, None

    def z(self, n):
        return self.eps[:n]

    def report(self, name, value):
        self.reported[name] = value


def objective(recipe, info=INFO, **changes):
    """The recipe's objective built from a config checked as the trainer checks it."""
    cfg = {**default_config(recipe, "x"), "z_dim": 3, "G.width": 4, **changes}
    recipes.check_config(cfg)
    return RECIPES[recipe].build(cfg, info)


def test_kl_matches_hand_computed_values_and_torch_distributions():
    mu = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    logvar = torch.tensor([[0.0, math.log(2.0)], [0.0, 0.0]])
    # 0.5 * sum(mu^2 + exp(logvar) - 1 - logvar) = 0.5 * (1 + 1 - 1 - 0 + 0 + 2 - 1 - log 2)
    assert torch.allclose(kl_standard_normal(mu, logvar), torch.tensor([0.5 * (2 - math.log(2.0)), 0.0]))
    mu, logvar = torch.randn(5, 4), torch.randn(5, 4)
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    expected = torch.distributions.kl_divergence(q, torch.distributions.Normal(0.0, 1.0)).sum(1)
    assert torch.allclose(kl_standard_normal(mu, logvar), expected, atol=1e-5)


@pytest.mark.parametrize("recon,beta", [("bce", 1.0), ("mse", 4.0)])
def test_vae_loss_is_reconstruction_plus_beta_times_closed_form_kl(recon, beta):
    obj = objective("vae", recon=recon, beta=beta)
    ctx = Ctx()
    loss = obj.loss(ctx)
    mu, logvar = obj.G.encode(ctx.x)
    z = mu + torch.exp(0.5 * logvar) * ctx.eps
    logits = obj.G.decode_logits(z)
    if recon == "bce":  # pixels in [0, 1], summed per image, averaged over the batch
        per_pixel = F.binary_cross_entropy(torch.sigmoid(logits), (ctx.x + 1) / 2, reduction="none")
    else:
        per_pixel = (obj.G(z) - ctx.x) ** 2
    rec = per_pixel.flatten(1).sum(1).mean()
    kl = (0.5 * (mu ** 2 + logvar.exp() - 1 - logvar).sum(1)).mean()
    assert torch.allclose(loss, rec + beta * kl, rtol=1e-5)
    assert torch.allclose(ctx.reported["Loss/recon"], rec, rtol=1e-5)
    assert torch.allclose(ctx.reported["Loss/KL"], kl, rtol=1e-5)
    assert ctx.reported["Loss/total"] is loss
    assert not any(name.startswith("Loss/G") for name in ctx.reported)  # no generator here: the VAE's own names


def test_ae_loss_is_reconstruction_of_the_code():
    obj = objective("ae", recon="mse")
    ctx = Ctx()
    loss = obj.loss(ctx)
    expected = ((obj.G(obj.G.encode(ctx.x)) - ctx.x) ** 2).flatten(1).sum(1).mean()
    assert torch.allclose(loss, expected, rtol=1e-5)
    assert "Loss/KL" not in ctx.reported and "beta" not in RECIPES["ae"].defaults
    assert set(ctx.reported) == {"Loss/recon"}  # its total is its reconstruction loss


def test_reparameterised_samples_have_the_encoders_mean_and_variance():
    mu, logvar = torch.tensor([1.5, -2.0, 0.0]), torch.tensor([0.0, math.log(0.25), math.log(4.0)])
    eps = torch.randn(200_000, 3, generator=torch.Generator().manual_seed(0))
    z = reparameterize(mu, logvar, eps)
    assert torch.allclose(z.mean(0), mu, atol=0.02)
    assert torch.allclose(z.var(0), logvar.exp(), rtol=0.02)


def test_gradients_reach_mu_and_logvar_through_the_sample():
    mu, logvar = torch.zeros(2, requires_grad=True), torch.zeros(2, requires_grad=True)
    reparameterize(mu, logvar, torch.tensor([1.0, -2.0])).sum().backward()
    assert torch.allclose(mu.grad, torch.ones(2)) and torch.allclose(logvar.grad, torch.tensor([0.5, -1.0]))


def test_bad_settings_name_their_key():
    with pytest.raises(ConfigError, match="recon=l1"):
        objective("vae", recon="l1")
    with pytest.raises(ConfigError, match="recon=bce"):
        objective("vae", info=DataInfo("points", (2,)), recon="bce")
    with pytest.raises(ConfigError, match="G.arch=resnet"):
        objective("ae", **{"G.arch": "resnet"})
    assert objective("vae", info=DataInfo("points", (2,))).recon == "mse"  # auto: squared error on points


@pytest.mark.parametrize("recipe,arch", [("vae", "dcgan"), ("ae", "dcgan"), ("vae", "mlp")])
def test_one_cpu_step_changes_the_weights(tmp_path, recipe, arch):
    trainer = open_run(recipe=recipe, data="fashion-mnist:test", steps=1, batch=16, out=str(tmp_path / "run"),
                       sets=[*FAST, "log.every=1", "G.width=4" if arch == "dcgan" else "G.hidden=16", f"G.arch={arch}"],
                       device="cpu", progress_bar=False, log=lambda s: None)
    assert isinstance(trainer.objective, Autoencoding) and list(trainer.objective.nets) == ["G"]
    before = [p.detach().clone() for p in trainer.objective.G.parameters()]
    trainer.fit()
    after = list(trainer.objective.G.parameters())
    assert sum(not torch.equal(a, b) for a, b in zip(before, after)) == len(before)  # encoder and decoder both move
    record = read_stats(trainer.run_dir)[-1]
    assert math.isfinite(record["Loss/recon"]) and record["Loss/recon"] > 0
    assert ("Loss/KL" in record) == ("Loss/total" in record) == (recipe == "vae")
    assert not any(k.startswith(("Loss/G", "Loss/D", "Logits/")) for k in record)
    assert trainer.objective.G.config["arch"] == f"{arch}-ae"


def test_vae_trains_on_two_d_points(tmp_path):
    trainer = open_run(recipe="vae", data="ring8", steps=3, batch=16, out=str(tmp_path / "run"),
                       sets=[*FAST, "log.every=1", "z_dim=2", "G.hidden=16"], device="cpu", progress_bar=False,
                       log=lambda s: None)
    trainer.fit()
    assert trainer.objective.G.config["arch"] == "mlp-ae" and trainer.objective.recon == "mse"
