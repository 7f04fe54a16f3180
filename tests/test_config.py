"""Config values: ``--set`` parsing and the range every numeric key is checked against before a run."""

import math
import subprocess
import sys

import pytest

from gankit import recipes
from gankit.config import TRAINER_RANGES, ConfigError, Range, above, apply_overrides, at_least, range_of, share
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
    betas = TRAINER_RANGES["?.betas"]
    assert betas.problem([0.5, 0.999]) is None
    assert betas.problem([0.5]) == "expected 2 comma-separated numbers, got 1"
    assert betas.problem([0.5, 1.0]) == "each must be in [0, 1)"
    assert TRAINER_RANGES["?.hidden"].problem([64, 0]) == "each must be at least 1"


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
    ranges = {**TRAINER_RANGES, **recipes.get(name).ranges}
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
        if key not in CASES and (rule := range_of(key, {**TRAINER_RANGES, **recipes.get(name).ranges})):
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
