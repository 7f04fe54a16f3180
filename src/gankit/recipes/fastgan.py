"""FastGAN (Liu, Zhu, Song, Elgammal 2021): a light GAN for a few hundred images or fewer.

Its networks (``nets.fastgan``) add skip-layer excitation to G and two simple decoders to D. D minimises the hinge
loss plus, on the real batch, ``recon.weight`` times a reconstruction loss: from the same forward pass that scores the
reals, its decoders rebuild the (augmented) real image at low resolution from D's 8x8 features, and a random quadrant
of it from that quadrant of D's 16x16 features. Having to describe the reals keeps D's features rich on tiny data
sets, where a D that only separates real from fake overfits.

The paper compares reconstructions with LPIPS, a perceptual distance on a pretrained VGG; gankit has no pretrained
network offline, so the distance here is a plain L1 (or MSE) against the real image averaged down to the decoders'
size. Further departures from the authors' code: D takes one image (their D also takes a 128x128 copy of it,
through a second, small branch that has a decoder of its own), a logit per image (their hinge runs on each of 5x5
patch logits, with a random margin in [0.8, 1]), no spectral norm in G, DiffAugment's cutout on by default
(their code uses color and translation), and G's moving average ramped up over the first images.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gankit.config import ConfigError, Key, at_least, one_of
from gankit.nets.fastgan import quadrants
from gankit.recipes.adversarial import KEYS as ADVERSARIAL_KEYS, Adversarial, adam, preset
from gankit.recipes.base import DataInfo, StepContext

RECONSTRUCTIONS = {"l1": F.l1_loss, "mse": F.mse_loss}

# Its keys besides the adversarial presets' (which it reads too: tricks, r1, augment.*, ...).
KEYS: dict[str, Key] = {
    "G.arch": Key("fastgan", one_of("fastgan", means="SLE generator"), "G's network family"),
    "D.arch": Key("fastgan", one_of("fastgan", means="D with decoders, which the reconstruction loss needs"),
                  "D's network family"),
    "cond.mode": Key("none", one_of("none", means="FastGAN is unconditional"), "class labels"),
    "recon": Key("l1", one_of(*RECONSTRUCTIONS, means="in place of the paper's LPIPS, which needs a pretrained VGG"),
                 "the distance between D's reconstructions and the downsampled real image (paper: LPIPS)"),
    "recon.weight": Key(1.0, at_least(0, "0 = plain hinge loss"),
                        "the weight of D's reconstruction loss on real images"),
}
ALL_KEYS = {**ADVERSARIAL_KEYS, **KEYS}


def defaults() -> dict:
    """The paper's settings: hinge loss, Adam 2e-4 betas (0.5, 0.999), batch 8, z 256, G's moving average 0.999; that
    average ramps up (StyleGAN2-ADA's 0.05), else G_ema, and so every snapshot, keeps 0.999^steps of the initial G."""
    cfg = preset(loss="hinge", arch="fastgan", opt=adam(2e-4), batch=8, G={"width": 64, "max_width": 512},
                 D={"width": 32, "max_width": 512}, **{"augment.policy": "color,translation,cutout"})
    for unread in ("G.hidden", "D.hidden", "D.minibatch_std", "D.minibatch_disc"):  # no fastgan network takes them
        del cfg[unread]
    return {**cfg, "z_dim": 256, "ema.beta": 0.999, "ema.rampup": 0.05, **{k: key.default for k, key in KEYS.items()
                                                        if k not in ("G.arch", "D.arch", "cond.mode")}}


def networks(cfg: dict, data_kind: str) -> dict[str, str]:
    return {"G": "fastgan-g", "D": "fastgan-d"}


def reconstruction_loss(D, x: torch.Tensor, which: torch.Tensor, distance: str = "l1"):
    """(D's logits on ``x``, the reconstruction loss of its decoders) from one pass: the whole image against ``x``
    averaged down to the decoder's size, plus quadrant ``which[i]`` of each image against its decoder's."""
    logits, whole, part = D.reconstruct(x, which)
    dist = RECONSTRUCTIONS[distance]
    target_whole = F.adaptive_avg_pool2d(x, whole.shape[-1])
    target_part = F.adaptive_avg_pool2d(quadrants(x, which), part.shape[-1])
    return logits, dist(whole.float(), target_whole.float()) + dist(part.float(), target_part.float())


class FastGAN(Adversarial):
    progress = (*Adversarial.progress, "Loss/D/recon")

    def __init__(self, cfg: dict, info: DataInfo):
        if info.kind != "image":
            raise ConfigError("recipe fastgan needs image data (a folder or fashion-mnist): its D reconstructs images")
        super().__init__(cfg, info)

    def fakes(self, ctx: StepContext, n: int, c: torch.Tensor | None) -> torch.Tensor:
        return self.G(ctx.z(n), noise=ctx.generator)  # the noise injection draws per sample, as augmentations do

    def discriminate_real(self, x: torch.Tensor, c: torch.Tensor | None, ctx: StepContext):
        weight = self.cfg["recon.weight"]
        if weight == 0:
            return super().discriminate_real(x, c, ctx)
        x = self.packed(x)
        which = ctx.generator.randint(0, 4, (x.shape[0],), device=x.device)
        logits, recon = reconstruction_loss(self.D, x, which, self.cfg["recon"])
        ctx.report("Loss/D/recon", recon)
        return logits.float(), None, weight * recon
