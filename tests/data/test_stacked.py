"""Stacked Fashion-MNIST: three real images per sample, the label their triple, the same set everywhere."""

import pytest
import torch

from gankit import data as datasets
from gankit.data.fashion_mnist import load_fashion_mnist
from gankit.data.stacked import MODES, class_name, load_stacked, triple
from gankit.metrics.evaluate import eval_data_spec
from tests.helpers import FMNIST_DIR, needs_fmnist_train


def test_each_channel_is_a_real_image_and_the_label_is_the_triple_of_their_labels():
    base = load_fashion_mnist("test")
    stacked = datasets.load("stacked-fmnist:test")
    assert stacked.images.shape == (10_000, 3, 28, 28) and stacked.images.dtype == torch.uint8
    flat = base.images[:, 0].flatten(1)
    for i in (0, 1, 4321, 9999):
        parts = []
        for channel in range(3):
            match = (flat == stacked.images[i, channel].flatten()).all(1).nonzero().flatten()
            assert len(match) >= 1, "every channel is one of the split's images"
            parts.append(int(base.labels[match[0]]))
        assert int(stacked.labels[i]) == parts[0] * 100 + parts[1] * 10 + parts[2]
    assert stacked.num_classes == MODES == 1000 and len(set(stacked.labels.tolist())) > 990
    assert stacked.class_names[stacked.labels[0]] == class_name(int(stacked.labels[0]))
    assert class_name(185) == "Trouser/Bag/Sandal"


def test_the_set_is_fixed_and_the_channels_independent():
    a, b = load_stacked("test"), load_stacked("test")
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    digits = torch.stack([a.labels // 100, a.labels // 10 % 10, a.labels % 10], 1)
    assert torch.equal(triple(digits), a.labels)
    assert not torch.equal(digits[:, 0], digits[:, 1])  # channels are not copies of one draw
    same = (digits[:, 0] == digits[:, 1]).float().mean()
    assert 0.07 < same < 0.13  # independent draws agree about 1 time in 10


def test_the_held_out_split_is_the_stacked_test_set_and_the_spec_is_known():
    assert eval_data_spec("stacked-fmnist") == "stacked-fmnist:test"
    assert datasets.spec_problem("stacked-fmnist") is None
    assert "stacked-fmnist" in datasets.spec_problem("stacked-fmnst")
    assert datasets.source_key("stacked-fmnist") == datasets.source_key("stacked-fmnist:train")
    with pytest.raises(datasets.DataError, match="no padding"):
        datasets.load("stacked-fmnist:test", mask=True)


@needs_fmnist_train
def test_the_training_set_has_as_many_images_as_the_split(monkeypatch):
    monkeypatch.setenv("GANKIT_DATA", str(FMNIST_DIR))
    stacked = datasets.load("stacked-fmnist", download=False)
    assert stacked.images.shape == (60_000, 3, 28, 28) and stacked.name == "stacked-fmnist"
