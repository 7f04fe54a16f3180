"""Where a feature space puts real data, real data with nuisances, and noise: the scale to read an FD on.

The floor is the FD of real training images against the test split (what a perfect generator
would score); the ceiling is uniform noise against the test split. Each nuisance row applies one
content-preserving change (gankit.nuisances.CALIBRATION) to the same training images: in a space that
measures content, each stays a small share of the ceiling.
"""

from __future__ import annotations

import torch

from gankit.data import ImageData
from gankit.metrics.features import Extractor
from gankit.metrics.frechet import feature_stats, frechet_distance
from gankit.nuisances import calibration_rows


def calibrate(extractor: Extractor, real: ImageData, test: ImageData, n: int = 10000, seed: int = 0) -> dict:
    """{"n", "real", "test", "floor", "ceiling", "rows": [(label, fd, share of the ceiling), ...]}."""
    from gankit.metrics.evaluate import real_features, real_subset, to_float

    test_stats = feature_stats(real_features(test, extractor, min(n, len(test))))
    images = to_float(real_subset(real, min(n, len(real))))

    def fd(x: torch.Tensor) -> float:
        return frechet_distance(*test_stats, *feature_stats(extractor(x)))

    g = torch.Generator().manual_seed(seed)
    noise = torch.rand(len(images), *images.shape[1:], generator=g) * 2 - 1
    floor = frechet_distance(*test_stats, *feature_stats(real_features(real, extractor, min(n, len(real)))))
    ceiling = fd(noise)
    rows = [("real training images (floor)", floor)]
    rows += [(label, fd(change(images))) for label, change in calibration_rows(images.shape[-1])]
    rows.append(("uniform noise (ceiling)", ceiling))
    return {"n": len(images), "real": real.name, "test": test.name, "floor": floor, "ceiling": ceiling,
            "rows": [(label, value, value / ceiling) for label, value in rows]}


def format_table(result: dict, name: str) -> str:
    lines = [f"{name} space: {result['n']} images of {result['real']} against {result['test']}",
             f"{'images compared with the test split':<36} {'FD':>10} {'of ceiling':>11}"]
    lines += [f"{label:<36} {value:>10.1f} {share:>10.1%}" for label, value, share in result["rows"]]
    return "\n".join(lines)
