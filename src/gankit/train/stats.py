"""Training statistics: ``report()`` from anywhere without a host sync; one collector writes JSONL and TensorBoard.

One naming everywhere (stats.jsonl, TensorBoard, losses.png, the progress bar): ``Loss/...`` is a loss that a
network minimises (``Loss/G``, ``Loss/D/real``, ``Loss/D/fake``; an autoencoder's ``Loss/recon``, ``Loss/KL``,
``Loss/total``), ``Logits/...`` a mean raw output of a network (``Logits/D/real``, ``Logits/D/fake``: D's logits
on reals and on fakes, before any sigmoid). The progress bar shows the same quantities under short names
(``short_name``): ``G_loss``, ``D_loss_real``, ``D_logit_fake``...
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path

import torch

from gankit.atomic import write_error
from gankit.run_folder import TENSORBOARD, RENAMED, current_names, read_stats, stats_path  # noqa: F401 - readers share them


class Stats:
    """Accumulates detached scalar tensors; ``flush()`` moves them to the host once per log line.

    ``device`` is the training device: values reported from elsewhere (Python numbers, a state still
    on the CPU) join it at the flush, so they can be stacked and, under torchrun, all-reduced there.
    """

    def __init__(self, device: torch.device | str = "cpu"):
        self.device = torch.device(device)
        self._values: dict[str, list[torch.Tensor]] = defaultdict(list)

    def report(self, name: str, value: torch.Tensor | float) -> None:
        if isinstance(value, torch.Tensor):
            value = value.detach().float().reshape(())
        else:
            value = torch.tensor(float(value))
        self._values[name].append(value)

    def state(self) -> dict[str, list[torch.Tensor]]:
        """What has been reported since the last flush (for putting it back after a failed step)."""
        return {k: list(v) for k, v in self._values.items()}

    def restore(self, state: dict[str, list[torch.Tensor]]) -> None:
        self._values = defaultdict(list, {k: list(v) for k, v in state.items()})

    def means(self) -> tuple[list[str], torch.Tensor]:
        """The names reported since the last flush and their means, one tensor on ``device``."""
        names = sorted(self._values)
        return names, torch.stack([torch.stack([v.to(self.device) for v in self._values[n]]).mean() for n in names])

    def flush(self, world: int = 1) -> dict[str, float]:
        """Means of everything reported since the last flush (one device-to-host copy), averaged over ranks."""
        if not self._values:
            return {}
        names, means = self.means()
        if world > 1:
            from gankit.train.distributed import average

            means = average(means, world)
        self._values.clear()
        return dict(zip(names, means.cpu().tolist()))


class StatsWriter:
    """Writes one JSON object per line to ``stats.jsonl`` and the same scalars to TensorBoard."""

    def __init__(self, run_dir: Path, tensorboard: bool = True):
        self.path = stats_path(run_dir)
        self._tb = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._tb = SummaryWriter(str(Path(run_dir) / TENSORBOARD))
            except ImportError:  # TensorBoard is optional at run time; the JSONL log is always written
                self._tb = None

    def write(self, step: int, nimg: int, values: dict[str, float]) -> None:
        record = {"step": step, "kimg": nimg / 1000, **{k: (v if math.isfinite(v) else str(v)) for k, v in values.items()}}
        try:
            with open(self.path, "a") as f:
                f.write(json.dumps(record) + "\n")
        except OSError as e:  # a full disk names the file, as every other write does
            raise write_error(self.path, e) or e from e
        if self._tb is not None:
            for k, v in values.items():
                self._tb.add_scalar(k, v, global_step=nimg)
            self._tb.flush()

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()


def short_name(name: str) -> str:
    """The progress bar's name for a logged quantity: ``Loss/D/real`` -> ``D_loss_real``, ``Loss/recon`` ->
    ``recon_loss``, ``Logits/D/fake`` -> ``D_logit_fake``; the logged name itself for anything else."""
    kind, _, rest = name.partition("/")
    word = {"Loss": "loss", "Logits": "logit"}.get(kind)
    if word is None or not rest:
        return name
    net, _, part = rest.partition("/")
    return "_".join(p.replace("/", "_") for p in (net, word, part) if p)


MIN_LOG_LINES = 20  # a run logs at least this often, so even a short run's loss plot has a shape


def log_interval(steps: int, every: int) -> int:
    """Steps between log lines: ``log.every``, or fewer in a run too short for ``MIN_LOG_LINES`` lines at that
    spacing (every step below that many steps). Each log line is one device-to-host copy of the statistics,
    which a short run pays a few dozen times at most."""
    return max(1, min(every, steps // MIN_LOG_LINES))
