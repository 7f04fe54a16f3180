"""Training checkpoints: everything needed to resume exactly, written atomically, loaded without unpickling code."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import torch

from gankit.atomic import write_file
from gankit.config import one_line

CKPT_PATTERN = re.compile(r"^ckpt-(\d+)\.pt$")


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message names the file."""


def save(state: dict, path: Path) -> None:
    write_file(path, lambda tmp: torch.save(state, tmp))


def load(path: Path, map_location="cpu") -> dict:
    """Load with ``weights_only=True``: tensors and plain containers only, so no code in the file can run."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path}: no such file")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(
            f"checkpoint {path}: refused, it holds objects other than tensors and plain values "
            f"(loading it could run code). gankit only loads weights: {first}") from None
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


def unusable(path: Path, error: Exception) -> CheckpointError:
    """A checkpoint that loaded but does not fit the networks its config describes (edited, or from another
    version): one line naming the file and the first mismatch."""
    return CheckpointError(f"checkpoint {path}: its weights do not fit the networks its config describes "
                           f"({one_line(error)})")


def checkpoint_path(run_dir: Path, step: int) -> Path:
    return Path(run_dir) / "checkpoints" / f"ckpt-{step:08d}.pt"


def list_checkpoints(run_dir: Path) -> list[Path]:
    """A run's checkpoints, oldest first."""
    folder = Path(run_dir) / "checkpoints"
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := CKPT_PATTERN.match(p.name))]
    return [p for _, p in sorted(found)]


def latest(run_dir: Path) -> Path | None:
    found = list_checkpoints(run_dir)
    return found[-1] if found else None


def prune(run_dir: Path, keep: int) -> None:
    """Delete all but the newest ``keep`` checkpoints (0 keeps all)."""
    if keep <= 0:
        return
    for p in list_checkpoints(run_dir)[:-keep]:
        p.unlink(missing_ok=True)
