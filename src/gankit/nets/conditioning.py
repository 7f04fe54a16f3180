"""Class conditioning shared by the networks: labels as one-hot vectors or constant one-hot planes."""

from __future__ import annotations

import torch


def one_hot(c: torch.Tensor, c_dim: int, dtype) -> torch.Tensor:
    """A comparison with ``arange``: ``F.one_hot`` reads the labels' min and max on the host to check them
    (off CUDA), a read per conditional forward pass. Labels here come from the data or are drawn in range."""
    return (c.long().unsqueeze(1) == torch.arange(c_dim, device=c.device)).to(dtype)


def append_to_vector(x: torch.Tensor, c: torch.Tensor | None, c_dim: int) -> torch.Tensor:
    """[N, D] -> [N, D + c_dim] with the one-hot label appended (no-op when unconditional)."""
    if not c_dim:
        return x
    if c is None:
        raise ValueError("this network is class-conditional: pass labels c")
    return torch.cat([x, one_hot(c, c_dim, x.dtype)], dim=1)


def append_planes(x: torch.Tensor, c: torch.Tensor | None, c_dim: int) -> torch.Tensor:
    """[N, C, H, W] -> [N, C + c_dim, H, W] with one constant plane per class (1 on the label's plane)."""
    if not c_dim:
        return x
    if c is None:
        raise ValueError("this network is class-conditional: pass labels c")
    planes = one_hot(c, c_dim, x.dtype)[:, :, None, None].expand(-1, -1, *x.shape[2:])
    return torch.cat([x, planes], dim=1)


def conditioning_kwargs(cfg: dict, info, role: str) -> dict:
    """``c_dim`` / ``aux_classes`` for a network from ``cond.mode``: 'input' feeds labels to G and D,
    'aux' feeds them to G and gives D an auxiliary classifier head (ACGAN), 'classifier' feeds them
    to G only (ControlGAN: a separate classifier judges the class, D stays unconditional)."""
    mode = cfg.get("cond.mode", "none")
    if mode == "none":
        return {}
    if not info.num_classes:
        from gankit.config import ConfigError

        raise ConfigError(f"cond.mode={mode}: the data has no labels (use class subfolders or fashion-mnist)")
    if role == "G" or mode == "input":
        return {"c_dim": info.num_classes}
    return {"aux_classes": info.num_classes} if mode == "aux" else {}
