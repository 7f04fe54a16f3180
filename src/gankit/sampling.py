"""Latents in, pictures out: latent sampling, image grids and point plots, shared by training and the CLI."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from gankit.atomic import write_file


def latents(n: int, z_dim: int, seed: int, device="cpu") -> torch.Tensor:
    """N(0, I) latents that depend only on (n, z_dim, seed), whatever the device. More than memory holds are
    refused (a ConfigError, one line) before any is drawn: ``n`` comes from a user."""
    from gankit.config import ConfigError
    from gankit.memory import too_big

    why = too_big(4 * n * z_dim)
    if why:
        raise ConfigError(f"{n:,} latents of {z_dim} numbers would take {why}; ask for fewer")
    g = torch.Generator("cpu").manual_seed(seed)
    return torch.randn(n, z_dim, generator=g).to(device)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] float images -> uint8 [N, C, H, W] on the CPU."""
    return images.detach().float().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8).cpu()


def crop_to_content(images: torch.Tensor, mask: torch.Tensor) -> tuple[list[torch.Tensor], int]:
    """Each image [C, H, W] of ``images`` cut to the bounding box of its content mask (bool [N, H, W], True inside:
    see ``inference.split_mask``), so that samples come out at their own sizes, as the crops a model trained on
    did; and how many masks were empty (those images are kept whole: no box to cut to)."""
    out, empty = [], 0
    for image, inside in zip(images, mask):
        rows, cols = inside.any(dim=1).nonzero().flatten(), inside.any(dim=0).nonzero().flatten()
        if len(rows) == 0:
            out.append(image)
            empty += 1
        else:
            out.append(image[:, int(rows[0]):int(rows[-1]) + 1, int(cols[0]):int(cols[-1]) + 1])
    return out, empty


def grid_size(n: int, side: int, nrow: int | None = None, padding: int = 2) -> tuple[int, int]:
    """(width, height) in pixels of ``grid_image`` for n images of side x side, known before any is drawn."""
    cols = min(nrow or max(1, math.ceil(math.sqrt(n))), n)
    rows = math.ceil(n / cols)
    return cols * (side + padding) + padding, rows * (side + padding) + padding


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
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
    return figure_image(fig)


def figure_image(fig):
    """A matplotlib figure as an RGB PIL image (the figure is closed)."""
    import io

    import matplotlib.pyplot as plt
    from PIL import Image

    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


# Walking the latent space: truncation, interpolation, rendering a path.

def truncate(z: torch.Tensor, psi: float, mean: torch.Tensor | float = 0.0) -> torch.Tensor:
    """The truncation trick (StyleGAN): ``mean + psi * (z - mean)``, pulling latents toward the mean latent.

    psi=1 changes nothing, psi=0 gives the mean; in between trades variety for more typical images.
    StyleGAN truncates in W, the output of its mapping network, toward the average w; gankit's
    generators take z directly, and the mean of their N(0, I) prior is 0.
    """
    return mean + psi * (z - mean)


def _weights(t, like: torch.Tensor) -> torch.Tensor:
    """``t`` as a tensor that broadcasts against [D] vectors: a number -> 0-d, T weights -> [T, 1]."""
    w = torch.as_tensor(t, dtype=torch.float64, device=like.device)
    return w.reshape(-1, 1) if w.dim() == 1 else w


def lerp(z0: torch.Tensor, z1: torch.Tensor, t) -> torch.Tensor:
    """The straight line ``(1 - t) z0 + t z1``; ``t`` a number or T weights ([D] vectors -> [T, D]), exact at 0 and 1."""
    w = _weights(t, z0)
    return torch.lerp(z0.double(), z1.double(), w).to(z0.dtype)


def slerp(z0: torch.Tensor, z1: torch.Tensor, t, eps: float = 1e-6) -> torch.Tensor:
    """Spherical interpolation: the direction turns along the great circle at constant angular speed while
    the norm moves linearly from |z0| to |z1|.

    Two latents of equal norm (for N(0, I) in D dimensions, both near sqrt(D)) keep that norm all the way,
    where lerp cuts through the middle and its midpoint is shorter than any typical sample (White 2016,
    Sampling Generative Networks). For equal norms this is the classic slerp formula. Near-parallel
    endpoints (where the angle's sine vanishes and the formula divides by ~0), opposite ones (no single
    great circle) and zero vectors fall back to lerp. Exact at t=0 and t=1.
    """
    w = _weights(t, z0)
    a, b = z0.double(), z1.double()
    na, nb = a.norm(dim=-1, keepdim=True), b.norm(dim=-1, keepdim=True)
    ua, ub = a / na.clamp_min(1e-300), b / nb.clamp_min(1e-300)
    cos = (ua * ub).sum(-1, keepdim=True).clamp(-1.0, 1.0)
    omega = torch.acos(cos)
    sin = torch.sin(omega)
    degenerate = (sin < eps) | (na < eps) | (nb < eps)
    sin = torch.where(degenerate, torch.ones_like(sin), sin)
    direction = (torch.sin((1 - w) * omega) / sin) * ua + (torch.sin(w * omega) / sin) * ub
    out = torch.where(degenerate, torch.lerp(a, b, w), direction * torch.lerp(na, nb, w))
    out = torch.where(w == 0, a, torch.where(w == 1, b, out))
    return out.to(z0.dtype)


INTERPOLATIONS = {"lerp": lerp, "slerp": slerp}


def walk_path(points: torch.Tensor, steps: int, method: str = "slerp") -> torch.Tensor:
    """Latents visiting ``points`` [K, D] in order, ``steps`` frames per leg counting both ends; shared ends once.

    K points give (K - 1) * (steps - 1) + 1 frames; frame (steps - 1) * i is exactly ``points[i]``.
    """
    if method not in INTERPOLATIONS:
        raise ValueError(f"unknown interpolation {method!r}; use {' or '.join(INTERPOLATIONS)}")
    if points.dim() != 2 or points.shape[0] < 2:
        raise ValueError(f"a walk needs at least two [D] points, got shape {list(points.shape)}")
    if steps < 2:
        raise ValueError(f"steps={steps}: a leg needs at least its two ends")
    t = torch.linspace(0, 1, steps)
    legs = [INTERPOLATIONS[method](points[i], points[i + 1], t)[(1 if i else 0):] for i in range(len(points) - 1)]
    return torch.cat(legs)


def enlarge(image, min_side: int = 256):
    """``image`` scaled up by a whole factor (nearest neighbour) until its short side reaches ``min_side``:
    GIF viewers show tiny images tiny and blurred."""
    from PIL import Image

    factor = max(1, math.ceil(min_side / min(image.size)))
    return image if factor == 1 else image.resize((image.width * factor, image.height * factor), Image.NEAREST)


def save_gif(frames: list, path: Path, fps: float = 10.0, pingpong: bool = False, hold_ends: float = 0.5) -> None:
    """An endlessly looping GIF of PIL frames; ``pingpong`` plays them forward then back; ends held ``hold_ends`` s."""
    if not frames:
        raise ValueError("a GIF needs at least one frame")
    far = len(frames) - 1  # the last frame: held, and where a ping-pong turns back
    frames = list(frames) + (list(frames[-2:0:-1]) if pingpong else [])
    ms = max(20, int(round(1000 / fps)))
    durations = [ms] * len(frames)
    durations[0] = durations[far] = max(ms, int(hold_ends * 1000))
    write_file(Path(path), lambda tmp: frames[0].save(tmp, format="GIF", save_all=True, append_images=frames[1:],
                                                     duration=durations, loop=0))
