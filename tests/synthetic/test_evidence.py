"""Evidence of whether a synthetic set helps: each arm trains on its own set, and the verdict follows the seeds."""

import pytest
import torch

from gankit.data import ImageData
from gankit.data.fashion_mnist import load_fashion_mnist
from gankit.synthetic import SyntheticError
from gankit.synthetic.evidence import check_compatible, compare, verdict


def two_classes(start: int, n: int) -> ImageData:
    """n Trouser and Bag images (labels 0 and 1) from the test split, from the start-th of each on."""
    data = load_fashion_mnist("test")
    keep = torch.cat([(data.labels == c).nonzero().flatten()[start:start + n // 2] for c in (1, 8)])
    return ImageData(data.images[keep], (data.labels[keep] == 8).long(), ["Trouser", "Bag"], f"{n} images")


@pytest.mark.parametrize("gains, word", [
    ([0.02, 0.03, 0.025], "helps"),
    ([-0.02, -0.03, -0.025], "hurts"),
    ([0.05, -0.05, 0.01], "no clear difference"),
])
def test_the_verdict_is_a_paired_test_over_seeds(gains, word):
    result = verdict(gains)
    assert result["verdict"].startswith(word) and f"over {len(gains)} seeds" in result["verdict"]
    assert (result["p_value"] < 0.05) == (word != "no clear difference")


def test_one_seed_or_no_spread_gives_figures_and_no_verdict():
    assert verdict([0.1]) == {"p_value": None, "verdict": "one seed: no test of seed noise; run more seeds"}
    for same in ([0.01, 0.01], [0.0, 0.0, 0.0]):  # a coarse test set can give equal gains: no evidence either way
        assert verdict(same)["p_value"] is None and verdict(same)["verdict"].startswith("no spread over")


def test_sets_a_classifier_cannot_compare_are_refused_by_name():
    real = two_classes(0, 20)
    other = ImageData(real.images, real.labels, ["a", "b"], "other")
    with pytest.raises(SyntheticError, match=r"--evidence: 20 images's classes \(Trouser, Bag\) are not the "
                                             r"synthetic set's \(a, b\)"):
        check_compatible(real, real, other.class_names, [1, 28, 28])
    small = ImageData(real.images[:, :, :14, :14].contiguous(), real.labels, real.class_names, "small")
    with pytest.raises(SyntheticError, match=r"holds images of shape \[1, 28, 28\], the synthetic set \[1, 14, 14\]"):
        check_compatible(real, real, small.class_names, small.images.shape[1:])
    with pytest.raises(SyntheticError, match="1 training image"):
        check_compatible(two_classes(0, 2).subset(1), real, real.class_names, [1, 28, 28])
    with pytest.raises(SyntheticError, match="--seeds 0,0: a seed given twice"):
        compare(real, real, real, seeds=(0, 0))


def test_each_arm_learns_from_its_own_set_at_equal_steps():
    real, test = two_classes(0, 100), two_classes(200, 200)
    mislabelled = two_classes(100, 100)
    mislabelled.labels = 1 - mislabelled.labels  # a synthetic set whose every label is wrong
    lines = []
    result = compare(real, mislabelled, test, seeds=(0, 1), epochs=3, batch=32, width=4, log=lines.append)
    assert result["steps"] == 3 * (200 // 32)
    assert min(result["accuracy"]["real"]) > 0.8  # real labels: learnt
    assert max(result["accuracy"]["synthetic"]) < 0.2  # inverted labels: learnt inverted
    assert result["gain"] < 0 and len(lines) == 6
    assert result["real_images"] == 100 and result["synthetic_images"] == 100 and result["test_images"] == 200


def test_every_arm_gets_the_same_batch_and_steps_even_when_a_set_is_smaller_than_the_batch(monkeypatch):
    import gankit.classify as classify

    calls = []

    def record(train, test, **kwargs):
        calls.append((len(train), kwargs["batch"], kwargs["steps"]))
        return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 2)), None

    monkeypatch.setattr(classify, "train_classifier", record)
    result = compare(two_classes(0, 10), two_classes(10, 40), two_classes(100, 20), seeds=(0,), epochs=2, batch=32)
    assert calls == [(10, 10, 10), (40, 10, 10), (50, 10, 10)]  # 2 passes over 50 images in batches of 10
    assert result["batch"] == 10 and result["steps"] == 10
