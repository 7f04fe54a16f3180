"""A start-up that reads arguments without torch: help, the recipe list and usage errors answer at once."""

import importlib
import json
import subprocess
import sys

import pytest

from gankit.cli import USER_ERRORS

HEAVY = ("torch", "numpy", "matplotlib", "scipy", "sklearn", "PIL")

# Each command line runs in one fresh interpreter, in turn; after each, the heavy modules imported so far.
SCRIPT = """
import contextlib, io, json, sys
from gankit.cli import main
out = []
for argv in json.loads(sys.argv[1]):
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main(argv)
    out.append([code, err.getvalue(), [m for m in json.loads(sys.argv[2]) if m in sys.modules]])
print(json.dumps(out))
"""

LINES = {  # command line: its exit code and a piece of its error
    "--help": (0, ""),
    "train --help": (0, ""),
    "sample --help": (0, ""),
    "recipes": (0, ""),
    "trian --recipe dcgan": (2, "did you mean train?"),
    "train --recipe dcgna --data ring8": (2, "gankit train: error: --recipe 'dcgna': unknown; did you mean dcgan"),
    "train --recipe dcgan --data fashon-mnist": (2, "did you mean fashion-mnist"),
    "train --recipe dcgan --steps x": (2, "argument --steps: invalid int value: 'x'"),
    "recipes --show dcgna": (2, "gankit recipes: error: --show 'dcgna': unknown; did you mean dcgan"),
}


def test_help_the_recipe_list_and_usage_errors_import_no_torch():
    lines = [line.split() for line in LINES]
    done = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(lines), json.dumps(HEAVY)], capture_output=True,
                          text=True, check=True)
    for line, (code, err, heavy) in zip(LINES, json.loads(done.stdout)):
        assert (code, heavy) == (LINES[line][0], []), (line, err)
        assert LINES[line][1] in err, (line, err)


def test_python_m_gankit_help_imports_no_torch():
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "gankit", "--help"], capture_output=True,
                          text=True, check=True)
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "gankit.cli" in imported and not imported & set(HEAVY), sorted(imported & set(HEAVY))


@pytest.mark.parametrize("module, name", USER_ERRORS)
def test_every_user_error_is_named_by_the_module_that_defines_it(module, name):
    """The CLI looks an error class up in its module only once imported; a class moved elsewhere is found here."""
    cls = getattr(importlib.import_module(module), name)
    assert issubclass(cls, Exception) and cls.__module__ == module


def test_the_light_list_of_recipes_names_every_recipe_built():
    from gankit import recipes

    assert list(recipes.ABOUT) == list(recipes.RECIPES)
    assert all((r.summary, r.paper) == (recipes.ABOUT[n].summary, recipes.ABOUT[n].paper)
               for n, r in recipes.RECIPES.items())
