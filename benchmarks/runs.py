"""What the quality benchmarks share: run gankit as a user would, train once, evaluate, read the result."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

# Networks narrowed to about DCGAN's cost for a CPU, where a recipe's paper networks are far larger. Forward
# FLOPs per 32x32 image (torch.utils.flop_counter), G / D: dcgan's defaults 137 / 135 M; sngan's paper widths
# (256 channels in G, 128 in D) 3,353 / 504 M, narrowed 210 / 32 M (and 5 D steps per G step); r3gan's CIFAR-10
# widths (768 everywhere) 14,048 / 14,048 M, narrowed 126 / 126 M; pggan's feature maps min(4096 / res, 256)
# 1,684 M for G, narrowed to min(2048 / res, 128) 422 M (1.9M parameters against DCGAN's 3.4M). R3GAN's batch of
# 512 would leave a short run few steps.
CPU_NETS = {
    "pggan": ["G.fmap_base=1024", "D.fmap_base=1024", "G.fmap_max=128", "D.fmap_max=128"],
    "sngan": ["G.width=16", "D.width=16"],
    "r3gan": ["G.width=32", "D.width=32", "G.max_width=128", "D.max_width=128", "batch=64"],
}


def gankit(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "gankit", *args], check=True)


def train_and_evaluate(run: Path, train: list[str], evaluate: list[str]) -> tuple[dict, float]:
    """``gankit train --resume auto`` (a run already in ``run`` continues to the budget, or is left as it
    is when it has reached it), then ``gankit eval --run run``.

    Returns the metrics of that evaluation and the training wall time in seconds.
    """
    start = time.perf_counter()
    gankit(*train, "--resume", "auto")
    seconds = time.perf_counter() - start
    gankit("eval", "--run", str(run), *evaluate)
    return json.loads((run / "eval.json").read_text())[-1]["metrics"], seconds
