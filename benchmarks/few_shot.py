"""Few-shot: which recipe gives the best images from a few dozen images in the same 30 minutes of a CPU?

Two small sets, as a user brings them: the tutorial's 42 cell crops of mixed sizes (made by
``tests/data/cell_crops.py``) and the first 100 Fashion-MNIST training images. On each, five
variants train for the same wall time: the tutorial's recipe with the content mask that
``--crop-to-content`` needs (``dcgan-mask``: ``dcgan`` with flips and ``data.mask``), ``fastgan``, ``dcgan`` + ADA, ``dcgan`` + DiffAugment and plain ``dcgan`` (and on request
``fastgan-small``, its widths cut to 16 for a CPU). A wall time
becomes a number of steps through a probe: each variant first trains ``--probe-steps`` steps on the
idle machine and its images per second (the trainer's ``Timing/images_per_sec``, start-up excluded)
set the steps that fill ``--minutes``. Each run is then measured in a feature space learned from the
set itself (``gankit features train --self-supervised``, seed 0, once per set) with FD, precision,
recall and the memorization share against the training images; the clothes also in the ``fmnist``
space against the 10,000 test images.

Runs are independent and resumable: a run folder that holds its budget is only evaluated, so the
protocol can be spread over sessions (``--datasets``, ``--variants``, ``--seeds`` pick a part) and
``--table`` prints every result recorded so far. Never run it beside other work: the probe is a timing.

    GANKIT_DATA=/usr/share/datasets/fashion-mnist python benchmarks/few_shot.py --datasets cells --seeds 0
    python benchmarks/few_shot.py --table
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

from runs import gankit

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = {  # recipe and settings; the batch is each recipe's choice for a small set
    "fastgan": ["--recipe", "fastgan"],
    "fastgan-small": ["--recipe", "fastgan", "--set", "G.width=16", "D.width=16"],  # a CPU-sized FastGAN
    "dcgan-ada": ["--recipe", "dcgan", "--set", "augment.ada=true"],
    "dcgan-diffaugment": ["--recipe", "dcgan", "--set", "augment.policy=color,translation,cutout"],
    "dcgan": ["--recipe", "dcgan"],
    "dcgan-mask": ["--recipe", "dcgan", "--set", "data.flip=true", "data.mask=true"],  # the tutorial's, with its mask
}
DATASETS = {  # folder maker, training settings every variant shares, whether the fmnist space applies
    "cells": {"sets": ["data.resolution=64"], "dcgan_batch": 14, "fmnist": False},
    "fmnist100": {"sets": [], "dcgan_batch": 32, "fmnist": True},
}
COMMON = ["log.every=10", "snapshot.every_kimg=5", "ckpt.every_kimg=2"]  # checkpoints: a run can go on in a later session


def make_folder(name: str, out: Path) -> Path:
    folder = out / "data" / name
    if folder.exists() and any(folder.rglob("*.png")):
        return folder
    if name == "cells":
        subprocess.run([sys.executable, str(ROOT / "tests" / "data" / "cell_crops.py"), str(folder)], check=True)
    else:
        from small_data import write_subset

        write_subset(folder, 100)
    return folder


def train_args(dataset: str, variant: str, folder: Path, run: Path, seed: int) -> list[str]:
    args = ["train", "--data", f"folder:{folder}", "--seed", str(seed), "--out", str(run), "--no-progress"]
    recipe, sets = VARIANTS[variant][:2], VARIANTS[variant][3:]
    if recipe[1] == "dcgan":
        args += ["--batch", str(DATASETS[dataset]["dcgan_batch"])]
    return [*args, *recipe, "--set", *COMMON, *DATASETS[dataset]["sets"], *sets]


def images_per_second(run: Path) -> float:
    rates = [json.loads(line).get("Timing/images_per_sec") for line in (run / "stats.jsonl").read_text().splitlines()]
    rates = [r for r in rates if r]
    return sum(rates[1:]) / len(rates[1:])  # the first log interval holds the warm-up


def steps_for(dataset: str, variant: str, folder: Path, out: Path, minutes: float, probe_steps: int) -> dict:
    """The probe: images per second of ``variant`` on ``dataset`` (kept in ``out/probes.json``), and the steps
    that fill ``minutes`` at that rate."""
    probes_file = out / "probes.json"
    probes = json.loads(probes_file.read_text()) if probes_file.exists() else {}
    key = f"{dataset}/{variant}"
    if key not in probes:
        probe = out / "probe"
        shutil.rmtree(probe, ignore_errors=True)
        gankit(*train_args(dataset, variant, folder, probe, 0), "--steps", str(probe_steps))
        batch = json.loads((probe / "config.json").read_text())["batch"]
        probes[key] = {"images_per_sec": images_per_second(probe), "batch": batch}
        shutil.rmtree(probe)
        probes_file.write_text(json.dumps(probes, indent=1))
    rate, batch = probes[key]["images_per_sec"], probes[key]["batch"]
    return {**probes[key], "steps": max(1, math.floor(minutes * 60 * rate / batch))}


def features_for(dataset: str, folder: Path, out: Path) -> Path:
    features = out / "features" / dataset
    if not (features / "config.json").exists():
        gankit("features", "train", "--self-supervised", f"folder:{folder}", "--out", str(features), "--seed", "0")
    return features


def evaluate(run: Path, dataset: str, features: Path, n: int) -> dict:
    gankit("eval", "--run", str(run), "--metrics", "fd,pr,memorization", "--features", str(features), "--n", str(n))
    found = json.loads((run / "eval.json").read_text())[-1]["metrics"]
    result = {k: found.get(k) for k in ("fd", "precision", "recall", "memorized", "memorized_p5", "nn_ratio")}
    if DATASETS[dataset]["fmnist"]:
        gankit("eval", "--run", str(run), "--metrics", "fd", "--features", "fmnist", "--data", "fashion-mnist:test",
               "--n", "10000")
        result["fd_fmnist"] = json.loads((run / "eval.json").read_text())[-1]["metrics"]["fd"]
    return result


def table(out: Path) -> None:
    results_file = out / "results.jsonl"
    if not results_file.exists():
        print("no results yet")
        return
    rows = [json.loads(line) for line in results_file.read_text().splitlines() if line.strip()]
    latest = {(r["dataset"], r["variant"], r["seed"]): r for r in rows}  # a rerun replaces its row
    print("| set | variant | seed | steps | FD (own space) | precision | recall | memorized | FD fmnist |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (dataset, variant, seed), r in sorted(latest.items()):
        fmnist = f"{r['fd_fmnist']:.1f}" if r.get("fd_fmnist") is not None else ""
        print(f"| {dataset} | {variant} | {seed} | {r['steps']} | {r['fd']:.2f} | {r['precision']:.3f} | "
              f"{r['recall']:.3f} | {r['memorized']:.3f} | {fmnist} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", default=",".join(DATASETS))
    p.add_argument("--variants", default="dcgan-mask,fastgan,dcgan-ada,dcgan-diffaugment,dcgan")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--minutes", type=float, default=30.0, help="training wall time per run on this machine")
    p.add_argument("--probe-steps", type=int, default=40)
    p.add_argument("--n", type=int, default=5000, help="generated images per evaluation")
    p.add_argument("--out", type=Path, default=Path("runs/few-shot"))
    p.add_argument("--table", action="store_true", help="only print the results recorded so far")
    args = p.parse_args()
    if args.table:
        table(args.out)
        return
    args.out.mkdir(parents=True, exist_ok=True)
    for dataset in args.datasets.split(","):
        folder = make_folder(dataset, args.out)
        features = features_for(dataset, folder, args.out)
        for seed in [int(s) for s in args.seeds.split(",")]:
            for variant in args.variants.split(","):
                budget = steps_for(dataset, variant, folder, args.out, args.minutes, args.probe_steps)
                run = args.out / dataset / f"{variant}-seed{seed}"
                gankit(*train_args(dataset, variant, folder, run, seed), "--steps", str(budget["steps"]),
                       "--resume", "auto")
                result = {"dataset": dataset, "variant": variant, "seed": seed, "minutes": args.minutes, **budget,
                          **evaluate(run, dataset, features, args.n)}
                with open(args.out / "results.jsonl", "a") as f:
                    f.write(json.dumps(result) + "\n")
                print(json.dumps(result))
    table(args.out)


if __name__ == "__main__":
    main()
