"""Recipes side by side on Fashion-MNIST at 32x32: the same images seen, several seeds.

Two comparisons share this protocol. The growing and staged generators: ``pggan``, ``lapgan`` and ``stackgan``
(class-conditional on the ten classes, the others unconditional) against ``dcgan``, each with its paper's loss,
optimizer and batch. The modern baseline: ``r3gan`` against ``dcgan`` and ``sngan`` (``--recipes
dcgan,sngan,r3gan``). Every recipe trains for the same thousands of images (``--kimg``) on the Fashion-MNIST
training split resized to 32x32, with networks narrowed to about DCGAN's cost for a CPU (``runs.CPU_NETS`` says
how far, in FLOPs). Each run's G (not a moving average: PGGAN's 0.999 without ramp-up still holds most of the
initial weights after a short run) is then measured with ``gankit eval`` in the shipped ``fmnist`` feature space
against the 10,000 test images: FD, precision and recall. Runs are reused (``--out``), so the table can be built
over sessions; ``--table`` prints what is recorded.

    GANKIT_DATA=/usr/share/datasets/fashion-mnist python benchmarks/fmnist32.py --kimg 30 --seeds 0,1,2
    GANKIT_DATA=/usr/share/datasets/fashion-mnist python benchmarks/fmnist32.py --recipes dcgan,sngan,r3gan --kimg 30
    python benchmarks/fmnist32.py --table
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from runs import CPU_NETS, gankit

RECIPES = {
    "dcgan": [],
    "pggan": CPU_NETS["pggan"],
    "lapgan": [],
    "stackgan": [],
    "sngan": CPU_NETS["sngan"],
    "r3gan": CPU_NETS["r3gan"],
}
STAGED = "dcgan,pggan,lapgan,stackgan"
COMMON = ["data.resolution=32", "log.every=50", "snapshot.every_kimg=5", "ckpt.every_kimg=5"]


def run_one(recipe: str, seed: int, kimg: float, out: Path, n: int, data: str = "fashion-mnist",
            train: tuple[str, ...] = (), sets: tuple[str, ...] = tuple(COMMON),
            evaluate: tuple[str, ...] = ("--metrics", "fd,pr", "--features", "fmnist")) -> dict:
    """Train ``recipe`` on ``data`` for ``kimg`` (or continue it there), then measure its G; a result row."""
    run = out / f"{recipe}-seed{seed}"
    start = time.perf_counter()
    gankit("train", "--recipe", recipe, "--data", data, "--kimg", str(kimg), "--seed", str(seed), "--out", str(run),
           "--no-progress", "--resume", "auto", *train, "--set", *sets, *RECIPES[recipe])
    seconds = time.perf_counter() - start
    gankit("eval", "--run", str(run), "--net", "G", *evaluate, "--n", str(n))
    found = json.loads((run / "eval.json").read_text())[-1]["metrics"]
    return {"recipe": recipe, "seed": seed, "kimg": kimg, "seconds": round(seconds, 1),
            **{k: found[k] for k in ("fd", "precision", "recall", "memorized") if k in found}}


def table(out: Path, space: str = "fmnist") -> None:
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines() if line.strip()]
    latest = {(r["recipe"], r["seed"], r["kimg"]): r for r in rows}  # a re-evaluation replaces its row
    memorized = any("memorized" in r for r in rows)
    print(f"| recipe | kimg | seed | FD ({space}) | precision | recall |" + (" memorized |" if memorized else ""))
    print("|---|---|---|---|---|---|" + ("---|" if memorized else ""))
    for (recipe, seed, kimg), r in sorted(latest.items()):
        print(f"| {recipe} | {kimg:g} | {seed} | {r['fd']:.2f} | {r['precision']:.3f} | {r['recall']:.3f} |"
              + (f" {r.get('memorized', float('nan')):.3f} |" if memorized else ""))


def protocol(doc: str, kimg: float, n: int, out: str, space: str, run) -> None:
    """The command line both same-images protocols share: ``run(recipe, seed, args)`` trains and measures one run
    and returns its row, kept in ``--out``/results.jsonl; ``--table`` prints the rows without training."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipes", default=STAGED, help=f"any of {', '.join(RECIPES)} (default: {STAGED})")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--kimg", type=float, default=kimg, help="thousands of training images each run sees")
    p.add_argument("--n", type=int, default=n, help="generated images per evaluation")
    p.add_argument("--out", type=Path, default=Path(out))
    p.add_argument("--table", action="store_true", help="only print the results recorded so far")
    args = p.parse_args()
    if not args.table:
        args.out.mkdir(parents=True, exist_ok=True)
        for seed in [int(s) for s in args.seeds.split(",")]:
            for recipe in args.recipes.split(","):
                result = run(recipe, seed, args)
                with open(args.out / "results.jsonl", "a") as f:
                    f.write(json.dumps(result) + "\n")
                print(json.dumps(result), flush=True)
    table(args.out, space)


def main() -> None:
    protocol(__doc__, 30.0, 5000, "runs/fmnist32", "fmnist",
             lambda recipe, seed, args: run_one(recipe, seed, args.kimg, args.out, args.n))


if __name__ == "__main__":
    main()
