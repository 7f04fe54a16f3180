"""Fashion-MNIST from a local copy, the bundled test split, or a checked download.

Lookup order for a split's two files (the first folder holding both wins):

1. ``$GANKIT_DATA`` (the files directly in it, or in its ``fashion-mnist/`` subfolder);
2. the user cache folder, ``platformdirs.user_cache_dir("gankit")/fashion-mnist``;
3. ``/usr/share/datasets/fashion-mnist`` (Debian's ``dataset-fashion-mnist`` package);
4. test split only: the copy bundled in this package (``bundled/fashion-mnist/``);
5. with ``download=True``: a download from the official location into the cache folder.

Every file is checked against known SHA-256 digests before use, wherever it was found.
Two digests are known per file: the official download, and Debian's repack (bundled here),
which has the same compressed data but a gzip header without the stored name and time.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import warnings
import zlib
from pathlib import Path

import numpy as np
import platformdirs
import torch

from gankit.data.base import DataError, ImageData

CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"

SPLITS = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", 60_000),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", 10_000),
}

# MD5 of the official files, as in torchvision.datasets.FashionMNIST.resources.
MD5 = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}

# SHA-256 of (Debian / bundled repack, official download) for each file.
SHA256 = {
    "train-images-idx3-ubyte.gz": ("b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
                                   "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"),
    "train-labels-idx1-ubyte.gz": ("0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
                                   "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"),
    "t10k-images-idx3-ubyte.gz": ("cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
                                  "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"),
    "t10k-labels-idx1-ubyte.gz": ("8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
                                  "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"),
}

IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049  # IDX: 0x08 = unsigned byte, then 3 or 1 dimensions
SIDE = 28

# Where to look; module attributes so tests (and unusual setups) can point them elsewhere.
ENV_VAR = "GANKIT_DATA"
CACHE_DIR = Path(platformdirs.user_cache_dir("gankit")) / "fashion-mnist"
SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
BUNDLED_DIR = Path(__file__).resolve().parent / "bundled" / "fashion-mnist"

_verified: set[tuple[str, int, int]] = set()  # (path, size, mtime) already hashed in this process


def load_fashion_mnist(split: str = "train", download: bool = True) -> ImageData:
    """Load a Fashion-MNIST split as uint8 [N, 1, 28, 28] with int64 labels."""
    if split not in SPLITS:
        raise DataError(f"fashion-mnist split {split!r}: expected one of {', '.join(SPLITS)}")
    images_name, labels_name, count = SPLITS[split]
    folder = _find_folder(split) or _download_split(split, download)
    images_path, labels_path = folder / images_name, folder / labels_name
    _check_sha256(images_path)
    _check_sha256(labels_path)
    images = _read_idx(images_path, IMAGES_MAGIC, count)
    labels = _read_idx(labels_path, LABELS_MAGIC, count)
    if labels.max() >= len(CLASS_NAMES):
        raise DataError(f"{labels_path}: label {int(labels.max())} out of range 0..{len(CLASS_NAMES) - 1}")
    return ImageData(
        images=torch.from_numpy(images).unsqueeze(1),
        labels=torch.from_numpy(labels.astype(np.int64)),
        class_names=list(CLASS_NAMES),
        name="fashion-mnist" if split == "train" else f"fashion-mnist:{split}",
    )


def search_folders(split: str) -> list[Path]:
    """The folders looked in, in order, without downloading."""
    folders = []
    env = os.environ.get(ENV_VAR)
    if env:
        folders += [Path(env), Path(env) / "fashion-mnist"]
    folders += [Path(CACHE_DIR), Path(SYSTEM_DIR)]
    if split == "test":
        folders.append(Path(BUNDLED_DIR))
    return folders


def _find_folder(split: str) -> Path | None:
    """First folder holding both files of the split (a corrupt pair there is an error, not skipped)."""
    images_name, labels_name, _ = SPLITS[split]
    env = os.environ.get(ENV_VAR)
    if env and not Path(env).is_dir():  # a misspelt path would otherwise pass unnoticed
        what = "a file, not a folder" if Path(env).exists() else "no such folder"
        warnings.warn(f"{ENV_VAR}={env}: {what}; looking for Fashion-MNIST elsewhere", stacklevel=3)
    for folder in search_folders(split):
        if (folder / images_name).is_file() and (folder / labels_name).is_file():
            return folder
    return None


def _how_to_provide(split: str) -> str:
    names = ", ".join(SPLITS[split][:2])
    looked = "; ".join(str(folder) for folder in search_folders(split))
    offline = (" Offline, --data fashion-mnist:test trains on the 10,000-image test split that ships inside gankit."
               if split != "test" else "")
    return (f"Provide the Fashion-MNIST {split} files ({names}) in one of these ways: "
            f"set {ENV_VAR} to a folder holding them; put them in {CACHE_DIR}; "
            f"or `apt install dataset-fashion-mnist` (installs them to {SYSTEM_DIR}). Looked in: {looked}.{offline}")


def _download_split(split: str, download: bool) -> Path:
    """Fetch the split's missing files into the cache folder, or explain how to provide them."""
    if not download:
        raise DataError(f"fashion-mnist {split} files not found and download=False. {_how_to_provide(split)}")
    cache = Path(CACHE_DIR)
    for name in SPLITS[split][:2]:
        if not (cache / name).is_file():
            _download_file(name, cache, split)
    return cache


def _download_file(name: str, folder: Path, split: str) -> None:
    """Download one file atomically: to a temporary name, verify MD5 and SHA-256, then rename."""
    url = URL + name
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"cannot create the cache folder {folder} ({e}). {_how_to_provide(split)}") from e
    part = folder / f".{name}.{os.getpid()}.part"
    try:
        try:
            _fetch(url, folder, part.name, MD5[name])
        except Exception as e:  # network, HTTP or checksum failure: all mean "no usable download"
            raise DataError(f"could not download {url} ({type(e).__name__}: {e}). {_how_to_provide(split)}") from e
        _check_sha256(part, name)
        os.replace(part, folder / name)
    finally:
        part.unlink(missing_ok=True)


def _fetch(url: str, folder: Path, filename: str, md5: str) -> None:
    """Download with torchvision (progress bar, MD5 check); separate so tests can replace it."""
    from torchvision.datasets.utils import download_url

    download_url(url, str(folder), filename, md5=md5)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _check_sha256(path: Path, name: str | None = None) -> None:
    """Refuse a file whose bytes are not a known release; hash each unchanged file once per process."""
    name = name or path.name
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key in _verified:
        return
    if _sha256(path) not in SHA256[name]:
        hint = " Delete it to download it again." if Path(CACHE_DIR) in path.parents else ""
        raise DataError(f"{path}: SHA-256 does not match any known release of {name} "
                        f"(corrupt, truncated or a different file).{hint}")
    _verified.add(key)


def _read_idx(path: Path, magic: int, count: int) -> np.ndarray:
    """Parse a gzipped IDX file of uint8 (big-endian header: magic, count[, rows, cols])."""
    try:
        with gzip.open(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"{path}: not a readable gzip file ({e})") from e
    dims = (magic & 0xFF)
    header = 4 * (1 + dims)
    if len(data) < header:
        raise DataError(f"{path}: truncated IDX header ({len(data)} bytes)")
    fields = np.frombuffer(data, dtype=">u4", count=1 + dims)
    if int(fields[0]) != magic:
        raise DataError(f"{path}: IDX magic number {int(fields[0])}, expected {magic}")
    shape = tuple(int(n) for n in fields[1:])
    expected_shape = (count, SIDE, SIDE)[:dims]
    if shape != expected_shape:
        raise DataError(f"{path}: IDX shape {shape}, expected {expected_shape}")
    size = int(np.prod(shape))
    if len(data) != header + size:
        raise DataError(f"{path}: {len(data) - header} data bytes, expected {size} (truncated or padded)")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape).copy()
