"""Attribute directions (InterFaceGAN, Shen et al. 2020): a linear boundary in latent space and its unit normal.

Score many generated images, keep the top and bottom few percent as positives and negatives (the
middle is ambiguous), fit a linear SVM on their latents and take the normal of its hyperplane: z +
alpha * n then moves an image towards (alpha > 0) or away from the attribute. The fit's accuracy on
held-out positives and negatives says how linearly the attribute is arranged in this latent space.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from gankit.atomic import save_npy, write_file
from gankit.latent import LatentError, read_numbers


@dataclass
class DirectionFit:
    normal: np.ndarray  # unit vector [D], pointing towards high scores
    val_accuracy: float  # on held-out positives and negatives
    train_accuracy: float
    n_positive: int
    n_negative: int
    n_val: int
    positive_above: float  # lowest score among the positives
    negative_below: float  # highest score among the negatives

    def summary(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "normal"}


def fit_direction(z: np.ndarray, scores: np.ndarray, fraction: float = 0.02, val_fraction: float = 0.3,
                  seed: int = 0, C: float = 1.0) -> DirectionFit:
    """Linear SVM on the latents of the top and bottom ``fraction`` of ``scores``; ``val_fraction`` of each held out."""
    from sklearn.svm import LinearSVC

    z, scores = np.asarray(z, dtype=np.float64), np.asarray(scores, dtype=np.float64)
    if not 0 < fraction <= 0.5:
        raise LatentError(f"--fraction {fraction}: must be in (0, 0.5]")
    if not 0 < val_fraction < 1:
        raise LatentError(f"--val-fraction {val_fraction}: must be in (0, 1)")
    k = int(len(scores) * fraction)
    n_val = int(round(k * val_fraction))
    if n_val < 1 or k - n_val < 2:
        raise LatentError(f"-n {len(scores)} with --fraction {fraction} gives {k} positives and {k} negatives, too "
                          f"few to fit and validate; raise -n or --fraction")
    order = np.argsort(scores, kind="stable")
    negatives, positives = order[:k], order[-k:]
    if scores[positives].min() <= scores[negatives].max():
        raise LatentError(f"the top and bottom {fraction:.1%} of the scores overlap (lowest positive "
                          f"{scores[positives].min():.4g}, highest negative {scores[negatives].max():.4g}): the scorer "
                          f"hardly varies over these images, so there is no attribute to find")
    rng = np.random.default_rng(seed)
    positives, negatives = rng.permutation(positives), rng.permutation(negatives)
    val = np.concatenate([positives[:n_val], negatives[:n_val]])
    train = np.concatenate([positives[n_val:], negatives[n_val:]])
    label = np.zeros(len(scores), dtype=np.int64)
    label[positives] = 1
    svm = LinearSVC(C=C, max_iter=20000).fit(z[train], label[train])
    w = svm.coef_[0]
    if not np.linalg.norm(w) > 0:
        raise LatentError("the SVM found no boundary (zero normal); try another --score or a larger -n")
    return DirectionFit(normal=(w / np.linalg.norm(w)).astype(np.float32),
                        val_accuracy=float(svm.score(z[val], label[val])),
                        train_accuracy=float(svm.score(z[train], label[train])),
                        n_positive=k, n_negative=k, n_val=2 * n_val,
                        positive_above=float(scores[positives].min()), negative_below=float(scores[negatives].max()))


def orthogonalize(n1: np.ndarray, others: list[np.ndarray]) -> np.ndarray:
    """``n1`` with its components along ``others`` removed, renormalised (for one unit n2: n1 - (n1.n2) n2).

    Moving along the result leaves the other attributes' linear scores unchanged, InterFaceGAN's
    conditional manipulation: e.g. make a garment longer without changing its brightness.
    """
    basis: list[np.ndarray] = []  # Gram-Schmidt, so several directions can be held fixed at once
    for o in others:
        o = np.asarray(o, dtype=np.float64)
        v = o - sum(float(o @ b) * b for b in basis)
        if np.linalg.norm(v) > 1e-6 * np.linalg.norm(o):  # relative: a short direction counts as much as a long one
            basis.append(v / np.linalg.norm(v))
    v = np.asarray(n1, dtype=np.float64)
    v = v - sum(float(v @ b) * b for b in basis)
    if np.linalg.norm(v) < 1e-6 * np.linalg.norm(n1):
        raise LatentError("--orthogonal-to: the direction lies (almost) entirely along the given directions; "
                          "nothing is left after removing them")
    return (v / np.linalg.norm(v)).astype(np.float32)


def load_direction(path, z_dim: int, flag: str = "--direction") -> torch.Tensor:
    """A direction file (.npy, one vector of z_dim numbers) as a unit float32 vector."""
    v = read_numbers(path, f"{flag} {path}").astype(np.float64).squeeze()
    if v.shape != (z_dim,):
        raise LatentError(f"{flag} {path}: holds shape {list(np.shape(v))}; this generator's latents are [{z_dim}]")
    if not np.linalg.norm(v) > 0:
        raise LatentError(f"{flag} {path}: not a usable direction (zero)")
    return torch.from_numpy(v / np.linalg.norm(v)).float()


def save_direction(path: Path, normal: np.ndarray, info: dict) -> tuple[Path, Path]:
    """DIR.npy (the unit normal) and DIR.json (how it was made), each written whole."""
    path = Path(path)
    meta = path.with_suffix(".json")
    write_file(meta, lambda tmp: Path(tmp).write_text(json.dumps(info, indent=2) + "\n"))
    save_npy(path, np.asarray(normal, dtype=np.float32))
    return path, meta


@torch.no_grad()
def score_samples(G, scorer, z: torch.Tensor, c: torch.Tensor | None = None, batch: int = 256,
                  device="cpu") -> torch.Tensor:
    """Scores [N] of G's images for latents ``z``, generated and scored batch by batch to bound memory."""
    from gankit.progress import bar
    from gankit.inference import render

    scores = []
    with bar(len(z), "scoring") as shown:
        for i in range(0, len(z), batch):
            scores.append(scorer(render(G, z[i:i + batch], None if c is None else c[i:i + batch], batch, device)))
            shown.update(len(scores[-1]))
    return torch.cat(scores)
