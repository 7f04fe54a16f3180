"""Recipes by name. Add a variant by registering a Recipe here (or in a module imported here); the trainer never changes.

Importing this package is light (no torch): ``ABOUT`` names every built-in recipe with its summary and paper, so
``gankit recipes`` lists them and ``--recipe`` is checked, with a suggestion, before torch is imported. The
recipes themselves (``RECIPES``, ``Recipe``, ...) are built on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gankit.config import TRAINER_KEYS, TRAINER_RANGES, ConfigError, Key, check_ranges, did_you_mean

if TYPE_CHECKING:
    from gankit.recipes.base import Recipe


@dataclass(frozen=True)
class About:
    summary: str
    paper: str


# Every built-in recipe by name, as `gankit recipes` lists it; ``_register_builtins`` builds each one.
ABOUT: dict[str, About] = {
    "gan": About("GAN with the minimax loss, MLP G and D, k=1 D steps per G step",
                 "Goodfellow et al. 2014, Generative Adversarial Nets"),
    "nsgan": About("GAN with the non-saturating G loss (-log D(G(z))), MLP G and D",
                   "Goodfellow et al. 2014, Generative Adversarial Nets (sec. 3)"),
    "dcgan": About("Deep convolutional GAN: strided convs, batch norm, Adam 2e-4 beta1 0.5, batch 128",
                   "Radford, Metz, Chintala 2016, Unsupervised Representation Learning with DCGANs"),
    "lsgan": About("Least-squares GAN (a=0, b=1, c=1) on DCGAN networks",
                   "Mao et al. 2017, Least Squares Generative Adversarial Networks"),
    "wgan": About("Wasserstein GAN: critic without sigmoid, weight clipping c=0.01, RMSProp 5e-5, n_critic=5",
                  "Arjovsky, Chintala, Bottou 2017, Wasserstein GAN"),
    "wgan-gp": About("WGAN with gradient penalty lambda=10, layer-norm critic, Adam 1e-4 betas (0, 0.9), n_critic=5",
                     "Gulrajani et al. 2017, Improved Training of Wasserstein GANs"),
    "cgan": About("Conditional GAN: one-hot labels fed to G and D, MLP G and D (convolutional: --set G.arch=dcgan "
                  "D.arch=dcgan)", "Mirza & Osindero 2014, Conditional Generative Adversarial Nets"),
    "acgan": About("Auxiliary-classifier GAN: labels fed to G, D also classifies real and fake images",
                   "Odena, Olah, Shlens 2017, Conditional Image Synthesis with Auxiliary Classifier GANs"),
    "unrolled": About("Unrolled GAN: G's loss looks 5 differentiable D steps ahead (SGD surrogate), MLP G and D",
                      "Metz, Poole, Pfau, Sohl-Dickstein 2017, Unrolled Generative Adversarial Networks"),
    "sngan": About("Spectrally normalised ResNet D, ResNet G, hinge loss, n_critic=5, Adam 2e-4 betas (0, 0.9); "
                   "projection D for labels with --set cond.mode=input",
                   "Miyato, Kataoka, Koyama, Yoshida 2018, Spectral Normalization for GANs; Miyato & Koyama 2018 "
                   "(projection)"),
    "hinge": About("Hinge-loss GAN on DCGAN networks, Adam 2e-4 beta1 0.5",
                   "Lim & Ye 2017, Geometric GAN; Miyato et al. 2018, Spectral Normalization"),
    "controlgan": About("ControlGAN: labels fed to G, unconditional WGAN-GP critic, separate classifier on augmented "
                        "reals; G loss = adversarial + gamma * CE(C(G(z, c)), c), gamma adapted (r=1e-3, alpha=1)",
                        "Lee & Seok 2019, Controllable Generative Adversarial Network (settings of the authors' "
                        "CIFAR-10 code)"),
    "fastgan": About("FastGAN for few-shot images: skip-layer excitation in G, D with decoders trained to reconstruct "
                     "real images (L1 here, LPIPS in the paper), hinge loss, DiffAugment, Adam 2e-4 beta1 0.5, batch 8, "
                     "z 256", "Liu, Zhu, Song, Elgammal 2021, Towards Faster and Stabilized GAN Training for "
                     "High-fidelity Few-shot Image Synthesis"),
    "lapgan": About("LAPGAN: a GAN per level of a Laplacian pyramid (coarsest image, then residuals conditioned on the "
                    "upsampled coarser image), sampled coarse to fine; levels trained together on the real pyramid, "
                    "non-saturating loss, Adam 2e-4 beta1 0.5, batch 128, z 100",
                    "Denton, Chintala, Szlam, Fergus 2015, Deep Generative Image Models using a Laplacian Pyramid of "
                    "Adversarial Networks"),
    "pggan": About("Progressive growing: G and D grow from 4x4 to the data's size, each level faded in over images "
                   "seen (reals too); pixel norm, equalised learning rate, minibatch stddev; WGAN-GP + drift, Adam 1e-3 "
                   "betas (0, 0.99), batch by resolution, z 512",
                   "Karras, Aila, Laine, Lehtinen 2018, Progressive Growing of GANs for Improved Quality, Stability, "
                   "and Variation"),
    "r3gan": About("R3GAN, the modern baseline: relativistic pairing loss with R1 and R2 (gamma 0.05), ResNet of "
                   "inverted bottlenecks without normalisation, Adam betas (0, 0.9), lr, beta2 and gamma decayed by "
                   "images seen, batch 512, z 64",
                   "Huang, Gokaslan, Kuleshov, Tompkin 2024, The GAN is dead; long live the GAN! A Modern GAN "
                   "Baseline"),
    "stackgan": About("StackGAN: a stage-I generator at a quarter of the side refined by a stage-II generator, "
                      "conditioning augmentation of the class (KL weight 2), matching-aware D per stage (real, wrong "
                      "class, fake), BCE, Adam 2e-4 beta1 0.5, stages trained jointly (StackGAN++) or in sequence; "
                      "unconditional without labels",
                      "Zhang et al. 2017, StackGAN: Text to Photo-realistic Image Synthesis with Stacked GANs; "
                      "Zhang et al. 2018, StackGAN++"),
    "ae": About("Autoencoder: conv encoder (DCGAN D body) + DCGAN G decoder, reconstruction loss (bce on images, mse "
                "on points), Adam 1e-3; MLP with --set G.arch=mlp",
                "Hinton & Salakhutdinov 2006, Reducing the Dimensionality of Data with Neural Networks"),
    "vae": About("Variational autoencoder: reconstruction + beta * KL(q(z|x) || N(0, I)), reparameterised codes, "
                 "beta=1, Adam 1e-3; decodes N(0, I) samples like a generator",
                 "Kingma & Welling 2014, Auto-Encoding Variational Bayes"),
}

_RECIPES: dict[str, Recipe] = {}
_builtins_registered = False


def __getattr__(name: str):
    """``RECIPES`` (every recipe, built on first use) and the classes of ``recipes.base``, imported with torch."""
    if name == "RECIPES":
        return _registry()
    if name in ("DataInfo", "Objective", "Phase", "Recipe", "NET_RULES"):
        from gankit.recipes import base

        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _registry() -> dict[str, Recipe]:
    global _builtins_registered
    if not _builtins_registered:
        _builtins_registered = True
        _register_builtins()
    return _RECIPES


def register(recipe: Recipe) -> Recipe:
    if recipe.name in _RECIPES:
        raise ValueError(f"recipe {recipe.name!r} is already registered")
    _RECIPES[recipe.name] = recipe
    return recipe


def listing() -> dict[str, About]:
    """Every recipe's summary and paper by name, without building a recipe (nor importing torch): the built-ins and
    any recipe registered since."""
    return {**ABOUT, **{name: About(r.summary, r.paper) for name, r in _RECIPES.items() if name not in ABOUT}}


def name_problem(name: str, flag: str = "--recipe") -> str | None:
    """Why ``name`` is no recipe (``--recipe 'dcgna': unknown; did you mean dcgan? ...``), or None."""
    known = listing()
    if name in known:
        return None
    return f"{flag} {name!r}: unknown{did_you_mean(name, known)} (known recipes: {', '.join(known)})"


def get(name: str) -> Recipe:
    recipes = _registry()
    if name not in recipes:
        raise ConfigError(name_problem(name))
    return recipes[name]


def rules(recipe: Recipe) -> dict:
    """The values every key of ``recipe`` takes: the trainer's, its networks' and its own."""
    from gankit.recipes.base import NET_RULES

    return {**TRAINER_RANGES, **NET_RULES, **recipe.ranges}


def keys(recipe: Recipe) -> dict[str, Key]:
    """Every key ``recipe`` may read, declared: the trainer's, its networks' (``?.name`` patterns) and its own."""
    from gankit.recipes.base import NET_KEYS

    return {**TRAINER_KEYS, **NET_KEYS, **recipe.keys}


def data_kind(spec: str) -> str:
    """``points`` for a 2-D mixture, else ``image``: known from ``--data`` before any data is read."""
    from gankit.data import MIXTURES

    return "points" if spec in MIXTURES else "image"


def check_config(cfg: dict, sets: list[str] | tuple = ()) -> None:
    """Refuse a value outside its key's range or choices (the trainer's, the networks' and the recipe's), and a key
    given with ``--set`` (``sets``: its ``key=value`` items) that nothing reads for this recipe, its networks
    and data, each in one line naming the key."""
    recipe = get(cfg["recipe"])
    check_ranges(cfg, rules(recipe))
    kind = data_kind(cfg["data"])
    readers = recipe.reads(cfg, kind)
    for item in sets:
        key = item.split("=", 1)[0].strip()
        if key in cfg and key not in readers:
            raise ConfigError(f"--set {item}: {unread(recipe, cfg, kind, key, readers)}")


def unread(recipe: Recipe, cfg: dict, kind: str, key: str, readers: dict) -> str:
    """Why nothing reads ``key``, and what reads the keys like it."""
    role, _, name = key.partition(".")
    arches = recipe.networks(cfg, kind)
    if role not in arches:
        return f"not read by recipe {recipe.name}; `gankit recipes --show {recipe.name}` lists the keys it reads"
    family = cfg.get(f"{role}.arch")
    on = "2-D points" if kind == "points" else "images"
    why = f"{role}.arch={family} on {on}" if family else f"on {on}"
    takes = sorted(k for k in readers if k.startswith(role + "."))
    return (f"recipe {recipe.name}'s {role} is the {arches[role]} network ({why}), which takes no {name}; "
            f"{role} reads {', '.join(takes)}")


def fit_resolution(cfg: dict, resolution: int) -> tuple[int, str | None]:
    """The image size the recipe's networks train at when ``data.resolution`` is 0 (the data's own size,
    ``resolution``): the nearest size every one of them takes, and the line that says so (None: the data's own)."""
    from gankit import nets

    arches = get(cfg["recipe"]).networks(cfg, "image")
    fitted = resolution
    for arch in arches.values():
        fitted = nets.NETS[arch].nearest_resolution(fitted)
    if fitted == resolution:
        return resolution, None
    rules = {arch: nets.NETS[arch].RESOLUTIONS for arch in arches.values()
             if nets.NETS[arch].nearest_resolution(resolution) != resolution}  # the networks that moved it
    takes = "; ".join(f"the {' and '.join(a for a, r in rules.items() if r == rule)} networks take {rule}"
                      for rule in dict.fromkeys(rules.values()))
    return fitted, (f"{cfg['recipe']}: data resized {resolution} -> {fitted} ({takes}; "
                    f"set data.resolution to choose)")


def _register_builtins() -> None:
    """Build and register every recipe of ``ABOUT``: presets of the adversarial recipe, ControlGAN, FastGAN, LAPGAN,
    PGGAN, R3GAN, StackGAN, the autoencoders."""
    from gankit.recipes import (adversarial as adversarial_recipe, autoencoder, controlgan, fastgan, lapgan, pggan,
                                r3gan, stackgan, unrolled)
    from gankit.recipes.adversarial import Adversarial, adam, preset, rmsprop
    from gankit.recipes.base import Recipe
    from gankit.recipes.controlgan import DEFAULTS as CONTROLGAN_DEFAULTS, ControlGAN
    from gankit.recipes.unrolled import Unrolled

    def recipe(name: str, *args) -> Recipe:
        return register(Recipe(name, ABOUT[name].summary, ABOUT[name].paper, *args))

    def adversarial(name: str, objective=Adversarial, extra: dict | None = None, keys: dict | None = None,
                    networks=adversarial_recipe.networks, **preset_args) -> Recipe:
        """A preset of the adversarial recipe (see ``recipes.adversarial.preset``)."""
        return recipe(name, {**preset(**preset_args), **(extra or {})}, objective,
                      keys or adversarial_recipe.KEYS, networks)

    adversarial("gan", loss="minimax", arch="mlp", opt=adam(2e-4))
    adversarial("nsgan", loss="nonsaturating", arch="mlp", opt=adam(2e-4))
    adversarial("dcgan", loss="nonsaturating", arch="dcgan", opt=adam(2e-4), batch=128)
    adversarial("lsgan", loss="least-squares", arch="dcgan", opt=adam(2e-4))
    adversarial("wgan", loss="wasserstein", arch="dcgan", opt=rmsprop(5e-5), n_critic=5, clip=0.01)
    adversarial("wgan-gp", loss="wasserstein", arch="dcgan", opt=adam(1e-4, (0.0, 0.9)), n_critic=5, gp=10.0,
                D={"norm": "layer"})
    adversarial("cgan", loss="nonsaturating", arch="mlp", opt=adam(2e-4), **{"cond.mode": "input"})
    adversarial("acgan", loss="nonsaturating", arch="dcgan", opt=adam(2e-4), **{"cond.mode": "aux"})
    adversarial("unrolled", objective=Unrolled, extra=unrolled.DEFAULTS, keys=unrolled.ALL_KEYS,
                loss="nonsaturating", arch="mlp", opt=adam(1e-4))
    adversarial("sngan", loss="hinge", arch="resnet", opt=adam(2e-4, (0.0, 0.9)), n_critic=5, extra={"z_dim": 128})
    adversarial("hinge", loss="hinge", arch="dcgan", opt=adam(2e-4))
    adversarial("controlgan", objective=ControlGAN, extra={**CONTROLGAN_DEFAULTS, "D.lr": 8e-4},
                keys=controlgan.ALL_KEYS, networks=controlgan.networks, loss="wasserstein", arch="dcgan",
                opt=adam(2e-4, (0.0, 0.9)), gp=10.0, D={"norm": "layer"})
    recipe("fastgan", fastgan.defaults(), fastgan.FastGAN, fastgan.ALL_KEYS, fastgan.networks)
    recipe("lapgan", lapgan.defaults(), lapgan.LAPGAN, lapgan.KEYS, lapgan.networks)
    recipe("pggan", pggan.defaults(), pggan.PGGAN, pggan.ALL_KEYS, pggan.networks)
    recipe("r3gan", r3gan.defaults(), r3gan.R3GAN, r3gan.ALL_KEYS, adversarial_recipe.networks)
    recipe("stackgan", stackgan.defaults(), stackgan.StackGAN, stackgan.KEYS, stackgan.networks)
    recipe("ae", autoencoder.defaults(), autoencoder.ae, autoencoder.KEYS, autoencoder.networks)
    recipe("vae", autoencoder.defaults(beta=1.0), autoencoder.vae, autoencoder.KEYS, autoencoder.networks)


__all__ = ["ABOUT", "RECIPES", "DataInfo", "Objective", "Phase", "Recipe", "check_config", "data_kind", "fit_resolution",
           "get", "keys", "listing", "name_problem", "register", "rules"]
