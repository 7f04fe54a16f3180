"""gankit train: train a recipe on a dataset into a run folder.

One run trains into a folder at a time: a second `gankit train` on the same --out is refused while the first
runs (RUN/.lock names its PID). A run killed mid-way resumes with --resume auto, from the newest checkpoint that
loads. Exit codes: 0 done; 2 a usage or input error; 3 training diverged (a loss or weight turned NaN or infinite:
stopped, the last finite checkpoint kept); 130/143 stopped by Ctrl-C/SIGTERM with a checkpoint.
"""

from __future__ import annotations

import sys

from gankit.cli.common import add_device, add_strict, add_subcommand, path_flags


def add_parser(sub) -> None:
    from gankit.data import describe_specs

    p = add_subcommand(sub, "train", "train a recipe on a dataset", __doc__.strip(), [
        "gankit train --recipe dcgan --data fashion-mnist --kimg 60 --out runs/fm",
        "gankit train --recipe nsgan --data ring8 --steps 5000 --set G.lr=1e-4 D.lr=1e-4",
        "gankit train --recipe dcgan --data folder:cells/ --set data.resolution=100 data.flip=true --steps 3000",
        "gankit train --out runs/fm --resume auto --kimg 120      # continue a run with a larger budget",
    ])
    p.add_argument("--recipe", help="a recipe name (see `gankit recipes`)")
    p.add_argument("--data", help=f"what to train on: {describe_specs()}")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=int, help="generator updates to train for")
    budget.add_argument("--kimg", type=float, help="thousands of images to train for (converted to steps)")
    p.add_argument("--batch", type=int, help="batch size (default: the recipe's)")
    p.add_argument("--seed", type=int, help="random seed (default 0)")
    p.add_argument("--out", help="run folder (default: runs/RECIPE-DATA, or the next free runs/RECIPE-DATA-N)")
    p.add_argument("--set", dest="sets", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                   help="override any config key (`gankit recipes --show NAME` lists them)")
    p.add_argument("--resume", metavar="auto|PATH",
                   help="continue from the newest checkpoint in --out (auto), from a checkpoint file, or from the "
                        "newest checkpoint of a run folder")
    add_strict(p)  # the same as --set data.strict=true
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_device(p)
    path_flags(p, ["--resume"])
    p.set_defaults(handler=run)


DIVERGED = 3  # exit code: a loss or weight turned NaN or infinite


def run(args) -> int:
    from gankit.train import distributed
    from gankit.train.checkpoint import NonFiniteError
    from gankit.train.run import open_run

    dist, device = distributed.init(args.device)  # under torchrun: this rank and its device
    log = print if dist.is_main else (lambda s: None)
    trainer = None
    try:
        sets = args.sets + (["data.strict=true"] if args.strict else [])
        trainer = open_run(recipe=args.recipe, data=args.data, sets=sets, steps=args.steps, kimg=args.kimg,
                           batch=args.batch, seed=args.seed, out=args.out, resume=args.resume, device=args.device,
                           progress_bar=not args.no_progress, log=log, dist=dist, torch_device=device)
        log(start_line(trainer, dist))
        for line in trainer.objective.notes():
            log(line)
        try:
            out = trainer.fit(stop_on_signal=True)
        except NonFiniteError as e:  # every rank sees it at the same step
            if dist.is_main:
                print(f"gankit train: error: {e}", file=sys.stderr)
            return DIVERGED
        if dist.is_main:
            print_outputs(trainer.run_dir, out)
        distributed.shutdown(together=True)
    finally:
        if trainer is not None:
            trainer.close()  # after an error before fit; a no-op after it
        distributed.shutdown()  # after an error; a no-op once the group is left
    return out.get("interrupted", 0)  # 130 after Ctrl-C, as the shell reports a stopped command


def start_line(trainer, dist) -> str:
    """What is trained on what, at which size, for how long, where, and how big its networks and checkpoints are."""
    from gankit.train import footprint

    info, cfg = trainer.feed.info, trainer.cfg
    images = info.channels - (getattr(trainer.feed, "mask", None) is not None)  # data.mask: one channel more
    mask = " and a content mask" if images != info.channels else ""
    shape = (f" at {info.resolution}x{info.resolution} ({images} channel{'s' * (images != 1)}{mask})"
             if info.kind == "image" else "")
    ranks = f", {dist.world} processes" if dist.active else ""
    return (f"training {cfg['recipe']} on {cfg['data']}{shape} for {cfg['steps']} steps (batch {cfg['batch']}{ranks}) "
            f"on {trainer.device} into {trainer.run_dir}; {footprint.summary(trainer)}")


def print_outputs(run_dir, out: dict) -> None:
    """What the run wrote, as ``fit`` returned it: only files that exist (a run stopped before its first log line
    has no statistics yet)."""
    from pathlib import Path

    print(f"{'stopped' if out.get('interrupted') else 'done'}: {run_dir}")
    for label, key in (("samples", "grid"), ("progress GIF", "gif"), ("loss curves", "plot"), ("checkpoint", "checkpoint"),
                       ("stats", "stats")):
        if out.get(key) and Path(out[key]).exists():
            board = out.get("tensorboard") if key == "stats" else None
            hint = f"  (tensorboard --logdir {board})" if board and Path(board).is_dir() else ""
            print(f"  {label:<13} {out[key]}{hint}")
