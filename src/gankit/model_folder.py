"""A network as a folder: ``config.json`` (its architecture, the sha256 of its weights, and any metadata) plus
``WEIGHTS.safetensors``. No pickles; loading checks the hash and runs no code from the folder. Exports of
generators and the feature classifiers share this format."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from safetensors.torch import load_file, save_file
from torch import nn

from gankit import nets
from gankit.atomic import check_replaceable, write_folder
from gankit.config import one_line


class ModelFolderError(ValueError):
    """A model folder that cannot be used; the message names it."""


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save(net: nn.Module, out_dir: Path, weights_name: str, meta: dict) -> Path:
    """Write the folder whole (a temp folder moved into place), replacing an older one of the same kind."""

    def fill(tmp: Path) -> None:
        weights = tmp / f"{weights_name}.safetensors"
        save_file({k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}, str(weights))
        config = {"network": net.config, "sha256": sha256(weights), **meta}
        (tmp / "config.json").write_text(json.dumps(config, indent=2) + "\n")

    return write_folder(Path(out_dir), fill, marker=f"{weights_name}.safetensors")


def check_can_save(out_dir: Path, weights_name: str) -> None:
    """Refuse an ``out_dir`` that ``save`` would refuse, before the training that fills it."""
    check_replaceable(Path(out_dir), marker=f"{weights_name}.safetensors")


def load(folder: Path, weights_name: str, what: str, device="cpu") -> tuple[nn.Module, dict]:
    """(network in eval mode, config dict); ``what`` names the folder's kind in error messages."""
    folder = Path(folder)
    config_path, weights = folder / "config.json", folder / f"{weights_name}.safetensors"
    for p in (config_path, weights):
        if not p.is_file():
            raise ModelFolderError(f"{what} {folder}: missing {p.name}")
    try:
        config = json.loads(config_path.read_text())
        net = nets.from_config(config["network"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        raise ModelFolderError(f"{config_path}: not a valid gankit {what} config ({e})") from None
    if sha256(weights) != config.get("sha256"):
        raise ModelFolderError(f"{weights}: sha256 does not match the one in {config_path}; the file is damaged or replaced")
    try:
        net.load_state_dict(load_file(str(weights)))
    except Exception as e:  # safetensors raises its own error types
        raise ModelFolderError(f"{weights}: cannot load weights into the network {config_path.name} describes "
                               f"({one_line(e)})") from None
    return net.to(device).eval(), config
