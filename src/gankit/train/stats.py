"""Training statistics: ``report()`` from anywhere without a host sync; one collector writes JSONL and TensorBoard."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path

import torch

from gankit.atomic import write_error


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
        self.path = Path(run_dir) / "stats.jsonl"
        self._tb = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._tb = SummaryWriter(str(Path(run_dir) / "tensorboard"))
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


def read_stats(run_dir: Path) -> list[dict]:
    """Every logged line; a last line cut short (a kill or a full disk mid-write, or a writer still at it) is
    left out rather than failing the reader."""
    path = Path(run_dir) / "stats.jsonl"
    if not path.exists():
        return []
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines[:-1]]
    try:
        records += [json.loads(line) for line in lines[-1:]]
    except ValueError:
        pass
    return records
