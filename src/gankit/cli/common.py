"""Pieces several subcommands share."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from gankit.config import ConfigError, Range, count

COUNT = count()


def add_subcommand(sub, name: str, help: str, description: str, examples: list[str]) -> argparse.ArgumentParser:
    epilog = "examples:\n" + "\n".join(f"  {e}" for e in examples)
    return sub.add_parser(name, help=help, description=description, epilog=epilog,
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def flag_ranges(p: argparse.ArgumentParser, ranges: dict[str, Range]) -> None:
    """Declare the numbers flags accept (``{"--batch": COUNT}``, flags added already); ``check_flags`` refuses
    others before the command runs, naming the flag, as ``--set`` values are refused."""
    declared = {flag: (p._option_string_actions[flag].dest, rule) for flag, rule in ranges.items()}
    p.set_defaults(flag_ranges={**(p.get_default("flag_ranges") or {}), **declared})


def check_flags(args: argparse.Namespace, argv: list[str] | None = None) -> None:
    """Refuse a ranged flag's value outside its range, shown as typed in ``argv`` (``--fps 0``, not 0.0), an
    ``--out`` (every command's is ``args.out``) or a declared path flag that is empty or no file system takes, and a
    ``--recipe`` or ``--data`` (``args.recipe``, ``args.data`` in every command) that names no recipe or data, with
    the nearest names: all before the command runs, and before torch is imported."""
    from gankit import data, recipes

    for problem in (recipes.name_problem(args.recipe) if getattr(args, "recipe", None) is not None else None,
                    data.spec_problem(args.data) if getattr(args, "data", None) is not None else None):
        if problem:
            raise ConfigError(problem)
    for flag, (dest, rule) in (getattr(args, "flag_ranges", None) or {}).items():
        value = getattr(args, dest)
        if value is not None:
            rule.refuse(f"{flag} {_as_typed(flag, argv or [], value)}", value)
    if getattr(args, "out", None) is not None:
        check_path(args.out, "--out", OUT_NAME_ROOM)
    for flag, dest in (getattr(args, "path_flags", None) or {}).items():
        value = getattr(args, dest)
        for text in value if isinstance(value, list) else [] if value is None else [value]:
            check_path(text, flag)


def path_flags(p: argparse.ArgumentParser, flags: list[str]) -> None:
    """Declare flags that name a file or folder to read (flags added already); ``check_flags`` refuses an empty
    one or one no file system takes by name, as it does ``--out``, instead of a traceback at the first read."""
    declared = {flag: p._option_string_actions[flag].dest for flag in flags}
    p.set_defaults(path_flags={**(p.get_default("path_flags") or {}), **declared})


# The most bytes gankit adds to the name given to --out for the files it writes beside or for it: FILE.png also
# makes FILE.latents.npy (8 more), each written first as .NAME.XXXXXXXX.tmp (14 more).
OUT_NAME_ROOM = 22


def check_path(text: str, flag: str = "--out", room: int = 0) -> None:
    """Refuse an empty path (``--out ''`` would silently mean the current folder or a default), and one whose
    name or whole path is longer than the file system takes, counting ``room`` bytes for the names gankit
    derives from the last name; before any work, so no run ends in a traceback at its first read or write."""
    if not text:
        raise ConfigError(f"{flag} '': empty; give a file or folder name")
    path = Path(os.path.abspath(text))
    existing = next((p for p in path.parents if os.path.isdir(p)), Path(path.anchor))
    name_max, path_max = _pathconf(existing, "PC_NAME_MAX", 255), _pathconf(existing, "PC_PATH_MAX", 4096)
    parts = path.parts[1:]
    for i, part in enumerate(parts):
        extra = room if i == len(parts) - 1 else 0
        if len(os.fsencode(part)) + extra > name_max:
            raise ConfigError(f"{flag} {_short_path(text)}: the name {_short_path(part, 40)} is "
                              f"{len(os.fsencode(part)):,} bytes; this file system takes {name_max} per name"
                              + (f", {extra} fewer for the files gankit names after it" if extra else ""))
    if len(os.fsencode(str(path))) + room > path_max:
        raise ConfigError(f"{flag} {_short_path(text)}: the path is {len(os.fsencode(str(path))):,} bytes; this "
                          f"file system takes {path_max}" + (f", {room} fewer for the files gankit writes there"
                                                             if room else ""))


def _pathconf(folder: Path, name: str, default: int) -> int:
    try:
        value = os.pathconf(folder, name)
    except (AttributeError, ValueError, OSError):  # no pathconf (Windows), or the OS does not say
        return default
    return value if value and value > 0 else default


def _short_path(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else f"{text[:limit // 2]}...{text[-(limit // 2):]}"


def _as_typed(flag: str, argv: list[str], value) -> str:
    """The last text given to ``flag`` (``--fps 0`` or ``--fps=0``), else the parsed value."""
    typed = None
    for i, word in enumerate(argv):
        if word == flag and i + 1 < len(argv):
            typed = argv[i + 1]
        elif word.startswith(flag + "="):
            typed = word[len(flag) + 1:]
    return typed if typed is not None else str(value)


def add_model_source(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--run", metavar="DIR", help="a run folder (its newest checkpoint is used)")
    src.add_argument("--checkpoint", metavar="PATH", help="a training checkpoint file")
    src.add_argument("--export", metavar="DIR", help="a folder written by `gankit export`")
    p.add_argument("--net", default="auto", choices=["auto", "ema", "G"],
                   help="which generator of a run or checkpoint: auto = its moving average when the run kept one "
                        "(default), ema = only that, G = the trained network itself")
    path_flags(p, ["--run", "--checkpoint", "--export"])


def add_device(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"],
                   help="where to run (default: auto = cuda, else mps, else cpu)")


def check_grid(n: int, side: int, nrow: int | None, flags: str, z_dim: int = 0, channels: int = 1) -> None:
    """Refuse, before generating, a grid image larger than Pillow (and most viewers) will open: the limit
    at which Pillow reports a decompression bomb; and ``n`` images whose latents and pixels, all held at once
    until the grid is drawn, would not fit in memory."""
    from PIL import Image

    from gankit.sampling import grid_size

    width, height = grid_size(n, side, nrow)
    if width * height > Image.MAX_IMAGE_PIXELS:
        raise ConfigError(f"{flags}: {n:,} images of {side}x{side} make a {width:,}x{height:,} grid, more than the "
                          f"{Image.MAX_IMAGE_PIXELS:,} pixels an image viewer can be expected to open; draw fewer")
    check_memory(n * (4 * z_dim + 8 + 8 * channels * side * side), flags, f"{n:,} images")  # float + uint8 copies


def grid_capacity(side: int) -> int:
    """The most images of ``side`` x ``side`` any grid that passes ``check_grid`` holds (each takes at least
    its side plus padding squared), to refuse a count before a list of that many is built."""
    from PIL import Image

    return max(1, Image.MAX_IMAGE_PIXELS // (side + 2) ** 2)


def check_memory(nbytes: float, flags: str, what: str) -> None:
    """Refuse ``what`` (``1,000,000,000 latents``) asked for by ``flags`` when it would not fit in memory."""
    from gankit.memory import too_big

    why = too_big(nbytes)
    if why:
        raise ConfigError(f"{flags}: {what} would take {why}; ask for fewer")


def add_strict(p: argparse.ArgumentParser) -> None:
    p.add_argument("--strict", action="store_true",
                   help="stop at the first image file that cannot be used (default: skip it and say so)")


def report_skipped(data) -> None:
    """Name every file a folder load left out, on stderr, as `gankit train` does in its log."""
    import sys

    from gankit.data import ImageData

    if isinstance(data, ImageData):
        for line in data.skipped_report("--strict"):
            print(line, file=sys.stderr)


def model_data(meta: dict, spec: str | None = None, strict: bool = False, flag: str = "--data"):
    """Real data for a model, prepared as in training (size policy, canvas, channels) at the model's size.

    ``spec`` is a ``--data`` override; by default the model's own data, the held-out test split
    for Fashion-MNIST. Files it skips are reported; ``strict`` (or the run's own ``data.strict``) stops instead.
    """
    from gankit.config import TRAINER_DEFAULTS
    from gankit.data import DataError, Mixture
    from gankit.metrics.evaluate import eval_data_spec
    from gankit.data.from_config import load_data

    options = {**TRAINER_DEFAULTS, **meta.get("data_options", {}), "data": spec or eval_data_spec(meta["data"])}
    if meta.get("kind") == "image":
        options["data.resolution"], options["data.channels"] = meta["shape"][-1], meta["shape"][0]
    options["data.strict"] = strict or options["data.strict"]
    try:
        data = load_data(options)
    except DataError as e:  # name the flag the data came from
        text = str(e)
        if flag != "--data":
            text = flag + text[len("--data"):] if text.startswith("--data ") else f"{flag} {options['data']}: {text}"
        raise DataError(text) from None
    report_skipped(data)
    kind = "points" if isinstance(data, Mixture) else "image"
    if meta.get("kind") and kind != meta["kind"]:
        what = {"points": "2-D points", "image": "images"}
        raise ConfigError(f"{flag} {options['data']}: {what[kind]}, but this model makes {what[meta['kind']]}")
    return data
