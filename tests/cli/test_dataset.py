"""gankit dataset end to end: labelled synthetic folders from conditional and unconditional generators, the
evidence run, and requests refused before any image is drawn."""

import csv
import json

import pytest

from gankit.cli import main
from gankit.data import load
from tests.helpers import FAST, small_nets


def gankit(*args):
    return main([str(a) for a in args])


def tiny_run(root, recipe):
    run = root / recipe
    assert gankit("train", "--recipe", recipe, "--data", "fashion-mnist:test", "--steps", 2, "--batch", 16,
                  "--out", run, "--no-progress", "--set", *FAST, *small_nets(recipe)) == 0
    return run


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("dataset")
    return {recipe: tiny_run(root, recipe) for recipe in ("cgan", "dcgan")}


def test_a_conditional_generator_gives_class_folders_gankit_trains_on(runs, tmp_path, capsys):
    out = tmp_path / "syn"
    assert gankit("dataset", "--run", runs["cgan"], "--per-class", 3, "--out", out, "--seed", 5) == 0
    assert "wrote 30 images (T-shirt/top 3, Trouser 3," in capsys.readouterr().out
    rows = list(csv.DictReader(open(out / "labels.csv")))
    assert len(rows) == 30 and rows[3] == {"file": "images/1-Trouser/000003.png", "label": "1", "class": "Trouser"}
    record = json.loads((out / "dataset.json").read_text())
    assert record["model"]["recipe"] == "cgan" and record["seed"] == 5 and record["labels"] == "the class asked for"
    back = load(f"folder:{out / 'images'}")
    assert len(back) == 30 and back.images.shape[1:] == (1, 28, 28) and back.num_classes == 10
    assert gankit("train", "--recipe", "cgan", "--data", f"folder:{out / 'images'}", "--steps", 1, "--batch", 8,
                  "--out", tmp_path / "again", "--no-progress", "--set", *FAST, *small_nets("cgan")) == 0


def test_an_unconditional_generator_is_labelled_by_a_classifier(runs, tmp_path, capsys):
    import numpy as np
    import torch
    from PIL import Image

    from gankit.classify import to_float
    from gankit.metrics.features import get_extractor

    out = tmp_path / "syn"
    assert gankit("dataset", "--run", runs["dcgan"], "-n", 20, "--label-with", "fmnist", "--min-confidence", 0.3,
                  "--out", out) == 0
    rows = list(csv.DictReader(open(out / "labels.csv")))
    assert 0 < len(rows) <= 20
    # every saved image is what the classifier saw: its label is the classifier's choice, at the recorded confidence
    saved = torch.stack([torch.from_numpy(np.array(Image.open(out / r["file"])))[None] for r in rows])
    probs = get_extractor("fmnist").class_probs(to_float(saved))
    assert probs.argmax(1).tolist() == [int(r["label"]) for r in rows]
    assert np.allclose(probs.max(1).values.numpy(), [float(r["confidence"]) for r in rows], atol=1e-4)
    assert all(float(r["confidence"]) >= 0.3 for r in rows)
    record = json.loads((out / "dataset.json").read_text())
    empty = [c["name"] for c in record["classes"] if c["count"] == 0]
    printed = capsys.readouterr().out
    assert all(f"short: {name}: 0 of 2 kept" in printed for name in empty)
    assert (f"note: no image of {', '.join(empty)}: folder readers" in printed) == bool(empty)
    assert json.loads((out / "dataset.json").read_text())["labels"] == "the class fmnist sees"


def test_evidence_compares_three_classifiers_on_held_out_real_images(runs, tmp_path, capsys):
    out = tmp_path / "syn"
    assert gankit("dataset", "--run", runs["cgan"], "--per-class", 4, "--out", out, "--evidence", "--real-n", 40,
                  "--epochs", 1, "--seeds", "0,1", "--width", 4) == 0
    printed = capsys.readouterr().out
    for arm in ("real ", "synthetic ", "real+synthetic "):
        assert f"\n{arm}" in printed
    assert "gain of adding the synthetic set:" in printed and "paired t-test over 2 seeds" in printed
    assert "note: the generator was trained on fashion-mnist:test, test images included" in printed
    result = json.loads((out / "evidence.json").read_text())
    assert result["real_images"] == 40 and result["synthetic_images"] == 40
    assert result["test"] == "fashion-mnist:test (held out)" and result["test_images"] == 2000  # 20% of 10,000
    assert all(len(result["accuracy"][arm]) == 2 for arm in ("real", "synthetic", "real+synthetic"))
    assert result["test_seen_by_generator"] is True


@pytest.mark.parametrize("args, message", [
    (["--run", "cgan", "-n", 4, "--real-n", 10], "--real-n: only used with --evidence"),
    (["--run", "dcgan", "-n", 4, "--evidence"], "--evidence: needs labelled images; this generator is unconditional"),
    (["--run", "dcgan", "--per-class", 4], "--per-class 4: this generator is not class-conditional"),
    (["--run", "cgan", "-n", 4, "--evidence", "--real-n", 99999], "--real-n 99999: fashion-mnist:test has 8000"),
    (["--run", "cgan", "-n", 4, "--label-with", "inception"], "--label-with inception: use fmnist or classifier:PATH"),
    (["--run", "cgan", "-n", 4, "--label-with", "classifier:nowhere"], "--label-with classifier:nowhere: "),
    (["--run", "cgan", "-n", 4, "--seeds", "0,1"], "--seeds: only used with --evidence"),
    (["--run", "cgan", "-n", 4, "--evidence", "--seeds", "0,0"], "--seeds 0,0: a seed given twice"),
    (["--run", "cgan", "-n", 4, "--min-confidence", 0.5], "--min-confidence 0.5: needs --label-with"),
    (["--run", "cgan", "-n", 4, "--evidence", "--real", "ring8"], "--real ring8: "),
    (["--run", "cgan", "-n", 4, "--evidence", "--real", "nosuch"], "--real 'nosuch': not a known dataset"),
    (["--run", "cgan", "-n", 4, "--evidence", "--test", "folder:nosuch"], "--test folder:nosuch: "),
    (["--run", "cgan", "-n", 4, "--strict"], "--strict: only used with --evidence"),
    (["--run", "cgan", "-n", 4, "--min-confidence", 2], "--min-confidence 2: must be in [0, 1]"),
    (["--run", "cgan", "-n", 4, "--evidence", "--seeds", "x"], "--seeds x:"),
    (["--run", "cgan", "-n", 10**12], "-n 1000000000000: 1,000,000,000,000 images would take about"),
    (["--run", "cgan", "--per-class", 10**11], "--per-class 100000000000: 1,000,000,000,000 images would take"),
])
def test_bad_requests_are_refused_before_anything_is_written(runs, tmp_path, capsys, args, message):
    args = [runs[a] if a in runs else a for a in args]
    assert gankit("dataset", *args, "--out", tmp_path / "syn") == 2
    err = capsys.readouterr().err
    assert err.startswith("gankit dataset: error: ") and message in err, err
    assert not (tmp_path / "syn").exists()


def test_a_folder_that_is_not_a_dataset_is_never_replaced(runs, tmp_path, capsys):
    mine = tmp_path / "photos"
    mine.mkdir()
    (mine / "holiday.jpg").write_text("precious")
    assert gankit("dataset", "--run", runs["cgan"], "-n", 4, "--out", mine) == 2
    assert "photos" in capsys.readouterr().err and (mine / "holiday.jpg").read_text() == "precious"
