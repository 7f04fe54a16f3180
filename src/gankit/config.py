"""Flat, dotted-key configuration: recipe defaults + ``--set key=value`` overrides, saved as JSON.

A flat dict keeps ``--set``, JSON, TensorBoard hparams and resume checks trivial; dots only
group related keys (``G.lr``, ``data.flip``).
"""

from __future__ import annotations

import difflib
import json
import math
import re
from dataclasses import dataclass

# Keys that may change when a run resumes: budgets and bookkeeping, not the model or its optimisation.
MUTABLE_ON_RESUME = {"steps", "kimg", "log.every", "snapshot.every_kimg", "snapshot.grid", "ckpt.every_kimg", "ckpt.keep",
                     "eval.every_kimg", "eval.metrics", "eval.n", "eval.features", "eval.best",
                     "fast.channels_last", "fast.cudnn_benchmark", "fast.compile"}


# Keys newer than some checkpoints, whose defaults do what gankit did before them:
# a checkpoint without them resumes with the default.
NEUTRAL_WHEN_ABSENT = {"kimg", "ema.rampup", "lr.decay", "lr.decay_start", "tricks.instance_noise_until", "r1", "r2", "reuse_fakes",
                       "data.mask"}
# Keys newer than some checkpoints, by the value those checkpoints trained with (where that is not the default).
VALUE_WHEN_ABSENT = {"G.max_width": 0, "D.max_width": 0,  # before the width cap: none
                     "mask.shrink": 0.0}  # before the push

# Schedules that follow the share of the run done, by key and the value that turns them off: while one
# is on, a resume with another --steps would move it mid-run.
TIED_TO_RUN_LENGTH = {"lr.decay": "none", "tricks.instance_noise": 0.0}


class ConfigError(ValueError):
    """A bad ``--set`` key or value; the message names it."""


@dataclass(frozen=True)
class Range:
    """The numbers (or, with ``choices`` of words, the words) a key accepts, checked before a run starts so a
    bad value never trains silently.

    ``low``/``high`` bound the value (None: unbounded), each end closed unless marked open; a list
    value (``G.hidden``) is checked item by item, and ``length`` fixes how many items it has;
    ``whole`` asks for integers (sizes and counts).
    """

    low: float | None = None
    high: float | None = None
    open_low: bool = False
    open_high: bool = False
    length: int | None = None
    choices: tuple = ()  # when given: the only values accepted
    whole: bool = False
    means: str = ""  # what the key is, for the message

    def describe(self) -> str:
        if self.choices:
            return "one of " + ", ".join(map(str, self.choices))
        if self.low is None and self.high is None:
            return "a whole number" if self.whole else "a finite number"
        low, high = (f"{v:g}" if isinstance(v, float) else v for v in (self.low, self.high))
        if self.low is not None and self.high is not None:
            return f"in {'(' if self.open_low else '['}{low}, {high}{')' if self.open_high else ']'}"
        if self.low is not None:
            return f"above {low}" if self.open_low else f"at least {low}"
        return f"below {high}" if self.open_high else f"at most {high}"

    def problem(self, value) -> str | None:
        """Why ``value`` is refused, or None when it is accepted."""
        items = value if isinstance(value, list) else [value]
        if self.length is not None and len(items) != self.length:
            return f"expected {self.length} comma-separated numbers, got {len(items)}"
        out_of_range = f"{'each must be' if isinstance(value, list) else 'must be'} {self.describe()}"
        for v in items:
            if self.choices:  # the same value and type: True is not 1, 1.0 is not 1
                if not any(v == c and type(v) is type(c) for c in self.choices):
                    return out_of_range
                continue
            if isinstance(v, bool) or not isinstance(v, int if self.whole else (int, float)):
                return f"expected {'a whole number' if self.whole else 'a number'}, got {v!r}"
            if not math.isfinite(v):
                return "must be a finite number"
            if (self.low is not None and (v <= self.low if self.open_low else v < self.low)) or \
               (self.high is not None and (v >= self.high if self.open_high else v > self.high)):
                return out_of_range
        return None

    def refuse(self, shown: str, value, key: str | None = None) -> None:
        """Raise a RangeError starting with ``shown`` (the flag or key as the user gives it) if ``value`` is out."""
        why = self.problem(value)
        if why:
            raise RangeError(shown, why + (f" ({self.means})" if self.means else ""), key, value)


class RangeError(ConfigError):
    """A value outside its range: ``shown: why``; ``key`` is the config key (None for a command's own flag)."""

    def __init__(self, shown: str, why: str, key: str | None, value):
        super().__init__(f"{shown}: {why}")
        self.why, self.key, self.value = why, key, value


def at_least(low: float, means: str = "") -> Range:
    return Range(low=low, means=means)


def above(low: float, means: str = "") -> Range:
    return Range(low=low, open_low=True, means=means)


def count(low: int = 1, means: str = "", high: int | None = None) -> Range:
    """A whole number of at least ``low`` (and at most ``high``): a size or a count."""
    return Range(low=low, high=high, whole=True, means=means)


def share(means: str = "", open_low: bool = False, open_high: bool = False) -> Range:
    """A fraction in [0, 1], either end open."""
    return Range(0.0, 1.0, open_low=open_low, open_high=open_high, means=means)


# Any seed torch takes, with room for the offsets the trainer adds to it.
SEED = Range(-2**63, 2**63 - 1, whole=True)

@dataclass(frozen=True)
class Key:
    """A config key, declared once: its default (whose type ``--set`` parses values to), the values it takes and
    what it does, in one line (``gankit recipes --show`` prints it beside the values).

    Which code reads a key follows from where it is declared: the trainer reads ``TRAINER_KEYS``, a recipe
    the keys it declares (``Recipe.keys``), and a network the ``<role>.<argument>`` keys its constructor
    takes (``recipes.base.NET_KEYS`` holds their values), so ``recipes.check_config`` can refuse a ``--set``
    key that nothing reads for the chosen recipe and networks.
    """

    default: object
    rule: Range | None = None
    about: str = ""

    def describe(self, value=None) -> str:
        """What the key does and the values it takes, in words (``the adversarial loss of G and D; one of minimax,
        ...``); ``value`` stands for a default declared elsewhere (a network key's is the recipe's)."""
        rule, like = self.rule, self.default if value is None else value
        if rule is not None:
            means = f" ({rule.means})" if rule.means and rule.means.lower() not in self.about.lower() else ""
            return f"{self.about}; {rule.describe()}{means}"
        return f"{self.about}; true or false" if isinstance(like, bool) else self.about


def one_of(*choices, means: str = "") -> Range:
    return Range(choices=tuple(choices), means=means)


AUTO_ON_OFF = one_of("auto", "on", "off")

# Settings every run has, whatever the recipe; all read by the trainer. A recipe's defaults override these.
TRAINER_KEYS: dict[str, Key] = {
    "batch": Key(64, count(high=2 ** 20), "images (or points) per step, over all processes"),
    "steps": Key(2000, count(), "generator updates to train for (--kimg sets it from images seen)"),
    "kimg": Key(0.0, at_least(0, "0 = the budget is --steps"),
                "thousands of images to train for, as --kimg gave them (a staged recipe's batches turn them into steps)"),
    "seed": Key(0, SEED, "the random seed of weights, latents and data order"),
    "z_dim": Key(100, count(1, "latent dimensions", high=2 ** 16), "the size of the latent vector"),
    "amp": Key("auto", one_of("auto", "bf16", "fp16", "off", means="auto: bf16 on CUDA, off elsewhere"),
               "mixed precision of the forward and backward passes"),
    "ema.beta": Key(0.0, share("the decay of G's moving average; 0 = off", open_high=True),
                    "keep a moving average of G's weights (G_ema) to sample from"),
    "ema.rampup": Key(0.0, share("0 = off; StyleGAN2-ADA uses 0.05"),
                      "ramp G's moving average up: its half-life is at most this share of the images seen"),
    "lr.decay": Key("none", one_of("none", "linear", "cosine",
                                   means="every net's rate falls to 0 by the end of the run, or none"),
                    "a schedule of the learning rates"),
    "lr.decay_start": Key(0.5, share("the share of the run before the decay starts", open_high=True),
                          "when the learning-rate decay starts"),
    "log.every": Key(50, count(), "the most steps between log lines and stats records (a run logs at least 20 times)"),
    "snapshot.every_kimg": Key(5.0, above(0), "thousands of images between sample grids (and GIF frames)"),
    "snapshot.grid": Key(64, count(high=4096), "samples in each snapshot grid"),
    "ckpt.every_kimg": Key(25.0, above(0), "thousands of images between checkpoints"),
    "ckpt.keep": Key(3, count(0, "0 keeps every checkpoint"), "the newest checkpoints kept"),
    "data.resolution": Key(0, count(0, "0 = the data's own size; an image folder's is chosen from its images, at "
                                       "most 64", high=8192), "the side of the training images"),
    "data.size_policy": Key("pad", one_of("pad", "crop", "resize"),
                            "how images of other sizes are made square and of one size"),
    "data.channels": Key(0, Range(choices=(0, 1, 3), means="0 = the data's own"),
                         "colour channels, 1 grey or 3 RGB"),
    "data.canvas": Key(-1, count(-1, "-1 = the smallest square that holds 90% of the images unscaled (a new run "
                                      "records the side chosen), 0 = the largest image", high=8192),
                       "the square that images are padded onto; larger images are scaled down to fit"),
    "data.pad_value": Key(-1, Range(-1, 255, whole=True, means="-1 = the median of the images' border pixels, per "
                                                                "channel (a new run records it)"),
                          "the grey level of the padding"),
    "data.mask": Key(False, about="append a channel marking each padded image's footprint (+1) and its padding (-1), "
                                  "so that samples can be cut to their content (gankit sample --crop-to-content)"),
    "mask.shrink": Key(10.0, at_least(0, "0 = no push"),
                       "with data.mask: how hard G's content mask is pushed onto the padding wherever D does not need "
                       "the image (a weight on the share of the canvas the masks cover, in G's loss); without it the "
                       "masks spread over the whole canvas"),
    "data.strict": Key(False, about="stop at the first image file that cannot be used, rather than skip it"),
    "data.flip": Key(False, about="random horizontal flips of the training images"),
    "data.brightness": Key(0.0, share("the largest brightness shift"), "random brightness shifts"),
    "data.contrast": Key(0.0, share("the largest contrast change"), "random contrast changes"),
    "eval.every_kimg": Key(0.0, at_least(0, "0 = no evaluation during training"),
                           "thousands of images between evaluations during training"),
    "eval.metrics": Key("", about="metrics of those evaluations, comma-separated (`gankit eval --help` lists "
                                  "them); empty: fd,kid,pr,dc for images, modes for 2-D data"),
    "eval.n": Key(2000, count(2, "samples per evaluation", high=10 ** 6), "samples per evaluation"),
    "eval.features": Key("", about="the feature network of those evaluations (`gankit eval --help` lists them); "
                                   "empty: fmnist for 28x28 grayscale, else inception"),
    "eval.best": Key("", about="keep checkpoints/best.pt by this metric (fd, kid, hq_percent, ...); empty: none"),
    # The fast path (gankit/train/fast.py): same math, other scheduling; all may change on resume.
    "fast.channels_last": Key("auto", AUTO_ON_OFF, "channels-last memory layout (auto: on for convolutional nets "
                                                   "on CUDA and CPU)"),
    "fast.cudnn_benchmark": Key(True, about="on CUDA, let cuDNN time its algorithms for the run's fixed shapes"),
    "fast.compile": Key("off", AUTO_ON_OFF, "torch.compile the nets' forward passes (auto: CUDA only); eager if "
                                            "that fails"),
}
TRAINER_DEFAULTS: dict = {k: key.default for k, key in TRAINER_KEYS.items()}
TRAINER_RANGES: dict[str, Range] = {k: key.rule for k, key in TRAINER_KEYS.items() if key.rule is not None}

SHORTCUT_FLAGS = ("batch", "steps", "seed")  # keys with a flag of their own: --batch N


# A network's role: a capital letter, then letters, digits or underscores (G, D, C, G0, D_II). Every other key group
# (data., ema., tricks., a recipe's own) is lower case, so ``role.name`` keys cannot be taken for one of theirs.
NET_ROLE = re.compile(r"[A-Z][A-Za-z0-9_]*")


def range_of(key: str, ranges: dict):
    """The rule (or Key) for ``key`` in ``ranges``: its own entry, else, for ``role.name`` with ``role`` a network's
    role (``NET_ROLE``), the ``?.name`` entry that stands for every role."""
    if key in ranges:
        return ranges[key]
    role, dot, name = key.partition(".")
    return ranges.get(f"?.{name}") if dot and NET_ROLE.fullmatch(role) else None


def as_text(value) -> str:
    """A config value as ``--set`` takes it: lists comma-separated."""
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def check_ranges(cfg: dict, ranges: dict[str, Range]) -> None:
    """Refuse the first value of ``cfg`` outside its range (a RangeError naming the key, the value and what it
    takes)."""
    for key, value in cfg.items():
        rule = range_of(key, ranges)
        if rule:
            shown = as_text(value)
            rule.refuse(f"--{key} {shown}" if key in SHORTCUT_FLAGS else f"--set {key}={shown}", value, key)


def did_you_mean(word: str, known, n: int = 3) -> str:
    """``; did you mean X?`` naming the ``known`` words closest to a misspelt ``word`` (a key, recipe, dataset or
    command), or "" when none is close: one spelling check for every name a user types."""
    near = difflib.get_close_matches(word, list(known), n=n)
    return f"; did you mean {', '.join(near)}?" if near else ""


def one_line(error: BaseException, limit: int = 300) -> str:
    """An error's text on one line, cut to ``limit`` characters (load_state_dict lists a mismatch per line)."""
    text = " ".join(str(error).split())
    return text[:limit] + ("..." if len(text) > limit else "")


def parse_value(raw: str, like):
    """Parse ``raw`` to the type of the default ``like`` (bool, int, float, str, list)."""
    if isinstance(like, bool):
        low = raw.strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"expected true or false, got {raw!r}")
    if isinstance(like, int):
        return int(raw)
    if isinstance(like, float):
        return float(raw)
    if isinstance(like, list):
        items = [s for s in raw.replace("[", "").replace("]", "").split(",") if s.strip()]
        kind = type(like[0]) if like else str
        return [parse_value(s.strip(), kind()) if kind is not bool else parse_value(s, False) for s in items]
    if like is None:
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    return raw


def apply_overrides(cfg: dict, items: list[str]) -> dict:
    """Apply ``key=value`` strings to ``cfg``; unknown keys are refused with a suggestion."""
    out = dict(cfg)
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected key=value")
        key, raw = item.split("=", 1)
        key = key.strip()
        if key not in out:
            hint = did_you_mean(key, out) or "; `gankit recipes --show NAME` lists the keys"
            raise ConfigError(f"--set {key}: unknown key{hint}")
        try:
            out[key] = parse_value(raw, out[key])
        except ValueError as e:
            raise ConfigError(f"--set {key}={raw}: {e}") from None
    return out


def changed_keys(old: dict, new: dict) -> dict[str, tuple]:
    """Keys whose values differ between two configs (missing counts as different)."""
    keys = set(old) | set(new)
    return {k: (old.get(k), new.get(k)) for k in sorted(keys) if old.get(k) != new.get(k)}
