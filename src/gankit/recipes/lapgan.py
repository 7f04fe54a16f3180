"""LAPGAN (Denton, Chintala, Szlam, Fergus 2015): a GAN per level of a Laplacian pyramid, sampled coarse to fine.

The pyramid (``nets.pyramid``) halves the image by 2x2 average pooling down to ``lapgan.levels`` levels (0: until it
is 8 pixels or fewer; 32 -> 16 -> 8, 28 -> 14 -> 7). The coarsest level is an ordinary GAN on the coarsest image.
Every finer level k is a conditional GAN: its G draws the residual h_k = I_k - u(I_{k+1}) from a noise plane and the
upsampled coarser image u(I_{k+1}), and its D judges the fine image u(I_{k+1}) + h beside u(I_{k+1}). In training
each finer level is conditioned on the upsampled REAL coarser image, so the levels do not depend on each other: one
D phase and one G phase sum the levels' losses, which for per-parameter optimisers is the same as training each
level apart, as the authors do. Sampling (``nets.lapgan``) chains them: each level refines the image the coarser
levels drew. With labels and ``cond.mode=input`` every level's G and D also take the class.

The paper's settings (CIFAR-10, the authors' code): pyramid 32 -> 16 -> 8; coarsest G an MLP (z 100 -> 1200 ReLU ->
1200 sigmoid -> 8x8 image), coarsest D an MLP (600 ReLU, dropout); each finer G three same-size convolutions (7x7,
7x7, 5x5, 64 planes, ReLU) on [noise plane, upsampled coarse image, class map]; each finer D a 5x5 convolution and a
5x5 stride-2 one, dropout, a linear logit; the GAN's cross-entropy loss, uniform noise in [-1, 1], SGD lr 0.02
without momentum, batch 128, one D step per G step.

Where gankit departs: Adam 2e-4 betas (0.5, 0.999) for every net, as its other GANs (the paper's optimiser with
``--set G.opt=sgd G.lr=0.02 D.opt=sgd D.lr=0.02``); the non-saturating G loss on logits (any adversarial loss with
``--set loss=...``); latents from the run's latent distribution (normal by default) rather than uniform noise; both
hidden layers of the coarsest G ReLU and its output tanh, as images are in [-1, 1]; a class as one constant plane
per class (the paper maps the one-hot class through a linear layer to one plane); D's widths the same as G's (64);
every level of a sample clamped to [-1, 1], the range of the real images the finer levels were trained on.
The coarsest D has two hidden layers of 600 and no D has dropout (``D.dropout``; ``--set D.hidden=600
D.dropout=0.5`` for the paper's): on Fashion-MNIST at 7x7 (2,000 steps of 64, one seed) the paper's single layer
drew one image for every latent, with Adam and with the paper's SGD alike; two layers drew varied images, and
dropout 0.5 cut them to a few.
"""

from __future__ import annotations

import torch

from gankit import losses
from gankit.config import ConfigError, Key, count, one_of, share
from gankit.nets.pyramid import gaussian, up
from gankit.recipes.adversarial import KEYS as ADVERSARIAL_KEYS, adam, build_net
from gankit.recipes.base import DataInfo, Objective, Phase, StepContext

KEYS: dict[str, Key] = {
    "loss": ADVERSARIAL_KEYS["loss"],
    "G.arch": Key("lapgan", one_of("lapgan", means="a generator per pyramid level"), "G's network family"),
    "D.arch": Key("lapgan", one_of("lapgan", means="a discriminator per pyramid level"), "D's network family"),
    "cond.mode": Key("none", one_of("none", "input"), "class labels: none, or input (to every level's G and D)"),
    "lapgan.levels": Key(0, count(0, "0 = halve down to 8 pixels or fewer", high=16),
                         "the pyramid's levels, the image's own size included; 0 = down to 8 pixels or fewer"),
    "D.dropout": Key(0.0, share("the share of D's features dropped"), "dropout in every level's D (paper: used)"),
}


def defaults() -> dict:
    """The paper's sizes (z 100, coarsest G 1200-1200, finer levels 64 planes, batch 128) and gankit's coarsest D
    (600-600, no dropout), optimiser (Adam 2e-4 beta1 0.5) and loss (non-saturating, on logits)."""
    cfg = {"loss": "nonsaturating", "cond.mode": "none", "lapgan.levels": 0, "z_dim": 100, "batch": 128,
           "steps": 5000, "D.dropout": 0.0}
    for role, hidden in (("G", [1200, 1200]), ("D", [600, 600])):
        cfg.update({f"{role}.arch": "lapgan", f"{role}.width": 64, f"{role}.hidden": hidden,
                    **{f"{role}.{k}": v for k, v in adam(2e-4).items()}})
    return cfg


def networks(cfg: dict, data_kind: str) -> dict[str, str]:
    return {"G": "lapgan-g", "D": "lapgan-d"}


def size_name(size: int) -> str:
    return f"{size}px"


class LAPGAN(Objective):
    """D minimises the sum over levels of its loss on the real level and on G's; G the sum of its losses."""

    progress = ("Loss/G", "Loss/D/real", "Loss/D/fake")

    def __init__(self, cfg: dict, info: DataInfo):
        if info.kind != "image":
            raise ConfigError("recipe lapgan needs image data (a folder or fashion-mnist): it trains on image pyramids")
        self.cfg = cfg
        self.loss = losses.get(cfg["loss"])
        self.num_classes = info.num_classes if cfg["cond.mode"] == "input" else 0
        self.G = build_net(cfg, "G", info, "lapgan-g")
        self.D = build_net(cfg, "D", info, "lapgan-d")
        self.nets = {"G": self.G, "D": self.D}
        self.sizes = self.G.sizes

    def notes(self) -> list[str]:
        sizes = " -> ".join(str(s) for s in self.sizes[::-1])
        return [f"LAPGAN pyramid {sizes} pixels ({len(self.sizes)} levels); a latent is z ({self.G.z_dim}) and a "
                f"noise plane per finer level: {self.G.latent_dim} numbers"]

    def phases(self) -> list[Phase]:
        return [Phase("D", "D", self.d_loss), Phase("G", "G", self.g_loss)]

    def generate(self, G, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return G(z, c) if self.num_classes else G(z)

    def real_levels(self, real: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
        """Per level, coarse to fine: (the real image at that level, the upsampled real image one level coarser;
        None at the coarsest)."""
        images = gaussian(real, len(self.sizes))
        return [(images[0], None)] + [(fine, up(coarse)) for coarse, fine in zip(images[:-1], images[1:])]

    def fake_levels(self, latent: torch.Tensor, levels: list, c: torch.Tensor | None) -> list[torch.Tensor]:
        """Per level, G's image: the coarsest drawn from z, each finer one the upsampled real coarser image plus
        the residual G draws from that level's noise plane and that image."""
        z, planes = self.G.split(latent)
        fakes = [self.G.coarsest(z, c)]
        for level, (noise, (_, coarse)) in enumerate(zip(planes, levels[1:]), start=1):
            fakes.append(coarse + self.G.residual(level, noise.to(coarse.dtype), coarse, c))
        return fakes

    def _batch(self, ctx: StepContext):
        real, y = ctx.real()
        c = y if self.num_classes else None  # fakes refine real coarse images, so they take those images' labels
        return self.real_levels(real), c, real.shape[0]

    def d_loss(self, ctx: StepContext) -> torch.Tensor:
        levels, c, n = self._batch(ctx)
        with torch.no_grad():
            fakes = self.fake_levels(ctx.z(n), levels, c)
        loss_real, loss_fake, logits_real, logits_fake = [], [], [], []
        for size, (x, coarse), fake in zip(self.sizes, levels, fakes):
            r = self.D(x, c, coarse).float()
            f = self.D(fake, c, coarse).float()
            loss_real.append(self.loss.d_real(r).mean())
            loss_fake.append(self.loss.d_fake(f).mean())
            logits_real.append(r.mean())
            logits_fake.append(f.mean())
            ctx.report(f"Loss/D/{size_name(size)}", loss_real[-1] + loss_fake[-1])
        real_total, fake_total = sum(loss_real), sum(loss_fake)
        for name, value in (("Loss/D/real", real_total), ("Loss/D/fake", fake_total),
                            ("Logits/D/real", sum(logits_real) / len(levels)),
                            ("Logits/D/fake", sum(logits_fake) / len(levels))):
            ctx.report(name, value)
        loss = real_total + fake_total
        ctx.report("Loss/D", loss)
        return loss

    def g_loss(self, ctx: StepContext) -> torch.Tensor:
        levels, c, n = self._batch(ctx)
        fakes = self.fake_levels(ctx.z(n), levels, c)
        per_level = []
        for size, (_, coarse), fake in zip(self.sizes, levels, fakes):
            per_level.append(self.loss.g(self.D(fake, c, coarse).float()).mean())
            ctx.report(f"Loss/G/{size_name(size)}", per_level[-1])
        loss = sum(per_level)
        ctx.report("Loss/G", loss)
        return loss
