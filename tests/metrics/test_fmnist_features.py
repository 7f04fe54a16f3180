"""The shipped fmnist feature network: intact, accurate, calibrated, and a space that measures content:
real data is close to real data, and changes that keep what a garment is barely move it."""

import pytest

from gankit.classify import accuracy, load_classifier
from gankit.data.fashion_mnist import load_fashion_mnist
from gankit.metrics import evaluate as ev
from gankit.metrics.calibration import calibrate
from gankit.metrics.features import SHIPPED, get_extractor
from tests.helpers import FMNIST_DIR, needs_fmnist_train


def test_shipped_weights_match_their_checksum_and_reported_accuracy():
    model, config = load_classifier(SHIPPED / "fmnist")  # refuses a sha256 mismatch
    assert config["test_accuracy"] >= 0.93
    test = load_fashion_mnist("test")
    assert accuracy(model, test) == pytest.approx(config["test_accuracy"], abs=1e-4)
    assert set(config["nuisances"]) >= {"flip", "brightness", "contrast", "resample", "blur"}
    recorded = config["calibration"]  # what eval prints beside every FD, measured on these very weights
    assert recorded["sha256"] == config["sha256"] and recorded["n"] == 10000
    assert recorded["floor"] * 100 < recorded["ceiling"]
    assert get_extractor("fmnist").scale().startswith(f"fmnist space: floor {recorded['floor']:.3g} (real vs test)")


NUISANCE_N = 1000  # the table's rows at a tenth of its size: each FD is biased up alike, the additions compare


@needs_fmnist_train
def test_real_data_is_near_real_data_and_each_nuisance_adds_at_most_two_percent_of_the_noise_ceiling(
        monkeypatch, tmp_path):
    monkeypatch.setenv("GANKIT_DATA", str(FMNIST_DIR))
    monkeypatch.setattr(ev, "CACHE_DIR", tmp_path / "cache")
    result = calibrate(get_extractor("fmnist"), load_fashion_mnist("train"), load_fashion_mnist("test"), NUISANCE_N)
    floor, ceiling = result["floor"], result["ceiling"]
    assert floor * 50 < ceiling, (floor, ceiling)  # training images against test images: far below noise
    nuisances = result["rows"][1:-1]
    assert len(nuisances) == 5
    for label, fd, _ in nuisances:
        assert fd - floor <= 0.02 * ceiling, (label, fd, floor, ceiling)
