"""G's moving average: the ramp-up's formula, its effect at the first step, exact resume with it."""

import pytest
import torch

from tests.helpers import FAST, TINY_CONV
from tests.train.test_resume import _assert_same
from gankit.train.ema import ramped_beta
from gankit.train.run import open_run


def test_ramped_beta_formula():
    assert ramped_beta(0.999, 0.0, 64_000, 64) == 0.999  # off: the constant beta
    assert ramped_beta(0.999, 0.05, 0, 64) == 0.0  # the first update copies G
    # half-life 0.05 * 6,400 = 320 images = 5 steps of 64
    assert ramped_beta(0.999, 0.05, 6_400, 64) == pytest.approx(0.5 ** (1 / 5))
    assert ramped_beta(0.999, 0.05, 64_000, 64) == pytest.approx(0.5 ** (1 / 50))
    # past the point where beta's own half-life (about 692.8 steps of 64) is shorter: beta itself
    assert ramped_beta(0.999, 0.05, 1_000_000, 64) == 0.999
    assert ramped_beta(0.0, 0.05, 6_400, 64) == 0.0  # no average, nothing to ramp


def _distance(a: dict, b: dict) -> float:
    """Between two sets of weights (batch-norm statistics are copied, not averaged: left out)."""
    return sum((a[k] - b[k]).norm() ** 2 for k in a).sqrt().item()


@pytest.mark.parametrize("rampup", [0.0, 0.05])
def test_rampup_starts_the_average_at_G(tmp_path, small_images, rampup):
    trainer = open_run(recipe="dcgan", data=f"folder:{small_images}", steps=1, batch=8, out=str(tmp_path / "r"),
                       progress_bar=False, log=lambda s: None,
                       sets=FAST + TINY_CONV + ["ema.beta=0.999", f"ema.rampup={rampup}"])
    initial = {k: v.detach().clone() for k, v in trainer.objective.nets["G"].named_parameters()}
    trainer.fit()
    G, ema = (dict(net.named_parameters()) for net in (trainer.objective.nets["G"], trainer.G_ema))
    moved = _distance(G, initial)
    assert moved > 0, "the step changed nothing, so the comparison proves nothing"
    if rampup:
        assert _distance(ema, G) < 1e-3 * moved  # the first update copies G
    else:
        assert _distance(ema, G) > 0.99 * moved  # 0.999 of the initial weights kept


def test_resume_with_rampup_is_exact(tmp_path, small_images):
    common = dict(recipe="dcgan", data=f"folder:{small_images}", batch=8, progress_bar=False, log=lambda s: None,
                  sets=FAST + TINY_CONV + ["ema.beta=0.99", "ema.rampup=0.05"])
    straight = open_run(steps=20, out=str(tmp_path / "straight"), **common)
    straight.fit()
    open_run(steps=10, out=str(tmp_path / "split"), **common).fit()
    resumed = open_run(steps=20, out=str(tmp_path / "split"), resume="auto", **{**common, "sets": []})
    resumed.fit()
    _assert_same(straight.state_dict()["G_ema"], resumed.state_dict()["G_ema"], "G_ema")
