"""`gankit recipes --show NAME`: every key with what it does and the values it takes."""

import re

import pytest

from gankit import recipes
from gankit.cli import main
from gankit.config import range_of
from gankit.regularizers.augment import OPS


def shown(name: str, capsys) -> dict[str, tuple[str, str]]:
    """The keys --show prints, each with its default and the rest of its line."""
    assert main(["recipes", "--show", name]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if re.match(r"  [\w.?]+=", line)]
    return {key.strip(): (value, text.strip()) for key, rest in (line.split("=", 1) for line in lines)
            for value, text in [rest.split("  ", 1)]}


@pytest.mark.parametrize("name", sorted(recipes.listing()))
def test_every_key_shown_says_what_it_does_and_what_it_takes(name, capsys):
    keys = shown(name, capsys)
    assert len(keys) > 20
    declared = recipes.keys(recipes.get(name))
    for key, (value, text) in keys.items():
        about, rule = range_of(key, declared).about, range_of(key, declared).rule
        assert about and text.startswith(about), (key, text)
        if rule is not None and rule.choices:  # a choice key lists every value it takes
            assert f"one of {', '.join(map(str, rule.choices))}" in text, (key, text)
        if value in ("True", "False"):
            assert re.search(r"; true or false($|  \()", text), (key, text)


def test_text_keys_with_choices_list_them(capsys):
    keys = {key: text for key, (_, text) in shown("dcgan", capsys).items()}
    for key, choices in {"loss": ["minimax", "nonsaturating", "least-squares", "wasserstein", "hinge"],
                         "D.norm": ["batch", "layer", "instance", "none"], "amp": ["auto", "bf16", "fp16", "off"],
                         "fast.compile": ["auto", "on", "off"], "augment.policy": list(OPS),
                         "cond.mode": ["none", "input", "aux"]}.items():
        assert all(c in keys[key] for c in choices), (key, keys[key])
    assert keys["data.flip"] == "random horizontal flips of the training images; true or false"
