"""Statistics: means per log line, gathered on the training device."""

import pytest
import torch

from gankit.train.stats import Stats


def test_flush_gives_the_mean_of_each_name_and_starts_over():
    stats = Stats()
    for v in (1.0, 2.0, 6.0):
        stats.report("Loss/G", torch.tensor(v))
    stats.report("Augment/p", 0.5)  # a Python number is fine too
    assert stats.flush() == {"Augment/p": 0.5, "Loss/G": pytest.approx(3.0)}
    assert stats.flush() == {}


def test_values_reported_from_the_cpu_join_the_training_device():
    """ADA's p or a Python number may be on the CPU while the losses are on the GPU ('meta' stands in for it)."""
    stats = Stats(device="meta")
    stats.report("Augment/p", torch.tensor(0.1))
    stats.report("Augment/p", torch.tensor(0.2, device="meta"))
    stats.report("Loss/D", torch.tensor(1.0, device="meta"))
    stats.report("Step/lr", 2e-4)
    names, means = stats.means()
    assert names == ["Augment/p", "Loss/D", "Step/lr"]
    assert means.device.type == "meta" and means.shape == (3,)
