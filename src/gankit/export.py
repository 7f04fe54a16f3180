"""Exported generators: ``config.json`` + ``generator.safetensors``, no pickles, loadable without training code."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import torch

import gankit
from gankit import model_folder, nets
from gankit.config import TRAINER_RANGES, RangeError, check_ranges
from gankit.nets.registry import LARGEST, LONGEST, NetConfigError, brief, check_buildable
from gankit.train import checkpoint as ckpt


class ExportError(ValueError):
    """An export folder that cannot be used; the message names it."""


def _generator_from_state(state: dict, path: Path):
    """G (its moving average when the run kept one) rebuilt from a checkpoint's recorded config, which is
    checked first as an export's is: the same ranges, the same memory bound, finite weights."""
    try:
        check_ranges(state["config"], TRAINER_RANGES)
        check_buildable(state["net_configs"]["G"], "G", "net_configs.G.")
    except RangeError as e:
        raise ckpt.CheckpointError(f"checkpoint {path}: config {e.key} {e.value!r}: {e.why}") from None
    except NetConfigError as e:
        raise ckpt.CheckpointError(f"checkpoint {path}: {e}") from None
    weights = state["G_ema"] if state.get("G_ema") is not None else state["nets"]["G"]
    bad = model_folder.first_nonfinite(weights) if isinstance(weights, dict) else None
    if bad:
        raise ckpt.CheckpointError(f"checkpoint {path}: the generator's {bad} holds NaN or inf values (the run "
                                   "diverged); it cannot draw anything")
    G = nets.from_config(state["net_configs"]["G"])
    G.load_state_dict(weights)
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
        "data_options": {k: v for k, v in cfg.items() if isinstance(k, str) and k.startswith("data.")},
    }


def _from_checkpoint(path: Path, state: dict | None = None):
    """(G, meta) of a training checkpoint (``state``: already loaded from ``path``); one that does not describe
    its generator is a CheckpointError."""
    state = ckpt.load(path) if state is None else state
    try:
        G, meta = _generator_from_state(state, path), meta_from_state(state)
    except ckpt.CheckpointError:
        raise
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as e:
        raise ckpt.unusable(path, e) from None
    check_meta(meta, G, f"checkpoint {path}")
    return G, meta


def newest_checkpoint(run: str) -> tuple[Path, dict]:
    """The newest checkpoint of run folder ``run`` that loads, with its state: a damaged newest one (a copy cut
    short, a disk fault) is passed over with a warning naming it, as ``gankit train --resume`` does."""
    try:
        return ckpt.load_newest(Path(run), log=lambda line: warnings.warn(line, stacklevel=3))
    except ckpt.CheckpointError as e:
        raise ExportError(f"--run {run}: {e}") from None


def export_checkpoint(checkpoint_path: Path, out_dir: Path, state: dict | None = None) -> Path:
    """Write an export of a training checkpoint into ``out_dir``, replacing an older export only once complete."""
    G, meta = _from_checkpoint(checkpoint_path, state)
    meta["exported_by"] = f"gankit {gankit.__version__}"
    return model_folder.save(G, Path(out_dir), "generator", meta)


def load_export(export_dir: Path, device="cpu"):
    """(G in eval mode, meta dict) from an export folder; the weights must match their recorded sha256."""
    try:
        G, meta = model_folder.load(Path(export_dir), "generator", "export", device)
    except model_folder.ModelFolderError as e:
        raise ExportError(f"--export: {e}") from None
    check_meta(meta, G, f"--export: {Path(export_dir) / 'config.json'}", ExportError)
    return G, meta


def check_meta(meta: dict, G, shown: str, error=ckpt.CheckpointError) -> None:
    """Refuse what a model's record says about it (an export's config.json or a checkpoint's) where it does not
    fit the network or is out of any sensible range: commands size their work by ``z_dim`` and ``shape``.
    ``shown`` starts each message (the file)."""
    def refuse(key, why):
        raise error(f"{shown}: {key} {brief(meta.get(key))} {why}; the file was edited")

    z_dim = meta.get("z_dim")
    if not isinstance(z_dim, int) or isinstance(z_dim, bool) or z_dim != G.config.get("z_dim", z_dim) or z_dim < 1:
        refuse("z_dim", f"does not match the network's ({G.config.get('z_dim')})")
    if "kind" in meta and meta["kind"] not in ("image", "points"):
        refuse("kind", "is neither 'image' nor 'points'")
    shape = meta.get("shape")
    if shape is not None:
        if not isinstance(shape, list) or not 1 <= len(shape) <= 3 or \
                any(isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= LARGEST for v in shape):
            refuse("shape", "is not 1 to 3 whole numbers of at least 1 (channels, height, width)")
        try:
            made = output_shape(G, z_dim)
        except Exception as e:  # noqa: BLE001 - whatever stops it, the network cannot draw
            raise error(f"{shown}: the network it describes does not run ({brief(str(e), 200)})") from None
        if made != shape:
            refuse("shape", f"does not match what the network makes ({made})")
    names = meta.get("class_names")
    if names is not None and (not isinstance(names, list) or len(names) > LONGEST or
                              any(not isinstance(n, str) or len(n) > LONGEST for n in names)):
        refuse("class_names", f"is not a list of at most {LONGEST} short names")
    for key in ("recipe", "data"):
        if key in meta and not isinstance(meta[key], str):
            refuse(key, "is not a name")
    for key in ("step", "kimg"):
        value = meta.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or
                                  not math.isfinite(value) or value < 0):
            refuse(key, "is not a number of at least 0")
    options = meta.get("data_options", {})
    if not isinstance(options, dict):
        refuse("data_options", "is not an object of data.* settings")
    try:
        check_ranges(options, TRAINER_RANGES)
    except RangeError as e:
        raise error(f"{shown}: data_options {e.key} {brief(e.value)}: {e.why}; the file was edited") from None


def output_shape(G, z_dim: int) -> list:
    """The shape of one sample of ``G``: one forward pass of a zero latent (class 0), which also shows the
    network runs at all."""
    device = next(G.parameters()).device
    z = torch.zeros(1, z_dim, device=device)
    with torch.no_grad():
        x = G(z, torch.zeros(1, dtype=torch.long, device=device)) if getattr(G, "c_dim", 0) else G(z)
    return list(x.shape[1:])


def load_checkpoint_generator(path: Path, device="cpu", state: dict | None = None):
    G, meta = _from_checkpoint(path, state)
    return G.to(device), {**meta, "network": G.config}


def load_any(*, run: str | None = None, checkpoint: str | None = None, export: str | None = None, device="cpu"):
    """The generator of a run folder (newest checkpoint), a checkpoint file or an export folder."""
    if export:
        return load_export(Path(export), device)
    if run:
        path, state = newest_checkpoint(run)
        return load_checkpoint_generator(path, device, state)
    if checkpoint:
        return load_checkpoint_generator(Path(checkpoint), device)
    raise ExportError("give one of --run DIR, --checkpoint PATH or --export DIR")
