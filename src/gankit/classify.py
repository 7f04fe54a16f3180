"""Train and load image classifiers: the feature networks behind offline metrics, and the CAS classifier.

An exported classifier is a folder with ``config.json`` (architecture, class names, test
accuracy, sha256 of the weights) and ``classifier.safetensors``: no pickles.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from gankit import nets
from gankit.atomic import write_folder
from gankit.data import ImageData


class ClassifierError(ValueError):
    """A classifier folder that cannot be used; the message names it."""


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1], the range every gankit generator produces."""
    return images.float().div(127.5).sub(1.0)


def augment(x: torch.Tensor, generator: torch.Generator, shift: int = 1) -> torch.Tensor:
    """Random horizontal flips and a batch-wide shift of up to ``shift`` pixels (reflection padding)."""
    n = x.shape[0]
    flip = torch.rand(n, 1, 1, 1, generator=generator, device=x.device) < 0.5
    x = torch.where(flip, x.flip(-1), x)
    if shift <= 0:
        return x
    padded = F.pad(x, (shift,) * 4, mode="reflect")
    dx, dy = (int(v) for v in torch.randint(0, 2 * shift + 1, (2,), generator=generator))
    return padded[..., dy:dy + x.shape[-2], dx:dx + x.shape[-1]]


@torch.no_grad()
def accuracy(model: torch.nn.Module, data: ImageData, batch: int = 1000, device="cpu") -> float:
    model.eval()
    correct = 0
    for i in range(0, len(data), batch):
        x = to_float(data.images[i:i + batch].to(device))
        correct += int((model(x).argmax(1).cpu() == data.labels[i:i + batch]).sum())
    return correct / len(data)


def train_classifier(train: ImageData, test: ImageData | None = None, *, epochs: int = 12, batch: int = 128,
                     lr: float = 2e-3, width: int = 32, seed: int = 0, device="cpu", log=print):
    """Adam with a one-cycle schedule and flip/shift augmentation; returns (model, test accuracy or None)."""
    if train.labels is None:
        raise ClassifierError(f"{train.name}: a classifier needs labelled data (class subfolders)")
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    model = nets.build("classifier", img_resolution=train.resolution, img_channels=train.channels,
                       num_classes=train.num_classes, width=width, class_names=train.class_names).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps_per_epoch = len(train) // batch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps_per_epoch)
    images, labels = train.images.to(device), train.labels.to(device)
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(train), generator=g).to(device)
        start, total = time.perf_counter(), 0.0
        for s in range(steps_per_epoch):
            idx = perm[s * batch:(s + 1) * batch]
            x = augment(to_float(images[idx]), g)
            loss = F.cross_entropy(model(x), labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
        acc = accuracy(model, test, device=device) if test is not None else None
        log(f"epoch {epoch + 1}/{epochs}: loss {total / steps_per_epoch:.4f}"
            + (f", test accuracy {acc:.4f}" if acc is not None else "") + f" ({time.perf_counter() - start:.0f} s)")
    return model.eval(), (accuracy(model, test, device=device) if test is not None else None)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_classifier(model: torch.nn.Module, out_dir: Path, info: dict) -> Path:
    """Write config.json + classifier.safetensors into a temp folder, then move it into place whole."""

    def fill(tmp: Path) -> None:
        weights = tmp / "classifier.safetensors"
        save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(weights))
        config = {"network": model.config, "sha256": sha256(weights), **info}
        (tmp / "config.json").write_text(json.dumps(config, indent=2) + "\n")

    return write_folder(Path(out_dir), fill, marker="classifier.safetensors")


def load_classifier(folder: Path, device="cpu"):
    """(model in eval mode, config dict); the weights' sha256 must match the one recorded at export."""
    folder = Path(folder)
    config_path, weights = folder / "config.json", folder / "classifier.safetensors"
    for p in (config_path, weights):
        if not p.is_file():
            raise ClassifierError(f"classifier {folder}: missing {p.name} (write one with `gankit features train`)")
    config = json.loads(config_path.read_text())
    if sha256(weights) != config.get("sha256"):
        raise ClassifierError(f"{weights}: sha256 does not match the one in {config_path}; the file is damaged or replaced")
    model = nets.from_config(config["network"])
    model.load_state_dict(load_file(str(weights)))
    return model.to(device).eval(), config
