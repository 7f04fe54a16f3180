"""End-of-run artifacts: a GIF of the fixed-z grids and a PNG plot of the losses."""

from __future__ import annotations

from pathlib import Path

from gankit.atomic import write_file
from gankit.train.stats import read_stats


def snapshot_paths(run_dir: Path) -> list[Path]:
    return sorted((Path(run_dir) / "samples").glob("grid-*.png"))


def write_gif(run_dir: Path, out: Path, seconds_per_frame: float = 0.25) -> Path | None:
    """Animate the fixed-z snapshots in order; the last frame is held longer."""
    from PIL import Image

    paths = snapshot_paths(run_dir)
    if not paths:
        return None
    frames = [Image.open(p).convert("RGB") for p in paths]
    durations = [int(seconds_per_frame * 1000)] * (len(frames) - 1) + [2000]
    write_file(Path(out), lambda tmp: frames[0].save(tmp, format="GIF", save_all=True, append_images=frames[1:],
                                                     duration=durations, loop=0))
    return Path(out)


def write_loss_plot(run_dir: Path, out: Path) -> Path | None:
    """G loss, D loss on real and on fake (an autoencoder's reconstruction and KL), and mean D outputs,
    against thousands of images seen."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = read_stats(run_dir)
    if not records:
        return None
    present = set().union(*records)
    panels = [("losses", [k for k in ("Loss/G", "Loss/D/real", "Loss/D/fake", "Loss/D/gp", "Loss/D/r1", "Loss/D",
                                                "Loss/recon", "Loss/KL") if k in present]),
              ("discriminator outputs", [k for k in ("D/real", "D/fake") if k in present]),
              ("metrics during training", sorted(k for k in present if k.startswith("Metrics/")))]
    panels = [(t, keys) for t, keys in panels if keys]
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 3.2 * len(panels)), squeeze=False)
    for ax, (title, keys) in zip(axes[:, 0], panels):
        for k in keys:
            points = [(r["kimg"], float(r[k])) for r in records if k in r]
            ax.plot(*zip(*points), label=k, marker="." if len(points) < 30 else None)
        ax.set_title(title)
        ax.set_xlabel("thousands of images seen")
        ax.legend(loc="best", fontsize="small")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    write_file(Path(out), lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    plt.close(fig)
    return Path(out)
