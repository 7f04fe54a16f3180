"""Progressive growing's networks: equalised learning rate, pixel norm, grouped minibatch stddev, the fade-in of G and D
at a level of detail, and a lod that survives a state dict."""

import copy
import math

import pytest
import torch
import torch.nn.functional as F

from gankit.nets import build, from_config
from gankit.nets.minibatch import MinibatchStdDev
from gankit.nets.pggan import (EqualizedConv2d, EqualizedLinear, GroupedStdDev, PixelNorm, channels, downscale,
                               nearest_resolution, upscale)


def tiny(role, resolution=16, channels=1, **kw):
    if role == "g":
        return build("pggan-g", z_dim=8, img_resolution=resolution, img_channels=channels, fmap_base=32, fmap_max=16,
                     **kw)
    return build("pggan-d", img_resolution=resolution, img_channels=channels, fmap_base=32, fmap_max=16, **kw)


def equalised_layers(net):
    return {name: m for name, m in net.named_modules() if isinstance(m, (EqualizedConv2d, EqualizedLinear))}


def test_equalised_layers_scale_n01_weights_by_the_papers_gain_over_root_fan_in():
    G, D = tiny("g"), tiny("d")
    special = {("g", "dense"): math.sqrt(2) / 4, ("d", "out"): 1.0}
    for role, net in (("g", G), ("d", D)):
        layers = equalised_layers(net)
        assert len(layers) == (2 + 2 * net.levels + net.levels + 1 if role == "g" else 3 + 2 * net.levels +
                               net.levels + 1)
        for name, layer in layers.items():
            gain = special.get((role, name), 1.0 if name.startswith("to_rgb") else math.sqrt(2))
            fan_in = layer.weight[0].numel()
            assert layer.scale == pytest.approx(gain / math.sqrt(fan_in)), (role, name)
            assert layer.bias is None or not layer.bias.any()
    torch.manual_seed(0)
    wide = EqualizedConv2d(64, 64, 3)  # 36,864 weights: their spread is N(0, 1)'s
    assert abs(wide.weight.std().item() - 1) < 0.02 and abs(wide.weight.mean().item()) < 0.02
    x = torch.randn(2, 64, 5, 5)
    assert torch.allclose(wide(x), F.conv2d(x, wide.weight * math.sqrt(2) / math.sqrt(64 * 9), padding=1), atol=1e-5)


def test_channels_follow_the_papers_nf():
    assert [channels(r, 8192, 512) for r in (4, 32, 64, 128, 1024)] == [512, 512, 256, 128, 16]
    G = tiny("g")  # fmap 32 / 16: 16 at 4x4, 8 at 8x8, 4 at 16x16
    assert [rgb.weight.shape[1] for rgb in G.to_rgb] == [16, 8, 4]


def test_pixel_norm_gives_each_pixel_unit_rms_over_channels():
    x = torch.randn(3, 7, 4, 5) * torch.rand(3, 1, 4, 5) * 10
    y = PixelNorm()(x)
    assert torch.allclose(y.square().mean(dim=1), torch.ones(3, 4, 5), atol=1e-5)
    assert torch.allclose(y / y.norm(dim=1, keepdim=True), x / x.norm(dim=1, keepdim=True), atol=1e-6)  # direction


def test_minibatch_stddev_groups_consecutive_samples_so_a_ranks_slice_computes_its_half():
    torch.manual_seed(0)
    x = torch.randn(8, 3, 4, 4)
    layer = GroupedStdDev(4)
    full = layer(x)
    halves = torch.cat([layer(x[:4]), layer(x[4:])])  # two ranks of 4
    assert torch.equal(full, halves)
    expected = (x[:4].var(dim=0, unbiased=False) + 1e-8).sqrt().mean()
    assert torch.allclose(full[:4, 3], expected.expand(4, 4, 4)) and full.shape == (8, 4, 4, 4)
    assert not torch.allclose(full[0, 3], full[4, 3])  # each group its own
    # the whole-batch layer would not: a rank's slice sees another statistic than the full batch gives it
    assert not torch.allclose(MinibatchStdDev()(x[:4]), MinibatchStdDev()(x)[:4])
    assert layer(x[:3]).shape == (3, 4, 4, 4)  # fewer than a group: one group


def _g_levels(G, z, upto):
    """G's features at every level up to ``upto``."""
    feats = [G.level(G.norm(z), 0)]
    for j in range(1, upto + 1):
        feats.append(G.level(feats[-1], j))
    return feats


@pytest.mark.parametrize("lod", [0.25, 0.5, 1.75])
def test_g_fades_the_new_level_in_as_the_blend_of_its_path_and_the_upscaled_old_one(lod):
    torch.manual_seed(0)
    G = tiny("g")
    G.set_lod(lod)
    k, f = math.floor(lod), lod - math.floor(lod)
    top = G.levels - k
    z = torch.randn(4, 8)
    feats = _g_levels(G, z, top)
    new = G.to_rgb[top](feats[top])
    old = upscale(G.to_rgb[top - 1](feats[top - 1]), 2)
    expected = upscale((1 - f) * new + f * old, 2 ** k)
    assert (G.top, G.fading) == (top, True)
    assert torch.allclose(G(z), expected, atol=1e-5)
    assert not torch.allclose(G(z), upscale(new, 2 ** k), atol=1e-3)


@pytest.mark.parametrize("lod", [0, 1, 2])
def test_g_at_a_whole_lod_runs_one_path(lod):
    torch.manual_seed(0)
    G = tiny("g")
    G.set_lod(lod)
    top = G.levels - lod
    called = []
    for j, rgb in enumerate(G.to_rgb):
        rgb.register_forward_hook(lambda m, i, o, j=j: called.append(j))
    z = torch.randn(4, 8)
    out = G(z)
    assert called == [top] and not G.fading
    assert torch.equal(out, upscale(G.to_rgb[top](_g_levels(G, z, top)[top]), 2 ** lod))
    assert out.shape == (4, 1, 16, 16)
    assert torch.equal(out[..., ::2, ::2].repeat_interleave(2, -1).repeat_interleave(2, -2), out) == (lod > 0)


def _d_from(D, h, j):
    """D's logits from features ``h`` at level ``j`` (its blocks down to 4x4, then the head)."""
    for i in range(j, 0, -1):
        h = D.level(h, i)
    h = F.leaky_relu(D.conv4(D.stddev(h)), 0.2)
    return D.out(F.leaky_relu(D.dense(h.flatten(1)), 0.2)).flatten()


@pytest.mark.parametrize("lod", [0.25, 0.5, 1.75])
def test_d_fades_the_new_level_in_as_the_blend_of_its_block_and_the_downscaled_old_path(lod):
    torch.manual_seed(0)
    D = tiny("d")
    D.set_lod(lod)
    k, f = math.floor(lod), lod - math.floor(lod)
    top = D.levels - k
    x = torch.randn(4, 1, 16, 16)
    xj = downscale(x, 2 ** k)
    new = D.level(F.leaky_relu(D.from_rgb[top](xj), 0.2), top)
    old = F.leaky_relu(D.from_rgb[top - 1](downscale(xj, 2)), 0.2)
    assert torch.allclose(D(x), _d_from(D, (1 - f) * new + f * old, top - 1), atol=1e-5)
    D.set_lod(k)  # whole: the new level alone, which differs
    assert torch.allclose(D(x), _d_from(D, new, top - 1), atol=1e-5)
    assert not torch.allclose(D(x), _d_from(D, old, top - 1), atol=1e-3)


def test_d_sees_an_upscaled_image_as_its_low_resolution_self():
    torch.manual_seed(0)
    D = tiny("d")
    D.set_lod(1)
    small = torch.randn(4, 1, 8, 8)
    checker = torch.tensor([[1.0, -1.0], [-1.0, 1.0]]).repeat(8, 8)  # averages to 0 over every 2x2 block
    other = upscale(small, 2) + upscale(torch.randn(4, 1, 8, 8), 2) * checker
    assert torch.allclose(D(upscale(small, 2)), D(other), atol=1e-5)


@pytest.mark.parametrize("role", ["g", "d"])
def test_state_dict_round_trip_keeps_the_lod_the_structure_and_the_output(role):
    torch.manual_seed(0)
    net = tiny(role)
    net.set_lod(0.625)
    again = from_config(net.config)
    assert (again.top, again.fading) == (net.levels, False)  # a new net runs at its full resolution
    again.load_state_dict(net.state_dict())
    assert again.lod.item() == 0.625 and (again.top, again.fading) == (net.top, net.fading) == (2, True)
    x = torch.randn(4, 8) if role == "g" else torch.randn(4, 1, 16, 16)
    assert torch.equal(again(x), net(x))


def test_a_lod_a_hair_inside_a_fade_keeps_fading_in_the_float32_buffer():
    G = tiny("g")
    for lod, top in ((1 - 1e-9, 2), (1 + 1e-9, 1)):
        G.set_lod(lod)
        assert G.fading and G.top == top and 0 < G.lod.item() - math.floor(lod) < 1
        again = from_config(G.config)
        again.load_state_dict(G.state_dict())
        assert (again.top, again.fading) == (top, True)
    G.set_lod(7.5)  # clipped to 4x4
    assert (G.top, G.fading, G.lod.item()) == (0, False, 2.0)
    state = {**G.state_dict(), "lod": torch.tensor(-3.5)}  # a file's lod out of range: clipped alike
    G.load_state_dict(state)
    assert (G.top, G.fading) == (2, False) and G(torch.randn(2, 8)).shape == (2, 1, 16, 16)


def test_resolutions_off_the_ladder_are_refused_with_the_next_power_of_two_and_the_canvas():
    assert [nearest_resolution(r) for r in (1, 5, 8, 9, 64, 100, 128)] == [8, 8, 8, 16, 64, 128, 128]
    with pytest.raises(ValueError, match="data.resolution=128 data.canvas=128"):
        tiny("g", 100)
    with pytest.raises(ValueError, match="data.resolution=8"):
        tiny("d", 4)


def test_in_eval_mode_a_copy_whose_buffer_was_copied_in_place_draws_at_that_lod():
    """A moving average's buffers are copied without load_state_dict: in eval mode the structure follows them."""
    torch.manual_seed(0)
    G = tiny("g")
    G.set_lod(0.5)
    average = copy.deepcopy(G)
    average.set_lod(2)
    average.lod.copy_(G.lod)
    z = torch.randn(2, 8)
    assert torch.equal(average.eval()(z), G(z)) and (average.top, average.fading) == (2, True)
    average.train().lod.fill_(2.0)  # in training the structure is set_lod's: the buffer alone does not move it
    assert (average.top, average.fading) == (2, True)
