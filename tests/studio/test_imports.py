"""The studio is inference only: importing its app and command loads no training code."""

import json
import subprocess
import sys

TRAINING = ("gankit.train", "gankit.recipes", "gankit.losses", "gankit.regularizers")

SCRIPT = """
import json, sys
import gankit.studio.app, gankit.cli.studio
from gankit.cli import main
try:
    main(["studio", "--help"])
except SystemExit:
    pass
print(json.dumps(sorted(m for m in sys.modules if m.startswith(tuple(json.loads(sys.argv[1]))))))
"""


def test_the_studio_imports_no_training_code():
    out = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(TRAINING)], capture_output=True, text=True,
                         check=True).stdout
    assert json.loads(out.splitlines()[-1]) == []


def test_the_studio_command_parses_its_flags_without_torch():
    script = ("import sys\nfrom gankit.cli import main\ntry:\n    main(['studio', '--help'])\nexcept SystemExit:\n"
              "    pass\nprint([m for m in ('torch', 'fastapi', 'uvicorn') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[-1] == "[]"
