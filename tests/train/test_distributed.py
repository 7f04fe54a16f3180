"""Two processes under torchrun (gloo, CPU): ranks stay identical and match one process with the same global batch."""

import json
import os
import subprocess
import sys

import pytest
import torch

from gankit.cli import main
from gankit.train import checkpoint

ARGS = ["--recipe", "nsgan", "--data", "ring8", "--batch", "64", "--no-progress", "--device", "cpu",
        "--set", "G.hidden=32,32", "D.hidden=32,32", "log.every=10", "snapshot.every_kimg=1000", "ckpt.every_kimg=1000"]
pytestmark = pytest.mark.slow  # torchrun starts two processes per test

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
    assert state["distributed"] == {"world": 2, "max_divergence": 0.0}


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


@pytest.mark.parametrize("recipe,data,extra", [
    # the balanced schedule skips steps from D's detection rates: the ranks must decide from the global rates
    # (thresholds inside the range the rates take in these 30 steps, so both decisions occur and a rank's own
    # half-batch rate would often decide otherwise)
    ("nsgan", "ring8", ["G.hidden=32,32", "D.hidden=32,32", "D.lr=5e-3", "balance=true", "balance.fake=0.75",
                        "balance.real=0.88", "balance.g=0.75"]),
    # ADA moves p from E[sign D(real)] over the global batch, as one process would (layer norm: batch norm's
    # statistics are per rank, so only a network without it can match one process; the target sits near r_t)
    ("dcgan", "images", ["G.width=4", "D.width=4", "G.norm=layer", "D.norm=layer", "augment.ada=true", "ada.kimg=2",
                         "ada.target=0.85"]),
    # R1's double backward on each rank's packed reals, then the one all-reduce: the global mean penalty;
    # and G's step through the graph each rank kept from its D step (reuse_fakes)
    ("nsgan", "ring8", ["G.hidden=32,32", "D.hidden=32,32", "r1=1", "tricks.pack=2", "reuse_fakes=true"]),
    # the relativistic pairing loss pairs each rank's reals with its fakes, and its G step reads reals too; R2's
    # double backward on the fakes is averaged like R1's
    ("nsgan", "ring8", ["G.hidden=32,32", "D.hidden=32,32", "loss=relativistic", "r1=1", "r2=1", "tricks.pack=2"]),
])
def test_data_driven_decisions_agree_with_one_process(tmp_path, small_images, recipe, data, extra):
    spec = f"folder:{small_images}" if data == "images" else data
    args = ["--recipe", recipe, "--data", spec, "--batch", "64", "--no-progress", "--device", "cpu",
            "--set", "log.every=10", "snapshot.every_kimg=1000", "ckpt.every_kimg=1000", *extra]
    torchrun(*args, "--steps", 30, "--out", tmp_path / "two")
    assert main(["train", *args, "--steps", "30", "--out", str(tmp_path / "one")]) == 0
    two, one = weights(tmp_path / "two", 30), weights(tmp_path / "one", 30)
    assert two["distributed"]["max_divergence"] == 0.0
    if "balance=true" in extra:  # both decisions were taken, for D and for G
        skipped = [json.loads(line) for line in (tmp_path / "one" / "stats.jsonl").read_text().splitlines()]
        assert any(0 < s.get("Skipped/D", 0) for s in skipped) and any(s.get("Skipped/D", 1) < 1 for s in skipped)
        assert any(0 < s.get("Skipped/G", 0) for s in skipped) and any(s.get("Skipped/G", 1) < 1 for s in skipped)
    if "augment.ada=true" in extra:
        assert 0 < one["objective"]["ada"]["p"] < 1  # p moved and did not saturate: agreeing on it is a real check
        assert torch.equal(two["objective"]["ada"]["p"], one["objective"]["ada"]["p"])
    for net in ("G", "D"):
        for key, value in one["nets"][net].items():
            assert torch.allclose(two["nets"][net][key], value, rtol=0, atol=TOLERANCE), (net, key)


def test_fastgan_per_sample_randomness_agrees_with_one_process(tmp_path, small_images):
    """G's noise, D's crop quadrants and DiffAugment are drawn per sample of the global batch (layer norm, as for ADA
    above). 10 steps: further on, a last-bit difference (first seen in one weight of G's first layer, with the
    randomness off too) grows through FastGAN's dynamics past the tolerance, by 1e-4 at step 30."""
    args = ["--recipe", "fastgan", "--data", f"folder:{small_images}", "--batch", "64", "--no-progress", "--device",
            "cpu", "--set", "log.every=5", "snapshot.every_kimg=1000", "ckpt.every_kimg=1000", "G.width=4", "D.width=4",
            "G.max_width=16", "D.max_width=16", "z_dim=16", "G.norm=layer", "D.norm=layer"]
    torchrun(*args, "--steps", 10, "--out", tmp_path / "two")
    assert main(["train", *args, "--steps", "10", "--out", str(tmp_path / "one")]) == 0
    two, one = weights(tmp_path / "two", 10), weights(tmp_path / "one", 10)
    assert two["distributed"]["max_divergence"] == 0.0
    for net in ("G", "D"):
        for key, value in one["nets"][net].items():
            assert torch.allclose(two["nets"][net][key], value, rtol=0, atol=TOLERANCE), (net, key)
    noise = [v for k, v in one["nets"]["G"].items() if k.endswith("noises.0.weight")]
    assert noise and all(v.abs().item() > 0 for v in noise)  # the noise was drawn and mattered


def test_sigterm_to_torchrun_stops_every_rank_at_the_same_log_step_with_a_checkpoint(tmp_path):
    import signal
    import time

    run = tmp_path / "stopped"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "gankit",
           "train", *ARGS, "--steps", "100000", "--out", str(run)]
    proc = subprocess.Popen(cmd, env={**os.environ, "OMP_NUM_THREADS": "1"}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 180
    while not ((run / "stats.jsonl").is_file() and (run / "stats.jsonl").read_text().count("\n") >= 2):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[0][-3000:]
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)  # torchrun passes it on to every rank
    out = proc.communicate(timeout=120)[0]
    assert "stopped by SIGTERM at step" in out, out[-3000:]
    state = checkpoint.load(checkpoint.latest(run))
    assert state["step"] % 10 == 0 and state["step"] >= 20  # at a log step (log.every=10), where ranks agree
    assert state["distributed"] == {"world": 2, "max_divergence": 0.0}



def _rank_with_its_own_state(rank, init_file, results):
    """Rank ``rank`` of two (gloo): equal parameters but batch-norm statistics from its own batch, and a layer
    whose parameters differ from rank 0's, as a broken seed would make them."""
    import torch.distributed as dist

    from gankit.train import distributed

    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=2)
    torch.manual_seed(0)
    bn = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    bn(torch.randn(8, 3, generator=torch.Generator().manual_seed(rank)))
    torch.manual_seed(rank)
    other = torch.nn.Linear(3, 4)
    before = distributed.max_divergence([bn]), distributed.max_divergence([other])
    distributed.broadcast_state([bn, other])
    after = distributed.max_divergence([bn, other])
    results.put((rank, before, after, {k: v.tolist() for k, v in {**bn.state_dict(), **other.state_dict()}.items()}))
    dist.destroy_process_group()


def test_ranks_take_rank_0s_parameters_and_buffers_and_the_divergence_check_covers_buffers(tmp_path):
    import torch.multiprocessing as mp

    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    procs = [ctx.Process(target=_rank_with_its_own_state, args=(r, tmp_path / "init", results)) for r in (0, 1)]
    for p in procs:
        p.start()
    got = {r: rest for r, *rest in (results.get(timeout=120) for _ in procs)}
    for p in procs:
        p.join(timeout=60)
    (buffers_differ, params_differ), after, state = got[1]
    assert buffers_differ > 0 and params_differ > 0  # the check sees batch-norm statistics, not parameters only
    assert after == 0.0 and state == got[0][2]  # rank 0's, everywhere


@pytest.mark.slow  # torchrun starts two processes
@pytest.mark.parametrize("recipe,extra", [
    # the pyramid's levels train on each rank's slice of the real pyramid, summed into one loss per net
    ("lapgan", ["G.width=4", "D.width=4", "G.hidden=16", "D.hidden=16"]),
    # both stages, the switch to stage II with stage I frozen, CA noise and wrong classes drawn per sample. No norm:
    # batch norm's statistics are per rank, and a bias right before a layer norm has a true gradient of 0, whose
    # rounding noise Adam turns into steps of +-lr that differ with the order of the sums (up to 1e-3 in 12 steps)
    ("stackgan", ["G.width=4", "D.width=4", "G.norm=none", "D.norm=none", "stackgan.schedule=sequential",
                  "stackgan.c_dim=8"]),
])
def test_composite_generators_in_two_processes_equal_one(tmp_path, small_images, recipe, extra):
    args = ["--recipe", recipe, "--data", f"folder:{small_images}", "--batch", "16", "--no-progress", "--device", "cpu",
            "--set", "log.every=5", "snapshot.every_kimg=1000", "ckpt.every_kimg=1000", *extra]
    torchrun(*args, "--steps", 12, "--out", tmp_path / "two")
    assert main(["train", *args, "--steps", "12", "--out", str(tmp_path / "one")]) == 0
    two, one = weights(tmp_path / "two", 12), weights(tmp_path / "one", 12)
    assert two["distributed"]["max_divergence"] == 0.0 and one.get("stage") == two.get("stage")
    for net in ("G", "D"):
        for key, value in one["nets"][net].items():
            assert torch.allclose(two["nets"][net][key], value, rtol=0, atol=TOLERANCE), (recipe, net, key)
