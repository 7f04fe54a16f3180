"""open_run's flags: budgets that cannot train are refused, naming the flag."""

import pytest

from gankit.config import ConfigError
from gankit.train.run import apply_flags, default_config


@pytest.mark.parametrize("kimg", [0, -5, float("nan"), float("inf")])
def test_a_budget_of_no_images_is_refused(kimg):
    with pytest.raises(ConfigError, match=r"--kimg .*above 0"):
        apply_flags(default_config("dcgan", "ring8"), kimg=kimg)


def test_kimg_becomes_steps_at_the_batch_size():
    assert apply_flags(default_config("dcgan", "ring8"), kimg=1.0, batch=64)["steps"] == 16
