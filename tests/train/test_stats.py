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


def test_a_cut_short_last_line_is_left_out_by_the_reader(tmp_path):
    from gankit.train.stats import StatsWriter, read_stats

    writer = StatsWriter(tmp_path, tensorboard=False)
    writer.write(10, 640, {"Loss/G": 1.5})
    writer.write(20, 1280, {"Loss/G": 1.25})
    with open(tmp_path / "stats.jsonl", "a") as f:
        f.write('{"step": 30, "kimg": 1.9')  # killed mid-line
    assert [r["step"] for r in read_stats(tmp_path)] == [10, 20]


def test_a_full_disk_while_logging_names_the_stats_file(tmp_path, monkeypatch):
    import builtins
    import errno

    from gankit.atomic import WriteError
    from gankit.train.stats import StatsWriter

    writer = StatsWriter(tmp_path, tensorboard=False)
    real_open = builtins.open

    def full(path, *args, **kwargs):
        if str(path).endswith("stats.jsonl"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", full)
    with pytest.raises(WriteError, match=r"cannot write .*stats\.jsonl: no space left"):
        writer.write(10, 640, {"Loss/G": 1.0})
