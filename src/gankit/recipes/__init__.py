"""Recipes by name. Add a variant by registering a Recipe here (or in a module imported here); the trainer never changes."""

from __future__ import annotations

from gankit import nets
from gankit.config import TRAINER_RANGES, ConfigError, check_ranges
from gankit.recipes import adversarial as adversarial_recipe, autoencoder, controlgan, unrolled
from gankit.recipes.adversarial import Adversarial, adam, preset, rmsprop
from gankit.recipes.base import NET_RULES, DataInfo, Objective, Phase, Recipe
from gankit.recipes.controlgan import DEFAULTS as CONTROLGAN_DEFAULTS, ControlGAN
from gankit.recipes.unrolled import Unrolled

RECIPES: dict[str, Recipe] = {}


def register(recipe: Recipe) -> Recipe:
    if recipe.name in RECIPES:
        raise ValueError(f"recipe {recipe.name!r} is already registered")
    RECIPES[recipe.name] = recipe
    return recipe


def get(name: str) -> Recipe:
    if name not in RECIPES:
        raise ConfigError(f"--recipe {name!r}: unknown; known recipes: {', '.join(RECIPES)}")
    return RECIPES[name]


def rules(recipe: Recipe) -> dict:
    """The values every key of ``recipe`` takes: the trainer's, its networks' and its own."""
    return {**TRAINER_RANGES, **NET_RULES, **recipe.ranges}


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


def adversarial(name: str, summary: str, paper: str, objective=Adversarial, extra: dict | None = None,
                ranges: dict | None = None, networks=adversarial_recipe.networks, **preset_args) -> Recipe:
    """Register a preset of the adversarial recipe (see ``recipes.adversarial.preset``)."""
    return register(Recipe(name, summary, paper, {**preset(**preset_args), **(extra or {})}, objective,
                           ranges or adversarial_recipe.RANGES, networks))


adversarial("gan", "GAN with the minimax loss, MLP G and D, k=1 D steps per G step",
            "Goodfellow et al. 2014, Generative Adversarial Nets",
            loss="minimax", arch="mlp", opt=adam(2e-4))
adversarial("nsgan", "GAN with the non-saturating G loss (-log D(G(z))), MLP G and D",
            "Goodfellow et al. 2014, Generative Adversarial Nets (sec. 3)",
            loss="nonsaturating", arch="mlp", opt=adam(2e-4))
adversarial("dcgan", "Deep convolutional GAN: strided convs, batch norm, Adam 2e-4 beta1 0.5, batch 128",
            "Radford, Metz, Chintala 2016, Unsupervised Representation Learning with DCGANs",
            loss="nonsaturating", arch="dcgan", opt=adam(2e-4), batch=128)
adversarial("lsgan", "Least-squares GAN (a=0, b=1, c=1) on DCGAN networks",
            "Mao et al. 2017, Least Squares Generative Adversarial Networks",
            loss="least-squares", arch="dcgan", opt=adam(2e-4))
adversarial("wgan", "Wasserstein GAN: critic without sigmoid, weight clipping c=0.01, RMSProp 5e-5, n_critic=5",
            "Arjovsky, Chintala, Bottou 2017, Wasserstein GAN",
            loss="wasserstein", arch="dcgan", opt=rmsprop(5e-5), n_critic=5, clip=0.01)
adversarial("wgan-gp", "WGAN with gradient penalty lambda=10, layer-norm critic, Adam 1e-4 betas (0, 0.9), n_critic=5",
            "Gulrajani et al. 2017, Improved Training of Wasserstein GANs",
            loss="wasserstein", arch="dcgan", opt=adam(1e-4, (0.0, 0.9)), n_critic=5, gp=10.0, D={"norm": "layer"})
adversarial("cgan", "Conditional GAN: one-hot labels fed to G and D, MLP G and D (convolutional: --set G.arch=dcgan D.arch=dcgan)",
            "Mirza & Osindero 2014, Conditional Generative Adversarial Nets",
            loss="nonsaturating", arch="mlp", opt=adam(2e-4), **{"cond.mode": "input"})
adversarial("acgan", "Auxiliary-classifier GAN: labels fed to G, D also classifies real and fake images",
            "Odena, Olah, Shlens 2017, Conditional Image Synthesis with Auxiliary Classifier GANs",
            loss="nonsaturating", arch="dcgan", opt=adam(2e-4), **{"cond.mode": "aux"})
adversarial("unrolled", "Unrolled GAN: G's loss looks 5 differentiable D steps ahead (SGD surrogate), MLP G and D",
            "Metz, Poole, Pfau, Sohl-Dickstein 2017, Unrolled Generative Adversarial Networks",
            objective=Unrolled, extra=unrolled.DEFAULTS, ranges=unrolled.RANGES,
            loss="nonsaturating", arch="mlp", opt=adam(1e-4))
adversarial("sngan", "Spectrally normalised ResNet D, ResNet G, hinge loss, n_critic=5, Adam 2e-4 betas (0, 0.9); "
            "projection D for labels with --set cond.mode=input",
            "Miyato, Kataoka, Koyama, Yoshida 2018, Spectral Normalization for GANs; Miyato & Koyama 2018 (projection)",
            loss="hinge", arch="resnet", opt=adam(2e-4, (0.0, 0.9)), n_critic=5, extra={"z_dim": 128})
adversarial("hinge", "Hinge-loss GAN on DCGAN networks, Adam 2e-4 beta1 0.5",
            "Lim & Ye 2017, Geometric GAN; Miyato et al. 2018, Spectral Normalization",
            loss="hinge", arch="dcgan", opt=adam(2e-4))
adversarial("controlgan", "ControlGAN: labels fed to G, unconditional WGAN-GP critic, separate classifier on augmented "
            "reals; G loss = adversarial + gamma * CE(C(G(z, c)), c), gamma adapted (r=1e-3, alpha=1)",
            "Lee & Seok 2019, Controllable Generative Adversarial Network (settings of the authors' CIFAR-10 code)",
            objective=ControlGAN, extra={**CONTROLGAN_DEFAULTS, "D.lr": 8e-4}, ranges=controlgan.RANGES,
            networks=controlgan.networks,
            loss="wasserstein", arch="dcgan", opt=adam(2e-4, (0.0, 0.9)), gp=10.0, D={"norm": "layer"})
register(Recipe("ae", "Autoencoder: conv encoder (DCGAN D body) + DCGAN G decoder, reconstruction loss (bce on "
                  "images, mse on points), Adam 1e-3; MLP with --set G.arch=mlp",
                  "Hinton & Salakhutdinov 2006, Reducing the Dimensionality of Data with Neural Networks",
                  autoencoder.defaults(), autoencoder.ae, autoencoder.RANGES, autoencoder.networks))
register(Recipe("vae", "Variational autoencoder: reconstruction + beta * KL(q(z|x) || N(0, I)), reparameterised "
                  "codes, beta=1, Adam 1e-3; decodes N(0, I) samples like a generator",
                  "Kingma & Welling 2014, Auto-Encoding Variational Bayes",
                  autoencoder.defaults(beta=1.0), autoencoder.vae, autoencoder.RANGES, autoencoder.networks))

__all__ = ["RECIPES", "DataInfo", "Objective", "Phase", "Recipe", "check_config", "data_kind", "fit_resolution", "get",
           "register", "rules"]
