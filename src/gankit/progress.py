"""Progress bars for work that takes more than a few seconds (evaluation, feature networks, synthetic sets).

Shown on stderr when it is a terminal and never otherwise, so logs, pipes and tests stay clean; they vanish
when done (``leave=False``), leaving the command's own output as it was.
"""

from __future__ import annotations

import sys


def bar(total: int, desc: str, unit: str = "img"):
    """A tqdm bar of ``total`` units; ``update(n)`` as work is done, ``close()`` (or ``with``) at the end."""
    from tqdm.auto import tqdm

    stream = sys.stderr
    shown = bool(getattr(stream, "isatty", lambda: False)())
    return tqdm(total=total, desc=desc, unit=unit, file=stream, disable=not shown, leave=False, dynamic_ncols=True,
                mininterval=0.5, unit_scale=True)
