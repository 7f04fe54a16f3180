"""Directions to steer a generator by, found without any attribute classifier, or taught by a few clicked images.

- **SeFa** (Shen & Zhou 2021, "Closed-Form Factorization of Latent Semantics in GANs"): the layer that first
  acts on z moves its output by ``A dz``; the unit ``dz`` that move it most are the top eigenvectors of
  ``A^T A``. No sampling, no training: a few milliseconds on any model.
- **GANSpace-style PCA** (Härkönen et al. 2020): principal components of G's early activations over sampled
  latents, mapped back to z by least squares as GANSpace does for z-space models such as BigGAN.
- **Per-coordinate** directions z0..z{d-1} when the latent is small enough to read one number at a time.
- **Taught** directions: a linear SVM (InterFaceGAN's) between the latents of images the user marked as having
  and lacking an attribute; its unit normal points towards "has".

Every direction is a unit float32 vector in z. Nothing here needs a server; the routes call these functions.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

KINDS = ("saved", "sefa", "pca", "taught", "coordinate")
FROM_WEIGHTS = ("sefa", "pca")  # computed from G's weights: stale once another model is loaded
COMPUTED = (*FROM_WEIGHTS, "coordinate")  # computed from the model (not saved, not taught): see ``unsupervised``
COMPUTED_NAME = re.compile(r"^(sefa|pca)-\d+$|^z\d$")  # the names ``unsupervised`` gives them
COORDINATE_MAX = 8  # per-coordinate directions only for latents this small: beyond it, single numbers mean little
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")  # usable in an edit list ("name:alpha,...") and as a file name
ELEMENTWISE = (nn.ReLU, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU, nn.Mish, nn.Tanh,
               nn.Sigmoid, nn.Softplus, nn.Hardtanh, nn.ReLU6, nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm,
               nn.LayerNorm, nn.InstanceNorm1d, nn.InstanceNorm2d, nn.Identity, nn.Dropout)


class SteeringError(ValueError):
    """A direction that cannot be computed or taught; the message names the parameter and the cause."""


@dataclass
class Direction:
    name: str
    kind: str  # one of KINDS
    vector: torch.Tensor  # unit, float32 [z_dim]
    label: str  # what a slider shows
    score: float | None = None  # eigenvalue or variance share (sefa, pca), validation accuracy (taught)
    info: dict = field(default_factory=dict)


def check_name(name, what: str = "name") -> str:
    """A direction's name as the edit list and the directions folder need it, or a SteeringError naming ``what``."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise SteeringError(f"{what} {str(name)[:80]!r}: use 1 to 64 letters, digits, '_' or '-', starting with a "
                            f"letter or digit")
    return name


def _unit(v: np.ndarray) -> torch.Tensor:
    """``v`` normalised, with its sign fixed (largest component positive) so that a direction is reproducible."""
    v = np.asarray(v, dtype=np.float64)
    v = v / np.linalg.norm(v)
    if v[np.argmax(np.abs(v))] < 0:
        v = -v
    return torch.from_numpy(v).float()


# ---------------------------------------------------------------------------------------------------------------
# The layer that acts on z


@dataclass
class ZLayer:
    module: nn.Module
    name: str  # its qualified name in G, e.g. "project.0"
    then: str | None  # the last of the norms and nonlinearities called right after it (its output: the "early
    # activations"), if any
    width: int = 0  # how many leading latent coordinates it takes: all of z, or the z part of a composite's latent


def _call(G: nn.Module, z: torch.Tensor, num_classes: int, c: torch.Tensor | None = None) -> torch.Tensor:
    if num_classes:
        c = torch.zeros(len(z), dtype=torch.long, device=z.device) if c is None else c.to(z.device)
        return G(z, c)
    return G(z)


@torch.no_grad()
def find_z_layer(G: nn.Module, z_dim: int, num_classes: int = 0, exact: bool = True) -> ZLayer:
    """The first ``nn.Linear`` or ``nn.ConvTranspose2d`` called in G's forward pass whose input starts with z
    itself (z, or z with the one-hot class appended, flattened; a transposed convolution sees z as [N, z_dim, 1,
    1]), found by running G once on a probe latent and comparing each layer's input to it. This is gankit's
    DCGAN and ResNet ``project`` layer, an MLP's first Linear, an autoencoder's first decoder layer. A composite
    generator's latent holds its own draws after z (noise planes, conditioning noise): its layer takes the
    leading coordinates only, and ``width`` says how many. With ``exact`` false, a G that transforms z before its
    first layer (PGGAN normalises it) gives its first weighted layer instead (``width`` 0: not linear in z)."""
    device = next(G.parameters()).device
    probe = torch.randn(2, z_dim, generator=torch.Generator().manual_seed(1234)).to(device)
    names = {m: n for n, m in G.named_modules()}
    order: list[tuple[nn.Module, torch.Tensor | None]] = []
    hooks = []

    me = threading.get_ident()

    def hook(module, inputs, output):
        if threading.get_ident() == me:  # a hook sees every thread's passes: the server renders with G meanwhile
            order.append((module, inputs[0] if inputs else None))

    for m in G.modules():
        if not list(m.children()):
            hooks.append(m.register_forward_hook(hook))
    try:
        _call(G, probe, num_classes)
    finally:
        for h in hooks:
            h.remove()
    for i, (m, x) in enumerate(order):
        if not isinstance(m, (nn.Linear, nn.ConvTranspose2d)) or x is None:
            continue
        flat = x.flatten(1)
        if isinstance(m, nn.ConvTranspose2d) and x.shape[2:] != (1, 1):
            continue
        same = (flat[:, :z_dim] == probe[:, :flat.shape[1]]).all(0)
        width = int(same.cumprod(0).sum())  # leading coordinates equal to the probe's
        if width >= min(2, z_dim):  # two equal random floats by chance: never
            then = None
            for a, _ in order[i + 1:]:
                if not isinstance(a, ELEMENTWISE):
                    break
                then = names[a]
            return ZLayer(m, names[m], then, width)
    if not exact:
        for i, (m, x) in enumerate(order):
            if isinstance(getattr(m, "weight", None), torch.Tensor):
                then = None
                for a, _ in order[i + 1:]:
                    if not isinstance(a, ELEMENTWISE):
                        break
                    then = names[a]
                return ZLayer(m, names[m], then, 0)
    raise SteeringError("this generator has no Linear or ConvTranspose2d layer that takes z itself, so its "
                        "directions cannot be factorised")


def z_weight(layer: nn.Module, z_dim: int) -> torch.Tensor:
    """The matrix [outputs, z_dim] by which ``layer`` moves its output per unit of z (the class columns of a
    conditional G are left out: they do not move with z)."""
    w = layer.weight.detach().float().cpu()
    if isinstance(layer, nn.Linear):
        return w[:, :z_dim]
    return w[:z_dim].reshape(z_dim, -1).T  # ConvTranspose2d: [in, out, kh, kw] on a 1x1 input


# ---------------------------------------------------------------------------------------------------------------
# SeFa


def sefa(G: nn.Module, z_dim: int, num_classes: int = 0, k: int | None = None) -> list[tuple[torch.Tensor, float]]:
    """The top ``k`` SeFa directions of G as (unit vector [z_dim], eigenvalue share), largest first.

    Takes the z columns of the weight of ``find_z_layer`` (for gankit's DCGAN G: ``G.project[0].weight``,
    [out, z_dim + c_dim] -> [out, z_dim]); like the reference implementation, each output unit's weights are
    normalised to unit length first, so a few large units do not decide alone. The directions are the
    eigenvectors of ``A^T A``; the share is each eigenvalue over their sum."""
    k = _check_k(k, z_dim)
    layer = find_z_layer(G, z_dim, num_classes)
    A = z_weight(layer.module, layer.width).double()
    norms = A.norm(dim=1, keepdim=True)
    A = A[norms[:, 0] > 0] / norms[norms[:, 0] > 0]
    if not len(A):
        raise SteeringError("the generator's first layer has all-zero weights on z: there is nothing to factorise")
    values, vectors = torch.linalg.eigh(A.T @ A)  # ascending
    values, vectors = values.flip(0).clamp(min=0), vectors.flip(1)
    total = float(values.sum())
    padded = torch.zeros(z_dim, vectors.shape[1], dtype=vectors.dtype)
    padded[:layer.width] = vectors  # a composite's own draws after z do not move along these
    return [(_unit(padded[:, i].numpy()), float(values[i]) / total) for i in range(min(k, layer.width))
            if values[i] > 1e-9 * total]  # a rank-deficient layer: directions that move nothing are left out


def _check_k(k, z_dim: int) -> int:
    k = min(8, z_dim) if k is None else k
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= z_dim:
        raise SteeringError(f"k {k!r}: give a whole number from 1 to z_dim ({z_dim})")
    return k


# ---------------------------------------------------------------------------------------------------------------
# GANSpace-style PCA


class _Enough(Exception):
    """Raised by a hook to end a forward pass once the activations wanted are in hand."""


@torch.no_grad()
def early_activations(G: nn.Module, z: torch.Tensor, num_classes: int = 0, c: torch.Tensor | None = None,
                      layer: str = "activation", batch: int = 256) -> torch.Tensor:
    """G's early activations for latents ``z``, flattened [N, features] float32 on the CPU: after the z layer and
    the norms and nonlinearities called right after it (``layer="activation"``; DCGAN's ``project_norm``, an MLP's
    first ReLU), or the z layer's own output (``layer="linear"``, or when nothing elementwise follows it)."""
    found = find_z_layer(G, z.shape[1], num_classes, exact=False)
    modules = dict(G.named_modules())
    if layer == "linear" or found.then is None:
        target = found.module
    elif layer == "activation":
        target = modules[found.then]
    else:
        raise SteeringError(f"layer {layer!r}: use 'activation' or 'linear'")
    device = next(G.parameters()).device
    out: list[torch.Tensor] = []
    seen: list[torch.Tensor] = []

    me = threading.get_ident()

    def keep_first(module, inputs, output):  # the first call only: an MLP calls its one ReLU module at every layer
        if threading.get_ident() != me:
            return  # another thread's pass (the server drawing images with G meanwhile): not ours to stop
        seen.append(output.detach().flatten(1).float().cpu().clone())
        raise _Enough  # the rest of G is not needed: stopping here makes sampling thousands of latents cheap

    handle = target.register_forward_hook(keep_first)
    try:
        for s in range(0, len(z), batch):
            seen.clear()
            try:
                _call(G, z[s:s + batch].to(device), num_classes, None if c is None else c[s:s + batch])
            except _Enough:
                pass
            out.append(seen[0])
    finally:
        handle.remove()
    return torch.cat(out)


def pca(G: nn.Module, z_dim: int, num_classes: int = 0, k: int | None = None, n: int = 1000, seed: int = 0,
        layer: str = "activation") -> list[tuple[torch.Tensor, float]]:
    """The top ``k`` GANSpace-style directions of G as (unit vector [z_dim], explained-variance share), largest
    first, the same for the same G and ``seed``.

    Draws ``n`` latents (and, for a conditional G, classes at random, and X is centred per class, so that the
    class's own effect does not pass for a direction), takes ``early_activations`` X, finds their
    principal components V (with standard deviations s) and the standardised coordinates ``x = V^T (X - mean) /
    s``, then solves ``x M = z`` by least squares: row i of M is the move in z that moves coordinate i alone, as
    GANSpace regresses its components back to z for BigGAN. After the first layer's norm and nonlinearity, not
    on the layer's own output: on that linear output these directions are exactly the right singular vectors of its
    weight, SeFa's directions without their normalisation, and would add nothing. The share is the component's
    variance over the activations' total variance."""
    k = _check_k(k, z_dim)
    if isinstance(n, bool) or not isinstance(n, int) or not 2 * k <= n <= 100_000:
        raise SteeringError(f"n {n!r}: give a whole number of latents from {2 * k} to 100000")
    from gankit.sampling import latents

    z = latents(n, z_dim, seed)
    c = (torch.randint(num_classes, (n,), generator=torch.Generator().manual_seed(seed + 1))
         if num_classes else None)
    X = early_activations(G, z, num_classes, c, layer).double()
    groups = [c == k for k in range(num_classes)] if num_classes else [torch.ones(n, dtype=torch.bool)]
    for g in groups:  # centred per class: what the class alone moves is not a direction in z
        if g.any():
            X[g] -= X[g].mean(0, keepdim=True)
    total = float((X ** 2).sum()) / (n - 1)
    if not total > 0 or not math.isfinite(total):
        raise SteeringError("the generator's early activations do not vary with z: there are no principal components")
    if X.shape[1] <= n:  # the smaller of the two symmetric problems: covariance [D, D] or Gram [N, N]
        values, V = torch.linalg.eigh(X.T @ X / (n - 1))
        values, V = values.flip(0)[:k].clamp(min=0), V.flip(1)[:, :k]
        coords = X @ V
    else:
        values, U = torch.linalg.eigh(X @ X.T / (n - 1))
        values, U = values.flip(0)[:k].clamp(min=0), U.flip(1)[:, :k]
        coords = U * (values * (n - 1)).sqrt()  # = X V, without forming the D x D covariance
    keep = values > 1e-12 * total
    coords = coords[:, keep] / values[keep].sqrt()
    M = torch.linalg.lstsq(coords, z.double()).solution  # [k', z_dim]
    return [(_unit(M[i].numpy()), float(values[keep][i]) / total) for i in range(len(M))
            if float(M[i].norm()) > 0]


def coordinates(z_dim: int) -> list[torch.Tensor]:
    """The unit vectors e_0 .. e_{d-1} when ``z_dim <= 8``, else none."""
    return list(torch.eye(z_dim)) if z_dim <= COORDINATE_MAX else []


def unsupervised(G: nn.Module, z_dim: int, num_classes: int = 0, k: int | None = None, n: int = 1000,
                 seed: int = 0) -> list[Direction]:
    """SeFa, PCA and per-coordinate directions of G, named sefa-0.., pca-0.., z0..; a method that does not apply
    to this G (no layer linear in z) is left out rather than failing the rest."""
    out: list[Direction] = []
    for kind, method in (("sefa", sefa), ("pca", lambda *a, **kw: pca(*a, **kw, n=n, seed=seed))):
        try:
            found = method(G, z_dim, num_classes, k=k)
        except SteeringError:
            continue
        name = "SeFa" if kind == "sefa" else "PCA"
        out += [Direction(f"{kind}-{i}", kind, v, f"{name} {i + 1}", share, {"share": share})
                for i, (v, share) in enumerate(found)]
    out += [Direction(f"z{i}", "coordinate", v, f"z[{i}]") for i, v in enumerate(coordinates(z_dim))]
    return out


# ---------------------------------------------------------------------------------------------------------------
# Taught by clicking

LOO_MAX = 20  # up to this many examples, leave-one-out; beyond, stratified k-fold (k <= 5)


@dataclass
class Taught:
    normal: torch.Tensor  # unit [z_dim], towards the positives
    val_accuracy: float
    train_accuracy: float
    validation: str  # "leave-one-out" or "stratified 5-fold"
    n_positive: int
    n_negative: int

    def summary(self) -> dict:
        return {"val_accuracy": self.val_accuracy, "train_accuracy": self.train_accuracy,
                "validation": self.validation, "n_positive": self.n_positive, "n_negative": self.n_negative}


def _latents(rows, what: str, z_dim: int | None) -> np.ndarray:
    if not hasattr(rows, "__len__") or isinstance(rows, (str, bytes, dict)):
        raise SteeringError(f"{what}: give a list of latents, each a list of numbers of one length")
    if len(rows) < 2:
        raise SteeringError(f"{what}: mark at least 2 images ({len(rows)} given)")
    try:
        z = np.asarray([np.asarray(r, dtype=np.float64).reshape(-1) for r in rows], dtype=np.float64)
    except (TypeError, ValueError):
        raise SteeringError(f"{what}: give a list of latents, each a list of numbers of one length") from None
    if z.ndim != 2 or (z_dim is not None and z.shape[1] != z_dim):
        raise SteeringError(f"{what}: latents of {z_dim} numbers expected, got shape {list(z.shape)}")
    if not np.isfinite(z).all():
        raise SteeringError(f"{what}: holds NaN or infinite values")
    return z


def teach(positive, negative, z_dim: int | None = None, C: float = 1.0) -> Taught:
    """A linear SVM between the latents of images marked as having (``positive``) and lacking (``negative``) an
    attribute, as ``gankit.latent.directions.fit_direction`` fits one on scores; at least 2 of each. Its unit
    normal points towards the positives. The validation accuracy is leave-one-out for up to 20 examples, else
    stratified k-fold (k = 5, or the smaller side's count); the result says which."""
    from sklearn.model_selection import LeaveOneOut, StratifiedKFold, cross_val_score
    from sklearn.svm import LinearSVC

    pos, neg = _latents(positive, "positive", z_dim), _latents(negative, "negative", z_dim)
    if pos.shape[1] != neg.shape[1]:
        raise SteeringError(f"negative: latents of {neg.shape[1]} numbers, the positives have {pos.shape[1]}")
    X = np.concatenate([pos, neg])
    y = np.concatenate([np.ones(len(pos), dtype=np.int64), np.zeros(len(neg), dtype=np.int64)])

    def svm():
        return LinearSVC(C=C, max_iter=20000)

    if len(X) <= LOO_MAX:
        split, validation = LeaveOneOut(), "leave-one-out"
    else:
        folds = min(5, len(pos), len(neg))
        split, validation = StratifiedKFold(folds, shuffle=True, random_state=0), f"stratified {folds}-fold"
    val = float(cross_val_score(svm(), X, y, cv=split).mean())
    fitted = svm().fit(X, y)
    w = fitted.coef_[0]
    if not np.linalg.norm(w) > 0:
        raise SteeringError("positive, negative: the SVM found no boundary between them (are they the same images?)")
    return Taught(torch.from_numpy(w / np.linalg.norm(w)).float(), val, float(fitted.score(X, y)), validation,
                  len(pos), len(neg))


def save_taught(folder: Path, name: str, taught: Taught, model: dict | None = None) -> tuple[Path, Path]:
    """NAME.npy and NAME.json in ``folder`` (the `gankit directions` format, so ``gankit edit --direction`` and
    ``--directions`` read it back); the JSON says how it was taught and on which model."""
    from gankit.latent.directions import save_direction

    check_name(name)
    info = {"name": name, "method": "taught: linear SVM on the latents of marked images (gankit studio)",
            **taught.summary(), "model": model or {}}
    return save_direction(Path(folder) / f"{name}.npy", taught.normal.numpy(), info)
