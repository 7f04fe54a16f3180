"""ae and vae through the CLI: prior samples, reconstructions, eval, export, and latent-map's files."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.cli import main
from gankit.export import load_any
from gankit.nets.autoencoder import codes
from tests.helpers import FAST


def gankit(*args):
    return main([str(a) for a in args])


def train(out, recipe, steps, *sets):
    assert gankit("train", "--recipe", recipe, "--data", "fashion-mnist:test", "--steps", steps, "--batch", 32,
                  "--out", out, "--no-progress", "--set", *FAST, "G.width=4", *sets) == 0
    return out


@pytest.fixture(scope="module")
def vae2(tmp_path_factory):
    """A tiny VAE with a 2-D latent, trained a little on the bundled test split."""
    return train(tmp_path_factory.mktemp("vae") / "run", "vae", 30, "z_dim=2")


def test_sample_from_the_prior(vae2, tmp_path):
    assert gankit("sample", "--run", vae2, "-n", 9, "--out", tmp_path / "s.png") == 0
    assert Image.open(tmp_path / "s.png").size == (3 * 30 + 2, 3 * 30 + 2)
    assert np.load(tmp_path / "s.latents.npy").shape == (9, 2)


def test_reconstruct_puts_originals_above_reconstructions(vae2, tmp_path):
    from gankit.data.fashion_mnist import load_fashion_mnist

    assert gankit("sample", "--run", vae2, "--reconstruct", "-n", 6, "--seed", 1, "--out", tmp_path / "r.png") == 0
    grid = np.asarray(Image.open(tmp_path / "r.png"))
    assert grid.shape == (4 * 30 + 2, 4 * 30 + 2)  # 6 pairs in 4 columns: 2 rows of originals, 2 of reconstructions
    index = np.load(tmp_path / "r.indices.npy")
    assert len(set(index.tolist())) == 6
    real = load_fashion_mnist("test").images[torch.from_numpy(index)]
    assert np.array_equal(grid[2:30, 2:30], real[0, 0].numpy())  # top-left tile: the first original
    G, _ = load_any(run=str(vae2))
    x = real.float().div(127.5).sub(1)
    assert np.allclose(np.load(tmp_path / "r.latents.npy"), codes(G, x).numpy(), atol=1e-5)  # posterior means
    with torch.no_grad():
        first = G(codes(G, x[:1])).clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)
    below = grid[32:60, 2:30].astype(int)  # the tile under the first original: its reconstruction
    assert np.abs(below - first[0, 0].numpy().astype(int)).max() <= 1


def test_reconstruct_refuses_a_generator_without_encoder(tmp_path, capsys):
    gan = tmp_path / "gan"
    assert gankit("train", "--recipe", "dcgan", "--data", "fashion-mnist:test", "--steps", 1, "--batch", 16,
                  "--out", gan, "--no-progress", "--set", *FAST, "G.width=4", "D.width=4") == 0
    assert gankit("sample", "--run", gan, "--reconstruct", "-n", 4, "--out", tmp_path / "r.png") == 2
    err = capsys.readouterr().err
    assert "--reconstruct" in err and "no encoder" in err
    assert gankit("latent-map", "--run", gan, "--out", tmp_path / "m") == 2
    assert f"--run {gan}" in capsys.readouterr().err


def test_eval_and_export_of_a_vae(vae2, tmp_path):
    assert gankit("eval", "--run", vae2, "--metrics", "fd", "--n", 200, "--features", "fmnist") == 0
    assert json.loads((vae2 / "eval.json").read_text())[-1]["metrics"]["fd"] > 0
    assert gankit("export", "--run", vae2, "--out", tmp_path / "ex") == 0
    G1, _ = load_any(run=str(vae2))
    G2, meta = load_any(export=str(tmp_path / "ex"))
    x = torch.rand(3, 1, 28, 28) * 2 - 1
    assert meta["recipe"] == "vae" and torch.equal(G1.encode(x)[0], G2.encode(x)[0])


def test_latent_map_writes_map_lattice_codes_and_labels(vae2, tmp_path, capsys):
    out = tmp_path / "map"
    assert gankit("latent-map", "--run", vae2, "--out", out, "--n", 500, "--lattice", 5) == 0
    printed = capsys.readouterr().out
    assert "z_dim=2 (the latent itself)" in printed and "N(0, 1) quantiles" in printed  # a VAE: its prior's span
    z, labels = np.load(out / "codes.npy"), np.load(out / "labels.npy")
    assert z.shape == (500, 2) and labels.shape == (500,) and set(labels.tolist()) <= set(range(10))
    assert Image.open(out / "lattice.png").size == (5 * 30 + 2, 5 * 30 + 2)
    assert Image.open(out / "latent-map.png").size[0] > 400
    assert sorted(p.name for p in out.iterdir()) == ["codes.npy", "labels.npy", "latent-map.png", "lattice.png"]
    assert gankit("latent-map", "--run", vae2, "--out", tmp_path / "codes", "--n", 500, "--lattice", 5,
                  "--span", "codes") == 0
    assert "percentiles" in capsys.readouterr().out
    assert np.array_equal(np.load(tmp_path / "codes" / "codes.npy"), z)
    assert not np.array_equal(np.asarray(Image.open(tmp_path / "codes" / "lattice.png")),
                              np.asarray(Image.open(out / "lattice.png")))


def test_latent_map_projects_wider_codes_with_pca(tmp_path, capsys):
    run = train(tmp_path / "ae", "ae", 2, "z_dim=3")
    assert gankit("latent-map", "--run", run, "--out", tmp_path / "m", "--n", 200, "--lattice", 3) == 0
    assert "PCA of AE codes, z_dim=3" in capsys.readouterr().out
    assert np.load(tmp_path / "m" / "codes.npy").shape == (200, 3)
    assert gankit("latent-map", "--run", run, "--out", tmp_path / "m", "--lattice", 1) == 2
    assert "--lattice 1" in capsys.readouterr().err
    assert gankit("latent-map", "--run", run, "--out", tmp_path / "m", "--span", "prior") == 2
    assert "--span prior" in capsys.readouterr().err


def test_latent_map_has_help_with_examples():
    out = subprocess.run([sys.executable, "-m", "gankit", "latent-map", "--help"], capture_output=True, text=True,
                         check=True).stdout
    assert "examples:" in out and "gankit latent-map" in out and "--lattice" in out
