"""Losses as pure functions of network outputs."""

from gankit.losses.adversarial import LOSSES, AdversarialLoss, get

__all__ = ["LOSSES", "AdversarialLoss", "get"]
