"""R3GAN's networks: shapes on the ladder, blocks that start as the identity, the authors' initialisation, low-pass
resampling, classes, no normalisation, configs that rebuild the same network."""

import math

import pytest
import torch
from torch import nn

from gankit.nets import build, from_config
from gankit.nets.r3gan import LEAKY_GAIN, Resample, ResidualBlock


def tiny(role, resolution=16, channels=1, **kw):
    common = dict(img_resolution=resolution, img_channels=channels, width=4, max_width=16, **kw)
    return build("r3gan-g", z_dim=8, **common) if role == "g" else build("r3gan-d", **common)


@pytest.mark.parametrize("resolution", [8, 16, 32])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("c_dim", [0, 5])
def test_shapes_at_every_resolution_and_channel_count(resolution, channels, c_dim):
    G, D = tiny("g", resolution, channels, c_dim=c_dim), tiny("d", resolution, channels, c_dim=c_dim)
    c = torch.tensor([0, 4, 2]) if c_dim else None
    x = G(torch.randn(3, 8), c)
    assert x.shape == (3, channels, resolution, resolution)
    assert D(x, c).shape == (3,)
    assert len(G.stages) == len(D.stages) == int(math.log2(resolution // 4)) + 1  # 4x4 ... the image's size


@pytest.mark.parametrize("resolution", [4, 12, 24, 100])
def test_sizes_off_the_ladder_are_refused_with_the_nearest(resolution):
    for role in "gd":
        with pytest.raises(ValueError, match="data.resolution="):
            tiny(role, resolution)


def test_every_residual_block_starts_as_the_identity():
    torch.manual_seed(0)
    for net in (tiny("g", 32), tiny("d", 32)):
        blocks = [m for m in net.modules() if isinstance(m, ResidualBlock)]
        assert len(blocks) == 2 * 4  # two per stage, four stages at 32 pixels
        for block in blocks:
            assert torch.count_nonzero(block.narrow.weight) == 0
            x = torch.randn(2, block.widen.in_channels, 8, 8)
            assert torch.equal(block(x), x)
            assert torch.count_nonzero(block.widen.weight) == block.widen.weight.numel()  # the branch still learns


def test_the_residual_branches_are_scaled_by_the_number_of_blocks():
    """He's rule times L^(-1/4) for a block's first two convolutions (L: blocks in the whole network), 1 elsewhere."""
    torch.manual_seed(0)
    G = build("r3gan-g", z_dim=8, img_resolution=16, img_channels=3, width=64, max_width=64, blocks=3)
    L = 3 * 3  # three blocks in each of the 4x4, 8x8 and 16x16 stages
    block = G.stages[1][0]
    for layer in (block.widen, block.mix):
        fan_in = layer.weight[0].numel()  # a group's inputs times the 3x3 taps for the grouped convolution
        expected = LEAKY_GAIN * L ** -0.25 / math.sqrt(fan_in)
        assert layer.weight.std().item() == pytest.approx(expected, rel=0.05)
    assert G.to_image.weight.std().item() == pytest.approx(1 / math.sqrt(64), rel=0.2)
    assert G.basis.std().item() == pytest.approx(1.0, rel=0.05)


def test_grouped_convolutions_have_groups_of_group_width_channels():
    G = build("r3gan-g", z_dim=8, img_resolution=8, img_channels=3, width=32, max_width=32, expansion=2,
              group_width=16)
    assert G.stages[0][0].mix.groups == 64 // 16 and G.stages[0][0].mix.in_channels == 64
    assert tiny("g").stages[-1][0].mix.groups == 1  # 8 widened channels, fewer than a group: one group
    assert build("r3gan-g", z_dim=8, img_resolution=8, width=24, max_width=24).stages[0][0].mix.groups == 3
    with pytest.raises(ValueError, match="group_width"):  # 40 widened channels: not a multiple of 16
        build("r3gan-g", z_dim=8, img_resolution=8, width=20, max_width=20, group_width=16)


def test_the_defaults_are_the_authors_cifar10_network():
    with torch.device("meta"):
        G, D = build("r3gan-g"), build("r3gan-d")
    for net in (G, D):
        blocks = [m for m in net.modules() if isinstance(m, ResidualBlock)]
        assert len(blocks) == 8 and {b.widen.in_channels for b in blocks} == {768}
        assert {b.mix.groups for b in blocks} == {96} and {b.mix.out_channels for b in blocks} == {1536}
    assert G.z_dim == 64 and G.to_basis.out_features == 768


def test_resampling_keeps_a_constant_and_halves_or_doubles_the_size():
    x = torch.full((2, 3, 8, 8), 0.7)
    up, down = Resample(up=True)(x), Resample(up=False)(x)
    assert up.shape == (2, 3, 16, 16) and down.shape == (2, 3, 4, 4)
    assert torch.allclose(up[..., 2:-2, 2:-2], torch.full_like(up[..., 2:-2, 2:-2], 0.7))  # inside: no padding
    assert torch.allclose(down[..., 1:-1, 1:-1], torch.full_like(down[..., 1:-1, 1:-1], 0.7))
    # the filter is low-pass: an alternating (Nyquist) pattern is removed, not aliased into the smaller image
    checker = (torch.arange(8)[:, None] + torch.arange(8)[None]) % 2 * 2.0 - 1
    assert Resample(up=False)(checker[None, None])[..., 1:-1, 1:-1].abs().max() < 1e-6


def test_a_class_changes_the_output():
    torch.manual_seed(0)
    G, D = tiny("g", c_dim=3), tiny("d", c_dim=3)
    for block in [m for net in (G, D) for m in net.modules() if isinstance(m, ResidualBlock)]:
        nn.init.normal_(block.narrow.weight, 0, 0.1)  # trained blocks, not the identity
    z = torch.randn(1, 8).expand(3, -1)
    x = G(z, torch.tensor([0, 1, 2]))
    assert not torch.allclose(x[0], x[1]) and not torch.allclose(x[1], x[2])
    same = x[:1].expand(3, -1, -1, -1)
    logits = D(same, torch.tensor([0, 1, 2]))
    assert not torch.allclose(logits[0], logits[1]) and not torch.allclose(logits[1], logits[2])
    with pytest.raises(ValueError, match="pass labels"):
        G(z)


def test_no_normalisation_anywhere():
    norms = (nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm, nn.InstanceNorm2d, nn.LocalResponseNorm)
    for net in (tiny("g", c_dim=2), tiny("d", c_dim=2)):
        assert not any(isinstance(m, norms) or hasattr(m, "parametrizations") for m in net.modules())
        assert all(m.bias is None for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear)))


@pytest.mark.parametrize("role", ["g", "d"])
def test_the_config_rebuilds_the_same_network(role):
    torch.manual_seed(0)
    net = tiny(role, 16, 3, c_dim=4)
    assert net.config["arch"] == f"r3gan-{role}" and net.config["group_width"] == 16
    rebuilt = from_config(net.config)
    assert rebuilt.config == net.config
    rebuilt.load_state_dict(net.state_dict())
    c = torch.tensor([3, 0])
    x = torch.randn(2, 8) if role == "g" else torch.randn(2, 3, 16, 16)
    assert torch.equal(rebuilt(x, c), net(x, c))
