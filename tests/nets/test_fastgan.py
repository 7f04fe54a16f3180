"""FastGAN's networks: skip-layer excitation, shapes at every resolution of the ladder, D's decoders, noise injection."""

import pytest
import torch

from gankit.nets import build, from_config
from gankit.nets.fastgan import SkipExcitation, quadrants
from gankit.regularizers.batch_random import BatchRandom


def tiny(role, resolution=16, channels=1, **kw):
    if role == "g":
        return build("fastgan-g", z_dim=8, img_resolution=resolution, img_channels=channels, width=4, max_width=16,
                     **kw)
    return build("fastgan-d", img_resolution=resolution, img_channels=channels, width=4, max_width=16, **kw)


def test_skip_excitation_gates_the_high_resolution_channels_from_the_low_resolution_map():
    torch.manual_seed(0)
    sle = SkipExcitation(low_channels=6, high_channels=5)
    low, high = torch.randn(2, 6, 8, 8), torch.randn(2, 5, 32, 32)
    gate = sle.gate(low)
    assert gate.shape == (2, 5, 1, 1)  # one gate per channel of the high-resolution map
    assert ((gate > 0) & (gate < 1)).all()
    assert torch.allclose(sle(low, high), high * gate)
    other = sle(torch.randn(2, 6, 8, 8), high)  # same high-resolution map, another low-resolution one
    assert not torch.allclose(other, sle(low, high))
    assert sle(low, high).shape == high.shape


@pytest.mark.parametrize("resolution", [8, 16, 32, 64, 128, 256])
@pytest.mark.parametrize("channels", [1, 4])
def test_shapes_at_every_resolution_and_channel_count(resolution, channels):
    G, D = tiny("g", resolution, channels), tiny("d", resolution, channels).eval()  # eval: no power iteration
    x = G(torch.randn(3, 8))
    assert x.shape == (3, channels, resolution, resolution) and x.abs().max() <= 1
    assert D(x).shape == (3,)
    assert D.features(x).shape[-2:] == (min(8, resolution),) * 2
    logits, whole, part = D.reconstruct(x, torch.tensor([0, 1, 3]))
    assert torch.allclose(logits, D(x), atol=1e-6)
    assert whole.shape == (3, channels, min(resolution, 128), min(resolution, 128))
    assert part.shape == (3, channels, min(resolution // 2, 128), min(resolution // 2, 128))


def test_g_has_skip_excitation_at_every_resolution():
    assert tiny("g", 16).gated == {2: 0} and tiny("g", 8).gated == {1: 0}  # below 64x64: the last level from 4x4
    assert tiny("g", 256).gated == {4: 0, 5: 1, 6: 2}  # the paper's 4 -> 64, 8 -> 128, 16 -> 256
    assert tiny("d", 256).gated == {3: 0, 4: 1, 5: 2}  # D's 256 -> 32, 128 -> 16, 64 -> 8


@pytest.mark.parametrize("resolution", [12, 24, 100, 4])
def test_sizes_off_the_ladder_are_refused_with_the_nearest(resolution):
    with pytest.raises(ValueError, match="data.resolution="):
        tiny("g", resolution)


def test_widths_double_towards_4x4_and_are_capped():
    G = build("fastgan-g", z_dim=8, img_resolution=64, img_channels=3, width=4, max_width=16)
    assert [b.convs[-1].out_channels // 2 for b in G.blocks] == [16, 16, 8, 4]  # 8, 16, 32, 64 pixels
    D = build("fastgan-d", img_resolution=64, img_channels=3, width=4, max_width=16)
    assert D.stem[0].out_channels == 4 and D.features(torch.zeros(1, 3, 64, 64)).shape[1] == 16


def test_d_is_spectrally_normalised_and_g_is_not():
    assert all(hasattr(m, "parametrizations") for m in tiny("d").modules() if isinstance(m, torch.nn.Conv2d))
    assert not any(hasattr(m, "parametrizations") for m in tiny("g").modules())


def test_noise_injection_only_with_a_generator_and_drawn_from_it():
    G = tiny("g", 16).eval()
    for m in G.modules():
        if hasattr(m, "weight") and m.__class__.__name__ == "NoiseInjection":
            m.weight.data.fill_(0.5)
    z = torch.randn(2, 8)
    assert torch.equal(G(z), G(z))  # sampling: a function of z
    noisy = [G(z, BatchRandom(torch.Generator().manual_seed(s))) for s in (1, 1, 2)]
    assert torch.equal(noisy[0], noisy[1]) and not torch.allclose(noisy[0], noisy[2])
    assert not torch.allclose(noisy[0], G(z))


def test_quadrants_picks_each_samples_own():
    x = torch.arange(2 * 16).float().view(2, 1, 4, 4)
    q = quadrants(x, torch.tensor([3, 1]))
    assert torch.equal(q[0], x[0, :, 2:, 2:]) and torch.equal(q[1], x[1, :, :2, 2:])


def test_rebuilt_from_config():
    for role in ("g", "d"):
        net = tiny(role, 32, 3, norm="layer")
        again = from_config(net.config)
        again.load_state_dict(net.state_dict())
        x = torch.randn(2, 8) if role == "g" else torch.randn(2, 3, 32, 32)
        assert torch.equal(net.eval()(x), again.eval()(x))
