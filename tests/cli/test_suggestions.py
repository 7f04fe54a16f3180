"""A misspelt command, recipe, dataset or config key gets the nearest names: one spelling check for all."""

import pytest

from gankit import data, recipes
from gankit.cli import main
from gankit.config import ConfigError, apply_overrides, did_you_mean


@pytest.mark.parametrize("argv, line, near", [
    (["trian"], "gankit: error: argument COMMAND: invalid choice: 'trian' (choose from", "train"),
    (["train", "--recipe", "dcgna", "--data", "ring8"], "gankit train: error: --recipe 'dcgna': unknown", "dcgan"),
    (["train", "--recipe", "wgan-pg", "--data", "ring8"], "gankit train: error: --recipe 'wgan-pg': unknown",
     "wgan-gp"),
    (["train", "--recipe", "dcgan", "--data", "fashon-mnist"],
     "gankit train: error: --data 'fashon-mnist': not a known dataset", "fashion-mnist"),
    (["train", "--recipe", "dcgan", "--data", "ring9"], "gankit train: error: --data 'ring9': not a known dataset",
     "ring8"),
    (["recipes", "--show", "dcgna"], "gankit recipes: error: --show 'dcgna': unknown", "dcgan"),
])
def test_a_misspelt_name_is_refused_in_one_line_with_the_nearest(capsys, argv, line, near):
    assert main(argv) == 2
    err = capsys.readouterr().err.splitlines()
    if argv == ["trian"]:  # argparse's own error, after its usage line
        assert err[0].startswith("usage: gankit") and len(err) == 2
        err = err[1:]
    assert len(err) == 1 and err[0].startswith(line) and f"did you mean {near}" in err[0], err


def test_a_name_far_from_every_known_one_gets_the_list_instead(capsys):
    assert main(["train", "--recipe", "xyzzy", "--data", "ring8"]) == 2
    err = capsys.readouterr().err
    assert "did you mean" not in err and "known recipes: gan, nsgan, dcgan" in err
    assert main(["xyzzy"]) == 2
    assert "did you mean" not in capsys.readouterr().err


def test_the_suggestions_hold_outside_the_command_line_too(tmp_path):
    with pytest.raises(ConfigError, match=r"--recipe 'dcgna': unknown; did you mean dcgan"):
        recipes.get("dcgna")
    with pytest.raises(data.DataError, match=r"--data 'fashon-mnist': not a known dataset .* did you mean fashion-mnist"):
        data.load("fashon-mnist")
    assert data.spec_problem(str(tmp_path)) is None and data.spec_problem("fashion-mnist:test") is None
    with pytest.raises(ConfigError, match=r"--set G.lrr: unknown key; did you mean G.lr, D.lr\?"):
        apply_overrides({"G.lr": 1e-3, "D.lr": 1e-3}, ["G.lrr=1"])


def test_did_you_mean_names_only_close_words():
    assert did_you_mean("dcgna", ["dcgan", "vae"]) == "; did you mean dcgan?"
    assert did_you_mean("zzz", ["dcgan", "vae"]) == ""
