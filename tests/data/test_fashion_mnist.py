"""Fashion-MNIST loading: lookup order, checksums, IDX parsing and the offline error. No network."""

from __future__ import annotations

import gzip
import shutil
import struct
from pathlib import Path

import pytest
import torch

import gankit.data.fashion_mnist as fm
from gankit.data.base import DataError
from tests.helpers import FMNIST_DIR, FMNIST_SKIP, SHARED_FMNIST, needs_fmnist_train

REAL_FETCH = fm._fetch  # the autouse fixture replaces fm._fetch so that no test can reach the network
BUNDLED = fm.BUNDLED_DIR

SHARED = FMNIST_DIR
TEST_FILES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


class NoNetwork(AssertionError):
    pass


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Empty cache, no Debian copy, no GANKIT_DATA, no network, fresh checksum memo."""
    monkeypatch.delenv(fm.ENV_VAR, raising=False)
    monkeypatch.setattr(fm, "CACHE_DIR", tmp_path / "cache" / "fashion-mnist")
    monkeypatch.setattr(fm, "SYSTEM_DIR", tmp_path / "no-such-debian-dir")
    monkeypatch.setattr(fm, "_verified", set())

    def no_network(*args, **kwargs):
        raise NoNetwork("a test tried to download")

    monkeypatch.setattr(fm, "_fetch", no_network)
    return tmp_path


def _copy_test_split(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in TEST_FILES:
        shutil.copyfile(BUNDLED / name, folder / name)
    return folder


def test_bundled_test_split_loads():
    data = fm.load_fashion_mnist("test", download=False)
    assert data.images.shape == (10000, 1, 28, 28) and data.images.dtype == torch.uint8
    assert data.labels.dtype == torch.int64
    assert torch.bincount(data.labels).tolist() == [1000] * 10
    assert data.class_names == fm.CLASS_NAMES and data.class_names[9] == "Ankle boot"
    assert data.name == "fashion-mnist:test"
    assert data.images.max() == 255 and 50 < data.images.float().mean() < 100  # real pictures, not zeros
    assert (BUNDLED / "LICENSE").read_text().count("Zalando SE") == 1


@pytest.mark.parametrize("layout", ["direct", "subfolder"])
def test_gankit_data_lookup(tmp_path, monkeypatch, layout):
    data_dir = tmp_path / "mydata"
    _copy_test_split(data_dir if layout == "direct" else data_dir / "fashion-mnist")
    monkeypatch.setenv("GANKIT_DATA", str(data_dir))
    monkeypatch.setattr(fm, "BUNDLED_DIR", tmp_path / "no-bundle")  # prove GANKIT_DATA was used
    assert fm._find_folder("test") in (data_dir, data_dir / "fashion-mnist")
    data = fm.load_fashion_mnist("test", download=False)
    assert len(data) == 10000


def test_lookup_order(tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_DATA", str(tmp_path / "env"))
    (tmp_path / "env").mkdir()
    folders = fm.search_folders("test")
    assert folders == [tmp_path / "env", tmp_path / "env" / "fashion-mnist", fm.CACHE_DIR, fm.SYSTEM_DIR,
                       fm.BUNDLED_DIR]
    assert fm.BUNDLED_DIR not in fm.search_folders("train")
    # The cache wins over the bundled copy when both hold the files.
    _copy_test_split(fm.CACHE_DIR)
    assert fm._find_folder("test") == fm.CACHE_DIR


@needs_fmnist_train
def test_train_split_via_gankit_data(monkeypatch):
    monkeypatch.setenv("GANKIT_DATA", str(SHARED))
    data = fm.load_fashion_mnist("train", download=False)
    assert data.images.shape == (60000, 1, 28, 28)
    assert torch.bincount(data.labels).tolist() == [6000] * 10
    assert data.name == "fashion-mnist"


def test_corrupt_copy_is_refused_naming_the_file(tmp_path, monkeypatch):
    data_dir = _copy_test_split(tmp_path / "mydata")
    bad = data_dir / TEST_FILES[0]
    content = bytearray(bad.read_bytes())
    content[len(content) // 2] ^= 0xFF
    bad.write_bytes(bytes(content))
    monkeypatch.setenv("GANKIT_DATA", str(data_dir))
    with pytest.raises(DataError, match="SHA-256") as info:
        fm.load_fashion_mnist("test")
    assert str(bad) in str(info.value)


def _gz(path: Path, payload: bytes) -> Path:
    path.write_bytes(gzip.compress(payload))
    return path


def test_idx_parser_checks_header_and_length(tmp_path):
    good_header = struct.pack(">IIII", fm.IMAGES_MAGIC, 2, 28, 28)
    ok = fm._read_idx(_gz(tmp_path / "ok.gz", good_header + bytes(2 * 784)), fm.IMAGES_MAGIC, 2)
    assert ok.shape == (2, 28, 28)
    cases = {
        "short.gz": (good_header + bytes(784), "truncated"),
        "magic.gz": (struct.pack(">IIII", 1234, 2, 28, 28) + bytes(2 * 784), "magic"),
        "count.gz": (struct.pack(">IIII", fm.IMAGES_MAGIC, 3, 28, 28) + bytes(3 * 784), "shape"),
        "header.gz": (b"\x00\x00", "header"),
    }
    for name, (payload, word) in cases.items():
        with pytest.raises(DataError, match=word) as info:
            fm._read_idx(_gz(tmp_path / name, payload), fm.IMAGES_MAGIC, 2)
        assert name in str(info.value)
    cut = tmp_path / "cut.gz"
    cut.write_bytes(gzip.compress(good_header + bytes(2 * 784))[:40])
    with pytest.raises(DataError, match="gzip") as info:
        fm._read_idx(cut, fm.IMAGES_MAGIC, 2)
    assert "cut.gz" in str(info.value)


def test_offline_and_absent_explains_the_three_ways(tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_DATA", str(tmp_path / "empty"))
    (tmp_path / "empty").mkdir()

    def offline(*args, **kwargs):
        raise OSError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(fm, "_fetch", offline)
    with pytest.raises(DataError) as info:
        fm.load_fashion_mnist("train", download=True)
    message = str(info.value)
    for needed in ("GANKIT_DATA", str(fm.CACHE_DIR), "apt install dataset-fashion-mnist", str(fm.SYSTEM_DIR),
                   "name resolution"):
        assert needed in message
    assert not any(fm.CACHE_DIR.iterdir())  # no half download left behind
    with pytest.raises(DataError, match="download=False"):
        fm.load_fashion_mnist("train", download=False)


def test_a_missing_train_split_names_the_test_split_that_ships_inside_gankit(monkeypatch):
    """Offline and without the training files, the error still leaves a way to train: the bundled test split."""
    def offline(*args, **kwargs):
        raise OSError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(fm, "_fetch", offline)
    for download in (True, False):
        with pytest.raises(DataError) as info:
            fm.load_fashion_mnist("train", download=download)
        assert "--data fashion-mnist:test" in str(info.value) and "ships inside gankit" in str(info.value)
    monkeypatch.setattr(fm, "BUNDLED_DIR", fm.CACHE_DIR.parent / "no-bundled-copy")  # a broken install
    with pytest.raises(DataError) as info:
        fm.load_fashion_mnist("test", download=False)
    assert "fashion-mnist:test" not in str(info.value)  # the test split does not offer itself


def test_the_skip_reason_says_within_the_checkout_how_to_run_the_train_split_tests():
    """No path of one machine: the variable to set, the files it must hold, and the README section."""
    for needed in ("GANKIT_TEST_FMNIST=DIR", "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                   "README, Tests"):
        assert needed in FMNIST_SKIP
    assert str(SHARED_FMNIST) not in FMNIST_SKIP and str(FMNIST_DIR) not in FMNIST_SKIP


def test_download_is_verified_and_atomic(tmp_path, monkeypatch):
    monkeypatch.setattr(fm, "BUNDLED_DIR", tmp_path / "no-bundle")
    calls = []

    def fake_fetch(url, folder, filename, md5):
        calls.append((url, filename, md5))
        assert filename.startswith(".") and filename.endswith(".part")  # never the final name
        shutil.copyfile(BUNDLED / url.rsplit("/", 1)[1], Path(folder) / filename)

    monkeypatch.setattr(fm, "_fetch", fake_fetch)
    data = fm.load_fashion_mnist("test")
    assert len(data) == 10000
    assert [c[0] for c in calls] == [fm.URL + n for n in TEST_FILES]
    assert [c[2] for c in calls] == [fm.MD5[n] for n in TEST_FILES]
    assert sorted(p.name for p in fm.CACHE_DIR.iterdir()) == sorted(TEST_FILES)


def test_download_with_wrong_bytes_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(fm, "BUNDLED_DIR", tmp_path / "no-bundle")

    def fetch_error_page(url, folder, filename, md5):
        (Path(folder) / filename).write_bytes(b"<html>503</html>")

    monkeypatch.setattr(fm, "_fetch", fetch_error_page)
    with pytest.raises(DataError, match="SHA-256"):
        fm.load_fashion_mnist("test")
    assert list(fm.CACHE_DIR.iterdir()) == []


def test_fetch_uses_torchvision_download_url_with_md5(tmp_path, monkeypatch):
    import torchvision.datasets.utils as tv_utils

    seen = {}

    def record(url, root, filename=None, md5=None):
        seen.update(url=url, root=root, filename=filename, md5=md5)

    monkeypatch.setattr(tv_utils, "download_url", record)
    REAL_FETCH(fm.URL + TEST_FILES[1], tmp_path, "x.part", fm.MD5[TEST_FILES[1]])
    assert seen == {"url": fm.URL + TEST_FILES[1], "root": str(tmp_path), "filename": "x.part",
                    "md5": "bb300cfdad3c16e7a12a480ee83cd310"}


def test_unknown_split():
    with pytest.raises(DataError, match="'validation'"):
        fm.load_fashion_mnist("validation")


def test_md5s_match_torchvision():
    from torchvision.datasets import FashionMNIST

    assert dict(FashionMNIST.resources) == fm.MD5
    assert fm.URL in FashionMNIST.mirrors


def test_a_misspelt_gankit_data_is_named_not_passed_over(tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_DATA", str(tmp_path / "fashon-mnist"))
    with pytest.warns(UserWarning, match=f"GANKIT_DATA={tmp_path / 'fashon-mnist'}: no such folder"):
        assert len(fm.load_fashion_mnist("test")) == 10000  # the bundled copy still serves
    (tmp_path / "a-file").write_text("x")
    monkeypatch.setenv("GANKIT_DATA", str(tmp_path / "a-file"))
    with pytest.warns(UserWarning, match="a-file: a file, not a folder"):
        fm.load_fashion_mnist("test")
