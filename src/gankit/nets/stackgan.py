"""StackGAN's networks (Zhang et al. 2017; StackGAN++ 2018), class-conditional: two generator stages in one net.

Conditioning augmentation (CA) turns a class into a random code: a learned class embedding -> Linear -> (mu,
log-variance), code = mu + exp(logvar / 2) * eps, eps ~ N(0, I), and the recipe adds ``kl`` to G's loss so the codes
stay near N(0, I) and the classes' codes overlap smoothly. (The authors condition on text embeddings; their CA puts
a ReLU after the Linear, which keeps the log-variance >= 0, i.e. sigma >= 1; none here, as nothing says sigma must
be that large.)

``stackgan-g`` holds both stages. Stage I: [z, its CA code] -> Linear to 4x4 -> up-blocks (nearest 2x, 3x3
convolution, norm, ReLU) to ``stage1_resolution`` (a quarter of the image's side by default, the paper's 64 of 256)
-> 3x3 convolution, tanh. Stage II: the stage-I image -> 3x3 convolution, ReLU, then strided 4x4 convolutions (norm,
ReLU) halving it at most twice, down to no less than 4x4 (the paper's 64 -> 16) -> joined with stage II's own CA
code as constant planes -> 3x3 convolution, norm, ReLU -> ``res_blocks`` residual blocks -> up-blocks to the image's
side -> 3x3 convolution, tanh. Stage II takes no z of its own, as in the paper. Widths: stage II has
``width * R / s`` channels at side s (R the image's side), stage I half that, each at most ``max_width``; at R=256
and width 32 these are the paper's (stage I 1024 channels at 4x4 to 64 at 64x64, stage II 512 at 16x16 to 32 at
256x256).

The latent is [z, eps_I, eps_II]: ``latent_dim = z_dim + 2 * ca_dim`` numbers, so ``G(latent, c)`` is a function of
its arguments (in eval mode) and a sample is reproduced from its latent. The output is always at the image's side:
``stage`` (a buffer, so exports and moving averages carry it) says which stage draws it; while only stage I has
been trained (the sequential schedule), it is stage I's image upscaled (nearest).

Unconditional mode (``c_dim=0``): no CA at all; the latent is z alone and stage II refines stage I's image without
a code (StackGAN++'s unconditional networks likewise take no condition).

``stackgan-d`` holds a discriminator per stage, each a DCGAN down-sampling stack to 4x4 features (width 32 at 64x64
is the paper's stage-I D: 64 channels at 32x32 to 512 at 4x4). Matching-aware: the features are joined with a
condition vector (the CA mean the recipe passes, detached) as constant planes -> 3x3 convolution, norm, LeakyReLU
-> 4x4 convolution -> one logit. Unconditional (``ca_dim=0``): a 4x4 convolution of the features alone.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from gankit.nets.dcgan import MAX_WIDTH, _norm, downsampling_layers
from gankit.nets.init import dcgan_init
from gankit.nets.registry import register
from gankit.nets.resnet import nearest_resolution as ladder

RESOLUTIONS = "4 * 2^k of at least 16 (16, 32, 64, ...)"


def kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)), as the authors' code takes it: a MEAN over the batch and the code's
    dimensions, -0.5 * mean(1 + logvar - mu^2 - exp(logvar)). The paper writes the KL itself, a SUM over the
    dimensions (ca_dim times this); the weight 2.0 of the paper's configs goes with this mean."""
    mu, logvar = mu.float(), logvar.float()
    return -0.5 * (1 + logvar - mu.square() - logvar.exp()).mean()


class ConditioningAugmentation(nn.Module):
    """A class -> (code, mu, logvar): code = mu + exp(logvar / 2) * eps, mu and logvar from a Linear of the class's
    learned embedding. ``eps`` is given (a slice of the latent), so the code is a function of the inputs."""

    def __init__(self, num_classes: int, ca_dim: int):
        super().__init__()
        self.ca_dim = ca_dim
        self.embed = nn.Embedding(num_classes, ca_dim)
        self.fc = nn.Linear(ca_dim, 2 * ca_dim)

    def moments(self, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, logvar) of class labels ``c`` [N]: each [N, ca_dim]."""
        h = self.fc(self.embed(c.long()))
        return h[:, :self.ca_dim], h[:, self.ca_dim:]

    def forward(self, c: torch.Tensor, eps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.moments(c)
        return mu + (0.5 * logvar).exp() * eps.to(mu.dtype), mu, logvar


def _check_side(resolution: int) -> int:
    if resolution < 16 or ladder(resolution) != resolution:
        raise ValueError(f"the StackGAN networks need a resolution of {RESOLUTIONS}, got {resolution}; resize the "
                         f"images to one with --set data.resolution={max(16, ladder(resolution))}")
    return resolution


def stage1_side(img_resolution: int, stage1_resolution: int) -> int:
    """Stage I's side: ``stage1_resolution``, or a quarter of the image's for 0; refused off 4 * 2^k or above half
    the image's side (stage II must refine it)."""
    side = stage1_resolution or img_resolution // 4
    if side < 4 or side & (side - 1) or side > img_resolution // 2:
        raise ValueError(f"stage I's resolution must be a power of two from 4 to half the image's side "
                         f"({img_resolution // 2}), got {side}")
    return side


def _planes(x: torch.Tensor, code: torch.Tensor | None) -> torch.Tensor:
    """[N, C, H, W] joined with ``code`` [N, K] as K constant planes (unchanged without a code)."""
    if code is None:
        return x
    return torch.cat([x, code.to(x.dtype)[:, :, None, None].expand(-1, -1, *x.shape[2:])], dim=1)


def up_block(cin: int, cout: int, norm: str) -> nn.Sequential:
    """Nearest 2x, 3x3 convolution, norm, ReLU: the paper's upBlock."""
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                         nn.Conv2d(cin, cout, 3, 1, 1, bias=norm != "batch"), _norm(norm, cout), nn.ReLU(True))


class ResBlock(nn.Module):
    """relu(x + norm(conv(relu(norm(conv(x)))))), 3x3 convolutions of constant width."""

    def __init__(self, channels: int, norm: str):
        super().__init__()
        bias = norm != "batch"
        self.body = nn.Sequential(nn.Conv2d(channels, channels, 3, 1, 1, bias=bias), _norm(norm, channels),
                                  nn.ReLU(True), nn.Conv2d(channels, channels, 3, 1, 1, bias=bias),
                                  _norm(norm, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.body(x))


class StageOutput(NamedTuple):
    image: torch.Tensor  # at the stage's own side
    mu: torch.Tensor | None  # its CA's mean and log-variance; None unconditional
    logvar: torch.Tensor | None


class StageOne(nn.Module):
    def __init__(self, z_dim: int, ca_dim: int, side: int, channels: int, widths, norm: str):
        super().__init__()
        sizes = [4 * 2 ** i for i in range((side // 4).bit_length())]  # 4 ... side
        self.base = widths(4)
        self.project = nn.Linear(z_dim + ca_dim, self.base * 16, bias=norm != "batch")
        self.project_norm = nn.Sequential(_norm(norm, self.base), nn.ReLU(True))
        self.ups = nn.Sequential(*[up_block(widths(a), widths(b), norm) for a, b in zip(sizes, sizes[1:])])
        self.to_image = nn.Sequential(nn.Conv2d(widths(side), channels, 3, 1, 1), nn.Tanh())

    def forward(self, z: torch.Tensor, code: torch.Tensor | None) -> torch.Tensor:
        h = self.project(z if code is None else torch.cat([z, code.to(z.dtype)], 1))
        return self.to_image(self.ups(self.project_norm(h.view(z.shape[0], self.base, 4, 4))))


class StageTwo(nn.Module):
    def __init__(self, ca_dim: int, side1: int, side: int, channels: int, widths, norm: str, res_blocks: int):
        super().__init__()
        bias = norm != "batch"
        inner = max(4, side1 // 4)  # encoded side: at most two halvings, as the paper's 64 -> 16
        layers: list[nn.Module] = [nn.Conv2d(channels, widths(side1), 3, 1, 1), nn.ReLU(True)]
        s = side1
        while s > inner:
            layers += [nn.Conv2d(widths(s), widths(s // 2), 4, 2, 1, bias=bias), _norm(norm, widths(s // 2)),
                       nn.ReLU(True)]
            s //= 2
        self.encode = nn.Sequential(*layers)
        self.join = nn.Sequential(nn.Conv2d(widths(inner) + ca_dim, widths(inner), 3, 1, 1, bias=bias),
                                  _norm(norm, widths(inner)), nn.ReLU(True))
        self.residual = nn.Sequential(*[ResBlock(widths(inner), norm) for _ in range(res_blocks)])
        ups = []
        while s < side:
            ups.append(up_block(widths(s), widths(2 * s), norm))
            s *= 2
        self.ups = nn.Sequential(*ups)
        self.to_image = nn.Sequential(nn.Conv2d(widths(side), channels, 3, 1, 1), nn.Tanh())

    def forward(self, image1: torch.Tensor, code: torch.Tensor | None) -> torch.Tensor:
        h = self.residual(self.join(_planes(self.encode(image1), code)))
        return self.to_image(self.ups(h))


@register("stackgan-g")
class StackGANGenerator(nn.Module):
    RESOLUTIONS = RESOLUTIONS

    def __init__(self, z_dim: int = 100, img_resolution: int = 64, img_channels: int = 3, c_dim: int = 0,
                 ca_dim: int = 128, stage1_resolution: int = 0, width: int = 32, max_width: int | None = MAX_WIDTH,
                 norm: str = "batch", res_blocks: int = 2):
        super().__init__()
        R = _check_side(img_resolution)
        self.side1 = stage1_side(R, stage1_resolution)
        self.img_resolution = R
        self.z_dim, self.c_dim = z_dim, c_dim  # c_dim: the classes (0: unconditional), as every gankit G
        self.ca_dim = ca_dim if c_dim else 0
        self.latent_dim = z_dim + 2 * self.ca_dim  # [z, eps_I, eps_II]

        def wide(scale: int):
            return lambda s: max(1, min(width * R // (scale * s), max_width or 2 ** 31))

        if c_dim:
            self.ca = nn.ModuleList([ConditioningAugmentation(c_dim, ca_dim) for _ in range(2)])
        self.stage1 = StageOne(z_dim, self.ca_dim, self.side1, img_channels, wide(2), norm)
        self.stage2 = StageTwo(self.ca_dim, self.side1, R, img_channels, wide(1), norm, res_blocks)
        self.register_buffer("stage", torch.tensor(2))
        dcgan_init(self)

    @classmethod
    def nearest_resolution(cls, resolution: int) -> int:
        return max(16, ladder(resolution))

    @classmethod
    def data_kwargs(cls, info, cfg) -> dict:
        return {"z_dim": cfg["z_dim"], "img_resolution": info.resolution, "img_channels": info.channels}

    def set_stage(self, stage: int) -> None:
        """Draw with stage ``stage`` (1: stage I's image upscaled; 2: stage II's) from now on."""
        if stage not in (1, 2):
            raise ValueError(f"stage must be 1 or 2, got {stage}")
        self.stage.fill_(stage)

    def run(self, latent: torch.Tensor, c: torch.Tensor | None = None, upto: int = 2,
            stage1_grad: bool = True) -> list[StageOutput]:
        """Each stage's output up to stage ``upto``, stage I without a graph unless ``stage1_grad`` (a frozen
        stage I trains nothing and keeps no activations)."""
        if latent.shape[1] != self.latent_dim:
            raise ValueError(f"this generator takes latents of {self.latent_dim} numbers "
                             f"(z {self.z_dim} + 2 x {self.ca_dim} CA noise), got {latent.shape[1]}")
        if self.c_dim and c is None:
            raise ValueError("this network is class-conditional: pass labels c")
        z, eps1, eps2 = latent.split([self.z_dim, self.ca_dim, self.ca_dim], dim=1)
        with torch.set_grad_enabled(stage1_grad and torch.is_grad_enabled()):
            code1, mu1, logvar1 = self.ca[0](c, eps1) if self.c_dim else (None, None, None)
            outs = [StageOutput(self.stage1(z, code1), mu1, logvar1)]
        if upto >= 2:
            code2, mu2, logvar2 = self.ca[1](c, eps2) if self.c_dim else (None, None, None)
            outs.append(StageOutput(self.stage2(outs[0].image, code2), mu2, logvar2))
        return outs

    def forward(self, latent: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """Images at the full side from latents [N, latent_dim] (and labels [N]), drawn by the stage reached.

        Both stages run and the ``stage`` buffer selects on the device: no read of it on the host, and a copy whose
        buffers are assigned (a moving average, a loaded export) draws at the stage reached without telling it."""
        first, second = (out.image for out in self.run(latent, c))
        first = F.interpolate(first, size=self.img_resolution, mode="nearest")
        return torch.where(self.stage == 1, first, second)


class StageDiscriminator(nn.Module):
    """Image -> 4x4 features -> a logit, matching-aware (joined with a condition vector) when ``ca_dim`` > 0."""

    def __init__(self, side: int, channels: int, ca_dim: int, width: int, max_width: int | None, norm: str):
        super().__init__()
        layers, feats = downsampling_layers(side, channels, width, max_width, norm)
        self.body = nn.Sequential(*layers)
        self.ca_dim = ca_dim
        if ca_dim:
            self.head = nn.Sequential(nn.Conv2d(feats + ca_dim, feats, 3, 1, 1, bias=norm != "batch"),
                                      _norm(norm, feats), nn.LeakyReLU(0.2, True), nn.Conv2d(feats, 1, 4, 1, 0))
        else:
            self.head = nn.Conv2d(feats, 1, 4, 1, 0)

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        if self.ca_dim and cond is None:
            raise ValueError("this discriminator is matching-aware: pass the condition (a CA mean)")
        return self.head(_planes(self.body(x), cond if self.ca_dim else None)).flatten()


@register("stackgan-d")
class StackGANDiscriminator(nn.Module):
    RESOLUTIONS = RESOLUTIONS

    def __init__(self, img_resolution: int = 64, img_channels: int = 3, ca_dim: int = 128, stage1_resolution: int = 0,
                 width: int = 32, max_width: int | None = MAX_WIDTH, norm: str = "batch"):
        super().__init__()
        R = _check_side(img_resolution)
        self.sides = (stage1_side(R, stage1_resolution), R)
        self.stages = nn.ModuleList([StageDiscriminator(s, img_channels, ca_dim, width, max_width, norm)
                                     for s in self.sides])
        dcgan_init(self)

    @classmethod
    def nearest_resolution(cls, resolution: int) -> int:
        return max(16, ladder(resolution))

    @classmethod
    def data_kwargs(cls, info, cfg) -> dict:
        return {"img_resolution": info.resolution, "img_channels": info.channels}

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None, stage: int = 2) -> torch.Tensor:
        """Stage ``stage``'s logits [N] for images ``x`` at that stage's side, matched against ``cond`` [N, ca_dim]."""
        return self.stages[stage - 1](x, cond)
