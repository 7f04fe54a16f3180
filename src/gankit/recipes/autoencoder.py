"""Autoencoder (Hinton & Salakhutdinov 2006) and VAE (Kingma & Welling 2014) as one-phase recipes.

One phase updates net "G", an autoencoder whose forward pass decodes (``nets.autoencoder``), so
sampling, evaluation and export treat it as any generator. The loss per image is

    reconstruction  (+ beta * KL(q(z|x) || N(0, I)) for the VAE),

each summed over the pixels (or coordinates) of one image, then averaged over the batch: the
negative ELBO per image, as in the paper, at beta=1. A per-pixel mean would weaken the
reconstruction against the KL term by the pixel count, and the VAE would drift towards the prior.

Reconstruction (``recon``): ``bce``, the Bernoulli cross-entropy of pixels mapped from [-1, 1] to
[0, 1], taken on the decoder's logits; ``mse``, the squared error in the data's own units (for
images in [-1, 1]: a Gaussian decoder of variance 1/2, up to a constant); ``auto``, bce for images
and mse for 2-D points.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gankit.config import ConfigError, Key, at_least, one_of
from gankit.nets.dcgan import MAX_WIDTH
from gankit.recipes.adversarial import adam, build_net, families, net_arch
from gankit.recipes.base import DataInfo, Objective, Phase, StepContext

# Its keys besides the trainer's and its network's (G.*: recipes.base.NET_KEYS); beta is the VAE's alone.
KEYS: dict[str, Key] = {
    "recon": Key("auto", one_of("auto", "bce", "mse", means="auto: bce for images, mse for 2-D points"),
                 "the reconstruction loss"),
    "G.arch": Key("dcgan", one_of(*families("ae")), "the autoencoder's network family"),
    "beta": Key(1.0, at_least(0, "the KL term's weight"), "the weight of the VAE's KL term"),
}


def bce_reconstruction(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Per-image Bernoulli cross-entropy [N] of images ``x`` in [-1, 1] under pixel logits."""
    return F.binary_cross_entropy_with_logits(logits.float(), (x.float() + 1) / 2, reduction="none").flatten(1).sum(1)


def mse_reconstruction(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Per-image summed squared error [N]."""
    return (x_hat.float() - x.float()).square().flatten(1).sum(1)


def kl_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Per-image KL(N(mu, exp(logvar)) || N(0, I)) [N], closed form, summed over latent dimensions."""
    mu, logvar = mu.float(), logvar.float()
    return 0.5 * (mu.square() + logvar.exp() - 1 - logvar).sum(1)


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """z = mu + sigma * eps with eps ~ N(0, I): a sample of q(z|x) that gradients flow through to mu and logvar."""
    return mu + (0.5 * logvar).exp() * eps


class Autoencoding(Objective):
    """``ae`` (``variational=False``) and ``vae``: reconstruction, plus beta * KL for the VAE."""

    def __init__(self, cfg: dict, info: DataInfo, variational: bool):
        self.cfg, self.variational = cfg, variational
        self.progress = ("Loss/recon", "Loss/KL", "Loss/total") if variational else ("Loss/recon",)
        recon = cfg["recon"]
        self.recon = ("bce" if info.kind == "image" else "mse") if recon == "auto" else recon
        if self.recon == "bce" and info.kind != "image":
            raise ConfigError("--set recon=bce: Bernoulli cross-entropy needs images (pixels in [-1, 1]); "
                              "use recon=mse for 2-D points")
        self.G = build_net(cfg, "G", info, networks(cfg, info.kind)["G"], variational=variational)
        self.nets = {"G": self.G}

    def phases(self) -> list[Phase]:
        return [Phase("G", "G", self.loss)]

    def loss(self, ctx: StepContext) -> torch.Tensor:
        x, _ = ctx.real()
        if self.variational:
            mu, logvar = self.G.encode(x)
            # eps from the run's latent RNG: resume and multi-GPU runs draw what one process would
            z = reparameterize(mu.float(), logvar.float(), ctx.z(x.shape[0]))
            kl = kl_standard_normal(mu, logvar).mean()
        else:
            z = self.G.encode(x)
        logits = self.G.decode_logits(z)
        recon = (bce_reconstruction(logits, x) if self.recon == "bce"
                 else mse_reconstruction(self.G.from_logits(logits.float()), x)).mean()
        loss = recon
        ctx.report("Loss/recon", recon)
        if self.variational:
            ctx.report("Loss/KL", kl)
            loss = recon + self.cfg["beta"] * kl
            ctx.report("Loss/total", loss)  # the AE's total is its reconstruction loss
        return loss


def networks(cfg: dict, data_kind: str) -> dict[str, str]:
    return {"G": net_arch(cfg, "G", data_kind, "ae")}


def ae(cfg: dict, info: DataInfo) -> Autoencoding:
    return Autoencoding(cfg, info, variational=False)


def vae(cfg: dict, info: DataInfo) -> Autoencoding:
    return Autoencoding(cfg, info, variational=True)


def defaults(arch: str = "dcgan", z_dim: int = 16, beta: float | None = None) -> dict:
    """The full default config (every key can be changed with --set); ``beta`` only for the VAE."""
    cfg = {"recon": KEYS["recon"].default, "z_dim": z_dim, "batch": 128, "steps": 5000,
           "G.arch": arch, "G.width": 32, "G.max_width": MAX_WIDTH, "G.norm": "batch", "G.hidden": [512, 256],
           **{f"G.{k}": v for k, v in adam(1e-3, (0.9, 0.999)).items()}}
    if beta is not None:
        cfg["beta"] = beta
    return cfg
