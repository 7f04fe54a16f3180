"""The growing, staged and composite generators (pggan, lapgan, stackgan) and r3gan, through every command that
loads a generator: export, sample, eval, walk, edit, dataset and the studio's unsupervised directions."""

import json

import numpy as np
import pytest
import torch

from gankit.cli import main
from gankit.inference import load_export
from gankit.studio.steering import unsupervised
from tests.helpers import FAST, small_nets

RECIPES = ["pggan", "lapgan", "stackgan", "r3gan"]


@pytest.mark.parametrize("recipe", RECIPES)
def test_every_command_loads_the_generator(tmp_path, small_images, recipe):
    run, export = tmp_path / "run", tmp_path / "export"
    assert main(["train", "--recipe", recipe, "--data", f"folder:{small_images}", "--steps", "6", "--batch", "8",
                 "--out", str(run), "--no-progress", "--set", *FAST, *small_nets(recipe)]) == 0
    assert main(["export", "--run", str(run), "--out", str(export)]) == 0
    G, meta = load_export(export)
    assert meta["recipe"] == recipe and meta["shape"] == [1, 16, 16]
    one_class = ["--class", "0"] if getattr(G, "c_dim", 0) else []  # stackgan draws the folder's classes
    assert main(["sample", "--export", str(export), "-n", "4", "--out", str(tmp_path / "s.png")]) == 0
    assert np.load(tmp_path / "s.latents.npy").shape == (4, meta["z_dim"])
    assert main(["eval", "--export", str(export), "--data", f"folder:{small_images}", "--metrics", "fd",
                 "--features", "pixels", "--n", "40"]) == 0
    assert main(["walk", "--export", str(export), "--seeds", "1,2", "--steps", "3", "--out",
                 str(tmp_path / "walk.png"), *one_class]) == 0
    direction = np.zeros(meta["z_dim"], dtype=np.float32)
    direction[0] = 1
    np.save(tmp_path / "d.npy", direction)
    assert main(["edit", "--export", str(export), "--direction", str(tmp_path / "d.npy"), "--seeds", "1",
                 "--alphas", "-1,0,1", "--out", str(tmp_path / "edit.png"), *one_class]) == 0
    assert main(["dataset", "--export", str(export), "-n", "6", "--out", str(tmp_path / "set")]) == 0
    assert len(list((tmp_path / "set").rglob("*.png"))) == 6
    found = unsupervised(G, meta["z_dim"], G.c_dim if getattr(G, "c_dim", 0) else 0, k=2, n=64)
    kinds = {d.kind for d in found}
    assert "pca" in kinds, f"{recipe}: no computed directions"
    for d in found:  # a direction lies in the latent the sampler takes
        assert d.vector.shape == (meta["z_dim"],) and torch.isfinite(torch.as_tensor(d.vector)).all()
    if recipe in ("lapgan", "stackgan"):  # composite latents: SeFa on the layer that takes the z part
        sefa = [d for d in found if d.kind == "sefa"]
        assert sefa and all(float(torch.as_tensor(d.vector)[G.z_dim:].abs().sum()) == 0 for d in sefa)
