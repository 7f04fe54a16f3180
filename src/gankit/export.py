"""Exported generators: ``config.json`` + ``generator.safetensors``, no pickles, loadable without training code."""

from __future__ import annotations

from pathlib import Path

import gankit
from gankit import model_folder, nets
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
    }


def _from_checkpoint(path: Path):
    """(G, meta) of a training checkpoint; one that does not describe its generator is a CheckpointError."""
    state = ckpt.load(path)
    try:
        return _generator_from_state(state), meta_from_state(state)
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise ckpt.unusable(path, e) from None


def export_checkpoint(checkpoint_path: Path, out_dir: Path) -> Path:
    """Write an export of a training checkpoint into ``out_dir``, replacing an older export only once complete."""
    G, meta = _from_checkpoint(checkpoint_path)
    meta["exported_by"] = f"gankit {gankit.__version__}"
    return model_folder.save(G, Path(out_dir), "generator", meta)


def load_export(export_dir: Path, device="cpu"):
    """(G in eval mode, meta dict) from an export folder; the weights must match their recorded sha256."""
    try:
        G, meta = model_folder.load(Path(export_dir), "generator", "export", device)
    except model_folder.ModelFolderError as e:
        raise ExportError(f"--export: {e}") from None
    z_dim = meta.get("z_dim")
    if not isinstance(z_dim, int) or isinstance(z_dim, bool) or z_dim != G.config.get("z_dim", z_dim) or z_dim < 1:
        raise ExportError(f"--export: {Path(export_dir) / 'config.json'}: z_dim {z_dim!r} does not match the "
                          f"network's ({G.config.get('z_dim')}); the file was edited")
    if "kind" in meta and meta["kind"] not in ("image", "points"):
        raise ExportError(f"--export: {Path(export_dir) / 'config.json'}: kind {meta.get('kind')!r} is neither "
                          "'image' nor 'points'; the file was edited")
    return G, meta


def load_checkpoint_generator(path: Path, device="cpu"):
    G, meta = _from_checkpoint(path)
    return G.to(device), {**meta, "network": G.config}


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
