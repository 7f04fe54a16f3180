"""ControlGAN (Lee & Seok 2019): a classifier apart from D tells G whether a sample shows the requested class.

D stays unconditional and judges realism only. The classifier C trains on augmented real images
alone, so it does not overfit the way ACGAN's class head inside D does, and G minimises

    L_G = adversarial loss + gamma_t * CE(C(G(z, c)), c).

gamma balances realism against class fidelity and adapts every generator step like BEGAN's k_t,
as in the authors' released code:

    gamma_{t+1} = clip(gamma_t + r * (CE_fake - alpha * CE_real), 0, gamma_max)

so G leans harder on the class loss while C finds the fakes harder to classify than the reals.
gamma lives on the device (no host sync) and is saved in checkpoints for exact resume.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gankit.config import ConfigError, Key, at_least, one_of
from gankit.recipes.adversarial import KEYS as ADVERSARIAL_KEYS, Adversarial, build_net
from gankit.recipes.adversarial import networks as adversarial_networks
from gankit.recipes.base import DataInfo, Phase, StepContext
from gankit.regularizers.augment import OPS, augment, parse_policy

# Its keys besides the adversarial presets' (C.*: the classifier's network and optimizer, recipes.base.NET_KEYS).
KEYS: dict[str, Key] = {
    "cond.mode": Key("classifier", one_of("classifier", means="labels go to G only; C, not D, judges the class"),
                     "class labels"),
    "control.augment": Key("translation", about=f"DiffAugment of C's real images: any of {','.join(OPS)}, "
                                                f"comma-separated"),
    "control.gamma0": Key(0.0, at_least(0, "gamma's start, at most control.gamma_max"),
                          "the starting weight gamma of G's class loss"),
    "control.rate": Key(1e-3, at_least(0, "the step of gamma's update"), "gamma's step r"),
    "control.alpha": Key(1.0, at_least(0, "how much harder fakes may be to classify than reals"),
                         "the balance alpha of gamma's update"),
    "control.gamma_max": Key(2.0, at_least(0, "gamma's ceiling"), "the largest gamma"),
}
DEFAULTS = {
    **{k: key.default for k, key in KEYS.items()},
    "C.opt": "adam", "C.lr": 1e-3, "C.betas": [0.9, 0.999],
    "C.width": 32,                   # convolutional classifier width (images)
    "C.hidden": [128, 128],          # MLP classifier layers (2-D points)
}
ALL_KEYS = {**ADVERSARIAL_KEYS, **KEYS}  # every key of the recipe besides the trainer's and the networks'


def networks(cfg: dict, data_kind: str) -> dict[str, str]:
    """G and D as the adversarial presets build them, and the classifier C: convolutional on images."""
    return {**adversarial_networks(cfg, data_kind), "C": "classifier" if data_kind == "image" else "mlp-classifier"}


class ControlGAN(Adversarial):
    progress = (*Adversarial.progress, "Loss/C/real")

    def __init__(self, cfg: dict, info: DataInfo):
        if not info.num_classes:
            raise ConfigError("recipe controlgan needs labelled data (fashion-mnist, class subfolders, ring8/grid25)")
        super().__init__(cfg, info)
        self.C = build_net(cfg, "C", info, networks(cfg, info.kind)["C"])
        self.nets["C"] = self.C
        self.c_policy = parse_policy(cfg["control.augment"]) if info.kind == "image" else []
        if cfg["control.gamma0"] > cfg["control.gamma_max"]:
            raise ConfigError(f"--set control.gamma0={cfg['control.gamma0']}: above control.gamma_max="
                              f"{cfg['control.gamma_max']}, the ceiling gamma is clipped to")
        self.gamma = torch.tensor(float(cfg["control.gamma0"]))
        self.real_ce: torch.Tensor | None = None  # C's latest loss on real images

    def phases(self) -> list[Phase]:
        d, g = super().phases()
        return [d, Phase("C", "C", self.c_loss), g]

    def c_loss(self, ctx: StepContext) -> torch.Tensor:
        real, y = ctx.real()
        if self.c_policy:
            real = augment(real, self.c_policy, 1.0, ctx.generator)
        loss = F.cross_entropy(self.C(real).float(), y)
        self.real_ce = loss.detach()
        ctx.report("Loss/C/real", loss)
        return loss

    def g_loss(self, ctx: StepContext) -> torch.Tensor | None:
        fake, c = self.g_fakes(ctx)
        adversarial = self.g_adversarial(fake, c, ctx)
        if adversarial is None:
            return None
        training = self.C.training
        self.C.eval()  # judge fakes with C's real-data batch statistics, and without dropout
        fake_ce = F.cross_entropy(self.C(fake).float(), c)
        self.C.train(training)
        gamma = self.gamma.to(fake_ce.device)
        loss = adversarial + gamma * fake_ce
        real_ce = self.real_ce if self.real_ce is not None else fake_ce.detach()
        # under torchrun from the global batch's losses, so gamma stays the same on every rank
        fake_now, real_now = ctx.mean_over_ranks(torch.stack([fake_ce.detach(), real_ce])).unbind()
        self.gamma = (gamma + self.cfg["control.rate"] * (fake_now - self.cfg["control.alpha"] * real_now)
                      ).clamp(0.0, self.cfg["control.gamma_max"])
        for name, value in (("Loss/G/adversarial", adversarial), ("Loss/C/fake", fake_ce), ("Control/gamma", gamma),
                            ("Loss/G", loss)):
            ctx.report(name, value)
        return loss

    def state_dict(self) -> dict:
        state = super().state_dict()
        state["gamma"] = self.gamma.detach().cpu().clone()  # C's real loss is recomputed before every G step
        return state

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.gamma = state["gamma"].clone()
