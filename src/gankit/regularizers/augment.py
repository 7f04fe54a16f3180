"""Differentiable augmentation for small data: DiffAugment (Zhao et al. 2020) and ADA's adaptive probability
(Karras et al. 2020).

The same random transforms are applied to real and fake images before D, in both D's and G's
steps, and are differentiable, so G learns the data, not the augmentations. ``p`` is the
probability that each transform is applied to an image: 1 for DiffAugment, adapted for ADA.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gankit.regularizers.batch_random import BatchRandom, batch_random

Tensor = torch.Tensor
Random = BatchRandom | torch.Generator | None


def _rand(n: int, x: Tensor, generator: Random) -> Tensor:
    return batch_random(generator).rand(n, 1, 1, 1, device=x.device)


def color(x: Tensor, generator: Random = None) -> Tensor:
    """Brightness +-0.5, saturation x[0, 2], contrast x[0.5, 1.5], on images in [-1, 1]."""
    n = x.shape[0]
    x = x + (_rand(n, x, generator) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_rand(n, x, generator) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_rand(n, x, generator) + 0.5) + mean


def translation(x: Tensor, generator: Random = None, ratio: float = 0.125) -> Tensor:
    """Shift by up to ``ratio`` of the size, filling with zeros (a gather, so gradients flow)."""
    n, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    rng = batch_random(generator)
    dy = rng.randint(-sh, sh + 1, (n, 1, 1), device=x.device)
    dx = rng.randint(-sw, sw + 1, (n, 1, 1), device=x.device)
    gy, gx = torch.meshgrid(torch.arange(h, device=x.device), torch.arange(w, device=x.device), indexing="ij")
    yy = (gy.unsqueeze(0) + dy + 1).clamp(0, h + 1)
    xx = (gx.unsqueeze(0) + dx + 1).clamp(0, w + 1)
    padded = F.pad(x, (1, 1, 1, 1))
    idx = (yy * (w + 2) + xx).view(n, 1, h * w).expand(-1, x.shape[1], -1)
    return padded.flatten(2).gather(2, idx).view_as(x)


def cutout(x: Tensor, generator: Random = None, ratio: float = 0.5) -> Tensor:
    """Zero a square of ``ratio`` of the size centred at a random pixel (clipped at the borders)."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    rng = batch_random(generator)
    top = rng.randint(0, h + (1 - ch % 2), (n, 1, 1), device=x.device) - ch // 2
    left = rng.randint(0, w + (1 - cw % 2), (n, 1, 1), device=x.device) - cw // 2
    gy = torch.arange(h, device=x.device).view(1, h, 1)
    gx = torch.arange(w, device=x.device).view(1, 1, w)
    inside = (gy >= top) & (gy < top + ch) & (gx >= left) & (gx < left + cw)
    return x * (~inside).unsqueeze(1).to(x.dtype)


OPS = {"color": color, "translation": translation, "cutout": cutout}


def parse_policy(policy: str) -> list[str]:
    names = [p.strip() for p in policy.split(",") if p.strip()]
    unknown = [p for p in names if p not in OPS]
    if unknown:
        from gankit.config import ConfigError

        raise ConfigError(f"--set augment.policy={policy}: unknown {', '.join(unknown)}; use {', '.join(OPS)}")
    return names


def augment(x: Tensor, policy: list[str], p: float | Tensor = 1.0, generator: Random = None,
            colour_channels: int | None = None) -> Tensor:
    """Apply each transform of ``policy`` to each image with probability ``p`` (p=1: DiffAugment).

    ``colour_channels``: ``color`` changes only the first so many channels (a content mask after them moves with
    translation and cutout, but is no colour to brighten); the random draws are the same either way."""
    for name in policy:
        if name == "color" and colour_channels is not None and colour_channels < x.shape[1]:
            y = torch.cat([color(x[:, :colour_channels], generator), x[:, colour_channels:]], dim=1)
        else:
            y = OPS[name](x, generator)
        if isinstance(p, Tensor) or p < 1:
            keep = _rand(x.shape[0], x, generator) < p
            y = torch.where(keep, y, x)
        x = y
    return x


PAPER_SPEED_KIMG = 500.0  # ADA's adjustment speed in the paper (p from 0 to 1 in 500k images)
SPEED_PASSES = 20  # ... or in this many passes over the data, when that is shorter
SPEED_RUN_SHARE = 0.1  # ... or in this share of the run, when that is shorter
MIN_ADJUSTMENTS = 50  # ... but never in fewer adjustments than this: p moves in steps of at most 1/50


def ada_speed(run_kimg: float, data_size: int, batch: int, interval: int = 4) -> tuple[float, str]:
    """ADA's adjustment speed for ``ada.kimg=0`` (thousands of images for p to move from 0 to 1), and why.

    The paper's 500k images suit its runs of tens of millions of images over tens of thousands of images; a run of
    10k images over 40 crops would move p by 0.02 at most, though D overfits such a set within a few dozen passes.
    So p may cross [0, 1] within the shortest of: the paper's 500k images, 20 passes over the data, a tenth of the
    run; but in no fewer than 50 adjustments (one every ``interval`` D steps of ``batch`` images), since p moves
    by a fixed step each time and would otherwise swing widely around its level."""
    options = {"the paper's": PAPER_SPEED_KIMG}
    if data_size > 0:
        options[f"{SPEED_PASSES} passes over {data_size} images"] = SPEED_PASSES * data_size / 1000
    if run_kimg > 0:
        options[f"a tenth of the run's {run_kimg:g} kimg"] = SPEED_RUN_SHARE * run_kimg
    why = min(options, key=options.get)
    floor = MIN_ADJUSTMENTS * interval * batch / 1000
    if options[why] < floor:
        return floor, f"{MIN_ADJUSTMENTS} adjustments of {interval} D steps of {batch} images; {why} is shorter"
    return options[why], why


class AdaptiveP:
    """ADA's controller: every ``interval`` D steps, move p by sign(r_t - target) * batch * interval / (speed_kimg * 1000),
    where r_t = E[sign D(real)] over those steps. p and the speed stay in the checkpoint: a run resumed with
    another length keeps the speed it started with."""

    def __init__(self, target: float = 0.6, speed_kimg: float = 100.0, interval: int = 4):
        self.target, self.speed_kimg, self.interval = target, speed_kimg, interval
        self.p = torch.zeros(())
        self._signs = torch.zeros(())
        self._count = 0

    def observe(self, sign_mean: Tensor, batch: int) -> None:
        """One D step's E[sign D(real)] over a (global) batch of ``batch`` reals."""
        self.p = self.p.to(sign_mean.device)  # built (or loaded) on the CPU; lives where D does from the first step
        self._signs = self._signs.to(sign_mean.device) + sign_mean.detach().float()
        self._count += 1
        if self._count == self.interval:
            rt = self._signs / self._count
            step = torch.sign(rt - self.target) * batch * self.interval / (self.speed_kimg * 1000)
            self.p = (self.p + step).clamp(0.0, 1.0)
            self._signs, self._count = torch.zeros((), device=rt.device), 0

    def state_dict(self) -> dict:
        return {"p": self.p.cpu(), "signs": self._signs.cpu(), "count": self._count, "speed_kimg": self.speed_kimg}

    def load_state_dict(self, state: dict) -> None:
        self.p, self._signs, self._count = state["p"], state["signs"], state["count"]
        self.speed_kimg = float(state.get("speed_kimg", self.speed_kimg))  # older checkpoints: their config's ada.kimg
