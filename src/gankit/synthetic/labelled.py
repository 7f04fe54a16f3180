"""Draw labelled images from a generator.

A conditional generator's label is the class it was asked for; an unconditional one's is the class a
classifier (the labeller) sees. With a labeller, an image is kept only when the labeller agrees with its
label and is at least ``min_confidence`` sure of it, so a dataset can trade size for label quality.
Generation goes on, batch by batch, until every class has its quota or ``max_tries`` times the quota
were drawn; a class that falls short is reported, not padded. A labeller judges the images it was trained on
(``classify.Domain``): a generator of other channels is refused, one of another size or data is warned about.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from gankit.classify import Domain, to_float
from gankit.inference import render
from gankit.sampling import to_uint8, truncate
from gankit.progress import bar
from gankit.synthetic import SyntheticError


@dataclass
class Synthetic:
    """Images (uint8 [N, C, H, W]) with their latents, labels and the labeller's confidence, class by class."""

    images: torch.Tensor
    latents: torch.Tensor
    labels: torch.Tensor | None
    class_names: list[str] | None
    confidence: torch.Tensor | None
    quota: list[int] = field(default_factory=list)  # asked for, per class (empty when unlabelled)
    drawn: int = 0  # images generated in all, kept or not

    def __len__(self) -> int:
        return len(self.images)

    def counts(self) -> list[int]:
        return torch.bincount(self.labels, minlength=len(self.class_names)).tolist() if self.labels is not None else []

    def short(self) -> dict[str, tuple[int, int]]:
        """{class: (kept, asked)} for every class below its quota."""
        return {name: (kept, asked) for name, kept, asked in zip(self.class_names or [], self.counts(), self.quota)
                if kept < asked}


def quotas(n: int | None, per_class: int | None, classes: int) -> list[int]:
    """Images per class: ``per_class`` each, or ``n`` split as evenly as it goes (the first classes get one more)."""
    if per_class is not None:
        return [per_class] * classes
    return [n // classes + (c < n % classes) for c in range(classes)]


def label_names(k: int, class_names: list[str] | None, labeller=None) -> list[str] | None:
    """The classes the images will be labelled with: a conditional generator's ``k`` (``class_names``, as its
    data named them), else the labeller's; None when nothing labels them. A labeller of other classes than a
    conditional generator's is refused."""
    if labeller is None:
        return (list(class_names or []) or [str(i) for i in range(k)]) if k else None
    names = labeller.class_names or [str(i) for i in range(labeller.classes)]
    if k and (labeller.classes != k or (class_names and names != list(class_names))):
        raise SyntheticError(f"--label-with {labeller.name}: its classes ({', '.join(names)}) are not the "
                             f"generator's ({', '.join(class_names or [str(i) for i in range(k)])})")
    return list(class_names) if k and class_names else names


def synthesize(G, z_dim: int, *, n: int | None = None, per_class: int | None = None,
               class_names: list[str] | None = None, labeller=None, min_confidence: float = 0.0, seed: int = 0,
               truncation: float | None = None, batch: int = 256, max_tries: int = 20, device="cpu",
               data: str | None = None) -> Synthetic:
    """Labelled images from G (see the module docstring); ``labeller`` is a feature extractor with a class head,
    ``data`` what G was trained on (named when the labeller was trained on other data)."""
    if n is None and per_class is None:
        raise SyntheticError("give -n N or --per-class N")
    k = getattr(G, "c_dim", 0)
    if min_confidence and labeller is None:
        raise SyntheticError(f"--min-confidence {min_confidence}: needs --label-with, a classifier to be confident")
    class_names = label_names(k, class_names, labeller)
    if class_names is None:
        if per_class is not None:
            raise SyntheticError(f"--per-class {per_class}: this generator is not class-conditional; add "
                                 f"--label-with fmnist or classifier:PATH to label its images, or use -n")
        z = _apply(torch.randn(n, z_dim, generator=torch.Generator().manual_seed(seed)), truncation)
        return Synthetic(to_uint8(render(G, z, None, batch, device)), z, None, None, None, [], n)
    return _labelled(G, z_dim, quotas(n, per_class, len(class_names)), class_names, k, labeller, min_confidence,
                     seed, truncation, batch, max_tries, device, data)


def _labelled(G, z_dim, quota, class_names, k, labeller, min_confidence, seed, truncation, batch, max_tries, device,
              data):
    g = torch.Generator().manual_seed(seed)
    domain = Domain.of(labeller) if labeller is not None else None  # checked on the first images, then not again
    kept: list[list[tuple]] = [[] for _ in quota]  # per class: (images, latents, confidence) parts
    have = [0] * len(quota)
    # draws allowed and made: per class asked for (conditional), or one pool (unconditional: classes as they come)
    budget = [max_tries * q for q in quota] if k else [max_tries * sum(quota)]
    drawn = [0] * len(budget)
    shown = bar(sum(quota), "images kept")
    while True:
        short = [c for c, q in enumerate(quota) if have[c] < q]
        if k:
            asks = [c for c in short if drawn[c] < budget[c]]
        else:
            asks = [None] if short and drawn[0] < budget[0] else []
        if not asks:
            break
        for c in asks:
            pool = 0 if c is None else c
            size = min(batch, budget[pool] - drawn[pool])  # never past the budget
            if labeller is None and c is not None:  # every image is kept: draw no more than the class lacks
                size = min(size, quota[c] - have[c])
            z = _apply(torch.randn(size, z_dim, generator=g), truncation)
            asked = None if c is None else torch.full((size,), c, dtype=torch.long)
            images = to_uint8(render(G, z, asked, batch, device))  # what is saved is what is labelled
            drawn[pool] += size
            seen, conf = asked, None
            if domain is not None:
                domain.check(f"--label-with {labeller.name}", images.shape[1:], data, SyntheticError)
                domain = None
            if labeller is not None:
                probs = labeller.class_probs(to_float(images))
                conf, seen = probs.max(1)
                ok = conf >= min_confidence
                if asked is not None:  # and it must see the class G was asked for
                    ok &= seen == asked
                images, z, seen, conf = images[ok], z[ok], seen[ok], conf[ok]
            for cls in seen.unique().tolist():
                pick = (seen == cls).nonzero().flatten()[:max(0, quota[cls] - have[cls])]
                if len(pick):
                    kept[cls].append((images[pick], z[pick], None if conf is None else conf[pick]))
                    have[cls] += len(pick)
                    shown.update(len(pick))
    shown.close()
    parts = [(c, part) for c, per in enumerate(kept) for part in per]
    if not parts:
        raise SyntheticError(f"no image kept of {sum(drawn):,} drawn: the labeller ({labeller.name}) agreed with "
                             f"none at --min-confidence {min_confidence}")
    labels = torch.cat([torch.full((len(part[0]),), c, dtype=torch.long) for c, part in parts])
    confidence = None if labeller is None else torch.cat([part[2] for _, part in parts]).float()
    return Synthetic(torch.cat([part[0] for _, part in parts]), torch.cat([part[1] for _, part in parts]), labels,
                     list(class_names), confidence, list(quota), sum(drawn))


def _apply(z: torch.Tensor, truncation: float | None) -> torch.Tensor:
    return z if truncation is None else truncate(z, truncation)
