"""SIGKILL during training, most often mid checkpoint write: every restart resumes, no temp file survives the
next start, and the finished run equals one never interrupted, bit for bit (``benchmarks/crash_test.py``
runs the same loop with 50 kills)."""

import pytest

from benchmarks.crash_test import crash_and_resume, table

pytestmark = pytest.mark.slow  # five SIGKILLs and restarts of a 100-step run


def test_sigkill_at_random_moments_and_mid_write_then_resume(tmp_path):
    summary = crash_and_resume(tmp_path, kills=5, steps=100, seed=1, log=lambda s: None)
    print(table(summary))
    assert summary["kills"] == 5 and summary["during_write"] >= 1, summary  # the loop did hit writes
    assert summary["resumes_ok"] == summary["restarts"] >= 4, summary
    assert summary["temp_left_after_restart"] == 0 and summary["temp_left_at_end"] == 0, summary
    assert summary["bit_exact"], summary
