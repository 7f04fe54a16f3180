"""Every recipe trains on 2-D points and on a small real image set with finite losses."""

import math

import pytest
import torch

from tests.helpers import FAST, small_nets
from gankit.cli import main
from gankit.recipes import RECIPES
from gankit.train.run import open_run
from gankit.train.stats import read_stats


def _train(tmp_path, recipe, data, sets, steps=20):
    trainer = open_run(recipe=recipe, data=data, steps=steps, out=str(tmp_path / "run"), progress_bar=False,
                       sets=FAST + sets, batch=16, log=lambda s: None)
    before = {name: [p.detach().clone() for p in net.parameters()] for name, net in trainer.objective.nets.items()}
    trainer.fit()
    for name, net in trainer.objective.nets.items():  # every network actually trained
        assert any(not torch.equal(a, b) for a, b in zip(before[name], net.parameters())), (recipe, name)
    records = read_stats(trainer.run_dir)
    assert records and records[-1]["step"] == steps
    for record in records:
        for key, value in record.items():
            assert isinstance(value, (int, float)) and math.isfinite(value), (recipe, key, value)
    for net in trainer.objective.nets.values():
        assert all(torch.isfinite(p).all() for p in net.parameters())
    return trainer, records


# fastgan's D reconstructs images, lapgan's levels are an image pyramid, pggan's nets grow, stackgan's stages draw
# images: no 2-D points
IMAGE_ONLY = {"fastgan", "lapgan", "pggan", "stackgan"}


@pytest.mark.parametrize("recipe", sorted(set(RECIPES) - IMAGE_ONLY))
def test_recipe_on_ring8(tmp_path, recipe):
    trainer, records = _train(tmp_path, recipe, "ring8", [])
    assert trainer.objective.progress and all(k in records[-1] for k in trainer.objective.progress)
    if "D" in trainer.objective.nets:  # adversarial recipes (ae and vae have G alone)
        paired = trainer.objective.loss.paired  # a relativistic loss has one D term for a real and a fake together
        expected = {"Loss/G", "Loss/D/real", "Logits/D/real", "Logits/D/fake", *([] if paired else ["Loss/D/fake"])}
        assert expected <= set(records[-1])
    else:
        assert "Loss/recon" in records[-1] and not any(k.startswith(("Loss/G", "Loss/D")) for k in records[-1])
    assert all(k.split("/")[0] != "D" for k in records[-1])  # D's outputs are named as logits


@pytest.mark.parametrize("recipe", sorted(IMAGE_ONLY))
def test_image_only_recipe_refuses_points_in_one_line(tmp_path, recipe, capsys):
    assert main(["train", "--recipe", recipe, "--data", "ring8", "--steps", "1", "--out", str(tmp_path / "run"),
                 "--no-progress"]) != 0
    err = capsys.readouterr().err.strip()
    assert err.startswith("gankit train: error:") and "image data" in err and "\n" not in err


@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_recipe_on_small_images(tmp_path, recipe, small_images):
    trainer, records = _train(tmp_path, recipe, f"folder:{small_images}", small_nets(recipe))
    assert trainer.feed.info.shape == (1, 16, 16)
    assert (trainer.run_dir / "samples").glob("grid-*.png")


def test_recipe_defaults_follow_their_papers():
    wgan, gp, dcgan = RECIPES["wgan"].defaults, RECIPES["wgan-gp"].defaults, RECIPES["dcgan"].defaults
    assert (wgan["clip"], wgan["D.opt"], wgan["D.lr"], wgan["batch"], wgan["n_critic"]) == (0.01, "rmsprop", 5e-5, 64, 5)
    assert (gp["gp"], gp["n_critic"], gp["D.lr"], gp["D.betas"], gp["D.norm"]) == (10.0, 5, 1e-4, [0.0, 0.9], "layer")
    assert (dcgan["D.lr"], dcgan["D.betas"], dcgan["loss"]) == (2e-4, [0.5, 0.999], "nonsaturating")
    assert RECIPES["gan"].defaults["loss"] == "minimax" and RECIPES["nsgan"].defaults["loss"] == "nonsaturating"
