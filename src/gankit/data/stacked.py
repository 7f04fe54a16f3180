"""Stacked Fashion-MNIST: three Fashion-MNIST images as the red, green and blue channels of one image.

The Stacked MNIST protocol (Metz et al. 2017; VEEGAN, PacGAN and R3GAN report it) measures mode collapse on
images: the triple of labels makes 1000 classes, and a generator that covers the data draws all of them about
equally often. MNIST itself cannot be had offline here, so gankit stacks Fashion-MNIST, whose files it already
reads: the same 1000-mode construction with clothing in place of digits, so its counts compare with the
published digit rows in kind, not to the decimal.

Each channel is an independent draw: channel k of image i is Fashion-MNIST image ``perm_k[i]`` of the split,
``perm_k`` a fixed random permutation (seed 0, 1, 2 for the three channels, repeated as needed), so the set is
the same on every machine. The training set has as many images as the split (60,000); the test set 10,000.
The label is 100 a + 10 b + c for the labels (a, b, c) of the red, green and blue images.
"""

from __future__ import annotations

import torch

from gankit.data.base import ImageData
from gankit.data.fashion_mnist import CLASS_NAMES, load_fashion_mnist

MODES = len(CLASS_NAMES) ** 3
SPECS = ("stacked-fmnist", "stacked-fmnist:train", "stacked-fmnist:test")


def triple(labels: torch.Tensor) -> torch.Tensor:
    """[N, 3] per-channel labels -> [N] stacked labels (100 a + 10 b + c)."""
    return labels[:, 0] * 100 + labels[:, 1] * 10 + labels[:, 2]


def class_name(label: int) -> str:
    """``Trouser/Bag/Coat``: the red, green and blue images' classes."""
    return "/".join(CLASS_NAMES[d] for d in (label // 100, label // 10 % 10, label % 10))


def load_stacked(split: str = "train", download: bool = True, n: int | None = None) -> ImageData:
    """The stacked split as uint8 [n, 3, 28, 28] with its 1000-class labels (``n``: as many as the split)."""
    base = load_fashion_mnist(split, download=download)
    n = len(base) if n is None else n
    picks = []
    for channel in range(3):
        g = torch.Generator().manual_seed(channel)
        order = torch.cat([torch.randperm(len(base), generator=g) for _ in range(-(-n // len(base)))])
        picks.append(order[:n])
    index = torch.stack(picks, 1)  # [n, 3]
    images = base.images[index.flatten(), 0].view(n, 3, *base.images.shape[-2:])
    labels = triple(base.labels[index])
    return ImageData(images=images.contiguous(), labels=labels, class_names=[class_name(k) for k in range(MODES)],
                     name="stacked-fmnist" if split == "train" else f"stacked-fmnist:{split}")
