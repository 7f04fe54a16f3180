"""Pieces several subcommands share."""

from __future__ import annotations

import argparse


def add_subcommand(sub, name: str, help: str, description: str, examples: list[str]) -> argparse.ArgumentParser:
    epilog = "examples:\n" + "\n".join(f"  {e}" for e in examples)
    return sub.add_parser(name, help=help, description=description, epilog=epilog,
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def add_model_source(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--run", metavar="DIR", help="a run folder (its newest checkpoint is used)")
    src.add_argument("--checkpoint", metavar="PATH", help="a training checkpoint file")
    src.add_argument("--export", metavar="DIR", help="a folder written by `gankit export`")


def add_device(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"],
                   help="where to run (default: auto = cuda, else mps, else cpu)")
