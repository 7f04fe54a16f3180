"""What the quality benchmarks share: run gankit as a user would, train once, evaluate, read the result."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path


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
