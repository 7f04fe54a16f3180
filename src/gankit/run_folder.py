"""A run folder's layout and its read-only readers, in one place: the trainer writes through these names, and
every reader (``sample``, ``eval``, the studio's live view) reads through these functions. Readers run beside a
live ``gankit train``, so each tolerates what a writer leaves mid-way: a last ``stats.jsonl`` line cut short, a
checkpoint rotated away between listing and reading, a snapshot not yet renamed into place (temp files are
never listed). Nothing here imports training code.

    RUN/
      .lock                  the writer's flock (gankit.train.lock)
      stats.jsonl            one JSON object per log line
      samples/grid-NIMG.png  fixed-latent snapshot grids, named by images seen
      checkpoints/ckpt-STEP.pt, best.pt, best.json
      eval.json              the last ``gankit eval`` of the run
      tensorboard/, losses.png, progress.gif   written at the end
"""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path
from typing import Callable

from gankit.config import one_line

CHECKPOINTS, SAMPLES, STATS, LOCK = "checkpoints", "samples", "stats.jsonl", ".lock"
TENSORBOARD, LOSS_PLOT, PROGRESS_GIF, EVAL = "tensorboard", "losses.png", "progress.gif", "eval.json"
BEST, BEST_RECORD = f"{CHECKPOINTS}/best.pt", f"{CHECKPOINTS}/best.json"  # periodic evaluation's best so far
CKPT_PATTERN = re.compile(r"^ckpt-(\d+)\.pt$")
SNAPSHOT_PATTERN = re.compile(r"^grid-(\d+)\.png$")


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message names the file."""


def stats_path(run_dir: Path) -> Path:
    return Path(run_dir) / STATS


def snapshot_path(run_dir: Path, nimg: int) -> Path:
    return Path(run_dir) / SAMPLES / f"grid-{nimg:010d}.png"  # named by images seen, so names sort in time


def snapshots(run_dir: Path) -> list[Path]:
    """A run's snapshot grids, oldest first."""
    try:
        found = [(int(m.group(1)), p) for p in (Path(run_dir) / SAMPLES).iterdir()
                 if (m := SNAPSHOT_PATTERN.match(p.name))]
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [p for _, p in sorted(found)]


def snapshot_nimg(path: Path) -> int:
    """Images seen when a snapshot was drawn, from its name."""
    return int(SNAPSHOT_PATTERN.match(Path(path).name).group(1))


# Names that runs of earlier versions logged, and what they are called now: D's mean outputs were logged as
# ``D/real`` and ``D/fake`` though they are logits, and an autoencoder's objective as ``Loss/G``.
RENAMED = {"D/real": "Logits/D/real", "D/fake": "Logits/D/fake"}


def current_names(record: dict) -> dict:
    """A logged line with today's names, so that old runs plot like new ones."""
    record = {RENAMED.get(k, k): v for k, v in record.items()}
    if "Loss/recon" in record and "Loss/G" in record:  # an autoencoder's objective: the VAE's total, the AE's recon
        total = record.pop("Loss/G")
        if "Loss/KL" in record:
            record["Loss/total"] = total
    return record


def read_stats(run_dir: Path, start: int = 0) -> list[dict]:
    """Every logged line from line ``start`` on, under today's names (``current_names``); a last line cut short
    (a kill or a full disk mid-write, or a writer still at it) is left out rather than failing the reader."""
    try:
        text = stats_path(run_dir).read_text()
    except FileNotFoundError:
        return []
    lines = [line for line in text.splitlines() if line.strip()][start:]
    records = [json.loads(line) for line in lines[:-1]]
    try:
        records += [json.loads(line) for line in lines[-1:]]
    except ValueError:
        pass
    return [current_names(r) for r in records]


def load_checkpoint(path: Path, map_location="cpu") -> dict:
    """Load with ``weights_only=True``: tensors and plain containers only, so no code in the file can run."""
    import torch  # here: the layout is read by commands that never load a checkpoint

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path}: no such file")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        raise CheckpointError(
            f"checkpoint {path}: refused, it holds objects other than tensors and plain values "
            f"(loading it could run code). gankit only loads weights; found: {_found(e)}") from None
    except Exception as e:  # noqa: BLE001 - a text file, a truncated zip, ...: whatever it is, it is no checkpoint
        raise CheckpointError(f"checkpoint {path}: unreadable or truncated ({type(e).__name__}: {e})") from None
    missing = [k for k in ("nets", "config", "step", "nimg") if not isinstance(state, dict) or k not in state]
    if missing:
        raise CheckpointError(f"checkpoint {path}: not a gankit training checkpoint (no {', '.join(map(repr, missing))})")
    wrong = [k for k, kind in (("nets", dict), ("config", dict), ("step", int), ("nimg", int))
             if not isinstance(state[k], kind) or isinstance(state[k], bool)]
    if wrong:
        raise CheckpointError(f"checkpoint {path}: not a gankit training checkpoint "
                              f"({', '.join(map(repr, wrong))} of the wrong type)")
    if not isinstance(state["config"].get("recipe"), str):
        raise CheckpointError(f"checkpoint {path}: not a gankit training checkpoint (its config names no recipe)")
    return state


# torch's refusal advises loading with weights_only=False or allow-listing the object: what a user handed a
# crafted file must not do. Only what was found is quoted.
_ADVICE = re.compile(r"weights_only|safe_globals|Weights only load failed|trusted source|documentation", re.I)


def _found(error: Exception) -> str:
    """What the refused file holds, from torch's message, without its advice."""
    text = str(error)
    if m := re.search(r"GLOBAL\s+([\w.]+)", text):
        return f"a reference to {m.group(1)}"
    for line in text.splitlines():
        line = re.split(r"\s*Please use|\s*Check the", line.strip().removeprefix("WeightsUnpickler error:").strip())[0]
        if line and not _ADVICE.search(line):
            return line
    return "an object that is not a tensor or plain value"


def unusable(path: Path, error: Exception) -> CheckpointError:
    """A checkpoint that loaded but does not fit the networks its config describes (edited, or from another
    version): one line naming the file and the first mismatch."""
    return CheckpointError(f"checkpoint {path}: its weights do not fit the networks its config describes "
                           f"({one_line(error)})")


def checkpoint_path(run_dir: Path, step: int) -> Path:
    return Path(run_dir) / CHECKPOINTS / f"ckpt-{step:08d}.pt"


def list_checkpoints(run_dir: Path) -> list[Path]:
    """A run's checkpoints, oldest first."""
    folder = Path(run_dir) / CHECKPOINTS
    try:
        found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := CKPT_PATTERN.match(p.name))]
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [p for _, p in sorted(found)]


def latest(run_dir: Path) -> Path | None:
    found = list_checkpoints(run_dir)
    return found[-1] if found else None


def load_newest(run_dir: Path, log: Callable[[str], None] = print) -> tuple[Path, dict]:
    """The newest checkpoint of a run that loads, with its state. A damaged one (a disk fault, a copy cut
    short) is skipped with a line naming it, so a run resumes from the last good one instead of stopping;
    the file is left where it is. One rotated away by the trainer between listing and reading (a reader
    beside a live run) is passed over silently: a newer one replaced it. Raises when none loads, listing each."""
    skipped = []
    for path in reversed(list_checkpoints(run_dir)):
        try:
            return path, load_checkpoint(path)
        except CheckpointError as e:
            if not path.exists():  # rotated away while read
                continue
            skipped.append(str(e))
            log(f"skipping {path}: {_cause(e, path)}")
    if not skipped:
        raise CheckpointError(f"{Path(run_dir) / CHECKPOINTS}: no checkpoint")
    raise CheckpointError(f"{Path(run_dir) / CHECKPOINTS}: no checkpoint can be loaded ({'; '.join(skipped)})")


def _cause(error: CheckpointError, path: Path) -> str:
    text = str(error)
    prefix = f"checkpoint {path}: "
    return text[len(prefix):] if text.startswith(prefix) else text
