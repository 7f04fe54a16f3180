"""Does a synthetic dataset help? Train one classifier on real images, one on synthetic images and one on
both, at the same number of optimizer steps and seed, and test each on held-out real images.

The gain is the paired difference (real + synthetic) - (real) over seeds; a paired t-test says whether it
stands out of seed noise. One seed gives the figures and no verdict.
"""

from __future__ import annotations

import statistics

import torch

from gankit.data import ImageData
from gankit.synthetic import SyntheticError

ARMS = ("real", "synthetic", "real+synthetic")


def check_compatible(real: ImageData, test: ImageData, class_names: list[str] | None, shape) -> None:
    """Refuse real sets a classifier of the synthetic images (``class_names``, images of ``shape``) cannot be
    compared on, naming what differs; called before any image is drawn."""
    for data in (real, test):
        if data.labels is None:
            raise SyntheticError(f"--evidence: {data.name} has no labels (class subfolders) to test against")
        if data.class_names != list(class_names or []):
            raise SyntheticError(f"--evidence: {data.name}'s classes ({', '.join(data.class_names or [])}) are not "
                                 f"the synthetic set's ({', '.join(class_names or [])})")
        if list(data.images.shape[1:]) != list(shape):
            raise SyntheticError(f"--evidence: {data.name} holds images of shape {list(data.images.shape[1:])}, the "
                                 f"synthetic set {list(shape)}")
    if len(real) < 2:
        raise SyntheticError(f"--evidence: {real.name} has {len(real)} training image(s); a classifier needs more")


def check_seeds(seeds, shown: str | None = None) -> None:
    """Refuse a seed given twice, which would count one run twice in the t-test."""
    if len(set(seeds)) != len(seeds):
        raise SyntheticError(f"--seeds {shown or ','.join(map(str, seeds))}: a seed given twice would count one run "
                             f"twice")


def combined(real: ImageData, synthetic: ImageData) -> ImageData:
    return ImageData(torch.cat([real.images, synthetic.images]), torch.cat([real.labels, synthetic.labels]),
                     real.class_names, f"{real.name} + synthetic")


def compare(real: ImageData, synthetic: ImageData, test: ImageData, *, seeds=(0, 1, 2), steps: int | None = None,
            epochs: int = 10, batch: int = 128, width: int = 32, device="cpu", log=print) -> dict:
    """Test accuracy of each arm per seed, their means and spread, and the gain of adding the synthetic set.

    ``steps`` defaults to ``epochs`` passes over the combined set, the largest of the three; every arm gets
    the same number, so a larger training set does not win by training longer.
    """
    from gankit.classify import accuracy, train_classifier

    check_compatible(real, test, synthetic.class_names, synthetic.images.shape[1:])
    check_seeds(seeds)
    sets = {"real": real, "synthetic": synthetic, "real+synthetic": combined(real, synthetic)}
    batch = min(batch, len(real), len(synthetic))  # the same batch for every arm, even a small one
    steps = steps or epochs * (len(sets["real+synthetic"]) // batch)
    acc: dict[str, list[float]] = {arm: [] for arm in ARMS}
    for seed in seeds:
        for arm in ARMS:
            model, _ = train_classifier(sets[arm], None, batch=batch, width=width, seed=seed, device=device,
                                        steps=steps, log=lambda line: None)
            acc[arm].append(accuracy(model, test, device=device))
            log(f"seed {seed}: {arm:<15} test accuracy {acc[arm][-1]:.4f}")
    gains = [both - alone for both, alone in zip(acc["real+synthetic"], acc["real"])]
    return {"real": real.name, "test": test.name, "test_images": len(test), "real_images": len(real),
            "synthetic_images": len(synthetic),
            "steps": steps, "batch": batch, "width": width, "seeds": list(seeds), "accuracy": acc,
            "mean": {arm: statistics.fmean(v) for arm, v in acc.items()},
            "std": {arm: _std(v) for arm, v in acc.items()},
            "gain": statistics.fmean(gains), "gain_std": _std(gains), **verdict(gains)}


def verdict(gains: list[float], alpha: float = 0.05) -> dict:
    """A paired t-test of the gains against zero: 'helps', 'hurts', or 'no clear difference' at ``alpha``."""
    if len(gains) < 2:
        return {"p_value": None, "verdict": "one seed: no test of seed noise; run more seeds"}
    from scipy import stats

    if all(g == gains[0] for g in gains):  # no spread: the t statistic is undefined, and the test set too coarse
        return {"p_value": None, "verdict": f"no spread over {len(gains)} seeds to test against; run more seeds or "
                                            f"test on more images"}
    p = float(stats.ttest_1samp(gains, 0.0).pvalue)
    mean = statistics.fmean(gains)
    word = "no clear difference" if p >= alpha or mean == 0 else ("helps" if mean > 0 else "hurts")
    return {"p_value": p, "verdict": f"{word} (paired t-test over {len(gains)} seeds, p = {p:.3g})"}


def _std(values: list[float]) -> float | None:
    return statistics.stdev(values) if len(values) > 1 else None
