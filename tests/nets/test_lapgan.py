"""LAPGAN's networks: a generator per pyramid level sampled coarse to fine from one latent, a D per level."""

import pytest
import torch

from gankit.nets import build, from_config
from gankit.nets.lapgan import nearest_resolution, pyramid_levels
from gankit.nets.pyramid import up


def tiny_g(resolution=16, channels=1, c_dim=0, levels=0):
    return build("lapgan-g", z_dim=8, img_resolution=resolution, img_channels=channels, levels=levels, width=4,
                 hidden=(16,), c_dim=c_dim)


def tiny_d(resolution=16, channels=1, c_dim=0, levels=0):
    return build("lapgan-d", img_resolution=resolution, img_channels=channels, levels=levels, width=4, hidden=(16,),
                 c_dim=c_dim, dropout=0.0)


@pytest.mark.parametrize("resolution, sizes", [(8, [8]), (16, [8, 16]), (28, [7, 14, 28]), (32, [8, 16, 32]),
                                               (64, [8, 16, 32, 64])])
def test_levels_halve_down_to_eight_pixels_and_the_latent_holds_a_plane_per_finer_level(resolution, sizes):
    G = tiny_g(resolution, channels=3)
    assert G.sizes == sizes and len(G.refine) == len(sizes) - 1
    assert G.latent_dim == 8 + sum(s * s for s in sizes[1:]) and G.z_dim == 8
    x = G(torch.randn(2, G.latent_dim))
    assert x.shape == (2, 3, resolution, resolution) and x.abs().max() <= 1
    assert [i.shape[-1] for i in G.images(torch.randn(2, G.latent_dim))] == sizes
    D = tiny_d(resolution, channels=3)
    assert D.sizes == sizes and len(D.refine) == len(sizes) - 1
    assert D(torch.randn(2, 3, sizes[0], sizes[0])).shape == (2,)
    for s in sizes[1:]:
        assert D(torch.randn(2, 3, s, s), coarse=torch.randn(2, 3, s, s)).shape == (2,)


def test_levels_may_be_chosen_and_sides_that_do_not_halve_are_refused_with_the_nearest():
    assert tiny_g(32, levels=2).sizes == [16, 32] and tiny_g(32, levels=1).sizes == [32]
    with pytest.raises(ValueError, match="data.resolution=32"):
        pyramid_levels(30, 0)  # 30 -> 15 -> cannot halve 15; 28 and 32 are equally near: the larger
    assert nearest_resolution(29) == 28 and nearest_resolution(100) == 96 and nearest_resolution(6) == 6
    assert nearest_resolution(30, levels=2) == 30


def test_sampling_draws_coarse_to_fine_each_level_from_the_upsampled_image_so_far():
    torch.manual_seed(0)
    G = tiny_g(32)
    calls = []
    G.coarsest.register_forward_hook(lambda m, args, out: calls.append(("coarsest", out.shape[-1], out)))
    for i, level in enumerate(G.refine, start=1):
        level.register_forward_hook(lambda m, args, out, i=i: calls.append((i, args[1].shape[-1], args[1])))
    latent = torch.randn(2, G.latent_dim)
    x = G(latent)
    assert [(name, size) for name, size, _ in calls] == [("coarsest", 8), (1, 16), (2, 32)]
    assert torch.equal(calls[1][2], up(calls[0][2]))  # level 1 refines the upsampled coarsest image
    images = G.images(latent)
    assert torch.equal(images[-1], x)
    z, planes = G.split(latent)
    expected = (up(images[1]) + G.residual(2, planes[1], up(images[1]))).clamp(-1, 1)
    assert torch.allclose(x, expected, atol=1e-6)


def test_the_same_latent_gives_the_same_image_and_each_noise_plane_matters():
    torch.manual_seed(0)
    G = tiny_g(16)
    latent = torch.randn(3, G.latent_dim)
    assert torch.equal(G(latent), G(latent.clone()))
    changed = latent.clone()
    changed[:, G.z_dim:] = torch.randn(3, G.latent_dim - G.z_dim)  # same z, other noise plane
    assert torch.equal(G.images(changed)[0], G.images(latent)[0]) and not torch.allclose(G(changed), G(latent))
    with pytest.raises(ValueError, match="latents of"):
        G(torch.randn(3, G.z_dim))


def test_class_changes_the_image_and_d_logits():
    torch.manual_seed(0)
    G, D = tiny_g(16, c_dim=3), tiny_d(16, c_dim=3)
    latent = torch.randn(2, G.latent_dim)
    a, b = G(latent, torch.tensor([0, 0])), G(latent, torch.tensor([2, 2]))
    assert not torch.allclose(a, b)
    assert not torch.allclose(G.images(latent, torch.tensor([0, 0]))[0], G.images(latent, torch.tensor([1, 1]))[0])
    coarse = up(torch.randn(2, 1, 8, 8))
    assert not torch.allclose(D(a, torch.tensor([0, 0]), coarse), D(a, torch.tensor([1, 1]), coarse))
    with pytest.raises(ValueError, match="pass labels"):
        G(latent)


def test_finer_d_judges_the_image_beside_its_coarse_image():
    torch.manual_seed(0)
    D = tiny_d(16)
    x = torch.randn(2, 1, 16, 16)
    assert not torch.allclose(D(x, coarse=torch.zeros_like(x)), D(x, coarse=torch.ones_like(x)))
    with pytest.raises(ValueError, match="pass coarse"):
        D(x)
    with pytest.raises(ValueError, match="judges images of"):
        D(torch.randn(2, 1, 12, 12))


def test_config_rebuilds_the_same_nets():
    torch.manual_seed(0)
    G, D = tiny_g(16, c_dim=2), tiny_d(16)
    G2, D2 = from_config(G.config), from_config(D.config)
    G2.load_state_dict(G.state_dict())
    D2.load_state_dict(D.state_dict())
    latent, c = torch.randn(2, G.latent_dim), torch.tensor([1, 0])
    assert torch.equal(G2(latent, c), G(latent, c)) and G2.latent_dim == G.latent_dim
    x = torch.randn(2, 1, 8, 8)
    assert torch.equal(D2(x), D(x))
