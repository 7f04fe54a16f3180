"""Latency of the studio's image endpoint, as the page uses it: a server started by `gankit studio` in a
subprocess, a bounded number of requests at each concurrency, on two paths:

- gallery: distinct seeds (`GET /api/image?seed=S`), as a page of tiles loads;
- slider: one seed, a direction's alpha moving (`GET /api/image?seed=0&edits=NAME:ALPHA`), as a slider drags
  (the truncation slider when the model has no direction).

Prints the start-up time (command to first answer) and a Markdown table of p50/p99 latency and images/s. Without
--run/--export it trains a demo-width DCGAN for a few steps at --resolution (weights do not change the cost).

    python benchmarks/studio_latency.py --requests 400
    python benchmarks/studio_latency.py --run runs/demo --concurrency 1,16
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx


def train_demo_sized(out: Path, resolution: int, steps: int) -> Path:
    from gankit.cli.demo import DEMO_BATCH, DEMO_SETTINGS

    sets = [s for s in DEMO_SETTINGS if not s.startswith(("snapshot.", "log."))]
    command = [sys.executable, "-m", "gankit", "train", "--recipe", "dcgan", "--data", "fashion-mnist:test",
               "--steps", str(steps), "--batch", str(DEMO_BATCH), "--out", str(out), "--no-progress", "--set",
               *sets, f"data.resolution={resolution}", "snapshot.every_kimg=1000", "log.every=1"]
    print("training:", " ".join(command[1:]), file=sys.stderr)
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return out


def start(source: list, device: str) -> tuple[subprocess.Popen, str, float]:
    """The studio subprocess, its base URL and the seconds from the command to its first answer."""
    began = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "gankit", "studio", *source, "--port", "0", "--no-browser",
                               "--device", device], stdout=subprocess.PIPE, text=True)
    line = server.stdout.readline()
    if " at http" not in line:
        server.kill()
        raise SystemExit(f"the studio did not start: {line!r}")
    url = line.rsplit(" at ", 1)[1].strip().rstrip("/")
    httpx.get(f"{url}/api/model", timeout=60).raise_for_status()
    return server, url, time.perf_counter() - began


def slider_direction(url: str) -> str | None:
    """The first direction the server lists, waiting a little for those computed at start-up."""
    for _ in range(100):
        response = httpx.get(f"{url}/api/directions", timeout=30)
        if response.status_code == 200 and response.json().get("directions"):
            return response.json()["directions"][0]["name"]
        time.sleep(0.1)
    return None


def measure(paths: list, concurrency: int) -> dict:
    """Each path fetched once, ``concurrency`` at a time: latencies and throughput."""
    latencies, lock, todo = [], threading.Lock(), iter(paths)

    def worker():
        with httpx.Client(timeout=120) as client:
            while True:
                with lock:
                    path = next(todo, None)
                if path is None:
                    return
                t = time.perf_counter()
                client.get(path).raise_for_status()
                with lock:
                    latencies.append(time.perf_counter() - t)

    began = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(round(0.99 * (len(latencies) - 1))))]
    return {"p50": statistics.median(latencies) * 1000, "p99": p99 * 1000, "rate": len(latencies) / wall}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = p.add_mutually_exclusive_group()
    source.add_argument("--run", help="a run folder to serve")
    source.add_argument("--export", help="an export folder to serve")
    p.add_argument("--resolution", type=int, default=64, help="side of the model trained when none is given")
    p.add_argument("--train-steps", type=int, default=2)
    p.add_argument("--requests", type=int, default=200, help="requests per path and concurrency (at most 5000)")
    p.add_argument("--concurrency", default="1,16")
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    requests = max(1, min(args.requests, 5000))
    with tempfile.TemporaryDirectory() as tmp:
        if args.run or args.export:
            flags = ["--run", args.run] if args.run else ["--export", args.export]
        else:
            flags = ["--run", str(train_demo_sized(Path(tmp) / "run", args.resolution, args.train_steps))]
        server, url, startup = start(flags, args.device)
        try:
            model = httpx.get(f"{url}/api/model").json()
            name = slider_direction(url)
            print(f"gankit studio {' '.join(flags)}: first answer {startup:.2f} s after the command; model "
                  f"{model['recipe']} {'x'.join(map(str, model['shape']))}, z_dim {model['z_dim']}, "
                  f"{os.cpu_count()} CPUs, torch threads as the server chose")
            httpx.get(f"{url}/api/image?seed=0").raise_for_status()  # warm-up
            print("\n| path | concurrency | requests | p50 ms | p99 ms | images/s |\n|---|---|---|---|---|---|")
            for concurrency in (int(c) for c in args.concurrency.split(",")):
                slider = [f"{url}/api/image?seed=0&edits={name}:{(i % 41 - 20) / 10:g}" if name else
                          f"{url}/api/image?seed=0&truncation={(i % 41) / 20:g}" for i in range(requests)]
                offset = concurrency * 100_000  # seeds no earlier round drew
                for label, paths in (("gallery", [f"{url}/api/image?seed={offset + i}" for i in range(requests)]),
                                     ("slider" + ("" if name else " (truncation)"), slider)):
                    r = measure(paths, concurrency)
                    print(f"| {label} | {concurrency} | {requests} | {r['p50']:.1f} | {r['p99']:.1f} | "
                          f"{r['rate']:.1f} |", flush=True)
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
