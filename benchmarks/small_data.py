"""Small data: does DiffAugment or ADA lower FD when a GAN sees only 100 Fashion-MNIST images?

The first 100 images of the training split are written once as PNG files into class
subfolders (the way a user brings a small folder); ``dcgan`` trains on that folder with and
without augmentation for the same number of images seen and the same seeds, and each run's
10,000 samples are compared with the full 10,000-image test split in the ``fmnist`` feature
space. Prints the FD of every run, the per-seed ratio (augmented / plain) and its mean. A run
folder that already holds a checkpoint is resumed up to ``--kimg`` (or only evaluated when it is
there), so the variants can train in separate processes, a last call with all of them prints the
table, and a larger ``--kimg`` continues earlier runs. Runs checkpoint every 25,000 images, so an
interrupted benchmark continues from there.

    GANKIT_DATA=/usr/share/datasets/fashion-mnist python benchmarks/small_data.py --kimg 20 --seeds 3
"""

from __future__ import annotations

import argparse
from pathlib import Path

from runs import train_and_evaluate

VARIANTS = {
    "plain": [],
    "diffaugment": ["augment.policy=color,translation,cutout"],
    "ada": ["augment.ada=true"],
}


def write_subset(folder: Path, n: int) -> None:
    """The first ``n`` training images as PNGs in one subfolder per class (skipped when already there)."""
    from PIL import Image

    from gankit.data.fashion_mnist import load_fashion_mnist

    if folder.exists() and len(list(folder.rglob("*.png"))) == n:
        return
    data = load_fashion_mnist("train")
    for i in range(n):
        cls = data.class_names[int(data.labels[i])].replace("/", "-")
        (folder / cls).mkdir(parents=True, exist_ok=True)
        Image.fromarray(data.images[i, 0].numpy()).save(folder / cls / f"{i:05d}.png")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n-images", type=int, default=100)
    p.add_argument("--kimg", type=float, default=20)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--variants", default="plain,diffaugment,ada")
    p.add_argument("--out", type=Path, default=Path("runs/small-data"))
    args = p.parse_args()
    subset = args.out / f"fashion-mnist-first{args.n_images}"
    write_subset(subset, args.n_images)
    fd: dict[tuple[str, int], float] = {}
    for seed in range(args.seeds):
        for variant in args.variants.split(","):
            run = args.out / f"{variant}-seed{seed}"
            sets = ["log.every=100", "snapshot.every_kimg=10", "ckpt.every_kimg=25", f"G.width={args.width}",
                    f"D.width={args.width}", *VARIANTS[variant]]
            train = ["train", "--recipe", "dcgan", "--data", f"folder:{subset}", "--kimg", str(args.kimg),
                     "--batch", str(args.batch), "--seed", str(seed), "--out", str(run), "--no-progress", "--set", *sets]
            metrics, _ = train_and_evaluate(run, train, ["--metrics", "fd", "--n", "10000", "--features", "fmnist",
                                                         "--data", "fashion-mnist:test"])
            fd[variant, seed] = metrics["fd"]
    variants = args.variants.split(",")
    others = [v for v in variants if v != "plain"] if "plain" in variants else []  # ratios need the plain runs
    print(f"\n| seed | {' | '.join(f'FD {v}' for v in variants)} | {' | '.join(f'{v} / plain' for v in others)} |")
    print("|---" * (1 + len(variants) + len(others)) + "|")
    for seed in range(args.seeds):
        ratios = [fd[v, seed] / fd["plain", seed] for v in others]
        print(f"| {seed} | {' | '.join(f'{fd[v, seed]:.1f}' for v in variants)} | "
              f"{' | '.join(f'{r:.3f}' for r in ratios)} |")
    for v in others:
        ratios = [fd[v, s] / fd["plain", s] for s in range(args.seeds)]
        print(f"{v}: mean FD ratio vs plain {sum(ratios) / len(ratios):.3f} "
              f"(lower in {sum(r < 1 for r in ratios)}/{len(ratios)} seeds)")


if __name__ == "__main__":
    main()
