"""Two processes under torchrun (gloo, CPU): ranks stay identical and match one process with the same global batch."""

import os
import subprocess
import sys

import pytest
import torch

from gankit.cli import main
from gankit.train import checkpoint

ARGS = ["--recipe", "nsgan", "--data", "ring8", "--batch", "64", "--no-progress", "--device", "cpu",
        "--set", "G.hidden=32,32", "D.hidden=32,32", "log.every=10", "snapshot.every_kimg=1000", "ckpt.every_kimg=1000"]
# Summing two half-batch gradients in another order than one full batch changes the last bits only.
TOLERANCE = 1e-5


def torchrun(*args, nproc=2):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
           "-m", "gankit", "train", *map(str, args)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def weights(run, step):
    return checkpoint.load(run / "checkpoints" / f"ckpt-{step:08d}.pt")


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    run = tmp_path_factory.mktemp("ddp") / "two"
    out = torchrun(*ARGS, "--steps", 40, "--out", run)
    assert "2 processes" in out
    return run


def test_ranks_stay_identical(two_ranks):
    state = weights(two_ranks, 40)
    assert state["distributed"] == {"world": 2, "max_param_divergence": 0.0}


def test_two_ranks_equal_one_process_with_the_same_global_batch(two_ranks, tmp_path):
    assert main(["train", *ARGS, "--steps", "40", "--out", str(tmp_path / "one")]) == 0
    two, one = weights(two_ranks, 40), weights(tmp_path / "one", 40)
    for net in ("G", "D"):
        assert two["nets"][net].keys() == one["nets"][net].keys()
        for key, value in one["nets"][net].items():
            assert torch.allclose(two["nets"][net][key], value, rtol=0, atol=TOLERANCE), (net, key)
    # training moved the weights, so the agreement is not that of two untouched initialisations
    start = torch.load(tmp_path / "one" / "checkpoints" / "ckpt-00000040.pt", weights_only=True)["optimizers"]["G"]
    assert max(s["exp_avg"].abs().max().item() for s in start["state"].values()) > 0


def test_resume_under_torchrun_is_exact(two_ranks, tmp_path):
    run = tmp_path / "split"
    torchrun(*ARGS, "--steps", 20, "--out", run)
    torchrun("--out", run, "--resume", "auto", "--steps", 40, "--no-progress", "--device", "cpu")
    a, b = weights(two_ranks, 40), weights(run, 40)
    for net in ("G", "D"):
        for key in a["nets"][net]:
            assert torch.equal(a["nets"][net][key], b["nets"][net][key]), (net, key)
