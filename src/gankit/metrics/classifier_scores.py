"""Scores from a classifier of the data's own domain: Inception-Score-style, conditional accuracy, and CAS.

- ``is``: exp(E_x KL(p(y|x) || p(y))) with p(y|x) from a domain classifier (Salimans et al. 2016's
  formula, a different classifier than Inception: comparable only within the same classifier), mean
  and std over 10 splits.
- ``cacc``: share of samples of a class-conditional generator that the classifier assigns to the
  requested class.
- ``cas``: Classification Accuracy Score (Ravuri & Vinyals 2019): a classifier trained only on
  generated samples (labelled by the requested class), tested on real test data, reported next to
  the same classifier trained on as many real images for as many epochs.
"""

from __future__ import annotations

import torch

from gankit.data import ImageData


def inception_style_score(probs: torch.Tensor, splits: int = 10) -> tuple[float, float]:
    scores = []
    for part in probs.double().chunk(splits):
        marginal = part.mean(0, keepdim=True)
        kl = (part * (part.clamp_min(1e-12).log() - marginal.clamp_min(1e-12).log())).sum(1).mean()
        scores.append(kl.exp())
    scores = torch.stack(scores)
    return float(scores.mean()), float(scores.std(unbiased=False)) if len(scores) > 1 else 0.0


def conditional_accuracy(predicted: torch.Tensor, requested: torch.Tensor) -> float:
    return float((predicted.cpu() == requested.cpu()).float().mean())


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    return images.detach().float().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8).cpu()


def classification_accuracy_score(fake: torch.Tensor, fake_labels: torch.Tensor, real_train: ImageData,
                                  real_test: ImageData, epochs: int = 5, seed: int = 0, device="cpu") -> dict:
    """CAS and the real-data baseline, same architecture, sample count and epochs."""
    from gankit.classify import accuracy, train_classifier

    n = len(fake)
    names = real_test.class_names
    synthetic = ImageData(to_uint8(fake), fake_labels.cpu().long(), names, "generated")
    real = real_train.subset(n)  # at random: a folder's first n images would be its first classes only
    quiet = lambda s: None  # noqa: E731
    on_fake, _ = train_classifier(synthetic, None, epochs=epochs, seed=seed, device=device, log=quiet)
    on_real, _ = train_classifier(real, None, epochs=epochs, seed=seed, device=device, log=quiet)
    return {"cas": accuracy(on_fake, real_test, device=device), "cas_real_baseline": accuracy(on_real, real_test, device=device)}
