"""SNGAN's ResNet networks: shapes at 32 and 64, spectral norm on D, and the projection of labels."""

import pytest
import torch

from gankit import nets


@pytest.mark.parametrize("res", [32, 64])
def test_shapes(res):
    G = nets.build("resnet-g", z_dim=16, img_resolution=res, img_channels=3, width=4)
    D = nets.build("resnet-d", img_resolution=res, img_channels=3, width=4)
    x = G(torch.randn(2, 16))
    assert x.shape == (2, 3, res, res) and D(x).shape == (2,)


def test_every_discriminator_layer_is_spectrally_normalised():
    D = nets.build("resnet-d", img_resolution=16, img_channels=1, width=4)
    D.train()
    for _ in range(30):  # power iterations converge while training
        D(torch.randn(4, 1, 16, 16))
    D.eval()
    for module in D.modules():
        if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)):
            sigma = torch.linalg.matrix_norm(module.weight.detach().flatten(1), ord=2).item()
            assert sigma == pytest.approx(1.0, abs=0.05)


def test_projection_adds_the_label_embedding_term():
    D = nets.build("resnet-d", img_resolution=16, img_channels=1, width=4, c_dim=3).eval()
    x = torch.randn(1, 1, 16, 16).repeat(3, 1, 1, 1)
    logits = D(x, torch.tensor([0, 1, 2]))
    h = D.features(x[:1])
    expected = D.head(h).squeeze(1) + (D.embed(torch.tensor([0, 1, 2])) * h).sum(1)
    assert torch.allclose(logits, expected, atol=1e-5) and logits.unique().numel() == 3


def test_resolutions_off_the_ladder_are_refused():
    with pytest.raises(ValueError, match="4 \\* 2\\^k.*got 28; resize the images to one with --set data.resolution=32"):
        nets.build("resnet-g", img_resolution=28)
    with pytest.raises(ValueError, match="got 6; .*data.resolution=8"):
        nets.build("resnet-d", img_resolution=6)
