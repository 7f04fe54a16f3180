"""End-of-run artifacts: a GIF of the fixed-z grids and a PNG plot of the losses."""

from __future__ import annotations

from pathlib import Path

from gankit.atomic import write_file
from gankit.run_folder import read_stats
from gankit.run_folder import snapshots as snapshot_paths


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


# Panels of losses.png: a title and which logged names go in it (``train.stats`` gives the naming), first ones first.
PANELS = (("losses", "Loss/", ("Loss/G", "Loss/D/real", "Loss/D/fake", "Loss/D", "Loss/recon", "Loss/KL", "Loss/total")),
          ("discriminator logits (mean)", "Logits/", ("Logits/D/real", "Logits/D/fake")),
          ("metrics during training", "Metrics/", ()))


def loss_plot_series(records: list[dict]) -> list[tuple[str, dict[str, list[tuple[float, float]]]]]:
    """What losses.png draws: per panel, each logged name's (thousands of images, value) at every log line
    that holds it. ``records`` as ``read_stats`` gives them (old runs' names already updated)."""
    present = set().union(*records) if records else set()
    panels = []
    for title, prefix, first in PANELS:
        names = [k for k in first if k in present] + sorted(k for k in present if k.startswith(prefix) and k not in first)
        if names:
            panels.append((title, {k: [(r["kimg"], float(r[k])) for r in records if k in r] for k in names}))
    return panels


def write_loss_plot(run_dir: Path, out: Path) -> Path | None:
    """Every logged loss, D's mean logits and in-training metrics, against thousands of images seen, from every
    log line of the run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = loss_plot_series(read_stats(run_dir))
    if not panels:
        return None
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 3.2 * len(panels)), squeeze=False)
    for ax, (title, series) in zip(axes[:, 0], panels):
        for k, points in series.items():
            ax.plot(*zip(*points), label=k, marker="." if len(points) < 30 else None)
        ax.set_title(title)
        ax.set_xlabel("thousands of images seen")
        ax.legend(loc="best", fontsize="small")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    write_file(Path(out), lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    plt.close(fig)
    return Path(out)
