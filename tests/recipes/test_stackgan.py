"""StackGAN: matching-aware D losses (real, wrong class, fake), G's KL term, the joint and sequential schedules."""

import shutil

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from gankit.cli import main
from gankit.config import ConfigError
from gankit.nets.stackgan import kl
from gankit.recipes import RECIPES
from gankit.recipes.base import DataInfo
from gankit.regularizers.batch_random import BatchRandom
from gankit.train.run import default_config
from gankit.train.stats import read_stats

CLASSES = 3
INFO = DataInfo("image", (1, 16, 16), num_classes=CLASSES)
TINY = {"G.width": 4, "D.width": 4, "G.max_width": 16, "D.max_width": 16, "z_dim": 8, "stackgan.c_dim": 4}


class Ctx:
    """A hand-made StepContext: a fixed labelled real batch, latents and labels, per-sample randomness seeded."""

    batch, progress, nimg = 4, 0.0, 0

    def __init__(self, latent_dim, seed=0, labelled=True):
        g = torch.Generator().manual_seed(123)
        self.x = torch.rand(4, 1, 16, 16, generator=g) * 2 - 1
        self.y = torch.tensor([0, 1, 2, 1]) if labelled else None
        self.zz = torch.randn(4, latent_dim, generator=g)
        self.generator = BatchRandom(torch.Generator().manual_seed(seed))
        self.reported = {}

    def real(self):
        return self.x, self.y

    def z(self, n):
        return self.zz[:n]

    def labels(self, n):
        return torch.tensor([2, 0, 1, 0])[:n]

    def report(self, name, value):
        self.reported[name] = value

    def mean_over_ranks(self, value):
        return value


class SpyD(torch.nn.Module):
    """Records what each call sees; its logit depends on the image and the condition, so a swap would show."""

    def __init__(self, sides):
        super().__init__()
        self.sides, self.calls = sides, []
        self.scale = torch.nn.Parameter(torch.ones(()))

    def forward(self, x, cond=None, stage=2):
        self.calls.append((x, cond, stage))
        return self.scale * logit(x, cond)


def logit(x, cond=None):
    """SpyD's logit, computed again without recording a call."""
    return x.flatten(1).mean(1) * 3 + (cond.sum(1) if cond is not None else 0)


def objective(info=INFO, **changes):
    torch.manual_seed(0)
    return RECIPES["stackgan"].build({**default_config("stackgan", "x"), **TINY, **changes}, info)


def bce(logits, target):
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def test_defaults_follow_the_paper():
    cfg = RECIPES["stackgan"].defaults
    assert (cfg["G.lr"], cfg["D.lr"], cfg["G.betas"], cfg["D.betas"], cfg["batch"], cfg["z_dim"]) == \
        (2e-4, 2e-4, [0.5, 0.999], [0.5, 0.999], 64, 100)
    assert (cfg["stackgan.kl"], cfg["stackgan.c_dim"], cfg["stackgan.schedule"]) == (2.0, 128, "joint")


def test_d_sees_real_right_real_wrong_and_fake_pairs_at_both_stages():
    obj = objective()
    G = obj.G
    spy = obj.D = SpyD(obj.D.sides)
    ctx = Ctx(G.latent_dim)
    loss = obj.d_loss(ctx)
    assert [stage for _, _, stage in spy.calls] == [1, 1, 1, 2, 2, 2]
    with torch.no_grad():
        fakes = G.run(ctx.zz, ctx.y)  # the D step's fakes are drawn with the real images' classes
    expected = 0
    for k in (1, 2):
        (real, right, _), (fake, right_again, _), (real_again, wrong, _) = spy.calls[3 * (k - 1):3 * k]
        assert real.shape[-1] == (4 if k == 1 else 16)
        assert torch.allclose(real, F.avg_pool2d(ctx.x, 16 // real.shape[-1])) and torch.equal(real_again, real)
        assert torch.allclose(fake, fakes[k - 1].image, atol=1e-6)
        means = G.ca[k - 1].moments(torch.arange(CLASSES))[0]
        assert torch.allclose(right, means[ctx.y]) and torch.equal(right_again, right)
        assert not right.requires_grad and not wrong.requires_grad  # the condition is detached
        wrong_class = (wrong[:, None, :] - means[None]).abs().sum(2).argmin(1)
        assert torch.allclose(wrong, means[wrong_class]) and (wrong_class != ctx.y).all()  # every sample wrong
        expected = expected + bce(logit(real, right), 1) + 0.5 * (bce(logit(real, wrong), 0)
                                                                   + bce(logit(fake, right), 0))
    assert torch.allclose(loss, expected, atol=1e-6)
    assert {"Loss/D/real", "Loss/D/wrong", "Loss/D/fake", "Loss/D/I", "Loss/D/II"} <= set(ctx.reported)


def test_wrong_classes_differ_for_every_sample_over_many_draws():
    obj = objective()
    ctx = Ctx(obj.G.latent_dim, seed=7)
    from gankit.recipes.stackgan import wrong_labels

    c = torch.arange(CLASSES).repeat(200)
    wrong = wrong_labels(c, CLASSES, ctx)
    assert (wrong != c).all() and set(wrong.tolist()) == set(range(CLASSES))


def test_g_loss_is_adversarial_at_both_stages_plus_the_weighted_kl():
    obj = objective(**{"stackgan.kl": 2.0})
    spy = obj.D = SpyD(obj.D.sides)
    ctx = Ctx(obj.G.latent_dim)
    loss = obj.g_loss(ctx)
    c = ctx.labels(4)
    outs = obj.G.run(ctx.zz, c)
    assert [stage for _, _, stage in spy.calls] == [1, 2]
    expected = sum(bce(logit(o.image, o.mu), 1) + 2.0 * kl(o.mu, o.logvar)
                   for o in outs)
    assert torch.allclose(loss, expected, atol=1e-6)
    assert all(not cond.requires_grad for _, cond, _ in spy.calls)
    loss.backward()  # the KL reaches both CA modules, the adversarial terms both stages
    for part in (obj.G.ca[0], obj.G.ca[1], obj.G.stage1, obj.G.stage2):
        assert all(p.grad is not None for p in part.parameters())


def test_sequential_trains_stage_one_alone_then_stage_two_with_stage_one_frozen():
    obj = objective(**{"stackgan.schedule": "sequential", "steps": 100, "batch": 8, "stackgan.stage1_share": 0.25})
    stages = obj.stages()
    assert [(s.name, s.start_nimg) for s in stages] == [("I", 0), ("II", 200)]
    assert obj.chosen() == {"stackgan.stage1_kimg": 0.2}  # recorded, so a resume with another budget keeps it
    ctx = Ctx(obj.G.latent_dim)
    obj.enter(stages[0])
    assert int(obj.G.stage) == 1 and obj.G(ctx.zz, ctx.y).shape == (4, 1, 16, 16)
    obj.d_loss(ctx).backward()
    obj.g_loss(ctx).backward()
    assert all(p.grad is None for p in [*obj.G.stage2.parameters(), *obj.G.ca[1].parameters(),
                                        *obj.D.stages[1].parameters()])
    assert "Loss/D/II" not in ctx.reported
    obj.G.zero_grad(set_to_none=True)
    obj.D.zero_grad(set_to_none=True)
    obj.enter(stages[1])
    assert int(obj.G.stage) == 2
    ctx = Ctx(obj.G.latent_dim)
    obj.d_loss(ctx).backward()
    obj.g_loss(ctx).backward()
    assert all(p.grad is None for p in [*obj.G.stage1.parameters(), *obj.G.ca[0].parameters(),
                                        *obj.D.stages[0].parameters()])
    assert all(p.grad is not None for p in [*obj.G.stage2.parameters(), *obj.D.stages[1].parameters()])
    assert "Loss/G/kl_I" not in ctx.reported and "Loss/G/kl_II" in ctx.reported
    # a given stage I length wins over the share, and nothing is chosen then
    fixed = objective(**{"stackgan.schedule": "sequential", "stackgan.stage1_kimg": 0.5})
    assert fixed.stages()[1].start_nimg == 500 and fixed.chosen() == {}
    assert objective().stages() == [] and int(objective().G.stage) == 2  # joint: not staged


@pytest.mark.parametrize("classes", [0, 1])
def test_unconditional_without_labels_or_with_one_class(classes):
    obj = objective(DataInfo("image", (1, 16, 16), num_classes=classes))
    assert obj.num_classes == 0 and obj.G.latent_dim == 8 and any("unconditional" in n for n in obj.notes())
    spy = obj.D = SpyD(obj.D.sides)
    ctx = Ctx(8, labelled=classes == 1)
    loss = obj.d_loss(ctx)
    assert [(stage, cond) for _, cond, stage in spy.calls] == [(1, None), (1, None), (2, None), (2, None)]
    expected = sum(bce(logit(spy.calls[i][0]), 1) + bce(logit(spy.calls[i + 1][0]), 0) for i in (0, 2))
    assert torch.allclose(loss, expected, atol=1e-6) and "Loss/D/wrong" not in ctx.reported
    assert torch.isfinite(obj.g_loss(ctx)) and "Loss/G/kl_I" not in ctx.reported


def test_image_data_only():
    with pytest.raises(ConfigError, match="needs image data"):
        objective(DataInfo("points", (2,), num_classes=8))


# ----- training runs: tiny nets at 16x16 -----

SETS = [f"{k}={v}" for k, v in TINY.items()] + ["G.max_width=16", "D.max_width=16"]


def _train(out, data, steps, *extra, batch=8):
    from tests.helpers import FAST

    return main(["train", "--recipe", "stackgan", "--data", data, "--steps", str(steps), "--batch", str(batch),
                 "--out", str(out), "--no-progress", "--set", *FAST, *SETS, "data.resolution=16", *extra])


def test_train_on_labelled_fashion_mnist_then_sample_a_class_from_the_run_and_its_export(tmp_path):
    run = tmp_path / "run"
    assert _train(run, "fashion-mnist:test", 4) == 0
    records = read_stats(run)
    assert records and {"Loss/D/wrong", "Loss/G/kl_I", "Loss/G/kl_II"} <= set(records[-1])
    assert main(["export", "--run", str(run), "--out", str(tmp_path / "export")]) == 0
    drawn = {}
    for source in (["--run", str(run)], ["--export", str(tmp_path / "export")]):
        out = tmp_path / f"{source[0][2:]}.png"
        assert main(["sample", *source, "-n", "6", "--class", "Trouser", "--seed", "3", "--out", str(out)]) == 0
        latents = np.load(tmp_path / f"{source[0][2:]}.latents.npy")
        assert latents.shape == (6, 8 + 2 * 4)  # z and the two stages' CA noise
        assert np.array_equal(np.load(tmp_path / f"{source[0][2:]}.labels.npy"), np.ones(6))
        drawn[source[0]] = np.asarray(Image.open(out))
    assert np.array_equal(drawn["--run"], drawn["--export"])


def test_unconditional_run_on_a_folder_without_classes(tmp_path, small_images):
    flat = tmp_path / "flat"
    flat.mkdir()
    for i, png in enumerate(sorted(small_images.rglob("*.png"))[:32]):
        shutil.copy(png, flat / f"{i:03d}.png")
    run = tmp_path / "run"
    assert _train(run, f"folder:{flat}", 4) == 0
    assert "Loss/D/wrong" not in read_stats(run)[-1]
    assert main(["sample", "--run", str(run), "-n", "4", "--out", str(tmp_path / "s.png")]) == 0
    assert np.load(tmp_path / "s.latents.npy").shape == (4, 8)  # z alone: no CA noise


@pytest.mark.parametrize("split", [4, 8])  # resumed before the switch (at step 6) and after it
def test_sequential_resume_is_exact_across_the_switch(tmp_path, small_images, split):
    from gankit.train.run import open_run
    from tests.helpers import FAST
    from tests.train.test_resume import _assert_same

    sets = FAST + SETS + ["data.resolution=16", "stackgan.schedule=sequential", "stackgan.stage1_share=0.5"]
    common = dict(recipe="stackgan", data=f"folder:{small_images}", batch=8, progress_bar=False, log=lambda s: None)
    straight = open_run(steps=12, out=str(tmp_path / "straight"), sets=sets, **common)
    assert straight.cfg["stackgan.stage1_kimg"] == 0.048  # chosen at the start (6 of 12 steps) and recorded
    straight.fit()
    open_run(steps=split, out=str(tmp_path / "split"), sets=[*sets, "stackgan.stage1_kimg=0.048"], **common).fit()
    resumed = open_run(steps=12, out=str(tmp_path / "split"), resume="auto", **common)
    assert resumed.step == split
    resumed.fit()
    a, b = straight.state_dict(), resumed.state_dict()
    for key in ("nets", "G_ema", "optimizers", "objective", "feed", "z_gen", "step", "nimg", "stage"):
        _assert_same(a[key], b[key], key)
    assert a["stage"] == "II" and int(a["nets"]["G"]["stage"]) == 2 and int(straight.G_ema.stage) == 2
    # Adam stepped stage I's weights in the first 6 steps only, and stage II's in the last 6 only
    G, D, opts = straight.objective.G, straight.objective.D, straight.optimizers
    for opt, first, second in ((opts["G"], G.stage1, G.stage2), (opts["G"], G.ca[0], G.ca[1]),
                               (opts["D"], D.stages[0], D.stages[1])):
        assert {int(opt.state[p]["step"]) for p in first.parameters()} == {6}
        assert {int(opt.state[p]["step"]) for p in second.parameters()} == {6}
