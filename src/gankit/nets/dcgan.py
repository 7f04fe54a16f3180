"""DCGAN (Radford et al. 2016) at any square resolution and channel count.

G: z -> fully connected projection to 4x4 -> fractional-strided convolutions doubling the
size -> tanh. D mirrors it with strided convolutions, no pooling. Batch norm everywhere
except G's output and D's input; ReLU in G, LeakyReLU(0.2) in D. At 64x64 RGB with
``width=64`` the feature maps are the paper's: 4x4x1024, 8x8x512, 16x16x256, 32x32x128, 64x64x3.

Sizes that are not 4 * 2^k are reached by halving with rounding up from the target
(100 -> 50 -> 25 -> 13 -> 7 -> 4; 28 -> 14 -> 7 -> 4): a step that lands on an odd size uses
a 3x3 kernel, an even one the paper's 4x4 kernel. Where halving would pass below 4 (40 -> 20 ->
10 -> 5), the last step goes from 4 to 5 or 6 with a stride-1 kernel of 2 or 3.

Widths double per level towards 4x4 up to ``max_width`` (default 1024, the paper's widest layer), as
PGGAN and StyleGAN cap theirs (at 512): uncapped, a 256x256 model's 4x4 layer would have 4096
channels and some 185M parameters in G alone. The cap binds only above 64x64 at the default width
64, so the models at 28, 32 and 64 pixels are the paper's.
"""

from __future__ import annotations

import torch
from torch import nn

from gankit.nets.conditioning import append_planes, append_to_vector, conditioning_kwargs
from gankit.nets.init import dcgan_init
from gankit.nets.minibatch import MinibatchDiscrimination, MinibatchStdDev
from gankit.nets.registry import register


def size_chain(resolution: int) -> list[int]:
    """Feature-map sizes from 4x4 up to ``resolution`` (inclusive)."""
    if resolution < 4:
        raise ValueError(f"DCGAN needs a resolution of at least 4, got {resolution}")
    sizes = [resolution]
    while sizes[-1] > 4:
        sizes.append(max(4, (sizes[-1] + 1) // 2))
    return sizes[::-1]


def step_shape(small: int, big: int) -> tuple[int, int, int]:
    """(kernel, stride, padding) of the (transposed) convolution between sizes ``small`` and ``big``."""
    if big == 2 * small:
        return 4, 2, 1
    if big == 2 * small - 1:
        return 3, 2, 1
    return big - small + 1, 1, 0  # 4 -> 5 or 6


MAX_WIDTH = 1024  # the most channels of any layer, unless a net is built with another max_width (0/None: no cap)


def level_widths(resolution: int, width: int, max_width: int | None) -> list[int]:
    """Channels at each size of ``size_chain``: ``width * 2^(levels - i)``, 4x4 widest, at most ``max_width``
    (or ``width``, when that is wider: the cap never narrows the layer at the image's size)."""
    n = len(size_chain(resolution)) - 1
    widths = [width * 2 ** (n - i) for i in range(n + 1)]
    return [min(w, max(max_width, width)) if max_width else w for w in widths]


def downsampling_layers(resolution: int, channels: int, width: int, max_width: int | None,
                        norm: str) -> tuple[list[nn.Module], int]:
    """D's strided convolutions from ``resolution`` down to 4x4 (no normalisation on the input layer),
    and the channels they end with; the AE's encoder is the same stack."""
    sizes = size_chain(resolution)[::-1]  # resolution ... 4
    widths = level_widths(resolution, width, max_width)[::-1]
    layers: list[nn.Module] = []
    in_ch = channels
    for i in range(1, len(sizes)):
        k, stride, pad = step_shape(sizes[i], sizes[i - 1])
        layers.append(nn.Conv2d(in_ch, widths[i], k, stride, pad, bias=i == 1 or norm != "batch"))
        if i > 1:
            layers.append(_norm(norm, widths[i]))
        layers.append(nn.LeakyReLU(0.2, True))
        in_ch = widths[i]
    return layers, in_ch


NORMS = ("batch", "layer", "instance", "none")  # layer: over C, H, W (WGAN-GP's recommendation)


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    if kind == "instance":
        return nn.GroupNorm(channels, channels, affine=True)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r}; use {', '.join(NORMS)}")


class FourOrMore:
    """What the DCGAN nets tell a recipe about the resolutions they take (see ``registry.register``)."""

    RESOLUTIONS = "at least 4"

    @classmethod
    def nearest_resolution(cls, resolution: int) -> int:
        return max(4, resolution)


@register("dcgan-g")
class DCGANGenerator(FourOrMore, nn.Module):
    def __init__(self, z_dim: int = 100, img_resolution: int = 64, img_channels: int = 3, width: int = 64,
                 max_width: int | None = MAX_WIDTH, norm: str = "batch", c_dim: int = 0):
        super().__init__()
        self.z_dim, self.c_dim = z_dim, c_dim
        sizes = size_chain(img_resolution)
        widths = level_widths(img_resolution, width, max_width)
        self.project = nn.Sequential(nn.Linear(z_dim + c_dim, widths[0] * 16, bias=norm != "batch"))
        self.project_norm = nn.Sequential(_norm(norm, widths[0]), nn.ReLU(True))
        self.base_width = widths[0]
        blocks: list[nn.Module] = []
        for i in range(1, len(sizes)):
            k, stride, pad = step_shape(sizes[i - 1], sizes[i])
            last = i == len(sizes) - 1
            out_ch = img_channels if last else widths[i]
            blocks.append(nn.ConvTranspose2d(widths[i - 1], out_ch, k, stride, pad, bias=last or norm != "batch"))
            blocks.append(nn.Tanh() if last else nn.Sequential(_norm(norm, out_ch), nn.ReLU(True)))
        if len(sizes) == 1:  # 4x4 output: a 1x1 convolution to the image channels
            blocks += [nn.Conv2d(widths[0], img_channels, 1), nn.Tanh()]
        self.blocks = nn.Sequential(*blocks)
        dcgan_init(self)

    @classmethod
    def data_kwargs(cls, info, cfg) -> dict:
        return {"z_dim": cfg["z_dim"], "img_resolution": info.resolution, "img_channels": info.channels,
                **conditioning_kwargs(cfg, info, "G")}

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        x = self.project(append_to_vector(z, c, self.c_dim)).view(z.shape[0], self.base_width, 4, 4)
        return self.blocks(self.project_norm(x))


@register("dcgan-d")
class DCGANDiscriminator(FourOrMore, nn.Module):
    def __init__(self, img_resolution: int = 64, img_channels: int = 3, width: int = 64,
                 max_width: int | None = MAX_WIDTH, norm: str = "batch", c_dim: int = 0, aux_classes: int = 0,
                 minibatch_std: bool = False, minibatch_disc: int = 0):
        super().__init__()
        self.c_dim = c_dim
        # labels enter as constant one-hot planes
        layers, in_ch = downsampling_layers(img_resolution, img_channels + c_dim, width, max_width, norm)
        if minibatch_std:
            layers.append(MinibatchStdDev())
            in_ch += 1
        self.body = nn.Sequential(*layers)
        if minibatch_disc:  # features flattened, batch statistics appended, then a linear logit
            self.head = nn.Sequential(MinibatchDiscrimination(in_ch * 16, minibatch_disc),
                                      nn.Linear(in_ch * 16 + minibatch_disc, 1), nn.Unflatten(1, (1, 1, 1)))
        else:
            self.head = nn.Conv2d(in_ch, 1, 4, 1, 0)  # 4x4 -> one logit
        self.aux = nn.Conv2d(in_ch, aux_classes, 4, 1, 0) if aux_classes else None  # ACGAN's class head
        dcgan_init(self)

    @classmethod
    def data_kwargs(cls, info, cfg) -> dict:
        return {"img_resolution": info.resolution, "img_channels": info.channels, **conditioning_kwargs(cfg, info, "D")}

    def features(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """The 4x4 feature maps before the logit (what feature matching compares)."""
        return self.body(append_planes(x, c, self.c_dim))

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.features(x, c)).flatten()

    def forward_aux(self, x: torch.Tensor, c: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(real/fake logit, class logits) from one pass: the auxiliary classifier of ACGAN."""
        h = self.features(x, c)
        return self.head(h).flatten(), self.aux(h).flatten(1)
