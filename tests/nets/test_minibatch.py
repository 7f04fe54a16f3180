"""Minibatch layers see the batch: identical samples give the values their formulas predict."""

import torch

from gankit import nets
from gankit.nets.minibatch import MinibatchDiscrimination, MinibatchStdDev


def test_minibatch_std_is_zero_for_identical_samples_and_positive_otherwise():
    same = torch.randn(1, 3, 4, 4).repeat(5, 1, 1, 1)
    assert MinibatchStdDev()(same)[:, 3].abs().max() == 0
    mixed = torch.randn(5, 3, 4, 4)
    out = MinibatchStdDev()(mixed)
    assert torch.allclose(out[:, 3], mixed.std(0, unbiased=False).mean().expand(5, 4, 4))


def test_minibatch_discrimination_counts_close_neighbours():
    layer = MinibatchDiscrimination(6, kernels=4)
    same = torch.randn(1, 6).repeat(7, 1)
    out = layer(same)
    assert out.shape == (7, 10) and torch.allclose(out[:, 6:], torch.full((7, 4), 6.0))  # 7 - 1 neighbours at distance 0
    far = torch.eye(6)[:3] * 1000
    assert layer(far)[:, 6:].abs().max() < 1e-6


def test_discriminators_accept_the_layers():
    D = nets.build("dcgan-d", img_resolution=16, img_channels=1, width=4, minibatch_std=True, minibatch_disc=3)
    assert D(torch.randn(4, 1, 16, 16)).shape == (4,)
    D = nets.build("mlp-d", in_shape=(2,), hidden=[8], minibatch_disc=3)
    assert D(torch.randn(4, 2)).shape == (4,)
