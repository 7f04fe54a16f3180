"""Flags every subcommand checks the same way: numbers outside their range are refused by name, before any work."""

import argparse

import pytest

from gankit.cli import main
from gankit.cli.common import COUNT, check_flags, flag_ranges
from gankit.config import ConfigError

MISSING = "no-such-run"  # the range check comes first: a missing model would be the next error


def test_a_ranged_flag_is_read_from_its_own_dest():
    p = argparse.ArgumentParser()
    p.add_argument("--max-frames", dest="frames", type=int)
    flag_ranges(p, {"--max-frames": COUNT})
    check_flags(p.parse_args(["--max-frames", "3"]))
    check_flags(p.parse_args([]))  # not given: nothing to check
    with pytest.raises(ConfigError, match="^--max-frames 0: must be at least 1$"):
        check_flags(p.parse_args(["--max-frames", "0"]))


@pytest.mark.parametrize("argv,message", [
    (["sample", "--run", MISSING, "--out", "x.png", "--batch", "0"], "--batch 0: must be at least 1"),
    (["sample", "--run", MISSING, "--out", "x.png", "-n", "0"], "-n 0: must be at least 1"),
    (["sample", "--run", MISSING, "--out", "x.png", "--seed", str(2**63)], f"--seed {2**63}: must be in [-{2**63}, "),
    (["directions", "--run", MISSING, "--score", "fmnist:Bag", "--out", "d.npy", "--fraction", "0.6"],
     "--fraction 0.6: must be in (0, 0.5]"),
    (["latent-map", "--run", MISSING, "--out", "m", "--lattice", "65"], "--lattice 65: must be in [2, 64]"),
    (["latent-map", "--run", MISSING, "--out", "m", "--batch", "0"], "--batch 0: must be at least 1"),
    (["walk", "--run", MISSING, "--seeds", "1,2", "--out", "w.png", "--steps", "1"],
     "--steps 1: must be at least 2 (the two endpoints)"),
    (["walk", "--run", MISSING, "--seeds", "1,2", "--out", "w.png", "--fps", "0"], "--fps 0: must be above 0"),
    (["walk", "--run", MISSING, "--seeds", "1,2", "--out", "w.png", "--fps", "nan"], "--fps nan: must be a finite"),
    (["edit", "--run", MISSING, "--direction", "d.npy", "--out", "e.png", "--batch", "0"], "--batch 0: must be at least 1"),
    (["directions", "--run", MISSING, "--score", "fmnist:Bag", "--out", "d.npy", "--svm-c", "0"],
     "--svm-c 0: must be above 0"),
    (["walk", "--run", MISSING, "--seeds", "1,2", "--out", "w.png", "--fps=-1e0"], "--fps -1e0: must be above 0"),
    (["eval", "--run", MISSING, "--cas-epochs", "-1"], "--cas-epochs -1: must be at least 1"),
    (["eval", "--run", MISSING, "--n", "1"], "--n 1: must be at least 2 (samples)"),
    (["features", "train", "fashion-mnist", "--out", "f", "--epochs", "0"], "--epochs 0: must be at least 1"),
    (["features", "train", "fashion-mnist", "--out", "f", "--width", "0"], "--width 0: must be at least 1"),
    (["demo", "--steps", "0"], "--steps 0: must be at least 1"),
])
def test_a_number_outside_its_range_is_refused_by_name_before_any_work(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert f"gankit {argv[0]}: error: {message}" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_argparse_errors_and_help_return_a_code():
    assert main(["sample", "--run", "r"]) == 2  # --out missing
    assert main(["recipes", "--help"]) == 0


WITH_OUT = {  # every command that takes --out, with its other required flags; a missing model comes after --out
    "train": ["--recipe", "nsgan", "--data", "ring8"],
    "sample": ["--run", MISSING],
    "walk": ["--run", MISSING, "--seeds", "1,2"],
    "edit": ["--run", MISSING, "--direction", "d.npy"],
    "directions": ["--run", MISSING, "--score", "fmnist:Bag"],
    "latent-map": ["--run", MISSING],
    "dataset": ["--run", MISSING, "-n", "10"],
    "export": ["--run", MISSING],
    "features": ["train", "fashion-mnist"],
    "demo": [],
}


def test_every_command_with_an_out_is_covered_here():
    from gankit.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert {name for name, p in sub.choices.items() if "--out" in p._option_string_actions} == set(WITH_OUT)


@pytest.mark.parametrize("out,message", [
    ("", "--out '': empty; give a file or folder name"),
    ("x" * 300 + ".png", f"the name {'x' * 20}...{'x' * 16}.png is 304 bytes; this file system takes 255 per name, "
                         "22 fewer for the files gankit names after it"),
    ("x" * 240 + ".png", "is 244 bytes; this file system takes 255 per name, 22 fewer"),
    ("/".join(["d" * 200] * 25) + "/x.png", "bytes; this file system takes 4096, 22 fewer for the files gankit writes"),
])
@pytest.mark.parametrize("command", WITH_OUT)
def test_an_empty_or_overlong_out_is_refused_by_name_before_any_work(command, out, message, capsys, tmp_path,
                                                                     monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main([command, *WITH_OUT[command], "--out", out]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"gankit {command}: error: --out ") and message in err[0], err
    assert len(err[0]) < 400  # a 5,000-character path is shortened in the message
    assert list(tmp_path.iterdir()) == []


def test_a_name_that_leaves_room_for_the_derived_files_is_accepted(tmp_path):
    from gankit.cli.common import OUT_NAME_ROOM, check_path

    check_path(str(tmp_path / ("x" * 229 + ".png")), "--out", OUT_NAME_ROOM)  # 233 + 22 = 255
    check_path(str(tmp_path / "a" / "b" / "new-folder"), "--out", OUT_NAME_ROOM)  # folders yet to be made are fine


LONG = "/tmp/" + "y" * 5000


@pytest.mark.parametrize("argv,message", [
    (["sample", "--export", LONG, "--out", "x.png"], f"--export /tmp/{'y' * 35}...{'y' * 40}: the name"),
    (["sample", "--run", LONG, "--out", "x.png"], "--run /tmp/yyy"),
    (["walk", "--checkpoint", LONG, "--seeds", "1,2", "--out", "x.png"], "--checkpoint /tmp/yyy"),
    (["export", "--checkpoint", LONG, "--out", "ex"], "--checkpoint /tmp/yyy"),
    (["edit", "--run", "r", "--direction", LONG, "--out", "x.png"], "--direction /tmp/yyy"),
    (["walk", "--run", "r", "--latents", "z.npy", LONG + ":1", "--out", "x.png"], "--latents /tmp/yyy"),
    (["sample", "--export", "", "--out", "x.png"], "--export '': empty"),
    (["edit", "--run", "r", "--direction", "", "--out", "x.png"], "--direction '': empty"),
])
def test_a_path_to_read_that_no_file_system_takes_is_one_line(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"gankit {argv[0]}: error: {message}"), err
    assert "bytes; this file system takes 255 per name" in err[0] or "empty" in err[0]
