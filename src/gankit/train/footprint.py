"""What a run will weigh, said before its first step: the networks' parameters, a checkpoint's size, and the memory
one training step needs, so a size that cannot fit is refused in a line instead of swapping the machine for an hour.

Estimates, in float32: a checkpoint holds every network's weights and buffers, the optimizers' states (Adam's two
moments, RMSprop's average, SGD's momentum) and G's moving average; a step holds those, the gradients, and the
activations kept for the backward pass, counted as the output sizes of every layer in one forward pass of each
network on the meta device (no memory used), twice: real and fake batches through D, and their gradients.
"""

from __future__ import annotations

import torch
from torch import nn

from gankit.config import ConfigError
from gankit.inference import latent_size
from gankit.memory import physical_memory, size_text

ACTIVATION_FACTOR = 2  # layer outputs kept for backward plus their gradients (D also sees real and fake batches)


def parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def count_text(n: int) -> str:
    """A parameter count for a line: 3.6M, 120K, 980."""
    for unit, scale in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            return f"{n / scale:.{1 if n < 100 * scale else 0}f}{unit}"
    return str(n)


def _tensor_bytes(tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


def _optimizer_states(optimizer: torch.optim.Optimizer) -> int:
    """How many parameter-sized tensors the optimizer keeps (before its first step it holds none yet)."""
    group = optimizer.param_groups[0]
    if isinstance(optimizer, (torch.optim.Adam, torch.optim.AdamW)):
        return 2 + bool(group.get("amsgrad"))
    if isinstance(optimizer, torch.optim.RMSprop):
        return 1 + bool(group.get("momentum")) + bool(group.get("centered"))
    if isinstance(optimizer, torch.optim.SGD):
        return int(bool(group.get("momentum")))
    return 2  # an optimizer not listed here: as many as Adam


def checkpoint_bytes(trainer) -> int:
    """About the size of one checkpoint of ``trainer``: weights and buffers, optimizer states, G's moving average."""
    nets = trainer.objective.nets
    total = sum(_tensor_bytes(net.state_dict().values()) for net in nets.values())
    for name, optimizer in trainer.optimizers.items():
        total += _optimizer_states(optimizer) * _tensor_bytes(nets[name].parameters())
    if trainer.G_ema is not None:
        total += _tensor_bytes(trainer.G_ema.state_dict().values())
    return total


def activation_bytes(net: nn.Module, info, batch: int) -> int:
    """The float32 bytes of every layer's output in one forward pass of ``net`` on ``batch`` samples, run on the
    meta device; 0 for a network that cannot be rebuilt there or takes inputs other than latents or data."""
    from gankit import nets as registry

    config = getattr(net, "config", None)
    if not isinstance(config, dict):
        return 0
    total = 0

    def count(module, inputs, output):
        nonlocal total
        inner = [name for name, _ in module.named_children() if name != "parametrizations"]  # spectral norm's
        if not inner and isinstance(output, torch.Tensor):
            total += output.numel() * 4

    with torch.device("meta"):
        try:
            copy = registry.from_config(config)
        except Exception:  # noqa: BLE001 - an estimate: a network it cannot size counts its parameters only
            return 0
        c_dim = getattr(copy, "c_dim", 0)
        labels = torch.zeros(batch, dtype=torch.long) if c_dim else None
        inputs = []
        if isinstance(latent_size(copy), int):
            inputs.append(torch.zeros(batch, latent_size(copy)))
        shape = info.shape  # what a network of images says it takes (PacGAN's D takes several images stacked)
        if isinstance(config.get("img_channels"), int) and isinstance(config.get("img_resolution"), int):
            shape = (config["img_channels"], config["img_resolution"], config["img_resolution"])
        elif isinstance(config.get("in_shape"), (list, tuple)):
            shape = tuple(config["in_shape"])
        inputs.append(torch.zeros(batch, *shape))
        hooks = [m.register_forward_hook(count) for m in copy.modules()]
        for x in inputs:
            total = 0
            try:
                with torch.no_grad():
                    copy(x) if labels is None else copy(x, labels)
                break
            except Exception:  # noqa: BLE001 - not this input: try the next
                total = 0
        for hook in hooks:
            hook.remove()
    return total


def step_bytes(trainer) -> int:
    """About the memory one training step of ``trainer`` needs on its device: parameters, gradients, optimizer
    states, G's moving average and activations (see the module's docstring)."""
    nets = trainer.objective.nets
    grads = sum(_tensor_bytes(nets[name].parameters()) for name in trainer.optimizers)
    stages = getattr(trainer, "stages", None) or []  # a staged run: its largest batch, whichever stage has it
    batch = max([trainer.ctx.batch, *((s.batch or trainer.cfg["batch"]) // trainer.dist.world for s in stages)])
    activations = sum(activation_bytes(net, trainer.feed.info, batch) for net in nets.values())
    return checkpoint_bytes(trainer) + grads + ACTIVATION_FACTOR * activations


def summary(trainer) -> str:
    """``G 3.6M + D 2.8M parameters, checkpoints ~77 MB``: for the line a run starts with."""
    counts = " + ".join(f"{name} {count_text(parameters(net))}" for name, net in trainer.objective.nets.items())
    return f"{counts} parameters, checkpoints ~{size_text(checkpoint_bytes(trainer))}"


def device_memory(device: torch.device) -> tuple[int, str]:
    """The bytes a step may use on ``device`` and what they are, for the message."""
    if device.type == "cuda":
        have = torch.cuda.get_device_properties(device).total_memory
        return have, f"the {size_text(have)} of {device}"
    have = physical_memory()
    return have, f"this machine's {size_text(have)} of memory"


def check_fits(trainer) -> None:
    """Refuse, before the first step, a run whose step needs more memory than its device has, naming the flags
    that make it smaller."""
    need = step_bytes(trainer)
    if trainer.device.type != "cuda":
        need += _tensor_bytes([trainer.data.images]) if hasattr(trainer.data, "images") else 0
    have, where = device_memory(trainer.device)
    if need <= have:
        return
    info = trainer.feed.info
    size = f" at {info.resolution}x{info.resolution}" if info.kind == "image" else ""
    fixes = "--batch" + (" or --set data.resolution=N" if info.kind == "image" else "")
    raise ConfigError(f"one training step needs about {size_text(need)} (batch {trainer.cfg['batch']}{size}, "
                      f"{summary(trainer)}), more than {where}; lower {fixes}")
