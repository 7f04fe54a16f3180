"""Image changes that do not change what an image shows: mirroring, brightness, contrast, resampling, blur.

A feature space for metrics should barely move under them, else a Frechet distance measures them
instead of content. The same functions serve two ends: ``randomize`` draws them per sample to train
a classifier to ignore them (``gankit features train``), and ``calibration_rows`` applies fixed amounts of
each to measure how far a feature space still moves (``gankit features calibrate``).

Images are float [N, C, H, W] in [-1, 1]; results stay in [-1, 1]. Every function works on the
images' device, one call per batch (per-sample amounts are tensors, not Python loops). torch is imported
where it is used, so the CLI can list the nuisances in its help without loading it.
"""

from __future__ import annotations

import math

NAMES = ("flip", "shift", "brightness", "contrast", "resample", "blur")
DEFAULT = NAMES
BRIGHTNESS = 0.15  # uniform shift in [-0.15, 0.15] on the [-1, 1] scale
CONTRAST = (0.8, 1.2)  # factor around each image's mean
RESAMPLE_SIZES = (0.5, 0.75, 1.25, 1.5, 2.0, 2.5)  # through these multiples of the image size and back
BLUR_SIGMA = 0.7  # Gaussian sigma in [0, 0.7] pixels
P = 0.5  # each drawn nuisance hits a sample with this probability, so clean images stay common


def parse(spec: str) -> tuple[str, ...]:
    """``flip,blur`` -> ('flip', 'blur'); ``none`` -> (); unknown names are a ValueError naming them."""
    if spec.strip() in ("none", ""):
        return ()
    names = tuple(dict.fromkeys(s.strip() for s in spec.split(",")))
    unknown = [n for n in names if n not in NAMES]
    if unknown:
        raise ValueError(f"--nuisances {spec}: unknown {', '.join(unknown)}; use any of {','.join(NAMES)} or none")
    return names


def mirror(x: torch.Tensor) -> torch.Tensor:
    return x.flip(-1)


def brightness(x: torch.Tensor, delta: torch.Tensor | float) -> torch.Tensor:
    return (x + _per_sample(delta, x)).clamp(-1, 1)


def contrast(x: torch.Tensor, factor: torch.Tensor | float, center: float | None = None) -> torch.Tensor:
    """Scaled by ``factor`` around ``center`` (None: each image's mean; 0: mid-grey, which also moves a dark
    background towards grey)."""
    mid = x.mean(dim=(1, 2, 3), keepdim=True) if center is None else center
    return ((x - mid) * _per_sample(factor, x) + mid).clamp(-1, 1)


def resample(x: torch.Tensor, size: int) -> torch.Tensor:
    """Through ``size`` x ``size`` and back, bilinear with antialiasing both ways (as any careful resize)."""
    import torch.nn.functional as F

    h, w = x.shape[-2:]
    via = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return F.interpolate(via, size=(h, w), mode="bilinear", antialias=True, align_corners=False).clamp(-1, 1)


def blur(x: torch.Tensor, sigma: torch.Tensor | float) -> torch.Tensor:
    """Gaussian blur with one sigma per sample (0: unchanged), a separable kernel of radius 3 sigma_max."""
    import torch
    import torch.nn.functional as F

    sigma = _per_sample(sigma, x).flatten()
    radius = max(1, math.ceil(3 * float(sigma.max())))
    t = torch.arange(-radius, radius + 1, device=x.device, dtype=x.dtype)
    s = sigma.clamp_min(1e-3)[:, None]
    k = torch.exp(-0.5 * (t[None] / s) ** 2)
    k = k / k.sum(1, keepdim=True)  # [N, K]; sigma 0 -> a delta
    n, c, h, w = x.shape
    kernel = k.repeat_interleave(c, 0)  # one kernel per (sample, channel)
    y = F.pad(x.reshape(1, n * c, h, w), (radius, radius, radius, radius), mode="reflect")
    y = F.conv2d(y, kernel[:, None, None, :], groups=n * c)
    y = F.conv2d(y, kernel[:, None, :, None], groups=n * c)
    return y.reshape(n, c, h, w)


def _per_sample(v, x: torch.Tensor) -> torch.Tensor:
    import torch

    if isinstance(v, torch.Tensor):
        return v.to(x.device, x.dtype).reshape(-1, 1, 1, 1)
    return torch.full((x.shape[0], 1, 1, 1), float(v), device=x.device, dtype=x.dtype)


def randomize(x: torch.Tensor, names: tuple[str, ...], generator: torch.Generator, shift: int = 1) -> torch.Tensor:
    """Each of ``names`` applied to a random half of the samples with a random amount.

    Draws come from ``generator`` (CPU) so a seed fixes them on any device. ``flip`` and ``shift``
    draw first and as they always did (a per-sample flip, a batch-wide shift of up to ``shift``
    pixels), so a classifier trained with only those sees the same batches as before.
    """
    import torch
    import torch.nn.functional as F

    n, dev = x.shape[0], x.device

    def draw(*shape):
        return torch.rand(*shape, generator=generator).to(dev)

    def hit():
        return (draw(n, 1, 1, 1) < P).to(x.dtype)

    if "flip" in names:
        x = torch.where(draw(n, 1, 1, 1) < 0.5, x.flip(-1), x)
    if "shift" in names and shift > 0:
        padded = F.pad(x, (shift,) * 4, mode="reflect")
        dx, dy = (int(v) for v in torch.randint(0, 2 * shift + 1, (2,), generator=generator))
        x = padded[..., dy:dy + x.shape[-2], dx:dx + x.shape[-1]]
    if "resample" in names:
        size = x.shape[-1]
        choice = torch.randint(len(RESAMPLE_SIZES), (n,), generator=generator)
        chosen = (torch.rand(n, generator=generator) < P)
        out = x.clone()
        for i, factor in enumerate(RESAMPLE_SIZES):  # one call per size, not per sample
            idx = ((choice == i) & chosen).nonzero().flatten().to(dev)
            if len(idx):
                out[idx] = resample(x[idx], max(2, round(size * factor)))
        x = out
    if "blur" in names:
        x = blur(x, draw(n) * BLUR_SIGMA * hit().flatten())
    if "contrast" in names:
        lo, hi = CONTRAST
        x = contrast(x, 1 + (lo + (hi - lo) * draw(n) - 1) * hit().flatten())
    if "brightness" in names:
        x = brightness(x, (draw(n) * 2 - 1) * BRIGHTNESS * hit().flatten())
    return x


def calibration_rows(resolution: int) -> list[tuple[str, callable]]:
    """What `gankit features calibrate` applies, by row: (label, change of a batch in [-1, 1])."""
    via = round(resolution * 64 / 28)  # 28 -> 64 -> 28 for Fashion-MNIST, the same ratio elsewhere
    return [
        ("mirrored", mirror),
        ("brightness +0.1", lambda x: brightness(x, 0.1)),
        ("contrast x0.9 (about mid-grey)", lambda x: contrast(x, 0.9, center=0.0)),
        (f"resized {resolution}->{via}->{resolution}", lambda x: resample(x, via)),
        ("blur sigma 0.5", lambda x: blur(x, 0.5)),
    ]
