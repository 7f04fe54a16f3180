"""Capture and restore every global RNG, so a resumed run draws the same numbers as an unbroken one."""

from __future__ import annotations

import random

import numpy as np
import torch


def capture() -> dict:
    """RNG states as tensors and plain Python values only (loadable with ``weights_only=True``)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    py_version, py_state, py_gauss = random.getstate()
    state = {
        "python": {"version": py_version, "state": torch.tensor(py_state, dtype=torch.int64), "gauss": py_gauss},
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "gauss": float(gauss)},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore(state: dict) -> None:
    py = state["python"]
    random.setstate((py["version"], tuple(py["state"].tolist()), py["gauss"]))
    npy = state["numpy"]
    np.random.set_state((npy["kind"], npy["keys"].numpy().astype(np.uint32), npy["pos"], npy["has_gauss"], npy["gauss"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])


def restore_generator(generator: torch.Generator, state: torch.Tensor, fallback_seed: int) -> bool:
    """Give ``generator`` a saved state; False, and ``fallback_seed`` instead, when the state was saved by a
    generator of another kind of device (CPU and CUDA generators keep states of different sizes)."""
    if state.numel() != generator.get_state().numel():
        generator.manual_seed(fallback_seed)
        return False
    generator.set_state(state)
    return True


def seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
