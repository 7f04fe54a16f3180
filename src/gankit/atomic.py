"""Atomic writes: a crash or a bad input never leaves a half-written file or folder where a good one was."""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Callable


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_file(path: Path, write: Callable[[str], None]) -> None:
    """Call ``write(tmp_path)`` in the same folder, fsync, then rename over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # the permissions a plain open() would give, not mkstemp's 0600
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def check_writable(path: Path, flag: str = "--out") -> None:
    """Refuse a ``path`` that cannot be created or replaced, before the work whose result goes there."""
    parent = Path(path).absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PermissionError(f"{flag} {path}: no permission to write in {parent}")


def check_replaceable(out_dir: Path, marker: str) -> None:
    """Refuse an ``--out`` that ``write_folder`` would refuse; call it before the work that fills the folder."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise FileExistsError(f"--out {out_dir}: is a file; give a folder")
    check_writable(out_dir)
    if out_dir.exists() and not (out_dir / marker).exists() and any(out_dir.iterdir()):
        raise FileExistsError(f"--out {out_dir}: exists and does not look like one written by gankit "
                              f"(no {marker}); refusing to replace it")


def write_folder(out_dir: Path, fill: Callable[[Path], None], marker: str) -> Path:
    """Call ``fill(tmp_dir)``, then move the folder into place whole, replacing an older one.

    ``marker`` is a file every folder of this kind holds: a folder without it is never replaced,
    so a mistyped ``--out`` cannot delete someone's data.
    """
    out_dir = Path(out_dir)
    check_replaceable(out_dir, marker)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    os.chmod(tmp, 0o777 & ~_umask())  # as mkdir would make it, not mkdtemp's 0700
    try:
        fill(tmp)
        for f in tmp.rglob("*"):  # some writers (safetensors) make their files 0600: share them as open() would
            if f.is_file():
                os.chmod(f, 0o666 & ~_umask())
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(out_dir, old)
            os.replace(tmp, out_dir)
            try:
                shutil.rmtree(old)
            except OSError as e:  # the new folder is in place; only the old copy is left over
                warnings.warn(f"{out_dir}: written, but the folder it replaced could not be removed ({e}); "
                              f"it is kept as {old}, delete it by hand", stacklevel=2)
        else:
            os.replace(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def save_npy(path: Path, array) -> None:
    import numpy as np

    def write(tmp):
        with open(tmp, "wb") as f:
            np.save(f, array)

    write_file(path, write)
