"""What a run weighs, said before its first step: a folder of mixed sizes trains at a capped size that its start line
and config state, a checkpoint is as big as the start line says, and a step that cannot fit is refused by flag."""

import json

import numpy as np
import pytest
from PIL import Image

from gankit.cli import main
from gankit.train import checkpoint, footprint
from tests.helpers import FAST

SIZES = (20, 30, 45, 60, 80, 100, 120, 150, 180, 220, 260, 300)  # longer sides; the median is 110


@pytest.fixture(scope="module")
def mixed_sizes(tmp_path_factory):
    """A folder of 12 small JPEGs from 20 to 300 pixels, as a first user's folder of photos."""
    root = tmp_path_factory.mktemp("mixed")
    rng = np.random.default_rng(0)
    for i, side in enumerate(SIZES):
        pixels = rng.integers(0, 256, (side * 3 // 4, side, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / f"photo{i:02d}.jpg", quality=40)
    return root


def gankit(*args):
    return main([str(a) for a in args])


def test_a_folder_of_mixed_sizes_trains_at_a_capped_size_it_states_and_records(mixed_sizes, tmp_path, capsys):
    run = tmp_path / "run"
    assert gankit("train", "--recipe", "dcgan", "--data", f"folder:{mixed_sizes}", "--steps", 2, "--batch", 4,
                  "--out", run, "--no-progress", "--set", *FAST, "G.width=4", "D.width=4") == 0
    out = capsys.readouterr().out
    start = next(line for line in out.splitlines() if line.startswith("training dcgan"))
    assert " at 64x64 (3 channels) " in start  # not the 300x300 of the largest photo
    assert "20 to 300 px" in out and "data.resolution" in out  # the choice is said, with the key that changes it
    assert json.loads((run / "config.json").read_text())["data.resolution"] == 64  # what resume, eval, export read
    state = checkpoint.load(checkpoint.list_checkpoints(run)[-1])
    assert state["config"]["data.resolution"] == 64 and state["nets"]["G"]  # trained at the size recorded
    # the start line's sizes: parameters of each net, and a checkpoint within 10% of the file written
    assert "G 146K + D 44.6K parameters" in start
    stated = float(start.split("checkpoints ~")[1].split(" MB")[0]) * 1e6
    written = checkpoint.list_checkpoints(run)[-1].stat().st_size
    assert abs(stated - written) < 0.1 * written, (stated, written)


def test_a_step_that_cannot_fit_in_memory_is_refused_before_any_step_naming_the_flags(mixed_sizes, tmp_path, capsys,
                                                                                     monkeypatch):
    monkeypatch.setattr(footprint, "physical_memory", lambda: 40 << 20)  # a machine of 40 MB
    run = tmp_path / "run"
    code = gankit("train", "--recipe", "dcgan", "--data", f"folder:{mixed_sizes}", "--steps", 1, "--batch", 8,
                  "--out", run, "--no-progress", "--set", *FAST, "G.width=64", "D.width=64")
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert err.startswith("gankit train: error: one training step needs about ") and "batch 8 at 64x64" in err
    assert "more than this machine's 42 MB of memory" in err
    assert "--batch" in err and "--set data.resolution=N" in err
    assert not checkpoint.list_checkpoints(run) and not (run / "stats.jsonl").exists()  # no step was taken


def test_the_step_estimate_grows_with_the_batch_and_the_resolution(mixed_sizes, tmp_path):
    from gankit.train.run import open_run

    def estimate(batch, resolution):
        trainer = open_run(recipe="dcgan", data=f"folder:{mixed_sizes}", steps=1, batch=batch,
                           out=str(tmp_path / f"r{batch}-{resolution}"), progress_bar=False, log=lambda line: None,
                           sets=["G.width=4", "D.width=4", f"data.resolution={resolution}"])
        try:
            return footprint.step_bytes(trainer), footprint.checkpoint_bytes(trainer)
        finally:
            trainer.close()

    step_4, ckpt_4 = estimate(4, 32)
    step_8, ckpt_8 = estimate(8, 32)
    step_64px, ckpt_64px = estimate(4, 64)
    assert ckpt_4 == ckpt_8 < step_4 < step_8  # activations follow the batch; a checkpoint does not
    assert step_64px > step_4 and ckpt_64px > ckpt_4
