"""The hot loop reads no tensor value on the host: on a GPU each such read would wait for the device.

On this CPU-only suite nothing waits, but every read that would become a device sync passes through
one of a few doors: ``aten._local_scalar_dense`` (``.item()``, ``float(t)``, ``bool(t)``, ``if t:``),
ops whose output size depends on values (``nonzero``, masks, ``unique``), and ``tolist``/``numpy``/
``cpu``. The probe below watches those doors during training steps and names the line of gankit
that opened one. Reads inside ``torch.optim`` are the optimizers' own step counters, which live on
the host for non-fused optimizers and on the device, never read, for the fused Adam used on CUDA.
"""

from __future__ import annotations

import collections
import traceback
from pathlib import Path

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

import gankit
from gankit.recipes import RECIPES
from gankit.train.run import open_run
from tests.helpers import FAST, TINY_CONV, small_nets

PACKAGE = str(Path(gankit.__file__).parent)
aten = torch.ops.aten
VALUE_READS = {aten._local_scalar_dense.default, aten.is_nonzero.default, aten.equal.default, aten.nonzero.default,
               aten.masked_select.default, aten._unique2.default, aten.unique_consecutive.default,
               aten.repeat_interleave.Tensor}
HOST_COPIES = ("tolist", "numpy", "cpu")


def _reader() -> str | None:
    """The innermost line of gankit on the stack (None when the read is the optimizer's own)."""
    frames = traceback.extract_stack()
    if any("/torch/optim/" in f.filename for f in frames):
        return None
    mine = [f for f in frames if f.filename.startswith(PACKAGE)]
    return f"{Path(mine[-1].filename).relative_to(PACKAGE)}:{mine[-1].lineno} {mine[-1].name}" if mine else None


class HostReads(TorchDispatchMode):
    """Counts, by the gankit line that asked, the reads of tensor values on the host inside the block."""

    def __init__(self, monkeypatch):
        super().__init__()
        self.reads: collections.Counter[str] = collections.Counter()
        for name in HOST_COPIES:
            original = getattr(torch.Tensor, name)

            def wrapper(t, *args, _original=original, **kwargs):
                self._note()
                return _original(t, *args, **kwargs)

            monkeypatch.setattr(torch.Tensor, name, wrapper)

    def _note(self) -> None:
        line = _reader()
        if line is not None:
            self.reads[line] += 1

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func in VALUE_READS:
            self._note()
        return func(*args, **(kwargs or {}))


def _trainer(tmp_path, recipe, data, sets):
    return open_run(recipe=recipe, data=data, batch=16, steps=100, out=str(tmp_path / "run"), progress_bar=False,
                    sets=FAST + ["log.every=1000"] + sets, log=lambda s: None, device="cpu")


def _reads_in_steps(trainer, monkeypatch, steps=2) -> collections.Counter:
    with HostReads(monkeypatch) as probe:
        for _ in range(steps):
            trainer.train_step()
    return probe.reads


def test_the_probe_sees_a_read(monkeypatch):
    x = torch.ones(3)
    with HostReads(monkeypatch) as probe:
        from gankit.train.stats import Stats

        stats = Stats()
        stats.report("x", x.sum())
        stats.flush()
    assert sum(probe.reads.values()) >= 1 and all("stats.py" in line for line in probe.reads)


@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_no_recipe_reads_values_during_steps(tmp_path, small_images, monkeypatch, recipe):
    trainer = _trainer(tmp_path, recipe, f"folder:{small_images}", small_nets(recipe, hidden="16"))
    assert _reads_in_steps(trainer, monkeypatch) == {}


@pytest.mark.parametrize("sets", [
    ["augment.policy=color,translation,cutout", "augment.ada=true", "ada.kimg=1", "r1=1", "tricks.pack=2",
     "tricks.label_smoothing=0.9", "D.minibatch_std=true", "ema.beta=0.9", "lr.decay=linear", "reuse_fakes=true"],
    ["tricks.noisy_labels=true", "tricks.flip_labels=0.05", "tricks.instance_noise=0.1",
     "tricks.historical_averaging=0.01", "D.minibatch_disc=4", "data.flip=true", "data.brightness=0.2"],
    ["tricks.feature_matching=true", "data.contrast=0.2"],
], ids=["augment-r1-pack-reuse", "labels-noise-averaging", "feature-matching"])
def test_tricks_read_no_values_during_steps(tmp_path, small_images, monkeypatch, sets):
    trainer = _trainer(tmp_path, "dcgan", f"folder:{small_images}", TINY_CONV + sets)
    assert _reads_in_steps(trainer, monkeypatch, steps=5) == {}  # ADA adjusts p at its 4th D step


def test_conditional_recipe_on_points_reads_no_values(tmp_path, monkeypatch):
    trainer = _trainer(tmp_path, "cgan", "ring8", ["G.hidden=16", "D.hidden=16"])
    assert _reads_in_steps(trainer, monkeypatch) == {}


def test_the_balanced_schedule_reads_its_rates_by_design(tmp_path, small_images, monkeypatch):
    """Deciding on the host whether to skip a phase needs the rates there: one read per phase, nowhere else."""
    trainer = _trainer(tmp_path, "dcgan", f"folder:{small_images}", TINY_CONV + ["balance=true"])
    reads = _reads_in_steps(trainer, monkeypatch, steps=3)
    assert {line.split()[-1] for line in reads} == {"_balance_d", "g_adversarial"}
    assert all(count == 3 for count in reads.values()), reads
