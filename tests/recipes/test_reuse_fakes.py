"""``reuse_fakes``: the G step trains on the D step's fakes, as pytorch/examples' DCGAN loop does."""

import pytest
import torch

from gankit.config import ConfigError
from gankit.train.run import open_run
from tests.helpers import FAST, TINY_CONV


def _trainer(tmp_path, name, data, recipe, sets):
    return open_run(recipe=recipe, data=data, batch=16, steps=100, out=str(tmp_path / name), progress_bar=False,
                    sets=FAST + sets, log=lambda s: None, device="cpu")


def _count_g_forwards(trainer) -> list[int]:
    calls = []
    trainer.objective.nets["G"].register_forward_hook(lambda *args: calls.append(1))
    return calls


@pytest.mark.parametrize("recipe,data,sets", [
    ("dcgan", "images", TINY_CONV),
    ("controlgan", "images", TINY_CONV + ["n_critic=1", "C.width=4"]),
    ("unrolled", "ring8", ["G.hidden=16", "D.hidden=16", "unroll.steps=2"]),
])
def test_one_g_forward_per_step_instead_of_two(tmp_path, small_images, recipe, data, sets):
    data = f"folder:{small_images}" if data == "images" else data
    counts = {}
    for reuse in (False, True):
        trainer = _trainer(tmp_path, f"reuse-{reuse}", data, recipe, sets + [f"reuse_fakes={str(reuse).lower()}"])
        calls = _count_g_forwards(trainer)
        for _ in range(3):
            trainer.train_step()
        counts[reuse] = len(calls)
        assert all(torch.isfinite(p).all() for net in trainer.objective.nets.values() for p in net.parameters())
    assert counts == {False: 6, True: 3}


def _draw_once_per_step(trainer) -> None:
    """Make the plain schedule's G step get the latents and labels its D step drew (without drawing again)."""
    ctx = trainer.ctx
    for name in ("z", "labels"):
        draw, last = getattr(ctx, name), {}

        def again_in_g_phase(n, *, _draw=draw, _last=last):
            if "value" in _last:
                return _last.pop("value")
            _last["value"] = _draw(n)
            return _last["value"]

        setattr(ctx, name, again_in_g_phase)


@pytest.mark.parametrize("recipe,sets", [
    ("dcgan", TINY_CONV + ["augment.policy=translation,cutout"]),
    ("acgan", TINY_CONV),
])
def test_reused_fakes_train_as_a_g_step_on_the_d_steps_latents(tmp_path, small_images, recipe, sets):
    """The kept fakes carry G's graph: G's update equals that of a fresh G pass on the same latents and labels."""
    data = f"folder:{small_images}"
    reused = _trainer(tmp_path, "reused", data, recipe, sets + ["reuse_fakes=true"])
    same_z = _trainer(tmp_path, "same_z", data, recipe, sets)
    _draw_once_per_step(same_z)
    fresh = _trainer(tmp_path, "fresh", data, recipe, sets)
    for _ in range(3):
        for t in (reused, same_z, fresh):
            t.train_step()
    for net in ("G", "D"):
        params = {name: dict(t.objective.nets[net].named_parameters()) for name, t in
                  (("reused", reused), ("same_z", same_z), ("fresh", fresh))}
        for k, p in params["reused"].items():
            assert torch.allclose(p, params["same_z"][k], rtol=1e-5, atol=1e-7), (net, k)
        # and the comparison can tell: fresh latents in the G step give other weights
        assert any(not torch.allclose(p, params["fresh"][k], rtol=1e-5, atol=1e-7) for k, p in params["reused"].items())


def test_reuse_fakes_needs_one_d_step_per_g_step(tmp_path):
    with pytest.raises(ConfigError, match=r"reuse_fakes=true.*n_critic=1, not 5"):
        _trainer(tmp_path, "r", "ring8", "wgan-gp", ["reuse_fakes=true"])
