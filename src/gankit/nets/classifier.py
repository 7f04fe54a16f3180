"""A small CNN classifier whose penultimate layer serves as a feature space for metrics.

Two conv-conv-pool stages and a 128-unit layer: on 28x28 Fashion-MNIST it reaches over 93%
test accuracy in a few CPU epochs, and its 128-d features are what ``fd``, ``kid``, ``pr``
and ``dc`` compare when Inception weights are not at hand.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from gankit.nets.registry import register


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    )


@register("classifier")
class Classifier(nn.Module):
    """Images in [-1, 1] -> class logits; ``features(x)`` gives the ``feature_dim`` embedding."""

    def __init__(self, img_resolution: int = 28, img_channels: int = 1, num_classes: int = 10, width: int = 32,
                 feature_dim: int = 128, class_names: list | None = None):
        super().__init__()
        self.class_names = list(class_names) if class_names else [str(i) for i in range(num_classes)]
        self.body = nn.Sequential(_block(img_channels, width), _block(width, 2 * width), nn.AdaptiveAvgPool2d(7))
        self.embed = nn.Sequential(nn.Flatten(), nn.Linear(2 * width * 49, feature_dim), nn.ReLU(inplace=True))
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(feature_dim, num_classes))

    @classmethod
    def data_kwargs(cls, info, cfg) -> dict:
        return {"img_resolution": info.resolution, "img_channels": info.channels, "num_classes": info.num_classes}

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.embed(self.body(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@register("mlp-classifier")
class MLPClassifier(nn.Module):
    """Flattened input of ``in_shape`` -> hidden LeakyReLU layers -> class logits (for 2-D points and tiny images)."""

    def __init__(self, in_shape: tuple = (2,), num_classes: int = 10, hidden: tuple = (128, 128)):
        super().__init__()
        sizes = [math.prod(in_shape), *hidden]
        layers: list[nn.Module] = [nn.Flatten()]
        for a, b in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(a, b), nn.LeakyReLU(0.2)]
        self.net = nn.Sequential(*layers, nn.Linear(sizes[-1], num_classes))

    @classmethod
    def data_kwargs(cls, info, cfg) -> dict:
        return {"in_shape": tuple(info.shape), "num_classes": info.num_classes}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
