"""Adversarial losses as pure functions of discriminator outputs (logits, never probabilities).

Each loss gives per-sample values for the three terms a GAN trains on:
``d_real(r)``, ``d_fake(f)`` (minimised by D) and ``g(f)`` (minimised by G), where
r = D(x) on real data and f = D(G(z)). ``target`` lets label tricks move the real label.
A *paired* loss (relativistic) scores a real and a fake sample together instead: ``d_pair(r, f)`` and
``g_pair(r, f)`` on the i-th real and the i-th fake of a batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

Tensor = torch.Tensor


@dataclass(frozen=True)
class AdversarialLoss:
    name: str
    summary: str
    d_real: Callable[..., Tensor]
    d_fake: Callable[..., Tensor]
    g: Callable[[Tensor], Tensor]
    d_pair: Callable[[Tensor, Tensor], Tensor] | None = None
    g_pair: Callable[[Tensor, Tensor], Tensor] | None = None

    @property
    def paired(self) -> bool:
        """Whether D and G losses take a real and a fake logit together (G's step then needs D on reals too)."""
        return self.d_pair is not None


def bce_real(r: Tensor, target: float | Tensor = 1.0) -> Tensor:
    """-[t log sigmoid(r) + (1-t) log(1 - sigmoid(r))]; t=1 gives softplus(-r)."""
    return F.binary_cross_entropy_with_logits(r, torch.as_tensor(target, dtype=r.dtype, device=r.device).expand_as(r), reduction="none")


def bce_fake(f: Tensor, target: float | Tensor = 0.0) -> Tensor:
    """-log(1 - sigmoid(f)) = softplus(f) for the fake label 0."""
    return F.binary_cross_entropy_with_logits(f, torch.as_tensor(target, dtype=f.dtype, device=f.device).expand_as(f), reduction="none")


def minimax_g(f: Tensor) -> Tensor:
    """G minimises log(1 - sigmoid(f)) = -softplus(f) (Goodfellow et al. 2014, eq. 1); saturates early on."""
    return -F.softplus(f)


def nonsaturating_g(f: Tensor) -> Tensor:
    """G maximises log sigmoid(f), i.e. minimises softplus(-f) (the 'log D trick')."""
    return F.softplus(-f)


def ls_real(r: Tensor, target: float | Tensor = 1.0) -> Tensor:
    """LSGAN (Mao et al. 2017), a=0, b=1, c=1: D minimises 1/2 (D(x) - b)^2 + 1/2 (D(G(z)) - a)^2."""
    return 0.5 * (r - target) ** 2


def ls_fake(f: Tensor, target: float | Tensor = 0.0) -> Tensor:
    return 0.5 * (f - target) ** 2


def ls_g(f: Tensor) -> Tensor:
    return 0.5 * (f - 1.0) ** 2


def wasserstein_real(r: Tensor, target: float | Tensor = 1.0) -> Tensor:
    """WGAN critic (Arjovsky et al. 2017): maximise E[D(x)] - E[D(G(z))]; ``target`` is unused."""
    return -r


def wasserstein_fake(f: Tensor, target: float | Tensor = 0.0) -> Tensor:
    return f


def wasserstein_g(f: Tensor) -> Tensor:
    return -f


def hinge_real(r: Tensor, target: float | Tensor = 1.0) -> Tensor:
    """Hinge (Lim & Ye 2017; Miyato et al. 2018): D minimises relu(1 - D(x)) + relu(1 + D(G(z)))."""
    return F.relu(1.0 - r)


def hinge_fake(f: Tensor, target: float | Tensor = 0.0) -> Tensor:
    return F.relu(1.0 + f)


def hinge_g(f: Tensor) -> Tensor:
    return -f


def relativistic_d(r: Tensor, f: Tensor) -> Tensor:
    """Relativistic pairing (Jolicoeur-Martineau 2019; R3GAN, Huang et al. 2024): D minimises
    softplus(-(D(x) - D(G(z)))), the chance that a real sample looks less real than its paired fake."""
    return F.softplus(f - r)


def relativistic_g(r: Tensor, f: Tensor) -> Tensor:
    """G minimises softplus(-(D(G(z)) - D(x))): its sample should look more real than the paired real one."""
    return F.softplus(r - f)


def _unpaired(*_args, **_kwargs):
    raise TypeError("a paired loss scores a real and a fake together: use d_pair and g_pair")


LOSSES: dict[str, AdversarialLoss] = {
    loss.name: loss
    for loss in [
        AdversarialLoss("minimax", "original GAN value function", bce_real, bce_fake, minimax_g),
        AdversarialLoss("nonsaturating", "GAN with the non-saturating generator loss", bce_real, bce_fake, nonsaturating_g),
        AdversarialLoss("least-squares", "LSGAN, a=0 b=1 c=1", ls_real, ls_fake, ls_g),
        AdversarialLoss("wasserstein", "WGAN critic: no sigmoid, no log", wasserstein_real, wasserstein_fake, wasserstein_g),
        AdversarialLoss("hinge", "hinge loss for D, -D(G(z)) for G", hinge_real, hinge_fake, hinge_g),
        AdversarialLoss("relativistic", "relativistic pairing: softplus of the paired logit difference",
                        _unpaired, _unpaired, _unpaired, relativistic_d, relativistic_g),
    ]
}


def get(name: str) -> AdversarialLoss:
    if name not in LOSSES:
        from gankit.config import ConfigError

        raise ConfigError(f"--set loss={name}: unknown loss; known: {', '.join(LOSSES)}")
    return LOSSES[name]
