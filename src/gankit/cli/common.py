"""Pieces several subcommands share."""

from __future__ import annotations

import argparse

from gankit.config import Range, count

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
    """Refuse a ranged flag's value outside its range, shown as typed in ``argv`` (``--fps 0``, not 0.0)."""
    for flag, (dest, rule) in (getattr(args, "flag_ranges", None) or {}).items():
        value = getattr(args, dest)
        if value is not None:
            rule.refuse(f"{flag} {_as_typed(flag, argv or [], value)}", value)


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


def add_device(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"],
                   help="where to run (default: auto = cuda, else mps, else cpu)")


def check_grid(n: int, side: int, nrow: int | None, flags: str) -> None:
    """Refuse, before generating, a grid image larger than Pillow (and most viewers) will open: the limit
    at which Pillow reports a decompression bomb."""
    from PIL import Image

    from gankit.config import ConfigError
    from gankit.sampling import grid_size

    width, height = grid_size(n, side, nrow)
    if width * height > Image.MAX_IMAGE_PIXELS:
        raise ConfigError(f"{flags}: {n:,} images of {side}x{side} make a {width:,}x{height:,} grid, more than the "
                          f"{Image.MAX_IMAGE_PIXELS:,} pixels an image viewer can be expected to open; draw fewer")


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
    from gankit.config import ConfigError
    from gankit.data import DataError, Mixture
    from gankit.metrics.evaluate import eval_data_spec
    from gankit.train.run import load_data

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
