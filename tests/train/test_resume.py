"""Exact resume: 200 steps straight equal 100 + resume + 100, bit for bit, weights and optimizer states."""

import pytest
import torch

from tests.helpers import FAST, TINY_CONV, small_nets
from gankit.train.run import open_run


def _assert_same(a, b, path="state"):
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b), path
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            _assert_same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{path}[{i}]")
    else:
        assert a == b, path


@pytest.mark.slow  # two runs each; test_interrupt's resumed-equals-straight run stays in the quick subset
@pytest.mark.parametrize("recipe,data_kind,extra", [
    ("dcgan", "images", TINY_CONV + ["ema.beta=0.9", "data.flip=true", "data.brightness=0.2", "augment.ada=true",
                                     "ada.kimg=1", "tricks.historical_averaging=0.001"]),
    # evaluation during training (its own latents, best checkpoint) must not change the training trajectory
    ("wgan-gp", "ring8", ["G.hidden=32,32", "D.hidden=32,32", "eval.every_kimg=1", "eval.best=hq_percent"]),
    # ControlGAN's adaptive gamma is objective state, restored from the checkpoint
    ("controlgan", "ring8", ["G.hidden=32,32", "D.hidden=32,32", "C.hidden=16"]),
    # the relativistic loss reads a real batch in G's step too: the data order must resume with it
    ("nsgan", "ring8", ["G.hidden=32,32", "D.hidden=32,32", "loss=relativistic", "r1=1", "r2=1"]),
])
def test_straight_equals_resumed(tmp_path, small_images, recipe, data_kind, extra):
    data = f"folder:{small_images}" if data_kind == "images" else data_kind
    common = dict(recipe=recipe, data=data, batch=24, progress_bar=False, sets=FAST + extra, log=lambda s: None)

    straight = open_run(steps=200, out=str(tmp_path / "straight"), **common)
    straight.fit()

    first = open_run(steps=100, out=str(tmp_path / "split"), **common)
    first.fit()
    del first
    resumed = open_run(steps=200, out=str(tmp_path / "split"), resume="auto", **{**common, "sets": []})
    assert resumed.step == 100
    resumed.fit()

    a, b = straight.state_dict(), resumed.state_dict()
    for key in ("nets", "G_ema", "optimizers", "objective", "feed", "z_gen", "step", "nimg"):
        _assert_same(a[key], b[key], key)
    assert any(not torch.equal(x, y) for x, y in zip(a["nets"]["G"].values(), _initial_G(common, tmp_path).values())), \
        "training changed nothing, so the comparison proves nothing"


def _initial_G(common, tmp_path):
    return open_run(steps=1, out=str(tmp_path / "init"), **common).objective.nets["G"].state_dict()


def test_resume_refuses_changed_hyperparameters_but_allows_budget(tmp_path):
    from gankit.config import ConfigError

    common = dict(recipe="nsgan", data="ring8", batch=8, progress_bar=False, log=lambda s: None)
    open_run(steps=3, out=str(tmp_path / "r"), sets=FAST, **common).fit()
    with pytest.raises(ConfigError, match=r"G\.lr: 0\.0002 -> 0\.1"):
        open_run(steps=6, out=str(tmp_path / "r"), resume="auto", sets=["G.lr=0.1"], **common)
    with pytest.raises(ConfigError, match="batch"):
        open_run(recipe="nsgan", data="ring8", steps=6, batch=16, out=str(tmp_path / "r"), resume="auto", log=print)
    t = open_run(steps=6, out=str(tmp_path / "r"), resume="auto", sets=["log.every=2"], **common)
    assert t.step == 3 and t.cfg["steps"] == 6


def test_new_run_into_a_used_folder_is_refused(tmp_path):
    from gankit.config import ConfigError

    common = dict(recipe="nsgan", data="ring8", batch=8, steps=2, progress_bar=False, sets=FAST, log=lambda s: None)
    open_run(out=str(tmp_path / "r"), **common).fit()
    with pytest.raises(ConfigError, match="--resume auto"):
        open_run(out=str(tmp_path / "r"), **common)


@pytest.mark.parametrize("data", ["images", "ring8"])
def test_a_checkpoint_from_another_kind_of_device_resumes_with_fresh_seeds(tmp_path, small_images, data):
    """A GPU run continued on a laptop (or back): generator states differ by device, so they restart, announced."""
    from gankit.train import checkpoint

    data = f"folder:{small_images}" if data == "images" else data
    common = dict(recipe="dcgan", data=data, batch=16, progress_bar=False, sets=FAST + small_nets("dcgan", data=data),
                  device="cpu")
    run = tmp_path / "r"
    open_run(steps=2, out=str(run), log=lambda s: None, **common).fit()
    path = checkpoint.latest(run)
    state = checkpoint.load(path)
    assert state["device"] == "cpu"
    cuda_like = torch.zeros(16, dtype=torch.uint8)  # a CUDA generator's state: seed and offset, 16 bytes
    state.update(device="cuda", z_gen=cuda_like)
    state["feed"]["generator"] = cuda_like
    checkpoint.save(state, path)
    logs = []
    resumed = open_run(steps=4, out=str(run), resume="auto", log=logs.append, **common)
    assert resumed.step == 2
    assert sum("written on cuda" in line and "new seeds" in line for line in logs) == 1
    resumed.fit()
    assert resumed.step == 4
    again = []  # a checkpoint from this device resumes exactly, without the notice
    open_run(steps=6, out=str(run), resume="auto", log=again.append, **common)
    assert not any("new seeds" in line for line in again)


def test_resume_takes_a_run_folder_and_refuses_one_without_checkpoints(tmp_path):
    from gankit.config import ConfigError

    common = dict(batch=8, progress_bar=False, log=lambda s: None)
    open_run(recipe="nsgan", data="ring8", steps=3, out=str(tmp_path / "r"), sets=FAST, **common).fit()
    resumed = open_run(recipe=None, data=None, steps=5, resume=str(tmp_path / "r"), **common)
    assert resumed.step == 3 and resumed.run_dir == tmp_path / "r"
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match=r"--resume .*empty: a folder without checkpoints"):
        open_run(recipe=None, data=None, resume=str(tmp_path / "empty"), **common)


def edited_checkpoint(tmp_path, edit):
    """A real checkpoint of a 3-step run, changed by ``edit(state)`` and saved beside it."""
    from gankit.train import checkpoint

    open_run(recipe="nsgan", data="ring8", steps=3, batch=8, out=str(tmp_path / "r"), sets=FAST,
             progress_bar=False, log=lambda s: None).fit()
    state = checkpoint.load(checkpoint.latest(tmp_path / "r"))
    edit(state)
    path = tmp_path / "edited.pt"
    torch.save(state, path)
    return path


def test_a_checkpoint_of_an_unknown_recipe_names_the_file_not_a_flag(tmp_path):
    from gankit.config import ConfigError

    path = edited_checkpoint(tmp_path, lambda s: s["config"].update(recipe="stylegan9"))
    with pytest.raises(ConfigError, match=r"^checkpoint .*edited\.pt: trained with recipe 'stylegan9', which this"):
        open_run(recipe=None, data=None, resume=str(path), out=str(tmp_path / "again"), log=lambda s: None)


def test_weights_that_do_not_fit_their_networks_give_one_line(tmp_path):
    from gankit.export import load_checkpoint_generator
    from gankit.train.checkpoint import CheckpointError

    def shrink(state):
        key = next(iter(state["nets"]["G"]))
        state["nets"]["G"][key] = torch.zeros(3)

    path = edited_checkpoint(tmp_path, shrink)
    for load in (lambda: open_run(recipe=None, data=None, resume=str(path), out=str(tmp_path / "again"),
                                  progress_bar=False, log=lambda s: None),
                 lambda: load_checkpoint_generator(path)):
        with pytest.raises(CheckpointError, match=r"edited\.pt: its weights do not fit .*size mismatch") as e:
            load()
        assert "\n" not in str(e.value)


def test_a_checkpoint_holding_a_value_now_refused_names_the_checkpoint(tmp_path):
    from gankit.config import ConfigError

    path = edited_checkpoint(tmp_path, lambda s: s["config"].update({"ema.beta": 2.0}))
    with pytest.raises(ConfigError, match=r"^checkpoint .*edited\.pt: holds ema\.beta=2\.0, which this version of "
                                          r"gankit refuses: must be in \[0, 1\)"):
        open_run(recipe=None, data=None, resume=str(path), out=str(tmp_path / "again"), log=lambda s: None)


def test_seeds_and_frozen_nets_that_trained_before_ranges_existed_still_resume(tmp_path):
    common = dict(recipe="nsgan", data="ring8", batch=8, progress_bar=False, log=lambda s: None)
    open_run(steps=2, seed=-1, sets=FAST + ["D.lr=0"], out=str(tmp_path / "r"), **common).fit()
    assert open_run(steps=4, resume="auto", out=str(tmp_path / "r"), **common).step == 2


def test_resume_falls_back_past_damaged_checkpoints_naming_each_but_not_for_an_explicit_file(tmp_path):
    from gankit.train import checkpoint
    from gankit.train.checkpoint import CheckpointError

    common = dict(batch=8, progress_bar=False)
    run = tmp_path / "r"
    open_run(recipe="nsgan", data="ring8", steps=6, out=str(run), sets=FAST + ["ckpt.every_kimg=0.008"],
             log=lambda s: None, **common).fit()
    assert [p.name for p in checkpoint.list_checkpoints(run)][-3:] == [f"ckpt-0000000{s}.pt" for s in (4, 5, 6)]
    six, five = checkpoint.checkpoint_path(run, 6), checkpoint.checkpoint_path(run, 5)
    six.write_bytes(six.read_bytes()[:1000])  # a copy cut short
    five.write_text("")  # a disk that lost it
    for resume, out in (("auto", str(run)), (str(run), None)):
        logged = []
        resumed = open_run(recipe=None, data=None, steps=8, out=out, resume=resume, log=logged.append, **common)
        assert resumed.step == 4
        assert [line.split(":")[0] for line in logged[:2]] == [f"skipping {six}", f"skipping {five}"]
        assert logged[2].startswith(f"resuming from {checkpoint.checkpoint_path(run, 4)}")
        resumed.close()  # frees the run folder without training
    with pytest.raises(CheckpointError, match="ckpt-00000006.pt: unreadable or truncated"):
        open_run(recipe=None, data=None, resume=str(six), log=lambda s: None, **common)
    for p in checkpoint.list_checkpoints(run):
        p.write_text("")
    with pytest.raises(CheckpointError, match="no checkpoint can be loaded .*00000006.*00000005.*00000004"):
        open_run(recipe=None, data=None, out=str(run), resume="auto", log=lambda s: None, **common)


def test_a_checkpoint_from_before_the_width_cap_resumes_with_its_uncapped_networks(tmp_path, small_images):
    """DCGAN's widths are capped at G.max_width/D.max_width since those keys exist; a checkpoint without them trained
    uncapped, and its networks must be built so (a capped 128x128 net would not take its weights)."""
    from gankit.train import checkpoint

    common = dict(recipe="dcgan", data=f"folder:{small_images}", batch=8, progress_bar=False, log=lambda s: None)
    open_run(steps=1, sets=FAST + TINY_CONV, out=str(tmp_path / "r"), **common).fit()
    state = checkpoint.load(checkpoint.latest(tmp_path / "r"))
    for key in ("G.max_width", "D.max_width"):
        del state["config"][key]
    torch.save(state, tmp_path / "old.pt")
    trainer = open_run(recipe=None, data=None, steps=2, resume=str(tmp_path / "old.pt"), out=str(tmp_path / "r2"),
                       progress_bar=False, log=lambda s: None)
    try:
        assert trainer.cfg["G.max_width"] == trainer.cfg["D.max_width"] == 0
        assert trainer.objective.G.config["max_width"] == trainer.objective.D.config["max_width"] == 0
    finally:
        trainer.close()


def test_a_folder_run_from_before_sizes_were_chosen_resumes_at_the_folders_own_size(tmp_path):
    """Without data.resolution such a run trained at its largest image's size; a resume must read the folder so
    again, not at the size chosen for new runs."""
    from PIL import Image

    from gankit.train import checkpoint

    folder = tmp_path / "photos"
    folder.mkdir()
    for i, side in enumerate((60, 80, 100, 96, 90, 70, 100, 85)):
        Image.new("L", (side, side), 30 * i).save(folder / f"{i}.png")
    common = dict(batch=4, progress_bar=False, log=lambda s: None)
    open_run(recipe="dcgan", data=f"folder:{folder}", steps=1, sets=FAST + TINY_CONV + ["data.resolution=100"],
             out=str(tmp_path / "r"), **common).fit()
    state = checkpoint.load(checkpoint.latest(tmp_path / "r"))
    state["config"]["data.resolution"] = 0  # as written before: the folder's own size, the largest image's
    torch.save(state, tmp_path / "old.pt")
    trainer = open_run(recipe=None, data=None, steps=2, resume=str(tmp_path / "old.pt"), out=str(tmp_path / "r2"),
                       **common)
    try:
        assert trainer.feed.info.resolution == 100 and trainer.cfg["data.resolution"] == 0
    finally:
        trainer.close()
