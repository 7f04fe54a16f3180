"""A generator and a labeller whose every output is known, so each kept or dropped image can be checked."""

from __future__ import annotations

from types import SimpleNamespace

import torch

NAMES = ["zero", "one", "two", "three"]


class FakeG(torch.nn.Module):
    """4x4 grey images (or ``channels`` x ``size`` x ``size``) whose brightness encodes a class: the one asked for (conditional), else the one
    ``z[:, 0]`` falls into. ``z[:, 1]`` is copied into pixel (0, 0) so an image can be traced to its latent."""

    def __init__(self, c_dim: int = 0, z_dim: int = 3, channels: int = 1, size: int = 4):
        super().__init__()
        self.c_dim, self.z_dim, self.channels, self.size = c_dim, z_dim, channels, size

    def forward(self, z, c=None):
        if c is None:
            c = torch.bucketize(z[:, 0].contiguous(), torch.tensor([-0.67, 0.0, 0.67]))  # 4 classes, about equally likely
        x = (c.float() / (len(NAMES) - 1) * 2 - 1)[:, None, None, None].expand(-1, self.channels, self.size,
                                                                             self.size).clone()
        x[:, :, 0, 0] = z[:, 1:2].clamp(-1, 1)
        return x


def class_of(images: torch.Tensor) -> torch.Tensor:
    """The class FakeG drew, read back from uint8 or [-1, 1] images."""
    x = images.float()
    x = x / 127.5 - 1 if images.dtype == torch.uint8 else x
    return ((x[:, 0, 1, 1] + 1) / 2 * (len(NAMES) - 1)).round().long()


def labeller(confidence: dict[int, float] | None = None, wrong: dict[int, int] | None = None, names=NAMES,
             wrong_when_dark: bool = False, trained_on: str | None = None):
    """Sees FakeG's class, except classes in ``wrong`` (seen as another; with ``wrong_when_dark`` only when the
    traced pixel is below 0, about half the time); sure of it with ``confidence[c]`` (default 0.9), the rest
    spread over the other classes. Trained, it says, on FakeG's 1x4x4 images (of ``trained_on``)."""
    confidence, wrong = confidence or {}, wrong or {}

    def class_probs(x):
        drawn = class_of(x)
        seen = drawn.clone().apply_(lambda c: wrong.get(c, c))
        if wrong_when_dark:
            seen = torch.where(x[:, 0, 0, 0] < 0, seen, drawn)
        p = torch.tensor([confidence.get(int(c), 0.9) for c in seen])
        probs = ((1 - p) / (len(names) - 1))[:, None].repeat(1, len(names))
        probs[torch.arange(len(x)), seen] = p
        return probs

    return SimpleNamespace(name="fake", classes=len(names), class_names=list(names), logits=True,
                           class_probs=class_probs, channels=1, resolution=4, trained_on=trained_on)
