"""Data whose size the recipe's networks do not take trains at the nearest size they do, and the log says so."""

import json

import pytest

from tests.helpers import FAST, TINY_CONV
from gankit import recipes
from gankit.config import ConfigError
from gankit.train.run import default_config, open_run


def test_sngan_on_fashion_mnist_trains_at_32_and_says_so(tmp_path):
    logs = []
    trainer = open_run(recipe="sngan", data="fashion-mnist:test", steps=1, batch=8, out=str(tmp_path / "run"),
                       sets=FAST + TINY_CONV + ["n_critic=1"], progress_bar=False, log=logs.append)
    assert trainer.feed.info.shape == (1, 32, 32)
    assert trainer.cfg["data.resolution"] == 32  # recorded, so evaluation, export and resume see the same size
    assert [line for line in logs if "resized" in line] == [
        "sngan: data resized 28 -> 32 (the resnet-g and resnet-d networks take 4 * 2^k (8, 16, 32, 64, ...); "
        "set data.resolution to choose)"]
    trainer.fit()
    assert json.loads((trainer.run_dir / "config.json").read_text())["data.resolution"] == 32


def test_an_explicit_size_off_the_ladder_is_still_refused(tmp_path):
    with pytest.raises(ConfigError, match="data.resolution=32"):
        open_run(recipe="sngan", data="fashion-mnist:test", steps=1, batch=8, out=str(tmp_path / "run"),
                 sets=FAST + TINY_CONV + ["data.resolution=28"], progress_bar=False, log=lambda s: None)


@pytest.mark.parametrize("recipe,size,fitted", [("sngan", 28, 32), ("sngan", 20, 16), ("sngan", 64, 64),
                                                ("dcgan", 28, 28), ("dcgan", 2, 4), ("vae", 3, 4), ("gan", 28, 28)])
def test_the_nearest_size_every_network_takes(recipe, size, fitted):
    resolution, note = recipes.fit_resolution(default_config(recipe, "DATA"), size)
    assert resolution == fitted and (note is None) == (size == fitted)


def test_a_network_switched_by_the_user_decides_the_size():
    cfg = {**default_config("dcgan", "DATA"), "D.arch": "resnet"}
    assert recipes.fit_resolution(cfg, 28) == (32, "dcgan: data resized 28 -> 32 (the resnet-d networks take "
                                                   "4 * 2^k (8, 16, 32, 64, ...); set data.resolution to choose)")
