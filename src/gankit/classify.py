"""Train and load image classifiers: the feature networks behind offline metrics, and the CAS classifier.

An exported classifier is a folder with ``config.json`` (architecture, class names, test
accuracy, sha256 of the weights) and ``classifier.safetensors``: no pickles.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from gankit import model_folder, nets
from gankit.data import ImageData
from gankit.nuisances import randomize
from gankit.progress import bar

CAS_NUISANCES = ("flip", "shift")  # the light augmentation of CAS classifiers and train_classifier's default


class ClassifierError(ValueError):
    """Data a classifier cannot be trained on; the message names it."""


@dataclass(frozen=True)
class Domain:
    """The images a classifier was trained on. Its probabilities are about those: on images of other channels it
    would still answer, meaning nothing, and on another size or other data its answers may mean little. A scorer or
    labeller made from it therefore refuses the first and warns on the second (``check``)."""

    channels: int
    resolution: int
    data: str | None = None  # the --data it was trained on, as its config.json records it

    def describe(self) -> str:
        return f"{self.channels}-channel {self.resolution}x{self.resolution} images" + \
            (f" of {self.data}" if self.data else "")

    @classmethod
    def of(cls, extractor) -> "Domain | None":
        """The domain of a classifier ``metrics.features.Extractor``; None for one that takes any image."""
        if extractor.channels is None or extractor.resolution is None:
            return None
        return cls(extractor.channels, extractor.resolution, extractor.trained_on)

    def refuse(self, who: str, shape, data: str | None = None, error=ClassifierError) -> None:
        """Raise ``error`` naming ``who`` (the flag and value) when images [C, H, W] = ``shape`` have other channels."""
        if int(shape[0]) != self.channels:
            raise error(f"{who}: the classifier judges {self.describe()}; this model makes {_images(shape, data)}, "
                        f"on which its answers would mean nothing")

    def check(self, who: str, shape, data: str | None, error=ClassifierError) -> None:
        """``refuse``, then warn in one line naming ``who`` and the model's ``data`` when the images' size or data
        are not the classifier's."""
        self.refuse(who, shape, data, error)
        if tuple(int(v) for v in shape[1:]) != (self.resolution, self.resolution) or \
                (data and self.data and _dataset(data) != _dataset(self.data)):
            warnings.warn(f"{who}: the classifier was trained on {self.describe()}; this model makes "
                          f"{_images(shape, data)}, on which its answers may mean little", stacklevel=3)


def _images(shape, data: str | None) -> str:
    return f"{int(shape[0])}-channel {int(shape[1])}x{int(shape[2])} images" + (f" of {data}" if data else "")


def _dataset(spec: str) -> str:
    """One name per dataset, whatever the split: a classifier of Fashion-MNIST's training images judges its test
    images too."""
    from gankit.data import source_key

    return "fashion-mnist" if spec.startswith("fashion-mnist") else source_key(spec)


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
    shown = bar(total_steps, "training classifier", unit="step")
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
            shown.update(1)
            sched.step()
            total += loss.item()
        acc = accuracy(model, test, device=device) if test is not None else None
        log(f"epoch {epoch + 1}/{epochs}: loss {total / this_epoch:.4f}"
            + (f", test accuracy {acc:.4f}" if acc is not None else "") + f" ({time.perf_counter() - start:.0f} s)")
    shown.close()
    return model.eval(), (accuracy(model, test, device=device) if test is not None else None)


def save_classifier(model: torch.nn.Module, out_dir: Path, info: dict) -> Path:
    """config.json (architecture, sha256, test accuracy, ...) + classifier.safetensors, written whole."""
    return model_folder.save(model, out_dir, "classifier", info)


def load_classifier(folder: Path, device="cpu"):
    """(model in eval mode, config dict); the weights' sha256 must match the one recorded when saved."""
    return model_folder.load(folder, "classifier", "classifier", device)
