"""A feature space for metrics from unlabelled images: contrastive training (SimCLR's NT-Xent loss).

A few dozen microscope crops have no classes to learn, Inception is often out of reach offline, and the
shipped ``fmnist`` space describes clothing. Contrastive training needs only the images: each step draws two
augmented views of every image in a batch (a random crop and translation, then the ``gankit.nuisances``
changes), and the loss (Chen et al. 2020, "A Simple Framework for Contrastive Learning of Visual
Representations") makes each view's features nearer its twin than every other view in the batch. So the space
learns to ignore what the augmentations change and to tell the images apart by what they keep: with few
images, every step is a fresh pair of views of each, so a few hundred steps see each image hundreds of times.

The network is the feature classifier's (``nets/classifier.py``), saved in the same folder format, so
``gankit eval --features classifier:PATH`` and ``gankit features calibrate`` take it as they take a labelled
one; its config records ``"self_supervised": true`` and its class head is never used. The loss is applied to
the features themselves (no projection head), so the distances ``eval`` measures are the ones trained.

Training code: imported only by ``gankit features train --self-supervised``, never by the metrics.
"""

from __future__ import annotations

import math
import time

import torch
import torch.nn.functional as F

from gankit import nets
from gankit.classify import ClassifierError, to_float
from gankit.data import ImageData
from gankit.nuisances import DEFAULT, randomize
from gankit.progress import bar

STEPS, BATCH, WIDTH, FEATURE_DIM, LR, TEMPERATURE = 300, 32, 8, 64, 2e-3, 0.1
CROP_AREA = (0.64, 1.0)  # a view keeps this share of the image's area
CROP_ASPECT = (0.9, 1 / 0.9)  # width / height of the crop
TRANSLATE = 0.125  # further shift, as a share of the half-width (edges are reflected in)


def random_crops(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A random crop of each image (area share ``CROP_AREA``, aspect ``CROP_ASPECT``), moved by up to ``TRANSLATE``
    and resized back to the full size: one ``grid_sample`` call per batch, draws from ``generator`` (CPU)."""
    n = x.shape[0]

    def uniform(lo, hi):
        return lo + (hi - lo) * torch.rand(n, generator=generator)

    side = uniform(*CROP_AREA).sqrt()
    aspect = uniform(math.log(CROP_ASPECT[0]), math.log(CROP_ASPECT[1])).exp().sqrt()
    sx, sy = (side * aspect).clamp(max=1), (side / aspect).clamp(max=1)
    tx = (uniform(-1, 1) * (1 - sx + TRANSLATE))
    ty = (uniform(-1, 1) * (1 - sy + TRANSLATE))
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 2], theta[:, 1, 1], theta[:, 1, 2] = sx, tx, sy, ty
    grid = F.affine_grid(theta.to(x.device, x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def view(x: torch.Tensor, generator: torch.Generator, nuisances: tuple[str, ...] = DEFAULT) -> torch.Tensor:
    """One augmented view of each image in [-1, 1]: a random crop, then the ``nuisances``."""
    return randomize(random_crops(x, generator), nuisances, generator)


def nt_xent(features: torch.Tensor, temperature: float = TEMPERATURE) -> tuple[torch.Tensor, torch.Tensor]:
    """(NT-Xent loss, share of views whose most similar other view is their twin) for ``features`` holding the
    first views of B images, then their second views: each view must pick its twin among the 2B - 1 others by
    cosine similarity over ``temperature``."""
    z = F.normalize(features.float(), dim=1)
    b = z.shape[0] // 2
    sim = (z @ z.T / temperature).fill_diagonal_(float("-inf"))  # a view is not its own twin
    twin = torch.cat([torch.arange(b, 2 * b), torch.arange(b)]).to(z.device)
    return F.cross_entropy(sim, twin), (sim.argmax(1) == twin).float().mean()


def train_contrastive(data: ImageData, *, steps: int = STEPS, batch: int = BATCH, width: int = WIDTH,
                      feature_dim: int = FEATURE_DIM, lr: float = LR, temperature: float = TEMPERATURE, seed: int = 0,
                      nuisances: tuple[str, ...] = DEFAULT, device="cpu", log=print) -> tuple[torch.nn.Module, float]:
    """(feature network in eval mode, share of views matched to their twin in the last tenth of the steps).

    Adam with a one-cycle schedule, as the labelled feature networks. Each step takes ``batch`` images (all of
    them when there are fewer), cycling through the data in a seeded random order; the seed fixes the initial
    weights, the order and every augmentation, so a run repeats exactly on one thread.
    """
    if len(data) < 2:
        raise ClassifierError(f"{data.name}: contrastive training tells images apart, so it needs at least two, "
                              f"found {len(data)}")
    batch = min(batch, len(data))
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    model = nets.build("classifier", img_resolution=data.resolution, img_channels=data.channels, num_classes=1,
                       width=width, feature_dim=feature_dim).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    images = data.images.to(device)
    every = max(1, steps // 10)
    order, pos = torch.randperm(len(data), generator=g), 0
    losses, matched, late = [], [], []
    start = time.perf_counter()
    model.train()
    with bar(steps, "training features (self-supervised)", unit="step") as shown:
        for step in range(1, steps + 1):
            if pos + batch > len(data):  # a new epoch: a new order
                order, pos = torch.randperm(len(data), generator=g), 0
            x = to_float(images[order[pos:pos + batch].to(device)])
            pos += batch
            loss, match = nt_xent(model.features(torch.cat([view(x, g, nuisances), view(x, g, nuisances)])),
                                  temperature)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            shown.update(1)
            losses.append(loss.item())
            if not math.isfinite(losses[-1]):
                raise ClassifierError(f"{data.name}: contrastive training diverged at step {step} (loss not "
                                      f"finite); try a lower --lr")
            matched.append(match.item())
            if step > steps - max(1, steps // 10):
                late.append(matched[-1])
            if step % every == 0 or step == steps:
                log(f"step {step}/{steps}: loss {sum(losses) / len(losses):.4f}, views matched to their twin "
                    f"{sum(matched) / len(matched):.0%} of {2 * batch} ({time.perf_counter() - start:.0f} s)")
                losses, matched = [], []
    return model.eval(), sum(late) / len(late)
