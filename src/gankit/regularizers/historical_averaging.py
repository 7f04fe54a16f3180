"""Historical averaging (Salimans et al. 2016): each player pays lambda * ||theta - mean of its past thetas||^2,
which damps the oscillations of gradient descent in a game."""

from __future__ import annotations

import torch
from torch import nn


class HistoricalAverage:
    """The running mean of a network's parameters over its updates, and the penalty against it."""

    def __init__(self, net: nn.Module):
        self.net = net
        self.mean = [p.detach().clone() for p in net.parameters()]
        self.count = 1

    def _follow(self) -> None:
        """Keep the means where the parameters are: the recipe is built before the trainer moves the nets."""
        self.mean = [m if m.device == p.device else m.to(p.device) for m, p in zip(self.mean, self.net.parameters())]

    def penalty(self) -> torch.Tensor:
        self._follow()
        return sum((p.float() - m.float()).square().sum() for p, m in zip(self.net.parameters(), self.mean))

    @torch.no_grad()
    def update(self) -> None:
        """Fold the current parameters into the mean (called after each optimizer step of the net)."""
        self._follow()
        self.count += 1
        for m, p in zip(self.mean, self.net.parameters()):
            m.add_(p.detach() - m, alpha=1.0 / self.count)

    def state_dict(self) -> dict:
        return {"mean": [m.cpu() for m in self.mean], "count": self.count}

    def load_state_dict(self, state: dict) -> None:
        self.mean = [m.to(p.device) for m, p in zip(state["mean"], self.net.parameters())]
        self.count = state["count"]
