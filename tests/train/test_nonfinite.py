"""A run whose losses or weights turn NaN stops with a clear message and exit code 3, keeping finite checkpoints."""

import math

import pytest
import torch

from gankit.cli import main
from gankit.train import checkpoint
from gankit.train.checkpoint import NonFiniteError
from gankit.train.run import open_run
from gankit.train.stats import read_stats
from tests.helpers import FAST

NETS = ["G.hidden=16", "D.hidden=16"]
COMMON = dict(recipe="nsgan", data="ring8", batch=16, progress_bar=False)


def _all_finite(path):
    return checkpoint.first_nonfinite(checkpoint.weights(checkpoint.load(path))) is None


def test_a_diverging_run_stops_at_the_log_step_and_exits_3_without_a_checkpoint_of_nan(tmp_path, capsys):
    run = tmp_path / "run"
    code = main(["train", "--recipe", "nsgan", "--data", "ring8", "--steps", "200", "--batch", "16", "--out", str(run),
                 "--no-progress", "--set", *NETS, "log.every=5", "snapshot.every_kimg=1000", "ckpt.every_kimg=1000",
                 "G.lr=1e30", "D.lr=1e30"])
    out, err = capsys.readouterr()
    assert code == 3 and "done:" not in out
    assert err.count("\n") == 1 and err.startswith("gankit train: error: training diverged at step 5 of 200: Loss/")
    assert " is nan" in err and "no checkpoint was written" in err and "Lower the learning rates" in err
    assert checkpoint.list_checkpoints(run) == [] and not (run / ".lock").exists()
    last = read_stats(run)[-1]  # the diverged statistics are still logged, as evidence
    assert last["step"] == 5 and any(v == "nan" for v in last.values())


def test_non_finite_weights_are_caught_before_a_checkpoint_also_in_g_ema(tmp_path):
    """Losses never see G_ema: only the check of the weights before each checkpoint finds it broken."""
    def break_ema(trainer, phase):
        if trainer.step == 4 and phase.name == "G":
            next(trainer.G_ema.parameters()).data.fill_(math.inf)

    trainer = open_run(steps=20, out=str(tmp_path / "run"), callbacks=[break_ema], log=lambda s: None,
                       sets=FAST + NETS + ["ema.beta=0.9", "ckpt.every_kimg=0.048"], **COMMON)
    with pytest.raises(NonFiniteError, match=r"diverged at step 6 of 20: G_ema\.\S+ holds NaN or infinity; stopped, "
                                             r"the last checkpoint, .*ckpt-00000003\.pt, is finite"):
        trainer.fit()
    assert [checkpoint.load(p)["step"] for p in checkpoint.list_checkpoints(tmp_path / "run")] == [3]


def test_a_grid_of_nan_samples_is_not_written(tmp_path):
    logged = []

    def break_g(trainer, phase):
        if trainer.step == 2 and phase.name == "G":
            for p in trainer.objective.nets["G"].parameters():
                p.data.fill_(math.nan)

    trainer = open_run(steps=8, out=str(tmp_path / "run"), callbacks=[break_g], log=logged.append,
                       sets=FAST + NETS + ["snapshot.every_kimg=0.016", "log.every=4"], **COMMON)
    with pytest.raises(NonFiniteError, match="at step 4 of 8: Loss/"):
        trainer.fit()
    grids = sorted(p.name for p in (tmp_path / "run" / "samples").iterdir())
    assert grids == ["grid-0000000000.png", "grid-0000000016.png", "grid-0000000032.png"]
    assert sum("samples hold NaN or infinity" in line and "not written" in line for line in logged) == 1
    assert torch.isnan(next(trainer.objective.nets["G"].parameters())).all()
