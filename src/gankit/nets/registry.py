"""Networks by name, each recording its constructor arguments so an export can rebuild it, and the checks a
recorded config passes before anything is built from it: a config comes from a file anyone can edit."""

from __future__ import annotations

import inspect
import math

import torch
from torch import nn

from gankit.config import TRAINER_RANGES, range_of

NETS: dict[str, type[nn.Module]] = {}


def register(name: str):
    """Class decorator: register a network and capture its constructor kwargs in ``self.config``."""

    def wrap(cls):
        init = cls.__init__
        sig = inspect.signature(init)  # its annotations say what a config may hold: see ``check_config``

        def __init__(self, *args, **kwargs):
            bound = sig.bind(self, *args, **kwargs)
            bound.apply_defaults()
            config = {k: v for k, v in bound.arguments.items() if k != "self"}
            init(self, *args, **kwargs)
            self.config = {"arch": name, **{k: list(v) if isinstance(v, tuple) else v for k, v in config.items()}}

        cls.__init__ = __init__
        cls.arch = name
        cls.accepts = classmethod(lambda c: set(sig.parameters) - {"self"})
        cls.argument_types = {k: p.annotation for k, p in sig.parameters.items() if k != "self"}
        if not hasattr(cls, "data_kwargs"):
            cls.data_kwargs = classmethod(lambda c, info, cfg: {})
        if not hasattr(cls, "nearest_resolution"):  # a net that takes only some image sizes says which it takes
            cls.nearest_resolution, cls.RESOLUTIONS = classmethod(lambda c, resolution: resolution), "any"
        NETS[name] = cls
        return cls

    return wrap


def build(arch: str, **kwargs) -> nn.Module:
    if arch not in NETS:
        raise ValueError(f"unknown network {arch!r}; known: {', '.join(sorted(NETS))}")
    unknown = set(kwargs) - NETS[arch].accepts()
    if unknown:
        raise ValueError(f"network {arch!r} takes no argument(s) {sorted(unknown)}")
    return NETS[arch](**kwargs)


def from_config(config: dict) -> nn.Module:
    """Rebuild a network from the ``config`` it recorded (see ``register``)."""
    config = dict(config)
    return build(config.pop("arch"), **config)


class NetConfigError(ValueError):
    """A recorded network config that must not be built; the message names the key and value, the caller the file."""


LARGEST = 2**31 - 1  # no size or count of a network is larger; a larger one would only overflow somewhere
LONGEST = 1000       # items in a list argument (hidden layers, class names) and characters in a word


def check_config(config, role: str = "G", prefix: str = "") -> None:
    """Refuse a config ``from_config`` must not build: an unknown arch or argument, a value of the wrong type,
    a number outside the range ``--set`` gives its key (``z_dim``, ``?.width``, ``?.hidden``; ``role`` is
    the net's letter) or too large to be a size. Annotations say the types: ``int`` a size or count
    (whole, >= 0), ``tuple`` sizes (whole, >= 1), ``list`` names, ``bool``, ``str``, ``| None``. Messages
    name keys after ``prefix`` (``network.``), the path to the config in its file."""
    if not isinstance(config, dict):
        raise NetConfigError(f"{prefix.rstrip('.') or 'network'} {brief(config)}: expected an object with an 'arch'")
    arch = config.get("arch")
    if not isinstance(arch, str) or arch not in NETS:
        raise NetConfigError(f"{prefix}arch {brief(arch)}: unknown network; known: {', '.join(sorted(NETS))}")
    types = NETS[arch].argument_types
    for key, value in config.items():
        if key == "arch":
            continue
        if key not in types:
            raise NetConfigError(f"{prefix}{brief(key)}: network {arch!r} takes no such argument")
        kinds = {k.strip() for k in str(types[key]).split("|")}
        rule = range_of(key if key in TRAINER_RANGES else f"{role}.{key}", TRAINER_RANGES)
        why = _type_problem(kinds, value)
        if why is None and rule is not None and value is not None:
            why = rule.problem(list(value) if isinstance(value, (list, tuple)) else value)
            why = why and why + (f" ({rule.means})" if rule.means else "")
        if why is None and value is not None and kinds & {"int", "tuple"}:
            low = 0 if "int" in kinds else 1
            if any(not low <= v <= LARGEST for v in (value if isinstance(value, (list, tuple)) else [value])):
                why = f"{'each ' if low else ''}must be a whole number in [{low}, {LARGEST:,}]"
        if why:
            raise NetConfigError(f"{prefix}{key} {brief(value)}: {why}")


def _type_problem(kinds: set, value) -> str | None:
    if value is None:
        return None if "None" in kinds else "expected a value, got null"
    if "bool" in kinds:
        return None if isinstance(value, bool) else "expected true or false"
    if "int" in kinds:
        return _whole(value)
    if "str" in kinds:
        return None if isinstance(value, str) and len(value) <= LONGEST else "expected a short word"
    if kinds & {"tuple", "list"}:
        if not isinstance(value, (list, tuple)) or len(value) > LONGEST:
            return f"expected a list of at most {LONGEST} items"
        for item in value:
            why = _whole(item) if "tuple" in kinds else \
                (None if isinstance(item, str) and len(item) <= LONGEST else "expected a list of short names")
            if why:
                return why
    return None


def _whole(value) -> str | None:
    return None if isinstance(value, int) and not isinstance(value, bool) else f"expected a whole number, got {brief(value)}"


def brief(value, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, for a message about a value from a file."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def config_bytes(config: dict) -> int:
    """The bytes the network's parameters and buffers take, from a build on the meta device (no memory, no
    values), so a config that describes an absurdly large network is refused before it is allocated. A
    size too large for torch to even describe counts as infinite; arguments a network refuses together
    (a DCGAN of resolution 2) are a NetConfigError."""
    try:
        with torch.device("meta"):
            net = from_config(config)
    except (RuntimeError, OverflowError, MemoryError):  # "Storage size calculation overflowed", ...
        return math.inf
    except (ValueError, TypeError, ZeroDivisionError) as e:
        raise NetConfigError(f"cannot be built ({brief(str(e), 200)[1:-1]})") from None
    return sum(t.numel() * t.element_size() for t in [*net.parameters(), *net.buffers()])


def check_buildable(config, role: str = "G", prefix: str = "") -> None:
    """``check_config``, then refuse a network whose build, with its weights read beside it, would not fit in
    this machine's memory; the message lists the sizes that made it so."""
    from gankit.memory import too_big

    check_config(config, role, prefix)
    try:
        why = too_big(2 * config_bytes(config))  # the network and the weights read into it
    except NetConfigError as e:
        raise NetConfigError(f"{prefix.rstrip('.') or 'network'} {e}") from None
    if why:
        sizes = ", ".join(f"{k} {brief(v, 30)}" for k, v in config.items()
                          if k != "arch" and v is not None and not isinstance(v, (bool, str)))
        raise NetConfigError(f"{prefix.rstrip('.') or 'network'}: a {config['arch']} of {sizes} would take {why}")
