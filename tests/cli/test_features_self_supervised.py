"""gankit features train --self-supervised: a feature space from unlabelled images, written like a labelled one
and used by gankit eval --features PATH."""

import json

import pytest

from gankit.cli import main
from gankit.model_folder import sha256
from tests.data.cell_crops import make_cell_crops
from tests.helpers import FAST


@pytest.fixture(scope="module")
def cells(tmp_path_factory):
    root = tmp_path_factory.mktemp("cells")
    make_cell_crops(root, count=12)
    return root


def test_trains_on_unlabelled_crops_with_progress_and_records_its_identity(cells, tmp_path, capsys):
    out = tmp_path / "feat"
    assert main(["features", "train", "--self-supervised", f"folder:{cells}", "--out", str(out), "--steps", "4",
                 "--width", "2", "--nuisances", "flip,blur"]) == 0
    printed = capsys.readouterr().out
    config = json.loads((out / "config.json").read_text())
    assert config["self_supervised"] is True and config["objective"] == "nt-xent" and config["images"] == 12
    assert config["nuisances"] == ["flip", "blur"] and config["steps"] == 4 and config["batch"] == 12
    assert config["network"]["img_resolution"] == 64  # crops of up to 100 px, at most 64 by default: CPU-fast
    assert config["sha256"] == sha256(out / "classifier.safetensors")
    assert "step 4/4: loss" in printed and "views matched to their twin" in printed
    assert f"weights sha256 {config['sha256'][:16]}" in printed and f"--features {out}" in printed
    assert not list(tmp_path.glob(".*"))  # written whole: no temporary folder left beside it


def test_eval_measures_in_the_self_supervised_space(small_images, tmp_path, capsys):
    feat, run = tmp_path / "feat", tmp_path / "run"
    assert main(["features", "train", "--self-supervised", f"folder:{small_images}", "--out", str(feat),
                 "--steps", "3", "--width", "2"]) == 0
    assert main(["train", "--recipe", "dcgan", "--data", f"folder:{small_images}", "--steps", "2", "--batch", "16",
                 "--out", str(run), "--no-progress", "--set", *FAST, "G.width=4", "D.width=4"]) == 0
    assert main(["eval", "--run", str(run), "--metrics", "fd,memorization", "--features", str(feat),
                 "--n", "20"]) == 0
    result = json.loads((run / "eval.json").read_text())[-1]
    digest = json.loads((feat / "config.json").read_text())["sha256"][:16]
    assert result["features_sha256"] == digest and {"fd", "memorized", "memorized_p5"} <= set(result["metrics"])
    assert (run / "memorization.png").is_file()
    capsys.readouterr()
    assert main(["eval", "--run", str(run), "--metrics", "is", "--features", str(feat), "--n", "20"]) == 2
    assert "need features with a class head" in capsys.readouterr().err  # its head was never trained
    assert main(["features", "calibrate", str(feat), "--n", "40"]) == 0  # by its path, on its own data
    table = capsys.readouterr().out
    assert f"classifier:{feat} space:" in table and f"of folder:{small_images}" in table


@pytest.mark.parametrize("argv, message", [
    (["train", "--self-supervised", "folder:x", "--out", "o", "--epochs", "3"],
     "--epochs: only for labelled training, not with --self-supervised"),
    (["train", "--self-supervised", "folder:x", "--out", "o", "--invariance", "0"],
     "--invariance: only for labelled training, not with --self-supervised"),
    (["calibrate", "fmnist", "--self-supervised"], "--self-supervised: only for `gankit features train`"),
    (["train", "--self-supervised", "ring8", "--out", "o"], "ring8: 2-D points; a feature network learns from images"),
])
def test_wrong_requests_are_one_line_errors(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["features", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("gankit features: error: ") and message in err and len(err.splitlines()) == 1


def test_labelled_training_counts_steps_too(small_images, tmp_path, capsys):
    out = tmp_path / "labelled"
    assert main(["features", "train", f"folder:{small_images}", "--out", str(out), "--steps", "2", "--width", "4"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["steps"] == 2 and "epochs" not in config and "self_supervised" not in config
    printed = capsys.readouterr().out  # a set smaller than --batch is one step per pass: 2 steps, 2 passes
    assert "epoch 2/2:" in printed and "epoch 3/" not in printed
    assert main(["features", "train", f"folder:{small_images}", "--out", str(out), "--steps", "2",
                 "--epochs", "1"]) == 2
    assert "--steps: counts the training instead of --epochs; give one of them" in capsys.readouterr().err
