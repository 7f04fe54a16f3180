"""Flags and parsing shared by ``gankit walk``, ``edit`` and ``directions``: latents from seeds or files,
class labels, truncation, the model and where the outputs go."""

from __future__ import annotations

import argparse
import math
import os
import re
from pathlib import Path

from gankit.cli.common import COUNT, flag_ranges, path_flags
from gankit.config import ConfigError


def add_latent_sources(p: argparse.ArgumentParser, seeds_help: str, required: bool = True) -> None:
    src = p.add_mutually_exclusive_group(required=required)
    src.add_argument("--seeds", help=seeds_help)
    src.add_argument("--latents", nargs="+", metavar="FILE[:ROW]",
                     help="latents saved by gankit (FILE.latents.npy, DIR/latents.npy): FILE:ROW for one row, "
                          "FILE for all its rows, in order")
    path_flags(p, ["--latents"])


def add_generation(p: argparse.ArgumentParser) -> None:
    p.add_argument("--truncation", type=float, metavar="PSI",
                   help="truncation trick: latents pulled toward the mean (0), z * PSI; 1 = off (default off)")
    p.add_argument("--class", dest="cls", help="conditional models: the class to draw (an index or a name)")
    p.add_argument("--batch", type=int, default=256, help="images generated at once (default 256)")
    flag_ranges(p, {"--batch": COUNT})


def allow_negative_values(p: argparse.ArgumentParser) -> None:
    """Let values such as ``-3:3:7`` and ``-2,0,2`` follow a flag: argparse takes any word starting with ``-``
    for an option unless it is a plain number. Words starting with ``-digit`` are values here, as newer
    Pythons' argparse has it: these parsers have no options named like that."""
    if hasattr(p, "_negative_number_matcher"):
        p._negative_number_matcher = re.compile(r"^-\.?\d")


def load_image_generator(args, device):
    """(G, meta) from --run/--checkpoint/--export; 2-D point generators are refused, these tools draw images."""
    from gankit.inference import load_any

    G, meta = load_any(run=args.run, checkpoint=args.checkpoint, export=args.export, device=device, net=getattr(args, "net", "auto"))
    if meta.get("kind") == "points":
        raise ConfigError(f"{model_flag(args)}: this generator makes 2-D points, not images; "
                          f"gankit {args.command} needs an image generator")
    return G, meta


def model_flag(args) -> str:
    for flag in ("run", "checkpoint", "export"):
        if getattr(args, flag, None):
            return f"--{flag} {getattr(args, flag)}"
    return "the model"


def latents_flag(args) -> str:
    """The flag and value the latents came from, as the user typed them, for messages."""
    return f"--seeds {args.seeds}" if args.seeds is not None else f"--latents {' '.join(args.latents)}"


def model_record(args, meta: dict) -> dict:
    """What a result file records about the generator it came from."""
    keys = ("recipe", "data", "step", "kimg", "ema", "z_dim", "shape", "sha256")
    return {"source": model_flag(args), **{k: meta[k] for k in keys if k in meta}}


def parse_seeds(text: str, flag: str = "--seeds", most: int | None = None) -> list[int]:
    """``3,17,42``, a range ``0-9``, or both: ``0-3,10``; more than ``most`` seeds are refused before the list
    is built (a range of a billion is a typing slip, not a list to make)."""
    spans: list[range] = []
    for part in (p.strip() for p in text.split(",")):
        span = re.fullmatch(r"(\d+)-(\d+)", part)
        if span:
            spans.append(range(int(span[1]), int(span[2]) + 1))
        elif part.isdigit():
            spans.append(range(int(part), int(part) + 1))
        else:
            raise ConfigError(f"{flag} {text}: {part!r} is not a seed; expected whole numbers >= 0 such as 3,17,42 "
                              f"or a range such as 0-9")
    total = sum(map(len, spans))
    if not total:
        raise ConfigError(f"{flag} {text}: no seeds given")
    if most is not None and total > most:
        raise ConfigError(f"{flag} {text}: {total:,} seeds, more than the {most:,} images one picture can hold")
    return [seed for span in spans for seed in span]


def parse_alphas(text: str, flag: str = "--alphas", most: int | None = None) -> list[float]:
    """``START:STOP:COUNT`` (evenly spaced, both ends included) or a list ``-2,0,2``; a COUNT above ``most`` is
    refused before the list is built."""
    try:
        if ":" in text:
            start, stop, count = text.split(":")
            start, stop, count = float(start), float(stop), int(count)
        else:
            values = [float(v) for v in text.split(",")]  # an empty item is refused, as in --seeds
    except ValueError:
        raise ConfigError(f"{flag} {text}: expected START:STOP:COUNT (e.g. -3:3:7) or numbers such as -2,0,2") from None
    if ":" in text:
        if count < 2:  # outside the try: ConfigError is a ValueError, and this message must not be replaced
            raise ConfigError(f"{flag} {text}: COUNT must be at least 2")
        if most is not None and count > most:
            raise ConfigError(f"{flag} {text}: COUNT {count:,} is more than the {most:,} images one picture can hold")
        values = [start + (stop - start) * i / (count - 1) for i in range(count)]
    if not values or not all(math.isfinite(v) for v in values):
        raise ConfigError(f"{flag} {text}: expected finite numbers")
    return values


def seed_latents(seeds: list[int], z_dim: int):
    """One latent per seed: row 0 of ``gankit sample --seed S``, so a sampled image can be named by its seed."""
    import torch

    from gankit.sampling import latents

    return torch.cat([latents(1, z_dim, s) for s in seeds])


def read_latents(items: list[str], z_dim: int, flag: str = "--latents"):
    """Rows of saved latent files: ``FILE:ROW`` picks one (negative counts from the end), ``FILE`` takes all."""
    import numpy as np
    import torch

    from gankit.latent import read_numbers

    rows = []
    for item in items:
        path, sep, row = item.rpartition(":")
        if not sep or not row.lstrip("-").isdigit():
            if sep and path and not os.path.exists(item) and os.path.exists(path):  # FILE:ROW with a bad ROW
                raise ConfigError(f"{flag} {item}: {row!r} is not a row number; use FILE:ROW with a whole number, "
                                  f"such as {path}:0 (or :-1 for the last row)")
            path, row = item, None
        array = np.atleast_2d(read_numbers(path, f"{flag} {item}"))
        if array.ndim != 2 or array.shape[1] != z_dim:
            raise ConfigError(f"{flag} {item}: {path} holds shape {list(np.shape(array))}; this generator needs "
                              f"latents of {z_dim} numbers per row")
        if row is not None:
            i = int(row)
            if not -len(array) <= i < len(array):
                raise ConfigError(f"{flag} {item}: row {i} out of range; {path} has {len(array)} rows")
            array = array[[i]]
        rows.append(torch.from_numpy(array.astype(np.float32)))
    return torch.cat(rows)


def endpoint_latents(args, z_dim: int, most: int | None = None):
    """The latents of ``--seeds`` (at most ``most``) or ``--latents``."""
    if args.seeds is not None:
        return seed_latents(parse_seeds(args.seeds, most=most), z_dim)
    return read_latents(args.latents, z_dim)


def class_labels(choice: str | None, n: int, G, meta: dict):
    """A label tensor of ``n`` copies of the chosen class for conditional generators, else None."""
    import torch

    from gankit.latent.scores import class_index

    k = getattr(G, "c_dim", 0)
    if not k:
        if choice is not None:
            raise ConfigError(f"--class {choice}: this generator is not class-conditional")
        return None
    if choice is None:
        names = meta.get("class_names") or []
        raise ConfigError("--class: this generator is class-conditional; choose a class, "
                          f"0..{k - 1}" + (f" or one of {', '.join(names)}" if names else ""))
    names = meta.get("class_names") or [str(i) for i in range(k)]
    return torch.full((n,), class_index(choice, names[:k], f"--class {choice}"), dtype=torch.long)


def apply_truncation(z, psi: float | None):
    from gankit.sampling import truncate

    if psi is None:
        return z
    if not math.isfinite(psi):
        raise ConfigError(f"--truncation {psi}: must be a finite number (1 = off, 0 = the mean latent)")
    return truncate(z, psi)


def out_path(text: str, suffix: str, flag: str = "--out") -> Path:
    path = Path(text)
    if path.suffix.lower() != suffix:
        raise ConfigError(f"{flag} {text}: expected a {suffix} file name; the other files are named after it")
    return path
