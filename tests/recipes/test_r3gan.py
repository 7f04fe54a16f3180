"""R3GAN: the paper's defaults, its cosine schedules of the learning rates, beta2 and gamma by images seen, the span
chosen from the run and kept on resume, training, exact resume and export."""

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gankit.cli import main
from gankit.config import ConfigError
from gankit.recipes import RECIPES
from gankit.recipes.base import DataInfo
from gankit.recipes.r3gan import PAPER_DECAY_SHARE, cosine_share
from gankit.regularizers.batch_random import BatchRandom
from gankit.train.run import default_config
from gankit.train.stats import read_stats

INFO = DataInfo("image", (1, 16, 16), num_classes=3)
TINY = {"G.width": 4, "D.width": 4, "G.max_width": 16, "D.max_width": 16, "z_dim": 8}
TINY_SETS = [f"{k}={v}" for k, v in TINY.items()]


class Ctx:
    """A hand-made StepContext at ``nimg`` images seen: a fixed real batch and latents."""

    batch, progress = 4, 0.0

    def __init__(self, nimg=0):
        g = torch.Generator().manual_seed(123)
        self.x = torch.rand(4, 1, 16, 16, generator=g) * 2 - 1
        self.zz = torch.randn(4, 8, generator=g)
        self.y = torch.tensor([2, 0, 1, 2])  # the reals' classes
        self.nimg = nimg
        self.generator = BatchRandom(torch.Generator().manual_seed(0))
        self.reported = {}

    def real(self):
        return self.x, self.y

    def z(self, n):
        return self.zz[:n]

    def labels(self, n):
        return torch.arange(n) % 3

    def report(self, name, value):
        self.reported[name] = value

    def mean_over_ranks(self, value):
        return value


def objective(info=INFO, **changes):
    return RECIPES["r3gan"].build({**default_config("r3gan", "x"), **TINY, **changes}, info)


def authors_cosine(nimg, base, final, total):
    """The authors' schedule (their ``cosine_decay_with_warmup`` without warm-up or hold), written out again."""
    if nimg > total:
        return final
    return base + (1 - 0.5 * (1 + np.cos(np.pi * nimg / total))) * (final - base)


def test_defaults_follow_the_papers_cifar10_preset():
    cfg = RECIPES["r3gan"].defaults
    assert (cfg["loss"], cfg["r1"], cfg["r2"], cfg["batch"], cfg["z_dim"]) == ("relativistic", 0.05, 0.05, 512, 64)
    assert (cfg["G.lr"], cfg["D.lr"], cfg["G.betas"], cfg["D.betas"]) == (2e-4, 2e-4, [0.0, 0.9], [0.0, 0.9])
    assert cfg["G.lr"] * cfg["r3gan.lr_end"] == pytest.approx(5e-5) and cfg["r3gan.beta2_end"] == 0.99
    assert cfg["r1"] * cfg["r3gan.gamma_end"] == pytest.approx(0.005)
    for role in "GD":
        assert [cfg[f"{role}.{k}"] for k in ("width", "max_width", "blocks", "expansion", "group_width")] == \
            [768, 768, 2, 2, 16]
    assert PAPER_DECAY_SHARE == 20 / 250 and cfg["r3gan.decay_kimg"] == 0


@pytest.mark.parametrize("nimg", [0, 10_000, 25_000, 40_000, 50_000, 90_000])
def test_the_schedules_follow_the_authors_cosine(nimg):
    obj = objective(**{"r3gan.decay_kimg": 50.0})
    span = 50_000
    settings = obj.schedule(nimg)
    assert set(settings) == {"G", "D"}
    for net in ("G", "D"):
        assert settings[net]["lr"] == pytest.approx(authors_cosine(nimg, 2e-4, 5e-5, span), rel=1e-12)
        beta1, beta2 = settings[net]["betas"]
        assert beta1 == 0 and beta2 == pytest.approx(authors_cosine(nimg, 0.9, 0.99, span), rel=1e-12)
    assert obj.gamma_share(nimg) * 0.05 == pytest.approx(authors_cosine(nimg, 0.05, 0.005, span), rel=1e-12)


def test_the_schedules_start_halve_and_end_where_the_paper_says():
    obj = objective(**{"r3gan.decay_kimg": 20.0})
    at = {n: obj.schedule(n)["G"] for n in (0, 10_000, 20_000, 10 ** 9)}
    assert at[0]["lr"] == 2e-4 and at[0]["betas"] == (0.0, 0.9)
    assert at[10_000]["lr"] == pytest.approx(1.25e-4) and at[10_000]["betas"][1] == pytest.approx(0.945)
    assert at[20_000]["lr"] == pytest.approx(5e-5) and at[20_000]["betas"][1] == pytest.approx(0.99)
    assert at[10 ** 9] == at[20_000]
    assert [obj.gamma_share(n) * 0.05 for n in (0, 10_000, 20_000)] == pytest.approx([0.05, 0.0275, 0.005])
    assert cosine_share(5, 0) == 1.0  # an empty span: decayed from the start


def test_each_net_decays_from_its_own_start_and_only_adam_gets_betas():
    obj = objective(**{"r3gan.decay_kimg": 1.0, "D.lr": 4e-4, "G.opt": "rmsprop"})
    end = obj.schedule(1000)
    assert end["D"]["lr"] == pytest.approx(1e-4) and end["G"]["lr"] == pytest.approx(5e-5)
    assert "betas" not in end["G"] and end["D"]["betas"] == (0.0, 0.99)


def test_the_span_is_the_papers_share_of_the_run_unless_set():
    obj = objective(steps=1000, batch=64)
    assert obj.decay_kimg == pytest.approx(0.08 * 64)  # 8% of 64,000 images
    assert obj.chosen() == {"r3gan.decay_kimg": obj.decay_kimg}
    assert objective(kimg=500.0).decay_kimg == pytest.approx(40.0)
    assert objective(**{"r3gan.decay_kimg": 3.0}).chosen() == {"r3gan.decay_kimg": 3.0}


def _d_loss(obj, nimg):
    torch.manual_seed(0)
    ctx = Ctx(nimg)
    return ctx, obj.d_loss(ctx)


def test_gamma_decays_by_images_seen_inside_ds_loss():
    obj = objective(**{"r3gan.decay_kimg": 8.0})
    for nimg, gamma in ((0, 0.05), (4000, 0.0275), (8000, 0.005), (50_000, 0.005)):
        ctx, loss = _d_loss(obj, nimg)
        r1, r2, adversarial = (ctx.reported[k] for k in ("Loss/D/r1", "Loss/D/r2", "Loss/D/real"))
        assert r1 > 0 and r2 > 0
        assert torch.allclose(loss, adversarial + gamma / 2 * (r1 + r2), rtol=1e-6), nimg
        assert ctx.reported["Schedule/r1"] == ctx.reported["Schedule/r2"] == pytest.approx(gamma)
    assert obj.cfg["r1"] == obj.cfg["r2"] == 0.05  # the decay never touches the config


def test_ds_loss_is_the_relativistic_pairing_with_both_penalties():
    obj = objective(**{"r3gan.decay_kimg": 8.0}, **{"cond.mode": "input"})
    ctx, loss = _d_loss(obj, 0)
    torch.manual_seed(0)
    c = ctx.labels(4)
    fake = obj.G(ctx.zz, c).detach().requires_grad_(True)
    real = ctx.x.clone().requires_grad_(True)
    r, f = obj.D(real, ctx.y), obj.D(fake, c)
    r1 = torch.autograd.grad(r.sum(), real)[0].square().sum((1, 2, 3)).mean()
    r2 = torch.autograd.grad(f.sum(), fake)[0].square().sum((1, 2, 3)).mean()
    expected = F.softplus(f - r).mean() + 0.05 / 2 * (r1 + r2)
    assert torch.allclose(loss, expected, rtol=1e-5)


def test_lr_decay_is_refused_and_points_get_mlps():
    with pytest.raises(ConfigError, match="lr.decay"):
        objective(**{"lr.decay": "cosine"})
    points = objective(DataInfo("points", (2,)), **{"G.hidden": [16], "D.hidden": [16]})
    assert points.G.config["arch"] == "mlp-g" and points.D.config["arch"] == "mlp-d"
    assert objective().G.config["arch"] == "r3gan-g" and not objective().num_classes
    conditional = objective(**{"cond.mode": "input"})
    assert conditional.G.config["c_dim"] == conditional.D.config["c_dim"] == 3


def test_train_on_a_small_folder_schedules_the_optimizers_and_gamma(tmp_path, small_images):
    run = tmp_path / "run"
    code = main(["train", "--recipe", "r3gan", "--data", f"folder:{small_images}", "--steps", "10", "--batch", "8",
                 "--out", str(run), "--no-progress", "--set", "log.every=5", "r3gan.decay_kimg=0.1", *TINY_SETS])
    assert code == 0
    records = read_stats(run)
    assert records and all(r["Loss/D/r1"] > 0 and r["Loss/D/r2"] > 0 for r in records)
    ckpt = torch.load(sorted((run / "checkpoints").glob("ckpt-*.pt"))[-1], weights_only=False)
    done = cosine_share(9 * 8, 100)  # the last step's settings: it started at 72 images, 0.83 of the way
    assert records[0]["step"] == 1 and records[0]["Schedule/r1"] == pytest.approx(0.05)
    assert records[-1]["step"] == 10 and records[-1]["Schedule/r1"] == pytest.approx(0.05 * (1 - 0.9 * done))
    for net in ("G", "D"):
        group = ckpt["optimizers"][net]["param_groups"][0]
        assert group["lr"] == pytest.approx(2e-4 * (1 - 0.75 * done))
        assert group["betas"] == pytest.approx((0.0, 0.9 + 0.09 * done))
    # export, then sample from the export: the same generator as the run's
    from gankit.export import load_any

    assert main(["export", "--run", str(run), "--out", str(tmp_path / "ex")]) == 0
    G1, _ = load_any(run=str(run))
    G2, meta = load_any(export=str(tmp_path / "ex"))
    assert meta["recipe"] == "r3gan" and meta["shape"] == [1, 16, 16] and meta["ema"] is True
    z = torch.randn(3, 8)
    with torch.no_grad():
        assert torch.equal(G1(z), G2(z))
    assert main(["sample", "--export", str(tmp_path / "ex"), "-n", "4", "--out", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").is_file()


def test_resume_is_exact_mid_decay(tmp_path, small_images):
    """Schedules, gamma and the span recorded at the start are functions of images seen: a resume continues them."""
    from gankit.train.run import open_run
    from tests.helpers import FAST
    from tests.train.test_resume import _assert_same

    sets = FAST + TINY_SETS + ["r3gan.decay_kimg=0.08"]  # the decay spans steps 0-9 of 12, across the split at 6
    common = dict(recipe="r3gan", data=f"folder:{small_images}", batch=8, progress_bar=False, log=lambda s: None)
    straight = open_run(steps=12, out=str(tmp_path / "straight"), sets=sets, **common)
    straight.fit()
    open_run(steps=6, out=str(tmp_path / "split"), sets=sets, **common).fit()
    resumed = open_run(steps=12, out=str(tmp_path / "split"), resume="auto", **common)
    assert resumed.step == 6
    resumed.fit()
    a, b = straight.state_dict(), resumed.state_dict()
    for key in ("nets", "G_ema", "optimizers", "objective", "feed", "z_gen", "step", "nimg"):
        _assert_same(a[key], b[key], key)
    assert a["optimizers"]["G"]["param_groups"][0]["lr"] == pytest.approx(5e-5)  # decayed to its end


def test_a_resume_keeps_the_span_chosen_from_the_first_budget(tmp_path, small_images, capsys):
    run = tmp_path / "run"
    args = ["--data", f"folder:{small_images}", "--batch", "8", "--out", str(run), "--no-progress"]
    assert main(["train", "--recipe", "r3gan", "--steps", "4", *args, "--set", *TINY_SETS]) == 0
    assert "over 0.00256 kimg (8% of the run, the paper's share)" in capsys.readouterr().out
    assert main(["train", "--resume", "auto", "--steps", "6", *args]) == 0
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["steps"] == 6 and cfg["r3gan.decay_kimg"] == pytest.approx(PAPER_DECAY_SHARE * 4 * 8 / 1000)
    assert not math.isclose(cfg["r3gan.decay_kimg"], PAPER_DECAY_SHARE * 6 * 8 / 1000)


@pytest.mark.slow  # torchrun starts two processes
def test_two_processes_equal_one_with_the_same_global_batch(tmp_path, small_images):
    """Each rank pairs its reals with its fakes and takes R1 and R2 on its half; the schedules follow the global
    images seen, so every rank sets the same rates and gamma as one process does."""
    from tests.train.test_distributed import TOLERANCE, torchrun, weights

    args = ["--recipe", "r3gan", "--data", f"folder:{small_images}", "--batch", "16", "--no-progress", "--device",
            "cpu", "--set", "log.every=5", "snapshot.every_kimg=1000", "ckpt.every_kimg=1000",
            "r3gan.decay_kimg=0.1", *TINY_SETS]
    torchrun(*args, "--steps", 10, "--out", tmp_path / "two")
    assert main(["train", *args, "--steps", "10", "--out", str(tmp_path / "one")]) == 0
    two, one = weights(tmp_path / "two", 10), weights(tmp_path / "one", 10)
    assert two["distributed"]["max_divergence"] == 0.0
    for net in ("G", "D"):
        assert two["optimizers"][net]["param_groups"][0]["lr"] == one["optimizers"][net]["param_groups"][0]["lr"]
        for key, value in one["nets"][net].items():
            assert torch.allclose(two["nets"][net][key], value, rtol=0, atol=TOLERANCE), (net, key)
