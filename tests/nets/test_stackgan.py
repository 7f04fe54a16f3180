"""StackGAN's networks: conditioning augmentation and its KL, the two stages' sides, the latent, matching-aware D."""

import pytest
import torch

from gankit.nets import build, from_config
from gankit.nets.stackgan import ConditioningAugmentation, kl

CLASSES, CA = 3, 4


def tiny_g(resolution=16, c_dim=CLASSES, **kw):
    return build("stackgan-g", z_dim=8, img_resolution=resolution, img_channels=1, c_dim=c_dim, ca_dim=CA, width=4,
                 max_width=16, **kw)


def tiny_d(resolution=16, ca_dim=CA, **kw):
    return build("stackgan-d", img_resolution=resolution, img_channels=1, ca_dim=ca_dim, width=4, max_width=16, **kw)


def test_kl_is_the_authors_mean_of_the_closed_form():
    mu = torch.tensor([[0.0, 1.0], [2.0, -1.0]])
    logvar = torch.tensor([[0.0, 0.0], [1.0, -2.0]])
    # 0.5 * (mu^2 + sigma^2 - 1 - log sigma^2) per element, then the mean over batch and dimensions
    each = [0.0, 0.5, 0.5 * (4 + 2.718281828459045 - 1 - 1), 0.5 * (1 + 0.1353352832366127 - 1 + 2)]
    assert kl(mu, logvar).item() == pytest.approx(sum(each) / 4, rel=1e-6)
    assert kl(torch.zeros(5, 3), torch.zeros(5, 3)).item() == 0  # the prior itself
    assert kl(torch.randn(6, 3), torch.randn(6, 3)).item() > 0


def test_conditioning_augmentation_samples_around_the_class_mean():
    torch.manual_seed(0)
    ca = ConditioningAugmentation(CLASSES, CA)
    c = torch.tensor([0, 2, 2])
    eps = torch.randn(3, CA)
    code, mu, logvar = ca(c, eps)
    assert torch.allclose(code, mu + (0.5 * logvar).exp() * eps)
    assert torch.equal(ca(c, torch.zeros(3, CA))[0], mu)  # eps 0: the mean
    assert torch.equal(mu[1], mu[2]) and not torch.equal(mu[0], mu[1])  # one mean per class
    assert torch.equal(torch.cat(ca.moments(c), 1), ca.fc(ca.embed(c)))


def test_same_latent_and_class_give_the_same_image_and_the_latent_holds_every_random_number():
    G = tiny_g().eval()
    assert G.latent_dim == 8 + 2 * CA
    w, c = torch.randn(4, G.latent_dim), torch.tensor([0, 1, 2, 1])
    assert torch.equal(G(w, c), G(w, c))
    for part in (slice(0, 8), slice(8, 8 + CA), slice(8 + CA, None)):  # z, stage I's and stage II's CA noise
        other = w.clone()
        other[:, part] += 1
        assert not torch.allclose(G(other, c), G(w, c))
    assert not torch.allclose(G(w, torch.tensor([1, 2, 0, 0])), G(w, c))  # the class matters
    with pytest.raises(ValueError, match="latents of 16 numbers"):
        G(torch.randn(2, 8), c[:2])


@pytest.mark.parametrize("resolution,side1", [(16, 4), (32, 8), (64, 16)])
def test_stage_one_at_a_quarter_and_stage_two_at_full_resolution(resolution, side1):
    G = tiny_g(resolution)
    outs = G.run(torch.randn(3, G.latent_dim), torch.tensor([0, 1, 2]))
    assert [o.image.shape for o in outs] == [(3, 1, side1, side1), (3, 1, resolution, resolution)]
    assert all(o.mu.shape == o.logvar.shape == (3, CA) for o in outs)
    assert G(torch.randn(3, G.latent_dim), torch.tensor([0, 1, 2])).shape == (3, 1, resolution, resolution)
    assert tiny_g(64, stage1_resolution=32).run(torch.randn(2, G.latent_dim), torch.tensor([0, 1]))[0].image.shape \
        == (2, 1, 32, 32)
    D = tiny_d(resolution).eval()
    assert D(outs[0].image, outs[0].mu, stage=1).shape == D(outs[1].image, outs[1].mu).shape == (3,)


def test_before_stage_two_the_output_is_stage_one_upscaled_and_the_stage_travels_with_the_weights():
    G = tiny_g().eval()
    w, c = torch.randn(2, G.latent_dim), torch.tensor([0, 2])
    G.set_stage(1)
    small = G.run(w, c, upto=1)[0].image
    assert torch.equal(G(w, c), small.repeat_interleave(4, 2).repeat_interleave(4, 3))
    again = from_config(G.config).eval()
    again.load_state_dict(G.state_dict())  # an export or a checkpoint reached in stage I draws with stage I
    assert torch.equal(again(w, c), G(w, c))
    G.set_stage(2)
    assert not torch.allclose(again(w, c), G(w, c))
    again.stage.copy_(G.stage)  # as a moving average's update copies buffers: no hook, no host read
    assert torch.equal(again(w, c), G(w, c)) and torch.equal(G(w, c), G.run(w, c)[1].image)


def test_a_frozen_stage_one_gets_no_gradient():
    G = tiny_g()
    outs = G.run(torch.randn(4, G.latent_dim), torch.tensor([0, 1, 2, 0]), stage1_grad=False)
    outs[1].image.sum().backward()
    assert all(p.grad is None for p in [*G.stage1.parameters(), *G.ca[0].parameters()])
    assert all(p.grad is not None for p in [*G.stage2.parameters(), *G.ca[1].parameters()])


def test_matching_aware_d_reads_the_condition():
    D = tiny_d().eval()
    x, cond = torch.randn(3, 1, 16, 16), torch.randn(3, CA)
    assert not torch.allclose(D(x, cond), D(x, cond + 1))
    with pytest.raises(ValueError, match="matching-aware"):
        D(x)


def test_unconditional_mode_has_no_conditioning_augmentation():
    G, D = tiny_g(c_dim=0).eval(), tiny_d(ca_dim=0).eval()
    assert G.latent_dim == G.z_dim == 8 and not hasattr(G, "ca")
    z = torch.randn(2, 8)
    assert torch.equal(G(z), G(z)) and G(z).shape == (2, 1, 16, 16)
    outs = G.run(z)
    assert outs[0].mu is None and D(outs[1].image).shape == (2,) and D(outs[0].image, stage=1).shape == (2,)


@pytest.mark.parametrize("resolution", [8, 12, 24, 100])
def test_sides_off_the_ladder_or_below_16_are_refused_with_the_nearest(resolution):
    with pytest.raises(ValueError, match="data.resolution="):
        tiny_g(resolution)
    assert build("stackgan-g").nearest_resolution(28) == 32 and build("stackgan-d").nearest_resolution(8) == 16
    with pytest.raises(ValueError, match="stage I"):
        tiny_g(32, stage1_resolution=24)


def test_widths_follow_the_papers_at_256():
    G = build("stackgan-g", img_resolution=256, c_dim=2, width=32, max_width=1024)
    assert G.stage1.base == 1024 and G.stage1.to_image[0].in_channels == 64  # stage I: 1024 at 4x4, 64 at 64x64
    assert G.stage2.join[0].out_channels == 512 and G.stage2.to_image[0].in_channels == 32  # 512 at 16x16, 32 at 256


def test_rebuilt_from_config():
    G, D = tiny_g(norm="layer").eval(), tiny_d(norm="layer").eval()
    w, c = torch.randn(2, G.latent_dim), torch.tensor([1, 0])
    for net, args in ((G, (w, c)), (D, (torch.randn(2, 1, 16, 16), torch.randn(2, CA)))):
        again = from_config(net.config).eval()
        again.load_state_dict(net.state_dict())
        assert torch.equal(net(*args), again(*args))
