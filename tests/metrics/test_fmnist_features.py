"""The shipped fmnist feature network: intact, accurate, and a space where real data is close to real data."""

import json

import pytest
import torch

from gankit.classify import accuracy, load_classifier
from gankit.data.fashion_mnist import load_fashion_mnist
from gankit.metrics.evaluate import image_metrics
from gankit.metrics.features import SHIPPED, get_extractor
from tests.helpers import FMNIST_DIR, needs_fmnist_train


def test_shipped_weights_match_their_checksum_and_reported_accuracy():
    model, config = load_classifier(SHIPPED / "fmnist")  # refuses a sha256 mismatch
    assert config["test_accuracy"] >= 0.93
    test = load_fashion_mnist("test")
    assert accuracy(model, test) == pytest.approx(config["test_accuracy"], abs=1e-4)


@needs_fmnist_train
def test_fd_real_train_vs_test_is_far_below_real_vs_noise(monkeypatch):
    monkeypatch.setenv("GANKIT_DATA", str(FMNIST_DIR))
    extractor = get_extractor("fmnist")
    train, test = load_fashion_mnist("train"), load_fashion_mnist("test")
    to_float = lambda u8: u8.float() / 127.5 - 1  # noqa: E731
    real_train = extractor(to_float(train.images[:10000]))
    real_test = extractor(to_float(test.images))
    noise = extractor(torch.rand(10000, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1)
    fd_real = image_metrics(real_train, real_test, ["fd"])["fd"]
    fd_noise = image_metrics(real_test, noise, ["fd"])["fd"]
    assert fd_real * 50 < fd_noise, (fd_real, fd_noise)
    assert json.loads((SHIPPED / "fmnist" / "config.json").read_text())["network"]["feature_dim"] == real_test.shape[1]
