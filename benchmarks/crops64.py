"""The growing and staged generators on the tutorial's crops at 64x64: the same images seen, several seeds.

The second set of the comparison ``fmnist32.py`` runs on clothes: ``pggan``, ``lapgan`` and ``stackgan``
(unconditional: the crops have no classes) against ``dcgan``, on the 42 cell crops of mixed sizes that
``tests/data/cell_crops.py`` makes (the tutorial's folder), padded to 64x64 by the folder loader. Every recipe trains
for the same thousands of images (``--kimg``; 5 by default, the order of the tutorial's 5-minute run) with the
networks ``runs.CPU_NETS`` narrows and a batch of 14 (a third of the set; ``pggan`` keeps its own batches by
resolution, at most the set's size). Each run's G is measured on ``--n`` samples against the 42 crops in a feature
space learned from the crops themselves (``gankit features train --self-supervised``, seed 0, once): FD, precision,
recall, and the share of samples closer to a training crop than any two crops are (``memorized``). Runs are
reused (``--out``), so the table can be built over sessions; ``--table`` prints what is recorded.

    python benchmarks/crops64.py --kimg 5 --seeds 0,1,2
    python benchmarks/crops64.py --table
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from fmnist32 import COMMON, STAGED, run_one
from runs import gankit

ROOT = Path(__file__).resolve().parents[1]
BATCH = 14  # every recipe but pggan, whose batch is by resolution


def crops_and_features(out: Path) -> tuple[Path, Path]:
    """The tutorial's folder of crops and the feature space learned from it, each made once under ``out``."""
    folder, features = out / "data" / "cells", out / "features"
    if not any(folder.glob("*.png")):
        subprocess.run([sys.executable, str(ROOT / "tests" / "data" / "cell_crops.py"), str(folder)], check=True)
    if not (features / "config.json").exists():
        gankit("features", "train", "--self-supervised", f"folder:{folder}", "--out", str(features), "--seed", "0")
    return folder, features


def table(out: Path) -> None:
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines() if line.strip()]
    latest = {(r["recipe"], r["seed"], r["kimg"]): r for r in rows}
    print("| recipe | kimg | seed | FD (crops' own space) | precision | recall | memorized |")
    print("|---|---|---|---|---|---|---|")
    for (recipe, seed, kimg), r in sorted(latest.items()):
        print(f"| {recipe} | {kimg:g} | {seed} | {r['fd']:.2f} | {r['precision']:.3f} | {r['recall']:.3f} | "
              f"{r['memorized']:.3f} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipes", default=STAGED, help=f"any of {STAGED} (default: all)")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--kimg", type=float, default=5.0, help="thousands of training images each run sees")
    p.add_argument("--n", type=int, default=2000, help="generated images per evaluation")
    p.add_argument("--out", type=Path, default=Path("runs/crops64"))
    p.add_argument("--table", action="store_true", help="only print the results recorded so far")
    args = p.parse_args()
    if not args.table:
        args.out.mkdir(parents=True, exist_ok=True)
        folder, features = crops_and_features(args.out)
        sets = tuple(c for c in COMMON if not c.startswith("data.resolution")) + ("data.resolution=64",)
        evaluate = ("--metrics", "fd,pr,memorization", "--features", str(features))
        for seed in [int(s) for s in args.seeds.split(",")]:
            for recipe in args.recipes.split(","):
                train = () if recipe == "pggan" else ("--batch", str(BATCH))
                result = run_one(recipe, seed, args.kimg, args.out, args.n, data=f"folder:{folder}", train=train,
                                 sets=sets, evaluate=evaluate)
                with open(args.out / "results.jsonl", "a") as f:
                    f.write(json.dumps(result) + "\n")
                print(json.dumps(result), flush=True)
    table(args.out)


if __name__ == "__main__":
    main()
