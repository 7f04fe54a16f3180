"""Kill ``gankit train`` with SIGKILL again and again, most often while it writes a checkpoint, and resume.

What it checks, per kill and at the end:

- each restart (``--resume auto``) resumes from the newest checkpoint, which is intact: a write cut
  short leaves a temp file beside it, never a half checkpoint;
- the temp files a kill left are gone once the next run has started (it removes them holding the lock);
- the run, finished after all kills, ends with the weights and optimizer states of a run never
  interrupted, bit for bit.

    OMP_NUM_THREADS=1 python benchmarks/crash_test.py --kills 50

A tiny MLP GAN on ``ring8`` writes a checkpoint every step, so kills land in writes often. The
test suite runs the same loop with a few kills (``tests/train/test_crash.py``).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from gankit.cli import main as gankit_main  # noqa: E402
from gankit.train import checkpoint  # noqa: E402
from gankit.train.lock import TEMP_FOLDERS, TEMP_PATTERN  # noqa: E402

ARGS = ["--recipe", "nsgan", "--data", "ring8", "--batch", "16", "--no-progress", "--device", "cpu",
        "--set", "G.hidden=16", "D.hidden=16", "ema.beta=0.9", "log.every=5", "snapshot.every_kimg=1000",
        "ckpt.every_kimg=0.016", "ckpt.keep=3"]  # a checkpoint every step (16 images), the newest 3 kept


def temp_files(run: Path) -> set[Path]:
    return {p for sub in TEMP_FOLDERS if (run / sub).is_dir() for p in (run / sub).iterdir() if TEMP_PATTERN.match(p.name)}


def newest_step(run: Path) -> int | None:
    found = checkpoint.list_checkpoints(run)
    return int(checkpoint.CKPT_PATTERN.match(found[-1].name).group(1)) if found else None


def train(run: Path, steps: int) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, "-m", "gankit", "train", *ARGS, "--steps", str(steps), "--out", str(run),
                             "--resume", "auto"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


def kill_at_random(proc: subprocess.Popen, run: Path, rnd: random.Random, timeout: float = 120) -> bool:
    """SIGKILL ``proc``: in 1 of 10 cases at a random moment of its start (imports, lock, data, resume);
    else once it trains, in 3 of 4 cases at the k-th checkpoint write it is seen in (k from 1 to 4), or
    after a random pause. False when it finished before."""
    start = newest_step(run)
    deadline = time.monotonic() + timeout
    if rnd.random() < 0.1:
        time.sleep(rnd.uniform(0, 3))
        return _kill(proc)
    while newest_step(run) == start:  # its start (imports, data, resume) is over once it writes
        if proc.poll() is not None:
            return False
        if time.monotonic() > deadline:
            raise TimeoutError(f"no checkpoint written in {timeout:.0f} s")
        time.sleep(0.005)
    if rnd.random() < 0.75:
        seen, target, last = 0, rnd.randint(1, 4), set()
        while proc.poll() is None and time.monotonic() < deadline:
            now = temp_files(run)
            if now - last:
                seen += 1
                if seen >= target:
                    break
            last = now
            time.sleep(0.0005)
    else:
        time.sleep(rnd.uniform(0, 0.2))
    return _kill(proc)


def _kill(proc: subprocess.Popen) -> bool:
    if proc.poll() is not None:
        return False
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return True


def crash_and_resume(work: Path, kills: int, steps: int, seed: int = 0, log=print) -> dict:
    """Kill a run ``kills`` times, finish it, and compare it with a run never interrupted."""
    rnd = random.Random(seed)
    run = work / "killed"
    summary = {"kills": 0, "during_write": 0, "restarts": 0, "resumes_ok": 0, "temp_left_after_restart": 0}
    left: set[Path] = set()
    while True:
        before = newest_step(run)
        proc = train(run, steps)
        killed = summary["kills"] < kills and kill_at_random(proc, run, rnd)
        out = proc.communicate()[0]
        resumed = re.search(r"resuming from .*ckpt-(\d+)\.pt \(step (\d+)", out)
        started = resumed or not killed or newest_step(run) != before  # not killed in its start
        if left and started:  # what earlier kills left: the run just started had to remove it
            summary["temp_left_after_restart"] += len(left & temp_files(run))
            left = set()
        if before is not None and started:
            summary["restarts"] += 1
            summary["resumes_ok"] += bool(resumed and int(resumed.group(2)) == before)
        if not killed:
            if proc.returncode != 0:
                raise RuntimeError(f"gankit train failed ({proc.returncode}):\n{out[-3000:]}")
            break
        summary["kills"] += 1
        now = temp_files(run)
        during_write = bool(now - left)
        summary["during_write"] += during_write
        left = now  # with those of a kill during a start, which removed nothing
        where = ", during a write" if during_write else "" if started else ", during its start"
        log(f"kill {summary['kills']:3d}: at step {newest_step(run)}{where}")
    summary["temp_left_at_end"] = len(temp_files(run))
    straight = work / "straight"  # in this process: torch is imported already
    with contextlib.redirect_stdout(io.StringIO()) as said:
        if gankit_main(["train", *ARGS, "--steps", str(steps), "--out", str(straight)]) != 0:
            raise RuntimeError(said.getvalue()[-2000:])
    summary["bit_exact"] = same_state(checkpoint.load(checkpoint.checkpoint_path(straight, steps)),
                                      checkpoint.load(checkpoint.checkpoint_path(run, steps)))
    return summary


def same_state(a: dict, b: dict) -> bool:
    """Networks, G_ema, optimizer states and counters equal, bit for bit."""
    def same(x, y) -> bool:
        if isinstance(x, torch.Tensor):
            return isinstance(y, torch.Tensor) and x.dtype == y.dtype and torch.equal(x, y)
        if isinstance(x, dict):
            return isinstance(y, dict) and x.keys() == y.keys() and all(same(x[k], y[k]) for k in x)
        if isinstance(x, (list, tuple)):
            return isinstance(y, (list, tuple)) and len(x) == len(y) and all(map(same, x, y))
        return x == y
    return all(same(a[k], b[k]) for k in ("nets", "G_ema", "optimizers", "step", "nimg", "feed", "z_gen"))


def table(summary: dict) -> str:
    rows = [("kills", summary["kills"]), ("kills during a checkpoint write", summary["during_write"]),
            ("restarts that resumed from the newest checkpoint", f"{summary['resumes_ok']} of {summary['restarts']}"),
            ("temp files left after the next start", summary["temp_left_after_restart"]),
            ("temp files left at the end", summary["temp_left_at_end"]),
            ("final state equals an uninterrupted run, bit for bit", "yes" if summary["bit_exact"] else "NO")]
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--kills", type=int, default=50, help="SIGKILLs to send (default 50)")
    p.add_argument("--steps", type=int, help="the run's length (default: 20 per kill)")
    p.add_argument("--seed", type=int, default=0, help="seed of the kill moments")
    p.add_argument("--keep", help="folder to keep the runs in (default: a temporary one)")
    args = p.parse_args()
    steps = args.steps or 20 * args.kills
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.keep) if args.keep else Path(tmp)
        start = time.perf_counter()
        summary = crash_and_resume(work, args.kills, steps, args.seed)
        print(f"\ncrash test: {steps} steps, {time.perf_counter() - start:.0f} s\n" + table(summary))
    ok = (summary["resumes_ok"] == summary["restarts"] and not summary["temp_left_after_restart"]
          and not summary["temp_left_at_end"] and summary["bit_exact"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
