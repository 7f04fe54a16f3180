"""A run's data from its config's ``data.*`` keys: the one reading that training, periodic evaluation and the
commands that read a run's data all share, so each sees the images exactly as training did."""

from __future__ import annotations

from gankit import data as datasets


def load_data(cfg: dict, download: bool = True):
    """The data of a config's ``data.*`` keys, prepared as training sees it (the mask channel is the feed's)."""
    return datasets.load(cfg["data"], resolution=cfg["data.resolution"] or None, size_policy=cfg["data.size_policy"],
                         channels=cfg["data.channels"] or None, canvas=canvas(cfg["data.canvas"]),
                         pad_value=pad_value(cfg["data.pad_value"]), strict=cfg["data.strict"], download=download,
                         mask=bool(cfg.get("data.mask", False)))


def canvas(value: int) -> int | None:
    """``data.canvas``: -1 (chosen from the images) is the loader's None; 0 (the largest image) and sides pass."""
    return None if value == -1 else value


def pad_value(value) -> int | tuple[int, ...] | None:
    """``data.pad_value``: -1 (the images' border) is the loader's None; a recorded level per channel a tuple."""
    if isinstance(value, list):
        return tuple(value)
    return None if value == -1 else value
