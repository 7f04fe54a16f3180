"""Memorization: copies and near copies of training images are counted, distinct images are not, and the closest
pairs are drawn side by side, nearest first."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.cli import main
from gankit.data import ImageData
from gankit.metrics import evaluate as ev
from gankit.metrics.memorization import SEPARATOR, memorization, nearest, pairs_image
from gankit.sampling import to_uint8
from tests.data.cell_crops import make_cell_crops
from tests.helpers import FAST

SIDE = 12


def training_set(n=30, seed=0) -> torch.Tensor:
    """``n`` distinct random images in [-1, 1] on the 8-bit grid, as stored training images are."""
    g = torch.Generator().manual_seed(seed)
    return to_uint8(torch.rand(n, 1, SIDE, SIDE, generator=g) * 2 - 1).float() / 127.5 - 1


def hand_made_samples(train: torch.Tensor):
    """3 exact copies (of training images 4, 11, 20), 2 near copies (7, 25: noise of std 0.02) and 10 new images."""
    g = torch.Generator().manual_seed(1)
    near = (train[[7, 25]] + 0.02 * torch.randn(2, 1, SIDE, SIDE, generator=g)).clamp(-1, 1)
    fresh = training_set(10, seed=2)
    return torch.cat([fresh[:5], train[[4, 11, 20]], near, fresh[5:]])  # copies at 5..7, near copies at 8, 9


def test_copies_and_near_copies_are_counted_and_distinct_images_are_not():
    train = training_set()
    samples = hand_made_samples(train)
    found = memorization(train, samples)
    m = found.metrics()
    assert m["memorized"] == pytest.approx(5 / 15)  # exactly the 3 copies and the 2 near copies
    below = (found.sample_nn < m["train_nn_min"]).nonzero().flatten().tolist()
    assert below == [5, 6, 7, 8, 9]
    assert found.sample_nn_index[5:10].tolist() == [4, 11, 20, 7, 25]
    assert m["memorized_p5"] >= m["memorized"] and m["train_nn_p5"] >= m["train_nn_min"] > 0
    assert 0.8 < float(found.sample_nn[[*range(5), *range(10, 15)]].median() / found.train_nn.median()) < 1.2
    clean = memorization(train, torch.cat([samples[:5], samples[10:]])).metrics()
    assert clean["memorized"] == 0 and clean["nn_ratio"] > 0.8  # new images only: nothing counted
    assert memorization(train, samples[5:8]).metrics()["nn_ratio"] == 0  # copies only


def test_a_copy_is_at_distance_zero_and_the_training_set_is_measured_leaving_each_image_out():
    train = training_set()
    d, index = nearest(train[[3, 9]], train)
    assert index.tolist() == [3, 9] and d.tolist() == [0.0, 0.0]  # exact, not the fast form's ~1e-3
    loo, loo_index = nearest(train, train, exclude_self=True)
    assert (loo > 0).all() and (loo_index != torch.arange(len(train))).all()
    twin = torch.cat([train, train[:1]])  # a duplicate in the training set: nothing is nearer than 0
    assert memorization(twin, train[:3]).metrics()["train_nn_min"] == 0
    with pytest.raises(ValueError, match="at least 2 training images"):
        memorization(train[:1], train)


def test_pairs_image_puts_each_sample_left_of_its_nearest_training_image_nearest_first():
    train = training_set()
    samples = hand_made_samples(train)
    pairs = memorization(train, samples).closest(4)
    assert [p[0] for p in pairs[:3]] == [5, 6, 7] and [p[1] for p in pairs[:3]] == [4, 11, 20]
    image = np.asarray(pairs_image(samples, train, pairs))
    pad, tile = 4, 2 * SIDE + SEPARATOR
    assert image.shape == (SIDE + 2 * pad, 4 * (tile + pad) + pad)
    first = image[pad:pad + SIDE, pad:pad + tile]
    assert np.array_equal(first[:, :SIDE], to_uint8(samples[5])[0].numpy())
    assert np.array_equal(first[:, -SIDE:], to_uint8(train[4])[0].numpy())
    assert (first[:, SIDE:SIDE + SEPARATOR] == 128).all()  # the grey line between the two
    i, j, _ = pairs[3]  # a near copy, so the two sides differ: the sample is on the left
    assert (i, j) in ((8, 7), (9, 25))
    x = pad + 3 * (tile + pad)  # the fourth tile of the row
    fourth = image[pad:pad + SIDE, x:x + tile]
    assert np.array_equal(fourth[:, :SIDE], to_uint8(samples[i])[0].numpy())
    assert np.array_equal(fourth[:, -SIDE:], to_uint8(train[j])[0].numpy())
    assert not np.array_equal(fourth[:, :SIDE], fourth[:, -SIDE:])


class CopyingGenerator(torch.nn.Module):
    """A stand-in generator: latent k (from z's first value) draws bank image k, so its samples are known."""

    def __init__(self, bank: torch.Tensor):
        super().__init__()
        self.register_buffer("bank", bank)
        self.w = torch.nn.Parameter(torch.zeros(()))

    def forward(self, z):
        return self.bank[(z[:, 0].abs() * 1e4).long() % len(self.bank)] + 0 * self.w


@pytest.mark.parametrize("features", ["pixels", "tiny"])
def test_eval_counts_the_copies_among_the_samples_and_draws_the_copy_first(features, tmp_path, monkeypatch):
    monkeypatch.setattr(ev, "CACHE_DIR", tmp_path / "cache")
    train = training_set(40)
    data = ImageData(to_uint8(train), name="hand-made")
    fresh = training_set(60, seed=3)
    G = CopyingGenerator(torch.cat([train[17:18], fresh]))  # image 0 of the bank copies training image 17
    name = "pixels"
    if features == "tiny":  # a feature network too: any extractor's space serves
        from gankit import nets
        from gankit.classify import save_classifier

        torch.manual_seed(0)
        net = nets.build("classifier", img_resolution=SIDE, img_channels=1, num_classes=1, width=2, feature_dim=16)
        name = str(save_classifier(net, tmp_path / "tiny", {"self_supervised": True}))
    out = tmp_path / "memorization.png"
    result = ev.evaluate(G, {"z_dim": 2}, data, metrics=["memorization"], n=200, features=name,
                         memorization_data=data, pairs_path=out)
    z = torch.randn(200, 2, generator=torch.Generator().manual_seed(0))
    copies = float(((z[:, 0].abs() * 1e4).long() % 61 == 0).float().mean())
    assert copies > 0 and result["metrics"]["memorized"] == pytest.approx(copies)
    top = result["memorization_pairs"][0]
    assert top["train_image"] == 17 and top["distance"] == 0
    drawn = np.asarray(Image.open(out))
    assert np.array_equal(drawn[4:4 + SIDE, 4 + SIDE + SEPARATOR:4 + 2 * SIDE + SEPARATOR], data.images[17, 0].numpy())
    assert "memorization: each sample's nearest of all 40 training images" in result["protocol"]


def test_memorization_needs_the_training_images():
    data = ImageData(to_uint8(training_set()), name="hand-made")
    with pytest.raises(ValueError, match="--metrics memorization: needs the model's training images"):
        ev.check_request(data, ["memorization"], "pixels", 0, n=10)


def test_eval_command_writes_the_pairs_beside_the_run(small_images, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--recipe", "dcgan", "--data", f"folder:{small_images}", "--steps", "2", "--batch", "16",
                 "--out", str(run), "--no-progress", "--set", *FAST, "G.width=4", "D.width=4"]) == 0
    capsys.readouterr()
    assert main(["eval", "--run", str(run), "--metrics", "memorization", "--features", "pixels", "--n", "20"]) == 0
    out = capsys.readouterr().out
    assert "memorized" in out and "memorized_p5" in out and f"pairs, nearest first: {run / 'memorization.png'}" in out
    result = json.loads((run / "eval.json").read_text())[-1]
    assert result["metrics"]["memorized"] == 0  # two steps of training draw noise, not copies
    assert "features: pixels (no network)" in result["protocol"]
    assert len(result["memorization_pairs"]) == 16 and Image.open(run / "memorization.png").size[0] > 0
    assert f"nearest of all 64 training images (folder:{small_images})" in result["protocol"]
    other = tmp_path / "other"  # compared with other data, the samples are still checked against the training set
    make_cell_crops(other, count=6)
    assert main(["eval", "--run", str(run), "--metrics", "memorization", "--features", "pixels", "--n", "20",
                 "--data", f"folder:{other}"]) == 0
    result = json.loads((run / "eval.json").read_text())[-1]
    assert f"nearest of all 64 training images (folder:{small_images})" in result["protocol"]
    assert result["data"] == f"folder:{other}"
