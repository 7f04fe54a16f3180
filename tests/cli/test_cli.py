"""The gankit command end to end: train, sample, export, recipes, demo, and errors that name their cause."""

import json
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from tests.helpers import FAST
from gankit.cli import main
from gankit.recipes import RECIPES

TINY = ["--set", *FAST, "G.width=4", "D.width=4"]


def gankit(*args):
    return main([str(a) for a in args])


@pytest.fixture(scope="module")
def trained(tmp_path_factory, small_images):
    run = tmp_path_factory.mktemp("cli") / "run"
    assert gankit("train", "--recipe", "dcgan", "--data", f"folder:{small_images}", "--steps", 6, "--batch", 16,
                  "--out", run, "--no-progress", *TINY, "ema.beta=0.9") == 0
    return run


def test_train_writes_a_complete_run_folder(trained):
    for name in ("config.json", "stats.jsonl", "progress.gif", "losses.png"):
        assert (trained / name).is_file(), name
    assert list((trained / "checkpoints").glob("ckpt-*.pt"))
    assert list((trained / "tensorboard").iterdir())
    cfg = json.loads((trained / "config.json").read_text())
    assert cfg["recipe"] == "dcgan" and cfg["ema.beta"] == 0.9
    record = json.loads((trained / "stats.jsonl").read_text().splitlines()[-1])
    for key in ("Loss/G", "Loss/D/real", "Loss/D/fake", "Logits/D/real", "Logits/D/fake", "Timing/images_per_sec"):
        assert key in record
    gif = Image.open(trained / "progress.gif")
    assert gif.n_frames >= 2


def test_sample_grid_and_folder_with_latents(trained, tmp_path):
    assert gankit("sample", "--run", trained, "-n", 9, "--out", tmp_path / "g.png", "--seed", 3) == 0
    grid = Image.open(tmp_path / "g.png")
    assert grid.size == (3 * 16 + 4 * 2, 3 * 16 + 4 * 2)
    assert np.load(tmp_path / "g.latents.npy").shape == (9, 100)
    assert gankit("sample", "--run", trained, "-n", 4, "--out", tmp_path / "imgs", "--seed", 3) == 0
    files = sorted(p.name for p in (tmp_path / "imgs").glob("*.png"))
    assert files == ["000000.png", "000001.png", "000002.png", "000003.png"]
    assert Image.open(tmp_path / "imgs" / "000000.png").size == (16, 16)
    z = np.load(tmp_path / "imgs" / "latents.npy")
    assert np.array_equal(z, np.load(tmp_path / "g.latents.npy")[:4])  # same seed, same latents
    # written a batch at a time: the batch size changes neither the images nor their names
    assert gankit("sample", "--run", trained, "-n", 5, "--batch", 2, "--out", tmp_path / "small", "--seed", 3) == 0
    assert sorted(p.name for p in (tmp_path / "small").glob("*.png"))[:4] == files
    for name in files:
        assert np.array_equal(np.asarray(Image.open(tmp_path / "small" / name)),
                              np.asarray(Image.open(tmp_path / "imgs" / name)))


def test_export_reproduces_the_checkpoint_generator(trained, tmp_path):
    from gankit.export import load_any

    assert gankit("export", "--run", trained, "--out", tmp_path / "ex") == 0
    assert sorted(p.name for p in (tmp_path / "ex").iterdir()) == ["config.json", "generator.safetensors"]
    G1, meta = load_any(run=str(trained))
    G2, meta2 = load_any(export=str(tmp_path / "ex"))
    z = torch.randn(4, 100)
    with torch.no_grad():
        assert torch.equal(G1(z), G2(z))
    assert meta2["ema"] is True and meta2["recipe"] == "dcgan" and meta2["shape"] == [1, 16, 16]
    # exporting again replaces the folder whole
    assert gankit("export", "--run", trained, "--out", tmp_path / "ex") == 0
    assert gankit("sample", "--export", tmp_path / "ex", "-n", 2, "--out", tmp_path / "e.png") == 0


def test_resume_continues_and_refuses_changes(trained, capsys):
    assert gankit("train", "--out", trained, "--resume", "auto", "--steps", 8, "--no-progress") == 0
    assert "ckpt-00000008.pt" in capsys.readouterr().out
    assert gankit("train", "--out", trained, "--resume", "auto", "--steps", 9, "--set", "D.lr=0.1") == 2
    assert "D.lr" in capsys.readouterr().err


def test_recipes_lists_every_recipe_with_its_paper(capsys):
    assert gankit("recipes") == 0
    out = capsys.readouterr().out
    for name, recipe in RECIPES.items():
        assert name in out and recipe.paper in out
    assert gankit("recipes", "--show", "wgan") == 0
    shown = capsys.readouterr().out
    # its default, what it does, then the values it accepts
    assert re.search(r"^  clip=0\.01 +clip D's weights to \[-clip, clip\] \(WGAN\); at least 0 \(the weight clipping bound; "
                     r"0 = off\)$", shown, re.M)
    assert re.search(r"^  ema\.beta=0\.0 +keep a moving average of G's weights \(G_ema\) to sample from; in \[0, 1\) ",
                     shown, re.M)


def test_a_reader_that_stops_early_gets_no_traceback():
    shown = subprocess.run(f"{sys.executable} -m gankit recipes --show dcgan | head -n 1", shell=True,
                           capture_output=True, text=True)
    assert shown.stdout.startswith("dcgan: ") and shown.stderr == ""


@pytest.mark.parametrize("command", ["train", "sample", "recipes", "export", "demo"])
def test_every_subcommand_has_help_with_examples(command):
    out = subprocess.run([sys.executable, "-m", "gankit", command, "--help"], capture_output=True, text=True, check=True).stdout
    assert "examples:" in out and f"gankit {command}" in out


@pytest.mark.parametrize("args,needle", [
    (["train", "--recipe", "dcgn", "--data", "ring8"], "dcgn"),
    (["train", "--recipe", "dcgan", "--data", "no/such/folder"], "no/such/folder"),
    (["train", "--recipe", "dcgan", "--data", "ring8", "--set", "G.lrr=1"], "G.lrr"),
    (["train", "--recipe", "dcgan", "--data", "ring8", "--set", "batch=many"], "batch=many"),
    (["sample", "--checkpoint", "missing.pt", "--out", "x.png"], "missing.pt"),
    (["sample", "--export", "missing_dir", "--out", "x.png"], "missing_dir"),
])
def test_bad_input_names_the_culprit(args, needle, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert gankit(*args) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


def test_strict_mode_stops_before_the_first_step_naming_the_file(tmp_path, capsys):
    from tests.data.folder_fixture import make_fixture_folder

    made = make_fixture_folder(tmp_path / "cells")
    out = tmp_path / "run"
    code = gankit("train", "--recipe", "dcgan", "--data", f"folder:{made['root']}", "--steps", 2, "--batch", 2,
                  "--out", out, "--set", "data.strict=true", "data.resolution=28")
    assert code == 2
    err = capsys.readouterr().err
    assert any(str(bad.name) in err for bad in made["bad"])
    assert not (out / "checkpoints").exists()


def test_lenient_mode_reports_skipped_files_before_training(tmp_path, capsys):
    from tests.data.folder_fixture import make_fixture_folder

    made = make_fixture_folder(tmp_path / "cells")
    code = gankit("train", "--recipe", "dcgan", "--data", f"folder:{made['root']}", "--steps", 1, "--batch", 2,
                  "--out", tmp_path / "run", "--no-progress", *TINY, "data.resolution=28")
    assert code == 0
    out = capsys.readouterr().out
    for bad in made["bad"]:
        assert f"skipped {bad}" in out
    assert out.index("skipped") < out.index("training dcgan")


@pytest.fixture
def images_with_a_bad_file(small_images, tmp_path):
    import shutil

    root = shutil.copytree(small_images, tmp_path / "cells")
    bad = root / "tops" / "broken.png"
    bad.write_bytes(b"not a png")
    return root, bad


@pytest.fixture(scope="module")
def tiny_ae(tmp_path_factory, small_images):
    run = tmp_path_factory.mktemp("cli") / "ae"
    assert gankit("train", "--recipe", "ae", "--data", f"folder:{small_images}", "--steps", 2, "--batch", 16,
                  "--out", run, "--no-progress", "--set", *FAST, "G.width=4", "z_dim=2") == 0
    return run


@pytest.mark.parametrize("command", [
    ["eval", "--metrics", "fd", "--features", "fmnist", "--n", 16],
    ["latent-map", "--out", "map"],
    ["sample", "--reconstruct", "-n", 2, "--out", "rec.png"],
    ["features", "train"],
])
def test_every_command_reading_a_folder_names_what_it_skips_and_strict_stops(tiny_ae, images_with_a_bad_file,
                                                                            tmp_path, capsys, command, monkeypatch):
    root, bad = images_with_a_bad_file
    monkeypatch.chdir(tmp_path)
    if command[0] == "features":
        args = [*command, f"folder:{root}", "--out", tmp_path / "feat", "--epochs", 1, "--width", 4]
    else:
        args = [*command[:1], "--run", tiny_ae, "--data", f"folder:{root}", *command[1:]]
    assert gankit(*args) == 0
    err = capsys.readouterr().err
    assert f"skipped {bad}" in err and "1 file(s) skipped" in err and "--strict" in err
    assert gankit(*args, "--strict") == 2
    assert str(bad) in capsys.readouterr().err


def test_gankit_warnings_are_one_line_naming_the_command(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GANKIT_DATA", str(tmp_path / "fashon-mnist"))
    assert gankit("train", "--recipe", "dcgan", "--data", "fashion-mnist:test", "--steps", 1, "--batch", 2,
                  "--out", tmp_path / "run", "--no-progress", *TINY) == 0
    err = capsys.readouterr().err
    assert f"gankit train: warning: GANKIT_DATA={tmp_path / 'fashon-mnist'}: no such folder" in err
    assert "UserWarning" not in err


def test_demo_runs_offline_into_its_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_DATA", str(tmp_path / "nothing-here"))
    (tmp_path / "nothing-here").mkdir()
    assert gankit("demo", "--steps", 2, "--out", tmp_path / "demo", "--no-progress") == 0
    assert (tmp_path / "demo" / "progress.gif").is_file()
    config = json.loads((tmp_path / "demo" / "config.json").read_text())
    assert config["data"] == "fashion-mnist:test"
    # a class-conditional DCGAN: a grid column per class
    assert (config["recipe"], config["G.arch"], config["D.arch"], config["cond.mode"]) == ("cgan", "dcgan", "dcgan",
                                                                                          "input")


def test_demo_into_a_used_folder_points_to_train_resume(trained, capsys):
    assert gankit("demo", "--out", trained) == 2
    assert f"--out {trained}: already holds a run; choose another --out, or continue this one with `gankit train " \
           f"--out {trained} --resume auto" in capsys.readouterr().err


@pytest.mark.skipif(torch.backends.mps.is_available(), reason="this machine has an Apple GPU")
def test_a_device_this_machine_lacks_is_refused_by_name(trained, tmp_path, capsys):
    assert gankit("sample", "--run", trained, "--out", tmp_path / "x.png", "--device", "mps") == 2
    assert "--device mps: no Apple GPU (MPS) is available here" in capsys.readouterr().err


def test_readers_of_a_run_pass_over_a_damaged_newest_checkpoint(trained, tmp_path, capsys):
    """A copy cut short as the newest checkpoint: sample and export warn, naming it, and use the one before."""
    import shutil

    from gankit.export import load_any

    run = shutil.copytree(trained, tmp_path / "run")
    good = sorted((run / "checkpoints").glob("ckpt-*.pt"))[-1]
    damaged = run / "checkpoints" / "ckpt-99999999.pt"
    damaged.write_bytes(good.read_bytes()[:1000])
    capsys.readouterr()
    assert gankit("sample", "--run", run, "-n", 4, "--out", tmp_path / "s.png") == 0
    assert gankit("export", "--run", run, "--out", tmp_path / "ex") == 0
    err = capsys.readouterr().err.splitlines()
    assert len([line for line in err if "warning: skipping" in line and str(damaged) in line]) == 2, err
    G1, _ = load_any(checkpoint=str(good))
    G2, _ = load_any(export=str(tmp_path / "ex"))
    z = torch.randn(4, 100)
    with torch.no_grad():
        assert torch.equal(G1(z), G2(z))


@pytest.mark.parametrize("edit,named", [
    (lambda c: c.update(z_dim="q"), "z_dim 'q' does not match the network's (100)"),
    (lambda c: c["network"].update(width=8), "cannot load weights into the network config.json describes"),
])
def test_a_hand_edited_export_config_gives_one_line(trained, tmp_path, capsys, edit, named):
    assert gankit("export", "--run", trained, "--out", tmp_path / "ex") == 0
    config = json.loads((tmp_path / "ex" / "config.json").read_text())
    edit(config)
    (tmp_path / "ex" / "config.json").write_text(json.dumps(config))
    assert gankit("sample", "--export", tmp_path / "ex", "-n", 1, "--out", tmp_path / "x.png") == 2
    err = capsys.readouterr().err
    assert named in err and len(err.strip().splitlines()) == 1


def test_a_tampered_export_is_refused(trained, tmp_path, capsys):
    assert gankit("export", "--run", trained, "--out", tmp_path / "ex") == 0
    weights = tmp_path / "ex" / "generator.safetensors"
    weights.write_bytes(weights.read_bytes()[:-1] + b"\x00")
    assert gankit("sample", "--export", tmp_path / "ex", "-n", 1, "--out", tmp_path / "x.png") == 2
    assert "sha256" in capsys.readouterr().err


@pytest.mark.parametrize("args,named", [
    (["train", "--recipe", "nsgan", "--data", "ring8", "--steps", "1", "--out", "{file}/run"], "a-file"),
    (["train", "--recipe", "nsgan", "--data", "ring8", "--steps", "1", "--set", "amp=bogus"], "amp=bogus"),
])
def test_bad_output_paths_and_values_give_one_line_naming_them(tmp_path, capsys, monkeypatch, args, named):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-file").write_text("not a folder\n")
    assert main([a.replace("{file}", str(tmp_path / "a-file")) for a in args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gankit train: error:") and named in err[0]


def test_train_into_a_folder_that_is_not_a_run_is_refused_and_it_is_untouched(tmp_path, capsys):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "config.json").write_text('{"mine": true}')
    assert gankit("train", "--recipe", "nsgan", "--data", "ring8", "--steps", 1, "--out", tmp_path / "mine") == 2
    assert "is not a gankit run folder" in capsys.readouterr().err
    assert (tmp_path / "mine" / "config.json").read_text() == '{"mine": true}'
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["config.json"]


def test_a_sample_folder_is_replaced_whole_and_a_foreign_one_refused(trained, tmp_path, capsys):
    out = tmp_path / "s"
    assert gankit("sample", "--run", trained, "-n", 5, "--out", out) == 0
    assert gankit("sample", "--run", trained, "-n", 2, "--seed", 4, "--out", out) == 0
    assert sorted(p.name for p in out.iterdir()) == ["000000.png", "000001.png", "latents.npy"]  # no stale images
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "000000.png").write_text("keep")
    assert gankit("sample", "--run", trained, "-n", 2, "--out", tmp_path / "mine") == 2
    assert "refusing to replace it" in capsys.readouterr().err
    assert (tmp_path / "mine" / "000000.png").read_text() == "keep"


def test_data_of_the_wrong_kind_for_the_model_is_named(trained, capsys):
    assert gankit("eval", "--run", trained, "--n", 20, "--data", "ring8") == 2
    assert "--data ring8: 2-D points, but this model makes images" in capsys.readouterr().err


def test_an_out_that_cannot_be_written_is_refused_before_the_work(trained, tmp_path, capsys, monkeypatch):
    import os

    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(tmp_path) else real_access(p, mode))
    assert gankit("export", "--run", trained, "--out", tmp_path / "ex") == 2
    assert f"--out {tmp_path / 'ex'}: no permission to write in {tmp_path}" in capsys.readouterr().err


def test_train_strict_flag_stops_on_a_bad_file_like_the_other_readers(images_with_a_bad_file, tmp_path, capsys):
    root, bad = images_with_a_bad_file
    assert gankit("train", "--recipe", "dcgan", "--data", f"folder:{root}", "--steps", 1, "--batch", 2, "--strict",
                  "--out", tmp_path / "run", "--no-progress", *TINY) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and err.count("\n") == 1
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_a_full_disk_during_training_is_one_line_and_the_last_checkpoint_still_loads(tmp_path, capsys):
    from gankit.train import checkpoint
    from tests.helpers import small_nets
    from tests.small_disk import fill_up, small_disk

    with small_disk(tmp_path / "disk") as disk:
        run = disk / "run"
        args = ["train", "--recipe", "gan", "--data", "ring8", "--batch", 16, "--out", run, "--no-progress",
                "--set", *FAST, *small_nets("gan"), "log.every=1000"]
        assert gankit(*args, "--steps", 4) == 0
        fill_up(disk, leave=8192)  # room for the config, none for another checkpoint
        capsys.readouterr()
        assert gankit(*args, "--steps", 8, "--resume", "auto") == 2
        err = capsys.readouterr().err
        assert re.fullmatch(rf"gankit train: error: cannot write {run}/checkpoints/ckpt-00000008\.pt: no space left "
                            r"on the device holding it \([\d,]+ bytes free\)\n", err), err
        assert checkpoint.load(checkpoint.latest(run))["step"] == 4
        assert [p.name for p in run.rglob("*") if p.name.startswith(".")] == []


@pytest.mark.parametrize("error, line", [
    (OSError(5, "Input/output error", "runs/a/grid.png"), "runs/a/grid.png: Input/output error"),
    (OSError(28, "No space left on device"), "No space left on device"),  # a buffered write fails without a name
])
def test_an_error_of_the_system_is_one_line_not_a_traceback(monkeypatch, capsys, error, line):
    from gankit.cli import recipes

    def fails(args):
        raise error

    monkeypatch.setattr(recipes, "run", fails)
    assert gankit("recipes") == 2
    assert capsys.readouterr().err == f"gankit recipes: error: {line}\n"


def test_an_oserror_without_a_cause_from_the_system_keeps_its_traceback(monkeypatch):
    from gankit.cli import recipes

    monkeypatch.setattr(recipes, "run", lambda args: (_ for _ in ()).throw(OSError("a bug, not the disk")))
    with pytest.raises(OSError, match="a bug"):
        gankit("recipes")
