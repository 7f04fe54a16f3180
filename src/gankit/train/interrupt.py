"""Ctrl-C and SIGTERM during ``gankit train``: finish the current step, write a checkpoint, then stop.

A signal that lands in the middle of a step would leave D updated and G not; stopping at a step
boundary keeps the checkpoint exact, so ``--resume auto`` continues as if nothing happened.
Cluster schedulers send SIGTERM before they preempt a job (sometimes more than once, and torchrun
passes it on too), so repeated SIGTERMs still wait for the checkpoint; a second Ctrl-C aborts at
once, as it would without gankit.
"""

from __future__ import annotations

import signal
import threading
from typing import Callable

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequest:
    """While entered (in the main thread), the first SIGINT/SIGTERM only sets ``signal`` and calls ``notify``."""

    def __init__(self, notify: Callable[[int], None] = lambda signum: None):
        self.signal: int | None = None
        self._notify = notify
        self._previous: dict = {}

    def __enter__(self) -> "StopRequest":
        if threading.current_thread() is threading.main_thread():  # Python delivers signals to the main thread only
            self._previous = {s: signal.signal(s, self._handle) for s in SIGNALS}
        return self

    def __exit__(self, *exc) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        self._previous = {}

    def _handle(self, signum, frame) -> None:
        if self.signal is None:
            self.signal = signum
            self._notify(signum)
        elif signum == signal.SIGINT:
            raise KeyboardInterrupt  # Ctrl-C twice: stop now, checkpoint or not

    @property
    def requested(self) -> bool:
        return self.signal is not None


def exit_code(signum: int) -> int:
    """The shell's code for a process ended by ``signum`` (130 for Ctrl-C, 143 for SIGTERM)."""
    return 128 + signum
