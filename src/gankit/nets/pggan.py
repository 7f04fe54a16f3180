"""The networks of progressive growing (Karras, Aila, Laine, Lehtinen 2018) at 4 * 2^k resolutions (8, 16, 32, ...).

Every resolution's layers exist from the start; a ``lod`` buffer (level of detail: 0 = the full resolution, each
unit one halving, ``levels`` = 4x4) decides which of them run and how far the newest one is faded in. At
``lod = k + f`` (k whole, 0 < f < 1) the level ``top = levels - k`` fades in: G's image is
``(1 - f) * toRGB(new level) + f * upscale(toRGB(the level below))``, and D's features after its ``top`` level
are ``(1 - f) * block(fromRGB(x)) + f * fromRGB(downscale(x))``. At a whole ``lod`` only the ``top`` level's
path runs. Both nets work at the full resolution whatever the lod: G nearest-upscales its image to it, D
averages its input down (2x2 boxes) to its current level, so sampling, export and evaluation need no special case.

Layers as the authors' code builds them: equalised learning rate (weights drawn from N(0, 1), scaled at run time
by ``gain / sqrt(fan_in)``; gain sqrt(2), G's 4x4 dense layer sqrt(2)/4, toRGB and D's last dense layer 1;
biases zero and unscaled), leaky ReLU 0.2, pixel norm on the latent and after every convolution of G.
G: z -> dense to 4x4 -> 3x3 conv; per doubling: nearest 2x, two 3x3 convs; a 1x1 toRGB per level. D: a 1x1
fromRGB per level; per halving: two 3x3 convs and a 2x2 average pool; at 4x4: minibatch standard deviation,
a 3x3 conv, two dense layers to one logit. Channels at resolution ``res``: ``min(2 * fmap_base / res,
fmap_max)`` (the paper's nf(log2 res - 1), fmap_base 8192: 512 up to 32x32, 256 at 64, 128 at 128).

The lod is a float32 scalar; the level that runs and whether it fades are Python ints derived from it (by
``set_lod`` and after ``load_state_dict``), so a compiled training forward is guarded by them alone and reads the
fade factor from the buffer without a host sync. In eval mode a net derives them from its buffer at every call
(one host read), so a copy whose buffer was copied in place, as a moving average's is, draws at the lod it holds.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from gankit.nets.registry import register

RESOLUTIONS = "4 * 2^k (8, 16, 32, 64, ...)"
LEAK = 0.2


def nearest_resolution(resolution: int) -> int:
    """The smallest resolution the nets take that holds ``resolution``: the next power of two, at least 8 (an
    image is padded up to it rather than scaled)."""
    return max(8, 1 << (max(resolution, 1) - 1).bit_length())


def _levels(resolution: int) -> int:
    """The doublings from 4x4 to ``resolution``; a size off the ladder is refused with the one to use instead."""
    k = (resolution // 4).bit_length() - 1
    if resolution < 8 or resolution != 4 * 2 ** k:
        up = nearest_resolution(resolution)
        raise ValueError(f"the pggan networks need a resolution of {RESOLUTIONS}, got {resolution}; use "
                         f"--set data.resolution={up}, or, to keep {resolution}x{resolution} images unscaled, "
                         f"--set data.resolution={up} data.canvas={up} (each is padded onto a {up}x{up} canvas; "
                         f"data.mask=true marks the padding)")
    return k


def channels(resolution: int, fmap_base: int, fmap_max: int) -> int:
    """Feature maps at ``resolution`` (2 for the dense layer after D's 4x4 level): the paper's nf(log2 res - 1)."""
    return max(1, min(fmap_base * 2 // resolution, fmap_max))


class EqualizedConv2d(nn.Module):
    """A convolution with stride 1 and same padding whose weights are N(0, 1), scaled by ``gain / sqrt(fan_in)`` at
    run time: Adam's per-weight step then moves every layer at the same relative speed."""

    def __init__(self, cin: int, cout: int, kernel: int, gain: float = math.sqrt(2)):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.scale = gain / math.sqrt(cin * kernel * kernel)
        self.padding = kernel // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)


class EqualizedLinear(nn.Module):
    """A dense layer with weights N(0, 1) scaled by ``gain / sqrt(fan_in)`` at run time; ``bias=False`` for G's
    4x4 layer, whose bias is per feature map."""

    def __init__(self, fin: int, fout: int, gain: float = math.sqrt(2), bias: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(fout, fin))
        self.bias = nn.Parameter(torch.zeros(fout)) if bias else None
        self.scale = gain / math.sqrt(fin)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.scale, self.bias)


class PixelNorm(nn.Module):
    """Each pixel's feature vector scaled to unit root mean square over channels (dim 1): keeps G's signal
    magnitudes from escalating, in place of batch norm."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.square().mean(dim=1, keepdim=True) + 1e-8)


class GroupedStdDev(nn.Module):
    """One more feature map: the standard deviation of each feature over a group of ``group`` consecutive samples,
    averaged over features and pixels, shared by the group.

    Consecutive (the authors' code takes samples i, i + N/4, ...): a process's slice of a global batch, a multiple of
    the group size, then holds whole groups and computes what the full batch does for those samples. A batch that
    is not a multiple of the group size is grouped by its largest divisor below it.
    """

    def __init__(self, group: int = 4):
        super().__init__()
        self.group = group

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        g = min(self.group, n)
        while n % g:
            g -= 1
        y = x.float().reshape(n // g, g, *x.shape[1:])
        std = (y.var(dim=1, unbiased=False) + 1e-8).sqrt().mean(dim=(1, 2, 3))  # [n / g]
        std = std.repeat_interleave(g).to(x.dtype).view(n, 1, 1, 1).expand(n, 1, h, w)
        return torch.cat([x, std], dim=1)


def _act(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, LEAK)


def upscale(x: torch.Tensor, factor: int) -> torch.Tensor:
    """Nearest-neighbour upscaling by a whole ``factor``: every pixel repeated in a factor x factor block."""
    return x if factor == 1 else F.interpolate(x, scale_factor=factor, mode="nearest")


def downscale(x: torch.Tensor, factor: int) -> torch.Tensor:
    """Average over factor x factor blocks (``factor`` a power of two: the same as repeated 2x2 box filters)."""
    return x if factor == 1 else F.avg_pool2d(x, factor)


def _float32_inside(lod: float) -> float:
    """``lod`` as the float32 the buffer holds, kept strictly between the whole numbers around it when it is not
    whole, so that the level and fading derived from the buffer are the ones derived from ``lod``."""
    low = math.floor(lod)
    if lod == low:
        return float(lod)
    value = torch.tensor(lod, dtype=torch.float32)
    lo = torch.nextafter(torch.tensor(float(low)), torch.tensor(float(low + 1)))
    hi = torch.nextafter(torch.tensor(float(low + 1)), torch.tensor(float(low)))
    return float(value.clamp(lo, hi))


class Progressive(nn.Module):
    """The lod buffer and what it sets: ``top`` (the highest level that runs, 0 = 4x4) and ``fading`` (whether that
    level is blended with the one below)."""

    levels: int

    def _init_lod(self) -> None:
        self.register_buffer("lod", torch.zeros(()))  # a new net runs at its full resolution
        self.top, self.fading = self.levels, False
        self.register_load_state_dict_post_hook(_rederive)

    def set_lod(self, lod: float) -> None:
        """Run at level of detail ``lod`` (clipped to [0, levels]): the buffer and the structure it selects."""
        lod = _float32_inside(min(max(float(lod), 0.0), float(self.levels)))
        with torch.no_grad():
            self.lod.fill_(lod)
        self._derive(lod)

    def _derive(self, lod: float) -> None:
        lod = min(max(lod, 0.0), float(self.levels))  # a lod read from a file may be anything
        whole = math.floor(lod)
        self.top, self.fading = self.levels - whole, lod > whole

    def _follow_buffer(self) -> None:
        """In eval mode (sampling, a moving average): the structure of the lod the buffer holds."""
        if not self.training:
            self._derive(float(self.lod))

    def _blend(self) -> torch.Tensor:
        """The weight of the level below ``top`` in the fade: frac(lod) while fading (0 at a whole lod)."""
        return (self.lod - (self.levels - self.top)).clamp(0, 1)


def _rederive(module: Progressive, incompatible_keys) -> None:
    """After ``load_state_dict``: the structure of the lod just loaded (an export or a checkpoint draws at the
    level it reached)."""
    module._derive(float(module.lod))


@register("pggan-g")
class ProgressiveGenerator(Progressive):
    def __init__(self, z_dim: int = 512, img_resolution: int = 1024, img_channels: int = 3, fmap_base: int = 8192,
                 fmap_max: int = 512):
        super().__init__()
        if fmap_base < 1 or fmap_max < 1:
            raise ValueError(f"fmap_base and fmap_max must be at least 1, got {fmap_base} and {fmap_max}")
        self.z_dim, self.levels = z_dim, _levels(img_resolution)
        width = [channels(4 * 2 ** j, fmap_base, fmap_max) for j in range(self.levels + 1)]
        self.norm = PixelNorm()
        self.dense = EqualizedLinear(z_dim, width[0] * 16, gain=math.sqrt(2) / 4, bias=False)
        self.dense_bias = nn.Parameter(torch.zeros(width[0]))  # per feature map, as the authors' apply_bias
        self.conv4 = EqualizedConv2d(width[0], width[0], 3)
        self.blocks = nn.ModuleList([nn.ModuleList([EqualizedConv2d(width[j - 1], width[j], 3),
                                                    EqualizedConv2d(width[j], width[j], 3)])
                                     for j in range(1, self.levels + 1)])
        self.to_rgb = nn.ModuleList([EqualizedConv2d(w, img_channels, 1, gain=1.0) for w in width])
        self._init_lod()

    RESOLUTIONS = RESOLUTIONS

    @classmethod
    def nearest_resolution(cls, resolution: int) -> int:
        return nearest_resolution(resolution)

    @classmethod
    def data_kwargs(cls, info, cfg) -> dict:
        _unconditional(cfg)
        return {"z_dim": cfg["z_dim"], "img_resolution": info.resolution, "img_channels": info.channels}

    def level(self, x: torch.Tensor, j: int) -> torch.Tensor:
        """Features of level ``j`` from those of level ``j - 1`` (level 0, 4x4, from the normalised latent)."""
        if j == 0:
            x = self.dense(x).view(x.shape[0], -1, 4, 4) + self.dense_bias.view(1, -1, 1, 1)
            return self.norm(_act(self.conv4(self.norm(_act(x)))))
        x = upscale(x, 2)
        for conv in self.blocks[j - 1]:
            x = self.norm(_act(conv(x)))
        return x

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        self._follow_buffer()
        x = self.norm(z)
        for j in range(self.top):
            x = self.level(x, j)
        below = upscale(self.to_rgb[self.top - 1](x), 2) if self.fading else None
        image = self.to_rgb[self.top](self.level(x, self.top))
        if below is not None:
            image = torch.lerp(image, below, self._blend().to(image.dtype))
        return upscale(image, 2 ** (self.levels - self.top))


@register("pggan-d")
class ProgressiveDiscriminator(Progressive):
    def __init__(self, img_resolution: int = 1024, img_channels: int = 3, fmap_base: int = 8192, fmap_max: int = 512,
                 mbstd_group: int = 4):
        super().__init__()
        if fmap_base < 1 or fmap_max < 1:
            raise ValueError(f"fmap_base and fmap_max must be at least 1, got {fmap_base} and {fmap_max}")
        self.levels = _levels(img_resolution)
        width = [channels(4 * 2 ** j, fmap_base, fmap_max) for j in range(self.levels + 1)]
        self.from_rgb = nn.ModuleList([EqualizedConv2d(img_channels, w, 1) for w in width])
        self.blocks = nn.ModuleList([nn.ModuleList([EqualizedConv2d(width[j], width[j], 3),
                                                    EqualizedConv2d(width[j], width[j - 1], 3)])
                                     for j in range(1, self.levels + 1)])
        self.stddev = GroupedStdDev(mbstd_group) if mbstd_group > 1 else None
        self.conv4 = EqualizedConv2d(width[0] + (self.stddev is not None), width[0], 3)
        self.dense = EqualizedLinear(width[0] * 16, channels(2, fmap_base, fmap_max))
        self.out = EqualizedLinear(channels(2, fmap_base, fmap_max), 1, gain=1.0)
        self._init_lod()

    RESOLUTIONS = RESOLUTIONS

    @classmethod
    def nearest_resolution(cls, resolution: int) -> int:
        return nearest_resolution(resolution)

    @classmethod
    def data_kwargs(cls, info, cfg) -> dict:
        _unconditional(cfg)
        return {"img_resolution": info.resolution, "img_channels": info.channels}

    def level(self, x: torch.Tensor, j: int) -> torch.Tensor:
        """Level ``j``'s block (``j >= 1``): two 3x3 convolutions, then half the size."""
        for conv in self.blocks[j - 1]:
            x = _act(conv(x))
        return downscale(x, 2)

    def features(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """The last hidden layer (what feature matching compares), from a full-resolution image."""
        self._follow_buffer()
        x = downscale(x, 2 ** (self.levels - self.top))
        h = _act(self.from_rgb[self.top](x))
        if self.top > 0:
            h = self.level(h, self.top)
            if self.fading:
                below = _act(self.from_rgb[self.top - 1](downscale(x, 2)))
                h = torch.lerp(h, below, self._blend().to(h.dtype))
            for j in range(self.top - 1, 0, -1):
                h = self.level(h, j)
        if self.stddev is not None:
            h = self.stddev(h)
        h = _act(self.conv4(h))
        return _act(self.dense(h.flatten(1)))

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.out(self.features(x)).flatten()


def _unconditional(cfg: dict) -> None:
    mode = cfg.get("cond.mode", "none")
    if mode != "none":
        raise ValueError(f"the pggan networks take no class labels (cond.mode={mode}); use cond.mode=none")
