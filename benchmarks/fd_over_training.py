"""FD (fmnist features) over the training of one ``dcgan`` run: does it fall as the run goes on?

For each seed, ``dcgan`` trains on the bundled 10,000 Fashion-MNIST test images with the demo's
networks (``G.width=D.width=32``, ``ema.beta=0.995``, batch 64) in legs that end at 15k, 60k and
240k images seen (``--resume auto``: resume is exact, so the legs are one run; ``ckpt.keep=0``
keeps each leg's final checkpoint). Each of those checkpoints is then evaluated with
``gankit eval --checkpoint PATH --metrics fd,pr --n 10000`` against the test split. Prints a
Markdown table with the feature space's floor and ceiling, and the commands.

Restartable: a leg whose checkpoint exists is not trained again, and a checkpoint whose
evaluation (10,000 samples, the current fmnist weights) is recorded beside it is not evaluated again.

    OMP_NUM_THREADS=1 python benchmarks/fd_over_training.py --out runs/fd-over-training
"""

from __future__ import annotations

import argparse
import json
import math
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from gankit.metrics.evaluate import DIGEST
from gankit.metrics.features import get_extractor
from gankit.train import checkpoint
from runs import gankit

BATCH = 64
SETTINGS = ["G.width=32", "D.width=32", "ema.beta=0.995", "snapshot.every_kimg=10", "log.every=50",
            "ckpt.every_kimg=1000", "ckpt.keep=0"]
EVAL = ["--metrics", "fd,pr", "--n", "10000"]


def leg_checkpoint(run: Path, kimg: float) -> Path:
    """The checkpoint a leg ending at ``kimg`` writes: ``--kimg`` becomes ceil(kimg * 1000 / batch) steps."""
    return checkpoint.checkpoint_path(run, math.ceil(kimg * 1000 / BATCH))


def recorded(ckpt: Path, digest: str) -> dict | None:
    """The metrics of an evaluation of ``ckpt`` already recorded with this protocol and these weights, if any."""
    path = ckpt.with_suffix(".eval.json")
    if not path.is_file():
        return None
    for entry in reversed(json.loads(path.read_text())):
        m = entry.get("metrics", {})
        if entry.get("n") == 10000 and entry.get("features_sha256") == digest and {"fd", "precision", "recall"} <= set(m):
            return m
    return None


def train_command(run: Path, seed: int, kimg: float) -> list[str]:
    return ["train", "--recipe", "dcgan", "--data", "fashion-mnist:test", "--kimg", f"{kimg:g}", "--batch", str(BATCH),
            "--seed", str(seed), "--out", str(run), "--no-progress", "--resume", "auto", "--set", *SETTINGS]


def one_seed(out: Path, seed: int, legs: list[float], digest: str) -> dict[float, dict]:
    """Train the legs still missing, then evaluate the checkpoints not yet evaluated; {kimg: metrics}."""
    run = out / f"seed{seed}"
    for kimg in legs:
        if not leg_checkpoint(run, kimg).is_file():
            gankit(*train_command(run, seed, kimg))
    results = {}
    for kimg in legs:
        ckpt = leg_checkpoint(run, kimg)
        if recorded(ckpt, digest) is None:
            gankit("eval", "--checkpoint", str(ckpt), *EVAL)
        results[kimg] = recorded(ckpt, digest)
    return results


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=Path("runs/fd-over-training"))
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--kimg", default="15,60,240", help="the checkpoints, in thousands of images seen")
    p.add_argument("--workers", type=int, default=1, help="seeds trained at the same time (default 1)")
    args = p.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    legs = sorted(float(k) for k in args.kimg.split(","))
    extractor = get_extractor("fmnist")
    digest = extractor.digest[:DIGEST]
    with ThreadPoolExecutor(args.workers) as pool:
        results = dict(zip(seeds, pool.map(lambda s: one_seed(args.out, s, legs, digest), seeds)))

    def row(label: str, key: str, fmt: str) -> None:
        for kimg in legs:
            values = [results[s][kimg][key] for s in seeds]
            cells = " | ".join(format(v, fmt) for v in values)
            print(f"| {kimg:g}k | {label} | {cells} | {format(sum(values) / len(values), fmt)} |")

    print(f"\n| images seen | metric | {' | '.join(f'seed {s}' for s in seeds)} | mean |")
    print("|---|---|" + "---|" * (len(seeds) + 1))
    row("FD", "fd", ".1f")
    row("precision", "precision", ".3f")
    row("recall", "recall", ".3f")
    c = extractor.calibration
    if c:
        print(f"\nfmnist space (weights sha256 {digest}): floor {c['floor']:.1f} (real training vs test images), "
              f"ceiling {c['ceiling']:.1f} (noise), {c['n']} images each")
    for s in seeds:
        fds = [results[s][k]["fd"] for k in legs]
        print(f"seed {s}: FD {' -> '.join(f'{v:.1f}' for v in fds)}, "
              f"{'falls at every checkpoint' if all(a > b for a, b in zip(fds, fds[1:])) else 'NOT monotonic'}")
    print("\ncommands (each leg continues the run to its budget):")
    for kimg in legs:
        print("    gankit " + " ".join(train_command(args.out / "seedS", "S", kimg)))
    print(f"    gankit eval --checkpoint {args.out}/seedS/checkpoints/ckpt-STEP.pt {' '.join(EVAL)}")


if __name__ == "__main__":
    main()
