"""The adversarial recipe: G vs D with a chosen loss and regularizers. Most classic GANs are presets of it."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gankit import losses, nets
from gankit.config import ConfigError, Key, at_least, count, one_of, share
from gankit.nets.dcgan import MAX_WIDTH
from gankit.recipes.base import ROLE_KEYS, DataInfo, Objective, Phase, StepContext
from gankit.regularizers import clip_weights, gradient_penalty, r1_penalty
from gankit.regularizers.augment import OPS, AdaptiveP, ada_speed, augment, parse_policy
from gankit.regularizers.historical_averaging import HistoricalAverage
from gankit.regularizers.instance_noise import instance_noise
from gankit.regularizers.labels import targets

IMAGE_ONLY_ARCHES = {"dcgan", "resnet", "fastgan", "pggan", "r3gan"}
MAX_PARAMETERS = 10 ** 9  # per network: 16 GB to train with Adam in float32, far above any GAN of the papers here


def net_arch(cfg: dict, role: str, data_kind: str, kind: str | None = None) -> str:
    """The registered network of ``role``: ``<family>-<kind>`` (kind defaults to the role: ``dcgan-g``), the family
    from ``cfg['<role>.arch']``, an MLP on 2-D points, which have no image to convolve."""
    family = cfg[f"{role}.arch"]
    if data_kind == "points" and family in IMAGE_ONLY_ARCHES:
        family = "mlp"  # the loss and schedule stay the recipe's
    return f"{family}-{kind or role.lower()}"


def networks(cfg: dict, data_kind: str) -> dict[str, str]:
    """The networks an adversarial preset builds, by role."""
    return {"G": net_arch(cfg, "G", data_kind), "D": net_arch(cfg, "D", data_kind)}


def build_net(cfg: dict, role: str, info: DataInfo, arch: str | None = None, **fixed) -> nn.Module:
    """Build network ``role`` (``arch``, by default ``net_arch``'s) from the ``<role>.*`` keys that are its arguments.

    ``fixed`` are arguments the recipe decides, not the user (a VAE's ``variational=True``).
    """
    arch = arch or net_arch(cfg, role, info.kind)
    cls = nets.NETS[arch]  # <role>.arch takes only registered families (its rule in KEYS)
    accepted = cls.accepts()
    kwargs = {k.split(".", 1)[1]: v for k, v in cfg.items()
              if k.startswith(role + ".") and k.split(".", 1)[1] in accepted - ROLE_KEYS}
    kwargs.update(cls.data_kwargs(info, cfg))
    kwargs.update(fixed)
    try:
        with torch.device("meta"):  # sized without memory: an absurd network is refused before it is built
            size = sum(p.numel() for p in nets.build(arch, **kwargs).parameters())
        if size > MAX_PARAMETERS:
            sizes = [f"{role}.{k}" for k in ("width", "hidden") if k in accepted] + \
                    (["z_dim"] if "z_dim" in accepted else [])
            raise ConfigError(f"{size:.2g} parameters (some {size * 16 / 1e9:,.0f} GB to train with Adam in float32), "
                              f"above the {MAX_PARAMETERS:.0e} gankit builds; lower {' or '.join(sizes) or 'the sizes'}")
        return nets.build(arch, **kwargs)
    except ValueError as e:
        raise ConfigError(f"{role} network {arch}: {e}") from None


TARGET_LOSSES = {"minimax", "nonsaturating", "least-squares"}  # losses whose real/fake labels tricks can move


class Adversarial(Objective):
    """D minimises loss.d_real + loss.d_fake (+ gp * penalty); G minimises loss.g (or feature matching).

    Options (all ``--set`` keys of every adversarial preset): weight clipping, gradient penalty,
    label smoothing / noisy / flipped labels, instance noise, feature matching, DiffAugment or ADA,
    packing (PacGAN), and a balanced D/G schedule driven by D's detection rates.
    """

    progress = ("Loss/G", "Loss/D/real", "Loss/D/fake")

    def __init__(self, cfg: dict, info: DataInfo):
        self.cfg = cfg
        self.loss = losses.get(cfg["loss"])
        self.pack = cfg["tricks.pack"]
        self._check_pack(cfg)
        self.G = build_net(cfg, "G", info)
        # PacGAN: D judges `pack` samples at once, stacked along the first (channel / coordinate) axis
        self.D = build_net(cfg, "D", DataInfo(info.kind, (info.shape[0] * self.pack, *info.shape[1:]),
                                              info.num_classes))
        self.nets = {"G": self.G, "D": self.D}
        uses_labels = cfg["tricks.label_smoothing"] != 1.0 or cfg["tricks.noisy_labels"] or cfg["tricks.flip_labels"] > 0
        if uses_labels and cfg["loss"] not in TARGET_LOSSES:
            raise ConfigError(f"label tricks need a loss with labels ({', '.join(sorted(TARGET_LOSSES))}), "
                              f"not loss={cfg['loss']}")
        for penalty in ("r1", "r2"):
            if cfg[penalty] > 0 and cfg.get("amp") == "fp16":
                raise ConfigError(f"--set {penalty}={cfg[penalty]} with amp=fp16: its input gradient is taken from the "
                                  "fp16 forward pass without the loss scale and can underflow to 0; use amp=bf16 or "
                                  "amp=off")
        if self.loss.paired and cfg["balance"]:
            raise ConfigError(f"--set balance=true: the balanced schedule drops D's real or fake term, which "
                              f"loss={cfg['loss']} scores together; use another loss")
        self.policy = parse_policy(cfg["augment.policy"])
        self.colour_channels = info.channels - 1 if info.mask else None  # a content mask is not recoloured
        if (self.policy or cfg["augment.ada"]) and info.kind != "image":
            raise ConfigError("augment.policy / augment.ada: augmentation needs image data")
        self.mode = cfg["cond.mode"]
        self.num_classes = info.num_classes if self.mode != "none" else 0
        self.ada, self._ada_why = None, ""
        if cfg["augment.ada"]:
            speed, self._ada_why = ((cfg["ada.kimg"], "ada.kimg") if cfg["ada.kimg"] > 0
                                    else ada_speed(cfg["steps"] * cfg["batch"] / 1000, info.size, cfg["batch"]))
            self.ada = AdaptiveP(cfg["ada.target"], speed)
            self.progress = (*self.progress, "Augment/p")
        self.history = ({"G": HistoricalAverage(self.G), "D": HistoricalAverage(self.D)}
                        if cfg["tricks.historical_averaging"] > 0 else {})
        if self.ada is not None and not self.policy:
            self.policy = list(OPS)
        if cfg["reuse_fakes"] and cfg["n_critic"] != 1:
            raise ConfigError(f"--set reuse_fakes=true: the G step reuses the fakes of a single D step; "
                              f"it needs n_critic=1, not {cfg['n_critic']}")
        self._kept: tuple[torch.Tensor, torch.Tensor | None] | None = None  # the D step's fakes, for the G step

    def _check_pack(self, cfg: dict) -> None:
        if self.pack > 1 and cfg["cond.mode"] != "none":
            raise ConfigError(f"--set tricks.pack={self.pack}: packing is for unconditional recipes (cond.mode=none)")
        if self.pack > 1 and cfg["gp"] > 0:
            raise ConfigError(f"--set tricks.pack={self.pack}: not combined with a gradient penalty (gp={cfg['gp']})")
        if cfg["batch"] % self.pack:
            raise ConfigError(f"--set tricks.pack={self.pack}: batch {cfg['batch']} must be a multiple of it")

    def packed(self, x: torch.Tensor) -> torch.Tensor:
        """[N, C, ...] -> [N / pack, pack * C, ...]: consecutive samples become one input of D (PacGAN)."""
        if self.pack == 1:
            return x
        if x.shape[0] % self.pack:
            raise ConfigError(f"--set tricks.pack={self.pack}: a batch of {x.shape[0]} per process is not a multiple of it")
        return x.reshape(x.shape[0] // self.pack, self.pack * x.shape[1], *x.shape[2:])

    def phases(self) -> list[Phase]:
        after_d = [lambda: clip_weights(self.D, self.cfg["clip"])] if self.cfg["clip"] > 0 else []
        after_g = []
        if self.history:
            after_d.append(self.history["D"].update)
            after_g.append(self.history["G"].update)
        return [Phase("D", "D", self._with_history(self.d_loss, "D"), repeat=self.cfg["n_critic"], after_step=after_d),
                Phase("G", "G", self._with_history(self.g_loss, "G"), after_step=after_g)]

    def _with_history(self, loss_fn, name: str):
        """Add the historical-averaging penalty of net ``name`` to its loss, when that trick is on."""
        if not self.history:
            return loss_fn

        def loss_with_penalty(ctx):
            loss = loss_fn(ctx)
            if loss is None:
                return None
            penalty = self.history[name].penalty()
            ctx.report(f"Loss/{name}/history", penalty)
            return loss + self.cfg["tricks.historical_averaging"] * penalty

        return loss_with_penalty

    def state_dict(self) -> dict:
        state = {"ada": self.ada.state_dict()} if self.ada is not None else {}
        state.update({f"history_{n}": h.state_dict() for n, h in self.history.items()})
        return state

    def load_state_dict(self, state: dict) -> None:
        if self.ada is not None:
            self.ada.load_state_dict(state["ada"])
        for n, h in self.history.items():
            h.load_state_dict(state[f"history_{n}"])

    def notes(self) -> list[str]:
        if self.ada is None:
            return []
        return [f"ADA: p may move from 0 to 1 in {self.ada.speed_kimg:.3g} kimg ({self._ada_why}); its target "
                f"E[sign D(real)] = {self.cfg['ada.target']:g}; p is logged as Augment/p"]

    def d_input(self, x: torch.Tensor, ctx: StepContext) -> torch.Tensor:
        """What D sees: augmented (DiffAugment, or ADA with probability p) and with annealed instance noise."""
        if self.policy:
            x = augment(x, self.policy, self.ada.p if self.ada is not None else 1.0, ctx.generator,
                        self.colour_channels)
        if self.cfg["tricks.instance_noise"] > 0:
            x = instance_noise(x, self.cfg["tricks.instance_noise"], ctx.progress, ctx.generator,
                               self.cfg["tricks.instance_noise_until"])
        return x

    def generate(self, G: nn.Module, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return G(z, c) if self.num_classes else G(z)

    def discriminate(self, x: torch.Tensor, c: torch.Tensor | None, ctx: StepContext):
        """D's logits and, for ACGAN, the cross-entropy of its class head against ``c``."""
        x = self.packed(x)
        if self.mode == "aux":
            logits, classes = self.D.forward_aux(x)
            return logits.float(), F.cross_entropy(classes.float(), c)
        return (self.D(x, c) if self.mode == "input" else self.D(x)).float(), None

    def discriminate_real(self, x: torch.Tensor, c: torch.Tensor | None, ctx: StepContext):
        """``discriminate`` on the real batch, and a loss of D's own from that pass to add to D's (None here;
        FastGAN's reconstruction of the reals from D's features)."""
        return (*self.discriminate(x, c, ctx), None)

    def penalty_weights(self, ctx: StepContext) -> tuple[float, float]:
        """R1's and R2's gamma for this step (a recipe may schedule them by images seen)."""
        return self.cfg["r1"], self.cfg["r2"]

    def d_loss(self, ctx: StepContext) -> torch.Tensor | None:
        cfg = self.cfg
        gamma_r1, gamma_r2 = self.penalty_weights(ctx)
        real, y = ctx.real()
        c = ctx.labels(real.shape[0]) if self.num_classes else None
        fake = self.d_fakes(ctx, real.shape[0], c)
        real_in = self.d_input(real, ctx)
        if gamma_r1 > 0:
            real_in = real_in.detach().requires_grad_(True)
        fake_in = self.d_input(fake, ctx)
        if gamma_r2 > 0:
            fake_in = fake_in.detach().requires_grad_(True)
        r, aux_real, own_real = self.discriminate_real(real_in, y, ctx)
        f, aux_fake = self.discriminate(fake_in, c, ctx)  # separate batches, as DCGAN's batch norm expects
        if self.loss.paired:  # one term for both: reported as D's loss on the reals, none on the fakes
            loss_real, loss_fake = self.loss.d_pair(r, f).mean(), None
        else:
            t_real, t_fake = targets(r.shape[0], smooth=cfg["tricks.label_smoothing"], noisy=cfg["tricks.noisy_labels"],
                                     flip=cfg["tricks.flip_labels"], device=r.device, generator=ctx.generator)
            loss_real = self.loss.d_real(r, t_real).mean()
            loss_fake = self.loss.d_fake(f, t_fake).mean()
            ctx.report("Loss/D/fake", loss_fake)
        for name, value in (("Loss/D/real", loss_real), ("Logits/D/real", r.mean()), ("Logits/D/fake", f.mean())):
            ctx.report(name, value)
        if self.ada is not None:
            # r_t and the step size from the global batch: every rank moves p alike, as one process would
            self.ada.observe(ctx.mean_over_ranks(r.detach().float().sign().mean()), cfg["batch"])
            ctx.report("Augment/p", self.ada.p)
        if cfg["balance"]:
            loss_real, loss_fake = self._balance_d(r, f, loss_real, loss_fake, ctx)
            if loss_real is None and loss_fake is None:
                return None
        loss = sum(v for v in (loss_real, loss_fake, own_real) if v is not None)
        if aux_real is not None:
            ctx.report("Loss/D/aux", aux_real + aux_fake)
            loss = loss + cfg["cond.aux_weight"] * (aux_real + aux_fake)
        if cfg["gp"] > 0:
            D = (lambda x: self.D(x, y)) if self.mode == "input" else self.D  # interpolates carry the real labels
            gp = gradient_penalty(D, real, fake, generator=ctx.generator)
            ctx.report("Loss/D/gp", gp)
            loss = loss + cfg["gp"] * gp
        if gamma_r1 > 0:
            r1 = r1_penalty(r, real_in)
            ctx.report("Loss/D/r1", r1)
            loss = loss + gamma_r1 / 2 * r1
        if gamma_r2 > 0:  # R2: the same zero-centred penalty at the fakes D saw, from that same forward pass
            r2 = r1_penalty(f, fake_in)
            ctx.report("Loss/D/r2", r2)
            loss = loss + gamma_r2 / 2 * r2
        ctx.report("Loss/D", loss)
        return loss

    def _balance_d(self, r, f, loss_real, loss_fake, ctx):
        """Train D on fakes only while it detects fewer than balance.fake of them, on reals likewise (one host sync)."""
        rates = ctx.mean_over_ranks(torch.stack([(r > 0).float().mean(), (f < 0).float().mean()]))
        ctx.report("Balance/D_detects_real", rates[0])
        ctx.report("Balance/D_detects_fake", rates[1])
        real_rate, fake_rate = rates.tolist()  # under torchrun: the global rates, so every rank decides alike
        return (loss_real if real_rate < self.cfg["balance.real"] else None,
                loss_fake if fake_rate < self.cfg["balance.fake"] else None)

    def d_fakes(self, ctx: StepContext, n: int, c: torch.Tensor | None) -> torch.Tensor:
        """The D step's fakes. With ``reuse_fakes`` they are made with G's graph and kept for the G step,
        as pytorch/examples' DCGAN does: one G forward pass per iteration instead of two."""
        if not self.cfg["reuse_fakes"]:
            with torch.no_grad():
                return self.fakes(ctx, n, c)
        trains = [p.requires_grad for p in self.G.parameters()]
        self.G.requires_grad_(True)  # the trainer froze G for D's phase; the kept graph must reach G's weights
        try:
            fake = self.fakes(ctx, n, c)
        finally:
            for p, flag in zip(self.G.parameters(), trains):
                p.requires_grad_(flag)
        self._kept = (fake, c)
        return fake.detach()

    def g_fakes(self, ctx: StepContext) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Fakes for the G step and their labels: the D step's when kept (``reuse_fakes``), else fresh ones."""
        if self._kept is not None:
            kept, self._kept = self._kept, None
            return kept
        c = ctx.labels(ctx.batch) if self.num_classes else None
        return self.fakes(ctx, ctx.batch, c), c

    def fakes(self, ctx: StepContext, n: int, c: torch.Tensor | None) -> torch.Tensor:
        """``n`` samples of G for a training step; a G with randomness of its own (FastGAN's noise injection) is
        handed the step's per-sample generator here, so sampling outside training stays a function of z."""
        return self.generate(self.G, ctx.z(n), c)

    def g_loss(self, ctx: StepContext) -> torch.Tensor | None:
        fake, c = self.g_fakes(ctx)
        loss = self.g_adversarial(fake, c, ctx)
        if loss is not None:
            ctx.report("Loss/G", loss)
        return loss

    def g_adversarial(self, fake: torch.Tensor, c: torch.Tensor | None, ctx: StepContext) -> torch.Tensor | None:
        """G's loss against D on ``fake`` (feature matching, balance and ACGAN's class term included)."""
        fake_in = self.d_input(fake, ctx)
        if self.cfg["tricks.feature_matching"]:
            real, y = ctx.real()
            d_c = (lambda labels: labels) if self.mode == "input" else (lambda labels: None)
            with torch.no_grad():
                target = self.D.features(self.packed(self.d_input(real, ctx)), d_c(y)).float().flatten(1).mean(0)
            return (self.D.features(self.packed(fake_in), d_c(c)).float().flatten(1).mean(0) - target).square().sum()
        f, aux = self.discriminate(fake_in, c, ctx)
        if self.loss.paired:  # scored against a real batch: D's logits on it carry no gradient to G
            real, y = ctx.real()
            with torch.no_grad():
                r, _ = self.discriminate(self.d_input(real, ctx), y, ctx)
            loss = self.loss.g_pair(r, f).mean()
            if aux is not None:
                ctx.report("Loss/G/aux", aux)
                loss = loss + self.cfg["cond.aux_weight"] * aux
            return loss
        if self.cfg["balance"]:
            detects = float(ctx.mean_over_ranks((f < 0).float().mean()))
            if detects < self.cfg["balance.g"]:
                return None  # D is fooled often enough: let it catch up
        loss = self.loss.g(f).mean()
        if aux is not None:
            ctx.report("Loss/G/aux", aux)
            loss = loss + self.cfg["cond.aux_weight"] * aux
        return loss


def families(kind: str) -> tuple[str, ...]:
    """The network families registered for ``kind`` (``g``: mlp, dcgan, resnet): what ``<role>.arch`` takes."""
    return tuple(sorted(arch[:-len(kind) - 1] for arch in nets.NETS if arch.endswith("-" + kind)))


# Every key of an adversarial preset besides its networks' (``recipes.base.NET_KEYS``), all read by the recipe.
# The tricks are off by default; every preset accepts them through --set.
KEYS: dict[str, Key] = {
    "loss": Key("nonsaturating", one_of(*losses.LOSSES), "the adversarial loss of G and D"),
    "n_critic": Key(1, count(1, "D steps per G step"), "D steps per G step"),
    "clip": Key(0.0, at_least(0, "the weight clipping bound; 0 = off"), "clip D's weights to [-clip, clip] (WGAN)"),
    "gp": Key(0.0, at_least(0, "the gradient penalty's weight; 0 = off"), "the gradient penalty's weight (WGAN-GP)"),
    "G.arch": Key("dcgan", one_of(*families("g")), "G's network family"),
    "D.arch": Key("dcgan", one_of(*families("d")), "D's network family"),
    "tricks.label_smoothing": Key(1.0, share("the target for real images; 1 = off", open_low=True),
                                  "D's target for real images; 0.9 = one-sided label smoothing"),
    "tricks.noisy_labels": Key(False, about="noisy targets: real in [0.7, 1.2], fake in [0, 0.3]"),
    "tricks.flip_labels": Key(0.0, share("the share of labels flipped"), "swap real and fake labels at random"),
    "tricks.instance_noise": Key(0.0, at_least(0, "the noise's starting standard deviation; 0 = off"),
                                 "Gaussian noise on D's inputs, annealed to 0 by tricks.instance_noise_until"),
    "tricks.instance_noise_until": Key(1.0, share("the share of the run at which the noise reaches 0", open_low=True),
                                       "when the instance noise reaches 0"),
    "tricks.feature_matching": Key(False, about="G matches the mean of D's last hidden features"),
    "tricks.historical_averaging": Key(0.0, at_least(0, "the penalty's weight; 0 = off"),
                                       "penalise ||theta - mean of past thetas||^2 for G and D"),
    "tricks.pack": Key(1, count(1, "samples per D input; 1 = off", high=64), "PacGAN: D judges samples in packs"),
    "r1": Key(0.0, at_least(0, "R1's gamma; 0 = off"), "R1 penalty on D's gradient at real images: gamma / 2 * "
                                                      "E ||grad D(real)||^2"),
    "r2": Key(0.0, at_least(0, "R2's gamma; 0 = off"), "R2 penalty on D's gradient at the fakes it judges: gamma / 2 * "
                                                      "E ||grad D(fake)||^2 (R3GAN uses R1 and R2 together)"),
    "reuse_fakes": Key(False, about="G's step reuses the D step's fakes (one G forward less; needs n_critic=1)"),
    "augment.policy": Key("", about=f"DiffAugment of reals and fakes: any of {','.join(OPS)}, comma-separated; "
                                    f"empty = off"),
    "augment.ada": Key(False, about="ADA: adapt the augmentation probability to E[sign D(real)]"),
    "ada.target": Key(0.6, share("the target of E[sign D(real)]"), "the value ADA steers D's overfitting measure to"),
    "ada.kimg": Key(0.0, at_least(0, "thousands of images for p to move from 0 to 1; 0 = auto"),
                    "how fast ADA adapts; 0 = auto: p may cross [0, 1] within the shortest of 500 kimg (the paper's), "
                    "20 passes over the data, a tenth of the run, but no fewer than 50 adjustments"),
    "balance": Key(False, about="train D and G only while D's detection rates call for it"),
    "balance.fake": Key(0.6, share("a detection rate"), "train D on fakes while it detects fewer of them"),
    "balance.real": Key(0.45, share("a detection rate"), "train D on reals while it detects fewer of them"),
    "balance.g": Key(0.5, share("a detection rate"), "train G while D detects at least this share of fakes"),
    "cond.mode": Key("none", one_of("none", "input", "aux"),
                     "class labels: none, input (to G and D: cGAN) or aux (ACGAN's class head in D)"),
    "cond.aux_weight": Key(1.0, at_least(0, "the weight of the classification losses"),
                           "the weight of ACGAN's classification losses"),
}
# The options a preset may set (the rest are preset() arguments).
TRICK_DEFAULTS = {k: key.default for k, key in KEYS.items() if k not in ("loss", "n_critic", "clip", "gp", "G.arch",
                                                                         "D.arch")}


def adam(lr: float, betas=(0.5, 0.999)) -> dict:
    return {"opt": "adam", "lr": lr, "betas": list(betas)}


def rmsprop(lr: float) -> dict:
    return {"opt": "rmsprop", "lr": lr}


def preset(*, loss: str, arch: str, opt: dict, batch: int = 64, n_critic: int = 1, clip: float = 0.0,
           gp: float = 0.0, steps: int = 5000, G: dict | None = None, D: dict | None = None, **options) -> dict:
    """The full default config of an adversarial preset (every key can be changed with --set)."""
    # Every preset carries the arguments of both network families, so --set G.arch=... can switch
    # family (and convolutional presets size their MLP on 2-D points with ``hidden``).
    net_defaults = {"hidden": [256, 256, 256], "width": 64, "max_width": MAX_WIDTH, "norm": "batch"}
    d_defaults = {"minibatch_std": False, "minibatch_disc": 0}  # D-only: minibatch layers against collapse
    cfg = {"loss": loss, "n_critic": n_critic, "clip": clip, "gp": gp, "batch": batch, "steps": steps,
           **TRICK_DEFAULTS}
    unknown = set(options) - set(TRICK_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown preset options {sorted(unknown)}")
    cfg.update(options)
    for role, extra in (("G", G or {}), ("D", D or {})):
        cfg[f"{role}.arch"] = arch
        for k, v in {**net_defaults, **(d_defaults if role == "D" else {}), **extra}.items():
            cfg[f"{role}.{k}"] = v
        for k, v in opt.items():
            cfg[f"{role}.{k}"] = v
    return cfg
