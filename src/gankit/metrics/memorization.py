"""Memorization: how many generated samples are (near) copies of training images.

A generator trained on a few dozen images can reach a good FD by handing back its training set. Each sample's
distance to its nearest training image says little alone, since what is "near" depends on the space and the
data; so it is set against the training images' own spacing: each training image's distance to its nearest
*other* training image (leave-one-out). The shares reported:

- ``memorized``: samples closer to a training image than any two training images are to each other, i.e. with
  a nearest-training distance below the smallest leave-one-out distance of the training set. A sample no real
  image would be mistaken for a copy of: these are copies (or near copies) of a training image. (When the
  training set itself holds duplicates, that smallest distance is 0 and nothing counts; ``train_nn_min`` says so.)
- ``memorized_p5``: samples nearer a training image than 95% of the training images are to their nearest
  other one (below the 5th percentile of the leave-one-out distances): a looser count that one odd close pair
  in the training set does not silence.
- ``nn_ratio``: the median nearest-training distance of the samples over the median leave-one-out distance of
  the training images; about 1 for samples as novel as a fresh image of the data, towards 0 for copies.

The closest pairs are drawn side by side (``pairs_image``) so a reader can see what was copied.
Distances are Euclidean, in whatever space the features come (a feature network's, or ``pixels``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

BLOCK_FLOATS = 1 << 24  # distances held at once (64 MB): rows per block = this over the reference size
P_LOW = 5  # percentile of the training set's leave-one-out distances for ``memorized_p5``


@dataclass
class Memorization:
    sample_nn: torch.Tensor  # [M] each sample's distance to its nearest training image
    sample_nn_index: torch.Tensor  # [M] which training image that is
    train_nn: torch.Tensor  # [N] each training image's distance to its nearest other training image

    def metrics(self) -> dict[str, float]:
        low = float(torch.quantile(self.train_nn, P_LOW / 100))
        smallest = float(self.train_nn.min())
        return {
            "memorized": float((self.sample_nn < smallest).float().mean()),
            "memorized_p5": float((self.sample_nn < low).float().mean()),
            "nn_ratio": float(self.sample_nn.median() / self.train_nn.median().clamp_min(1e-12)),
            "train_nn_min": smallest,
            f"train_nn_p{P_LOW}": low,
        }

    def closest(self, k: int) -> list[tuple[int, int, float]]:
        """The ``k`` samples nearest a training image, nearest first: (sample, training image, distance)."""
        order = self.sample_nn.argsort(stable=True)[:k]
        return [(int(i), int(self.sample_nn_index[i]), float(self.sample_nn[i])) for i in order]


def nearest(query: torch.Tensor, reference: torch.Tensor, exclude_self: bool = False):
    """(distance, index) of each query row's nearest reference row; ``exclude_self``: query is reference, and a
    row may not pick itself (leave-one-out; a duplicate elsewhere in the set still counts, at distance 0).

    The search runs on fast matrix-product distances in blocks; the chosen pair's distance is then recomputed
    exactly, since the fast form is off by about 1e-3 near 0, where a copy's distance lies.
    """
    q, r = query.detach().cpu().float().flatten(1), reference.detach().cpu().float().flatten(1)
    if q.shape[1] != r.shape[1]:
        raise ValueError(f"feature dimensions differ: {q.shape[1]} vs {r.shape[1]}")
    rows = max(1, BLOCK_FLOATS // max(1, len(r)))
    index = []
    for start in range(0, len(q), rows):
        d = torch.cdist(q[start:start + rows], r)
        if exclude_self:
            i = torch.arange(start, min(start + rows, len(q)))
            d[i - start, i] = float("inf")
        index.append(d.argmin(1))
    index = torch.cat(index)
    return (q - r[index]).norm(dim=1), index


def memorization(train: torch.Tensor, samples: torch.Tensor) -> Memorization:
    """Nearest-training distances of ``samples`` against the leave-one-out spacing of ``train`` (features [N, D])."""
    if len(train) < 2:
        raise ValueError(f"memorization: needs at least 2 training images to measure their spacing, got {len(train)}")
    train_nn, _ = nearest(train, train, exclude_self=True)
    sample_nn, index = nearest(samples, train)
    return Memorization(sample_nn, index, train_nn)


SEPARATOR = 2  # pixels of mid-grey between a sample and its training image; pairs are 4 black pixels apart


def pairs_image(samples: torch.Tensor, train: torch.Tensor, pairs: list[tuple[int, int, float]], per_row: int = 4):
    """A PIL image of (sample, its nearest training image) pairs, nearest first, left to right then down; in each
    tile the generated sample is on the left, the training image on the right, a grey line between them (visible on
    the dark backgrounds where black padding is not). Images in [-1, 1] of one size."""
    from gankit.sampling import grid_image

    def tile(i: int, j: int) -> torch.Tensor:
        a, b = samples[i].float().cpu(), train[j].float().cpu()
        return torch.cat([a, torch.zeros(*a.shape[:-1], SEPARATOR), b], dim=-1)

    tiles = torch.stack([tile(i, j) for i, j, _ in pairs])
    return grid_image(tiles, nrow=min(per_row, len(tiles)), padding=4)
