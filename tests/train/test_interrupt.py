"""Ctrl-C and SIGTERM stop training at a step boundary with a checkpoint, and the run resumes exactly."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from gankit.train import checkpoint
from gankit.train.interrupt import StopRequest
from gankit.train.run import open_run
from tests.helpers import FAST

COMMON = dict(recipe="nsgan", data="ring8", batch=16, sets=FAST + ["G.hidden=16", "D.hidden=16"],
              progress_bar=False, log=lambda s: None)


def test_the_first_signal_is_a_request_a_second_ctrl_c_aborts_and_handlers_come_back():
    before = signal.getsignal(signal.SIGINT)
    heard = []
    with StopRequest(heard.append) as stop:
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGTERM)  # a scheduler and torchrun may both send one: still a request
        assert stop.signal == signal.SIGTERM and heard == [signal.SIGTERM]
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is before


def interrupt_at(step: int):
    """A trainer callback that sends this process Ctrl-C during step ``step``'s first phase."""
    def callback(trainer, phase):
        if trainer.step == step - 1 and phase.name == "D":
            os.kill(os.getpid(), signal.SIGINT)
    return callback


def test_ctrl_c_finishes_the_step_checkpoints_and_the_resumed_run_equals_a_straight_one(tmp_path):
    straight = open_run(steps=12, out=str(tmp_path / "straight"), **COMMON)
    straight.fit()
    logged = []
    stopped = open_run(steps=12, out=str(tmp_path / "split"), callbacks=[interrupt_at(5)],
                       **{**COMMON, "log": logged.append})
    result = stopped.fit(stop_on_signal=True)
    assert result["interrupted"] == 130 and stopped.step == 5  # the step under way was completed, no more
    assert logged[-2:] == ["SIGINT: stopping after this step, with a checkpoint; Ctrl-C again aborts at once",
                           f"stopped by SIGINT at step 5 of 12, checkpoint written; continue with: gankit train "
                           f"--out {tmp_path / 'split'} --resume auto"]
    assert result["checkpoint"] == checkpoint.checkpoint_path(tmp_path / "split", 5)
    resumed = open_run(recipe=None, data=None, steps=12, out=str(tmp_path / "split"), resume="auto",
                       progress_bar=False, log=lambda s: None)
    assert resumed.step == 5 and "interrupted" not in resumed.fit()
    for name, net in straight.objective.nets.items():
        for (key, a), b in zip(net.state_dict().items(), resumed.objective.nets[name].state_dict().values()):
            assert torch.equal(a, b), (name, key)


def test_without_stop_on_signal_ctrl_c_interrupts_fit_as_usual(tmp_path):
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # Python's usual Ctrl-C, whatever an
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})           # earlier test in this process left
    try:
        trainer = open_run(steps=12, out=str(tmp_path / "r"), callbacks=[interrupt_at(3)], **COMMON)
        with pytest.raises(KeyboardInterrupt):
            trainer.fit()  # a script that calls fit in a loop must still stop on Ctrl-C
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.slow  # a gankit process
def test_sigterm_to_the_command_leaves_a_resumable_checkpoint(tmp_path):
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "gankit", "train", "--recipe", "nsgan", "--data", "ring8", "--steps", "100000",
           "--batch", "16", "--out", str(run), "--no-progress", "--set", "log.every=1", *FAST[1:]]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.monotonic() + 120
    while not ((run / "stats.jsonl").is_file() and (run / "stats.jsonl").read_text().count("\n") >= 3):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "stopped by SIGTERM at step" in out and f"gankit train --out {run} --resume auto" in out
    assert f"stopped: {run}" in out and "done:" not in out
    saved = checkpoint.load(checkpoint.latest(run))
    assert 3 <= saved["step"] < 100000


def test_outputs_are_listed_only_once_written_a_run_stopped_before_its_first_log_line_has_no_stats(tmp_path, capsys):
    from gankit.cli.train import print_outputs

    trainer = open_run(steps=100, out=str(tmp_path / "early"), callbacks=[interrupt_at(2)], **COMMON)
    result = trainer.fit(stop_on_signal=True)
    assert result["interrupted"] == 130 and trainer.step == 2 and not (trainer.run_dir / "stats.jsonl").exists()
    capsys.readouterr()
    print_outputs(trainer.run_dir, result)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"stopped: {trainer.run_dir}" and "stats" not in "\n".join(lines)
    assert [line.split()[0] for line in lines[1:]] == ["checkpoint"]
    assert all(Path(line.split()[1]).exists() for line in lines[1:])

    done = open_run(steps=4, out=str(tmp_path / "done"), **COMMON)
    print_outputs(done.run_dir, done.fit())
    stats = [line.split() for line in capsys.readouterr().out.splitlines() if line.startswith("  stats ")]
    assert stats == [["stats", str(done.run_dir / "stats.jsonl"), "(tensorboard", "--logdir",
                      f"{done.run_dir / 'tensorboard'})"]]
