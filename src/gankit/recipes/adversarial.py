"""The adversarial recipe: G vs D with a chosen loss and regularizers. Most classic GANs are presets of it."""

from __future__ import annotations

import torch
from torch import nn

from gankit import losses, nets
from gankit.config import ConfigError
from gankit.recipes.base import DataInfo, Objective, Phase, StepContext
from gankit.regularizers import clip_weights, gradient_penalty

OPTIMIZER_KEYS = {"opt", "lr", "betas", "eps", "weight_decay", "alpha", "momentum"}
IMAGE_ONLY_ARCHES = {"dcgan"}


def build_net(cfg: dict, role: str, info: DataInfo) -> nn.Module:
    """Build network ``role`` ('G' or 'D') from ``cfg['<role>.arch']`` and the ``<role>.*`` keys that are its arguments."""
    family = cfg[f"{role}.arch"]
    if info.kind == "points" and family in IMAGE_ONLY_ARCHES:
        family = "mlp"  # 2-D points have no image to convolve; the loss and schedule stay the recipe's
    kwargs = {k.split(".", 1)[1]: v for k, v in cfg.items()
              if k.startswith(role + ".") and k.split(".", 1)[1] not in OPTIMIZER_KEYS | {"arch"}}
    arch = f"{family}-{role.lower()}"
    if arch not in nets.NETS:
        raise ConfigError(f"--set {role}.arch={family}: unknown network family")
    cls = nets.NETS[arch]
    accepted = cls.accepts()
    kwargs = {k: v for k, v in kwargs.items() if k in accepted}
    kwargs.update(cls.data_kwargs(info, cfg))
    try:
        return nets.build(arch, **kwargs)
    except ValueError as e:
        raise ConfigError(f"{role} network {arch}: {e}") from None


class Adversarial(Objective):
    """D minimises loss.d_real + loss.d_fake (+ gp * penalty); G minimises loss.g; optional weight clipping."""

    def __init__(self, cfg: dict, info: DataInfo):
        self.cfg = cfg
        self.loss = losses.get(cfg["loss"])
        self.G = build_net(cfg, "G", info)
        self.D = build_net(cfg, "D", info)
        self.nets = {"G": self.G, "D": self.D}

    def phases(self) -> list[Phase]:
        after = [lambda: clip_weights(self.D, self.cfg["clip"])] if self.cfg["clip"] > 0 else []
        return [Phase("D", "D", self.d_loss, repeat=self.cfg["n_critic"], after_step=after),
                Phase("G", "G", self.g_loss)]

    def d_loss(self, ctx: StepContext) -> torch.Tensor:
        real, _ = ctx.real()
        with torch.no_grad():
            fake = self.G(ctx.z(real.shape[0]))
        r = self.D(real)
        f = self.D(fake)  # real and fake in separate batches, as DCGAN's batch norm expects
        loss_real = self.loss.d_real(r.float()).mean()
        loss_fake = self.loss.d_fake(f.float()).mean()
        ctx.report("Loss/D/real", loss_real)
        ctx.report("Loss/D/fake", loss_fake)
        ctx.report("D/real", r.float().mean())
        ctx.report("D/fake", f.float().mean())
        loss = loss_real + loss_fake
        if self.cfg["gp"] > 0:
            gp = gradient_penalty(self.D, real, fake, generator=ctx.generator)
            ctx.report("Loss/D/gp", gp)
            loss = loss + self.cfg["gp"] * gp
        ctx.report("Loss/D", loss)
        return loss

    def g_loss(self, ctx: StepContext) -> torch.Tensor:
        f = self.D(self.G(ctx.z(ctx.batch)))
        loss = self.loss.g(f.float()).mean()
        ctx.report("Loss/G", loss)
        return loss


def adam(lr: float, betas=(0.5, 0.999)) -> dict:
    return {"opt": "adam", "lr": lr, "betas": list(betas)}


def rmsprop(lr: float) -> dict:
    return {"opt": "rmsprop", "lr": lr}


def preset(*, loss: str, arch: str, opt: dict, batch: int = 64, n_critic: int = 1, clip: float = 0.0,
           gp: float = 0.0, steps: int = 5000, G: dict | None = None, D: dict | None = None) -> dict:
    """The full default config of an adversarial preset (every key can be changed with --set)."""
    mlp = {"hidden": [256, 256, 256]}  # convolutional presets keep it too: it sizes their MLP on 2-D points
    net_defaults = {"mlp": mlp, "dcgan": {"width": 64, "norm": "batch", **mlp}}[arch]
    cfg = {"loss": loss, "n_critic": n_critic, "clip": clip, "gp": gp, "batch": batch, "steps": steps}
    for role, extra in (("G", G or {}), ("D", D or {})):
        cfg[f"{role}.arch"] = arch
        for k, v in {**net_defaults, **extra}.items():
            cfg[f"{role}.{k}"] = v
        for k, v in opt.items():
            cfg[f"{role}.{k}"] = v
    return cfg
