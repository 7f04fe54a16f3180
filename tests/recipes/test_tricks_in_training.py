"""Every trick runs one CPU step inside the adversarial recipe, and feature matching equals its formula."""

import math

import pytest
import torch

from gankit.config import ConfigError
from gankit.recipes.adversarial import Adversarial
from gankit.recipes.base import DataInfo
from gankit.train.run import default_config, open_run
from gankit.train.stats import read_stats
from tests.helpers import FAST, TINY_CONV

TRICKS = [
    ["tricks.label_smoothing=0.9"],
    ["tricks.noisy_labels=true", "tricks.flip_labels=0.05"],
    ["tricks.instance_noise=0.1"],
    ["tricks.feature_matching=true"],
    ["augment.policy=color,translation,cutout"],
    ["augment.ada=true", "ada.kimg=1"],
    ["balance=true"],
    ["D.minibatch_std=true", "D.minibatch_disc=4"],
    ["tricks.historical_averaging=0.01"],
    ["tricks.pack=4", "tricks.feature_matching=true"],
    ["r1=1", "tricks.pack=2", "augment.policy=translation"],
    ["loss=relativistic", "r1=1", "r2=1", "tricks.pack=2", "reuse_fakes=true"],
]


class HandMadeStep:
    """The slice of a step context the loss functions read, with fixed reals and latents."""

    progress, generator = 0.0, None

    def __init__(self, real: torch.Tensor, z: torch.Tensor):
        self._real, self._z, self.batch = real, z, real.shape[0]

    def real(self):
        return self._real, None

    def z(self, n):
        return self._z

    def report(self, name, value):
        pass


@pytest.mark.parametrize("sets", TRICKS, ids=lambda s: s[0].split("=")[0])
def test_trick_runs_a_step(tmp_path, small_images, sets):
    trainer = open_run(recipe="dcgan", data=f"folder:{small_images}", steps=4, batch=16, out=str(tmp_path / "r"),
                       progress_bar=False, log=lambda s: None, sets=FAST + TINY_CONV + ["log.every=2"] + sets)
    trainer.fit()
    for record in read_stats(trainer.run_dir):
        assert all(math.isfinite(v) for v in record.values() if isinstance(v, float))


def test_ada_probability_survives_resume(tmp_path, small_images):
    sets = FAST + TINY_CONV + ["augment.ada=true", "ada.kimg=0.2"]
    common = dict(recipe="dcgan", data=f"folder:{small_images}", batch=16, progress_bar=False, log=lambda s: None)
    first = open_run(steps=8, out=str(tmp_path / "r"), sets=sets, **common)
    first.fit()
    p = first.objective.ada.p.item()
    resumed = open_run(steps=9, out=str(tmp_path / "r"), resume="auto", **common)
    assert resumed.objective.ada.p.item() == p


def test_auto_ada_speed_is_chosen_from_the_run_and_the_data_and_stated(tmp_path, small_images):
    sets = FAST + TINY_CONV + ["augment.ada=true"]
    trainer = open_run(recipe="dcgan", data=f"folder:{small_images}", steps=50, batch=16, out=str(tmp_path / "r"),
                       progress_bar=False, log=lambda s: None, sets=sets)
    size = trainer.feed.info.size
    assert size == len(trainer.feed.images) > 0
    assert trainer.objective.ada.speed_kimg == pytest.approx(max(min(20 * size, 0.1 * 50 * 16) / 1000, 50 * 4 * 16 / 1000))
    notes = trainer.objective.notes()
    assert len(notes) == 1 and f"{trainer.objective.ada.speed_kimg:.3g} kimg" in notes[0] and "Augment/p" in notes[0]
    assert "Augment/p" in trainer.objective.progress  # on the progress bar
    # a fixed ada.kimg is kept as given, and said to be
    fixed = open_run(recipe="dcgan", data=f"folder:{small_images}", steps=50, batch=16, out=str(tmp_path / "f"),
                     progress_bar=False, log=lambda s: None, sets=sets + ["ada.kimg=3"])
    assert fixed.objective.ada.speed_kimg == 3 and "(ada.kimg)" in fixed.objective.notes()[0]
    assert open_run(recipe="dcgan", data=f"folder:{small_images}", steps=5, batch=16, out=str(tmp_path / "n"),
                    progress_bar=False, log=lambda s: None, sets=FAST + TINY_CONV).objective.notes() == []


def test_train_states_the_ada_speed_under_its_start_line(tmp_path, small_images, capsys):
    from gankit.cli import main

    args = ["train", "--recipe", "dcgan", "--data", f"folder:{small_images}", "--steps", "2", "--batch", "8", "--out",
            str(tmp_path / "r"), "--no-progress", "--set", *FAST, *TINY_CONV, "augment.ada=true"]
    assert main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("training dcgan"))
    assert lines[start + 1].startswith("ADA: p may move from 0 to 1 in 1.6 kimg (50 adjustments of 4 D steps of 8 ")


def test_diffaugment_recolours_the_image_channels_of_a_masked_run_only(tmp_path, small_images):
    sets = FAST + TINY_CONV + ["augment.policy=color", "data.mask=true"]
    trainer = open_run(recipe="dcgan", data=f"folder:{small_images}", steps=1, batch=8, out=str(tmp_path / "r"),
                       progress_bar=False, log=lambda s: None, sets=sets)
    info = trainer.feed.info
    assert info.mask and trainer.objective.colour_channels == info.channels - 1


def test_feature_matching_loss_is_the_squared_distance_of_mean_features():
    cfg = {**default_config("nsgan", "ring8"), "tricks.feature_matching": True, "G.hidden": [4], "D.hidden": [3]}
    obj = Adversarial(cfg, DataInfo("points", (2,)))
    real = torch.randn(8, 2)
    z = torch.randn(8, cfg["z_dim"])

    loss = obj.g_loss(HandMadeStep(real, z))
    expected = (obj.D.features(obj.G(z)).mean(0) - obj.D.features(real).mean(0)).square().sum()
    assert torch.allclose(loss, expected)


@pytest.mark.parametrize("pack", [1, 2])
def test_r1_adds_half_gamma_times_the_squared_gradient_of_d_at_the_reals(pack):
    cfg = {**default_config("nsgan", "ring8"), "G.hidden": [4], "D.hidden": [5], "tricks.pack": pack, "batch": 8}
    torch.manual_seed(0)
    plain = Adversarial(cfg, DataInfo("points", (2,)))
    with_r1 = Adversarial({**cfg, "r1": 3.0}, DataInfo("points", (2,)))
    with_r1.G.load_state_dict(plain.G.state_dict())
    with_r1.D.load_state_dict(plain.D.state_dict())
    real, z = torch.randn(8, 2), torch.randn(8, cfg["z_dim"])

    x = plain.packed(real).requires_grad_(True)
    (grad,) = torch.autograd.grad(plain.D(x).sum(), x)
    expected = plain.d_loss(HandMadeStep(real, z)) + 3.0 / 2 * grad.square().sum(1).mean()
    assert torch.allclose(with_r1.d_loss(HandMadeStep(real, z)), expected)


def test_label_tricks_are_refused_for_losses_without_labels():
    cfg = {**default_config("wgan", "ring8"), "tricks.label_smoothing": 0.9}
    with pytest.raises(ConfigError, match="label tricks"):
        Adversarial(cfg, DataInfo("points", (2,)))


def test_packing_feeds_consecutive_samples_to_d_as_one_input():
    cfg = {**default_config("nsgan", "ring8"), "tricks.pack": 2, "D.hidden": [8]}
    obj = Adversarial(cfg, DataInfo("points", (2,), 8))
    x = torch.arange(12.0).view(6, 2)
    assert torch.equal(obj.packed(x), torch.tensor([[0.0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]))
    assert obj.D.body[0].in_features == 4
    logits, _ = obj.discriminate(x, None, None)
    assert torch.allclose(logits, obj.D(obj.packed(x)))
    assert logits.shape == (3,)


@pytest.mark.parametrize("change,message", [
    ({"tricks.pack": 3}, "multiple"),
    ({"tricks.pack": 2, "gp": 10.0}, "gradient penalty"),
    ({"tricks.pack": 2, "cond.mode": "input"}, "unconditional"),
    ({"r1": 1.0, "amp": "fp16"}, "underflow"),
])
def test_packing_and_r1_refuse_what_they_cannot_do(change, message):
    cfg = {**default_config("nsgan", "ring8"), "batch": 64, "D.hidden": [8], **change}
    with pytest.raises(ConfigError, match=message):
        Adversarial(cfg, DataInfo("points", (2,), 8))


class CountingStep(HandMadeStep):
    """A hand-made step whose real batches are counted (a paired loss's G step reads one)."""

    def __init__(self, real, z):
        super().__init__(real, z)
        self.reals = 0

    def real(self):
        self.reals += 1
        return super().real()


def _pair(extra: dict, pack: int = 1):
    cfg = {**default_config("nsgan", "ring8"), "G.hidden": [4], "D.hidden": [5], "tricks.pack": pack, "batch": 8,
           "loss": "relativistic", **extra}
    torch.manual_seed(0)
    return cfg, Adversarial(cfg, DataInfo("points", (2,)))


@pytest.mark.parametrize("pack", [1, 2])
def test_relativistic_d_and_g_losses_pair_the_ith_real_with_the_ith_fake(pack):
    cfg, obj = _pair({}, pack)
    real, z = torch.randn(8, 2), torch.randn(8, cfg["z_dim"])
    with torch.no_grad():
        r, f = obj.D(obj.packed(real)), obj.D(obj.packed(obj.G(z)))
    step = CountingStep(real, z)
    assert torch.allclose(obj.d_loss(step), torch.nn.functional.softplus(f - r).mean())
    assert torch.allclose(obj.g_loss(step), torch.nn.functional.softplus(r - f).mean())
    assert step.reals == 2  # the G step scored its fakes against a real batch of its own


@pytest.mark.parametrize("pack", [1, 2])
def test_r2_adds_half_gamma_times_the_squared_gradient_of_d_at_the_fakes_from_the_same_pass(pack, monkeypatch):
    cfg, plain = _pair({}, pack)
    _, with_r2 = _pair({"r1": 2.0, "r2": 3.0}, pack)
    with_r2.G.load_state_dict(plain.G.state_dict())
    with_r2.D.load_state_dict(plain.D.state_dict())
    real, z = torch.randn(8, 2), torch.randn(8, cfg["z_dim"])
    grads = []
    for x in (real, plain.G(z).detach()):
        x = plain.packed(x).requires_grad_(True)
        (grad,) = torch.autograd.grad(plain.D(x).sum(), x)
        grads.append(grad.square().sum(1).mean())
    expected = plain.d_loss(HandMadeStep(real, z)) + 2.0 / 2 * grads[0] + 3.0 / 2 * grads[1]
    calls = []
    forward = with_r2.D.forward
    monkeypatch.setattr(with_r2.D, "forward", lambda *a, **k: calls.append(1) or forward(*a, **k))
    assert torch.allclose(with_r2.d_loss(HandMadeStep(real, z)), expected)
    assert len(calls) == 2  # one pass on the reals, one on the fakes: the penalties reuse them


def test_a_paired_loss_refuses_the_balanced_schedule_and_r2_refuses_fp16():
    with pytest.raises(ConfigError, match="balance"):
        _pair({"balance": True})
    with pytest.raises(ConfigError, match="r2=1.0 with amp=fp16"):
        _pair({"r2": 1.0, "amp": "fp16", "loss": "hinge"})
