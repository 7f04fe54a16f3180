"""What a recipe is: networks + losses + a phase schedule. The trainer owns all mechanics.

A recipe never calls ``backward()`` or ``step()``: each phase returns a loss, and the trainer
does autocast, ``requires_grad`` toggling, gradient scaling, optimizer steps and logging.
That keeps AMP and multi-GPU in one place and lets a recipe be unit-tested by calling it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol

import torch
from torch import nn

from gankit.config import Key, Range, at_least, count, one_of
from gankit.nets.dcgan import NORMS
from gankit.regularizers.batch_random import BatchRandom

OPTIMIZERS = ("adam", "rmsprop", "sgd")  # what the trainer's make_optimizer builds from <role>.opt
# Keys of a network role (G, D, C) that the trainer or the recipe read, whatever the network: <role>.arch picks the
# network, the rest is its optimizer. Any other <role>.<name> key is an argument of the network's constructor,
# read only when the chosen network takes an argument of that name.
ROLE_KEYS = {"arch", "opt", "lr", "betas", "eps", "weight_decay", "alpha", "momentum"}

# The <role>.<name> keys (``?`` stands for the role) wherever they are read: the values each takes and what it does.
# Their defaults are each recipe's.
NET_KEYS: dict[str, Key] = {
    "?.opt": Key(None, one_of(*OPTIMIZERS), "the network's optimizer"),
    "?.lr": Key(None, at_least(0, "a learning rate; 0 freezes the net"), "the network's learning rate"),
    "?.betas": Key(None, Range(0.0, 1.0, open_high=True, length=2, means="Adam's two decay rates"),
                   "Adam's beta1,beta2"),
    "?.width": Key(None, count(1, "channels of the first or last convolution", high=4096),
                   "the network's width"),
    "?.max_width": Key(None, count(0, "0 = no cap", high=2 ** 16),
                       "the most channels of any convolution (widths double towards 4x4)"),
    "?.hidden": Key(None, count(1, "units per hidden layer", high=2 ** 16),
                    "an MLP's hidden layer sizes, comma-separated"),
    "?.norm": Key(None, one_of(*NORMS), "the normalisation after each convolution"),
    "?.minibatch_std": Key(None, about="a minibatch standard-deviation feature in D, against mode collapse"),
    "?.minibatch_disc": Key(None, count(0, "minibatch discrimination features; 0 = off", high=4096),
                            "minibatch discrimination in D, against mode collapse"),
}
NET_RULES: dict[str, Range] = {k: key.rule for k, key in NET_KEYS.items() if key.rule is not None}


@dataclass(frozen=True)
class DataInfo:
    """What a recipe may know about the data: its kind and per-sample shape."""

    kind: str  # "image" or "points"
    shape: tuple  # (C, H, W) or (2,)
    num_classes: int = 0
    size: int = 0  # training images (0: not known, or a stream of points)
    mask: bool = False  # the last channel is a content mask (+1 on the image, -1 on padding), not colour

    @property
    def resolution(self) -> int:
        return self.shape[-1]

    @property
    def channels(self) -> int:
        return self.shape[0]


class StepContext(Protocol):
    """What the trainer hands a phase's loss function."""

    batch: int  # this rank's share of the current global batch (a staged recipe's stage may set its own)
    progress: float  # share of the run done, in [0, 1]
    nimg: int  # real images seen before this step, over all ranks: schedules tied to images survive a resume
    generator: BatchRandom  # per-sample randomness inside a loss (this rank's slice of the global batch's)

    def real(self) -> tuple[torch.Tensor, torch.Tensor | None]: ...  # a fresh real batch (x, labels)
    def z(self, n: int) -> torch.Tensor: ...  # latent vectors from the run's latent RNG
    def labels(self, n: int) -> torch.Tensor: ...  # uniformly random class labels, same RNG
    # a scalar for the logs, no host sync; named as ``train.stats`` says (``Loss/...`` a loss, ``Logits/...`` a logit)
    def report(self, name: str, value: torch.Tensor) -> None: ...
    def mean_over_ranks(self, value: torch.Tensor) -> torch.Tensor: ...  # over torchrun's ranks; every rank calls it


@dataclass(frozen=True)
class Stage:
    """A span of a staged run (a network grows, a generator's second stage starts), from ``start_nimg`` images on.

    The trainer derives the stage from images seen alone and reacts to a new one in one place: it calls
    ``Objective.enter``, hands new parameters to their optimizer (or starts the nets in ``reset`` afresh),
    makes the moving average follow and rebuilds compiled forwards. A resume recomputes it the same way.
    """

    name: str  # "16x16 fade-in": shown in the logs, the progress bar and an export
    start_nimg: int  # the stage holds from the first step that starts at this many images seen
    batch: int = 0  # the global batch in this stage; 0: the run's ``batch``
    reset: tuple[str, ...] = ()  # nets whose optimizer state starts afresh on entering (PGGAN resets G and D)


@dataclass
class Phase:
    """One kind of optimisation step: ``loss(ctx)`` minimised over net ``update``, ``repeat`` times per training step.

    A loss may return None to skip this step (a balanced schedule deciding not to train a net now).
    """

    name: str
    update: str
    loss: Callable[[StepContext], torch.Tensor | None]
    repeat: int = 1
    after_step: list[Callable[[], None]] = field(default_factory=list)


class Objective:
    """A built recipe: its trainable networks by name and its phases."""

    nets: dict[str, nn.Module]
    sampler_net: str = "G"  # the network that maps latents to samples (G_ema is kept for it)
    # the reported names the progress bar shows (under ``train.stats.short_name``); all go to the logs
    progress: tuple[str, ...] = ()

    def phases(self) -> list[Phase]:
        raise NotImplementedError

    def state_dict(self) -> dict:
        """State besides the networks that resume must restore (for example ADA's probability)."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass

    def notes(self) -> list[str]:
        """Lines the start of a run states about what the recipe chose from the run and the data."""
        return []

    def stages(self) -> list[Stage]:
        """The run's stages in order of ``start_nimg``, the first at 0; none for a recipe that is not staged."""
        return []

    def enter(self, stage: Stage) -> None:
        """Set the networks up for ``stage`` (structure attributes, modules to train). Called when a run starts or
        resumes inside it and when training reaches it; it must depend on the stage alone, so a resume is exact."""

    def schedule(self, nimg: int) -> dict[str, dict]:
        """Optimizer settings for the step that starts at ``nimg`` images seen, by net (``{"G": {"lr": 1e-4,
        "betas": (0.0, 0.95)}}``): the trainer sets them on the net's optimizer before the step. A function of
        images seen alone, so a resume continues the schedule exactly; none by default."""
        return {}

    def chosen(self) -> dict:
        """Keys whose value this recipe chose from the run or the data (a default of 0 meaning "from the run"),
        recorded in the run's config when it starts, so that a resume with another budget keeps them."""
        return {}

    num_classes: int = 0  # > 0: the generator takes class labels

    def generate(self, G: nn.Module, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """Samples from latents (and labels) with the given copy of the sampling network (G or G_ema)."""
        return G(z) if c is None else G(z, c)


@dataclass(frozen=True)
class Recipe:
    """A named, composable training setup with its paper's default hyper-parameters."""

    name: str
    summary: str
    paper: str
    defaults: dict
    build: Callable[[dict, DataInfo], Objective]
    keys: dict[str, Key] = field(default_factory=dict)  # its own keys: the values each accepts and what it does
    # the registered networks it builds, by role, from a config and the data's kind ("image" or "points")
    networks: Callable[[dict, str], dict[str, str]] = lambda cfg, data_kind: {}

    @property
    def ranges(self) -> dict[str, Range]:
        """The values its own keys accept."""
        return {k: key.rule for k, key in self.keys.items() if key.rule is not None}

    def reads(self, cfg: dict, data_kind: str) -> dict[str, str]:
        """Every key of ``cfg`` that some code reads for this recipe, its networks and data of ``data_kind``, with
        what reads it: ``trainer``, ``recipe`` or the network (``dcgan-g``)."""
        from gankit.config import TRAINER_DEFAULTS
        from gankit.nets import NETS

        arches = self.networks(cfg, data_kind)
        readers = {}
        for key in cfg:
            role, _, name = key.partition(".")
            if key in TRAINER_DEFAULTS or key in ("recipe", "data"):
                readers[key] = "trainer"
            elif role in arches and name in ROLE_KEYS:
                readers[key] = "recipe" if name == "arch" else "trainer"
            elif role in arches:
                if name in NETS[arches[role]].accepts():
                    readers[key] = arches[role]
            elif key in self.defaults:
                readers[key] = "recipe"
        return readers
