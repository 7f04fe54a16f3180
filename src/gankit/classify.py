"""Train and load image classifiers: the feature networks behind offline metrics, and the CAS classifier.

An exported classifier is a folder with ``config.json`` (architecture, class names, test
accuracy, sha256 of the weights) and ``classifier.safetensors``: no pickles.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from gankit import model_folder, nets
from gankit.data import ImageData
from gankit.nuisances import randomize

CAS_NUISANCES = ("flip", "shift")  # the light augmentation of CAS classifiers and train_classifier's default


class ClassifierError(ValueError):
    """Data a classifier cannot be trained on; the message names it."""


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1], the range every gankit generator produces."""
    return images.float().div(127.5).sub(1.0)


def augment(x: torch.Tensor, generator: torch.Generator, shift: int = 1,
            nuisances: tuple[str, ...] = CAS_NUISANCES) -> torch.Tensor:
    """Random ``nuisances`` per sample (see gankit.nuisances); by default flips and a batch-wide shift."""
    return randomize(x, nuisances, generator, shift)


def invariance_loss(features: torch.Tensor) -> torch.Tensor:
    """Squared distance between the features of two views of each image, relative to the features' spread.

    ``features`` holds the first views, then the second views. Augmentation alone teaches the class head
    to ignore a nuisance, not the features: the old shipped extractor, trained with flips, still moved
    by 17% of its noise ceiling under mirroring. This term is what makes the feature space itself still.
    """
    a, b = features.chunk(2)
    spread = features.var(0).sum().clamp_min(1e-6)
    return (a - b).pow(2).sum(1).mean() / spread


@torch.no_grad()
def accuracy(model: torch.nn.Module, data: ImageData, batch: int = 1000, device="cpu") -> float:
    model.eval()
    correct = 0
    for i in range(0, len(data), batch):
        x = to_float(data.images[i:i + batch].to(device))
        correct += int((model(x).argmax(1).cpu() == data.labels[i:i + batch]).sum())
    return correct / len(data)


def train_classifier(train: ImageData, test: ImageData | None = None, *, epochs: int = 12, batch: int = 128,
                     lr: float = 2e-3, width: int = 32, seed: int = 0, device="cpu", log=print,
                     steps: int | None = None, nuisances: tuple[str, ...] = CAS_NUISANCES, invariance: float = 0.0,
                     init: torch.nn.Module | None = None):
    """Adam with a one-cycle schedule and ``nuisances`` as augmentation; returns (model, test accuracy or None).

    ``invariance`` > 0: each batch is seen in two independently augmented views, both classified, and
    ``invariance`` times ``invariance_loss`` pulls their features together (a feature network for metrics).
    ``init``: a classifier of the same architecture to start from (fine-tuning) instead of random weights.

    A set smaller than ``batch`` trains on all of it at each step (CAS from a few hundred samples).
    ``steps`` fixes the number of optimizer steps instead of ``epochs``, so that training sets of different
    sizes can be compared at equal compute.
    """
    if train.labels is None:
        raise ClassifierError(f"{train.name}: a classifier needs labelled data (class subfolders)")
    if len(train) == 0:
        raise ClassifierError(f"{train.name}: no images to train a classifier on")
    if train.num_classes < 2:
        raise ClassifierError(f"{train.name}: a classifier needs at least two classes (class subfolders), "
                              f"found {train.num_classes}")
    batch = min(batch, len(train))
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    model = nets.build("classifier", img_resolution=train.resolution, img_channels=train.channels,
                       num_classes=train.num_classes, width=width, class_names=train.class_names).to(device)
    if init is not None:
        if init.config != model.config:
            raise ClassifierError(f"{train.name}: the classifier to start from is {init.config}, but this data and "
                                  f"--width make {model.config}")
        model.load_state_dict(init.state_dict())
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps_per_epoch = len(train) // batch  # >= 1
    total_steps = steps if steps is not None else epochs * steps_per_epoch
    epochs = math.ceil(total_steps / steps_per_epoch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=total_steps)
    images, labels = train.images.to(device), train.labels.to(device)
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(train), generator=g).to(device)
        start, total = time.perf_counter(), 0.0
        this_epoch = min(steps_per_epoch, total_steps - epoch * steps_per_epoch)
        for s in range(this_epoch):
            idx = perm[s * batch:(s + 1) * batch]
            x = to_float(images[idx])
            if invariance > 0:
                views = torch.cat([augment(x, g, nuisances=nuisances), augment(x, g, nuisances=nuisances)])
                features = model.features(views)
                loss = F.cross_entropy(model.head(features), labels[idx].repeat(2))
                loss = loss + invariance * invariance_loss(features)
            else:
                loss = F.cross_entropy(model(augment(x, g, nuisances=nuisances)), labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
        acc = accuracy(model, test, device=device) if test is not None else None
        log(f"epoch {epoch + 1}/{epochs}: loss {total / this_epoch:.4f}"
            + (f", test accuracy {acc:.4f}" if acc is not None else "") + f" ({time.perf_counter() - start:.0f} s)")
    return model.eval(), (accuracy(model, test, device=device) if test is not None else None)


def save_classifier(model: torch.nn.Module, out_dir: Path, info: dict) -> Path:
    """config.json (architecture, sha256, test accuracy, ...) + classifier.safetensors, written whole."""
    return model_folder.save(model, out_dir, "classifier", info)


def load_classifier(folder: Path, device="cpu"):
    """(model in eval mode, config dict); the weights' sha256 must match the one recorded when saved."""
    return model_folder.load(folder, "classifier", "classifier", device)
