"""gankit walk, directions and edit end to end on tiny models: the files they write, and errors naming the flag."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.cli import main
from gankit.export import load_any
from gankit.sampling import latents
from tests.helpers import FAST, TINY_CONV

TINY = ["--set", *FAST, *TINY_CONV]
SCORES = "def brightness(x):\n    return x.mean(dim=(1, 2, 3))\n"


def gankit(*args):
    return main([str(a) for a in args])


@pytest.fixture(scope="module")
def trained(tmp_path_factory, small_images):
    run = tmp_path_factory.mktemp("latent") / "run"
    assert gankit("train", "--recipe", "dcgan", "--data", f"folder:{small_images}", "--steps", 6, "--batch", 16,
                  "--out", run, "--no-progress", *TINY) == 0
    return run


@pytest.fixture(scope="module")
def conditional(tmp_path_factory):
    run = tmp_path_factory.mktemp("latent_cond") / "run"
    assert gankit("train", "--recipe", "acgan", "--data", "fashion-mnist:test", "--steps", 2, "--batch", 20,
                  "--out", run, "--no-progress", *TINY) == 0
    return run


@pytest.fixture(scope="module")
def brightness(tmp_path_factory):
    path = tmp_path_factory.mktemp("scores") / "my_scores.py"
    path.write_text(SCORES)
    return f"{path}:brightness"


def frames(gif_path):
    gif = Image.open(gif_path)
    return gif.n_frames


def test_walk_through_seeds_writes_strip_gif_and_latents(trained, tmp_path, capsys):
    out = tmp_path / "walk.png"
    assert gankit("walk", "--run", trained, "--seeds", "3,17,42", "--steps", 4, "--out", out, "--device", "cpu") == 0
    z = np.load(tmp_path / "walk.latents.npy")
    assert z.shape == (7, 100)  # 3 + 3 + 1 frames
    assert gankit("sample", "--run", trained, "-n", 1, "--seed", 17, "--out", tmp_path / "s17.png") == 0
    assert np.array_equal(z[3], np.load(tmp_path / "s17.latents.npy")[0])  # seed S = first sample of --seed S
    assert np.array_equal(z[0], latents(1, 100, 3)[0].numpy()) and np.array_equal(z[6], latents(1, 100, 42)[0].numpy())
    assert Image.open(out).size == (7 * 18 + 2, 18 + 2)  # one row of 16x16 frames with 2-pixel padding
    assert frames(tmp_path / "walk.gif") == 7
    assert Image.open(tmp_path / "walk.gif").size == (256, 256)  # enlarged for viewing
    assert "7 frames" in capsys.readouterr().out
    # the saved latents regenerate the strip
    G, _ = load_any(run=str(trained))
    from gankit.sampling import grid_image

    with torch.no_grad():
        again = grid_image(G(torch.from_numpy(z)), nrow=7)
    assert np.array_equal(np.asarray(again), np.asarray(Image.open(out)))


def test_walk_from_latent_files_with_lerp_truncation_and_pingpong(trained, tmp_path):
    z = latents(4, 100, 0).numpy()
    np.save(tmp_path / "picks.latents.npy", z)
    out = tmp_path / "w.png"
    assert gankit("walk", "--run", trained, "--latents", f"{tmp_path / 'picks.latents.npy'}:2",
                  tmp_path / "picks.latents.npy", "--steps", 3, "--method", "lerp", "--truncation", 0.5,
                  "--pingpong", "--columns", 5, "--out", out) == 0
    path = np.load(tmp_path / "w.latents.npy")
    assert path.shape == (9, 100)  # endpoints z2, z0, z1, z2, z3: 4 legs of 3 frames
    assert np.allclose(path[0], 0.5 * z[2]) and np.allclose(path[1], 0.25 * (z[2] + z[0]))
    assert np.allclose(path[2], 0.5 * z[0]) and np.allclose(path[-1], 0.5 * z[3])
    assert Image.open(out).size == (5 * 18 + 2, 2 * 18 + 2)
    assert frames(tmp_path / "w.gif") == 9 + 7


def test_sample_takes_a_class_name_in_any_case_as_walk_does(conditional, tmp_path):
    assert gankit("sample", "--run", conditional, "-n", 3, "--class", "trouser", "--out", tmp_path / "t.png") == 0
    assert np.array_equal(np.load(tmp_path / "t.labels.npy"), np.ones(3))


def test_conditional_walk_needs_a_class_and_records_labels(conditional, tmp_path, capsys):
    assert gankit("walk", "--run", conditional, "--seeds", "1,2", "--steps", 3, "--out", tmp_path / "c.png") == 2
    assert "--class" in capsys.readouterr().err
    assert gankit("walk", "--run", conditional, "--seeds", "1,2", "--steps", 3, "--class", "trouser",
                  "--out", tmp_path / "c.png") == 0
    assert np.array_equal(np.load(tmp_path / "c.labels.npy"), np.ones(3))


def test_conditional_directions_use_every_class_unless_one_is_given(conditional, brightness, tmp_path):
    assert gankit("directions", "--run", conditional, "--score", brightness, "-n", 200, "--fraction", 0.1,
                  "--out", tmp_path / "d.npy") == 0
    assert json.loads((tmp_path / "d.json").read_text())["class"] == "all, in turn"
    assert gankit("directions", "--run", conditional, "--score", brightness, "-n", 200, "--fraction", 0.1,
                  "--class", "Bag", "--out", tmp_path / "bag.npy") == 0
    assert json.loads((tmp_path / "bag.json").read_text())["class"] == "Bag"
    assert gankit("edit", "--run", conditional, "--direction", tmp_path / "d.npy", "--seeds", "0,1", "--alphas", "0,1",
                  "--class", "8", "--out", tmp_path / "e.png") == 0
    assert np.array_equal(np.load(tmp_path / "e.labels.npy"), np.full(4, 8))


def test_directions_then_edit_with_scores(trained, brightness, tmp_path, capsys):
    d = tmp_path / "bright.npy"
    assert gankit("directions", "--run", trained, "--score", brightness, "-n", 600, "--fraction", 0.1,
                  "--out", d, "--device", "cpu") == 0
    n = np.load(d)
    assert n.shape == (100,) and np.linalg.norm(n) == pytest.approx(1, abs=1e-5)
    info = json.loads((tmp_path / "bright.json").read_text())
    assert info["score"] == brightness and info["n"] == 600 and info["fraction"] == 0.1
    assert 0.5 <= info["val_accuracy"] <= 1 and info["n_positive"] == 60 and info["n_val"] == 36
    assert info["model"]["source"] == f"--run {trained}" and info["model"]["recipe"] == "dcgan"
    assert "validation accuracy" in capsys.readouterr().out

    out = tmp_path / "edit.png"
    assert gankit("edit", "--run", trained, "--direction", d, "--seeds", "0-2", "--alphas", "-2:2:5",
                  "--score", brightness, "--out", out) == 0
    assert Image.open(out).size == (5 * 18 + 2, 3 * 18 + 2)  # rows = seeds, columns = alphas
    z = np.load(tmp_path / "edit.latents.npy")
    assert z.shape == (15, 100)
    assert np.allclose(z[1], latents(1, 100, 0)[0].numpy() - 1.0 * n, atol=1e-6)  # seed 0 at alpha -1
    assert np.allclose(z[5 + 4] - z[5 + 2], 2 * n, atol=1e-5)  # seed 1: alpha 2 minus alpha 0
    assert frames(tmp_path / "edit.gif") == 5 + 3  # forward, then back
    record = json.loads((tmp_path / "edit.scores.json").read_text())
    assert record["alphas"] == [-2.0, -1.0, 0.0, 1.0, 2.0] and len(record["mean"]) == 5
    assert np.array(record["scores"]).shape == (3, 5)
    assert np.allclose(np.array(record["scores"]).mean(0), record["mean"])
    printed = capsys.readouterr().out
    assert f"mean {brightness}" in printed and "edit.scores.json" in printed


def test_orthogonal_direction_and_list_alphas(trained, brightness, tmp_path):
    other = np.random.default_rng(0).standard_normal(100)
    np.save(tmp_path / "other.npy", other)
    d = tmp_path / "o.npy"
    assert gankit("directions", "--run", trained, "--score", brightness, "-n", 400, "--fraction", 0.1,
                  "--orthogonal-to", tmp_path / "other.npy", "--out", d) == 0
    n = np.load(d)
    assert abs(n @ other) < 1e-4 and np.linalg.norm(n) == pytest.approx(1, abs=1e-5)
    info = json.loads((tmp_path / "o.json").read_text())
    assert info["orthogonal_to"][0]["file"] == str(tmp_path / "other.npy") and "cosine_with_fit" in info
    assert gankit("edit", "--run", trained, "--direction", d, "--alphas", "-1,0,1", "--out", tmp_path / "e.png") == 0
    assert np.load(tmp_path / "e.latents.npy").shape == (8 * 3, 100)  # default seeds 0-7


@pytest.mark.parametrize("args, flag", [
    (["walk", "--seeds", "5", "--out", "w.png"], "--seeds 5"),
    (["walk", "--seeds", "1,x", "--out", "w.png"], "--seeds 1,x"),
    (["walk", "--seeds", "1,2", "--out", "w.jpg"], "--out"),
    (["walk", "--seeds", "1,2", "--steps", "1", "--out", "w.png"], "--steps"),
    (["walk", "--latents", "missing.npy", "--out", "w.png"], "--latents missing.npy"),
    (["walk", "--latents", "bad.npy:0", "bad.npy", "--out", "w.png"], "--latents bad.npy:0"),
    (["walk", "--latents", "z.npy:9", "z.npy", "--out", "w.png"], "--latents z.npy:9: row 9 out of range"),
    (["walk", "--latents", "z.npy:x", "--out", "w.png"], "--latents z.npy:x: 'x' is not a row number"),
    (["walk", "--seeds", "1,2", "--steps", "300000", "--out", "w.png"], "--seeds 1,2 --steps 300000: 300,000 images"),
    (["walk", "--seeds", "1,2", "--class", "3", "--out", "w.png"], "--class 3"),
    (["edit", "--direction", "good.npy", "--alphas", "1,,2", "--out", "e.png"], "--alphas 1,,2: expected"),
    (["edit", "--direction", "good.npy", "--alphas", "0:1:100000", "--out", "e.png"],
     "--seeds 0-7 --alphas 0:1:100000: 800,000 images of 16x16 make a"),
    (["edit", "--direction", "good.npy", "--alphas", "0:1:999999999", "--out", "e.png"],
     "--alphas 0:1:999999999: COUNT 999,999,999 is more than the 276,168 images one picture can hold"),
    (["edit", "--direction", "good.npy", "--seeds", "0-999999999", "--out", "e.png"],
     "--seeds 0-999999999: 1,000,000,000 seeds, more than the 276,168 images one picture can hold"),
    (["walk", "--seeds", "0-999999999", "--out", "w.png"], "--seeds 0-999999999: 1,000,000,000 seeds, more than"),
    (["walk", "--seeds", "1,2", "--steps", "999999999", "--out", "w.png"], "--seeds 1,2 --steps 999999999: 999,999,999 images"),
    (["sample", "-n", "1000000", "--out", "g.png"], "-n 1000000: 1,000,000 images of 16x16 make a 18,002x18,002 grid"),
    (["sample", "-n", "1000000000000", "--out", "g.png"], "-n 1000000000000: 1,000,000,000,000 images of 16x16 make a"),
    (["sample", "-n", "1000000000000", "--out", "folder"], "-n 1000000000000: 1,000,000,000,000 latents would take about 424 TB of memory, more than this machine's"),
    (["edit", "--direction", "bad.npy", "--out", "e.png"], "--direction bad.npy"),
    (["edit", "--direction", "good.npy", "--alphas", "1:2", "--out", "e.png"], "--alphas 1:2"),
    (["edit", "--direction", "good.npy", "--alphas", "-3:3:1", "--out", "e.png"], "--alphas -3:3:1"),
    (["edit", "--direction", "good.npy", "--score", "nonsense", "--out", "e.png"], "--score nonsense"),
    (["directions", "--score", "fmnist:hat", "--out", "d.npy"], "--score fmnist:hat"),
    (["directions", "--score", "fmnist:bag", "--out", "d.png"], "--out d.png"),
    (["directions", "--score", "fmnist:bag", "-n", "50", "--out", "d.npy"], "-n 50 with --fraction 0.02"),
    (["directions", "--score", "fmnist:bag", "--orthogonal-to", "bad.npy", "--out", "d.npy"], "--orthogonal-to bad.npy"),
    (["walk", "--latents", "text.npy", "--out", "w.png"], "--latents text.npy: text.npy holds text, not real numbers"),
    (["walk", "--latents", "nan.npy:0", "--out", "w.png"], "--latents nan.npy:0: nan.npy holds NaN or infinite"),
    (["edit", "--direction", "text.npy", "--out", "e.png"], "--direction text.npy: text.npy holds text"),
    (["edit", "--direction", "two.npz", "--out", "e.png"], "--direction two.npz: two.npz holds several arrays"),
    (["sample", "--out", "grid.jpg"], "--out grid.jpg: samples are written as PNG (lossless): give grid.png"),
    (["sample", "--strict", "--out", "g.png"], "--strict: only used with --reconstruct"),
    (["sample", "--class", "bag", "--out", "g.png"], "--class bag: this generator is not class-conditional"),
])
def test_errors_name_the_flag(trained, tmp_path, monkeypatch, capsys, args, flag):
    monkeypatch.chdir(tmp_path)
    np.save(tmp_path / "bad.npy", np.zeros(7))
    np.save(tmp_path / "good.npy", np.ones(100))
    np.save(tmp_path / "z.npy", np.zeros((3, 100)))
    np.save(tmp_path / "text.npy", np.array(["a"] * 100))
    np.save(tmp_path / "nan.npy", np.full((2, 100), np.nan))
    np.savez(tmp_path / "two.npz", a=np.ones(100), b=np.ones(100))
    assert gankit(*args[:1], "--run", trained, *args[1:]) == 2
    # a warning may come first: fmnist scores for the 16x16 model, not the classifier's 28x28 images
    err = "".join(line for line in capsys.readouterr().err.splitlines(keepends=True)
                  if not line.startswith(f"gankit {args[0]}: warning: --score fmnist:"))
    assert err.startswith(f"gankit {args[0]}: error: ") and flag in err, err
    assert len(err.strip().splitlines()) == 1  # one line, no traceback


def test_point_generators_are_refused_by_name(tmp_path, capsys):
    run = tmp_path / "ring"
    assert gankit("train", "--recipe", "nsgan", "--data", "ring8", "--steps", 2, "--batch", 16, "--out", run,
                  "--no-progress", "--set", *FAST) == 0
    assert gankit("walk", "--run", run, "--seeds", "1,2", "--out", tmp_path / "w.png") == 2
    assert f"--run {run}: this generator makes 2-D points" in capsys.readouterr().err


def test_sample_truncation_scales_the_saved_latents(trained, tmp_path):
    assert gankit("sample", "--run", trained, "-n", 4, "--seed", 5, "--out", tmp_path / "full.png") == 0
    assert gankit("sample", "--run", trained, "-n", 4, "--seed", 5, "--truncation", 0.5,
                  "--out", tmp_path / "half.png") == 0
    full, half = np.load(tmp_path / "full.latents.npy"), np.load(tmp_path / "half.latents.npy")
    assert np.allclose(half, 0.5 * full)
    assert gankit("sample", "--run", trained, "-n", 3, "--truncation", 0, "--out", tmp_path / "mean") == 0
    images = [np.asarray(Image.open(tmp_path / "mean" / f"{i:06d}.png")) for i in range(3)]
    assert all(np.array_equal(images[0], im) for im in images[1:])  # psi=0: every latent is the mean


def test_walk_runs_on_an_autoencoder_decoder(small_images, tmp_path):
    run = tmp_path / "vae"
    assert gankit("train", "--recipe", "vae", "--data", f"folder:{small_images}", "--steps", 3, "--batch", 16,
                  "--out", run, "--no-progress", "--set", *FAST, "G.width=4", "z_dim=3") == 0
    assert gankit("walk", "--run", run, "--seeds", "1,2", "--steps", 4, "--out", tmp_path / "w.png") == 0
    z = np.load(tmp_path / "w.latents.npy")
    assert z.shape == (4, 3) and np.allclose(z[0], latents(1, 3, 1).numpy()[0])
