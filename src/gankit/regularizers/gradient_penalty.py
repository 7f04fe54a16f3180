"""Gradient penalties: WGAN-GP's (Gulrajani et al. 2017), computed in float32 even under autocast, and R1,
computed from the D step's own forward pass (so in autocast's precision: bf16 on CUDA by default)."""

from __future__ import annotations

from typing import Callable

import torch

from gankit.regularizers.batch_random import BatchRandom, batch_random


def gradient_penalty(D: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor,
                     generator: BatchRandom | torch.Generator | None = None) -> torch.Tensor:
    """Mean of (||grad_x D(x_hat)||_2 - 1)^2 with x_hat uniformly between real and fake samples."""
    shape = (real.shape[0],) + (1,) * (real.ndim - 1)
    eps = batch_random(generator).rand(*shape, device=real.device)
    with torch.autocast(device_type=real.device.type, enabled=False):
        x_hat = (eps * real.float() + (1 - eps) * fake.float()).requires_grad_(True)
        out = D(x_hat).float()
        (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
        return (grad.flatten(1).norm(2, dim=1) - 1.0).square().mean()


def r1_penalty(logits: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """Mean over D's inputs of ||grad_x D(x)||^2 at real samples (R1, Mescheder et al. 2018).

    Zero-centred and on the data only: it flattens D around the real samples, so D cannot push G
    with ever steeper walls, which is what makes the R1 game converge where plain GAN training
    circles. ``logits`` must come from ``inputs`` (made with ``requires_grad_``), so that the D step's
    own forward pass on the reals is reused rather than repeated.
    """
    with torch.autocast(device_type=inputs.device.type, enabled=False):
        (grad,) = torch.autograd.grad(logits.float().sum(), inputs, create_graph=True)
        return grad.float().square().sum() / logits.shape[0]
