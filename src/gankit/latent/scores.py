"""Scorers: one number per generated image, the attribute a direction is fitted to and an edit is checked with.

- ``fmnist:CLASS``: the shipped Fashion-MNIST classifier's probability of CLASS (an index 0-9 or a
  name such as ``Trouser``, ``bag``, ``ankle-boot``);
- ``classifier:PATH:CLASS``: the same from a classifier folder written by ``gankit features train``;
- ``MODULE:FUNCTION`` or ``FILE.py:FUNCTION``: your own function, called with a CPU float tensor of
  images [N, C, H, W] in [-1, 1] and returning N scores (a tensor, array or list).

A classifier's scores are about the images it was trained on (``classify.Domain``): a model of other
channels is refused, one of another size or data is warned about (``Scorer.check``).
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from gankit.classify import Domain
from gankit.config import one_line
from gankit.latent import LatentError


@dataclass
class Scorer:
    spec: str  # as given on the command line, recorded with every direction
    label: str  # what the number means, for printing
    fn: Callable[[torch.Tensor], object]
    domain: Domain | None = None  # the images a classifier's scores are about (None: a function's, any)

    def check(self, shape, data: str | None) -> None:
        """Before scoring a model's images [C, H, W] = ``shape``, made from ``data``: refuse other channels than
        the classifier's, warn on another size or other data."""
        if self.domain is not None:
            self.domain.check(f"--score {self.spec}", shape, data, LatentError)

    def __call__(self, images: torch.Tensor, batch: int = 500) -> torch.Tensor:
        """Scores [N] (float64) for images [N, C, H, W] in [-1, 1]; anything else from the function is refused."""
        if self.domain is not None:
            self.domain.refuse(f"--score {self.spec}", images.shape[1:], error=LatentError)
        out = []
        for i in range(0, len(images), batch):
            x = images[i:i + batch]
            try:
                value = self.fn(x)
            except Exception as e:  # noqa: BLE001 - the user's own code: report it, whatever it raised
                raise LatentError(f"--score {self.spec}: the function raised {type(e).__name__}: {one_line(e)}") from None
            try:
                s = torch.as_tensor(np.asarray(_to_numpy(value), dtype=np.float64))
            except (TypeError, ValueError) as e:
                raise LatentError(f"--score {self.spec}: the scores are not numbers ({e})") from None
            if s.shape != (len(x),):
                raise LatentError(f"--score {self.spec}: returned shape {list(s.shape)} for {len(x)} images; "
                                  f"expected one score per image, shape [{len(x)}]")
            if not torch.isfinite(s).all():
                raise LatentError(f"--score {self.spec}: returned NaN or infinite scores")
            out.append(s)
        return torch.cat(out)


def _to_numpy(value):
    return value.detach().float().cpu().numpy() if isinstance(value, torch.Tensor) else value


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def class_index(token: str, names: list[str], where: str) -> int:
    """A class by index or by name, ignoring case and punctuation; a unique prefix is enough (``tshirt``).

    ``where`` names the flag and value in the error, e.g. ``--class 12``.
    """
    if token.isdigit() and int(token) < len(names):
        return int(token)
    key = _key(token)
    exact = [i for i, n in enumerate(names) if _key(n) == key]
    prefix = [i for i, n in enumerate(names) if key and _key(n).startswith(key)]
    if exact or len(prefix) == 1:
        return (exact or prefix)[0]
    raise LatentError(f"{where}: unknown class {token!r}; use 0..{len(names) - 1} or one of: "
                      + ", ".join(names))


def _classifier_scorer(spec: str, extractor_name: str, token: str, device) -> Scorer:
    from gankit.metrics.features import FeatureError, get_extractor
    from gankit.model_folder import ModelFolderError

    try:
        extractor = get_extractor(extractor_name, device)
    except (FeatureError, ModelFolderError) as e:
        raise LatentError(f"--score {spec}: {e}") from None
    names = extractor.class_names or []
    if not names:
        raise LatentError(f"--score {spec}: the classifier records no class names")
    index = class_index(token, names, f"--score {spec}")
    return Scorer(spec, f"{extractor_name} P({names[index]})", lambda x: extractor.class_probs(x)[:, index],
                  Domain.of(extractor))


def _function_scorer(spec: str) -> Scorer:
    where, _, name = spec.rpartition(":")
    try:
        if where.endswith(".py"):
            path = Path(where)
            if not path.is_file():
                raise LatentError(f"--score {spec}: no such file {path}")
            module_spec = importlib.util.spec_from_file_location(f"gankit_user_score_{path.stem}", path)
            module = importlib.util.module_from_spec(module_spec)
            module_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(where)
    except ImportError as e:
        raise LatentError(f"--score {spec}: cannot import {where} ({e})") from None
    except Exception as e:  # noqa: BLE001 - a syntax error or any failure while the user's module runs
        raise LatentError(f"--score {spec}: importing {where} raised {type(e).__name__}: {one_line(e)}") from None
    fn = getattr(module, name, None)
    if not callable(fn):
        raise LatentError(f"--score {spec}: {where} has no function {name!r}")
    return Scorer(spec, f"{where}:{name}", fn)


def get_scorer(spec: str, device="cpu") -> Scorer:
    """The scorer a ``--score`` value names (see the module docstring)."""
    if spec == "fmnist" or spec.startswith("fmnist:"):
        token = spec.partition(":")[2]
        if not token:
            raise LatentError(f"--score {spec}: name a class, fmnist:CLASS (an index 0-9 or a name such as Trouser)")
        return _classifier_scorer(spec, "fmnist", token, device)
    if spec.startswith("classifier:"):
        folder, sep, token = spec[len("classifier:"):].rpartition(":")
        if not sep or not folder or not token:
            raise LatentError(f"--score {spec}: expected classifier:PATH:CLASS")
        return _classifier_scorer(spec, f"classifier:{folder}", token, device)
    where, sep, name = spec.rpartition(":")
    if not sep or not where or not name:
        raise LatentError(f"--score {spec}: expected fmnist:CLASS, classifier:PATH:CLASS, MODULE:FUNCTION "
                          f"or FILE.py:FUNCTION")
    return _function_scorer(spec)
