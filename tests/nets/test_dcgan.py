"""DCGAN networks: the paper's shapes at 64x64, any resolution, logits out, configs that rebuild the net."""

import pytest
import torch
from torch import nn

from gankit import nets
from gankit.nets.dcgan import size_chain


def test_radford_shapes_at_64_rgb():
    G = nets.build("dcgan-g", z_dim=100, img_resolution=64, img_channels=3, width=64)
    x = G.project(torch.randn(2, 100)).view(2, -1, 4, 4)
    shapes = [tuple(x.shape[1:])]
    for m in G.blocks:
        x = m(x)
        if isinstance(m, nn.ConvTranspose2d):
            shapes.append(tuple(x.shape[1:]))
    assert shapes == [(1024, 4, 4), (512, 8, 8), (256, 16, 16), (128, 32, 32), (3, 64, 64)]
    assert isinstance(G.blocks[-1], nn.Tanh)


@pytest.mark.parametrize("res,ch", [(28, 1), (32, 3), (64, 3), (100, 1), (7, 1)])
def test_any_resolution_round_trip(res, ch):
    G = nets.build("dcgan-g", img_resolution=res, img_channels=ch, width=4)
    D = nets.build("dcgan-d", img_resolution=res, img_channels=ch, width=4)
    x = G(torch.randn(3, 100))
    assert x.shape == (3, ch, res, res)
    assert x.abs().max() <= 1
    logits = D(x)
    assert logits.shape == (3,)


def test_every_resolution_from_4_to_130_builds_and_round_trips():  # G, D and the AE encoder
    """Halving can pass below 4 (40 -> 20 -> 10 -> 5): the last step then goes 4 -> 5 or 6 at stride 1."""
    for res in range(4, 131):
        G = nets.build("dcgan-g", z_dim=8, img_resolution=res, img_channels=1, width=1, max_width=4)
        D = nets.build("dcgan-d", img_resolution=res, img_channels=1, width=1, max_width=4)
        x = G(torch.randn(2, 8))
        assert x.shape == (2, 1, res, res), res
        assert D(x).shape == (2,), res
        ae = nets.build("dcgan-ae", z_dim=8, img_resolution=res, img_channels=1, width=1, max_width=4)
        assert ae.encode(x).shape == (2, 8), res  # the encoder is D's body: it must reach 4x4 too


def test_size_chain_halves_rounding_up():
    assert size_chain(100) == [4, 7, 13, 25, 50, 100]
    assert size_chain(28) == [4, 7, 14, 28]
    assert size_chain(64) == [4, 8, 16, 32, 64]
    assert size_chain(40) == [4, 5, 10, 20, 40]
    assert size_chain(96) == [4, 6, 12, 24, 48, 96]


def test_batch_norm_placement():
    """No batch norm on G's output layer or D's input layer; present elsewhere."""
    G = nets.build("dcgan-g", img_resolution=32, img_channels=3, width=8)
    D = nets.build("dcgan-d", img_resolution=32, img_channels=3, width=8)
    d_layers = list(D.body)
    assert isinstance(d_layers[0], nn.Conv2d) and isinstance(d_layers[1], nn.LeakyReLU)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in D.modules()) == 2
    assert isinstance(list(G.blocks)[-2], nn.ConvTranspose2d) and isinstance(list(G.blocks)[-1], nn.Tanh)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in G.modules()) == 3


def test_discriminator_returns_unbounded_logits():
    D = nets.build("dcgan-d", img_resolution=16, img_channels=1, width=4, norm="none")
    with torch.no_grad():
        for p in D.parameters():
            p.fill_(0.5)
    assert D(torch.ones(2, 1, 16, 16)).min() > 1  # a probability could not exceed 1


def test_config_rebuilds_an_identical_network():
    G = nets.build("dcgan-g", z_dim=16, img_resolution=28, img_channels=1, width=4)
    H = nets.from_config(G.config)
    H.load_state_dict(G.state_dict())
    z = torch.randn(2, 16)
    assert torch.equal(G.eval()(z), H.eval()(z))


def test_mlp_for_points_and_images():
    G = nets.build("mlp-g", z_dim=8, out_shape=(2,))
    assert G(torch.randn(5, 8)).shape == (5, 2)
    G = nets.build("mlp-g", z_dim=8, out_shape=(1, 4, 4), tanh=True)
    assert G(torch.randn(5, 8)).abs().max() <= 1
    D = nets.build("mlp-d", in_shape=(1, 4, 4))
    assert D(torch.randn(5, 1, 4, 4)).shape == (5,)


def test_unknown_arguments_are_refused():
    with pytest.raises(ValueError, match="depth"):
        nets.build("dcgan-g", depth=3)


@pytest.mark.parametrize("recipe", ["dcgan", "ae"])
def test_widths_are_capped_above_64_pixels_and_unchanged_at_28_32_64(recipe):
    """Uncapped, widths double per level: a 256x256 G's 4x4 layer had 4096 channels and 185M parameters."""
    from gankit.recipes.adversarial import build_net
    from gankit.recipes.base import DataInfo
    from gankit.train.run import default_config

    cfg = default_config(recipe, "x")
    roles = ["G", "D"] if recipe == "dcgan" else ["G"]

    def widest(resolution, role, **changed):
        with torch.device("meta"):
            net = build_net({**cfg, **changed}, role, DataInfo("image", (3, resolution, resolution)))
        return max(max(m.weight.shape[:2]) for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)))

    for role in roles:
        assert widest(256, role) <= 1024
        assert widest(256, role, **{f"{role}.max_width": 512}) == 512  # PGGAN's and StyleGAN's cap, on request
        assert widest(256, role, **{f"{role}.max_width": 0}) > 1024  # 0: the uncapped widths, as before the cap
        for resolution in (28, 32, 64):  # the defaults' models, and their checkpoints, are what they were
            assert widest(resolution, role) == widest(resolution, role, **{f"{role}.max_width": 0})
