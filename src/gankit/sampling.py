"""Latents in, pictures out: latent sampling, image grids and point plots, shared by training and the CLI."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from gankit.atomic import write_file


def latents(n: int, z_dim: int, seed: int, device="cpu") -> torch.Tensor:
    """N(0, I) latents that depend only on (n, z_dim, seed), whatever the device."""
    g = torch.Generator("cpu").manual_seed(seed)
    return torch.randn(n, z_dim, generator=g).to(device)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] float images -> uint8 [N, C, H, W] on the CPU."""
    return images.detach().float().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8).cpu()


def grid_image(images: torch.Tensor, nrow: int | None = None, padding: int = 2):
    """A PIL image tiling [-1, 1] images in a near-square grid."""
    from PIL import Image
    from torchvision.utils import make_grid

    nrow = nrow or max(1, math.ceil(math.sqrt(images.shape[0])))
    grid = make_grid(to_uint8(images), nrow=nrow, padding=padding, pad_value=0)
    array = grid.permute(1, 2, 0).numpy()
    return Image.fromarray(array[..., 0] if images.shape[1] == 1 else array)


def save_png(image, path: Path) -> None:
    write_file(Path(path), lambda tmp: image.save(tmp, format="PNG"))


def points_image(points: torch.Tensor, centers: torch.Tensor | None = None, size: int = 400):
    """A scatter plot of 2-D samples (and the true mode centres, if given) as a PIL image."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    pts = points.detach().float().cpu().numpy()
    fig, ax = plt.subplots(figsize=(size / 100, size / 100), dpi=100)
    ax.scatter(pts[:, 0], pts[:, 1], s=2, alpha=0.5, color="tab:blue")
    if centers is not None:
        c = centers.cpu().numpy()
        ax.scatter(c[:, 0], c[:, 1], s=30, marker="x", color="tab:red")
        lim = float(np.abs(c).max()) * 1.5 + 0.5
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    buf.seek(0)
    return Image.open(buf).convert("RGB")
