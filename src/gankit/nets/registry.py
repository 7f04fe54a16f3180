"""Networks by name, each recording its constructor arguments so an export can rebuild it."""

from __future__ import annotations

import inspect

from torch import nn

NETS: dict[str, type[nn.Module]] = {}


def register(name: str):
    """Class decorator: register a network and capture its constructor kwargs in ``self.config``."""

    def wrap(cls):
        init = cls.__init__
        sig = inspect.signature(init)

        def __init__(self, *args, **kwargs):
            bound = sig.bind(self, *args, **kwargs)
            bound.apply_defaults()
            config = {k: v for k, v in bound.arguments.items() if k != "self"}
            init(self, *args, **kwargs)
            self.config = {"arch": name, **{k: list(v) if isinstance(v, tuple) else v for k, v in config.items()}}

        cls.__init__ = __init__
        cls.arch = name
        cls.accepts = classmethod(lambda c: set(sig.parameters) - {"self"})
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
