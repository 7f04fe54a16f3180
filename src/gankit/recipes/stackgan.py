"""StackGAN (Zhang et al. ICCV 2017; StackGAN++, TPAMI 2018), class-conditional: a coarse stage, then a refining one.

The networks (``nets.stackgan``): G draws a low-resolution image (stage I, a quarter of the side by default) and
refines it to the full side (stage II), each stage from its own conditioning-augmentation (CA) code of the class; a
D per stage judges images with the CA mean of a class (matching-aware). The authors condition on text embeddings;
gankit conditions on class labels through a learned class embedding (StackGAN++'s code has no class mode).

Losses, per trained stage k, with BCE on logits:

    D_k = BCE(D_k(real, mu(c)), 1) + 0.5 * (BCE(D_k(real, mu(c')), 0) + BCE(D_k(G_k(z, c), mu(c)), 0))

c the real images' classes, which the D step's fakes are drawn with too, and c' a wrong class for every image (c
shifted by a random non-zero offset modulo the classes), the "real image, wrong text" pair that teaches D to check
the match; mu is G's CA mean, detached. G = sum_k BCE(D_k(G_k(z, c), mu(c)), 1) + ``stackgan.kl`` * the KL of each
trained stage's CA (``nets.stackgan.kl``: the authors' mean over batch and dimensions, weight 2.0). Without labels
(or with a single class) the recipe is unconditional: no CA, no wrong pairs, D_k = real + fake (StackGAN++'s
unconditional mode).

Schedules (``stackgan.schedule``): ``joint`` (StackGAN++: both stages trained together from the start, stage II's
loss reaching stage I through the image it refines) or ``sequential`` (StackGAN v1: stage I alone for the first
``stackgan.stage1_kimg`` thousand images, a ``stackgan.stage1_share`` of the run when 0, chosen when the run starts
and recorded, then stage II with stage I frozen: it still draws, without a graph, so its weights get no gradient).
Until stage II starts, G's samples are stage I's images upscaled.

Paper defaults: Adam 2e-4 betas (0.5, 0.999) for G and D, batch 64, z 100, CA code 128, KL weight 2.0, 2 residual
blocks in stage II (the COCO configs; 4 elsewhere). Departures: no learning-rate halving every 20 epochs (see
``lr.decay``), no ReLU after CA's Linear, G's moving average 0.999 (StackGAN++'s) ramped up over the first images,
and no colour-consistency or unconditional-logit terms of StackGAN++.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gankit.config import ConfigError, Key, at_least, count, one_of, share
from gankit.nets.dcgan import MAX_WIDTH
from gankit.nets.stackgan import kl
from gankit.recipes.adversarial import adam, build_net
from gankit.recipes.base import DataInfo, Objective, Phase, Stage, StepContext

SCHEDULES = ("joint", "sequential")
STAGE_NAMES = ("I", "II")  # the trainer logs "stage II"; stats are Loss/D/I, Loss/G/kl_II, ...

KEYS: dict[str, Key] = {
    "G.arch": Key("stackgan", one_of("stackgan", means="the two-stage generator"), "G's network family"),
    "D.arch": Key("stackgan", one_of("stackgan", means="a matching-aware D per stage"), "D's network family"),
    "G.res_blocks": Key(2, count(0, "residual blocks", high=64), "stage II's residual blocks (paper: 2 on COCO, "
                                                                  "4 elsewhere)"),
    "stackgan.schedule": Key("joint", one_of(*SCHEDULES), "joint: both stages trained together (StackGAN++); "
                                                          "sequential: stage I, then stage II with stage I frozen "
                                                          "(StackGAN v1)"),
    "stackgan.stage1_share": Key(0.5, share("a share of the run", open_low=True, open_high=True),
                                 "sequential: the share of the run's images that stage I trains alone"),
    "stackgan.stage1_kimg": Key(0.0, at_least(0, "thousands of images; 0 = stackgan.stage1_share of the run, chosen "
                                                 "when it starts and recorded"),
                                "sequential: the images stage I trains alone before stage II starts"),
    "stackgan.stage1_resolution": Key(0, count(0, "0 = a quarter of the image's side", high=4096),
                                      "stage I's side, a power of two up to half the image's"),
    "stackgan.kl": Key(2.0, at_least(0, "0 = off"), "the weight of conditioning augmentation's KL term in G's loss"),
    "stackgan.c_dim": Key(128, count(1, "numbers in a CA code", high=4096),
                          "the size of conditioning augmentation's code (the paper's c_dim)"),
}


def defaults() -> dict:
    """The paper's settings (see the module's docstring)."""
    return {"z_dim": 100, "batch": 64, "ema.beta": 0.999, "ema.rampup": 0.05,
            **{k: key.default for k, key in KEYS.items()},
            **{f"{role}.{k}": v for role in ("G", "D") for k, v in
               {"width": 32, "max_width": MAX_WIDTH, "norm": "batch", **adam(2e-4)}.items()}}


def networks(cfg: dict, data_kind: str) -> dict[str, str]:
    return {"G": "stackgan-g", "D": "stackgan-d"}


def bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    logits = logits.float()
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def wrong_labels(c: torch.Tensor, num_classes: int, ctx: StepContext) -> torch.Tensor:
    """A class other than ``c[i]`` for every i: c shifted by a random offset in [1, num_classes - 1]."""
    offset = ctx.generator.randint(1, num_classes, (c.shape[0],), device=c.device)
    return (c + offset) % num_classes


class StackGAN(Objective):
    progress = ("Loss/G", "Loss/D/real", "Loss/D/fake")

    def __init__(self, cfg: dict, info: DataInfo):
        if info.kind != "image":
            raise ConfigError("recipe stackgan needs image data (a folder or fashion-mnist): its stages draw images")
        self.cfg = cfg
        self.num_classes = info.num_classes if info.num_classes >= 2 else 0  # matching needs a wrong class
        self.one_class = info.num_classes == 1
        ca_dim = cfg["stackgan.c_dim"] if self.num_classes else 0
        side1 = cfg["stackgan.stage1_resolution"]
        self.G = build_net(cfg, "G", info, "stackgan-g", c_dim=self.num_classes, ca_dim=ca_dim,
                           stage1_resolution=side1)
        self.D = build_net(cfg, "D", info, "stackgan-d", ca_dim=ca_dim, stage1_resolution=side1)
        self.nets = {"G": self.G, "D": self.D}
        self.sequential = cfg["stackgan.schedule"] == "sequential"
        kimg = cfg["stackgan.stage1_kimg"] or cfg["stackgan.stage1_share"] * cfg["steps"] * cfg["batch"] / 1000
        self.switch_nimg = round(kimg * 1000)
        self.trained = (1, 2)  # the stages whose losses are trained now
        self.frozen = False  # stage I draws without a graph (sequential, stage II)
        if self.sequential:
            self.enter(self.stages()[0])

    # ----- the schedule -----

    def stages(self) -> list[Stage]:
        if not self.sequential:
            return []
        return [Stage(STAGE_NAMES[0], 0), Stage(STAGE_NAMES[1], self.switch_nimg)]

    def enter(self, stage: Stage) -> None:
        second = stage.name == STAGE_NAMES[1]
        self.trained, self.frozen = ((2,), True) if second else ((1,), False)
        self.G.set_stage(2 if second else 1)

    def chosen(self) -> dict:
        if self.sequential and not self.cfg["stackgan.stage1_kimg"]:
            return {"stackgan.stage1_kimg": self.switch_nimg / 1000}
        return {}

    def notes(self) -> list[str]:
        side1, side = self.D.sides
        lines = [f"stackgan: stage I at {side1}x{side1}, stage II at {side}x{side}; "
                 + (f"stage I alone for the first {self.switch_nimg / 1000:g} kimg, then stage II with stage I frozen"
                    if self.sequential else "both trained together")]
        if not self.num_classes:
            lines.append("stackgan: unconditional (" + ("one class" if self.one_class else "the data has no labels")
                         + "): no conditioning augmentation, D loss real + fake")
        return lines

    def phases(self) -> list[Phase]:
        return [Phase("D", "D", self.d_loss), Phase("G", "G", self.g_loss)]

    def generate(self, G, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return G(z, c) if self.num_classes else G(z)

    # ----- the losses -----

    def _draw(self, latent: torch.Tensor, c: torch.Tensor | None):
        return self.G.run(latent, c, upto=max(self.trained), stage1_grad=not self.frozen)

    def _real_at(self, real: torch.Tensor, stage: int) -> torch.Tensor:
        side = self.D.sides[stage - 1]
        return real if real.shape[-1] == side else F.avg_pool2d(real, real.shape[-1] // side)

    def d_loss(self, ctx: StepContext) -> torch.Tensor:
        real, y = ctx.real()
        n = real.shape[0]
        c = y if self.num_classes else None
        with torch.no_grad():
            fakes = self._draw(ctx.z(n), c)
            wrong = wrong_labels(c, self.num_classes, ctx) if self.num_classes else None
        terms = {"real": 0, "wrong": 0, "fake": 0}
        logits = {"real": 0, "fake": 0}
        total = 0
        for k in self.trained:
            x = self._real_at(real, k)
            mu = fakes[k - 1].mu  # made without a graph: detached
            r = self.D(x, mu, stage=k)
            f = self.D(fakes[k - 1].image, mu, stage=k)
            loss_real, loss_fake = bce(r, 1.0), bce(f, 0.0)
            if self.num_classes:
                with torch.no_grad():
                    mu_wrong = self.G.ca[k - 1].moments(wrong)[0]
                loss_wrong = bce(self.D(x, mu_wrong, stage=k), 0.0)
                loss = loss_real + 0.5 * (loss_wrong + loss_fake)
                terms["wrong"] = terms["wrong"] + loss_wrong
            else:
                loss = loss_real + loss_fake
            ctx.report(f"Loss/D/{STAGE_NAMES[k - 1]}", loss)
            terms["real"], terms["fake"] = terms["real"] + loss_real, terms["fake"] + loss_fake
            logits["real"], logits["fake"] = logits["real"] + r.float().mean(), logits["fake"] + f.float().mean()
            total = total + loss
        for name, value in terms.items():
            if name != "wrong" or self.num_classes:
                ctx.report(f"Loss/D/{name}", value)
        for name, value in logits.items():
            ctx.report(f"Logits/D/{name}", value / len(self.trained))
        ctx.report("Loss/D", total)
        return total

    def g_loss(self, ctx: StepContext) -> torch.Tensor:
        n = ctx.batch
        c = ctx.labels(n) if self.num_classes else None
        fakes = self._draw(ctx.z(n), c)
        total = 0
        for k in self.trained:
            out = fakes[k - 1]
            cond = out.mu.detach() if self.num_classes else None
            adversarial = bce(self.D(out.image, cond, stage=k), 1.0)
            ctx.report(f"Loss/G/{STAGE_NAMES[k - 1]}", adversarial)
            total = total + adversarial
            if self.num_classes:
                divergence = kl(out.mu, out.logvar)
                ctx.report(f"Loss/G/kl_{STAGE_NAMES[k - 1]}", divergence)
                total = total + self.cfg["stackgan.kl"] * divergence
        ctx.report("Loss/G", total)
        return total

