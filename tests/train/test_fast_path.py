"""The fast path (fast.* keys): same training as the plain path, and torch.compile falls back to eager when it fails."""

import json
import shutil

import pytest
import torch

from gankit.config import ConfigError
from gankit.train import checkpoint, fast
from gankit.train.run import open_run
from tests.helpers import FAST, TINY_CONV, small_nets

PLAIN = ["fast.channels_last=off", "fast.compile=off", "amp=off"]


def _run(tmp_path, name, small_images, sets, steps=4, recipe="dcgan", log=None, **kw):
    data = kw.pop("data", f"folder:{small_images}")
    t = open_run(recipe=recipe, data=data, batch=16, steps=steps, out=str(tmp_path / name), progress_bar=False,
                 sets=FAST + sets, log=log or (lambda s: None), **kw)
    t.fit()
    return t


def _stats(run_dir):
    lines = [json.loads(x) for x in (run_dir / "stats.jsonl").read_text().splitlines()]
    return [{k: v for k, v in rec.items() if not k.startswith("Timing/")} for rec in lines]


def _assert_equal_state(a, b):
    for net in a.objective.nets:
        for (k, x), y in zip(a.objective.nets[net].state_dict().items(), b.objective.nets[net].state_dict().values()):
            assert torch.equal(x, y), (net, k)
    sa, sb = a.state_dict(), b.state_dict()
    for n in sa["optimizers"]:
        for i, st in sa["optimizers"][n]["state"].items():
            for k, v in st.items():
                assert torch.equal(v, sb["optimizers"][n]["state"][i][k]), (n, i, k)
    assert torch.equal(sa["feed"]["perm"], sb["feed"]["perm"]) and sa["feed"]["pos"] == sb["feed"]["pos"]
    assert torch.equal(sa["z_gen"], sb["z_gen"]) and (sa["step"], sa["nimg"]) == (sb["step"], sb["nimg"])


@pytest.fixture(scope="module")
def rgb_images(tmp_path_factory):
    """32 random 16x16 RGB images: with three channels, NHWC and NCHW batches really differ in memory."""
    from PIL import Image

    root = tmp_path_factory.mktemp("rgb") / "all"
    root.mkdir()
    pixels = torch.randint(0, 256, (32, 16, 16, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    for i, a in enumerate(pixels.numpy()):
        Image.fromarray(a).save(root / f"{i:02d}.png")
    return root.parent


def test_channels_last_trains_like_contiguous(tmp_path, rgb_images):
    sets = ["G.width=8", "D.width=8", "data.flip=true", "ema.beta=0.9"]
    plain = _run(tmp_path, "plain", rgb_images, sets + PLAIN)
    nhwc = _run(tmp_path, "nhwc", rgb_images, sets + ["fast.channels_last=on", "fast.compile=off", "amp=off"])
    assert not plain.channels_last and nhwc.channels_last
    conv = nhwc.objective.nets["D"].body[0].weight  # 3 input channels
    assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()
    real, _ = nhwc.feed.next()
    assert real.shape[1] == 3 and real.is_contiguous(memory_format=torch.channels_last) and not real.is_contiguous()
    start = open_run(recipe="dcgan", data=f"folder:{rgb_images}", batch=16, steps=1, out=str(tmp_path / "init"),
                     progress_bar=False, sets=FAST + sets + PLAIN, log=lambda s: None)
    for net in ("G", "D"):
        a, b = plain.objective.nets[net].state_dict(), nhwc.objective.nets[net].state_dict()
        moved = max((a[k].float() - v.float()).abs().max().item()
                    for k, v in start.objective.nets[net].state_dict().items())
        assert moved > 1e-4, "training moved nothing: the comparison would prove nothing"
        for k in a:
            # only rounding differs (measured: at most ~1e-7 after 4 steps); Adam could turn it into ~lr per
            # step on a near-zero gradient, so the bound per element is loose and the mean one tight
            assert torch.allclose(a[k].float(), b[k].float(), rtol=1e-3, atol=1e-4), (net, k)
        mean_diff = sum((a[k].float() - b[k].float()).abs().sum().item() for k in a) / sum(a[k].numel() for k in a)
        assert mean_diff < 1e-7, (net, mean_diff)
    # the checkpoint does not depend on the layout: weights are saved in the default one
    state = checkpoint.load(checkpoint.latest(nhwc.run_dir))
    assert all(v.is_contiguous() for v in state["nets"]["D"].values())
    assert all(v.is_contiguous() for v in state["G_ema"].values())
    losses_plain, losses_nhwc = _stats(plain.run_dir)[-1], _stats(nhwc.run_dir)[-1]
    assert losses_plain["Loss/D"] == pytest.approx(losses_nhwc["Loss/D"], rel=1e-3)


def test_auto_channels_last_only_for_convolutional_nets(tmp_path, small_images):
    conv = open_run(recipe="dcgan", data=f"folder:{small_images}", batch=16, steps=1, out=str(tmp_path / "c"),
                    progress_bar=False, sets=FAST + TINY_CONV, log=lambda s: None, device="cpu")
    mlp = open_run(recipe="nsgan", data="ring8", batch=16, steps=1, out=str(tmp_path / "m"), progress_bar=False,
                   sets=FAST, log=lambda s: None, device="cpu")
    assert conv.channels_last and not mlp.channels_last
    with pytest.raises(ConfigError, match="fast.channels_last=sometimes"):
        open_run(recipe="nsgan", data="ring8", batch=16, steps=1, out=str(tmp_path / "x"), progress_bar=False,
                 sets=FAST + ["fast.channels_last=sometimes"], log=lambda s: None)


def test_compile_that_fails_to_set_up_falls_back_to_eager(tmp_path, small_images, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("no compiler here")

    monkeypatch.setattr(torch, "compile", broken)
    logs = []
    t = _run(tmp_path, "fallback", small_images, TINY_CONV + ["fast.compile=on"], log=logs.append)
    assert not t.compiled and t.step == 4
    assert not any(fast.is_compiled(net) for net in t.objective.nets.values())
    assert [line for line in logs if "fast.compile" in line] == [
        "fast.compile: torch.compile failed (RuntimeError: no compiler here); training eagerly instead"]


def test_compile_that_fails_in_the_first_step_restores_the_state_and_trains_exactly_as_eager(
        tmp_path, small_images, monkeypatch):
    """The compiled G fails in the G phase, after D's optimizer step: everything of that attempt is undone."""
    calls = []

    def fails_at_the_fourth_call(fn, **kwargs):
        def compiled(*args, **kw):
            calls.append(1)
            if len(calls) == 4:  # D step: G (no grad), D(real), D(fake); G step: G -> fails here
                raise RuntimeError("backend compiler failed")
            return fn(*args, **kw)
        return compiled

    monkeypatch.setattr(torch, "compile", fails_at_the_fourth_call)
    sets = TINY_CONV + ["ema.beta=0.9", "data.flip=true", "augment.ada=true", "log.every=2"]
    logs = []
    failed = _run(tmp_path, "failed", small_images, sets + ["fast.compile=on"], log=logs.append)
    eager = _run(tmp_path, "eager", small_images, sets + ["fast.compile=off"])
    assert len(calls) == 4 and not failed.compiled
    assert sum("training eagerly" in line for line in logs) == 1
    _assert_equal_state(failed, eager)
    assert _stats(failed.run_dir) == _stats(eager.run_dir)


def _compiler_available():
    if not torch._dynamo.is_dynamo_supported():
        return "torch.compile is not supported on this Python/platform"
    if not any(shutil.which(c) for c in ("g++", "c++", "clang++")):
        return "no C++ compiler: inductor cannot build CPU kernels"
    return None


@pytest.mark.slow  # inductor builds C++ kernels
@pytest.mark.skipif(_compiler_available() is not None, reason=str(_compiler_available()))
def test_compile_on_cpu_compiles_and_trains_like_eager(tmp_path):
    from torch._dynamo.utils import counters

    torch._dynamo.reset()
    counters.clear()
    sets = ["G.hidden=16", "D.hidden=16"]
    common = dict(recipe="nsgan", data="ring8", steps=2, small_images=None)
    compiled = _run(tmp_path, "compiled", sets=sets + ["fast.compile=on"], **common)
    assert compiled.compiled and all(fast.is_compiled(n) for n in compiled.objective.nets.values())
    assert counters["stats"]["unique_graphs"] >= 2  # at least G's and D's forward went through the compiler
    eager = _run(tmp_path, "eager", sets=sets + ["fast.compile=off"], **common)
    for net in ("G", "D"):
        for k, v in eager.objective.nets[net].state_dict().items():
            assert torch.allclose(compiled.objective.nets[net].state_dict()[k], v, rtol=1e-4, atol=1e-5), (net, k)


@pytest.mark.skipif(_compiler_available() is not None, reason=str(_compiler_available()))
def test_gradient_penalty_under_compile_falls_back_to_eager(tmp_path):
    """Compiled graphs have no double backward: wgan-gp's first step fails, is undone and runs eagerly."""
    logs = []
    t = _run(tmp_path, "gp", None, ["G.hidden=16", "D.hidden=16", "n_critic=1", "fast.compile=on"], recipe="wgan-gp",
             data="ring8", steps=2, log=logs.append)
    assert not t.compiled and t.step == 2
    assert sum("training eagerly" in line and "double backward" in line for line in logs) == 1


def test_fast_keys_may_change_on_resume_and_old_checkpoints_get_their_defaults(tmp_path):
    common = dict(recipe="nsgan", data="ring8", batch=8, progress_bar=False, log=lambda s: None)
    run = tmp_path / "r"
    open_run(steps=2, out=str(run), sets=FAST, **common).fit()
    t = open_run(steps=4, out=str(run), resume="auto", sets=["fast.channels_last=on", "fast.compile=off"], **common)
    assert t.step == 2 and t.cfg["fast.channels_last"] == "on"
    # a checkpoint written before the fast.* keys existed
    path = checkpoint.latest(run)
    state = checkpoint.load(path)
    state["config"] = {k: v for k, v in state["config"].items() if not k.startswith("fast.")}
    checkpoint.save(state, path)
    t = open_run(steps=4, out=str(run), resume="auto", **common)
    assert t.cfg["fast.compile"] == "off" and t.step == 2
    t.fit()


@pytest.mark.parametrize("recipe", ["dcgan", "wgan-gp", "acgan", "sngan", "vae"])
def test_bf16_autocast_gives_the_fp32_losses_to_bf16_precision(tmp_path, small_images, recipe):
    """``amp=auto`` is bf16 on CUDA; the same autocast runs on a CPU, so every loss family is checked here.

    The first logged losses come from the same weights and batches, so they differ only by bf16 rounding.
    """
    runs = {amp: _run(tmp_path, amp, small_images, small_nets(recipe) + ["log.every=1", f"amp={amp}"], steps=2,
                      recipe=recipe)
            for amp in ("off", "bf16")}
    assert runs["bf16"].amp_dtype == torch.bfloat16 and runs["off"].amp_dtype is None
    first = {amp: {k: v for k, v in _stats(t.run_dir)[0].items() if k.startswith("Loss/")} for amp, t in runs.items()}
    assert first["off"].keys() == first["bf16"].keys() and first["off"]
    for key, value in first["off"].items():
        assert first["bf16"][key] == pytest.approx(value, rel=0.02, abs=0.005), key  # measured: <= 0.9%
    assert first["bf16"] != first["off"]  # autocast really ran in bf16
    for net in runs["bf16"].objective.nets.values():
        assert all(p.dtype == torch.float32 and torch.isfinite(p).all() for p in net.parameters())
