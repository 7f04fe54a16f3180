"""Training checkpoints: everything needed to resume exactly, written atomically; read through ``gankit.run_folder``,
without unpickling code."""

from __future__ import annotations

from pathlib import Path

import torch

from gankit.atomic import write_file
from gankit.model_folder import first_nonfinite  # noqa: F401 - the trainer's check is the loaders'
# Reading belongs to the run folder's layout, which readers share without importing training code.
from gankit.run_folder import (CKPT_PATTERN, CheckpointError, checkpoint_path, latest,  # noqa: F401
                               list_checkpoints, load_newest, unusable)
from gankit.run_folder import load_checkpoint as load  # noqa: F401


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


def prune(run_dir: Path, keep: int) -> None:
    """Delete all but the newest ``keep`` checkpoints (0 keeps all)."""
    if keep <= 0:
        return
    for p in list_checkpoints(run_dir)[:-keep]:
        p.unlink(missing_ok=True)
