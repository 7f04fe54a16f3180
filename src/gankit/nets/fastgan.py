"""FastGAN's networks (Liu, Zhu, Song, Elgammal 2021) at 4 * 2^k resolutions (8, 16, 32, ...) and any channel count.

G: z -> 4x4 (a transposed 4x4 convolution, norm, GLU) -> one up-sampling block per doubling (nearest 2x, 3x3
convolution, norm, GLU; every other block, from 8x8 on, runs that twice with noise injection before each norm, the
paper's heavier block) -> 3x3 convolution, tanh. Skip-layer excitation (SLE) multiplies every level of 64x64 and above
by channel gates computed from the level 16 times smaller (4 -> 64, 8 -> 128, 16 -> 256, as in the paper); a net
below 64x64 has no such pair, so its last level is gated from 4x4 and every net has one.

D: a 3x3 convolution at the image's size -> down-sampling blocks to 8x8 (a strided path averaged with an
average-pool + 1x1 path) -> a 1x1 convolution, norm, LeakyReLU and a 4x4 convolution, whose 5x5 logit map is
averaged into one logit per image. Levels of 32x32 and below are gated (SLE) from the level 8 times larger where the
image has one. Every convolution is spectrally normalised. Two simple decoders (the paper's self-supervision)
reconstruct, from D's 8x8 features, the image at min(size, 128) pixels, and from one quadrant of its 16x16
features (the 8x8 ones at 8 pixels), that quadrant of the image at min(size / 2, 128): ``reconstruct``.

Widths double per level towards 4x4 from ``width`` at the image's size, at most ``max_width``, as gankit's other
nets. Noise is drawn only from a generator passed to G (the recipe's per-sample one): with none, as in sampling, G is
a deterministic function of z and the noise its mean, zero.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from gankit.nets.dcgan import _norm, level_widths, size_chain
from gankit.nets.init import dcgan_init
from gankit.nets.registry import register
from gankit.nets.resnet import RESOLUTIONS, OnTheLadder, nearest_resolution

if TYPE_CHECKING:  # only its randn is called: the nets stay free of training code
    from gankit.regularizers.batch_random import BatchRandom

RECON_LARGEST = 128  # the paper reconstructs at 128x128 whatever the image's size


def _levels(resolution: int) -> int:
    """The doublings from 4x4 to ``resolution``; a size off the ladder is refused with the nearest one on it."""
    k = (resolution // 4).bit_length() - 1
    if resolution < 8 or resolution != 4 * 2 ** k:
        raise ValueError(f"the FastGAN networks need a resolution of {RESOLUTIONS}, got {resolution}; "
                         f"resize the images to one with --set data.resolution={nearest_resolution(resolution)}")
    return k


def quadrants(x: torch.Tensor, which: torch.Tensor) -> torch.Tensor:
    """[N, C, H, W] -> [N, C, H/2, W/2]: sample i's quadrant ``which[i]`` (0 top left, 1 top right, 2 bottom left,
    3 bottom right)."""
    h, w = x.shape[-2] // 2, x.shape[-1] // 2
    four = torch.stack([x[..., :h, :w], x[..., :h, w:], x[..., h:, :w], x[..., h:, w:]])
    return four[which, torch.arange(x.shape[0], device=x.device)]


class SkipExcitation(nn.Module):
    """SLE: channel gates in (0, 1) for a high-resolution map from a low-resolution one (any size: pooled to 4x4)."""

    def __init__(self, low_channels: int, high_channels: int):
        super().__init__()
        self.gate = nn.Sequential(nn.AdaptiveAvgPool2d(4), nn.Conv2d(low_channels, high_channels, 4, 1, 0, bias=False),
                                  nn.SiLU(), nn.Conv2d(high_channels, high_channels, 1, bias=False), nn.Sigmoid())

    def forward(self, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
        return high * self.gate(low)


class NoiseInjection(nn.Module):
    """Adds a learned multiple (0 at first) of one Gaussian plane per sample, drawn from ``noise``; none: adds 0."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor, noise: BatchRandom | None) -> torch.Tensor:
        if noise is None:
            return x
        n, _, h, w = x.shape
        return x + self.weight.to(x.dtype) * noise.randn(n, 1, h, w, device=x.device, dtype=x.dtype)


class UpBlock(nn.Module):
    """Nearest 2x, then (3x3 convolution [, noise], norm, GLU) once or, ``twice``, twice with noise."""

    def __init__(self, cin: int, cout: int, norm: str, twice: bool):
        super().__init__()
        bias = norm != "batch"
        ins = [cin, cout] if twice else [cin]
        self.convs = nn.ModuleList([nn.Conv2d(c, 2 * cout, 3, 1, 1, bias=bias) for c in ins])
        self.noises = nn.ModuleList([NoiseInjection() for _ in self.convs] if twice else [])
        self.norms = nn.ModuleList([_norm(norm, 2 * cout) for _ in self.convs])

    def forward(self, x: torch.Tensor, noise: BatchRandom | None = None) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            x = conv(x)
            if self.noises:
                x = self.noises[i](x, noise)
            x = F.glu(norm(x), dim=1)
        return x


def gated_levels(levels: int) -> dict[int, int]:
    """G's SLE pairs, {gated level: source level}, levels counted from 4x4 (level 0) to the image's (``levels``)."""
    pairs = {i: i - 4 for i in range(4, levels + 1)}
    return pairs or {levels: 0}


@register("fastgan-g")
class FastGANGenerator(OnTheLadder, nn.Module):
    def __init__(self, z_dim: int = 256, img_resolution: int = 256, img_channels: int = 3, width: int = 64,
                 max_width: int | None = 512, norm: str = "batch"):
        super().__init__()
        self.z_dim = z_dim
        levels = _levels(img_resolution)
        widths = level_widths(img_resolution, width, max_width)
        self.init = nn.Sequential(nn.ConvTranspose2d(z_dim, 2 * widths[0], 4, 1, 0, bias=norm != "batch"),
                                  _norm(norm, 2 * widths[0]), nn.GLU(dim=1))
        self.blocks = nn.ModuleList([UpBlock(widths[i - 1], widths[i], norm, twice=i % 2 == 1)
                                     for i in range(1, levels + 1)])
        self.gated = gated_levels(levels)
        self.excite = nn.ModuleDict({str(t): SkipExcitation(widths[s], widths[t]) for t, s in self.gated.items()})
        self.to_image = nn.Sequential(nn.Conv2d(widths[-1], img_channels, 3, 1, 1), nn.Tanh())
        dcgan_init(self)

    @classmethod
    def data_kwargs(cls, info, cfg) -> dict:
        _unconditional(cfg)
        return {"z_dim": cfg["z_dim"], "img_resolution": info.resolution, "img_channels": info.channels}

    def forward(self, z: torch.Tensor, noise: BatchRandom | None = None) -> torch.Tensor:
        """Images from ``z``; ``noise``, the per-sample generator of a training step, feeds the noise injection."""
        feats = [self.init(z.view(*z.shape, 1, 1))]
        for i, block in enumerate(self.blocks, start=1):
            x = block(feats[-1], noise)
            if i in self.gated:
                x = self.excite[str(i)](feats[self.gated[i]], x)
            feats.append(x)
        return self.to_image(feats[-1])


class DownBlock(nn.Module):
    """Halves the size: (4x4 stride-2 and 3x3 convolutions, each with norm and LeakyReLU) averaged with
    (2x2 average pool, 1x1 convolution, norm, LeakyReLU)."""

    def __init__(self, cin: int, cout: int, norm: str):
        super().__init__()
        bias = norm != "batch"
        self.main = nn.Sequential(nn.Conv2d(cin, cout, 4, 2, 1, bias=bias), _norm(norm, cout), nn.LeakyReLU(0.2),
                                  nn.Conv2d(cout, cout, 3, 1, 1, bias=bias), _norm(norm, cout), nn.LeakyReLU(0.2))
        self.direct = nn.Sequential(nn.AvgPool2d(2), nn.Conv2d(cin, cout, 1, bias=bias), _norm(norm, cout),
                                    nn.LeakyReLU(0.2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.main(x) + self.direct(x)) / 2


class SimpleDecoder(nn.Module):
    """Features -> an image of ``size`` pixels: average-pooled to 8x8 (or ``size``), then nearest 2x, 3x3
    convolution, norm and GLU per doubling, a 3x3 convolution to the channels, tanh."""

    def __init__(self, cin: int, channels: int, size: int, width: int, max_width: int | None, norm: str):
        super().__init__()
        start = min(8, size)
        sizes = size_chain(size)
        widths = dict(zip(sizes, level_widths(size, width, max_width)))
        layers: list[nn.Module] = [nn.AdaptiveAvgPool2d(start)]
        s, c = start, cin
        while s < size:
            s *= 2
            conv = nn.Conv2d(c, 2 * widths[s], 3, 1, 1, bias=norm != "batch")
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), conv, _norm(norm, 2 * widths[s]), nn.GLU(dim=1)]
            c = widths[s]
        layers += [nn.Conv2d(c, channels, 3, 1, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


@register("fastgan-d")
class FastGANDiscriminator(OnTheLadder, nn.Module):
    def __init__(self, img_resolution: int = 256, img_channels: int = 3, width: int = 32, max_width: int | None = 512,
                 norm: str = "batch"):
        super().__init__()
        levels = _levels(img_resolution)
        sizes = size_chain(img_resolution)[:0:-1]  # the image's size ... 8
        widths = level_widths(img_resolution, width, max_width)[:0:-1]
        self.stem = nn.Sequential(nn.Conv2d(img_channels, widths[0], 3, 1, 1), nn.LeakyReLU(0.2))
        self.blocks = nn.ModuleList([DownBlock(widths[i - 1], widths[i], norm) for i in range(1, len(sizes))])
        # SLE: levels of 32x32 and below gated from the level 8 times larger (3 levels up), where there is one
        self.gated = {i: i - 3 for i in range(3, len(sizes)) if sizes[i] <= 32}
        self.excite = nn.ModuleDict({str(t): SkipExcitation(widths[s], widths[t]) for t, s in self.gated.items()})
        wide = level_widths(img_resolution, width, max_width)[0]  # the 4x4 level's width, as the paper's head widens
        self.head = nn.Sequential(nn.Conv2d(widths[-1], wide, 1, bias=norm != "batch"), _norm(norm, wide),
                                  nn.LeakyReLU(0.2), nn.Conv2d(wide, 1, 4, 1, 0))
        self.crop_level = sizes.index(16) if levels >= 2 else 0  # the 16x16 features (the 8x8 ones at 8 pixels)
        self.recon_sizes = (min(img_resolution, RECON_LARGEST), min(img_resolution // 2, RECON_LARGEST))
        self.decode_whole = SimpleDecoder(widths[-1], img_channels, self.recon_sizes[0], width, max_width, norm)
        self.decode_part = SimpleDecoder(widths[self.crop_level], img_channels, self.recon_sizes[1], width, max_width,
                                         norm)
        dcgan_init(self)
        for m in list(self.modules()):
            if isinstance(m, nn.Conv2d):
                spectral_norm(m)

    @classmethod
    def data_kwargs(cls, info, cfg) -> dict:
        _unconditional(cfg)
        return {"img_resolution": info.resolution, "img_channels": info.channels}

    def _pyramid(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = [self.stem(x)]
        for i, block in enumerate(self.blocks, start=1):
            h = block(feats[-1])
            if i in self.gated:
                h = self.excite[str(i)](feats[self.gated[i]], h)
            feats.append(h)
        return feats

    def features(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """The 8x8 feature maps before the logit head (what feature matching compares)."""
        return self._pyramid(x)[-1]

    def logits(self, h: torch.Tensor) -> torch.Tensor:
        return self.head(h).mean((1, 2, 3))

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.logits(self.features(x))

    def reconstruct(self, x: torch.Tensor, which: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One pass: (logits, the whole image decoded from the 8x8 features at ``recon_sizes[0]`` pixels, quadrant
        ``which[i]`` of image i decoded from that quadrant of the 16x16 features at ``recon_sizes[1]``)."""
        feats = self._pyramid(x)
        return (self.logits(feats[-1]), self.decode_whole(feats[-1]),
                self.decode_part(quadrants(feats[self.crop_level], which)))


def _unconditional(cfg: dict) -> None:
    mode = cfg.get("cond.mode", "none")
    if mode != "none":
        raise ValueError(f"the fastgan networks take no class labels (cond.mode={mode}); use cond.mode=none")
