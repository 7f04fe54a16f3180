"""Mode collapse on ring8 and grid25 (PacGAN protocol) and on the 1000 modes of stacked-fmnist.

Each (configuration, dataset, seed) trains with gankit's own trainer, then draws 2,500 samples
from the sampling network (G, or its moving average when the configuration keeps one) and
counts modes with ``gankit.metrics.count_modes`` (HQ: within 3 std of the nearest centre; a
mode is captured when it is the nearest centre of at least one HQ sample). Prints a Markdown
table: mean +- standard error of modes, mean HQ %, and how many seeds reached all modes with
>= 90% HQ, then one JSON line per run.

    python benchmarks/mode_collapse.py --seeds 10 --configs nsgan,unrolled,best

``--data stacked-fmnist`` runs the 1000-mode table instead (``STACKED``): each configuration trains on the
stacked training set at 32x32 for the same images seen (``--kimg``) with ``gankit train``, then ``gankit eval
--metrics modes`` draws 26,000 samples (the Stacked MNIST protocol's count) and labels each channel with the
shipped fmnist classifier. Runs live in ``--out`` and are reused, so the table can be built over sessions.

    python benchmarks/mode_collapse.py --data stacked-fmnist --configs dcgan,wgan-gp,sngan,unrolled,r3gan,best \
        --seeds 3 --first-seed 0 --kimg 100
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time

import torch

from pathlib import Path

from gankit.data.mixtures import MIXTURES
from gankit.metrics import count_modes
from gankit.train.run import open_run
from runs import CPU_NETS, gankit

QUIET = ["log.every=100000", "snapshot.every_kimg=1000000", "ckpt.every_kimg=1000000"]

# name -> (recipe, steps, extra --set values). The plain settings are the recipes' own defaults;
# "best" is the setting tuned on seeds outside the reported ones (ring8: seeds 0-4; grid25: seeds 0-1).
# grid25's 25 modes take PacGAN's packing (D judges 2 samples at once), a 16-d latent and more steps,
# for precision a slow moving average of G and learning rates decayed to 0 over the second half,
# and R1 (gamma 1) to keep modes once found. "pack-decay" is that setting without R1 (the earlier
# best); "instance-noise" adds noise of std 0.5 (a quarter of the grid's spacing) on D's inputs,
# ending at 75% of the run, to it instead. "pack-10k" is older still (no decay, moving average 0.99).
PACK2 = ["z_dim=16", "tricks.pack=2", "batch=256", "G.hidden=256,256,256", "D.hidden=256,256,256",
         "G.lr=1e-3", "D.lr=2e-3", "G.betas=0.5,0.9", "D.betas=0.5,0.9"]
DECAYED = PACK2 + ["ema.beta=0.999", "lr.decay=linear", "lr.decay_start=0.5"]
CONFIGS = {
    "nsgan": ("nsgan", 5000, []),
    "unrolled": ("unrolled", 5000, []),
    "best": ("nsgan", 3000, ["z_dim=2", "batch=256", "ema.beta=0.99", "G.hidden=128,128", "D.hidden=128,128",
                             "G.lr=2e-3", "D.lr=4e-3", "G.betas=0.5,0.9", "D.betas=0.5,0.9"]),
    "pack-10k": ("nsgan", 10000, PACK2 + ["ema.beta=0.99"]),
    "pack-decay": ("nsgan", 20000, DECAYED),
    "instance-noise": ("nsgan", 20000, DECAYED + ["tricks.instance_noise=0.5", "tricks.instance_noise_until=0.75"]),
}
OVERRIDES = {("best", "grid25"): ("nsgan", 20000, DECAYED + ["r1=1"])}


def run_one(config: str, data: str, seed: int) -> dict:
    recipe, steps, sets = OVERRIDES.get((config, data), CONFIGS[config])
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        trainer = open_run(recipe=recipe, data=data, steps=steps, out=f"{tmp}/run", device="cpu", progress_bar=False,
                           log=lambda s: None, sets=QUIET + sets + [f"seed={seed}"])
        for _ in range(steps):
            trainer.train_step()
        G = trainer.sampling_net().eval()
        with torch.no_grad():
            x = G(torch.randn(2500, trainer.cfg["z_dim"], generator=torch.Generator().manual_seed(10_000 + seed)))
    report = count_modes(x, MIXTURES[data]()).as_dict()
    return {"config": config, "data": data, "seed": seed, "recipe": recipe, "steps": steps, "sets": sets,
            "seconds": round(time.perf_counter() - start, 1), **report}


# The 1000-mode table: name -> (recipe, --set values). Each is its paper's setting at 32x32, sngan's and r3gan's
# networks narrowed to about DCGAN's cost for a CPU (runs.CPU_NETS); "best" is gankit's answer to collapse on
# images: DCGAN with PacGAN's packing (PacDCGAN2, which reached 1000 modes in its paper) and R1.
STACKED = {
    "dcgan": ("dcgan", []),
    "wgan-gp": ("wgan-gp", []),
    "sngan": ("sngan", CPU_NETS["sngan"]),
    "unrolled": ("unrolled", ["G.arch=dcgan", "D.arch=dcgan"]),  # the papers' Stacked MNIST rows use conv nets
    "r3gan": ("r3gan", CPU_NETS["r3gan"]),
    "best": ("dcgan", ["tricks.pack=2", "r1=1"]),
}
PUBLISHED = "Stacked MNIST, 26,000 samples (VEEGAN, PacGAN): DCGAN 99 modes (KL 3.4), unrolled 48.7, VEEGAN 150, " \
            "PacDCGAN2 1000 (KL 0.06); R3GAN 1000"


def run_stacked(config: str, seed: int, kimg: float, out: Path) -> dict:
    """Train (or reuse) one stacked-fmnist run and count its modes among 1000."""
    recipe, sets = STACKED[config]
    run = out / f"{config}-seed{seed}"
    start = time.perf_counter()
    gankit("train", "--recipe", recipe, "--data", "stacked-fmnist", "--kimg", str(kimg), "--seed", str(seed),
           "--out", str(run), "--no-progress", "--resume", "auto", "--set", "data.resolution=32", *QUIET[:2],
           "ckpt.every_kimg=10", *sets)
    seconds = time.perf_counter() - start
    gankit("eval", "--run", str(run), "--metrics", "modes", "--n", "26000")
    found = json.loads((run / "eval.json").read_text())[-1]["metrics"]
    return {"config": config, "data": "stacked-fmnist", "seed": seed, "recipe": recipe, "kimg": kimg, "sets": sets,
            "seconds": round(seconds, 1), "modes": found["modes"], "num_modes": found["num_modes"],
            "reverse_kl": found["reverse_kl"]}


def stacked_summary(rows: list[dict]) -> str:
    lines = [f"| configuration | modes of 1000 (mean +- s.e.) | reverse KL (mean) | seeds | kimg |", "|---|---|---|---|---|"]
    for config in dict.fromkeys(r["config"] for r in rows):
        rs = [r for r in rows if r["config"] == config]
        modes = torch.tensor([float(r["modes"]) for r in rs])
        se = float(modes.std() / math.sqrt(len(rs))) if len(rs) > 1 else 0.0
        lines.append(f"| {config} | {float(modes.mean()):.1f} +- {se:.1f} | "
                     f"{sum(r['reverse_kl'] for r in rs) / len(rs):.2f} | {len(rs)} | {rs[0]['kimg']:g} |")
    return "\n".join(lines) + f"\n\nPublished, for comparison in kind (digits, not clothing): {PUBLISHED}"


def summary(rows: list[dict]) -> str:
    lines = ["| configuration | data | modes (mean +- s.e.) | HQ % (mean) | seeds with all modes and >= 90% HQ |",
             "|---|---|---|---|---|"]
    for (config, data) in dict.fromkeys((r["config"], r["data"]) for r in rows):
        rs = [r for r in rows if r["config"] == config and r["data"] == data]
        modes = torch.tensor([float(r["modes"]) for r in rs])
        se = float(modes.std() / math.sqrt(len(rs))) if len(rs) > 1 else 0.0
        hq = sum(r["hq_percent"] for r in rs) / len(rs)
        full = sum(r["modes"] == r["num_modes"] and r["hq_percent"] >= 90 for r in rs)
        lines.append(f"| {config} | {data} | {float(modes.mean()):.1f} +- {se:.1f} / {rs[0]['num_modes']} | "
                     f"{hq:.1f} | {full}/{len(rs)} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--configs", default="nsgan,unrolled,best")
    p.add_argument("--data", default="ring8,grid25")
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--first-seed", type=int, default=100, help="seeds first..first+n-1 (tuning used seeds 0-4)")
    p.add_argument("--kimg", type=float, default=100.0, help="stacked-fmnist: thousands of images each run sees")
    p.add_argument("--out", type=Path, default=Path("runs/stacked-modes"), help="stacked-fmnist: the runs, reused")
    args = p.parse_args()
    rows = []
    if args.data == "stacked-fmnist":
        unknown = set(args.configs.split(",")) - set(STACKED)
        if unknown:
            p.error(f"--configs: unknown {', '.join(sorted(unknown))}; choose from {', '.join(STACKED)}")
        for config in args.configs.split(","):
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                rows.append(run_stacked(config, seed, args.kimg, args.out))
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
        print(stacked_summary(rows))
        return
    unknown = set(args.configs.split(",")) - set(CONFIGS)
    if unknown:
        p.error(f"--configs: unknown {', '.join(sorted(unknown))}; choose from {', '.join(CONFIGS)}")
    for config in args.configs.split(","):
        for data in args.data.split(","):
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                row = run_one(config, data, seed)
                rows.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
    print(summary(rows))
    for r in rows:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
