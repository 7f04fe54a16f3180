"""Learning-rate decay: the factor's formula, the rates the optimizers really use, exact resume, bad values."""

import math

import pytest
import torch

from tests.helpers import FAST
from tests.train.test_resume import _assert_same
from gankit.config import ConfigError
from gankit.train.lr_schedule import lr_factor
from gankit.train.run import open_run

TINY = FAST + ["G.hidden=16,16", "D.hidden=16,16", "G.lr=1e-3", "D.lr=3e-3"]


def test_factor_formula():
    assert lr_factor("none", 0.5, 0.9) == 1.0
    assert lr_factor("linear", 0.5, 0.25) == 1.0  # before the start: full rate
    assert lr_factor("linear", 0.5, 0.75) == pytest.approx(0.5)
    assert lr_factor("linear", 0.0, 0.9) == pytest.approx(0.1)
    assert lr_factor("linear", 0.5, 1.0) == 0.0
    assert lr_factor("cosine", 0.5, 0.75) == pytest.approx(0.5)
    assert lr_factor("cosine", 0.0, 0.25) == pytest.approx(0.5 * (1 + math.cos(math.pi / 4)))
    assert lr_factor("cosine", 0.2, 1.0) == pytest.approx(0.0)


def test_optimizers_use_the_decayed_rates(tmp_path):
    seen = []

    def record(trainer, phase):
        seen.append((trainer.step, phase.update, trainer.optimizers[phase.update].param_groups[0]["lr"]))

    trainer = open_run(recipe="nsgan", data="ring8", steps=10, batch=16, out=str(tmp_path / "r"), device="cpu",
                       progress_bar=False, log=lambda s: None, callbacks=[record],
                       sets=TINY + ["lr.decay=linear", "lr.decay_start=0.4"])
    trainer.fit()
    assert {(s, n) for s, n, _ in seen} == {(s, n) for s in range(10) for n in ("D", "G")}
    base = {"G": 1e-3, "D": 3e-3}
    for step, name, lr in seen:
        assert lr == pytest.approx(base[name] * lr_factor("linear", 0.4, step / 10)), (step, name)
    assert seen[-1][2] < base[seen[-1][1]] * 0.2  # the last step runs at a fraction of the base rate


def test_interrupted_run_resumes_on_the_same_schedule(tmp_path):
    common = dict(recipe="nsgan", data="ring8", steps=40, batch=16, device="cpu", progress_bar=False,
                  log=lambda s: None, sets=TINY + ["lr.decay=cosine", "lr.decay_start=0.25"])
    straight = open_run(out=str(tmp_path / "straight"), **common)
    straight.fit()
    first = open_run(out=str(tmp_path / "split"), **common)
    for _ in range(25):  # stopped mid-decay
        first.train_step()
    first.save_checkpoint()
    resumed = open_run(out=str(tmp_path / "split"), resume="auto", **{**common, "sets": []})
    assert resumed.step == 25
    resumed.fit()
    a, b = straight.state_dict(), resumed.state_dict()
    for key in ("nets", "G_ema", "optimizers", "step"):
        _assert_same(a[key], b[key], key)


def test_checkpoint_from_before_the_newer_keys_resumes_with_their_defaults(tmp_path):
    from gankit.config import NEUTRAL_WHEN_ABSENT
    from gankit.train import checkpoint

    run = open_run(recipe="nsgan", data="ring8", steps=4, batch=16, out=str(tmp_path / "r"), device="cpu",
                   progress_bar=False, log=lambda s: None, sets=TINY)
    run.fit()
    path = checkpoint.latest(tmp_path / "r")
    state = checkpoint.load(path)
    assert NEUTRAL_WHEN_ABSENT <= set(state["config"])
    for key in NEUTRAL_WHEN_ABSENT:
        del state["config"][key]
    torch.save(state, path)  # as an older gankit wrote it
    resumed = open_run(recipe=None, data=None, steps=6, out=str(tmp_path / "r"), resume="auto", device="cpu",
                       progress_bar=False, log=lambda s: None)
    assert resumed.step == 4
    assert resumed.cfg["lr.decay"] == "none" and resumed.cfg["tricks.instance_noise_until"] == 1.0
    assert resumed.cfg["r1"] == 0.0


@pytest.mark.parametrize("value,key", [("lr.decay=step", "lr.decay"), ("lr.decay_start=1.5", "lr.decay_start")])
def test_bad_schedule_names_the_key(tmp_path, value, key):
    with pytest.raises(ConfigError, match=key):
        open_run(recipe="nsgan", data="ring8", steps=4, out=str(tmp_path / "r"), device="cpu", progress_bar=False,
                 log=lambda s: None, sets=TINY + ["lr.decay=linear", value])


@pytest.mark.parametrize("schedule,message", [("lr.decay=linear", "lr.decay=linear follows the share of the run"),
                                              ("tricks.instance_noise=0.1", "instance_noise=0.1 follows the share")])
def test_resume_with_another_budget_is_refused_while_annealing(tmp_path, schedule, message):
    common = dict(recipe="nsgan", data="ring8", batch=16, out=str(tmp_path / "r"), device="cpu", progress_bar=False,
                  log=lambda s: None)
    open_run(steps=6, sets=TINY + [schedule], **common).fit()
    with pytest.raises(ConfigError, match=message):
        open_run(steps=12, resume="auto", **common)
    assert open_run(steps=6, resume="auto", **common).step == 6  # the same budget resumes
