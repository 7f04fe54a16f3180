"""2-D views of an autoencoder's codes: the plane they are drawn in, a lattice over it, and the scatter plot.

Codes with two dimensions are drawn as they are. Wider codes are drawn in their principal-component
plane, and a lattice point (u, v) there decodes from ``mean + u * pc1 + v * pc2``: the other
directions held at the codes' mean.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Plane:
    """A 2-D plane in latent space, ``z = origin + coords @ basis.T``; ``explained``: each axis's share of variance."""

    origin: torch.Tensor  # [d]
    basis: torch.Tensor  # [d, 2], orthonormal columns
    explained: torch.Tensor | None  # [2] for a PCA plane, None when the codes are 2-D

    def project(self, z: torch.Tensor) -> torch.Tensor:
        return (z - self.origin) @ self.basis

    def lift(self, coords: torch.Tensor) -> torch.Tensor:
        return self.origin + coords @ self.basis.T


def plane_of(codes: torch.Tensor) -> Plane:
    """The latent axes themselves for 2-D codes, else the codes' first two principal components."""
    codes = codes.double()
    d = codes.shape[1]
    if d < 2:
        raise ValueError(f"z_dim={d}: a 2-D map needs codes with at least 2 dimensions")
    if d == 2:
        return Plane(torch.zeros(2, dtype=codes.dtype), torch.eye(2, dtype=codes.dtype), None)
    mean = codes.mean(0)
    _, s, vt = torch.linalg.svd(codes - mean, full_matrices=False)
    variance = s.square()
    return Plane(mean, vt[:2].T.contiguous(), variance[:2] / variance.sum())


def axis_values(coords: torch.Tensor, k: int, prior: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """k values per axis: N(0, 1) quantiles at (i + 0.5) / k (``prior``, a VAE's own latent axes), else evenly
    spaced over the 0.5th to 99.5th percentile of ``coords`` (the range of the codes, without stray outliers)."""
    if prior:
        q = torch.special.ndtri((torch.arange(k, dtype=torch.float64) + 0.5) / k)
        return q, q.clone()
    lo = torch.quantile(coords.double(), 0.005, dim=0)
    hi = torch.quantile(coords.double(), 0.995, dim=0)
    return torch.linspace(float(lo[0]), float(hi[0]), k), torch.linspace(float(lo[1]), float(hi[1]), k)


def lattice(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Plane coordinates [k * k, 2] in grid order: left to right u increases, top to bottom v decreases,
    so the decoded grid has the scatter plot's orientation."""
    vv, uu = torch.meshgrid(v.flip(0), u, indexing="ij")
    return torch.stack([uu.flatten(), vv.flatten()], dim=1).double()


def scatter_image(coords: torch.Tensor, labels: torch.Tensor | None, names: list[str], title: str,
                  axis_names: tuple[str, str], box: tuple[float, float, float, float] | None = None):
    """A PIL image of the 2-D codes coloured by class with a legend of class names; ``box`` (u0, u1, v0, v1)
    outlines the area the lattice covers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gankit.sampling import figure_image

    pts = coords.double().numpy()
    fig, ax = plt.subplots(figsize=(8.5, 6.5), dpi=100)
    if labels is None:
        ax.scatter(pts[:, 0], pts[:, 1], s=3, alpha=0.5, color="tab:blue", linewidths=0)
    else:
        cmap = plt.get_cmap("tab10" if len(names) <= 10 else "tab20")
        for k in range(len(names)):
            mine = (labels == k).numpy()
            if mine.any():
                ax.scatter(pts[mine, 0], pts[mine, 1], s=3, alpha=0.6, color=cmap(k % cmap.N), label=names[k],
                           linewidths=0)
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), markerscale=4, fontsize="small", frameon=False)
    if box is not None:
        u0, u1, v0, v1 = box
        ax.add_patch(plt.Rectangle((u0, v0), u1 - u0, v1 - v0, fill=False, linestyle="--", color="0.3",
                                   label="_lattice"))
    ax.set_xlabel(axis_names[0])
    ax.set_ylabel(axis_names[1])
    ax.set_title(title, fontsize="medium")
    ax.set_aspect("equal", adjustable="datalim")
    ax.grid(alpha=0.2)
    return figure_image(fig)
