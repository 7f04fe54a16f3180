"""Checkpoints: atomic writes, pruning, and loading that never runs code from the file."""

import os
import pickle

import pytest
import torch

from gankit.atomic import write_file
from gankit.train import checkpoint
from gankit.train.checkpoint import CheckpointError


class _RunsCode:
    """Unpickling this calls os.system: a checkpoint crafted to run code."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_crafted_checkpoint_is_refused_and_its_code_does_not_run(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"nets": {}, "config": {}, "payload": _RunsCode(marker)}, path)
    with pytest.raises(CheckpointError, match="evil.pt.*refused") as refused:
        checkpoint.load(path)
    assert not marker.exists()
    # one line naming what was found, and none of torch's advice to load it anyway or allow-list it
    message = str(refused.value)
    assert "\n" not in message and "system" in message
    for advice in ("weights_only", "safe_globals", "trusted source"):
        assert advice not in message
    # Unpickled without protection, the same payload does run: the test guards against a real danger.
    pickle.loads(pickle.dumps(_RunsCode(marker)))
    assert marker.exists()


def test_failed_write_keeps_the_previous_file(tmp_path):
    path = tmp_path / "ckpt.pt"
    checkpoint.save({"nets": {}, "config": {"recipe": "dcgan", "v": 1}, "step": 1, "nimg": 64}, path)

    def broken(tmp):
        with open(tmp, "wb") as f:
            f.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        write_file(path, broken)
    assert checkpoint.load(path)["config"] == {"recipe": "dcgan", "v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]


def test_truncated_and_foreign_files_name_the_file(tmp_path):
    good = tmp_path / "good.pt"
    checkpoint.save({"nets": {}, "config": {}}, good)
    cut = tmp_path / "cut.pt"
    cut.write_bytes(good.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="cut.pt"):
        checkpoint.load(cut)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(2)}, other)
    with pytest.raises(CheckpointError, match="other.pt.*not a gankit"):
        checkpoint.load(other)
    with pytest.raises(CheckpointError, match="missing.pt"):
        checkpoint.load(tmp_path / "missing.pt")
    text = tmp_path / "text.pt"
    for words in ("not a checkpoint\n", "epoch 3: loss 0.5\n"):  # the second raised a bare KeyError once
        text.write_text(words)
        with pytest.raises(CheckpointError, match="text.pt"):
            checkpoint.load(text)
    with pytest.raises(CheckpointError, match="good.pt.*no 'step', 'nimg'"):
        checkpoint.load(good)


def test_prune_keeps_the_newest(tmp_path):
    for step in (5, 10, 15, 20):
        checkpoint.save({"nets": {}, "config": {}}, checkpoint.checkpoint_path(tmp_path, step))
    checkpoint.prune(tmp_path, keep=2)
    assert [p.name for p in checkpoint.list_checkpoints(tmp_path)] == ["ckpt-00000015.pt", "ckpt-00000020.pt"]
    assert checkpoint.latest(tmp_path).name == "ckpt-00000020.pt"


@pytest.mark.parametrize("change,named", [({"config": [1]}, "'config'"), ({"step": 1.5}, "'step'"),
                                          ({"config": {"seed": 0}}, "its config names no recipe")])
def test_a_checkpoint_with_fields_of_the_wrong_type_is_refused(tmp_path, change, named):
    path = tmp_path / "odd.pt"
    torch.save({"nets": {}, "config": {"recipe": "dcgan"}, "step": 1, "nimg": 64, **change}, path)
    with pytest.raises(CheckpointError, match=f"odd.pt: not a gankit training checkpoint \\({named}"):
        checkpoint.load(path)


def _state(step, value=0.0):
    return {"nets": {"G": {"w": torch.full((2,), value)}}, "config": {"recipe": "dcgan"}, "step": step, "nimg": step}


def test_a_checkpoint_with_non_finite_weights_is_never_written(tmp_path):
    path = tmp_path / "ckpt.pt"
    checkpoint.save(_state(1), path)
    for state in (_state(2, float("nan")), {**_state(2), "G_ema": {"b": torch.tensor([1.0, float("inf")])}}):
        with pytest.raises(checkpoint.NonFiniteError, match="ckpt.pt: not written, (G.w|G_ema.b) holds NaN"):
            checkpoint.save(state, path)
    assert checkpoint.load(path)["step"] == 1 and [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]


def test_the_newest_checkpoint_that_loads_is_taken_and_each_damaged_one_named(tmp_path):
    for step in (10, 20, 30):
        checkpoint.save(_state(step), checkpoint.checkpoint_path(tmp_path, step))
    newest = checkpoint.checkpoint_path(tmp_path, 30)
    newest.write_bytes(newest.read_bytes()[:200])  # cut short
    checkpoint.checkpoint_path(tmp_path, 20).write_text("")  # emptied
    logged = []
    path, state = checkpoint.load_newest(tmp_path, logged.append)
    assert path == checkpoint.checkpoint_path(tmp_path, 10) and state["step"] == 10
    assert len(logged) == 2 and "skipping" in logged[0] and "ckpt-00000030.pt" in logged[0] \
        and "ckpt-00000020.pt" in logged[1]
    checkpoint.checkpoint_path(tmp_path, 10).write_bytes(b"PK junk")
    with pytest.raises(CheckpointError, match="no checkpoint can be loaded.*00000030.*00000020.*00000010"):
        checkpoint.load_newest(tmp_path, lambda s: None)
