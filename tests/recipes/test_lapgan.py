"""LAPGAN: every level a GAN on the real pyramid, coarsest image then residuals, losses summed over the levels."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from gankit.cli import main
from gankit.config import ConfigError
from gankit.nets.pyramid import gaussian, up
from gankit.recipes import RECIPES
from gankit.recipes.base import DataInfo
from gankit.regularizers.batch_random import BatchRandom
from gankit.train.run import default_config, open_run
from gankit.train.stats import read_stats
from tests.helpers import FAST

INFO = DataInfo("image", (1, 16, 16))
TINY = {"G.width": 4, "D.width": 4, "G.hidden": [16], "D.hidden": [16], "z_dim": 8, "D.dropout": 0.0}


class Ctx:
    """A hand-made StepContext: a fixed real batch (and labels), latents of the generator's length."""

    batch, progress, nimg = 4, 0.0, 0

    def __init__(self, latent_dim, resolution=16, labels=None):
        g = torch.Generator().manual_seed(123)
        self.x = torch.rand(4, 1, resolution, resolution, generator=g) * 2 - 1
        self.y = labels
        self.zz = torch.randn(4, latent_dim, generator=g)
        self.generator = BatchRandom(torch.Generator().manual_seed(0))
        self.reported = {}

    def real(self):
        return self.x, self.y

    def z(self, n):
        return self.zz[:n]

    def labels(self, n):
        return torch.zeros(n, dtype=torch.long)

    def report(self, name, value):
        self.reported[name] = value

    def mean_over_ranks(self, value):
        return value


def objective(info=INFO, **changes):
    torch.manual_seed(0)
    return RECIPES["lapgan"].build({**default_config("lapgan", "x"), **TINY, **changes}, info)


def test_defaults_follow_the_paper_where_gankit_does_not_say_otherwise():
    cfg = RECIPES["lapgan"].defaults
    assert (cfg["z_dim"], cfg["batch"], cfg["G.hidden"], cfg["G.width"]) == (100, 128, [1200, 1200], 64)
    assert (cfg["D.hidden"], cfg["D.dropout"]) == ([600, 600], 0.0)  # the paper's 600 with dropout collapsed
    assert (cfg["loss"], cfg["lapgan.levels"], cfg["cond.mode"]) == ("nonsaturating", 0, "none")
    assert (cfg["G.opt"], cfg["G.lr"], cfg["D.betas"]) == ("adam", 2e-4, [0.5, 0.999])
    obj = RECIPES["lapgan"].build(default_config("lapgan", "x"), DataInfo("image", (3, 32, 32)))
    assert obj.sizes == [8, 16, 32] and obj.G.latent_dim == 100 + 16 * 16 + 32 * 32


def spy_on_d(obj):
    """Record every call of D: (the image's side, the image, the coarse image, the labels)."""
    calls, forward = [], obj.D.forward

    def spy(x, c=None, coarse=None):
        calls.append((x.shape[-1], x.detach(), None if coarse is None else coarse.detach(), c))
        return forward(x, c, coarse)

    obj.D.forward = spy
    return calls


def test_each_levels_d_sees_the_real_pair_and_the_fake_one_on_the_same_real_coarse_image():
    obj = objective(DataInfo("image", (1, 32, 32)))
    ctx = Ctx(obj.G.latent_dim, resolution=32)
    calls = spy_on_d(obj)
    obj.d_loss(ctx)
    images = gaussian(ctx.x, 3)  # 8, 16, 32
    z, planes = obj.G.split(ctx.zz)
    assert [size for size, *_ in calls] == [8, 8, 16, 16, 32, 32]
    (_, real0, none0, _), (_, fake0, none1, _) = calls[:2]
    assert torch.equal(real0, images[0]) and none0 is None and none1 is None
    assert torch.allclose(fake0, obj.G.coarsest(z), atol=1e-6)  # the coarsest fake is G's coarsest image
    for level in (1, 2):
        (_, real, coarse_r, _), (_, fake, coarse_f, _) = calls[2 * level: 2 * level + 2]
        coarse = up(images[level - 1])
        assert torch.equal(real, images[level]) and torch.equal(coarse_r, coarse) and torch.equal(coarse_f, coarse)
        # the fake is the REAL coarse image upsampled plus G's residual for this level's noise plane
        assert torch.allclose(fake, coarse + obj.G.residual(level, planes[level - 1], coarse), atol=1e-6)
        assert not torch.allclose(fake, real)


def test_losses_are_the_levels_non_saturating_losses_summed_and_finite():
    obj = objective()
    ctx = Ctx(obj.G.latent_dim)
    d = obj.d_loss(ctx)
    images = gaussian(ctx.x, 2)
    with torch.no_grad():
        fakes = obj.fake_levels(ctx.zz, obj.real_levels(ctx.x), None)
    expected = 0
    for level, (real, fake) in enumerate(zip(images, fakes)):
        coarse = None if level == 0 else up(images[0])
        expected = expected + F.softplus(-obj.D(real, None, coarse)).mean() \
            + F.softplus(obj.D(fake, None, coarse)).mean()
    assert torch.isfinite(d) and torch.allclose(d, expected, atol=1e-6)
    assert torch.allclose(ctx.reported["Loss/D/real"] + ctx.reported["Loss/D/fake"], d, atol=1e-6)
    g = obj.g_loss(ctx)
    assert torch.isfinite(g)
    assert torch.allclose(ctx.reported["Loss/G/8px"] + ctx.reported["Loss/G/16px"], g, atol=1e-6)
    assert torch.allclose(ctx.reported["Loss/G/16px"], F.softplus(-obj.D(fakes[1], None, up(images[0]))).mean(),
                          atol=1e-5)


def _grads(net):
    return {name: p.grad is not None and p.grad.abs().sum() > 0 for name, p in net.named_parameters()}


@pytest.mark.parametrize("level, size", [(0, 8), (1, 16), (2, 32)])
def test_a_levels_loss_reaches_only_that_levels_nets(level, size):
    obj = objective(DataInfo("image", (1, 32, 32)))
    ctx = Ctx(obj.G.latent_dim, resolution=32)
    obj.g_loss(ctx)
    ctx.reported[f"Loss/G/{size}px"].backward()
    prefix = "coarsest." if level == 0 else f"refine.{level - 1}."
    for net in (obj.G, obj.D):
        reached = _grads(net)
        assert all(reached[n] for n in reached if n.startswith(prefix) and n.endswith("weight")), (net, prefix)
        assert not any(reached[n] for n in reached if not n.startswith(prefix)), (net, prefix)
    obj.G.zero_grad(set_to_none=True)
    obj.D.zero_grad(set_to_none=True)
    obj.d_loss(ctx)
    ctx.reported[f"Loss/D/{size}px"].backward()
    reached = _grads(obj.D)
    assert any(reached[n] for n in reached if n.startswith(prefix))
    assert not any(reached[n] for n in reached if not n.startswith(prefix))
    assert all(p.grad is None for p in obj.G.parameters())  # D's step makes its fakes without a graph


def test_class_conditional_levels_take_the_real_batchs_labels():
    obj = objective(DataInfo("image", (1, 16, 16), num_classes=3), **{"cond.mode": "input"})
    assert obj.num_classes == 3 and obj.G.c_dim == obj.D.c_dim == 3
    labels = torch.tensor([0, 1, 2, 1])
    ctx = Ctx(obj.G.latent_dim, labels=labels)
    calls = spy_on_d(obj)
    a = obj.d_loss(ctx)
    assert all(torch.equal(c, labels) for *_, c in calls) and len(calls) == 4
    other = Ctx(obj.G.latent_dim, labels=torch.tensor([2, 2, 0, 0]))
    assert not torch.allclose(a, obj.d_loss(other))
    latent = ctx.zz
    assert not torch.allclose(obj.generate(obj.G, latent, labels), obj.generate(obj.G, latent, labels.flip(0)))
    with pytest.raises(ConfigError, match="no labels"):
        objective(**{"cond.mode": "input"})


def test_generate_draws_coarse_to_fine_at_full_resolution():
    obj = objective(DataInfo("image", (3, 32, 32)))
    latent = torch.randn(2, obj.G.latent_dim)
    x = obj.generate(obj.G, latent)
    assert x.shape == (2, 3, 32, 32) and x.abs().max() <= 1 and torch.equal(x, obj.G.images(latent)[-1])


def test_levels_key_and_points_refused():
    assert objective(DataInfo("image", (1, 32, 32)), **{"lapgan.levels": 2}).sizes == [16, 32]
    with pytest.raises(ConfigError, match="image data"):
        objective(DataInfo("points", (2,)))


SETS = [f"{k}={','.join(map(str, v)) if isinstance(v, list) else v}" for k, v in TINY.items()]


def test_train_export_and_sample_round_trip(tmp_path, small_images):
    """A run on a 16-pixel folder (8 -> 16), then its export draws the same images as the run for one seed."""
    run, export = tmp_path / "run", tmp_path / "export"
    assert main(["train", "--recipe", "lapgan", "--data", f"folder:{small_images}", "--steps", "6", "--batch", "8",
                 "--out", str(run), "--no-progress", "--set", *FAST, "log.every=3", *SETS]) == 0
    records = read_stats(run)
    assert records and all(math.isfinite(r[k]) for r in records for k in ("Loss/G/8px", "Loss/G/16px", "Loss/D/16px"))
    assert list((run / "samples").glob("grid-*.png"))
    assert main(["export", "--run", str(run), "--out", str(export)]) == 0
    for source, out in ((["--run", str(run)], "from_run"), (["--export", str(export)], "from_export")):
        assert main(["sample", *source, "-n", "3", "--seed", "5", "--out", str(tmp_path / out)]) == 0
    made = sorted((tmp_path / "from_run").glob("*.png"))
    assert len(made) == 3 and Image.open(made[0]).size == (16, 16)
    assert [p.read_bytes() for p in made] == [p.read_bytes() for p in sorted((tmp_path / "from_export").glob("*.png"))]


def test_class_conditional_run_samples_by_class(tmp_path, small_images):
    run = tmp_path / "run"
    assert main(["train", "--recipe", "lapgan", "--data", f"folder:{small_images}", "--steps", "4", "--batch", "8",
                 "--out", str(run), "--no-progress", "--set", *FAST, "cond.mode=input", *SETS]) == 0
    state = torch.load(sorted((run / "checkpoints").glob("ckpt-*.pt"))[-1], weights_only=True)
    assert state["net_configs"]["G"]["c_dim"] == state["net_configs"]["D"]["c_dim"] == 2
    assert main(["sample", "--run", str(run), "-n", "4", "--class", "tops", "--out", str(tmp_path / "tops.png")]) == 0
    assert np.array_equal(np.load(tmp_path / "tops.labels.npy"), np.ones(4))  # class folders sorted: other, tops


def test_resume_is_exact(tmp_path, small_images):
    """Latents, noise planes and D's dropout come from RNGs the checkpoint keeps: N steps == N/2, resume, N/2."""
    from tests.train.test_resume import _assert_same

    common = dict(recipe="lapgan", data=f"folder:{small_images}", batch=8, progress_bar=False, log=lambda s: None)
    sets = FAST + [s for s in SETS if not s.startswith("D.dropout")] + ["D.dropout=0.5", "ema.beta=0.9"]
    straight = open_run(steps=10, out=str(tmp_path / "straight"), sets=sets, **common)
    straight.fit()
    open_run(steps=5, out=str(tmp_path / "split"), sets=sets, **common).fit()
    resumed = open_run(steps=10, out=str(tmp_path / "split"), resume="auto", **common)
    assert resumed.step == 5
    resumed.fit()
    a, b = straight.state_dict(), resumed.state_dict()
    for key in ("nets", "G_ema", "optimizers", "feed", "z_gen", "step", "nimg"):
        _assert_same(a[key], b[key], key)
