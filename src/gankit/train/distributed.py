"""Several processes through ``torchrun``: one process per device, gradients averaged across ranks.

Gradients are averaged by hand after each phase's backward pass (one flat all-reduce per
phase), as StyleGAN2-ADA does, instead of wrapping nets in DistributedDataParallel: a GAN
toggles ``requires_grad`` on D between phases and runs G without gradients in D's phase,
which DDP's reducer does not allow. Every rank draws the same global batch of indices and
latents from the same seeded generators and keeps its own slice of it, so a run on N ranks
sees exactly the data a single process would with the same global batch.
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


def max_divergence(modules) -> float:
    """Largest absolute difference of any parameter between this rank and rank 0 (0.0 when in sync)."""
    flat = torch.cat([p.detach().flatten().float() for m in modules for p in m.parameters()])
    reference = flat.clone()
    dist.broadcast(reference, src=0)
    diff = (flat - reference).abs().max()
    dist.all_reduce(diff, op=dist.ReduceOp.MAX)
    return float(diff)
