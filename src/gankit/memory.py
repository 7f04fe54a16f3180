"""How much memory this machine has, so a size from a flag or a file is refused before it is allocated,
rather than ending in a traceback or a machine swapping itself to a standstill."""

from __future__ import annotations

import os

FALLBACK = 1 << 40  # where the OS does not say (not Linux or macOS): 1 TiB, more than any likely machine


def physical_memory() -> int:
    """Bytes of RAM (``SC_PHYS_PAGES * SC_PAGE_SIZE``), or ``FALLBACK`` where the OS does not tell."""
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows) or no such name
        return FALLBACK
    return total if total > 0 else FALLBACK


def size_text(nbytes: float) -> str:
    """``nbytes`` for a message: 1.5 GB, 2,048 TB."""
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if nbytes >= scale:
            return f"{nbytes / scale:,.{1 if nbytes < 10 * scale else 0}f} {unit}"
    return f"{nbytes:,.0f} bytes"


def too_big(nbytes: float) -> str | None:
    """Why ``nbytes`` cannot be held in memory here (a clause for a message), or None when it fits."""
    have = physical_memory()
    if nbytes <= have:
        return None
    amount = "more memory than torch can address" if nbytes == float("inf") else f"about {size_text(nbytes)} of memory"
    return f"{amount}, more than this machine's {size_text(have)}"
