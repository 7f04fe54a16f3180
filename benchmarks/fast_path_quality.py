"""Does the fast path train as well as the plain one? FD of dcgan on Fashion-MNIST after a fixed budget, several seeds.

Each seed trains ``dcgan`` on the 60,000 Fashion-MNIST training images for the same number of
images twice:

- plain: ``fast.channels_last=off fast.compile=off amp=off`` (contiguous fp32, eager);
- fast:  ``fast.channels_last=on fast.compile=COMPILE amp=auto`` (bf16 autocast on CUDA, fp32 elsewhere);
- fast-reuse: the fast path with ``reuse_fakes=true`` (the G step trains on the D step's fakes).

Then ``gankit eval`` compares N samples of each run with the 10,000 test images in the ``fmnist``
feature space. The script prints every FD, the mean and standard deviation of each path, and
whether each path's mean differs from plain's by at most twice the standard error (seed noise).
It trains paths x seeds runs: on a CPU keep the budget small, or run it where there is a GPU. A run
whose folder already holds a checkpoint is evaluated, not trained again, so seeds or paths can be
trained by separate processes and tabulated by one last call.

    python benchmarks/fast_path_quality.py --kimg 60 --seeds 0,1,2 --out runs/fast-quality
    python benchmarks/fast_path_quality.py --kimg 0.5 --seeds 0 --width 8 --n 500 --device cpu   # a smoke run
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

PATHS = {
    "plain": ["fast.channels_last=off", "fast.compile=off", "amp=off"],
    "fast": ["fast.channels_last=on", "fast.compile={compile}", "amp=auto"],
    "fast-reuse": ["fast.channels_last=on", "fast.compile={compile}", "amp=auto", "reuse_fakes=true"],
}


def gankit(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "gankit", *args], check=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kimg", type=float, default=60, help="thousands of training images per run")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--width", type=int, default=64, help="G.width and D.width")
    p.add_argument("--n", type=int, default=10000, help="generated samples for FD")
    p.add_argument("--compile", choices=["off", "auto", "on"], default="auto", help="fast.compile of the fast path")
    p.add_argument("--device", default="auto")
    p.add_argument("--paths", default=",".join(PATHS), help=f"comma-separated, of {', '.join(PATHS)}")
    p.add_argument("--out", type=Path, default=Path("runs/fast-quality"))
    args = p.parse_args()
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    names = [n for n in args.paths.split(",") if n]
    if set(names) - set(PATHS):
        p.error(f"--paths {args.paths}: choose among {', '.join(PATHS)}")
    paths = {n: PATHS[n] for n in names}

    print(f"command: {shlex.join([Path(sys.executable).name, *sys.argv])}")
    fds: dict[str, list[float]] = {name: [] for name in paths}
    for seed in seeds:
        for name, sets in paths.items():
            run = args.out / f"{name}-seed{seed}"
            sets = [s.format(compile=args.compile) for s in sets]
            train = ["train", "--recipe", "dcgan", "--data", "fashion-mnist", "--kimg", str(args.kimg), "--batch",
                     str(args.batch), "--seed", str(seed), "--out", str(run), "--no-progress", "--device", args.device,
                     "--set", f"G.width={args.width}", f"D.width={args.width}", "log.every=50",
                     "snapshot.every_kimg=1000", "ckpt.every_kimg=1000", *sets]
            start = time.perf_counter()
            if not list((run / "checkpoints").glob("ckpt-*.pt")):
                gankit(*train)
            seconds = time.perf_counter() - start
            gankit("eval", "--run", str(run), "--metrics", "fd", "--n", str(args.n), "--features", "fmnist",
                   "--device", args.device)
            fd = json.loads((run / "eval.json").read_text())[-1]["metrics"]["fd"]
            fds[name].append(fd)
            print(f"{name:>10} seed {seed}: FD {fd:.2f}  (train {seconds:.0f} s: gankit {shlex.join(train)})")

    print("\n| path | FD per seed | mean | std |\n|---|---|---|---|")
    for name, values in fds.items():
        std = statistics.stdev(values) if len(values) > 1 else float("nan")
        print(f"| {name} | {', '.join(f'{v:.2f}' for v in values)} | {statistics.mean(values):.2f} | {std:.2f} |")
    if "plain" not in fds:
        return
    for name in fds:
        if name == "plain":
            continue
        diff = statistics.mean(fds[name]) - statistics.mean(fds["plain"])
        if len(seeds) > 1:
            se = math.sqrt(sum(statistics.variance(fds[n]) / len(fds[n]) for n in (name, "plain")))
            verdict = "within" if abs(diff) <= 2 * se else "OUTSIDE"
            print(f"{name} - plain: {diff:+.2f} FD; standard error {se:.2f}: {verdict} seed noise (|diff| <= 2 SE)")
        else:
            print(f"{name} - plain: {diff:+.2f} FD (one seed: no estimate of seed noise)")


if __name__ == "__main__":
    main()
