"""`pytest -m "not slow"` is a quick subset: the marker is registered and carried by the slowest tests."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_slow_is_a_registered_marker_and_unknown_markers_are_errors():
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert any(m.startswith("slow:") for m in options["markers"])
    assert "--strict-markers" in options["addopts"].split()  # a misspelt @pytest.mark.slwo fails, not passes silently


def test_the_torchrun_sigkill_and_long_training_tests_are_slow():
    from tests.recipes import test_nsgan_ring8
    from tests.train import test_crash, test_distributed, test_interrupt, test_resume

    for module in (test_distributed, test_crash):
        assert module.pytestmark.name == "slow", module.__name__
    for test in (test_nsgan_ring8.test_nsgan_ring8_high_quality_samples, test_resume.test_straight_equals_resumed,
                 test_interrupt.test_sigterm_to_the_command_leaves_a_resumable_checkpoint):
        assert "slow" in {m.name for m in test.pytestmark}, test.__name__
