"""One writer per run folder: ``RUN/.lock`` names the process that trains into it.

Two ``gankit train`` on one ``--out`` would overwrite each other's checkpoints and interleave
``stats.jsonl`` while both report success, so the second is refused. The lock is an ``flock`` on
``RUN/.lock``: the kernel drops it when its process dies, even by SIGKILL, so a crashed run never
blocks the next one; the file's text (PID and host) only serves the messages. Where the file system
has no ``flock`` (some network mounts), a lock whose PID no longer runs on this host is taken over.
The lock belongs to the process: Trainers of one process (a script that opens a run twice, to inspect
it and then train) share it, and it is freed when the last of them releases it.

Holding the lock is also what makes it safe to delete the temp files an interrupted atomic write
left behind: no other process can be writing them.
"""

from __future__ import annotations

import errno
import os
import re
import socket
from pathlib import Path
from typing import Callable

from gankit import run_folder

try:
    import fcntl
except ImportError:  # Windows: the PID check alone
    fcntl = None

LOCK_NAME = run_folder.LOCK
# gankit.atomic.write_file's temp files: ".NAME." + mkstemp's 8 random characters + ".tmp"
TEMP_PATTERN = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")
TEMP_FOLDERS = (".", run_folder.CHECKPOINTS, run_folder.SAMPLES)


_HELD: dict[str, list] = {}  # this process's locks: real path of the folder -> [fd, holders]


class RunLocked(FileExistsError):
    """Another process trains into the run folder; the message names it."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it runs
        return True
    return True


def _holder(text: str) -> tuple[int | None, str]:
    """(PID, host) from a lock file's text ``PID HOST``; (None, '') when unreadable."""
    parts = text.split()
    if len(parts) >= 2 and parts[0].isdigit():
        return int(parts[0]), parts[1]
    return None, ""


class RunLock:
    """``acquire()`` takes ``RUN/.lock`` or raises ``RunLocked``; ``release()`` (idempotent) frees and deletes it."""

    def __init__(self, run_dir: Path, log: Callable[[str], None] = print):
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK_NAME
        self.log = log
        self._key: str | None = None
        self._made_folder = False

    @property
    def held(self) -> bool:
        return self._key is not None

    def acquire(self) -> "RunLock":
        if self.held:
            return self
        key = os.path.realpath(self.run_dir)
        if key in _HELD:  # this process holds it already
            _HELD[key][1] += 1
            self._key = key
            return self
        self._made_folder = not self.run_dir.exists()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        host, me = socket.gethostname(), os.getpid()
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                if not self._lock(fd):
                    pid, where = _holder(_read(fd))
                    who = f"PID {pid} on {where}" if pid is not None else "another process"
                    raise RunLocked(f"--out {self.run_dir}: in use by another gankit train ({who} holds "
                                    f"{self.path}); wait for it to finish or choose another --out")
                if not _same_file(fd, self.path):  # the holder released (deleted) it between our open and lock
                    os.close(fd)
                    continue
            except BaseException:
                os.close(fd)
                raise
            break
        pid, where = _holder(_read(fd))
        if pid is not None and pid != me:
            self.log(f"{self.path}: taking over the lock of PID {pid} on {where}, which no longer runs "
                     f"(a run that was killed)")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{me} {host}\n".encode(), 0)
        self._key = os.path.realpath(self.run_dir)
        _HELD[self._key] = [fd, 1]
        return self

    def _lock(self, fd: int) -> bool:
        """True when this process now holds the lock on ``fd``."""
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                return False
            except OSError as e:
                if e.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL):
                    raise
        pid, where = _holder(_read(fd))  # no flock here: trust a PID that still runs on this host
        return pid is None or pid == os.getpid() or (where == socket.gethostname() and not _alive(pid))

    def release(self) -> None:
        if self._key is None:
            return
        key, self._key = self._key, None
        _HELD[key][1] -= 1
        if _HELD[key][1] > 0:
            return
        fd = _HELD.pop(key)[0]
        try:
            if _same_file(fd, self.path):
                self.path.unlink()  # before unlocking: a waiting process then finds the file gone and retries
        except OSError:
            pass
        os.close(fd)  # closes the flock too
        if self._made_folder:  # refused before it wrote anything: leave no empty folder behind
            try:
                self.run_dir.rmdir()
            except OSError:
                pass

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()

    def __del__(self):  # a Trainer dropped without fit(): do not keep the folder locked
        try:
            self.release()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


def _read(fd: int) -> str:
    try:
        return os.pread(fd, 256, 0).decode(errors="replace")
    except OSError:
        return ""


def _same_file(fd: int, path: Path) -> bool:
    try:
        a, b = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def remove_stale_temp_files(run_dir: Path, log: Callable[[str], None] = print) -> list[Path]:
    """Delete the temp files that atomic writes killed mid-way left in the run folder; call it holding the lock."""
    removed = []
    for sub in TEMP_FOLDERS:
        folder = Path(run_dir) / sub
        if not folder.is_dir():
            continue
        for p in sorted(folder.iterdir()):
            if TEMP_PATTERN.match(p.name) and p.is_file():
                p.unlink(missing_ok=True)
                removed.append(p)
    if removed:
        log(f"removed {len(removed)} temp file{'s' * (len(removed) > 1)} left by interrupted writes: "
            f"{', '.join(p.name for p in removed)}")
    return removed
