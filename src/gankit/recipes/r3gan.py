"""R3GAN (Huang, Gokaslan, Kuleshov, Tompkin 2024): a minimal GAN whose loss is well posed, on a modern ResNet.

D minimises the relativistic pairing loss softplus(D(G(z)) - D(x)) over pairs of a real and a fake sample, plus
gamma / 2 times both zero-centred gradient penalties, R1 at the reals and R2 at the fakes (``loss=relativistic``,
``r1`` and ``r2``, each gamma); G minimises softplus(D(x) - D(G(z))). The networks (``nets.r3gan``) have no
normalisation and need no other trick: residual blocks that start as the identity carry the training.

Three settings decay, as functions of images seen, along a cosine from their start to their end over
``r3gan.decay_kimg`` thousand images, and stay at the end after it: value = start + (end - start) * (1 - cos(pi *
min(nimg, span) / span)) / 2. They are both nets' learning rates (``G.lr`` and ``D.lr`` down to ``r3gan.lr_end``
times themselves), Adam's beta2 (``?.betas``' second, up to ``r3gan.beta2_end``) and gamma (``r1`` and ``r2`` down
to ``r3gan.gamma_end`` times themselves). Tied to images seen, they continue exactly on resume.

The authors' CIFAR-10 setting, the defaults here: G and D of 768 channels at 4, 8, 16 and 32 pixels, two blocks per
stage, expansion 2, groups of 16 channels (cardinality 96), z of 64; Adam with beta1 0, batch 512; learning rate
2e-4 -> 5e-5, beta2 0.9 -> 0.99, gamma 0.05 -> 0.005, each over 20 Mimg of a 250 Mimg run (the paper's Table 9),
so over 8% of it. ``r3gan.decay_kimg=0`` (the default) keeps that share: the span is 8% of the run's images and is
recorded in the run's config, so that a resume with another budget keeps its schedules.

Where gankit departs:
- G's moving average: the authors ramp its half-life along the same cosine up to 5 Mimg, 2% of their run; here
  gankit's ramp-up holds it at 2% of the images seen (``ema.rampup=0.02``), capped by ``ema.beta=0.9999`` (a
  half-life of 3.5 Mimg at batch 512).
- Augmentation: the authors use StyleGAN2-ADA's pipeline with its probability ramped 0 -> 0.55 over the decay span
  and mirror CIFAR-10 horizontally; gankit has no fixed ramp of that probability, so augmentation is off by
  default (``augment.ada``, ``augment.policy`` and ``data.flip`` turn it on).
- Classes: the CIFAR-10 model is class-conditional; here labels are used with ``cond.mode=input`` only.
- On 2-D points the networks are gankit's MLPs, with the same loss, penalties and schedules.
"""

from __future__ import annotations

import math

import torch

from gankit.config import ConfigError, Key, Range, at_least, count, one_of, share
from gankit.recipes.adversarial import KEYS as ADVERSARIAL_KEYS, Adversarial, adam, preset
from gankit.recipes.base import DataInfo, StepContext

PAPER_DECAY_SHARE = 20_000 / 250_000  # CIFAR-10: the decays span 20 Mimg of a 250 Mimg run

# Its keys besides the adversarial presets' (which it reads too: r1, r2, augment.*, tricks.*, ...).
KEYS: dict[str, Key] = {
    "G.arch": Key("r3gan", one_of("r3gan", means="R3GAN's ResNet generator; on 2-D points, an MLP"),
                  "G's network family"),
    "D.arch": Key("r3gan", one_of("r3gan", means="R3GAN's ResNet discriminator; on 2-D points, an MLP"),
                  "D's network family"),
    "cond.mode": Key("none", one_of("none", "input", means="labels embedded in G's latent and D's logit, or none"),
                     "class labels"),
    "r3gan.decay_kimg": Key(0.0, at_least(0, "0 = 8% of the run, the paper's share (recorded when a run starts)"),
                            "thousands of images over which the learning rates, beta2 and gamma decay"),
    "r3gan.lr_end": Key(0.25, share("a share of G.lr and D.lr", open_low=True),
                        "the learning rates at the end of the decay, as a share of their start (paper: 2e-4 -> 5e-5)"),
    "r3gan.beta2_end": Key(0.99, Range(0.0, 1.0, open_high=True, means="Adam's second decay rate"),
                           "Adam's beta2 at the end of the decay (paper: 0.9 -> 0.99)"),
    "r3gan.gamma_end": Key(0.1, share("a share of r1 and r2", open_low=True),
                           "r1 and r2 at the end of the decay, as a share of their start (paper: 0.05 -> 0.005)"),
}
for _role in ("G", "D"):
    KEYS[f"{_role}.blocks"] = Key(2, count(0, "residual blocks per stage", high=64), "residual blocks at each size")
    KEYS[f"{_role}.expansion"] = Key(2, count(1, "how many times a block widens its channels", high=16),
                                     "the inverted bottleneck's widening")
    KEYS[f"{_role}.group_width"] = Key(16, count(1, "channels per group", high=4096),
                                       "channels per group of the blocks' grouped 3x3 convolutions")
ALL_KEYS = {**ADVERSARIAL_KEYS, **KEYS}


def defaults() -> dict:
    """The authors' CIFAR-10 preset (see the module's docstring), without its class labels and augmentation."""
    net = {"width": 768, "max_width": 768, "blocks": 2, "expansion": 2, "group_width": 16}
    cfg = preset(loss="relativistic", arch="r3gan", opt=adam(2e-4, (0.0, 0.9)), batch=512, G=net, D=net,
                 r1=0.05, r2=0.05)
    for unread in ("G.norm", "D.norm"):  # neither the r3gan networks nor the MLPs take a norm
        del cfg[unread]
    return {**cfg, "z_dim": 64, "ema.beta": 0.9999, "ema.rampup": 0.02,
            **{k: key.default for k, key in KEYS.items() if k.startswith("r3gan.")}}


def cosine_share(nimg: int, span: float) -> float:
    """How far a decay has gone after ``nimg`` images, in [0, 1]: (1 - cos(pi * nimg / span)) / 2, 1 after it."""
    if nimg >= span:
        return 1.0
    return (1 - math.cos(math.pi * nimg / span)) / 2


class R3GAN(Adversarial):
    def __init__(self, cfg: dict, info: DataInfo):
        if cfg["lr.decay"] != "none":
            raise ConfigError(f"--set lr.decay={cfg['lr.decay']}: recipe r3gan decays its learning rates itself "
                              f"(r3gan.decay_kimg, r3gan.lr_end); use lr.decay=none")
        super().__init__(cfg, info)
        self.decay_kimg = cfg["r3gan.decay_kimg"] or PAPER_DECAY_SHARE * self.run_kimg(cfg)
        self._span_why = ("as configured" if cfg["r3gan.decay_kimg"]
                          else f"{PAPER_DECAY_SHARE:.0%} of the run, the paper's share")
        self.progress = ("Loss/G", "Loss/D/real", *(f"Loss/D/{p}" for p in ("r1", "r2") if cfg[p] > 0))

    @staticmethod
    def run_kimg(cfg: dict) -> float:
        """The run's length in thousands of images: ``kimg`` as given, else steps times the batch."""
        return cfg["kimg"] or cfg["steps"] * cfg["batch"] / 1000

    def chosen(self) -> dict:
        return {"r3gan.decay_kimg": self.decay_kimg}

    def notes(self) -> list[str]:
        cfg = self.cfg
        return [*super().notes(),
                f"r3gan: learning rates x{cfg['r3gan.lr_end']:g}, beta2 -> {cfg['r3gan.beta2_end']:g} and gamma "
                f"x{cfg['r3gan.gamma_end']:g} along a cosine over {self.decay_kimg:.6g} kimg ({self._span_why})"]

    def decayed(self, nimg: int) -> float:
        """The share of the decays done at ``nimg`` images seen."""
        return cosine_share(nimg, self.decay_kimg * 1000)

    def schedule(self, nimg: int) -> dict[str, dict]:
        done = self.decayed(nimg)
        settings = {}
        for net in ("G", "D"):
            start = self.cfg[f"{net}.lr"]
            settings[net] = {"lr": start + (start * self.cfg["r3gan.lr_end"] - start) * done}
            if self.cfg[f"{net}.opt"] == "adam":
                beta1, beta2 = self.cfg[f"{net}.betas"]
                settings[net]["betas"] = (beta1, beta2 + (self.cfg["r3gan.beta2_end"] - beta2) * done)
        return settings

    def gamma_share(self, nimg: int) -> float:
        """r1 and r2 at ``nimg`` images seen, as a share of their start."""
        return 1 + (self.cfg["r3gan.gamma_end"] - 1) * self.decayed(nimg)

    def penalty_weights(self, ctx: StepContext) -> tuple[float, float]:
        """r1 and r2 decayed to the images seen (``ctx.nimg``), reported as ``Schedule/r1`` and ``Schedule/r2``."""
        scale = self.gamma_share(ctx.nimg)
        weights = self.cfg["r1"] * scale, self.cfg["r2"] * scale
        for penalty, weight in zip(("r1", "r2"), weights):
            if self.cfg[penalty] > 0:
                ctx.report(f"Schedule/{penalty}", weight)
        return weights
