"""Inference apart from training: a generator loaded from a run folder, a checkpoint or an export, which knows
how to be sampled (latent size, classes and their names, which net: G or its moving average), and one batched
render that every command and the studio draw through. Nothing here imports the trainer or the recipes, so a
page or script that only samples loads in a fraction of the time and cannot be broken by training code."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import torch

from gankit import model_folder, nets
from gankit.config import TRAINER_RANGES, ConfigError, RangeError, check_ranges
from gankit.content_mask import compose, padding_level
from gankit.nets.registry import LARGEST, LONGEST, NetConfigError, brief, check_buildable
from gankit.run_folder import CheckpointError, load_checkpoint, load_newest, unusable

NETS = ("auto", "ema", "G")  # which network of a checkpoint to sample: its moving average when kept, or G itself
MASK_FLAG = "gankit_mask_channel"  # set on a generator network whose last output channel is the content mask


def mark_mask(G, mask: bool) -> None:
    """Record on generator network ``G`` whether its last output channel is the content mask of a run trained
    with ``data.mask`` (+1 on the image's footprint, -1 on the padding), so that ``render`` hands out image
    channels only, wherever the images are shown or measured. A plain attribute: no weights change, and copies
    (the moving average) keep it."""
    setattr(G, MASK_FLAG, bool(mask))


def compose_as_trained(G, mask: bool, pad_value) -> None:
    """Make a loaded ``G`` trained with ``data.mask`` draw as it did in training: its image the padding level
    ``pad_value`` (the run's ``data.pad_value``, checked first) wherever its mask is -1 (``content_mask``)."""
    if mask:
        compose(G, padding_level(pad_value))


def has_mask(G) -> bool:
    """Whether ``G``'s last output channel is its content mask (``mark_mask``)."""
    return bool(getattr(G, MASK_FLAG, False))


def latent_size(G, default: int | None = None) -> int | None:
    """The length of the latent vector ``G`` takes: a composite generator's ``latent_dim`` (its own noise or
    conditioning draws after the latent proper), else the ``z_dim`` it was built with, else ``default``."""
    size = getattr(G, "latent_dim", None)
    if isinstance(size, int) and not isinstance(size, bool):
        return size
    config = getattr(G, "config", None)
    return config.get("z_dim", default) if isinstance(config, dict) else default


class ExportError(ValueError):
    """An export folder that cannot be used; the message names it."""


def _generator_from_state(state: dict, path: Path, net: str = "auto"):
    """G (its moving average when the run kept one, unless ``net`` says "G") rebuilt from a checkpoint's recorded
    config, which is checked first as an export's is: the same ranges, the same memory bound, finite weights."""
    sampler = state.get("sampler_net", "G")  # the network that draws: G, or a staged recipe's composite
    if not isinstance(sampler, str) or sampler not in state["net_configs"] or sampler not in state["nets"]:
        raise CheckpointError(f"checkpoint {path}: sampler_net {brief(sampler)} names none of its networks")
    try:
        check_ranges(state["config"], TRAINER_RANGES)
        check_buildable(state["net_configs"][sampler], sampler, f"net_configs.{sampler}.")
    except RangeError as e:
        raise CheckpointError(f"checkpoint {path}: config {e.key} {e.value!r}: {e.why}") from None
    except NetConfigError as e:
        raise CheckpointError(f"checkpoint {path}: {e}") from None
    if net == "ema" and state.get("G_ema") is None:
        raise CheckpointError(f"checkpoint {path}: the run kept no moving average of G (ema.beta=0); sample G")
    weights = state["G_ema"] if state.get("G_ema") is not None and net != "G" else state["nets"][sampler]
    bad = model_folder.first_nonfinite(weights) if isinstance(weights, dict) else None
    if bad:
        raise CheckpointError(f"checkpoint {path}: the generator's {bad} holds NaN or inf values (the run "
                                   "diverged); it cannot draw anything")
    G = nets.from_config(state["net_configs"][sampler])
    G.load_state_dict(weights)
    return G.eval()


def meta_from_state(state: dict) -> dict:
    """What a checkpoint says about its generator. ``shape`` is one image's (channels, height, width); with
    ``mask`` true the network makes one channel more, the content mask, last."""
    cfg = state["config"]
    info = dict(state.get("data_info", {}))
    mask = cfg.get("data.mask", False) is True and info.get("kind") == "image"
    if mask and isinstance(info.get("shape"), list) and info["shape"]:
        info["shape"] = [info["shape"][0] - 1, *info["shape"][1:]]  # the data's shape: the networks' has the mask
    return {
        "gankit_version": state.get("gankit_version", "?"),
        "recipe": cfg["recipe"],
        "data": cfg["data"],
        "z_dim": cfg["z_dim"],
        "step": state["step"],
        "kimg": state["nimg"] / 1000,
        "ema": state.get("G_ema") is not None,
        **({"stage": state["stage"]} if isinstance(state.get("stage"), str) else {}),
        **info,
        "mask": mask,
        "data_options": {k: v for k, v in cfg.items() if isinstance(k, str) and k.startswith("data.")},
    }


def _from_checkpoint(path: Path, state: dict | None = None, net: str = "auto"):
    """(G, meta) of a training checkpoint (``state``: already loaded from ``path``); one that does not describe
    its generator is a CheckpointError."""
    state = load_checkpoint(path) if state is None else state
    try:
        G, meta = _generator_from_state(state, path, net), meta_from_state(state)
        meta["ema"] = meta["ema"] and net != "G"
        meta["z_dim"] = latent_size(G, meta["z_dim"])  # a composite's latent holds its own draws too
        mark_mask(G, meta["mask"])
    except CheckpointError:
        raise
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as e:
        raise unusable(path, e) from None
    check_meta(meta, G, f"checkpoint {path}")
    compose_as_trained(G, meta["mask"], meta["data_options"].get("data.pad_value", -1))
    return G, meta


def newest_checkpoint(run: str) -> tuple[Path, dict]:
    """The newest checkpoint of run folder ``run`` that loads, with its state: a damaged newest one (a copy cut
    short, a disk fault) is passed over with a warning naming it, as ``gankit train --resume`` does."""
    try:
        return load_newest(Path(run), log=lambda line: warnings.warn(line, stacklevel=3))
    except CheckpointError as e:
        raise ExportError(f"--run {run}: {e}") from None


def load_export(export_dir: Path, device="cpu"):
    """(G in eval mode, meta dict) from an export folder; the weights must match their recorded sha256."""
    try:
        G, meta = model_folder.load(Path(export_dir), "generator", "export", device)
    except model_folder.ModelFolderError as e:
        raise ExportError(f"--export: {e}") from None
    mark_mask(G, meta.get("mask") is True)  # exports written before the mask channel existed have none
    check_meta(meta, G, f"--export: {Path(export_dir) / 'config.json'}", ExportError)
    compose_as_trained(G, meta.get("mask") is True, meta.get("data_options", {}).get("data.pad_value", -1))
    return G, meta


def check_meta(meta: dict, G, shown: str, error=CheckpointError) -> None:
    """Refuse what a model's record says about it (an export's config.json or a checkpoint's) where it does not
    fit the network or is out of any sensible range: commands size their work by ``z_dim`` and ``shape``.
    ``shown`` starts each message (the file)."""
    def refuse(key, why):
        raise error(f"{shown}: {key} {brief(meta.get(key))} {why}; the file was edited")

    z_dim, takes = meta.get("z_dim"), latent_size(G)
    if not isinstance(z_dim, int) or isinstance(z_dim, bool) or z_dim != (takes or z_dim) or z_dim < 1:
        refuse("z_dim", f"does not match the network's ({takes})")
    if "kind" in meta and meta["kind"] not in ("image", "points"):
        refuse("kind", "is neither 'image' nor 'points'")
    if "stage" in meta and (not isinstance(meta["stage"], str) or len(meta["stage"]) > LONGEST):
        refuse("stage", "is not a short name")
    if "mask" in meta and (not isinstance(meta["mask"], bool) or meta["mask"] and meta.get("kind") != "image"):
        refuse("mask", "is not true (an image model's last channel is its content mask) or false")
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
    """The shape of one sample of ``G`` as ``render`` hands it out (image channels, without a content mask): one
    forward pass of a zero latent (class 0), which also shows the network runs at all."""
    c = torch.zeros(1, dtype=torch.long) if getattr(G, "c_dim", 0) else None
    return list(render(G, torch.zeros(1, z_dim), c).shape[1:])


def load_checkpoint_generator(path: Path, device="cpu", state: dict | None = None, net: str = "auto"):
    G, meta = _from_checkpoint(path, state, net)
    return G.to(device), {**meta, "network": G.config}


def load_any(*, run: str | None = None, checkpoint: str | None = None, export: str | None = None, device="cpu",
             net: str = "auto"):
    """(G in eval mode, meta) of a run folder (newest checkpoint), a checkpoint file or an export folder."""
    if net not in NETS:
        raise ConfigError(f"--net {net}: use one of {', '.join(NETS)}")
    if export:
        if net == "G":
            raise ConfigError("--net G: an export holds one generator (the moving average when the run kept one)")
        return load_export(Path(export), device)
    if run:
        path, state = newest_checkpoint(run)
        G, meta = load_checkpoint_generator(path, device, state, net)
        return G, {**meta, "checkpoint": str(path)}
    if checkpoint:
        return load_checkpoint_generator(Path(checkpoint), device, net=net)
    raise ExportError("give one of --run DIR, --checkpoint PATH or --export DIR")


def resolve_device(name: str) -> torch.device:
    """``auto`` is cuda, else mps, else cpu; a device asked for by name that is not here is refused."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda: no CUDA device is available here; use --device cpu or auto")
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ConfigError("--device mps: no Apple GPU (MPS) is available here; use --device cpu or auto")
    return device


@torch.no_grad()
def render(G, z: torch.Tensor, c: torch.Tensor | None = None, batch: int = 256, device=None, done=None,
           with_mask: bool = False) -> torch.Tensor:
    """G's outputs for latents ``z`` [N, z_dim] (and labels ``c`` [N] for a conditional G), ``batch`` at a time,
    as float32 on the CPU: the one place every command and the studio turn latents into images, so a model is
    drawn the same way everywhere. ``done(k)`` is told after each batch (a progress bar).

    A generator trained with ``data.mask`` (``has_mask``) also makes a content mask, its last channel: left out,
    so that whatever shows or measures images sees image channels only; ``with_mask`` keeps it (see ``content``).
    """
    device = device if device is not None else next(G.parameters()).device
    conditional = getattr(G, "c_dim", 0) > 0
    if conditional and c is None:
        raise ConfigError("this generator is class-conditional: give a class for every latent")
    keep = slice(None) if with_mask or not has_mask(G) else slice(0, -1)
    out = []
    for i in range(0, len(z), batch):
        zi = z[i:i + batch].to(device)
        out.append((G(zi, c[i:i + batch].to(device)) if conditional else G(zi))[:, keep].float().cpu())
        if done is not None:
            done(len(zi))
    return torch.cat(out) if out else torch.empty(0)


def split_mask(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(image channels, the content mask as bool [N, H, W]: True where the mask is above 0) of a ``render(...,
    with_mask=True)`` of a generator that has one."""
    return x[:, :-1], x[:, -1] > 0


class Generator:
    """A loaded generator with what sampling it needs to know: ``z_dim``, ``num_classes`` and ``class_names``,
    ``kind`` (image or points), ``shape`` (of the images it hands out), ``mask`` (whether it also makes a content
    mask, which ``render`` leaves out unless ``with_mask``) and where it came from (``meta``)."""

    def __init__(self, net, meta: dict):
        self.net, self.meta = net, meta
        self.device = next(net.parameters()).device
        self.z_dim = meta["z_dim"]
        self.num_classes = getattr(net, "c_dim", 0)
        names = meta.get("class_names") or []
        self.class_names = [names[i] if i < len(names) else str(i) for i in range(self.num_classes)]
        self.kind = meta.get("kind", "image")
        self.shape = meta.get("shape")
        self.mask = has_mask(net)

    def render(self, z: torch.Tensor, c: torch.Tensor | None = None, batch: int = 256, done=None,
               with_mask: bool = False) -> torch.Tensor:
        return render(self.net, z, c, batch, self.device, done, with_mask)


def load(*, run: str | None = None, checkpoint: str | None = None, export: str | None = None, device="cpu",
         net: str = "auto") -> Generator:
    """The ``Generator`` of a run folder (its newest loadable checkpoint), a checkpoint file or an export."""
    G, meta = load_any(run=run, checkpoint=checkpoint, export=export, device=device, net=net)
    return Generator(G, meta)
