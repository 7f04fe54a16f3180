"""Regularizers any adversarial recipe can switch on through its config."""

from gankit.regularizers.gradient_penalty import gradient_penalty, r1_penalty
from gankit.regularizers.weight_clip import clip_weights

__all__ = ["clip_weights", "gradient_penalty", "r1_penalty"]
