"""Autoencoder networks: forward decodes (a drop-in generator), encode gives codes or (mu, logvar),
and the recorded config rebuilds them."""

import pytest
import torch

from gankit import nets
from gankit.nets.autoencoder import codes, has_encoder


@pytest.mark.parametrize("res,ch", [(28, 1), (32, 3), (16, 1), (7, 1)])
@pytest.mark.parametrize("variational", [False, True])
def test_conv_shapes_at_any_resolution(res, ch, variational):
    G = nets.build("dcgan-ae", z_dim=5, img_resolution=res, img_channels=ch, width=4, variational=variational)
    x = torch.rand(3, ch, res, res) * 2 - 1
    h = G.encode(x)
    if variational:
        mu, logvar = h
        assert mu.shape == logvar.shape == (3, 5)
    else:
        assert h.shape == (3, 5)
    out = G(torch.randn(3, 5))
    assert out.shape == (3, ch, res, res) and out.abs().max() <= 1


def test_forward_is_the_bernoulli_mean_of_the_logits_in_minus_one_to_one():
    G = nets.build("dcgan-ae", z_dim=4, img_resolution=16, img_channels=1, width=4).eval()
    z = torch.randn(2, 4) * 3
    logits = G.decode_logits(z)
    assert torch.allclose(G(z), 2 * torch.sigmoid(logits) - 1, atol=1e-6)
    assert not isinstance(G.decoder.blocks[-1], torch.nn.Tanh)  # logits leave the decoder unsquashed


def test_mlp_for_images_and_points():
    G = nets.build("mlp-ae", z_dim=3, shape=(1, 8, 8), hidden=[16, 8], tanh=True, variational=True)
    mu, logvar = G.encode(torch.randn(4, 1, 8, 8))
    assert mu.shape == logvar.shape == (4, 3)
    assert G(torch.randn(4, 3)).shape == (4, 1, 8, 8)
    P = nets.build("mlp-ae", z_dim=2, shape=(2,), hidden=[16])
    z = P.encode(torch.randn(5, 2))
    assert z.shape == (5, 2)
    with torch.no_grad():
        P.decoder[-2].bias.fill_(7.0)  # points are not squashed into [-1, 1]
    assert P(z).shape == (5, 2) and P(z).abs().max() > 1


@pytest.mark.parametrize("arch,kwargs", [("dcgan-ae", {"img_resolution": 16, "width": 4}),
                                         ("mlp-ae", {"shape": (1, 16, 16), "hidden": [8], "tanh": True})])
def test_recorded_config_rebuilds_the_network(arch, kwargs):
    G = nets.build(arch, z_dim=3, variational=True, **kwargs).eval()
    H = nets.from_config(G.config).eval()
    H.load_state_dict(G.state_dict())
    z, x = torch.randn(2, 3), torch.rand(2, 1, 16, 16)
    assert G.config["variational"] is True and has_encoder(H)
    assert torch.equal(G(z), H(z)) and torch.equal(G.encode(x)[1], H.encode(x)[1])


def test_codes_are_posterior_means_in_batches():
    G = nets.build("dcgan-ae", z_dim=3, img_resolution=16, img_channels=1, width=4, variational=True).eval()
    x = torch.rand(7, 1, 16, 16)
    assert torch.allclose(codes(G, x, batch=3), G.encode(x)[0].detach(), atol=1e-6)
    assert not has_encoder(nets.build("dcgan-g", img_resolution=16, width=4))
