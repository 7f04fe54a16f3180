"""The run folder's readers, which run beside a live training: a cut-short last line, a checkpoint rotated away
mid-read and a snapshot still being written never fail them."""

import json

import torch

from gankit import run_folder
from tests.test_export import tiny_state


def test_stats_from_a_line_on_and_a_half_written_last_line_left_out(tmp_path):
    lines = [json.dumps({"step": i, "Loss/G": 1.0 / (i + 1)}) for i in range(3)]
    run_folder.stats_path(tmp_path).write_text("\n".join(lines) + '\n{"step": 3, "Lo')
    assert [r["step"] for r in run_folder.read_stats(tmp_path)] == [0, 1, 2]
    assert [r["step"] for r in run_folder.read_stats(tmp_path, start=2)] == [2]
    assert run_folder.read_stats(tmp_path / "missing") == []


def test_snapshots_sorted_by_images_seen_and_temp_files_never_listed(tmp_path):
    for nimg in (640, 64, 6400):
        path = run_folder.snapshot_path(tmp_path, nimg)
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"png")
    (tmp_path / "samples" / ".grid-0000009999.png.abcd1234.tmp").write_bytes(b"half")
    assert [run_folder.snapshot_nimg(p) for p in run_folder.snapshots(tmp_path)] == [64, 640, 6400]
    assert run_folder.snapshots(tmp_path / "none") == []


def test_a_checkpoint_rotated_away_while_read_is_passed_over_silently(tmp_path, monkeypatch):
    good = run_folder.checkpoint_path(tmp_path, 1)
    good.parent.mkdir()
    torch.save(tiny_state(), good)
    gone = run_folder.checkpoint_path(tmp_path, 2)  # listed, then deleted by the trainer's rotation
    monkeypatch.setattr(run_folder, "list_checkpoints", lambda run: [good, gone])
    logged = []
    path, state = run_folder.load_newest(tmp_path, logged.append)
    assert path == good and state["step"] == 1 and logged == []
