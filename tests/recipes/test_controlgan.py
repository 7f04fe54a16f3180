"""ControlGAN: D stays unconditional, C learns from real images only, G pays gamma * CE and gamma adapts."""

import pytest
import torch
import torch.nn.functional as F

from gankit.config import ConfigError
from gankit.recipes import RECIPES
from gankit.recipes.base import DataInfo
from gankit.train.run import apply_flags, default_config
from tests.recipes.test_conditional import INFO, Ctx


def objective(**changes):
    cfg = {**default_config("controlgan", "x"), "G.width": 4, "D.width": 4, "C.width": 4, "control.augment": "",
           **changes}
    return RECIPES["controlgan"].build(cfg, INFO)


def test_labels_reach_g_but_not_d():
    obj = objective()
    assert obj.G.c_dim == 3 and obj.D.c_dim == 0
    assert [p.name for p in obj.phases()] == ["D", "C", "G"]
    assert set(obj.nets) == {"G", "D", "C"}


def test_classifier_loss_is_cross_entropy_on_real_images():
    obj = objective()
    obj.C.eval()  # no dropout: the same logits twice
    ctx = Ctx()
    loss = obj.c_loss(ctx)
    assert torch.allclose(loss, F.cross_entropy(obj.C(ctx.x), ctx.y), atol=1e-6)
    assert torch.equal(obj.real_ce, loss.detach())


def test_generator_loss_and_gamma_update_follow_the_formula():
    obj = objective(**{"control.rate": 0.1, "control.alpha": 0.5})
    ctx = Ctx()
    real_ce = obj.c_loss(ctx).detach()
    obj.gamma = torch.tensor(0.7)
    loss = obj.g_loss(ctx)
    fake = obj.G(ctx.zz[:4], ctx.c)
    obj.C.eval()
    fake_ce = F.cross_entropy(obj.C(fake), ctx.c)
    expected = -obj.D(fake).mean() + 0.7 * fake_ce  # wasserstein G loss + gamma * CE
    assert torch.allclose(loss, expected, atol=1e-5)
    assert torch.allclose(obj.gamma, torch.tensor(0.7) + 0.1 * (fake_ce - 0.5 * real_ce), atol=1e-5)
    assert ctx.reported["Control/gamma"] == pytest.approx(0.7)


def test_gamma_is_clipped_to_its_range():
    obj = objective(**{"control.rate": 100.0, "control.gamma_max": 1.5})
    ctx = Ctx()
    obj.c_loss(ctx)
    obj.real_ce = torch.tensor(0.0)  # fakes are always harder than a perfect real score: gamma rises
    obj.g_loss(ctx)
    assert obj.gamma.item() == 1.5
    obj.real_ce = torch.tensor(1e3)
    obj.g_loss(ctx)
    assert obj.gamma.item() == 0.0


def test_gamma_survives_a_checkpoint_round_trip():
    obj = objective()
    obj.gamma = torch.tensor(0.123)
    other = objective()
    other.load_state_dict(obj.state_dict())
    assert other.gamma.item() == pytest.approx(0.123)


def test_unlabelled_data_and_other_modes_are_refused():
    with pytest.raises(ConfigError, match="labelled"):
        RECIPES["controlgan"].build(default_config("controlgan", "x"), DataInfo("image", (1, 8, 8), num_classes=0))
    with pytest.raises(ConfigError, match=r"^--set cond.mode=input: must be one of classifier \(labels go to G only"):
        apply_flags(default_config("controlgan", "x"), ["cond.mode=input"])
