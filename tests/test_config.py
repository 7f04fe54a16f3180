"""Config values: ``--set`` parsing and the range every numeric key is checked against before a run."""

import math
import subprocess
import sys

import pytest

from gankit import recipes
from gankit.config import (TRAINER_RANGES, ConfigError, Range, above, apply_overrides, at_least, check_ranges,
                           range_of, share)
from gankit.recipes.base import NET_RULES, DataInfo
from gankit.train.run import apply_flags, default_config
from gankit.train.trainer import Trainer


def test_a_range_refuses_what_lies_outside_it_and_nothing_else():
    closed, half_open = Range(0, 1), share(open_high=True)
    assert closed.problem(0) is None and closed.problem(1.0) is None
    assert half_open.problem(0.0) is None and half_open.problem(1.0) == "must be in [0, 1)"
    assert above(0).problem(0.0) == "must be above 0" and above(0).problem(1e-9) is None
    assert at_least(1).problem(0) == "must be at least 1"
    for bad in (math.nan, math.inf, -math.inf):
        assert closed.problem(bad) == "must be a finite number"
    assert closed.problem(True) == "expected a number, got True"


def test_a_list_is_checked_item_by_item_and_by_length():
    betas = NET_RULES["?.betas"]
    assert betas.problem([0.5, 0.999]) is None
    assert betas.problem([0.5]) == "expected 2 comma-separated numbers, got 1"
    assert betas.problem([0.5, 1.0]) == "each must be in [0, 1)"
    assert NET_RULES["?.hidden"].problem([64, 0]) == "each must be in [1, 65536]"


@pytest.mark.parametrize("key,value", [("batch", 64.0), ("tricks.pack", 2.0), ("G.hidden", [32, 32.5])])
def test_sizes_and_counts_must_be_whole_numbers(key, value):
    with pytest.raises(ConfigError, match=f"{key}[= ].*expected a whole number"):
        recipes.check_config({**default_config("nsgan", "ring8"), key: value})


def test_a_choice_of_values_refuses_the_others():
    channels = TRAINER_RANGES["data.channels"]
    assert [channels.problem(v) for v in (0, 1, 3)] == [None, None, None]
    assert channels.problem(2) == "must be one of 0, 1, 3"


@pytest.mark.parametrize("name", list(recipes.RECIPES))
def test_every_recipe_default_is_inside_its_ranges(name):
    recipes.check_config(default_config(name, "ring8"))


def is_numeric(value) -> bool:
    if isinstance(value, list):
        return bool(value) and all(is_numeric(v) for v in value)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@pytest.mark.parametrize("name", list(recipes.RECIPES))
def test_every_numeric_key_has_a_range(name):
    ranges = recipes.rules(recipes.get(name))
    assert [k for k, v in default_config(name, "ring8").items() if is_numeric(v) and not range_of(k, ranges)] == []


def outside(rule: Range):
    """Values just outside the rule's range, and nan."""
    if rule.choices and isinstance(rule.choices[0], str):
        return ["bogus"]
    values = [math.nan] + [c + 1 for c in rule.choices if c + 1 not in rule.choices]
    if rule.low is not None:
        values.append(rule.low if rule.open_low else rule.low - 1)
    if rule.high is not None:
        values.append(rule.high if rule.open_high else rule.high + 1)
    return values


CASES = {}  # every ranged key once, with the first recipe that has it
for name in recipes.RECIPES:
    for key in default_config(name, "ring8"):
        if key not in CASES and (rule := range_of(key, recipes.rules(recipes.get(name)))):
            CASES[key] = (name, key, rule)
CASES = list(CASES.values())


@pytest.mark.parametrize("name,key,rule", CASES, ids=[f"{n}-{k}" for n, k, _ in CASES])
def test_every_ranged_key_refuses_values_outside_its_range_by_name(name, key, rule):
    cfg = default_config(name, "ring8")
    for value in outside(rule):
        if isinstance(value, float) and (rule.whole or rule.choices) and not math.isfinite(value):
            continue  # an integer key cannot hold nan: --set refuses it when parsing
        if isinstance(cfg[key], list):
            bad = [value] * len(cfg[key])
        else:
            bad = value if isinstance(value, str) else type(cfg[key])(value)
        with pytest.raises(ConfigError) as refused:
            recipes.check_config({**cfg, key: bad})
        message = str(refused.value)
        assert f"{key}" in message and (rule.describe() in message or "finite" in message), message


def test_the_message_gives_the_flag_the_user_typed():
    with pytest.raises(ConfigError, match=r"^--set G\.betas=0\.5: expected 2 comma-separated numbers, got 1"):
        apply_flags(default_config("dcgan", "ring8"), ["G.betas=0.5"])
    with pytest.raises(ConfigError, match=r"^--seed 9223372036854775808: must be in \[-9223372036854775808, 92"):
        apply_flags(default_config("dcgan", "ring8"), seed=2**63)
    with pytest.raises(ConfigError, match=r"^--set ema\.beta=2\.0: must be in \[0, 1\) \(the decay of G's"):
        apply_flags(default_config("dcgan", "ring8"), ["ema.beta=2"])


def test_recipe_keys_are_checked_only_where_the_recipe_has_them():
    with pytest.raises(ConfigError, match="unroll.lr=0.0: must be above 0"):
        apply_flags(default_config("unrolled", "ring8"), ["unroll.lr=0"])
    with pytest.raises(ConfigError, match="control.rate=-1.0"):
        apply_flags(default_config("controlgan", "ring8"), ["control.rate=-1"])
    with pytest.raises(ConfigError, match="beta=-1.0: must be at least 0"):
        apply_flags(default_config("vae", "ring8"), ["beta=-1"])
    with pytest.raises(ConfigError, match="unknown key"):
        apply_overrides(default_config("dcgan", "ring8"), ["unroll.lr=0.1"])


def test_the_trainer_checks_a_config_handed_to_it_directly(tmp_path):
    cfg = {**default_config("nsgan", "ring8"), "z_dim": 0}
    with pytest.raises(ConfigError, match="z_dim=0"):
        Trainer(cfg, None, tmp_path)


def test_the_cli_refuses_before_writing_anything(tmp_path):
    out = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "gankit", "train", "--recipe", "gan", "--data", "ring8", "--steps", "2",
                           "--out", str(out), "--set", "tricks.label_smoothing=5"], capture_output=True, text=True)
    assert done.returncode == 2
    assert "--set tricks.label_smoothing=5.0: must be in (0, 1]" in done.stderr
    assert not out.exists()


@pytest.mark.parametrize("recipe,data,item,message", [
    ("sngan", "fashion-mnist", "G.norm=layer", "recipe sngan's G is the resnet-g network (G.arch=resnet on images), "
                                               "which takes no norm; G reads G.arch, G.betas, G.lr, G.opt, G.width"),
    ("sngan", "fashion-mnist", "D.minibatch_std=true", "recipe sngan's D is the resnet-d network"),
    ("dcgan", "fashion-mnist", "G.hidden=64", "recipe dcgan's G is the dcgan-g network (G.arch=dcgan on images)"),
    ("dcgan", "ring8", "D.width=8", "recipe dcgan's D is the mlp-d network (D.arch=dcgan on 2-D points)"),
    ("gan", "fashion-mnist", "G.norm=layer", "recipe gan's G is the mlp-g network"),
    ("controlgan", "fashion-mnist", "C.hidden=16", "recipe controlgan's C is the classifier network (on images)"),
    ("vae", "fashion-mnist", "G.hidden=16", "recipe vae's G is the dcgan-ae network"),
])
def test_a_key_nothing_reads_is_refused_naming_the_recipe_and_network(recipe, data, item, message):
    with pytest.raises(ConfigError) as refused:
        apply_flags(default_config(recipe, data), [item])
    assert str(refused.value).startswith(f"--set {item}: {message}")
    assert "\n" not in str(refused.value)


def test_a_key_is_read_once_its_network_is_chosen():
    cfg = apply_flags(default_config("dcgan", "fashion-mnist"), ["G.arch=mlp", "G.hidden=64"])
    assert (cfg["G.arch"], cfg["G.hidden"]) == ("mlp", [64])
    apply_flags(default_config("sngan", "fashion-mnist"), ["G.arch=dcgan", "G.norm=layer"])
    apply_flags(default_config("dcgan", "ring8"), ["G.hidden=16"])  # 2-D points: the MLP's layers


def test_a_checkpoint_holding_a_key_nothing_reads_still_resumes_its_config():
    """Only keys given now are refused: a config saved before (a checkpoint's) passes as it is."""
    old = {**default_config("sngan", "fashion-mnist"), "G.norm": "layer"}
    recipes.check_config(old)
    apply_flags(old, ["steps=10"])


@pytest.mark.parametrize("item", ["amp=fp32", "G.opt=adamw", "D.norm=group", "cond.mode=both", "loss=l1",
                                  "G.arch=vgg", "lr.decay=step", "fast.compile=sometimes"])
def test_every_choice_is_refused_before_the_run_in_one_place(item):
    key = item.split("=")[0]
    with pytest.raises(ConfigError, match=rf"^--set {key}=\w+: must be one of "):
        apply_flags(default_config("dcgan", "fashion-mnist"), [item])


@pytest.mark.parametrize("recipe,item", [("vae", "recon=l1"), ("vae", "G.arch=resnet"),
                                         ("controlgan", "cond.mode=aux")])
def test_recipe_choices_are_its_own(recipe, item):
    with pytest.raises(ConfigError, match=rf"^--set {item}: must be one of "):
        apply_flags(default_config(recipe, "fashion-mnist"), [item])


@pytest.mark.parametrize("item", ["z_dim=100000000000", "batch=10000000000", "G.width=100000", "data.resolution=100000",
                                  "G.hidden=10000000", "snapshot.grid=1000000"])
def test_sizes_have_upper_bounds(item):
    with pytest.raises(ConfigError, match=rf"^--(set )?{item.split('=')[0]}[= ].*: (each )?must be in \[") as refused:
        apply_flags(default_config("gan" if "hidden" in item else "dcgan", "fashion-mnist"), [item])
    assert "\n" not in str(refused.value)


def test_a_network_too_large_to_train_is_refused_before_it_is_built():
    cfg = apply_flags(default_config("dcgan", "fashion-mnist"), ["G.width=4096", "G.max_width=0"])  # 0: uncapped
    with pytest.raises(ConfigError, match=r"^G network dcgan-g: 4.5e\+10 parameters .* lower G.width or z_dim$"):
        recipes.get("dcgan").build(cfg, DataInfo("image", (1, 64, 64)))


def test_the_cli_refuses_an_absurd_latent_size_in_one_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "gankit", "train", "--recipe", "gan", "--data", "ring8", "--steps", "2",
                           "--out", str(tmp_path / "run"), "--set", "z_dim=100000000000"], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr == ("gankit train: error: --set z_dim=100000000000: must be in [1, 65536] "
                           "(latent dimensions)\n")


def test_show_lists_only_the_keys_the_recipe_reads(capsys):
    from gankit.cli import main

    assert main(["recipes", "--show", "sngan"]) == 0
    keys = {line.split("=")[0].strip() for line in capsys.readouterr().out.splitlines() if "=" in line[:40]}
    assert {"G.width", "D.width", "n_critic", "z_dim", "G.betas"} <= keys
    assert not keys & {"G.norm", "G.hidden", "D.hidden", "D.minibatch_std", "D.minibatch_disc"}


def test_every_declared_key_says_what_it_does():
    from gankit.config import TRAINER_KEYS
    from gankit.recipes.base import NET_KEYS

    declared = {**TRAINER_KEYS, **NET_KEYS, **{k: key for r in recipes.RECIPES.values() for k, key in r.keys.items()}}
    assert [k for k, key in declared.items() if not key.about.strip()] == []


@pytest.mark.parametrize("role", ["G0", "D_II", "Gen2"])
def test_a_network_key_pattern_covers_every_role_name(role):
    """``?.lr`` stands for any role, not just one letter: a staged recipe's G0 or D_II is checked like G."""
    ranges = recipes.rules(recipes.get("nsgan"))
    for key, value, shape in (("lr", -1.0, "must be at least 0"), ("betas", [1.0, 1.0], "each must be in [0, 1)")):
        with pytest.raises(ConfigError) as single:
            check_ranges({f"G.{key}": value}, ranges)
        with pytest.raises(ConfigError) as named:
            check_ranges({f"{role}.{key}": value}, ranges)
        assert str(named.value) == str(single.value).replace(f"G.{key}", f"{role}.{key}")
        assert shape in str(named.value)


def test_lower_case_key_groups_are_not_taken_for_network_roles():
    ranges = recipes.rules(recipes.get("nsgan"))
    assert range_of("data.flip", ranges) is None and range_of("data.lr", ranges) is None
    assert range_of("g0.lr", ranges) is None and range_of("0G.lr", ranges) is None
    assert range_of("data.brightness", ranges) is TRAINER_RANGES["data.brightness"]
    check_ranges({"data.flip": True, "data.lr": -1.0}, ranges)  # nothing to check them against
