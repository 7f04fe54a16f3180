"""Autoencoders whose forward pass decodes, so a trained one is a generator like any other.

``forward(z)`` maps latents to images in [-1, 1] (or to 2-D points): all that sampling,
evaluation, export, EMA and snapshots ask of net "G". ``encode(x)`` gives the code (AE) or the
posterior's ``(mu, logvar)``, one pair per latent dimension (VAE, ``variational=True``).

``decode_logits(z)`` is the decoder before its squashing. For images these are Bernoulli logits of
pixels in [0, 1], and the image is ``tanh(logits / 2) = 2 * sigmoid(logits) - 1`` in [-1, 1]: one
decoder serves both the cross-entropy loss (which needs logits to stay stable) and squared error.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from gankit.nets.dcgan import MAX_WIDTH, DCGANGenerator, FourOrMore, downsampling_layers
from gankit.nets.init import dcgan_init
from gankit.nets.mlp import _stack
from gankit.nets.registry import register


class Autoencoder(nn.Module):
    """What the conv and MLP autoencoders share: encode, decode, and the squashing between logits and samples."""

    z_dim: int
    variational: bool
    squash: bool  # images: tanh(logits / 2); 2-D points: the raw output

    def encode(self, x: torch.Tensor):
        """The code [N, z_dim] (AE), or ``(mu, logvar)`` of q(z|x), each [N, z_dim] (VAE)."""
        h = self.encoder(x)
        return h.chunk(2, dim=1) if self.variational else h

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def from_logits(self, logits: torch.Tensor) -> torch.Tensor:
        return torch.tanh(logits * 0.5) if self.squash else logits

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.from_logits(self.decode_logits(z))


@register("dcgan-ae")
class ConvAutoencoder(FourOrMore, Autoencoder):
    """Encoder: DCGAN D's strided-convolution body to 4x4, then a linear layer to the code.
    Decoder: DCGAN's G at the same resolution, without its final tanh (see ``decode_logits``).
    """

    def __init__(self, z_dim: int = 16, img_resolution: int = 28, img_channels: int = 1, width: int = 32,
                 max_width: int | None = MAX_WIDTH, norm: str = "batch", variational: bool = False):
        super().__init__()
        self.z_dim, self.variational, self.squash = z_dim, variational, True
        layers, in_ch = downsampling_layers(img_resolution, img_channels, width, max_width, norm)
        layers += [nn.Flatten(), nn.Linear(in_ch * 16, z_dim * (2 if variational else 1))]
        self.encoder = nn.Sequential(*layers)
        dcgan_init(self.encoder)
        self.decoder = DCGANGenerator(z_dim=z_dim, img_resolution=img_resolution, img_channels=img_channels,
                                      width=width, max_width=max_width, norm=norm)
        assert isinstance(self.decoder.blocks[-1], nn.Tanh)
        self.decoder.blocks[-1] = nn.Identity()  # logits out; ``from_logits`` squashes

    @classmethod
    def data_kwargs(cls, info, cfg) -> dict:
        return {"z_dim": cfg["z_dim"], "img_resolution": info.resolution, "img_channels": info.channels}


@register("mlp-ae")
class MLPAutoencoder(Autoencoder):
    """Fully connected encoder (``hidden`` layers) and decoder (the same layers reversed), for flattened
    images or 2-D points; ``tanh`` squashes the output into images, off for points."""

    def __init__(self, z_dim: int = 2, shape: tuple = (2,), hidden: tuple = (512, 256), tanh: bool = False,
                 variational: bool = False):
        super().__init__()
        self.z_dim, self.variational, self.squash = z_dim, variational, tanh
        self.shape = tuple(shape)
        n = math.prod(self.shape)
        hidden = list(hidden)
        self.encoder = nn.Sequential(nn.Flatten(), *_stack([n, *hidden], nn.ReLU(), False),
                                     nn.Linear(hidden[-1] if hidden else n, z_dim * (2 if variational else 1)))
        self.decoder = nn.Sequential(*_stack([z_dim, *hidden[::-1]], nn.ReLU(), False),
                                     nn.Linear(hidden[0] if hidden else z_dim, n), nn.Unflatten(1, self.shape))

    @classmethod
    def data_kwargs(cls, info, cfg) -> dict:
        return {"z_dim": cfg["z_dim"], "shape": tuple(info.shape), "tanh": info.kind == "image"}


def has_encoder(G: nn.Module) -> bool:
    return isinstance(G, Autoencoder)


@torch.no_grad()
def codes(G: Autoencoder, x: torch.Tensor, batch: int = 500, device="cpu") -> torch.Tensor:
    """Codes of ``x`` on the CPU: the AE's code, or the VAE posterior's mean (deterministic, the usual choice)."""
    out = []
    for i in range(0, len(x), batch):
        h = G.encode(x[i:i + batch].to(device))
        out.append((h[0] if G.variational else h).float().cpu())
    return torch.cat(out)
