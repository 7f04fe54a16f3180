"""PGGAN: the level of detail follows images seen as the authors' schedule does, stages reset both optimizers at both
ends of every fade-in, reals are faded like G's output, and D's loss is WGAN-GP plus drift."""

import json
import math

import pytest
import torch

from gankit.config import ConfigError
from gankit.recipes import RECIPES
from gankit.recipes.base import DataInfo
from gankit.recipes.pggan import fade_reals, lod_at
from gankit.nets.pggan import downscale, upscale
from gankit.regularizers import gradient_penalty
from gankit.regularizers.batch_random import BatchRandom
from gankit.train.run import default_config
from gankit.train.stats import read_stats
from tests.helpers import FAST

INFO = DataInfo("image", (1, 16, 16))
TINY = {"G.fmap_base": 32, "D.fmap_base": 32, "G.fmap_max": 16, "D.fmap_max": 16, "z_dim": 8}


class Ctx:
    """A hand-made StepContext at ``nimg`` images seen: a fixed real batch and latents, seeded per-sample randomness."""

    batch, progress = 4, 0.0

    def __init__(self, nimg=0, seed=0):
        g = torch.Generator().manual_seed(123)
        self.nimg = nimg
        self.x = torch.rand(4, 1, 16, 16, generator=g) * 2 - 1
        self.zz = torch.randn(4, 8, generator=g)
        self.generator = BatchRandom(torch.Generator().manual_seed(seed))
        self.reported = {}

    def real(self):
        return self.x, None

    def z(self, n):
        return self.zz[:n]

    def report(self, name, value):
        self.reported[name] = value

    def mean_over_ranks(self, value):
        return value


def objective(info=INFO, **changes):
    return RECIPES["pggan"].build({**default_config("pggan", "x"), **TINY, "batch": 4, "steps": 100, **changes}, info)


def test_defaults_follow_the_authors_code():
    cfg = RECIPES["pggan"].defaults
    assert (cfg["loss"], cfg["gp"], cfg["pggan.drift"], cfg["n_critic"]) == ("wasserstein", 10.0, 0.001, 1)
    assert (cfg["G.lr"], cfg["D.lr"], cfg["G.betas"], cfg["D.betas"]) == (1e-3, 1e-3, [0.0, 0.99], [0.0, 0.99])
    assert (cfg["ema.beta"], cfg["ema.rampup"], cfg["z_dim"], cfg["batch"]) == (0.999, 0.0, 512, 16)
    assert (cfg["G.fmap_base"], cfg["G.fmap_max"], cfg["D.mbstd_group"], cfg["pggan.reset_opt"]) == (8192, 512, 4, True)
    assert cfg["pggan.phase_kimg"] == 0 and cfg["pggan.batch_max"] == 0  # chosen from the run


def _authors_lod(kimg, resolution_log2, training_kimg, transition_kimg):
    """train.py's TrainingSchedule (lod_initial_resolution 4), in thousands of images."""
    phase_dur = training_kimg + transition_kimg
    phase_idx = int(math.floor(kimg / phase_dur)) if phase_dur > 0 else 0
    phase_kimg = kimg - phase_idx * phase_dur
    lod = resolution_log2 - math.floor(math.log2(4)) - phase_idx
    lod -= max(phase_kimg - training_kimg, 0.0) / transition_kimg
    return max(lod, 0.0)


def test_lod_follows_the_authors_schedule():
    for kimg in [0, 1, 300, 600, 600.5, 750, 900, 1199, 1200, 1800, 2100, 5000, 9599, 9600, 9601, 12000, 19000]:
        assert lod_at(round(kimg * 1000), 8, 600_000) == pytest.approx(_authors_lod(kimg, 10, 600, 600), abs=1e-12)
    table = {0: 8.0, 600_000: 8.0, 900_000: 7.5, 1_200_000: 7.0, 1_950_000: 6.75, 9_600_000: 0.0, 11_000_000: 0.0}
    assert {n: lod_at(n, 8, 600_000) for n in table} == table


def test_stages_reset_both_optimizers_at_both_ends_of_every_fade_and_batch_by_resolution():
    obj = objective(DataInfo("image", (3, 128, 128)), batch=16, **{"pggan.phase_kimg": 0.5})
    stages = obj.stages()
    assert [s.name for s in stages] == ["4x4 stable"] + [f"{r}x{r} {k}" for r in (8, 16, 32, 64, 128)
                                                          for k in ("fade-in", "stable")]
    assert [s.batch for s in stages] == [128] + [b for b in (128, 128, 64, 32, 16) for _ in (0, 1)]  # minibatch_dict
    assert stages[0].reset == () and all(s.reset == ("G", "D") for s in stages[1:])
    for s in stages[1:]:
        fade = s.name.endswith("fade-in")
        before, at = lod_at(s.start_nimg - 1, 5, 500), lod_at(s.start_nimg, 5, 500)
        # a fade-in starts at the first image whose lod is not whole, a stable stage where it is whole again
        assert (before == math.floor(before)) == fade and (at == math.floor(at)) == (not fade)
        assert math.floor(before) != math.floor(at) or math.ceil(before) != math.ceil(at)  # the authors' reset test
    assert [s.start_nimg for s in stages[:4]] == [0, 501, 1000, 1501]
    assert all(s.reset == () for s in objective(**{"pggan.reset_opt": False}).stages())


def test_enter_sets_both_nets_to_the_stages_structure():
    obj = objective(**{"pggan.phase_kimg": 0.1})
    for stage, top, fading in zip(obj.stages(), [0, 1, 1, 2, 2], [False, True, False, True, False]):
        obj.enter(stage)
        for net in (obj.G, obj.D):
            assert (net.top, net.fading) == (top, fading), stage
        assert obj.G.lod.item() == pytest.approx(lod_at(stage.start_nimg, 2, 100))


def test_phase_chosen_from_the_run_and_recorded():
    assert objective(DataInfo("image", (3, 1024, 1024)), kimg=12000).chosen() == \
        {"pggan.phase_kimg": 600.0, "pggan.batch_max": 32}  # the paper's 600 of 12000; batch 4 x 8
    obj = objective(steps=200)  # in steps: the stages' batches cover the 8 phases in about 200 steps
    assert set(obj.chosen()) == {"pggan.phase_kimg", "pggan.batch_max"}
    stages, nimg, steps = obj.stages(), 0, 0
    while nimg < 8 * obj.phase_nimg:
        nimg += [s for s in stages if s.start_nimg <= nimg][-1].batch
        steps += 1
    assert abs(steps - 200) <= 8
    assert objective(**{"pggan.phase_kimg": 2.0, "pggan.batch_max": 16}).chosen() == {}
    small = objective(DataInfo("image", (1, 16, 16), size=20))  # the auto batch never exceeds the data set
    assert small.batch_max == 20 and max(s.batch for s in small.stages()) == 16


def test_reals_are_faded_like_gs_output():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 16, 16)
    half = downscale(x, 2)
    expected = upscale(0.75 * half + 0.25 * upscale(downscale(half, 2), 2), 2)
    assert torch.allclose(fade_reals(x, 1.25), expected, atol=1e-6)
    assert torch.equal(fade_reals(x, 0), x) and torch.equal(fade_reals(x, 2), upscale(downscale(x, 4), 4))


def test_d_loss_is_wgan_gp_plus_drift_on_faded_reals_at_the_lod_of_images_seen():
    obj = objective(**{"pggan.phase_kimg": 0.1})
    nimg = 350  # 16x16 fading in: lod 0.5
    seen = []
    discriminate_real = obj.discriminate_real
    obj.discriminate_real = lambda x, c, ctx: seen.append(x) or discriminate_real(x, c, ctx)
    ctx = Ctx(nimg)
    torch.manual_seed(0)
    loss = obj.d_loss(ctx)
    assert obj.G.lod.item() == obj.D.lod.item() == 0.5 and ctx.reported["Schedule/lod"] == 0.5
    real = fade_reals(ctx.x, 0.5)
    assert torch.equal(seen[0], real)
    r = obj.D(real)
    torch.manual_seed(0)
    with torch.no_grad():
        fake = obj.G(ctx.zz)
    f = obj.D(fake)
    gp = gradient_penalty(obj.D, real, fake, generator=BatchRandom(torch.Generator().manual_seed(0)))
    assert torch.allclose(ctx.reported["Loss/D/drift"], r.square().mean())
    assert torch.allclose(loss, -r.mean() + f.mean() + 10 * gp + 0.001 * r.square().mean(), atol=1e-5)
    g_ctx = Ctx(nimg=100)  # a G step reads its own lod: 4x4 stable
    g = obj.g_loss(g_ctx)
    assert obj.G.lod.item() == 2.0 and torch.allclose(g, -obj.D(obj.G(g_ctx.zz)).mean(), atol=1e-6)


def test_image_only_and_sizes_off_the_ladder_refused_with_the_canvas_hint():
    with pytest.raises(ConfigError, match="needs image data"):
        objective(DataInfo("points", (2,)))
    with pytest.raises(ConfigError, match="data.resolution=128 data.canvas=128"):
        objective(DataInfo("image", (3, 100, 100)))


# Training through the trainer: 16x16 images, batch 8 -> stages' batches 32 (4x4), 16 (8x8), 8 (16x16);
# phase 50 images: 8x8 fades in over steps 2-4 (nimg 64-96), 16x16 over steps 8-11 (nimg 160-184).
RUN_SETS = FAST + [f"{k}={v}" for k, v in TINY.items()] + ["pggan.batch_max=32"]


def _run(tmp_path, small_images, name, sets=(), **kw):
    from gankit.train.run import open_run

    return open_run(recipe="pggan", data=f"folder:{small_images}", batch=8, out=str(tmp_path / name),
                    sets=RUN_SETS + list(sets), progress_bar=False, log=lambda s: None, **kw)


def _expected_lods(obj, steps):
    """The lod of each step from the stages' batches and the schedule alone."""
    nimg, out = 0, []
    for _ in range(steps):
        out.append(lod_at(nimg, obj.levels, obj.phase_nimg))
        nimg += [s for s in obj.stages() if s.start_nimg <= nimg][-1].batch
    return out


# 4: in the middle of 8x8's fade-in; 8: the checkpoint's images seen are 16x16's fade-in's, its last step 8x8's
@pytest.mark.parametrize("split", [4, 8])
def test_resume_mid_fade_and_across_a_growth_step_is_exact(tmp_path, small_images, split):
    from tests.train.test_resume import _assert_same

    sets = ["pggan.phase_kimg=0.05"]
    straight = _run(tmp_path, small_images, "straight", sets, steps=12)
    straight.fit()
    lods = [r["Schedule/lod"] for r in read_stats(straight.run_dir)]
    expected = _expected_lods(straight.objective, 12)
    assert lods == pytest.approx(expected)
    assert (lods[3], lods[-1]) == pytest.approx((1.4, 0.32))  # through 8x8's fade-in and stable stage, into 16x16's
    _run(tmp_path, small_images, "split", sets, steps=split).fit()
    resumed = _run(tmp_path, small_images, "split", steps=12, resume="auto")
    assert resumed.step == split
    resumed.fit()
    a, b = straight.state_dict(), resumed.state_dict()
    for key in ("nets", "G_ema", "optimizers", "objective", "feed", "z_gen", "step", "nimg"):
        _assert_same(a[key], b[key], key)
    assert (resumed.objective.G.top, resumed.objective.G.fading) == (2, True)


def test_a_resume_with_another_kimg_keeps_the_recorded_phase_and_the_fade_where_images_seen_put_it(tmp_path,
                                                                                                   small_images):
    from tests.train.test_interrupt import interrupt_at

    first = _run(tmp_path, small_images, "run", ["log.every=1"], kimg=0.4, callbacks=[interrupt_at(4)])
    assert first.cfg["pggan.phase_kimg"] == 0.05  # 400 images over 2 * 2 + 4 phases, recorded
    first.fit(stop_on_signal=True)
    nimg = first.nimg
    resumed = _run(tmp_path, small_images, "run", ["log.every=1"], kimg=0.8, resume="auto")
    assert resumed.cfg["pggan.phase_kimg"] == 0.05 and resumed.objective.phase_nimg == 50
    assert resumed.nimg == nimg == 96 and resumed.stage.name == "8x8 fade-in"
    resumed.fit()
    lods = [r["Schedule/lod"] for r in read_stats(resumed.run_dir)]
    assert lods == pytest.approx(_expected_lods(resumed.objective, resumed.step))
    assert lods[4] == pytest.approx(lod_at(96, 2, 50)) == 1.08  # the fade went on where it stopped


def test_train_export_sample_walk_and_dataset_at_a_partial_stage(tmp_path, small_images):
    from gankit.cli import main
    from safetensors.torch import load_file

    run = tmp_path / "run"
    assert main(["train", "--recipe", "pggan", "--data", f"folder:{small_images}", "--steps", "4", "--batch", "8",
                 "--out", str(run), "--no-progress", "--set", *RUN_SETS, "pggan.phase_kimg=0.05"]) == 0
    assert main(["export", "--run", str(run), "--out", str(tmp_path / "export")]) == 0
    weights = load_file(str(tmp_path / "export" / "generator.safetensors"))
    assert weights["lod"].item() == pytest.approx(1.4)  # the last step's: 8x8 60% faded in (nimg 80)
    meta = json.loads((tmp_path / "export" / "config.json").read_text())
    assert (meta["stage"], meta["shape"]) == ("8x8 fade-in", [1, 16, 16])  # drawn at the full size
    assert main(["sample", "--export", str(tmp_path / "export"), "-n", "4", "--out", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").is_file()
    assert main(["walk", "--run", str(run), "--seeds", "1,2", "--steps", "3", "--out", str(tmp_path / "w.png"),
                 "--device", "cpu"]) == 0
    assert main(["dataset", "--export", str(tmp_path / "export"), "-n", "4", "--out", str(tmp_path / "fakes"),
                 "--device", "cpu"]) == 0
    assert len(list((tmp_path / "fakes").rglob("*.png"))) == 4


def test_g_ema_draws_at_gs_level_of_detail(tmp_path, small_images):
    """The moving average's lod is copied at every update; its structure follows, so snapshots show the fade."""
    trainer = _run(tmp_path, small_images, "run", ["pggan.phase_kimg=0.05"], steps=10)
    trainer.fit()
    G, average = trainer.objective.G, trainer.G_ema
    assert average.lod.item() == G.lod.item() == pytest.approx(0.64)  # the last step, at 168 images
    z = torch.randn(2, 8)
    with torch.no_grad():
        image = average(z)
    assert (average.top, average.fading) == (G.top, G.fading) == (2, True)
    assert not torch.equal(image[..., ::2, ::2].repeat_interleave(2, -1).repeat_interleave(2, -2), image)  # 16x16


@pytest.mark.slow  # torchrun starts two processes
def test_two_processes_equal_one_through_a_growth_step(tmp_path, small_images):
    """Consecutive minibatch-stddev groups: each rank's half of a stage's batch holds whole groups."""
    from gankit.cli import main
    from tests.train.test_distributed import TOLERANCE, torchrun, weights

    args = ["--recipe", "pggan", "--data", f"folder:{small_images}", "--batch", "8", "--no-progress", "--device",
            "cpu", "--set", *RUN_SETS, "pggan.phase_kimg=0.05"]
    torchrun(*args, "--steps", 12, "--out", tmp_path / "two")
    assert main(["train", *args, "--steps", "12", "--out", str(tmp_path / "one")]) == 0
    two, one = weights(tmp_path / "two", 12), weights(tmp_path / "one", 12)
    assert two["distributed"]["max_divergence"] == 0.0 and one["stage"] == two["stage"] == "16x16 fade-in"
    for net in ("G", "D"):
        for key, value in one["nets"][net].items():
            assert torch.allclose(two["nets"][net][key], value, rtol=0, atol=TOLERANCE), (net, key)


def test_crops_of_100_pixels_train_padded_onto_a_128_canvas_and_100_is_refused_with_that_hint(tmp_path, capsys):
    from gankit.cli import main
    from gankit.train import checkpoint
    from tests.data.cell_crops import make_cell_crops

    make_cell_crops(tmp_path / "cells", count=40)  # 50 to 100 pixels wide
    args = ["train", "--recipe", "pggan", "--data", f"folder:{tmp_path / 'cells'}", "--batch", "4", "--steps", "2",
            "--no-progress", "--set", *RUN_SETS]
    assert main([*args, "data.resolution=100", "--out", str(tmp_path / "refused")]) != 0
    err = capsys.readouterr().err.strip()
    assert "data.resolution=128 data.canvas=128" in err and "\n" not in err
    canvas = ["data.resolution=128", "data.canvas=128", "data.mask=true"]
    assert main([*args, *canvas, "--out", str(tmp_path / "run")]) == 0
    state = checkpoint.load(tmp_path / "run" / "checkpoints" / "ckpt-00000002.pt")
    assert state["data_info"]["shape"] == [2, 128, 128]  # grey and the content mask, unscaled on the canvas
