"""Ctrl-C and SIGTERM during training: finish the current step, write a checkpoint, then stop.

A signal that lands in the middle of a step would leave D updated and G not; stopping at a step
boundary keeps the checkpoint exact, so ``--resume auto`` continues as if nothing happened. A
second signal aborts at once, as it would without gankit. Cluster schedulers send SIGTERM before
they preempt a job, so the same path saves a preempted run.
"""

from __future__ import annotations

import signal
import threading

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequest:
    """While entered (in the main thread), the first SIGINT/SIGTERM only sets ``signal``; a second one raises."""

    def __init__(self):
        self.signal: int | None = None
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
        if self.signal is not None:
            raise KeyboardInterrupt  # asked twice: stop now, checkpoint or not
        self.signal = signum

    @property
    def requested(self) -> bool:
        return self.signal is not None

    @property
    def exit_code(self) -> int:
        """The shell's code for a process ended by this signal (130 for Ctrl-C, 143 for SIGTERM)."""
        return 128 + int(self.signal or 0)
