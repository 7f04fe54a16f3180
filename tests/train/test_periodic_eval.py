"""Evaluation during training: metrics in the logs and the best checkpoint kept."""

import json

import pytest

from gankit.config import ConfigError
from gankit.train import checkpoint
from gankit.train.run import open_run
from gankit.train.stats import read_stats
from tests.helpers import FAST, small_nets


def test_metrics_are_logged_and_the_best_checkpoint_kept(tmp_path):
    trainer = open_run(recipe="nsgan", data="ring8", steps=60, batch=50, out=str(tmp_path / "r"), progress_bar=False,
                       log=lambda s: None,
                       sets=FAST + ["eval.every_kimg=1", "eval.n=500", "eval.best=hq_percent"])
    trainer.fit()
    evals = [r for r in read_stats(trainer.run_dir) if "Metrics/hq_percent" in r]
    assert [r["kimg"] for r in evals] == [1.0, 2.0, 3.0]
    best = json.loads((trainer.run_dir / "checkpoints" / "best.json").read_text())
    assert best["metric"] == "hq_percent"
    assert best["value"] == max(r["Metrics/hq_percent"] for r in evals)
    state = checkpoint.load(trainer.run_dir / "checkpoints" / "best.pt")
    assert state["step"] == best["step"]
    # best.pt is not one of the rotating checkpoints that --resume auto picks
    assert checkpoint.latest(trainer.run_dir).name == "ckpt-00000060.pt"


def test_unknown_best_metric_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="eval.best=sharpness"):
        open_run(recipe="nsgan", data="ring8", steps=2, out=str(tmp_path / "r"), progress_bar=False,
                 log=lambda s: None, sets=["eval.every_kimg=1", "eval.best=sharpness"]).fit()


@pytest.mark.parametrize("data,sets,message", [
    ("ring8", ["eval.metrics=fd"], "--metrics fd: not defined for 2-D data"),
    ("fashion-mnist:test", ["eval.metrics=xyz"], "--metrics xyz: unknown"),
    ("fashion-mnist:test", ["eval.metrics=cacc"], "--metrics cacc: need a class-conditional generator"),
    ("fashion-mnist:test", ["eval.features=foo"], "--features foo: unknown"),
    ("fashion-mnist:test", ["eval.features=classifier:no-such-folder"], "no-such-folder: missing config.json"),
    ("fashion-mnist:test", ["eval.n=4"], "--metrics pr/dc: each sample's 5 nearest neighbours"),
    ("fashion-mnist:test", ["eval.metrics=fd,cas"], "--metrics cas: trains two classifiers per evaluation"),
])
def test_evaluation_that_cannot_run_is_refused_before_training(tmp_path, data, sets, message):
    with pytest.raises(ConfigError, match=r"^evaluation during training \(--set eval\.every_kimg=0\.5.*" + message):
        open_run(recipe="dcgan", data=data, steps=4, batch=16, out=str(tmp_path / "r"), progress_bar=False,
                 log=lambda s: None, sets=FAST + small_nets("dcgan", data=data) + ["eval.every_kimg=0.5", *sets])
    assert not (tmp_path / "r").exists()


def test_a_tiny_interval_evaluates_every_step_instead_of_never(tmp_path):
    trainer = open_run(recipe="nsgan", data="ring8", steps=3, batch=16, out=str(tmp_path / "r"), progress_bar=False,
                       log=lambda s: None, sets=FAST + ["eval.every_kimg=0.0004", "eval.n=100"])
    trainer.fit()
    assert [r["step"] for r in read_stats(trainer.run_dir) if "Metrics/hq_percent" in r] == [1, 2, 3]


def test_a_best_measured_in_another_feature_space_is_replaced_not_compared(tmp_path):
    run, sets = tmp_path / "r", FAST + ["eval.every_kimg=1", "eval.n=500", "eval.best=hq_percent"]
    open_run(recipe="nsgan", data="ring8", steps=20, batch=50, out=str(run), progress_bar=False, log=lambda s: None,
             sets=sets).fit()
    unbeatable = {"metric": "hq_percent", "value": 100.0, "step": 1, "features_sha256": "0123456789abcdef"}
    (run / "checkpoints" / "best.json").write_text(json.dumps(unbeatable))
    logged = []
    open_run(recipe="nsgan", data="ring8", steps=40, batch=50, out=str(run), resume="auto", progress_bar=False,
             log=logged.append, sets=sets).fit()
    best = json.loads((run / "checkpoints" / "best.json").read_text())
    assert best["value"] < 100.0 and best["step"] == 40 and best["features_sha256"] is None  # modes: no features
    assert any("another feature space" in line for line in logged)


def test_evaluation_on_the_training_folder_decodes_it_once(tmp_path, small_images, monkeypatch):
    """A folder run evaluates on its training images: the data training loaded, not a second decoding of the folder."""
    from gankit import data as datasets

    loads = []
    real_load = datasets.load
    monkeypatch.setattr(datasets, "load", lambda spec, **kw: loads.append(spec) or real_load(spec, **kw))
    trainer = open_run(recipe="dcgan", data=f"folder:{small_images}", steps=4, batch=8, out=str(tmp_path / "r"),
                       progress_bar=False, log=lambda s: None,
                       sets=FAST + small_nets("dcgan") + ["eval.every_kimg=0.016", "eval.metrics=pr", "eval.n=16",
                                                          "eval.features=pixels"])
    trainer.fit()
    assert len([r for r in read_stats(trainer.run_dir) if "Metrics/precision" in r]) == 2
    assert loads == [f"folder:{small_images}"]


def test_periodic_evaluation_imports_no_run_assembly():
    """Evaluation during training reads data through ``data.from_config``: no cycle back through ``train.run``."""
    import subprocess
    import sys

    code = ("import sys; from gankit.config import TRAINER_DEFAULTS; from gankit.train.periodic_eval import PeriodicEval; "
            "import gankit.train.trainer; PeriodicEval({**TRAINER_DEFAULTS, 'data': 'ring8'}, 'cpu').data(); "
            "print('gankit.train.run' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"
