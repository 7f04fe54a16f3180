"""The ``gankit`` command: one subcommand per verb, each in its own module."""

from __future__ import annotations

import argparse
import errno
import os
import sys
import warnings
from pathlib import Path

from gankit import __version__
from gankit.cli.common import check_flags
from gankit.config import did_you_mean
from gankit.cli import (dataset, demo, directions, edit, eval, export, features, latent_map, recipes, sample, studio,
                        train, walk)

COMMANDS = [train, sample, eval, latent_map, walk, directions, edit, dataset, recipes, export, features, demo, studio]


# Errors a user can fix, by the module that defines each: shown as one line naming the file, flag or value.
USER_ERRORS = [("gankit.atomic", "WriteError"), ("gankit.config", "ConfigError"), ("gankit.data.base", "DataError"),
               ("gankit.inference", "ExportError"), ("gankit.run_folder", "CheckpointError"),
               ("gankit.classify", "ClassifierError"), ("gankit.metrics.features", "FeatureError"),
               ("gankit.model_folder", "ModelFolderError"), ("gankit.latent", "LatentError"),
               ("gankit.synthetic", "SyntheticError")]


def _user_errors():
    """Errors a user can fix: shown as one line naming the file, flag or value, without a traceback.

    Only from the modules imported already: an error of a module that was never imported cannot have been
    raised, and a usage error caught before the command ran must not import torch just to be shown."""
    found = tuple(getattr(sys.modules[module], name) for module, name in USER_ERRORS if module in sys.modules)
    return found + (FileNotFoundError, FileExistsError, NotADirectoryError, IsADirectoryError, PermissionError)


def _one_line_warnings(command: str):
    """gankit's own warnings as `gankit CMD: warning: ...`, like its errors; other libraries' keep their form."""
    package = str(Path(__file__).resolve().parents[1]) + os.sep
    default = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if str(Path(filename).resolve()).startswith(package):
            print(f"gankit {command}: warning: {message}", file=file or sys.stderr)
        else:
            default(message, category, filename, lineno, file, line)

    return show


class _Parser(argparse.ArgumentParser):
    """The top-level parser: to argparse's error for a misspelt command (``gankit trian``) it adds the nearest."""

    commands: list[str] = []

    def parse_known_args(self, args=None, namespace=None):
        self._words = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(args, namespace)

    def error(self, message):
        word = next((w for w in getattr(self, "_words", []) if not w.startswith("-")), None)
        if word is not None and word not in self.commands:
            message += did_you_mean(word, self.commands)
        super().error(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="gankit", description="Train, evaluate, explore and use GANs and autoencoders on your own images.",
        epilog="Run `gankit COMMAND --help` for a command's options and examples.")
    parser.add_argument("--version", action="version", version=f"gankit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                parser_class=argparse.ArgumentParser)  # a command's own errors suggest nothing
    for module in COMMANDS:
        module.add_parser(sub)
    parser.commands = list(sub.choices)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:  # --help, or argparse's own usage error: a code for callers in this process too
        return e.code if isinstance(e.code, int) else 2
    try:
        check_flags(args, argv)
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warnings(args.command)
            code = args.handler(args) or 0
        sys.stdout.flush()  # inside the try: a closed pipe shows up here
        return code
    except BrokenPipeError:  # the reader of our output stopped early (`gankit recipes --show dcgan | head`): not
        # a fault; gankit writes to no other pipe
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit's flush cannot fail again
        return 1
    except _user_errors() as e:
        print(f"gankit {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"gankit {args.command}: interrupted", file=sys.stderr)
        return 130
    except OSError as e:  # the operating system refused a file (full disk, name too long, ...): the file and why
        line = _os_error_line(e)
        if line is None:
            raise
        print(f"gankit {args.command}: error: {line}", file=sys.stderr)
        return 2


_WITHOUT_A_FILE = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO}  # causes that say enough without a path


def _os_error_line(e: OSError) -> str | None:
    """``PATH: cause`` for an error of the operating system on a file; None for one that is a fault of gankit."""
    if e.errno is None or not e.strerror:
        return None
    if e.filename is not None:
        name = e.filename
        return f"{os.fsdecode(name) if isinstance(name, (str, bytes, os.PathLike)) else name}: {e.strerror}"
    return e.strerror if e.errno in _WITHOUT_A_FILE else None
