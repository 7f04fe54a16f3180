"""Staged runs: the trainer enters a recipe's stages by images seen and reacts in one place (batch, optimizers,
moving average, compiled forwards), and a resume lands in the same stage with the same state."""

import dataclasses

import pytest
import torch
from torch import nn

from gankit import recipes
from gankit.config import ConfigError
from gankit.nets.registry import NETS, register
from gankit.recipes.adversarial import Adversarial
from gankit.recipes.base import Stage
from gankit.train import fast
from gankit.train.run import open_run
from tests.helpers import FAST
from tests.train.test_resume import _assert_same

NOISE = 3  # the toy G's own draws after its z: a latent longer than z_dim


@register("staged-toy-g")
class GrowingG(nn.Module):
    """z + noise -> 2-D points, plus a residual layer per stage after the first (added by ``grow``), and a ``level``
    buffer that the stages set, as a growing generator's level of detail."""

    def __init__(self, z_dim: int = 4, hidden: int = 16):
        super().__init__()
        self.z_dim, self.latent_dim = z_dim, z_dim + NOISE
        self.body = nn.Sequential(nn.Linear(self.latent_dim, hidden), nn.ReLU(), nn.Linear(hidden, 2))
        self.grown = nn.ModuleList()
        self.register_buffer("level", torch.zeros(()))
        self.register_load_state_dict_pre_hook(self._grow_to_fit)
        self.register_load_state_dict_post_hook(lambda module, keys: setattr(module, "scale", 1 + int(module.level)))
        self.scale = 1  # structure a stage sets: a Python number derived from the buffer when one is loaded

    def grow(self, layers: int) -> None:
        while len(self.grown) < layers:
            layer = nn.Linear(2, 2)
            nn.init.zeros_(layer.weight), nn.init.zeros_(layer.bias)  # no draw: entering a stage uses no randomness
            self.grown.append(layer.to(self.level.device))

    def _grow_to_fit(self, module, state, prefix, *args):
        self.grow(sum(1 for k in state if k.startswith(prefix + "grown.") and k.endswith(".weight")))

    def forward(self, z, c=None):
        out = self.body(z) * self.scale
        for layer in self.grown:
            out = out + layer(out)
        return out


STAGES = [Stage("one", 0, batch=8), Stage("two", 48, batch=16, reset=("D",)), Stage("three", 144, batch=8)]


class StagedToy(Adversarial):
    """nsgan on 2-D points whose G grows a layer in stage three and whose stage two restarts D's optimizer."""

    def __init__(self, cfg, info):
        super().__init__(cfg, info)
        self.G = self.nets["G"] = GrowingG(cfg["z_dim"])
        self.entered = []

    def stages(self):
        return STAGES

    def enter(self, stage):
        index = STAGES.index(stage)
        self.G.level.fill_(index)
        self.G.scale = 1 + index
        self.G.grow(1 if index == 2 else 0)
        self.entered.append(stage.name)

    def schedule(self, nimg):
        return {"G": {"lr": 1e-4 / (1 + nimg / 100), "betas": (0.5, 0.9 + min(nimg, 100) / 2000)}}


@pytest.fixture(autouse=True)
def staged_toy():
    recipes.register(dataclasses.replace(recipes.get("nsgan"), name="staged-toy", build=StagedToy))
    yield
    recipes._RECIPES.pop("staged-toy")


@pytest.fixture(scope="module", autouse=True)
def toy_net():
    yield
    NETS.pop("staged-toy-g", None)


def run(tmp_path, name="run", steps=30, **kw):
    sets = kw.pop("sets", FAST + ["D.hidden=16", "z_dim=4", "ema.beta=0.9"])
    return open_run(recipe="staged-toy", data="ring8", steps=steps, out=str(tmp_path / name), progress_bar=False,
                    sets=sets, log=lambda s: None, **kw)


def test_stages_follow_images_seen_with_their_batch(tmp_path):
    trainer = run(tmp_path)
    seen = []
    trainer.callbacks.append(lambda t, phase: phase.name == "G" and seen.append(
        (t.nimg, t.stage.name, t.batch, t.ctx.batch, t.feed.batch)))
    trainer.fit()
    # 6 steps of 8 reach 48; 6 of 16 reach 144; then batches of 8
    assert [s[1] for s in seen] == ["one"] * 6 + ["two"] * 6 + ["three"] * 18
    assert all(b == ctx == feed == {"one": 8, "two": 16, "three": 8}[name] for _, name, b, ctx, feed in seen)
    assert trainer.nimg == 6 * 8 + 6 * 16 + 18 * 8
    assert trainer.objective.entered == ["one", "two", "three"]


def test_only_the_declared_optimizer_restarts_and_grown_parameters_join_theirs(tmp_path):
    trainer = run(tmp_path)
    trace = []

    def watch(t, phase):
        if phase.name == "D":
            trace.append((t.stage.name, {n: max(int(s["step"]) for s in o.state.values()) for n, o in t.optimizers.items()
                                         if o.state}, len(list(t.optimizers["G"].param_groups[0]["params"]))))
    trainer.callbacks.append(watch)
    trainer.fit()
    first_of = {name: next(i for i, t in enumerate(trace) if t[0] == name) for name in ("two", "three")}
    # entering "two" restarts D's Adam (its step count starts again at 1); G's goes on
    assert trace[first_of["two"]][1]["D"] == 1 and trace[first_of["two"]][1]["G"] == first_of["two"]
    assert trace[first_of["three"]][1]["D"] == first_of["three"] - first_of["two"] + 1
    # the layer grown in "three" is trained: G's optimizer holds 2 more tensors (weight and bias) from then on
    assert trace[first_of["three"] - 1][2] + 2 == trace[first_of["three"]][2] == 6
    grown = trainer.objective.G.grown[0]
    assert grown.weight.abs().sum() > 0, "the grown layer never changed, so it was not optimised"
    # parameters that stayed kept their Adam moments across the growth (not restarted from zero)
    G_opt = trainer.optimizers["G"]
    assert all(p in G_opt.state and G_opt.state[p]["step"] == len(trace) for p in trainer.objective.G.body.parameters())


def test_the_moving_average_follows_growth_and_the_stage_buffers(tmp_path):
    in_two = run(tmp_path, "two", steps=10)
    in_two.fit()
    assert in_two.G_ema.scale == in_two.objective.G.scale == 2  # no growth here: its buffers were loaded into it
    trainer = run(tmp_path)
    trainer.fit()
    G, G_ema = trainer.objective.G, trainer.G_ema
    assert G_ema.state_dict().keys() == G.state_dict().keys() and len(G_ema.grown) == 1
    assert G_ema.level.item() == G.level.item() == 2 and G_ema.scale == G.scale == 3  # its load hook ran
    assert not torch.equal(G_ema.body[0].weight, G.body[0].weight)  # still an average, not a copy


def test_a_run_split_across_stage_boundaries_equals_a_straight_one(tmp_path):
    straight = run(tmp_path, "straight", steps=30)
    straight.fit()
    for split_at in (6, 9, 20):  # where the last step reached stage two's start, inside two, inside three
        first = run(tmp_path, f"split{split_at}", steps=split_at)
        first.fit()
        resumed = run(tmp_path, f"split{split_at}", steps=30, resume="auto", sets=[])
        assert resumed.stage.name == {6: "one", 9: "two", 20: "three"}[split_at] and resumed.step == split_at
        resumed.fit()
        a, b = straight.state_dict(), resumed.state_dict()
        for key in ("nets", "G_ema", "optimizers", "feed", "z_gen", "step", "nimg", "stage"):
            _assert_same(a[key], b[key], key)


def test_an_objective_schedules_optimizer_settings_by_images_seen(tmp_path):
    trainer = run(tmp_path, steps=12)
    seen = []
    trainer.callbacks.append(lambda t, phase: phase.name == "G" and seen.append(
        (t.nimg, t.optimizers["G"].param_groups[0]["lr"], t.optimizers["G"].param_groups[0]["betas"])))
    trainer.fit()
    assert [(lr, betas) for _, lr, betas in seen] == [(1e-4 / (1 + n / 100), (0.5, 0.9 + min(n, 100) / 2000))
                                                      for n, _, _ in seen]
    assert trainer.optimizers["D"].param_groups[0]["lr"] == trainer.cfg["D.lr"]  # a net it does not name keeps its own


def test_kimg_becomes_the_steps_of_the_stage_batches_and_a_resume_keeps_the_stage(tmp_path):
    trainer = run(tmp_path, steps=None, kimg=0.2)
    assert trainer.cfg["steps"] == 6 + 6 + 7  # 48 at 8, 96 at 16, then 56 more at 8 (200 in all)
    trainer.cfg["steps"] = 9
    trainer.fit()
    resumed = run(tmp_path, steps=None, kimg=0.5, resume="auto", sets=[])
    assert resumed.stage.name == "two" and resumed.nimg == 6 * 8 + 3 * 16
    assert resumed.cfg["steps"] == 6 + 6 + 45  # the same stages, further: 500 images


def test_a_checkpoint_from_another_schedule_is_refused(tmp_path):
    trainer = run(tmp_path, steps=8)
    trainer.fit()
    state = trainer.state_dict()
    state["stage"] = "three"
    fresh = run(tmp_path, "other", steps=8)
    with pytest.raises(ValueError, match="'three'.*'two'.*schedule"):
        fresh.load_state_dict(state)
    state["stage"] = "a stage this schedule does not have"
    with pytest.raises(ValueError, match="does not have'.*'two'.*schedule"):
        fresh.load_state_dict(state)


def test_compiled_forwards_are_rebuilt_on_entering_a_stage(tmp_path, monkeypatch):
    compiled = []
    monkeypatch.setattr(fast, "use_compile", lambda cfg, device: True)
    monkeypatch.setattr(fast, "compile_forward", lambda net: compiled.append(type(net).__name__))
    trainer = run(tmp_path, steps=10)
    assert sorted(compiled) == ["GrowingG", "MLPDiscriminator"]
    trainer.fit()
    assert len(compiled) == 4 and trainer.stage.name == "two"  # once at start, once more on entering "two"


def test_a_stage_batch_the_data_cannot_fill_is_refused_before_training(tmp_path, small_images):
    big = [Stage("one", 0, batch=8), Stage("two", 48, batch=4096)]
    monkey = dataclasses.replace(recipes.get("dcgan"), name="staged-big", build=lambda cfg, info: _with_stages(
        recipes.get("dcgan").build(cfg, info), big))
    recipes.register(monkey)
    try:
        with pytest.raises(ConfigError, match="stage 'two': its batch of 4096 is larger than the dataset"):
            open_run(recipe="staged-big", data=f"folder:{small_images}", steps=5, batch=8, out=str(tmp_path / "big"),
                     progress_bar=False, sets=FAST + ["G.width=4", "D.width=4"], log=lambda s: None)
    finally:
        recipes._RECIPES.pop("staged-big")


def _with_stages(objective, stages):
    objective.stages = lambda: stages
    return objective


def test_an_export_of_a_staged_composite_samples_at_its_stage_with_its_longer_latent(tmp_path):
    from gankit.export import export_checkpoint
    from gankit.inference import load_export, render

    trainer = run(tmp_path, steps=20)
    trainer.fit()
    out = export_checkpoint(trainer.save_checkpoint(), tmp_path / "export")
    G, meta = load_export(out)
    assert meta["z_dim"] == 4 + NOISE and meta["stage"] == "three" and len(G.grown) == 1 and G.level.item() == 2
    z = torch.randn(5, meta["z_dim"])
    assert torch.equal(render(G, z), render(trainer.G_ema.eval(), z))
