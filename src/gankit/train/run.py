"""From command-line choices to a ready Trainer: config resolution, data loading, run folders and resume."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Callable

from gankit import data as datasets
from gankit import recipes
from gankit.config import (MUTABLE_ON_RESUME, NEUTRAL_WHEN_ABSENT, TIED_TO_RUN_LENGTH, TRAINER_DEFAULTS, VALUE_WHEN_ABSENT,
                           ConfigError, RangeError, apply_overrides, as_text, changed_keys)
from gankit.atomic import check_writable
from gankit.train import checkpoint, distributed, footprint
from gankit.train.lock import LOCK_NAME, TEMP_PATTERN, RunLock, remove_stale_temp_files
from gankit.data.from_config import canvas as _canvas
from gankit.data.from_config import load_data  # noqa: F401 - where scripts found it before
from gankit.train.trainer import Trainer, resolve_device


def default_config(recipe: str, data: str) -> dict:
    """Trainer defaults, then the recipe's paper defaults, plus the recipe and data names."""
    return {**TRAINER_DEFAULTS, **recipes.get(recipe).defaults, "recipe": recipe, "data": data}


def apply_flags(cfg: dict, sets: list[str] | None = None, steps: int | None = None, kimg: float | None = None,
                batch: int | None = None, seed: int | None = None) -> dict:
    """Apply ``--set`` items and the shortcut flags; ``--kimg`` becomes a step count at the final batch size."""
    cfg = apply_overrides(cfg, list(sets or []))
    if batch is not None:
        cfg["batch"] = batch
    if seed is not None:
        cfg["seed"] = seed
    if steps is not None and kimg is not None:
        raise ConfigError("give --steps or --kimg, not both")
    if steps is not None:
        cfg["steps"], cfg["kimg"] = steps, 0.0
    if kimg is not None:
        if not (math.isfinite(kimg) and kimg > 0):
            raise ConfigError(f"--kimg {kimg}: give the thousands of training images, a number above 0")
        cfg["steps"], cfg["kimg"] = max(1, math.ceil(kimg * 1000 / cfg["batch"])), float(kimg)
    recipes.check_config(cfg, list(sets or []))  # before any data is read
    return cfg


def _load_at_chosen_size(cfg: dict, log: Callable[[str], None], new_run: bool = True):
    """Load data given no ``data.resolution``: for a new run, an image folder at a size chosen from its images; then
    the networks' nearest size. Each choice is said, and recorded in ``cfg`` (the run's config.json), so that a
    resume, eval or export reads the data at the size the run trained at, whatever files the folder gains later.
    A run resumed with 0 recorded trained before sizes were chosen: at the folder's own size, as it is read again."""
    chosen, note = (datasets.chosen_resolution(cfg["data"], cfg["data.size_policy"], _canvas(cfg["data.canvas"]))
                    if new_run else (None, ""))
    if chosen:
        cfg["data.resolution"] = chosen
        log(note)
    dataset = load_data(cfg)
    if isinstance(dataset, datasets.ImageData):
        resolution, note = recipes.fit_resolution(cfg, dataset.resolution)
        if note:
            cfg["data.resolution"], dataset = resolution, load_data({**cfg, "data.resolution": resolution})
            log(note)
    return dataset


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", Path(text.rstrip("/")).name if "/" in text else text).strip("-") or "run"


def is_run_folder(path: Path) -> bool:
    """A folder ``gankit train`` wrote: its config.json names a recipe and data."""
    try:
        config = json.loads((Path(path) / "config.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and "recipe" in config and "data" in config


def left_by_a_killed_run(path: Path) -> bool:
    """The lock or a temp file of a run killed before it wrote its config: its folder is still a run's."""
    return path.name == LOCK_NAME or bool(TEMP_PATTERN.match(path.name))


def fresh_run_dir(base: Path) -> Path:
    """``base`` if it holds no checkpoints yet, else the first free ``base-N``: an earlier run is never overwritten,
    and one still starting (its lock taken, no checkpoint yet) is not joined."""
    candidate, n = base, 1
    while checkpoint.list_checkpoints(candidate) or (candidate / LOCK_NAME).exists():
        candidate = base.with_name(f"{base.name}-{n}")
        n += 1
    return candidate


def open_run(*, recipe: str | None, data: str | None, sets: list[str] | None = None, steps: int | None = None,
             kimg: float | None = None, batch: int | None = None, seed: int | None = None, out: str | None = None,
             resume: str | None = None, device: str = "auto", progress_bar: bool = True,
             log: Callable[[str], None] = print, callbacks=None, dist: distributed.Dist = distributed.SINGLE,
             torch_device=None) -> Trainer:
    """Build the Trainer for ``gankit train``: a new run, or the exact continuation of a checkpoint."""
    state, held = None, []

    def hold(folder: Path) -> None:
        """Rank 0 locks the run folder before a checkpoint is read from it or anything is written, then clears
        what killed writes left there (only now: no other process can be writing it)."""
        if dist.is_main and not held:
            held.append(RunLock(folder, log).acquire())
            remove_stale_temp_files(folder, log)

    if resume:
        if resume == "auto":
            if out is None and (recipe is None or data is None):
                raise ConfigError("--resume auto needs --out RUN_DIR (or --recipe and --data to find the default run folder)")
            run_dir = Path(out) if out else Path("runs") / f"{recipe}-{slug(data)}"
            if not checkpoint.list_checkpoints(run_dir) and (recipe is None or data is None):
                raise ConfigError(f"--resume auto: no checkpoint in {run_dir / 'checkpoints'}, and no --recipe/--data to start one")
            if checkpoint.list_checkpoints(run_dir):
                hold(run_dir)
                path, state = checkpoint.load_newest(run_dir, log)
        elif Path(resume).is_dir():  # a run folder: its newest checkpoint, as --run takes it elsewhere
            run_dir = Path(out) if out else Path(resume)
            if not checkpoint.list_checkpoints(Path(resume)):
                raise ConfigError(f"--resume {resume}: a folder without checkpoints in {Path(resume) / 'checkpoints'}")
            hold(run_dir)
            path, state = checkpoint.load_newest(Path(resume), log)
        else:
            path = Path(resume)
            run_dir = Path(out) if out else path.parent.parent
            state = checkpoint.load(path)  # an explicit file: damaged means an error, never another file
            hold(run_dir)
    try:
        return _build(state, held, hold, run_dir if state is not None else None, path if state is not None else None,
                      recipe=recipe, data=data, sets=sets, steps=steps, kimg=kimg, batch=batch, seed=seed, out=out,
                      resume=resume, device=device, progress_bar=progress_bar, log=log, callbacks=callbacks,
                      dist=dist, torch_device=torch_device)
    except BaseException:
        for lock in held:
            lock.release()
        raise


def _build(state, held, hold, run_dir, path, *, recipe, data, sets, steps, kimg, batch, seed, out, resume, device,
           progress_bar, log, callbacks, dist, torch_device) -> Trainer:
    if state is not None:
        log(f"resuming from {path} (step {state['step']}, {state['nimg'] / 1000:.1f} kimg)")
        if state["config"].get("recipe") not in recipes.RECIPES:
            raise ConfigError(f"checkpoint {path}: trained with recipe {state['config'].get('recipe')!r}, which this version "
                              f"of gankit does not have; known recipes: {', '.join(recipes.RECIPES)}")
        defaults = default_config(state["config"]["recipe"], state["config"]["data"])
        old = {**{k: defaults[k] for k in NEUTRAL_WHEN_ABSENT if k in defaults},
               **{k: v for k, v in VALUE_WHEN_ABSENT.items() if k in defaults}, **state["config"]}
        for flag, given, key in (("--recipe", recipe, "recipe"), ("--data", data, "data")):
            if given is not None and given != old[key]:
                raise ConfigError(f"{flag} {given}: the checkpoint was trained with {old[key]!r}; "
                                  f"start a new run (another --out) to change it")
        # settings added to gankit after the checkpoint was written, and free to change, take their defaults
        added = {k: TRAINER_DEFAULTS[k] for k in MUTABLE_ON_RESUME if k in TRAINER_DEFAULTS and k not in old}
        try:
            cfg = apply_flags({**old, **added}, sets, steps, kimg, batch, seed)
        except RangeError as e:
            if e.key not in old or old[e.key] != e.value:
                raise  # the user's own value
            raise ConfigError(f"checkpoint {path}: holds {e.key}={as_text(e.value)}, which this version of gankit refuses: "
                              f"{e.why}; start a new run") from None
        refused = {k: v for k, v in changed_keys(old, cfg).items() if k not in MUTABLE_ON_RESUME}
        tied = [f"{k}={cfg[k]}" for k, off in TIED_TO_RUN_LENGTH.items() if cfg.get(k, off) != off]
        if tied and cfg["steps"] != old["steps"]:
            raise ConfigError(f"--steps/--kimg on resume: {', '.join(tied)} follows the share of the run done, so it "
                              f"is tied to the run's length ({old['steps']} steps); a new length would move it mid-run. "
                              f"Resume with the same budget, or start a new run")
        if refused:
            lines = "; ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in refused.items())
            raise ConfigError(f"refusing to resume with changed hyper-parameters ({lines}). Only these may change: "
                              f"{', '.join(sorted(MUTABLE_ON_RESUME))}. Start a new run to change the others.")
    else:
        if recipe is None or data is None:
            raise ConfigError("gankit train needs --recipe NAME and --data SPEC (or --resume)")
        cfg = apply_flags(default_config(recipe, data), sets, steps, kimg, batch, seed)
        run_dir = Path(out) if out else fresh_run_dir(Path("runs") / f"{recipe}-{slug(data)}")
        if out and checkpoint.list_checkpoints(run_dir) and not resume:
            raise ConfigError(f"--out {run_dir}: already holds a run's checkpoints; add --resume auto to continue it, "
                              f"or choose another --out")
        if out and not is_run_folder(run_dir) and run_dir.is_dir() and any(not left_by_a_killed_run(p)
                                                                           for p in run_dir.iterdir()):
            raise FileExistsError(f"--out {run_dir}: exists and is not a gankit run folder (no config.json naming a "
                                  f"recipe); refusing to write into it")
        check_writable(run_dir)
        hold(run_dir)
    dataset = _load_at_chosen_size(cfg, log, new_run=state is None) if not cfg["data.resolution"] else load_data(cfg)
    if isinstance(dataset, datasets.ImageData):
        for line in dataset.notes + dataset.skipped_report("--strict (--set data.strict=true)"):
            log(line)
        if state is None:  # the canvas and pad value chosen from the images, kept so every later read matches
            cfg.update(dataset.chosen)
    trainer = Trainer(cfg, dataset, run_dir, device=torch_device or resolve_device(device), progress_bar=progress_bar,
                      log=log, callbacks=callbacks, dist=dist, lock=held[0] if held else None)
    footprint.check_fits(trainer)  # before the first step, and before a checkpoint's states are loaded
    if state is not None:
        try:
            trainer.load_state_dict(state)
        except (KeyError, TypeError, ValueError, RuntimeError) as e:
            raise checkpoint.unusable(path, e) from None
    return trainer
