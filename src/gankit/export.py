"""Exported generators: ``config.json`` + ``generator.safetensors``, no pickles, loadable without training code."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

import gankit
from gankit.atomic import write_folder
from gankit import nets
from gankit.train import checkpoint as ckpt


class ExportError(ValueError):
    """An export folder that cannot be used; the message names it."""


def _generator_from_state(state: dict):
    """G (its moving average when the run kept one) rebuilt from a checkpoint's recorded config."""
    G = nets.from_config(state["net_configs"]["G"])
    G.load_state_dict(state["G_ema"] if state.get("G_ema") is not None else state["nets"]["G"])
    return G.eval()


def meta_from_state(state: dict) -> dict:
    cfg = state["config"]
    return {
        "gankit_version": state.get("gankit_version", "?"),
        "recipe": cfg["recipe"],
        "data": cfg["data"],
        "z_dim": cfg["z_dim"],
        "step": state["step"],
        "kimg": state["nimg"] / 1000,
        "ema": state.get("G_ema") is not None,
        **state.get("data_info", {}),
        "data_options": {k: v for k, v in cfg.items() if k.startswith("data.")},
        "generator": state["net_configs"]["G"],
    }


def export_checkpoint(checkpoint_path: Path, out_dir: Path) -> Path:
    """Write an export of a training checkpoint into ``out_dir``, replacing an older export only once complete."""
    state = ckpt.load(checkpoint_path)
    G = _generator_from_state(state)
    meta = meta_from_state(state)
    meta["exported_by"] = f"gankit {gankit.__version__}"

    def fill(tmp: Path) -> None:
        save_file({k: v.contiguous() for k, v in G.state_dict().items()}, str(tmp / "generator.safetensors"),
                  metadata={"format": "pt", "gankit": gankit.__version__})
        (tmp / "config.json").write_text(json.dumps(meta, indent=2) + "\n")

    return write_folder(Path(out_dir), fill, marker="generator.safetensors")


def load_export(export_dir: Path, device="cpu"):
    """(G in eval mode, meta dict) from an export folder."""
    export_dir = Path(export_dir)
    config, weights = export_dir / "config.json", export_dir / "generator.safetensors"
    for p in (config, weights):
        if not p.is_file():
            raise ExportError(f"--export {export_dir}: missing {p.name}; is this a folder written by `gankit export`?")
    try:
        meta = json.loads(config.read_text())
        G = nets.from_config(meta["generator"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        raise ExportError(f"{config}: not a valid gankit export config ({e})") from None
    try:
        G.load_state_dict(load_file(str(weights), device="cpu"))
    except Exception as e:  # safetensors raises its own error types
        raise ExportError(f"{weights}: cannot load weights ({e})") from None
    return G.to(device).eval(), meta


def load_checkpoint_generator(path: Path, device="cpu"):
    state = ckpt.load(path)
    return _generator_from_state(state).to(device), meta_from_state(state)


def load_any(*, run: str | None = None, checkpoint: str | None = None, export: str | None = None, device="cpu"):
    """The generator of a run folder (newest checkpoint), a checkpoint file or an export folder."""
    if export:
        return load_export(Path(export), device)
    if run:
        path = ckpt.latest(Path(run))
        if path is None:
            raise ExportError(f"--run {run}: no checkpoints in {Path(run) / 'checkpoints'}")
        return load_checkpoint_generator(path, device)
    if checkpoint:
        return load_checkpoint_generator(Path(checkpoint), device)
    raise ExportError("give one of --run DIR, --checkpoint PATH or --export DIR")
