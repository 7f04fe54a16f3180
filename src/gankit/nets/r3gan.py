"""R3GAN's networks (Huang, Gokaslan, Kuleshov, Tompkin 2024): a ResNet modernised after ConvNeXt, without
normalisation, at 4 * 2^k resolutions (8, 16, 32, ...) and any channel count.

Every stage (one per size, 4x4 up to the image's) holds ``blocks`` residual blocks. A block is an inverted
bottleneck: a 1x1 convolution widens the channels ``expansion`` times, a 3x3 convolution mixes space in groups of
``group_width`` channels, a 1x1 convolution narrows back, each of the first two followed by a learned bias and
LeakyReLU(0.2); the block adds its result to its input. No convolution has a bias and nothing normalises.

G: z (with a class embedding of z's length appended, when conditional) -> a linear map scales a learned 4x4 basis,
one channel each -> the 4x4 stage -> per doubling: a 1x1 convolution where the width changes, a low-pass 2x
upsampling, the stage -> a 1x1 convolution to the image channels (no tanh: the output is not squashed).
D mirrors it: a 1x1 convolution from the image channels -> per halving: the stage, a low-pass 2x downsampling, a 1x1
convolution where the width changes -> the 4x4 stage -> a depthwise 4x4 convolution to one vector -> a linear logit.
Conditional, the linear map gives a vector as long as that feature vector, and the logit is its dot product with an
embedding of the class.

Resampling filters with the [1, 3, 3, 1] kernel (the authors' [1, 2, 1] filter convolved with a box) in both
directions. Initialisation as the authors': every weight from N(0, gain^2 / fan-in) (He's rule) with gain 1,
except inside the residual blocks, where the first two convolutions take LeakyReLU's gain times L^(-1/4), L being the
number of blocks in the network, and the last one starts at zero, so that every block starts as the identity and the
whole network as the stack of its transitions; the learned 4x4 basis of G is drawn from N(0, 1), D's class embedding
with gain 1 / sqrt(its length).

Widths: ``width`` channels at the image's size, doubling towards 4x4 up to ``max_width``, as gankit's other nets
do. The authors' CIFAR-10 network is 768 channels at every size (``width=768, max_width=768``), their FFHQ-256 one
96 at 256 pixels doubling to 768 at 32 and below (``width=96, max_width=768``); both use two blocks per stage,
expansion 2 and groups of 16 channels (their cardinality: 96 groups of a widened 1536).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from gankit.nets.conditioning import conditioning_kwargs, one_hot
from gankit.nets.dcgan import level_widths
from gankit.nets.registry import register
from gankit.nets.resnet import RESOLUTIONS, OnTheLadder, nearest_resolution

LEAKY_SLOPE = 0.2
LEAKY_GAIN = math.sqrt(2 / (1 + LEAKY_SLOPE ** 2))  # keeps the variance of a unit-variance input through LeakyReLU
RESAMPLING_TAPS = (1, 3, 3, 1)  # the authors' [1, 2, 1] convolved with [1, 1]: a filter for a factor of 2


def _levels(resolution: int) -> int:
    """The doublings from 4x4 to ``resolution``; a size off the ladder is refused with the nearest one on it."""
    k = (resolution // 4).bit_length() - 1
    if resolution < 8 or resolution != 4 * 2 ** k:
        raise ValueError(f"the R3GAN networks need a resolution of {RESOLUTIONS}, got {resolution}; "
                         f"resize the images to one with --set data.resolution={nearest_resolution(resolution)}")
    return k


def he_init(layer: nn.Module, gain: float = 1.0) -> nn.Module:
    """Weights from N(0, gain^2 / fan-in), fan-in counting a group's input channels times the kernel's taps.
    A layer built on the meta device (to weigh a config) holds no values and is left alone."""
    if not layer.weight.is_meta:
        with torch.no_grad():
            layer.weight.normal_(0.0, gain / math.sqrt(layer.weight[0].numel()))
    return layer


def conv(cin: int, cout: int, kernel: int = 1, groups: int = 1, gain: float = 1.0) -> nn.Conv2d:
    return he_init(nn.Conv2d(cin, cout, kernel, 1, (kernel - 1) // 2, groups=groups, bias=False), gain)


class BiasedLeakyReLU(nn.Module):
    """A learned per-channel bias (0 at first), then LeakyReLU(0.2): the only biases of the networks."""

    def __init__(self, channels: int):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(x + self.bias.to(x.dtype).view(1, -1, 1, 1), LEAKY_SLOPE)


class ResidualBlock(nn.Module):
    """x + (1x1 widen, bias, LeakyReLU, grouped 3x3, bias, LeakyReLU, 1x1 narrow)(x); the identity at first."""

    def __init__(self, channels: int, expansion: int, group_width: int, total_blocks: int):
        super().__init__()
        wide = channels * expansion
        groups = _groups(wide, group_width)
        gain = LEAKY_GAIN * total_blocks ** (-1 / 4)  # the authors' variance scaling: L^(-1 / (2m - 2)), m = 3 layers
        self.widen = conv(channels, wide, gain=gain)
        self.act1 = BiasedLeakyReLU(wide)
        self.mix = conv(wide, wide, 3, groups=groups, gain=gain)
        self.act2 = BiasedLeakyReLU(wide)
        self.narrow = conv(wide, channels, gain=0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.narrow(self.act2(self.mix(self.act1(self.widen(x)))))


def _groups(channels: int, group_width: int) -> int:
    """Groups of ``group_width`` channels; fewer channels than that make a single group."""
    if channels <= group_width:
        return 1
    if channels % group_width:
        raise ValueError(f"the grouped convolution's {channels} channels are not a multiple of group_width "
                         f"{group_width}")
    return channels // group_width


def lowpass_kernel() -> torch.Tensor:
    taps = torch.tensor(RESAMPLING_TAPS, dtype=torch.float32)
    kernel = torch.outer(taps, taps)
    return kernel / kernel.sum()


class Resample(nn.Module):
    """2x up- or downsampling of every channel alike with the separable [1, 3, 3, 1] low-pass filter: a transposed
    convolution of stride 2 (the kernel times 4, so that a constant image stays constant) or a strided one."""

    def __init__(self, up: bool):
        super().__init__()
        self.up = up
        self.register_buffer("kernel", lowpass_kernel()[None, None] * (4 if up else 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channels = x.shape[1]
        kernel = self.kernel.to(x.dtype).expand(channels, 1, 4, 4)  # one filter per channel: a depthwise convolution
        if self.up:
            return F.conv_transpose2d(x, kernel, stride=2, padding=1, groups=channels)
        return F.conv2d(x, kernel, stride=2, padding=1, groups=channels)


def _stage(channels: int, blocks: int, expansion: int, group_width: int, total_blocks: int) -> nn.Sequential:
    return nn.Sequential(*[ResidualBlock(channels, expansion, group_width, total_blocks) for _ in range(blocks)])


def _check(expansion: int, group_width: int) -> None:
    if expansion < 1 or group_width < 1:
        raise ValueError(f"expansion and group_width must be at least 1, got {expansion} and {group_width}")


@register("r3gan-g")
class R3GANGenerator(OnTheLadder, nn.Module):
    def __init__(self, z_dim: int = 64, img_resolution: int = 32, img_channels: int = 3, width: int = 768,
                 max_width: int | None = 768, blocks: int = 2, expansion: int = 2, group_width: int = 16,
                 c_dim: int = 0):
        super().__init__()
        _check(expansion, group_width)
        self.z_dim, self.c_dim = z_dim, c_dim
        levels = _levels(img_resolution)
        widths = level_widths(img_resolution, width, max_width)  # 4x4 ... the image's size
        total = max(1, blocks * len(widths))
        # the class embedding is as long as z (the authors' choice), appended to it
        self.embed = he_init(nn.Linear(c_dim, z_dim, bias=False)) if c_dim else None
        self.basis = nn.Parameter(torch.empty(widths[0], 4, 4))
        if not self.basis.is_meta:
            nn.init.normal_(self.basis)
        self.to_basis = he_init(nn.Linear(z_dim * (2 if c_dim else 1), widths[0], bias=False))
        self.stages = nn.ModuleList([_stage(widths[0], blocks, expansion, group_width, total)])
        self.transitions = nn.ModuleList()
        for i in range(1, levels + 1):
            change = [conv(widths[i - 1], widths[i])] if widths[i] != widths[i - 1] else []
            self.transitions.append(nn.Sequential(*change, Resample(up=True)))
            self.stages.append(_stage(widths[i], blocks, expansion, group_width, total))
        self.to_image = conv(widths[-1], img_channels)

    @classmethod
    def data_kwargs(cls, info, cfg) -> dict:
        return {"z_dim": cfg["z_dim"], "img_resolution": info.resolution, "img_channels": info.channels,
                **conditioning_kwargs(cfg, info, "G")}

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            if c is None:
                raise ValueError("this network is class-conditional: pass labels c")
            z = torch.cat([z, self.embed(one_hot(c, self.c_dim, z.dtype))], dim=1)
        x = self.basis.to(z.dtype)[None] * self.to_basis(z)[:, :, None, None]
        x = self.stages[0](x)
        for transition, stage in zip(self.transitions, self.stages[1:]):
            x = stage(transition(x))
        return self.to_image(x)


@register("r3gan-d")
class R3GANDiscriminator(OnTheLadder, nn.Module):
    def __init__(self, img_resolution: int = 32, img_channels: int = 3, width: int = 768, max_width: int | None = 768,
                 blocks: int = 2, expansion: int = 2, group_width: int = 16, c_dim: int = 0):
        super().__init__()
        _check(expansion, group_width)
        self.c_dim = c_dim
        levels = _levels(img_resolution)
        widths = level_widths(img_resolution, width, max_width)[::-1]  # the image's size ... 4x4
        total = max(1, blocks * len(widths))
        self.from_image = conv(img_channels, widths[0])
        self.stages = nn.ModuleList()
        self.transitions = nn.ModuleList()
        for i in range(levels):
            self.stages.append(_stage(widths[i], blocks, expansion, group_width, total))
            change = [conv(widths[i], widths[i + 1])] if widths[i + 1] != widths[i] else []
            self.transitions.append(nn.Sequential(Resample(up=False), *change))
        self.stages.append(_stage(widths[-1], blocks, expansion, group_width, total))
        self.to_vector = he_init(nn.Conv2d(widths[-1], widths[-1], 4, groups=widths[-1], bias=False))
        self.head = he_init(nn.Linear(widths[-1], widths[-1] if c_dim else 1, bias=False))
        self.embed = he_init(nn.Linear(c_dim, widths[-1], bias=False), 1 / math.sqrt(widths[-1])) if c_dim else None

    @classmethod
    def data_kwargs(cls, info, cfg) -> dict:
        return {"img_resolution": info.resolution, "img_channels": info.channels, **conditioning_kwargs(cfg, info, "D")}

    def features(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """The vector the depthwise 4x4 convolution makes of the last stage (what feature matching compares)."""
        x = self.from_image(x)
        for stage, transition in zip(self.stages, self.transitions):
            x = transition(stage(x))
        return self.to_vector(self.stages[-1](x)).flatten(1)

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        out = self.head(self.features(x))
        if self.embed is None:
            return out.squeeze(1)
        if c is None:
            raise ValueError("this network is class-conditional: pass labels c")
        return (out * self.embed(one_hot(c, self.c_dim, out.dtype))).sum(1)
