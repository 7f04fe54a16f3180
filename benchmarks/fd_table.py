"""FD (fmnist features) of several recipes on Fashion-MNIST at one equal training budget.

Each recipe trains on the 60,000 training images for the same number of images seen, with the
same network width and batch, then ``gankit eval`` compares 10,000 samples with the 10,000
test images. Prints a Markdown table with the command line of every run.

    python benchmarks/fd_table.py --kimg 30 --width 32 --out runs/fd-table
"""

from __future__ import annotations

import argparse
from pathlib import Path

from gankit.recipes import RECIPES
from runs import train_and_evaluate


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipes", default="nsgan,dcgan,lsgan,wgan,wgan-gp")
    p.add_argument("--kimg", type=float, default=30)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--n", type=int, default=10000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("runs/fd-table"))
    args = p.parse_args()
    rows = []
    for recipe in args.recipes.split(","):
        run = args.out / recipe
        sets = ["log.every=50", "snapshot.every_kimg=10", "ckpt.every_kimg=1000"]
        if recipe not in ("gan", "nsgan"):  # the width of every network the recipe has (ae and vae: G alone)
            sets += [f"{net}.width={args.width}" for net in ("G", "D") if f"{net}.width" in RECIPES[recipe].defaults]
        train = ["train", "--recipe", recipe, "--data", "fashion-mnist", "--kimg", str(args.kimg), "--batch",
                 str(args.batch), "--seed", str(args.seed), "--out", str(run), "--no-progress", "--set", *sets]
        metrics, seconds = train_and_evaluate(run, train, ["--metrics", "fd,kid,pr", "--n", str(args.n),
                                                           "--features", "fmnist"])
        rows.append((recipe, metrics, seconds, " ".join(["gankit", *train])))
    print("\n| recipe | FD (fmnist) | KID | precision | recall | train time (s) |\n|---|---|---|---|---|---|")
    for recipe, m, seconds, _ in rows:
        print(f"| `{recipe}` | {m['fd']:.2f} | {m['kid']:.4f} | {m['precision']:.3f} | {m['recall']:.3f} | {seconds:.0f} |")
    print("\ncommands:")
    for *_, cmd in rows:
        print(f"    {cmd}")


if __name__ == "__main__":
    main()
