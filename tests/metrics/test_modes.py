"""Mode counting on the 2-D mixtures: real samples, a collapsed generator and samples off every mode."""

from __future__ import annotations

import math

import pytest
import torch

from gankit.data.mixtures import grid25, ring8
from gankit.metrics import count_modes

# A 2-D Gaussian sample lies within 3 std of its centre with probability 1 - exp(-9/2) ~ 98.9%
# (its radius is Rayleigh), so real data scores ~98.9% HQ, not 99%+. With 2,500 samples the HQ
# fraction has sd ~0.2%, so 1% is a ~5 sd tolerance.
EXPECTED_HQ = 1 - math.exp(-4.5)


def _generator() -> torch.Generator:
    return torch.Generator().manual_seed(0)


@pytest.mark.parametrize("make", [ring8, grid25])
def test_real_samples_capture_every_mode(make):
    mixture = make()
    report = count_modes(mixture.sample(2500, _generator()), mixture)
    assert report.modes == report.num_modes == {"ring8": 8, "grid25": 25}[mixture.name]
    assert report.hq_fraction == pytest.approx(EXPECTED_HQ, abs=0.01)
    assert report.reverse_kl < 0.01


def test_collapsed_generator():
    mixture = ring8()
    samples = mixture.centers[0] + mixture.std * torch.randn(2500, 2, generator=_generator())
    report = count_modes(samples, mixture)
    assert report.modes == 1
    assert report.counts[0] == sum(report.counts)
    assert report.reverse_kl == pytest.approx(math.log(8))


def test_two_modes_evenly():
    mixture = ring8()
    centres = mixture.centers[torch.arange(2500) % 2]
    report = count_modes(centres + mixture.std * torch.randn(2500, 2, generator=_generator()), mixture)
    assert report.modes == 2
    # Non-HQ samples make the two shares ~1/2 but not exactly, and KL moves only quadratically with them.
    assert report.reverse_kl == pytest.approx(math.log(4), abs=1e-3)


def test_samples_far_from_every_mode_are_not_hq():
    mixture = ring8()
    samples = torch.tensor([10.0, 10.0]) + torch.randn(500, 2, generator=_generator())
    report = count_modes(samples, mixture)
    assert report.hq_fraction == 0.0
    assert report.modes == 0
    assert report.reverse_kl == math.inf


def test_stacked_modes_are_counted_on_real_stacked_images_and_a_constant_is_one_mode():
    """Real stacked test images hold nearly every mode (the classifier's errors move some samples to other modes);
    a constant image is one mode, with the largest reverse KL: log 1000."""
    from gankit import data as datasets
    from gankit.metrics.evaluate import fmnist_accuracy, to_float
    from gankit.metrics.features import get_extractor
    from gankit.metrics.modes import count_stacked_modes

    fmnist = get_extractor("fmnist")
    real = datasets.load("stacked-fmnist:test")
    found = count_stacked_modes(to_float(real.images), fmnist)
    assert found["num_modes"] == 1000 and found["modes"] >= 990
    assert found["reverse_kl"] < 0.25  # 10,000 samples over 1000 modes: near uniform, not exactly
    constant = to_float(real.images[:1].expand(500, -1, -1, -1))
    one = count_stacked_modes(constant, fmnist)
    assert one["modes"] == 1 and one["reverse_kl"] == pytest.approx(math.log(1000))
    assert 0.9 < fmnist_accuracy() < 1
