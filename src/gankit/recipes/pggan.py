"""Progressive growing of GANs (Karras, Aila, Laine, Lehtinen 2018): G and D start at 4x4 and grow, a level at a time,
to the data's resolution, each new level faded in over as many images as the level below was trained alone.

The schedule, in images seen (the authors' ``TrainingSchedule``): with ``P = pggan.phase_kimg`` thousand images, the
level of detail (0 = full resolution, ``L = log2(R / 4)`` = 4x4) after ``n`` images is
``lod = L - floor(n / 2P) - max(n mod 2P - P, 0) / P``, clipped at 0: each resolution is stable for P images, then
the next one fades in over P. Growth ends after ``2 P L`` images; the run's remaining images train the full
resolution (with the default, 4 halves: the paper's 2400 of 12000 kimg). The reals D sees are faded alike: at
``lod = k + f``, the image averaged down to level k is blended with its own 2x2-box downscale by ``f``, then
upscaled to full size. ``lod`` depends on images seen alone, so a resume with another ``--kimg`` keeps it.

The run's stages are, per resolution, a fade-in and a stable stage; both nets' optimizers start afresh at the start
and at the end of every fade-in (``pggan.reset_opt``, the authors' ``reset_opt_for_new_lod``), and each stage has its
batch: ``min(pggan.batch_max, batch * R / res)`` at resolution ``res`` (with batch 16 at 128x128, the authors'
one-GPU ``minibatch_dict``: 128 up to 16x16, 64, 32, 16).

Defaults (the authors' code): WGAN-GP (``gp`` 10) plus the drift term ``pggan.drift * E[D(real)^2]`` (0.001) for D,
``-D(G(z))`` for G, one D step per G step; Adam lr 0.001, betas (0, 0.99), eps 1e-8 for both; G's moving average
0.999, no ramp-up; latent 512; ``fmap_base`` 8192, ``fmap_max`` 512; minibatch stddev groups of 4; batch 16.
``pggan.phase_kimg`` 0 picks P from the run's length so that every resolution gets a stable and a fade-in half and
the final one 4 halves (P = kimg / (2 L + 4); the paper's 600 of 12000 at 1024x1024); a run given in steps has P
chosen so that those steps, at the stages' batches, cover the same halves. Both choices are recorded in the run's
config. Any other adversarial loss and the adversarial presets' tricks apply through ``--set``.

The networks take 4 * 2^k pixels (8, 16, 32, ...). Images of another size, such as crops of 100x100 pixels, train
unscaled on the next such size with ``--set data.resolution=128 data.canvas=128`` (each is padded onto a 128x128
canvas; ``data.mask=true`` lets samples be cut back to their content).

Departures: no class labels (the authors add an AC-GAN term); the schedule moves every step (theirs every 4
minibatches); the learning rate does not grow at high resolutions (their ``G/D_lrate_dict`` 0.0015 at 1024).
"""

from __future__ import annotations

import math

import torch

from gankit.config import ConfigError, Key, at_least, count, one_of
from gankit.nets.pggan import downscale, upscale
from gankit.recipes.adversarial import KEYS as ADVERSARIAL_KEYS, Adversarial, adam, preset
from gankit.recipes.base import DataInfo, Stage, StepContext

# Its keys besides the adversarial presets' (which it reads too: loss, gp, tricks, augment.*, ...).
KEYS: dict[str, Key] = {
    "G.arch": Key("pggan", one_of("pggan", means="the growing generator"), "G's network family"),
    "D.arch": Key("pggan", one_of("pggan", means="the growing discriminator"), "D's network family"),
    "cond.mode": Key("none", one_of("none", means="this recipe is unconditional"), "class labels"),
    "G.fmap_base": Key(8192, count(1, high=2 ** 20), "G's feature maps at resolution res: min(2 * fmap_base / res, "
                                                     "fmap_max)"),
    "D.fmap_base": Key(8192, count(1, high=2 ** 20), "D's feature maps at resolution res: min(2 * fmap_base / res, "
                                                     "fmap_max)"),
    "G.fmap_max": Key(512, count(1, high=2 ** 16), "the most feature maps of any level of G"),
    "D.fmap_max": Key(512, count(1, high=2 ** 16), "the most feature maps of any level of D"),
    "D.mbstd_group": Key(4, count(0, "0 or 1 = off", high=2 ** 16),
                         "samples per minibatch standard-deviation group in D (consecutive samples)"),
    "pggan.phase_kimg": Key(0.0, at_least(0, "0 = from the run's length, recorded when it starts"),
                            "thousands of images each resolution is stable for, and each new one fades in over"),
    "pggan.batch_max": Key(0, count(0, "0 = 8 x batch, at most the data set's size", high=2 ** 20),
                           "the largest batch of a stage: a resolution res trains at min(batch_max, batch * R / res)"),
    "pggan.drift": Key(0.001, at_least(0, "0 = off"), "the weight of the drift term E[D(real)^2] in D's loss"),
    "pggan.reset_opt": Key(True, about="start both optimizers afresh at the start and at the end of every fade-in"),
}
ALL_KEYS = {**ADVERSARIAL_KEYS, **KEYS}
HALVES_AT_FULL_SIZE = 4  # with pggan.phase_kimg 0, the final resolution trains for this many phases


def defaults() -> dict:
    """The authors' settings (see the module docstring)."""
    cfg = preset(loss="wasserstein", arch="pggan", opt=adam(1e-3, (0.0, 0.99)), batch=16, gp=10.0)
    for unread in ("hidden", "width", "max_width", "norm"):  # no pggan network takes them
        del cfg[f"G.{unread}"], cfg[f"D.{unread}"]
    del cfg["D.minibatch_std"], cfg["D.minibatch_disc"]
    return {**cfg, "z_dim": 512, "ema.beta": 0.999, "ema.rampup": 0.0, **{k: key.default for k, key in KEYS.items()
                                                        if k not in ("G.arch", "D.arch", "cond.mode")}}


def networks(cfg: dict, data_kind: str) -> dict[str, str]:
    return {"G": "pggan-g", "D": "pggan-d"}


def lod_at(nimg: int, levels: int, phase_nimg: int) -> float:
    """The level of detail after ``nimg`` images: ``levels`` (4x4) for the first phase, then one fade-in and one
    stable phase per level, 0 (full resolution) from ``2 * levels * phase_nimg`` images on."""
    phase, within = divmod(nimg, 2 * phase_nimg)
    return max(levels - phase - max(within - phase_nimg, 0) / phase_nimg, 0.0)


def fade_reals(x: torch.Tensor, lod: float) -> torch.Tensor:
    """Real images as D sees them at ``lod = k + f``: averaged down by 2^k, blended with their own 2x2-box downscale
    (nearest-upscaled back) by ``f``, nearest-upscaled to full size."""
    k = math.floor(lod)
    x = downscale(x, 2 ** k)
    if lod > k:
        x = torch.lerp(x, upscale(downscale(x, 2), 2), lod - k)
    return upscale(x, 2 ** k)


class _FadedReals:
    """A step context whose real batches are faded to the current level of detail (for D's loss, its gradient
    penalty and feature matching alike)."""

    def __init__(self, ctx: StepContext, lod: float):
        self._ctx, self._lod = ctx, lod

    def __getattr__(self, name):
        return getattr(self._ctx, name)

    def real(self):
        x, y = self._ctx.real()
        return fade_reals(x, self._lod), y


class PGGAN(Adversarial):
    progress = (*Adversarial.progress, "Schedule/lod")

    def __init__(self, cfg: dict, info: DataInfo):
        if info.kind != "image":
            raise ConfigError("recipe pggan needs image data (a folder or fashion-mnist): its networks grow images")
        super().__init__(cfg, info)
        self.levels, self.resolution = self.G.levels, info.resolution
        batch = cfg["batch"]
        auto_max = 8 * batch if not info.size else min(8 * batch, max(batch, info.size // batch * batch))
        self.batch_max = cfg["pggan.batch_max"] or auto_max
        if cfg["pggan.phase_kimg"] > 0:
            self.phase_nimg = max(2, round(cfg["pggan.phase_kimg"] * 1000))
        else:
            self.phase_nimg = max(2, round(self._auto_phase_nimg(cfg)))
        self.phase_kimg = self.phase_nimg / 1000

    def _auto_phase_nimg(self, cfg: dict) -> float:
        """Images per phase so that the run covers 2 L + 4 phases: its kimg split evenly, or, for a run given in
        steps, the phase length those steps reach at the stages' batches."""
        halves = 2 * self.levels + HALVES_AT_FULL_SIZE
        if cfg.get("kimg", 0) > 0:
            return cfg["kimg"] * 1000 / halves
        batches = [self.batch_at(4)] + [self.batch_at(4 * 2 ** j) for j in range(1, self.levels + 1) for _ in (0, 1)]
        batches += [self.batch_at(self.resolution)] * (halves - len(batches))
        return cfg["steps"] / sum(1 / b for b in batches)

    def batch_at(self, resolution: int) -> int:
        """The global batch of the stages at ``resolution``."""
        return min(self.batch_max, self.cfg["batch"] * self.resolution // resolution)

    def stages(self) -> list[Stage]:
        """A stable 4x4 stage, then per level a fade-in (from the first image past the stable phase, where the lod
        stops being whole) and a stable stage; optimizers reset on entering each but the first."""
        reset = ("G", "D") if self.cfg["pggan.reset_opt"] else ()
        out = [Stage("4x4 stable", 0, self.batch_at(4))]
        for j in range(1, self.levels + 1):
            r = 4 * 2 ** j
            out.append(Stage(f"{r}x{r} fade-in", (2 * j - 1) * self.phase_nimg + 1, self.batch_at(r), reset))
            out.append(Stage(f"{r}x{r} stable", 2 * j * self.phase_nimg, self.batch_at(r), reset))
        return out

    def enter(self, stage: Stage) -> None:
        self.follow(stage.start_nimg)

    def follow(self, nimg: int) -> float:
        """Set both nets to the level of detail of ``nimg`` images seen; returns it."""
        lod = lod_at(nimg, self.levels, self.phase_nimg)
        self.G.set_lod(lod)
        self.D.set_lod(lod)
        return lod

    def chosen(self) -> dict:
        picked = {"pggan.phase_kimg": self.phase_kimg, "pggan.batch_max": self.batch_max}
        return {k: v for k, v in picked.items() if not self.cfg[k]}

    def notes(self) -> list[str]:
        sizes = [4 * 2 ** j for j in range(self.levels + 1)]
        batches = ", ".join(f"{r}: {self.batch_at(r)}" for r in sizes)
        grown = 2 * self.levels * self.phase_kimg
        return [*super().notes(), f"pggan: {self.phase_kimg:g} kimg per phase (pggan.phase_kimg), growth 4x4 -> "
                f"{self.resolution}x{self.resolution} done after {grown:g} kimg; batch by resolution {batches}"]

    def d_loss(self, ctx: StepContext) -> torch.Tensor | None:
        lod = self.follow(ctx.nimg)
        ctx.report("Schedule/lod", self.G.lod)
        return super().d_loss(_FadedReals(ctx, lod))

    def g_loss(self, ctx: StepContext) -> torch.Tensor | None:
        return super().g_loss(_FadedReals(ctx, self.follow(ctx.nimg)))

    def discriminate_real(self, x: torch.Tensor, c: torch.Tensor | None, ctx: StepContext):
        """D's logits on the reals, and the drift term from them, which keeps D's output near 0 (WGAN's critic has
        no other anchor)."""
        logits, aux, own = super().discriminate_real(x, c, ctx)
        if self.cfg["pggan.drift"] > 0:
            drift = logits.square().mean()
            ctx.report("Loss/D/drift", drift)
            own = self.cfg["pggan.drift"] * drift if own is None else own + self.cfg["pggan.drift"] * drift
        return logits, aux, own
