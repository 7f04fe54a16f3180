"""Atomic writes: a crash or a bad input never leaves a half-written file or folder where a good one was.

Every file gankit writes goes through here, so a failure of the operating system (a full disk, a name too
long, no permission, a read-only file system, a quota) becomes one ``WriteError`` naming the path and the cause.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Callable


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class WriteError(OSError):
    """A file or folder the operating system would not let gankit write; the message names the path and why."""

    def __init__(self, path: Path, code: int | None, message: str):
        super().__init__(code, message, os.fspath(path))

    def __str__(self) -> str:
        return self.strerror


FULL = 1 << 20  # after a failed write, a device with less than this free is taken to be full

_CAUSES = {
    errno.ENOSPC: "no space left on the device holding it",
    errno.EDQUOT: "the disk quota of this user on its device is used up",
    errno.EROFS: "its file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENAMETOOLONG: "a name in the path is too long for its file system (at most 255 bytes each, usually)",
    errno.EFBIG: "the file is too large for its file system",
}


def _errno_of(error: BaseException) -> int | None:
    """The operating system's error code behind ``error``: its own, a chained one, or one quoted in its message
    (torch.save and safetensors wrap the OSError in their own exception types)."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno is not None:
            return error.errno
        text = str(error)
        match = re.search(r"os error (\d+)|\[Errno (\d+)\]", text)
        if match:
            return int(match.group(1) or match.group(2))
        for code in _CAUSES:
            if os.strerror(code) in text:
                return code
        error = error.__cause__ or error.__context__
    return None


def _free_bytes(path: Path) -> int | None:
    folder = Path(path).absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def _about_another_file(error: BaseException, path: Path) -> bool:
    """An OSError naming a file neither in the folder written to nor above it (where it is being made): a read
    inside ``write`` failed, not the write."""
    if not isinstance(error, OSError) or error.filename is None or isinstance(error.filename, int):
        return False
    folder, named = Path(path).absolute().parent, Path(os.fsdecode(error.filename)).absolute()
    return not (named.is_relative_to(folder) or folder.is_relative_to(named))


def write_error(path: Path, error: BaseException) -> WriteError | None:
    """``error`` as a one-line ``WriteError`` naming ``path``, when the operating system is behind it; else None.

    Call it while the partial file is still on disk: a write that failed on a device that is now (nearly) full
    is taken to have failed for want of space, whatever type the writing library raised (torch.save raises a
    RuntimeError that names no cause)."""
    if isinstance(error, WriteError) or not isinstance(error, Exception) or _about_another_file(error, path):
        return None
    code = _errno_of(error)
    free = _free_bytes(path)
    if code is None and not isinstance(error, OSError) and free is not None and free < FULL:
        code = errno.ENOSPC
    if code is None or (not isinstance(error, OSError) and code not in _CAUSES):
        return None
    cause = _CAUSES.get(code) or os.strerror(code)
    if code == errno.ENOSPC and free is not None:
        cause += f" ({free:,} bytes free)"
    elif isinstance(error, OSError) and isinstance(error.filename, (str, bytes)):
        named = Path(os.fsdecode(error.filename))
        if Path(path).absolute().parent.is_relative_to(named.absolute()):  # a folder above it could not be made
            cause += f" (making the folder {named})"
    return WriteError(path, code, f"cannot write {path}: {cause}")


def write_file(path: Path, write: Callable[[str], None]) -> None:
    """Call ``write(tmp_path)`` in the same folder, fsync, then rename over ``path``."""
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        os.chmod(tmp, 0o666 & ~_umask())  # the permissions a plain open() would give, not mkstemp's 0600
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        translated = write_error(path, e)
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        if translated is not None:
            raise translated from e
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
    tmp = None
    try:
        check_replaceable(out_dir, marker)
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
        os.chmod(tmp, 0o777 & ~_umask())  # as mkdir would make it, not mkdtemp's 0700
        fill(tmp)
        for f in tmp.rglob("*"):  # some writers (safetensors) make their files 0600: share them as open() would
            if f.is_file():
                os.chmod(f, 0o666 & ~_umask())
        _move_into_place(tmp, out_dir)
    except BaseException as e:
        translated = write_error(out_dir, e)  # before the partial folder goes: a full disk is seen full
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        if translated is not None:
            raise translated from e
        raise
    return out_dir


def _move_into_place(tmp: Path, out_dir: Path) -> None:
    if not out_dir.exists():
        os.replace(tmp, out_dir)
        return
    old = out_dir.with_name(f".{out_dir.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    os.replace(out_dir, old)
    try:
        os.replace(tmp, out_dir)
    except BaseException:
        os.replace(old, out_dir)  # the old folder goes back where it was
        raise
    try:
        shutil.rmtree(old)
    except OSError as e:  # the new folder is in place; only the old copy is left over
        warnings.warn(f"{out_dir}: written, but the folder it replaced could not be removed ({e}); "
                      f"it is kept as {old}, delete it by hand", stacklevel=3)


def save_npy(path: Path, array) -> None:
    import numpy as np

    def write(tmp):
        with open(tmp, "wb") as f:
            np.save(f, array)

    write_file(path, write)
