"""The trainer's fast path: memory layout, cuDNN autotuning and ``torch.compile``, each a ``fast.*`` key.

None of these changes the model or its optimisation, only how the same arithmetic is scheduled
(results agree to float rounding), so all ``fast.*`` keys may change when a run resumes.

- ``fast.channels_last`` (auto | on | off): convolution weights, activations and real batches in
  NHWC. ``auto`` turns it on for networks with 2-D convolutions on CUDA (tensor-core kernels expect
  it) and on CPU (oneDNN's convolutions and batch norm ran faster in NHWC: DCGAN-28 trained 1.17x
  faster on a 2-core x86 CPU, docs/benchmarks.md), off elsewhere (MPS) and for networks without
  convolutions.
- ``fast.cudnn_benchmark`` (bool): let cuDNN time its algorithms for the run's fixed shapes (what
  pytorch/examples' dcgan does). Only affects CUDA; it sets a process-wide flag.
- ``fast.compile`` (off | auto | on): ``torch.compile`` each trained network's ``forward``. ``auto``
  compiles on CUDA only (compiling costs a minute or more up front, and on a CPU, where the
  convolutions it cannot speed up dominate, it measured no gain). If compiling or the first compiled step fails (gradient penalties
  need double backward, which compiled graphs do not support), the trainer logs it once, restores
  the state from before that step and continues eagerly; see ``Trainer.train_step``. Two limits of
  that guard: it covers the first step only, so a backward pass first compiled later (a phase that
  ``balance`` skipped in step 1) is not guarded; and under torchrun every rank compiles the same
  graphs and is expected to fail alike, since a failure on one rank alone would leave the others
  waiting in a collective.

CUDA graphs are not offered: a training step here holds host-side decisions (a recipe may skip a
phase, weight clipping, ADA's counters, historical averages), optimizer steps and draws from the
run's own ``torch.Generator`` objects, and capturing that exactly, with exact resume, is more than
a flag; ``torch.compile`` gives most of the fusion without those constraints.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn

CHOICES = ("auto", "on", "off")


def _choice(cfg: dict, key: str) -> str:
    value = cfg[key]
    if isinstance(value, bool):  # a JSON config written by hand may say true/false
        value = "on" if value else "off"
    value = {"true": "on", "false": "off"}.get(str(value).lower(), value)
    if value not in CHOICES:
        from gankit.config import ConfigError

        raise ConfigError(f"--set {key}={value}: use auto, on or off")
    return value


def has_convolutions(nets) -> bool:
    return any(isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) for net in nets for m in net.modules())


def use_channels_last(cfg: dict, device: torch.device, nets) -> bool:
    choice = _choice(cfg, "fast.channels_last")
    if choice == "auto":
        return device.type in ("cuda", "cpu") and has_convolutions(nets)
    return choice == "on"


def use_compile(cfg: dict, device: torch.device) -> bool:
    choice = _choice(cfg, "fast.compile")
    return choice == "on" or (choice == "auto" and device.type == "cuda")


def to_channels_last(net: nn.Module) -> nn.Module:
    """4-D parameters and buffers in NHWC (the same Parameter objects, so optimizers stay valid)."""
    return net.to(memory_format=torch.channels_last)


def compile_forward(net: nn.Module) -> None:
    """Replace ``net.forward`` by its compiled version (state-dict keys and hooks stay as they were).

    Compilation itself happens lazily, at the first call.
    """
    net.forward = torch.compile(net.forward)


def uncompile(net: nn.Module) -> None:
    """Back to the class's eager ``forward``."""
    net.__dict__.pop("forward", None)


def is_compiled(net: nn.Module) -> bool:
    return "forward" in net.__dict__


def eager(compiled: bool = True):
    """Run compiled functions eagerly inside this block (snapshots and evaluation: other shapes, eval mode).

    With ``compiled`` false it does nothing (and does not import the compiler).
    """
    set_stance = getattr(torch.compiler, "set_stance", None) if compiled else None
    return set_stance("force_eager") if set_stance is not None else contextlib.nullcontext()


def match_layout(optimizer: torch.optim.Optimizer) -> None:
    """Give per-parameter optimizer state (Adam's moments) its parameter's memory layout after loading.

    A checkpoint may come from a run with another ``fast.channels_last``; fused and foreach
    optimizers want a parameter and its state laid out alike.
    """
    for group in optimizer.param_groups:
        for p in group["params"]:
            state = optimizer.state.get(p, {})
            for k, v in state.items():
                if isinstance(v, torch.Tensor) and v.shape == p.shape and v.stride() != p.stride():
                    state[k] = torch.empty_like(p, dtype=v.dtype).copy_(v)
