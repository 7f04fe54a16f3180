"""Parsing of --seeds and --alphas: every refusal names the flag and what is wrong with the value."""

import pytest

from gankit.cli.latent_args import parse_alphas, parse_seeds
from gankit.config import ConfigError


def test_seeds_and_ranges():
    assert parse_seeds("0-3,10") == [0, 1, 2, 3, 10]
    for bad, why in (("", "is not a seed"), ("1,,2", "is not a seed"), ("a-3", "is not a seed")):
        with pytest.raises(ConfigError, match=f"--seeds {bad}: .*{why}"):
            parse_seeds(bad)


def test_alphas_as_a_range_or_a_list():
    assert parse_alphas("-1:1:3") == [-1.0, 0.0, 1.0]
    assert parse_alphas("-2,0,2") == [-2.0, 0.0, 2.0]
    with pytest.raises(ConfigError, match="--alphas 0:1:1: COUNT must be at least 2"):
        parse_alphas("0:1:1")
    with pytest.raises(ConfigError, match="--alphas 0:x:3: expected START:STOP:COUNT"):
        parse_alphas("0:x:3")
    with pytest.raises(ConfigError, match="--alphas 0,inf: expected finite numbers"):
        parse_alphas("0,inf")
