"""Settings and paths the tests share."""

import os
from pathlib import Path


import pytest

# The Fashion-MNIST training split (60,000 images) is not shipped with gankit; the tests that need it look in
# $GANKIT_TEST_FMNIST, else in shared/datasets/fashion-mnist beside the checkout, and are skipped without it.
FMNIST_ENV = "GANKIT_TEST_FMNIST"
FMNIST_TRAIN_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")
SHARED_FMNIST = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "fashion-mnist"
FMNIST_DIR = Path(os.environ.get(FMNIST_ENV, SHARED_FMNIST))
FMNIST_SKIP = (f"needs the Fashion-MNIST training split: set {FMNIST_ENV}=DIR, a folder holding "
               f"{' and '.join(FMNIST_TRAIN_FILES)} (see README, Tests)")
needs_fmnist_train = pytest.mark.skipif(not all((FMNIST_DIR / f).is_file() for f in FMNIST_TRAIN_FILES),
                                        reason=FMNIST_SKIP)

# Tiny networks and no periodic files: enough to exercise every mechanism quickly.
FAST = ["log.every=10", "snapshot.every_kimg=1000", "ckpt.every_kimg=1000"]
TINY_CONV = ["G.width=4", "D.width=4"]
TINY_FMAPS = ["G.fmap_max=8", "D.fmap_max=8"]  # the pggan networks' widths


def small_nets(recipe: str, hidden: str = "32,32", data: str = "images") -> list[str]:
    """``--set`` items for tiny networks of a recipe on ``data``: convolutional widths or MLP layers, only the keys
    its networks read (a convolutional recipe builds MLPs on 2-D points)."""
    from gankit.recipes import RECIPES, data_kind

    defaults = RECIPES[recipe].defaults
    convolutional = defaults["G.arch"] in ("dcgan", "resnet", "fastgan", "pggan", "r3gan", "stackgan") and \
        data_kind(data) == "image"
    sets = TINY_CONV + TINY_FMAPS if convolutional else [f"G.hidden={hidden}", f"D.hidden={hidden}"]
    if defaults["G.arch"] == "lapgan":  # an MLP at the coarsest level, convolutions at the finer ones
        sets = TINY_CONV + [f"G.hidden={hidden}", f"D.hidden={hidden}"]
    return [s for s in sets if s.split("=")[0] in defaults]  # ae and vae have no D
