"""The small-crops workflow of docs/tutorial-small-crops.md, end to end at 100x100 and 28x28."""

import json

import pytest
from PIL import Image

from gankit.cli import main
from gankit.train.stats import read_stats
from tests.data.cell_crops import make_cell_crops


@pytest.mark.parametrize("resolution", [100, 28])
def test_crops_padded_augmented_and_trained(tmp_path, resolution):
    crops = make_cell_crops(tmp_path / "cells")
    sizes = {Image.open(p).size for p in crops}
    assert len(crops) == 42 and min(min(s) for s in sizes) >= 50 and max(max(s) for s in sizes) <= 100
    run = tmp_path / "run"
    # 10 epochs of 42 crops = 0.42 kimg between sample grids
    code = main(["train", "--recipe", "dcgan", "--data", f"folder:{tmp_path / 'cells'}", "--batch", "14",
                 "--steps", "40", "--out", str(run), "--no-progress", "--set",
                 f"data.resolution={resolution}", "data.size_policy=pad", "data.flip=true", "data.brightness=0.2",
                 "data.contrast=0.2", "snapshot.every_kimg=0.42", "log.every=3", "G.width=4", "D.width=4"])
    assert code == 0
    records = read_stats(run)
    assert all({"Loss/G", "Loss/D/real", "Loss/D/fake"} <= set(r) for r in records)
    grids = sorted((run / "samples").glob("grid-*.png"))
    assert len(grids) == 3  # at the start, after 10 epochs (420 images), at the end (560)
    assert Image.open(grids[-1]).size[0] > resolution
    assert json.loads((run / "config.json").read_text())["data.resolution"] == resolution
    # step 4: a synthetic set of crops at the training size, with the latent of each
    assert main(["dataset", "--run", str(run), "-n", "20", "--out", str(tmp_path / "synthetic")]) == 0
    made = sorted((tmp_path / "synthetic" / "images").glob("*.png"))
    assert len(made) == 20 and Image.open(made[0]).size == (resolution, resolution)
