"""One writer per run folder: a second run is refused, a killed run's lock and temp files do not linger."""

import os
import signal
import socket
import subprocess
import sys

import pytest

from gankit.cli import main
from gankit.config import ConfigError
from gankit.train import checkpoint
from gankit.train.lock import RunLock, RunLocked
from gankit.train.run import open_run
from tests.helpers import FAST

COMMON = dict(recipe="nsgan", data="ring8", batch=16, sets=FAST + ["G.hidden=16", "D.hidden=16"],
              progress_bar=False, log=lambda s: None)


def hold_in_another_process(run):
    """A process holding ``run``'s lock, as a running ``gankit train`` does; the caller kills it. It loads
    ``train/lock.py`` alone (standard library only), so it starts without importing torch."""
    import gankit.train.lock

    script = ("import importlib.util, sys, time; "
              f"spec = importlib.util.spec_from_file_location('lock', {gankit.train.lock.__file__!r}); "
              "lock = importlib.util.module_from_spec(spec); spec.loader.exec_module(lock); "
              f"held = lock.RunLock({str(run)!r}).acquire(); print('held', flush=True); time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_second_run_on_the_same_folder_is_refused_naming_the_holder(tmp_path, capsys):
    run = tmp_path / "run"
    for resume in (None, "auto"):  # a new run into the folder, then a resumed one
        holder = hold_in_another_process(run)
        try:
            args = ["--resume", resume] if resume else ["--recipe", "nsgan", "--data", "ring8"]
            code = main(["train", *args, "--steps", "4", "--out", str(run), "--no-progress"])
            err = capsys.readouterr().err.strip()
            assert code == 2 and err.count("\n") == 0, err
            assert err.startswith(f"gankit train: error: --out {run}: in use by another gankit train (PID {holder.pid} ")
            if resume:  # nothing new written
                assert checkpoint.list_checkpoints(run) == [checkpoint.checkpoint_path(run, 2)]
            else:
                assert [p.name for p in run.iterdir()] == [".lock"]
        finally:
            holder.kill()
            holder.wait()
        if resume is None:
            open_run(steps=2, out=str(run), **COMMON).fit()
    # one process may open a run twice (inspect it, then train it): its Trainers share the lock
    first = open_run(steps=4, out=str(run), resume="auto", **{**COMMON, "sets": []})
    second = open_run(steps=4, out=str(run), resume="auto", **{**COMMON, "sets": []})
    first.close()
    second.fit()
    assert not (run / ".lock").exists()  # released when the last holder let go


def test_the_lock_of_a_killed_process_is_taken_over_and_said_so(tmp_path):
    run = tmp_path / "run"
    holder = hold_in_another_process(run)
    try:
        with pytest.raises(RunLocked, match=f"PID {holder.pid} "):
            RunLock(run).acquire()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert (run / ".lock").read_text().split()[0] == str(holder.pid)  # a SIGKILL leaves the file behind
    logged = []
    with RunLock(run, logged.append):
        assert logged == [f"{run / '.lock'}: taking over the lock of PID {holder.pid} on {socket.gethostname()}, "
                          f"which no longer runs (a run that was killed)"]
        assert (run / ".lock").read_text().split()[0] == str(os.getpid())
    assert not (run / ".lock").exists()


def test_the_lock_is_released_after_an_error_and_after_ctrl_c(tmp_path):
    run = tmp_path / "run"
    open_run(steps=4, out=str(run), **COMMON).fit()
    with pytest.raises(ConfigError, match="changed hyper-parameters"):  # refused after the lock was taken
        open_run(steps=8, out=str(run), resume="auto", **{**COMMON, "sets": ["G.lr=0.5"]})
    assert not (run / ".lock").exists()

    def ctrl_c(trainer, phase):
        raise KeyboardInterrupt
    trainer = open_run(steps=8, out=str(run), resume="auto", callbacks=[ctrl_c], **{**COMMON, "sets": []})
    with pytest.raises(KeyboardInterrupt):
        trainer.fit()
    assert not (run / ".lock").exists()


def test_temp_files_of_killed_writes_are_removed_on_start_only_by_the_lock_holder(tmp_path):
    run = tmp_path / "run"
    open_run(steps=4, out=str(run), **COMMON).fit()
    left = [run / "checkpoints" / ".ckpt-00000004.pt.k3x_9a0q.tmp", run / ".config.json.abcdefgh.tmp",
            run / "samples" / ".grid-0000000064.png.0a1b2c3d.tmp"]
    for p in left:
        p.write_bytes(b"half a file")
    keep = run / "notes.tmp"  # not one of gankit's temp files
    keep.write_text("mine")
    holder = hold_in_another_process(run)  # a live writer: its temp files may be in use
    try:
        with pytest.raises(RunLocked):
            open_run(steps=8, out=str(run), resume="auto", **{**COMMON, "sets": []})
        assert all(p.exists() for p in left)
    finally:
        holder.kill()
        holder.wait()
    logged = []
    trainer = open_run(steps=8, out=str(run), resume="auto", **{**COMMON, "sets": [], "log": logged.append})
    assert not any(p.exists() for p in left) and keep.exists()
    assert any(line.startswith("removed 3 temp files left by interrupted writes: ") for line in logged), logged
    trainer.fit()


def test_a_folder_holding_only_what_a_killed_start_left_is_still_trained_into(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / ".lock").write_text("999999999 elsewhere\n")  # killed before it wrote config.json
    (run / ".config.json.abcdefgh.tmp").write_text("{")
    trainer = open_run(steps=2, out=str(run), **COMMON)
    trainer.fit()
    assert checkpoint.latest(run) is not None and not (run / ".config.json.abcdefgh.tmp").exists()


def test_the_default_run_folder_skips_one_whose_run_is_still_starting(tmp_path):
    from gankit.train.run import fresh_run_dir

    base = tmp_path / "runs" / "nsgan-ring8"
    assert fresh_run_dir(base) == base
    holder = hold_in_another_process(base)  # started, no checkpoint yet
    try:
        assert fresh_run_dir(base) == base.with_name("nsgan-ring8-1")
    finally:
        holder.kill()
        holder.wait()


def test_the_temp_pattern_matches_what_atomic_writes_make(tmp_path):
    """The start-up clean-up finds exactly gankit.atomic's temp files: it must follow their naming."""
    from gankit.atomic import write_file
    from gankit.train.lock import TEMP_PATTERN

    names = []
    for name in ("ckpt-00000012.pt", "config.json", "grid-0000000064.png"):
        write_file(tmp_path / name, lambda tmp: (names.append(os.path.basename(tmp)), open(tmp, "w").close()))
    assert len(names) == 3 and all(TEMP_PATTERN.match(n) for n in names), names
    assert not any(TEMP_PATTERN.match(n) for n in ("ckpt-00000012.pt", "notes.tmp", ".lock", ".x.tmp"))
