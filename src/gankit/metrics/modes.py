"""Mode counting, exactly per the PacGAN / VEEGAN protocols.

2-D mixtures: a sample is high quality (HQ) if it lies within 3 standard deviations of its nearest mode
centre. A mode is captured if it is the nearest centre of at least one HQ sample. Reverse KL
is KL(p_gen || uniform) over the modes, with p_gen the share of HQ samples nearest each mode.

Stacked images (``data.stacked``): a classifier labels each of a sample's three channels; the triple is its
mode, one of 1000. A mode is captured if at least one sample lands in it; reverse KL as above over all samples.
The count is only as good as the classifier: a triple is right with about its per-image accuracy cubed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from gankit.data.mixtures import Mixture


@dataclass(frozen=True)
class ModeReport:
    modes: int
    num_modes: int
    hq_fraction: float
    reverse_kl: float
    counts: list[int]

    def as_dict(self) -> dict:
        return {"modes": self.modes, "num_modes": self.num_modes, "hq_percent": 100 * self.hq_fraction,
                "reverse_kl": self.reverse_kl}


def count_stacked_modes(images: torch.Tensor, classifier, num_modes: int = 1000) -> dict:
    """Modes and reverse KL of samples [N, 3, H, W] in [-1, 1], each channel labelled by ``classifier`` (an
    extractor with a 10-class head, such as the shipped ``fmnist``)."""
    from gankit.data.stacked import triple

    n = images.shape[0]
    channels = images.reshape(n * 3, 1, *images.shape[-2:])
    labels = triple(classifier.class_probs(channels).argmax(1).view(n, 3))
    counts = torch.bincount(labels, minlength=num_modes)
    p = counts.double() / n
    nz = p > 0
    return {"modes": int(nz.sum()), "num_modes": num_modes, "reverse_kl": float((p[nz] * (p[nz] * num_modes).log()).sum())}


def count_modes(samples: torch.Tensor, mixture: Mixture, n_std: float = 3.0) -> ModeReport:
    samples = samples.detach().float().cpu()
    centers = mixture.centers.float().cpu()
    dist = torch.cdist(samples, centers)  # [N, K]
    nearest_dist, nearest = dist.min(dim=1)
    hq = nearest_dist <= n_std * mixture.std
    counts = torch.bincount(nearest[hq], minlength=mixture.num_modes)
    total = int(counts.sum())
    if total:
        p = counts.double() / total
        nz = p > 0
        reverse_kl = float((p[nz] * (p[nz] * mixture.num_modes).log()).sum())
    else:
        reverse_kl = math.inf
    return ModeReport(int((counts > 0).sum()), mixture.num_modes, float(hq.float().mean()), reverse_kl, counts.tolist())
