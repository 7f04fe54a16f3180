"""FastGAN: hinge loss plus D's reconstruction of real images, DiffAugment by default, noise drawn per sample."""

import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from gankit.cli import main
from gankit.config import ConfigError
from gankit.recipes import RECIPES, check_config
from gankit.recipes.adversarial import net_arch
from gankit.recipes.base import DataInfo
from gankit.recipes.fastgan import reconstruction_loss
from gankit.regularizers.batch_random import BatchRandom
from gankit.train.run import default_config
from gankit.train.stats import read_stats
from tests.data.cell_crops import make_cell_crops

INFO = DataInfo("image", (1, 16, 16))
TINY = {"G.width": 4, "D.width": 4, "G.max_width": 16, "D.max_width": 16, "z_dim": 8}


class Ctx:
    """A hand-made StepContext: a fixed real batch and latents, per-sample randomness from a seeded generator."""

    batch, progress = 4, 0.0

    def __init__(self, seed=0, resolution=16):
        g = torch.Generator().manual_seed(123)
        self.x = torch.rand(4, 1, resolution, resolution, generator=g) * 2 - 1
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
    return RECIPES["fastgan"].build({**default_config("fastgan", "x"), **TINY, **changes}, info)


def test_defaults_follow_the_paper():
    cfg = RECIPES["fastgan"].defaults
    assert (cfg["loss"], cfg["G.lr"], cfg["D.lr"], cfg["G.betas"], cfg["batch"], cfg["z_dim"]) == \
        ("hinge", 2e-4, 2e-4, [0.5, 0.999], 8, 256)
    assert (cfg["recon.weight"], cfg["recon"], cfg["augment.policy"]) == (1.0, "l1", "color,translation,cutout")
    assert (cfg["ema.beta"], cfg["ema.rampup"]) == (0.999, 0.05) and cfg["G.norm"] == cfg["D.norm"] == "batch"


def test_reconstruction_loss_is_the_l1_to_the_downsampled_real_and_its_quadrant():
    D = objective(DataInfo("image", (1, 256, 256))).D.eval()
    x = torch.rand(2, 1, 256, 256) * 2 - 1
    which = torch.tensor([2, 1])
    logits, loss = reconstruction_loss(D, x, which)
    _, whole, part = D.reconstruct(x, which)
    halved = x.view(2, 1, 128, 2, 128, 2).mean((3, 5))  # 256 -> the decoders' 128 pixels
    part_target = torch.stack([x[0, :, 128:, :128], x[1, :, :128, 128:]])  # bottom left, top right
    expected = (whole - halved).abs().mean() + (part - part_target).abs().mean()
    assert torch.allclose(loss, expected, atol=1e-6) and torch.allclose(logits, D(x), atol=1e-6)
    _, mse = reconstruction_loss(D, x, which, "mse")
    assert torch.allclose(mse, (whole - halved).square().mean() + (part - part_target).square().mean(), atol=1e-6)


def test_reconstruction_loss_is_zero_when_the_decoders_reproduce_the_targets():
    x = torch.rand(3, 2, 16, 16)
    which = torch.tensor([0, 3, 1])

    class Perfect:
        def reconstruct(self, x, which):
            return torch.zeros(3), x, torch.stack([x[0, :, :8, :8], x[1, :, 8:, 8:], x[2, :, :8, 8:]])

    assert reconstruction_loss(Perfect(), x, which)[1].item() == 0


def test_reconstruction_gradient_reaches_ds_decoders_and_body_but_not_g():
    obj = objective(**{"augment.policy": ""})
    ctx = Ctx()
    _, _, recon = obj.discriminate_real(ctx.x, None, ctx)
    recon.backward()
    for part in (obj.D.decode_whole, obj.D.decode_part, obj.D.stem, obj.D.blocks):
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in part.parameters()), part
    assert all(p.grad is None for p in obj.D.head.parameters())  # the logits are not part of it
    assert all(p.grad is None for p in obj.G.parameters())
    obj.D.zero_grad(set_to_none=True)
    obj.d_loss(Ctx()).backward()  # D's whole loss: G's fakes are made without a graph
    assert all(p.grad is None for p in obj.G.parameters())


def _d_loss(weight, seed=0):
    obj = objective(**{"augment.policy": "", "recon.weight": weight})
    obj.D.eval()  # no power iteration or batch statistics: the same D in every call
    ctx = Ctx(seed)
    return obj, ctx, obj.d_loss(ctx)


@pytest.mark.parametrize("weight", [0.5, 2.0])
def test_ds_loss_adds_the_weighted_reconstruction_to_the_hinge(weight):
    torch.manual_seed(0)
    obj, _, plain = _d_loss(0.0)
    torch.manual_seed(0)
    _, ctx, loss = _d_loss(weight)
    recon = ctx.reported["Loss/D/recon"]
    assert recon > 0 and torch.allclose(loss, plain + weight * recon, atol=1e-6)
    # weight 0: the plain hinge loss on reals and on fakes (whose noise comes from the step's generator)
    ctx = Ctx()
    fake = obj.G(ctx.zz, noise=BatchRandom(torch.Generator().manual_seed(0)))
    hinge = F.relu(1 - obj.D(ctx.x)).mean() + F.relu(1 + obj.D(fake)).mean()
    assert torch.allclose(plain, hinge, atol=1e-6)


def test_g_minimises_minus_d_of_its_samples():
    obj = objective(**{"augment.policy": ""})
    obj.D.eval()
    ctx = Ctx(seed=5)
    loss = obj.g_loss(ctx)
    fake = obj.G(ctx.zz, noise=BatchRandom(torch.Generator().manual_seed(5)))
    assert torch.allclose(loss, -obj.D(fake).mean(), atol=1e-6)


def test_image_only_and_unconditional():
    with pytest.raises(ConfigError, match="needs image data"):
        objective(DataInfo("points", (2,), num_classes=8))
    with pytest.raises(ConfigError, match="cond.mode"):
        check_config({**default_config("fastgan", "x"), "cond.mode": "input"})
    # other presets may pick the fastgan networks for images; on 2-D points they build MLPs, as for dcgan
    assert net_arch({"G.arch": "fastgan"}, "G", "points") == "mlp-g"
    assert net_arch({"G.arch": "fastgan"}, "G", "image") == "fastgan-g"


def test_train_on_a_small_folder_writes_a_checkpoint_and_samples(tmp_path):
    make_cell_crops(tmp_path / "cells", count=16)
    run = tmp_path / "run"
    code = main(["train", "--recipe", "fastgan", "--data", f"folder:{tmp_path / 'cells'}", "--steps", "6",
                 "--out", str(run), "--no-progress", "--set", "data.resolution=32", "log.every=3",
                 *[f"{k}={v}" for k, v in TINY.items()]])
    assert code == 0
    records = read_stats(run)
    assert records and all(r["Loss/D/recon"] > 0 for r in records)
    assert list((run / "checkpoints").glob("ckpt-*.pt"))
    grids = sorted((run / "samples").glob("grid-*.png"))
    assert grids and Image.open(grids[-1]).size[0] > 32
    assert main(["sample", "--run", str(run), "-n", "4", "--out", str(tmp_path / "samples.png")]) == 0
    assert (tmp_path / "samples.png").is_file()


@pytest.mark.slow  # two runs and a resume
def test_resume_is_exact(tmp_path, small_images):
    """G's noise, D's quadrants and DiffAugment come from the per-sample generator the checkpoint keeps; G_ema too."""
    from gankit.train.run import open_run
    from tests.helpers import FAST
    from tests.train.test_resume import _assert_same

    sets = FAST + [f"{k}={v}" for k, v in TINY.items()]
    common = dict(recipe="fastgan", data=f"folder:{small_images}", batch=8, progress_bar=False, log=lambda s: None)
    straight = open_run(steps=12, out=str(tmp_path / "straight"), sets=sets, **common)
    straight.fit()
    open_run(steps=6, out=str(tmp_path / "split"), sets=sets, **common).fit()
    resumed = open_run(steps=12, out=str(tmp_path / "split"), resume="auto", **common)
    assert resumed.step == 6
    resumed.fit()
    a, b = straight.state_dict(), resumed.state_dict()
    for key in ("nets", "G_ema", "optimizers", "objective", "feed", "z_gen", "step", "nimg"):
        _assert_same(a[key], b[key], key)
    noise = [v for k, v in a["nets"]["G"].items() if k.endswith("noises.0.weight")]
    assert noise and any(v.abs().item() > 0 for v in noise)  # the noise injection was trained, so it was drawn
