"""Unrolled GAN (Metz et al. 2017): G's loss is taken against D after k look-ahead steps of D's own training.

The look-ahead steps are differentiable (``create_graph=True``), so G's gradient includes how D
would react to G's move, which discourages G from hopping between modes. As in the paper's code,
all k steps and G's loss use one batch of reals and fakes (one G forward and backward per step,
not k + 1). The surrogate D is updated with plain SGD of step ``unroll.lr`` (the paper unrolls
Adam) on D's adversarial loss alone: penalties (gp, r1), clipping and label tricks shape D's own
steps, not the look-ahead. D itself trains as usual.
"""

from __future__ import annotations

import torch
from torch.func import functional_call

from gankit.config import Key, above, count
from gankit.recipes.adversarial import KEYS as ADVERSARIAL_KEYS, Adversarial
from gankit.recipes.base import StepContext

KEYS: dict[str, Key] = {"unroll.steps": Key(5, count(0, "look-ahead D steps; 0 = a plain GAN", high=1000),
                                       "D steps G's loss looks ahead"),
                        "unroll.lr": Key(0.01, above(0, "the look-ahead's SGD step"), "the look-ahead's SGD step")}
DEFAULTS = {k: key.default for k, key in KEYS.items()}
ALL_KEYS = {**ADVERSARIAL_KEYS, **KEYS}  # every key of the recipe besides the trainer's and the networks'


class Unrolled(Adversarial):
    def g_loss(self, ctx: StepContext) -> torch.Tensor | None:
        steps, lr = self.cfg["unroll.steps"], self.cfg["unroll.lr"]
        if steps == 0 or self.num_classes or self.cfg["tricks.feature_matching"]:
            return super().g_loss(ctx)
        params = dict(self.D.named_parameters())
        buffers = {n: b.clone() for n, b in self.D.named_buffers()}  # look-ahead must not touch D's statistics

        def D(x, p):
            return functional_call(self.D, (p, buffers), (self.packed(x),)).float()

        surrogate = {n: p.detach().requires_grad_(True) for n, p in params.items()}
        real, _ = ctx.real()
        real = self.d_input(real, ctx)
        fake = self.d_input(self.g_fakes(ctx)[0], ctx)  # with G's graph: the look-ahead depends on G
        for _ in range(steps):
            d_loss = self.loss.d_real(D(real, surrogate)).mean() + self.loss.d_fake(D(fake, surrogate)).mean()
            grads = torch.autograd.grad(d_loss, list(surrogate.values()), create_graph=True)
            surrogate = {n: p - lr * g for (n, p), g in zip(surrogate.items(), grads)}
        f = D(fake, surrogate)
        loss = self.loss.g(f).mean()
        ctx.report("Loss/G", loss)
        return loss
