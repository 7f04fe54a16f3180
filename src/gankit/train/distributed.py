"""Several processes through ``torchrun``: one process per device, gradients averaged across ranks.

Gradients are averaged by hand after each phase's backward pass (one flat all-reduce per
phase) instead of wrapping nets in DistributedDataParallel. StyleGAN2-ADA does wrap its nets
in DDP, and then must steer DDP's reducer from its loss code (``no_sync`` around the passes
that accumulate, which parameters get gradients in which phase). In gankit a recipe returns a
loss per phase and knows nothing of ranks; the trainer averages the gradients of the net the
phase updates, so no recipe has to see ``no_sync``. Every rank draws the same global batch of
indices and latents from the same seeded generators and keeps its own slice of it, so a run on
N ranks sees exactly the data a single process would with the same global batch.

Equal seeds make equal initial weights, but nothing relied on is left to chance: at the start
of training (also after a resume) every rank takes rank 0's parameters and buffers. Batch-norm
running statistics are the one state each rank gathers from its own slice; before a checkpoint
the ranks take rank 0's (as DDP's ``broadcast_buffers`` does at every forward pass), then check
that parameters and all buffers agree.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1


SINGLE = Dist()


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init(device_choice: str) -> tuple[Dist, torch.device | None]:
    """Join the process group that torchrun set up; returns this rank and its device (None: not distributed)."""
    if not launched_by_torchrun():
        return SINGLE, None
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = device_choice in ("auto", "cuda") and torch.cuda.is_available()
    device = torch.device("cuda", local_rank) if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(device)  # before NCCL starts: its communicator binds to the current device
    if not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
    return Dist(dist.get_rank(), dist.get_world_size(), local_rank), device


def shutdown(together: bool = False) -> None:
    """Leave the process group. ``together`` (after a run every rank finished) first waits for all ranks, so
    none tears its connections down while another still works: rank 0 writes the run's last files after
    training, and a rank that left early made gloo abort at exit now and then ('terminate called without an
    active exception'), failing the whole torchrun. Not after an error, where another rank may never come."""
    if dist.is_initialized():
        if together:
            dist.barrier()
        dist.destroy_process_group()


def average_gradients(params, world: int) -> None:
    """All-reduce the gradients of ``params`` in one flat buffer and divide by the number of ranks."""
    params = [p for p in params if p.grad is not None]
    if not params:
        return
    flat = torch.cat([p.grad.flatten() for p in params])
    dist.all_reduce(flat)
    flat /= world
    for p, g in zip(params, flat.split([p.numel() for p in params])):
        p.grad.copy_(g.view_as(p))


def average(values: torch.Tensor, world: int) -> torch.Tensor:
    values = values.clone()
    dist.all_reduce(values)
    return values / world


def max_over_ranks(value: int, device) -> int:
    """The largest of every rank's ``value``, on every rank (so all ranks decide alike)."""
    t = torch.tensor(value, dtype=torch.long, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return int(t.item())


def broadcast(tensors) -> None:
    """Every rank's ``tensors`` take rank 0's values (one flat broadcast per dtype)."""
    by_dtype: dict[torch.dtype, list[torch.Tensor]] = {}
    for t in tensors:
        by_dtype.setdefault(t.dtype, []).append(t)
    for group in by_dtype.values():
        flat = torch.cat([t.detach().reshape(-1) for t in group])
        dist.broadcast(flat, src=0)
        with torch.no_grad():
            for t, values in zip(group, flat.split([t.numel() for t in group])):
                t.copy_(values.view(t.shape))


def broadcast_state(modules) -> None:
    """Every rank takes rank 0's parameters and buffers of ``modules``."""
    broadcast([t for m in modules for t in (*m.parameters(), *m.buffers())])


def batch_norm_statistics(modules) -> list[torch.Tensor]:
    """The running statistics of the batch-norm layers in ``modules`` (per rank: each sees its own slice)."""
    found = []
    for m in modules:
        for layer in m.modules():
            if isinstance(layer, torch.nn.modules.batchnorm._NormBase) and layer.track_running_stats:
                found += [b for b in (layer.running_mean, layer.running_var, layer.num_batches_tracked) if b is not None]
    return found


def max_divergence(modules) -> float:
    """Largest absolute difference of any parameter or buffer between this rank and rank 0 (0.0 when in sync)."""
    flat = torch.cat([t.detach().flatten().float() for m in modules for t in (*m.parameters(), *m.buffers())])
    reference = flat.clone()
    dist.broadcast(reference, src=0)
    diff = (flat - reference).abs().max()
    dist.all_reduce(diff, op=dist.ReduceOp.MAX)
    return float(diff)
