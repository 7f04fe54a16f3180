"""A network as a folder: ``config.json`` (its architecture, the sha256 of its weights, and any metadata) plus
``WEIGHTS.safetensors``. No pickles; loading runs no code from the folder and checks everything in it
(the hash, every value of the architecture, the memory it would take, finite weights) before a network is
built. Exports of generators and the feature classifiers share this format."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from gankit import nets
from gankit.atomic import check_replaceable, write_folder
from gankit.config import one_line
from gankit.memory import too_big
from gankit.nets.registry import NetConfigError, check_buildable

LARGEST_CONFIG = 16 << 20  # bytes: an architecture and its metadata take a few kB; a larger file is no config


class ModelFolderError(ValueError):
    """A model folder that cannot be used; the message names it."""


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def first_nonfinite(tensors: dict) -> str | None:
    """The name of the first floating-point tensor holding NaN or inf (a diverged network draws only those),
    or None; one read of a device value when all are finite, so a check on the GPU costs one sync."""
    named = [(name, t) for name, t in tensors.items() if isinstance(t, torch.Tensor) and t.is_floating_point()]
    if not named:
        return None
    flags = torch.stack([torch.isfinite(t).all() for _, t in named])
    if bool(flags.all()):
        return None
    return next(name for (name, _), ok in zip(named, flags.tolist()) if not ok)


def save(net: nn.Module, out_dir: Path, weights_name: str, meta: dict) -> Path:
    """Write the folder whole (a temp folder moved into place), replacing an older one of the same kind;
    weights with NaN or inf are refused, as loading would refuse them."""
    bad = first_nonfinite(net.state_dict())
    if bad:
        raise ModelFolderError(f"--out {out_dir}: not written: the network's {bad} holds NaN or inf values")

    def fill(tmp: Path) -> None:
        weights = tmp / f"{weights_name}.safetensors"
        save_file({k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}, str(weights))
        config = {"network": net.config, "sha256": sha256(weights), **meta}
        (tmp / "config.json").write_text(json.dumps(config, indent=2) + "\n")

    return write_folder(Path(out_dir), fill, marker=f"{weights_name}.safetensors")


def check_can_save(out_dir: Path, weights_name: str) -> None:
    """Refuse an ``out_dir`` that ``save`` would refuse, before the training that fills it."""
    check_replaceable(Path(out_dir), marker=f"{weights_name}.safetensors")


def load(folder: Path, weights_name: str, what: str, device="cpu", role: str = "G") -> tuple[nn.Module, dict]:
    """(network in eval mode, config dict); ``what`` names the folder's kind in error messages, ``role`` the
    net's letter for the ranges of its ``--set`` keys (``G.width``)."""
    folder = Path(folder)
    config_path, weights = folder / "config.json", folder / f"{weights_name}.safetensors"
    for p in (config_path, weights):
        if not p.is_file():
            raise ModelFolderError(f"{what} {folder}: missing {p.name}")
    config = read_config(config_path, what)
    if sha256(weights) != config["sha256"]:
        raise ModelFolderError(f"{weights}: sha256 does not match the one in {config_path}; the file is damaged or replaced")
    try:
        check_buildable(config["network"], role, "network.")
    except NetConfigError as e:
        raise ModelFolderError(f"{config_path}: {e}") from None
    why = too_big(weights.stat().st_size)
    if why:
        raise ModelFolderError(f"{weights}: reading it would take {why}")
    net = nets.from_config(config["network"])  # check_buildable built it once already, on the meta device
    try:
        state = load_file(str(weights))
    except Exception as e:  # noqa: BLE001 - safetensors raises its own error types
        raise ModelFolderError(f"{weights}: not a safetensors file ({one_line(e)})") from None
    bad = first_nonfinite(state)
    if bad:
        raise ModelFolderError(f"{weights}: {bad} holds NaN or inf values (its training diverged); this {what} "
                               "would compute only NaN")
    try:
        net.load_state_dict(state)
    except Exception as e:  # noqa: BLE001 - a mismatch of names or shapes
        raise ModelFolderError(f"{weights}: cannot load weights into the network {config_path.name} describes "
                               f"({one_line(e)})") from None
    return net.to(device).eval(), config


def read_config(config_path: Path, what: str) -> dict:
    """A model folder's ``config.json`` as a dict holding a ``network`` object and a ``sha256`` text: one
    error line naming the file for anything else (not JSON, too large, nested beyond reason, other types)."""
    if config_path.stat().st_size > LARGEST_CONFIG:
        raise ModelFolderError(f"{config_path}: {config_path.stat().st_size:,} bytes, too large to be a gankit "
                               f"{what} config")
    try:
        config = json.loads(config_path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise ModelFolderError(f"{config_path}: not a valid gankit {what} config ({one_line(e)})") from None
    if not isinstance(config, dict):
        raise ModelFolderError(f"{config_path}: not a valid gankit {what} config (a JSON object expected)")
    if not isinstance(config.get("network"), dict):
        raise ModelFolderError(f"{config_path}: not a valid gankit {what} config (no 'network' object)")
    if not isinstance(config.get("sha256"), str):
        raise ModelFolderError(f"{config_path}: not a valid gankit {what} config (no 'sha256' of its weights)")
    return config
