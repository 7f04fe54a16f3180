"""Learning-rate decay over the end of a run, computed from the step alone.

A GAN's samples keep moving at a constant learning rate; letting the rates fall to zero over
the last part of the run lets G settle where it is (on 2-D mixtures: every mode sharper without
time to drop one). The factor is a pure function of progress, so resume stays exact with no
scheduler state in the checkpoint.
"""

from __future__ import annotations

import math

import torch

from gankit.config import ConfigError

KINDS = ("none", "linear", "cosine")


def lr_factor(kind: str, start: float, progress: float) -> float:
    """Multiplier of every base learning rate at ``progress`` (share of the run done, in [0, 1])."""
    if kind not in KINDS:
        raise ConfigError(f"--set lr.decay={kind}: unknown schedule; use {', '.join(KINDS)}")
    if kind == "none" or progress <= start:
        return 1.0
    t = min(1.0, (progress - start) / (1.0 - start))
    return 1.0 - t if kind == "linear" else 0.5 * (1.0 + math.cos(math.pi * t))


def check(cfg: dict) -> None:
    """Refuse an unknown ``lr.decay`` when the trainer is built, not mid-run (``lr.decay_start``'s range is in
    ``config.TRAINER_RANGES``)."""
    lr_factor(cfg["lr.decay"], cfg["lr.decay_start"], 0.0)


def apply(optimizers: dict[str, torch.optim.Optimizer], cfg: dict, progress: float) -> None:
    """Set each optimizer's rate to ``<name>.lr`` times the schedule's factor."""
    factor = lr_factor(cfg["lr.decay"], cfg["lr.decay_start"], progress)
    for name, opt in optimizers.items():
        for group in opt.param_groups:
            group["lr"] = cfg[f"{name}.lr"] * factor
