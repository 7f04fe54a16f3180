"""Class fidelity of the conditional recipes on Fashion-MNIST: the share of samples the shipped
``fmnist`` classifier assigns to the requested class (``gankit eval --metrics cacc``).

Each recipe trains on the 60,000 training images for the same number of images seen, with
convolutional G and D of the same width, then 10,000 samples (1,000 per class) are classified.
Prints a Markdown table with the command line of every run.

    GANKIT_DATA=/usr/share/datasets/fashion-mnist python benchmarks/conditional_accuracy.py --kimg 30
"""

from __future__ import annotations

import argparse
from pathlib import Path

from runs import train_and_evaluate

CONV = {"cgan": ["G.arch=dcgan", "D.arch=dcgan"]}  # cgan's paper networks are MLPs; compare on convolutions


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipes", default="cgan,acgan,controlgan")
    p.add_argument("--kimg", type=float, default=30)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--n", type=int, default=10000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("runs/conditional"))
    p.add_argument("--set", nargs="*", default=[], help="extra key=value settings for every recipe")
    args = p.parse_args()
    rows = []
    for recipe in args.recipes.split(","):
        run = args.out / recipe
        sets = ["log.every=50", "snapshot.every_kimg=10", "ckpt.every_kimg=25", f"G.width={args.width}",
                f"D.width={args.width}", *CONV.get(recipe, []), *args.set]
        train = ["train", "--recipe", recipe, "--data", "fashion-mnist", "--kimg", str(args.kimg), "--batch",
                 str(args.batch), "--seed", str(args.seed), "--out", str(run), "--no-progress", "--set", *sets]
        metrics, seconds = train_and_evaluate(run, train, ["--metrics", "cacc,fd", "--n", str(args.n),
                                                           "--features", "fmnist"])
        rows.append((recipe, metrics, seconds, " ".join(["gankit", *train])))
    print("\n| recipe | requested class (fmnist classifier) | FD (fmnist) | train time (s) |\n|---|---|---|---|")
    for recipe, m, seconds, _ in rows:
        print(f"| `{recipe}` | {100 * m['cacc']:.1f}% | {m['fd']:.1f} | {seconds:.0f} |")
    print("\ncommands:")
    for *_, cmd in rows:
        print(f"    {cmd}")


if __name__ == "__main__":
    main()
