"""Data sources by spec: ``fashion-mnist``, ``fashion-mnist:test``, ``stacked-fmnist`` (``:test``), ``folder:PATH`` (or a
bare path), ``ring8``, ``grid25``."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from gankit.config import did_you_mean
from gankit.data.mixtures import MIXTURES, Mixture

__all__ = ["DataError", "ImageData", "Mixture", "load", "describe_specs", "source_key", "spec_problem", "chosen_resolution"]

if TYPE_CHECKING:
    from gankit.data.base import DataError, ImageData

FASHION_MNIST = ("fashion-mnist", "fashion-mnist:train", "fashion-mnist:test")
STACKED = ("stacked-fmnist", "stacked-fmnist:train", "stacked-fmnist:test")  # data.stacked: 1000 modes


def __getattr__(name: str):
    """``DataError`` and ``ImageData`` from ``data.base``, imported (with torch) when first asked for, so that
    ``--data`` is described and checked while a command's arguments are read without importing torch."""
    if name in ("DataError", "ImageData"):
        from gankit.data import base

        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def describe_specs() -> str:
    return ("fashion-mnist | fashion-mnist:test | stacked-fmnist | stacked-fmnist:test | folder:PATH (or a bare PATH) | "
            + " | ".join(MIXTURES))


def spec_problem(spec: str, flag: str = "--data") -> str | None:
    """Why ``spec`` names no data (``--data 'fashon-mnist': not a known dataset (...) and no such folder; did you
    mean fashion-mnist?``), or None: a known name, ``folder:PATH`` (its own reader checks the folder) or a path that
    exists. Reads no data, so a misspelt name is refused before anything is loaded."""
    if spec in FASHION_MNIST or spec in STACKED or spec in MIXTURES or (spec.startswith("folder:") and spec[len("folder:"):].strip()):
        return None
    if spec.startswith("folder:") or not spec.strip():
        return f"{flag} {spec!r}: no folder given; use folder:PATH"
    if os.path.exists(spec):
        return None
    return (f"{flag} {spec!r}: not a known dataset ({describe_specs()}) and no such folder"
            + did_you_mean(spec, [*FASHION_MNIST, *STACKED, *MIXTURES]))


def source_key(spec: str) -> str:
    """One spelling per data source, so that two specs can be compared: ``fashion-mnist`` is
    ``fashion-mnist:train``, and ``folder:x``, ``x/`` and ``./x`` are the same folder."""
    if spec in ("fashion-mnist", "fashion-mnist:train"):
        return "fashion-mnist:train"
    if spec in ("stacked-fmnist", "stacked-fmnist:train"):
        return "stacked-fmnist:train"
    if spec in ("fashion-mnist:test", "stacked-fmnist:test") or spec in MIXTURES:
        return spec
    return "folder:" + os.path.realpath(spec[len("folder:"):] if spec.startswith("folder:") else spec)


def load(spec: str, *, resolution: int | None = None, size_policy: str = "pad", channels: int | None = None,
         canvas: int | None = None, pad_value: int | tuple[int, ...] | None = None, strict: bool = False,
         download: bool = True, mask: bool = False) -> ImageData | Mixture:
    """Resolve a ``--data`` spec into images in memory or a 2-D mixture. ``mask``: image folders only (padded
    images' footprints, see ``folder.load_folder``)."""
    from gankit.data.base import DataError, ImageData

    if mask and (spec in MIXTURES or spec in FASHION_MNIST or spec in STACKED):
        raise DataError(f"data.mask=true: marks the padding around images of a folder of crops (size_policy=pad); "
                        f"{spec} has no padding")
    if spec in MIXTURES:
        return MIXTURES[spec]()
    if spec in FASHION_MNIST or spec in STACKED:
        from gankit.data.fashion_mnist import load_fashion_mnist
        from gankit.data.stacked import load_stacked

        load_split = load_stacked if spec in STACKED else load_fashion_mnist
        data = load_split("test" if spec.endswith(":test") else "train", download=download)
        if resolution not in (None, data.resolution):
            data = _resize(data, resolution)
        if channels == 3 and data.channels == 1:  # grey as RGB, for a model trained on colour images
            data = ImageData(data.images.expand(-1, 3, -1, -1).contiguous(), data.labels, data.class_names, data.name)
        return data
    problem = spec_problem(spec)
    if problem:
        raise DataError(problem)
    path = spec[len("folder:"):] if spec.startswith("folder:") else spec
    from gankit.data.folder import load_folder

    return load_folder(path, resolution=resolution, size_policy=size_policy, channels=channels,
                       canvas=canvas, pad_value=pad_value, strict=strict, mask=mask)


def chosen_resolution(spec: str, size_policy: str = "pad", canvas: int | None = None) -> tuple[int | None, str]:
    """The size to train ``spec`` at when no resolution is given, and the line that says why: an image folder's is
    chosen from its images (see ``folder.choose_resolution``); None for data of a fixed size (Fashion-MNIST keeps 28)."""
    if spec in MIXTURES or spec.startswith("fashion-mnist") or spec in STACKED:
        return None, ""
    path = spec[len("folder:"):] if spec.startswith("folder:") else spec
    if not os.path.isdir(path):
        return None, ""  # the loader names what is wrong with it
    from gankit.data.folder import choose_resolution

    return choose_resolution(path, size_policy, canvas)


def _resize(data, resolution: int):
    """Resize a whole in-memory dataset (an ``ImageData``) once, so training never resizes per step."""
    import torch.nn.functional as F

    x = F.interpolate(data.images.float(), size=(resolution, resolution), mode="bilinear", antialias=True, align_corners=False)
    data.images = x.round().clamp(0, 255).to(data.images.dtype)
    return data
