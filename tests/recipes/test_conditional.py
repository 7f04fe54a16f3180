"""Conditional recipes: labels reach G and D, ACGAN's loss is adversarial + cross-entropy, sampling by class."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gankit import nets
from gankit.cli import main
from gankit.config import ConfigError
from gankit.recipes.adversarial import Adversarial
from gankit.recipes.base import DataInfo
from gankit.train.run import default_config
from tests.helpers import FAST

INFO = DataInfo("image", (1, 8, 8), num_classes=3)


class Ctx:
    """A hand-made StepContext: fixed real batch, latents and labels."""

    batch, progress, generator = 4, 0.0, None

    def __init__(self):
        g = torch.Generator().manual_seed(0)
        self.x = torch.rand(4, 1, 8, 8, generator=g) * 2 - 1
        self.y = torch.tensor([0, 1, 2, 0])
        self.c = torch.tensor([2, 2, 1, 0])
        self.zz = torch.randn(4, 100, generator=g)
        self.reported = {}

    def real(self):
        return self.x, self.y

    def z(self, n):
        return self.zz[:n]

    def labels(self, n):
        return self.c[:n]

    def report(self, name, value):
        self.reported[name] = value

    def mean_over_ranks(self, value):
        return value  # one process


def objective(recipe, **changes):
    cfg = {**default_config(recipe, "x"), "G.width": 4, "D.width": 4, **changes}
    return Adversarial(cfg, INFO)


def test_labels_change_the_generated_image():
    G = nets.build("dcgan-g", z_dim=8, img_resolution=8, img_channels=1, width=4, c_dim=3).eval()
    z = torch.randn(1, 8).repeat(3, 1)
    x = G(z, torch.tensor([0, 1, 2]))
    assert not torch.allclose(x[0], x[1]) and not torch.allclose(x[1], x[2])
    with pytest.raises(ValueError, match="labels"):
        G(z)


def test_acgan_losses_equal_adversarial_plus_cross_entropy():
    obj = objective("acgan")
    ctx = Ctx()
    torch.manual_seed(0)
    loss = obj.d_loss(ctx)
    with torch.no_grad():
        fake = obj.G(ctx.zz, ctx.c)
    r, r_cls = obj.D.forward_aux(ctx.x)
    f, f_cls = obj.D.forward_aux(fake)
    expected = (F.softplus(-r).mean() + F.softplus(f).mean()
                + F.cross_entropy(r_cls, ctx.y) + F.cross_entropy(f_cls, ctx.c))
    assert torch.allclose(loss, expected, atol=1e-5)
    g = obj.g_loss(ctx)
    f, f_cls = obj.D.forward_aux(obj.G(ctx.zz, ctx.c))
    assert torch.allclose(g, F.softplus(-f).mean() + F.cross_entropy(f_cls, ctx.c), atol=1e-5)


def test_cgan_feeds_labels_to_d():
    obj = objective("cgan", **{"G.arch": "dcgan", "D.arch": "dcgan"})
    ctx = Ctx()
    loss = obj.d_loss(ctx)
    with torch.no_grad():
        fake = obj.G(ctx.zz, ctx.c)
    expected = F.softplus(-obj.D(ctx.x, ctx.y)).mean() + F.softplus(obj.D(fake, ctx.c)).mean()
    assert torch.allclose(loss, expected, atol=1e-5)


def test_unlabelled_data_is_refused():
    with pytest.raises(ConfigError, match="no labels"):
        Adversarial(default_config("acgan", "x"), DataInfo("image", (1, 8, 8), num_classes=0))


def test_sample_by_class_writes_labels(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--recipe", "acgan", "--data", "fashion-mnist:test", "--steps", "2", "--batch", "20",
                 "--out", str(run), "--no-progress", "--set", *FAST, "G.width=4", "D.width=4"]) == 0
    assert main(["sample", "--run", str(run), "-n", "6", "--class", "Trouser", "--out", str(tmp_path / "t.png")]) == 0
    assert np.array_equal(np.load(tmp_path / "t.labels.npy"), np.ones(6))
    assert main(["sample", "--run", str(run), "-n", "20", "--out", str(tmp_path / "all")]) == 0
    assert np.array_equal(np.load(tmp_path / "all" / "labels.npy"), np.arange(20) % 10)
    assert main(["sample", "--run", str(run), "-n", "2", "--class", "Hat", "--out", str(tmp_path / "h.png")]) == 2
    assert "Hat" in capsys.readouterr().err
