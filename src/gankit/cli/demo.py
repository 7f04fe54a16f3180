"""gankit demo: train a class-conditional DCGAN on the bundled Fashion-MNIST images (no network needed) and show
where the results are.

The package ships the 10,000-image Fashion-MNIST test split, so this runs offline. On two CPU
cores it takes a few minutes; on a GPU far less. The run folder can be resumed, sampled
from and exported like any other.
"""

from __future__ import annotations

from gankit.cli.common import COUNT, add_device, add_subcommand, flag_ranges

# Chosen so the demo finishes in about five minutes on a 2-core CPU (5 min 38 s when idle) and shows every class of
# clothing: a half-width DCGAN given the class (one-hot labels into G and D: the grid has a column per class), batch
# 64, sampled from a moving average of G whose half-life ramps up with the images seen (2% of them). FD 0.79x that
# of the same unconditional DCGAN at 1,200 steps, lower in 3 of 3 seeds; 2,700 steps give 0.53x the FD of 1,800 and
# sandals with straps in most samples, though sandals stay the weakest class (docs/benchmarks.md).
DEMO_RECIPE = "cgan"
DEMO_SETTINGS = ["G.arch=dcgan", "D.arch=dcgan", "G.width=32", "D.width=32", "ema.beta=0.999", "ema.rampup=0.02",
                 "snapshot.every_kimg=10", "log.every=20", "ckpt.every_kimg=1000"]
DEMO_BATCH = 64
DEMO_STEPS = 2700


def add_parser(sub) -> None:
    p = add_subcommand(sub, "demo", "train a class-conditional DCGAN on bundled Fashion-MNIST, offline", __doc__.strip(), [
        "gankit demo",
        "gankit demo --steps 3000 --out runs/demo-long",
    ])
    p.add_argument("--steps", type=int, default=DEMO_STEPS, help=f"training steps of {DEMO_BATCH} images (default {DEMO_STEPS})")
    p.add_argument("--out", help="run folder (default runs/demo, or the next free runs/demo-N)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_device(p)
    flag_ranges(p, {"--steps": COUNT})
    p.set_defaults(handler=run)


def run(args) -> int:
    from pathlib import Path

    from gankit.cli.train import print_outputs
    from gankit.config import ConfigError
    from gankit.train import checkpoint
    from gankit.train.run import fresh_run_dir, open_run

    out = args.out or str(fresh_run_dir(Path("runs") / "demo"))
    if checkpoint.list_checkpoints(Path(out)):
        raise ConfigError(f"--out {out}: already holds a run; choose another --out, or continue this one with "
                          f"`gankit train --out {out} --resume auto --steps N`")
    trainer = open_run(recipe=DEMO_RECIPE, data="fashion-mnist:test", sets=DEMO_SETTINGS, steps=args.steps, batch=DEMO_BATCH, out=out,
                       device=args.device, progress_bar=not args.no_progress)
    print(f"gankit demo: a class-conditional DCGAN on the 10,000 bundled Fashion-MNIST images, {args.steps} steps "
          f"of {trainer.cfg['batch']} on {trainer.device}; the grid has a column per class")
    result = trainer.fit(stop_on_signal=True)
    print_outputs(trainer.run_dir, result)
    if result.get("interrupted"):
        return result["interrupted"]
    print(f"next: gankit studio --run {trainer.run_dir}      # browse and steer it in a web page\n"
          f"      gankit sample --run {trainer.run_dir} -n 64 --out grid.png")
    return 0
