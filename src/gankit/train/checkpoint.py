"""Training checkpoints: everything needed to resume exactly, written atomically, loaded without unpickling code."""

from __future__ import annotations

import pickle
import re
from pathlib import Path
from typing import Callable

import torch

from gankit.atomic import write_file
from gankit.config import one_line
from gankit.model_folder import first_nonfinite  # noqa: F401 - the trainer's check is the loaders'

CKPT_PATTERN = re.compile(r"^ckpt-(\d+)\.pt$")


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message names the file."""


class NonFiniteError(RuntimeError):
    """Training produced NaN or infinity (in a loss or the weights); the message says which, when, and the
    last finite checkpoint."""


def save(state: dict, path: Path) -> None:
    """Write atomically; weights with NaN or infinity are refused, so every checkpoint on disk is one to resume."""
    bad = first_nonfinite(weights(state))
    if bad is not None:
        raise NonFiniteError(f"checkpoint {path}: not written, {bad} holds NaN or infinity")
    write_file(path, lambda tmp: torch.save(state, tmp))


def weights(state: dict) -> dict[str, torch.Tensor]:
    """Every tensor of the networks (parameters and buffers) and of G_ema, by a readable name."""
    named = {f"{net}.{key}": t for net, sd in state.get("nets", {}).items() for key, t in sd.items()}
    named.update({f"G_ema.{key}": t for key, t in (state.get("G_ema") or {}).items()})
    return {k: t for k, t in named.items() if isinstance(t, torch.Tensor) and t.is_floating_point()}


def load(path: Path, map_location="cpu") -> dict:
    """Load with ``weights_only=True``: tensors and plain containers only, so no code in the file can run."""
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


def load_newest(run_dir: Path, log: Callable[[str], None] = print) -> tuple[Path, dict]:
    """The newest checkpoint of a run that loads, with its state. A damaged one (a disk fault, a copy cut
    short) is skipped with a line naming it, so a run resumes from the last good one instead of stopping;
    the file is left where it is. Raises when none loads, listing each."""
    skipped = []
    for path in reversed(list_checkpoints(run_dir)):
        try:
            return path, load(path)
        except CheckpointError as e:
            skipped.append(str(e))
            log(f"skipping {path}: {_cause(e, path)}")
    if not skipped:
        raise CheckpointError(f"{Path(run_dir) / 'checkpoints'}: no checkpoint")
    raise CheckpointError(f"{Path(run_dir) / 'checkpoints'}: no checkpoint can be loaded ({'; '.join(skipped)})")


def _cause(error: CheckpointError, path: Path) -> str:
    text = str(error)
    prefix = f"checkpoint {path}: "
    return text[len(prefix):] if text.startswith(prefix) else text


def prune(run_dir: Path, keep: int) -> None:
    """Delete all but the newest ``keep`` checkpoints (0 keeps all)."""
    if keep <= 0:
        return
    for p in list_checkpoints(run_dir)[:-keep]:
        p.unlink(missing_ok=True)
