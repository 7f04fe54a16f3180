"""Data sources by spec: ``fashion-mnist``, ``fashion-mnist:test``, ``folder:PATH`` (or a bare path), ``ring8``, ``grid25``."""

from __future__ import annotations

import os

from gankit.data.base import DataError, ImageData
from gankit.data.mixtures import MIXTURES, Mixture

__all__ = ["DataError", "ImageData", "Mixture", "chosen_resolution", "load", "describe_specs", "source_key"]


def describe_specs() -> str:
    return ("fashion-mnist | fashion-mnist:test | folder:PATH (or a bare PATH) | "
            + " | ".join(MIXTURES))


def source_key(spec: str) -> str:
    """One spelling per data source, so that two specs can be compared: ``fashion-mnist`` is
    ``fashion-mnist:train``, and ``folder:x``, ``x/`` and ``./x`` are the same folder."""
    if spec in ("fashion-mnist", "fashion-mnist:train"):
        return "fashion-mnist:train"
    if spec == "fashion-mnist:test" or spec in MIXTURES:
        return spec
    return "folder:" + os.path.realpath(spec[len("folder:"):] if spec.startswith("folder:") else spec)


def load(spec: str, *, resolution: int | None = None, size_policy: str = "pad", channels: int | None = None,
         canvas: int | None = None, pad_value: int = 0, strict: bool = False, download: bool = True) -> ImageData | Mixture:
    """Resolve a ``--data`` spec into images in memory or a 2-D mixture."""
    if spec in MIXTURES:
        return MIXTURES[spec]()
    if spec in ("fashion-mnist", "fashion-mnist:train", "fashion-mnist:test"):
        from gankit.data.fashion_mnist import load_fashion_mnist

        data = load_fashion_mnist("test" if spec.endswith(":test") else "train", download=download)
        if resolution not in (None, data.resolution):
            data = _resize(data, resolution)
        if channels == 3:  # grey as RGB, for a model trained on colour images
            data = ImageData(data.images.expand(-1, 3, -1, -1).contiguous(), data.labels, data.class_names, data.name)
        return data
    path = spec[len("folder:"):] if spec.startswith("folder:") else spec
    if not path.strip():
        raise DataError(f"--data {spec!r}: no folder given; use folder:PATH")
    if not spec.startswith("folder:") and not os.path.exists(path):
        raise DataError(f"--data {spec!r}: not a known dataset ({describe_specs()}) and no such folder")
    from gankit.data.folder import load_folder

    return load_folder(path, resolution=resolution, size_policy=size_policy, channels=channels,
                       canvas=canvas, pad_value=pad_value, strict=strict)


def chosen_resolution(spec: str, size_policy: str = "pad") -> tuple[int | None, str]:
    """The size to train ``spec`` at when no resolution is given, and the line that says why: an image folder's is
    chosen from its images (see ``folder.choose_resolution``); None for data of a fixed size (Fashion-MNIST keeps 28)."""
    if spec in MIXTURES or spec.startswith("fashion-mnist"):
        return None, ""
    path = spec[len("folder:"):] if spec.startswith("folder:") else spec
    if not os.path.isdir(path):
        return None, ""  # the loader names what is wrong with it
    from gankit.data.folder import choose_resolution

    return choose_resolution(path, size_policy)


def _resize(data: ImageData, resolution: int) -> ImageData:
    """Resize a whole in-memory dataset once, so training never resizes per step."""
    import torch.nn.functional as F

    x = F.interpolate(data.images.float(), size=(resolution, resolution), mode="bilinear", antialias=True, align_corners=False)
    data.images = x.round().clamp(0, 255).to(data.images.dtype)
    return data
