"""A small example folder like a microscopist's: about 40 single-channel crops of cells, 50 to 100 pixels wide."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def make_cell_crops(root: Path, count: int = 42, seed: int = 0) -> list[Path]:
    """Bright, slightly textured ellipses on a dark background, each crop its own size (50-100 px), saved as PNG."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        h, w = (int(v) for v in rng.integers(50, 101, size=2))
        yy, xx = np.mgrid[0:h, 0:w]
        ry, rx = h * rng.uniform(0.3, 0.45), w * rng.uniform(0.3, 0.45)
        inside = ((yy - h / 2) / ry) ** 2 + ((xx - w / 2) / rx) ** 2 <= 1
        cell = np.where(inside, rng.uniform(150, 230) + rng.normal(0, 12, size=(h, w)), rng.normal(20, 5, size=(h, w)))
        path = root / f"cell_{i:02d}.png"
        Image.fromarray(np.clip(cell, 0, 255).astype(np.uint8), mode="L").save(path)
        paths.append(path)
    return paths


if __name__ == "__main__":  # python tests/data/cell_crops.py cells/  (used by docs/tutorial-small-crops.md)
    import sys

    made = make_cell_crops(Path(sys.argv[1] if len(sys.argv) > 1 else "cells"))
    print(f"wrote {len(made)} crops to {made[0].parent}")
