"""Shared fixtures: a small real image set and settings that keep CPU runs short."""

from __future__ import annotations

from pathlib import Path

import pytest

@pytest.fixture(scope="session")
def small_images(tmp_path_factory) -> Path:
    """A folder of 64 real 16x16 Fashion-MNIST crops in two class folders (from the bundled test split)."""
    from PIL import Image

    from gankit.data.fashion_mnist import load_fashion_mnist

    root = tmp_path_factory.mktemp("small_images")
    data = load_fashion_mnist("test")
    for i in range(64):
        label = int(data.labels[i])
        folder = root / ("tops" if label in (0, 2, 4, 6) else "other")
        folder.mkdir(exist_ok=True)
        Image.fromarray(data.images[i, 0].numpy()).resize((16, 16), Image.LANCZOS).save(folder / f"{i:03d}.png")
    return root
