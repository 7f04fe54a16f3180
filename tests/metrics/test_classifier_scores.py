"""Classifier-based scores: the Inception-Score formula on hand-made predictions, and the conditional metrics end to end."""

import json
import math

import pytest
import torch

from gankit.cli import main
from gankit.metrics import evaluate as ev
from gankit.metrics.classifier_scores import conditional_accuracy, inception_style_score
from tests.helpers import FAST
from tests.metrics.test_evaluate import tiny_classifier  # noqa: F401  (fixture)


def test_inception_style_score_bounds():
    k = 10
    confident_and_diverse = torch.eye(k).repeat(100, 1)  # every sample sure, classes balanced: IS = k
    assert inception_style_score(confident_and_diverse)[0] == pytest.approx(k, rel=1e-9)
    unsure = torch.full((1000, k), 1 / k)  # p(y|x) = p(y): IS = 1
    assert inception_style_score(unsure)[0] == pytest.approx(1.0, rel=1e-9)
    collapsed = torch.eye(k)[torch.zeros(1000, dtype=torch.long)]  # one class only: IS = 1
    assert inception_style_score(collapsed)[0] == pytest.approx(1.0, rel=1e-9)
    two = torch.eye(k)[torch.arange(1000) % 2]
    assert inception_style_score(two, splits=1)[0] == pytest.approx(2.0, rel=1e-9)
    assert math.isfinite(inception_style_score(torch.softmax(torch.randn(500, k), 1))[1])


def test_conditional_accuracy():
    assert conditional_accuracy(torch.tensor([1, 2, 3, 4]), torch.tensor([1, 2, 0, 4])) == 0.75


def test_conditional_metrics_from_the_command_line(tiny_classifier, tmp_path, monkeypatch, capsys):  # noqa: F811
    monkeypatch.setattr(ev, "CACHE_DIR", tmp_path / "cache")
    run = tmp_path / "run"
    assert main(["train", "--recipe", "acgan", "--data", "fashion-mnist:test", "--steps", "2", "--batch", "20",
                 "--out", str(run), "--no-progress", "--set", *FAST, "G.width=4", "D.width=4"]) == 0
    assert main(["eval", "--run", str(run), "--metrics", "is,cacc,cas", "--n", "300", "--cas-epochs", "1",
                 "--features", f"classifier:{tiny_classifier}"]) == 0
    result = json.loads((run / "eval.json").read_text())[-1]["metrics"]
    assert 1.0 <= result["is"] <= 10.0 and 0.0 <= result["cacc"] <= 1.0
    assert 0.0 <= result["cas"] <= 1.0 and 0.0 <= result["cas_real_baseline"] <= 1.0
    # trained on the test split: the classifiers train on 80% of it and are tested on the other 20%, never on
    # the images the real baseline learnt from
    assert "cas: 300 generated and 300 real training images, tested on 2000 real images (fashion-mnist:test " \
           "(held out))" in \
        json.loads((run / "eval.json").read_text())[-1]["protocol"]
    # an unconditional model has no requested class to check
    plain = tmp_path / "plain"
    assert main(["train", "--recipe", "dcgan", "--data", "fashion-mnist:test", "--steps", "1", "--batch", "20",
                 "--out", str(plain), "--no-progress", "--set", *FAST, "G.width=4", "D.width=4"]) == 0
    capsys.readouterr()
    assert main(["eval", "--run", str(plain), "--metrics", "cacc", "--features", f"classifier:{tiny_classifier}"]) == 2
    assert "class-conditional" in capsys.readouterr().err


def test_the_cas_baseline_learns_from_every_class_of_a_folder_stored_class_by_class(monkeypatch):
    import gankit.classify as classify
    from gankit.data import ImageData
    from gankit.metrics.classifier_scores import classification_accuracy_score

    labels = torch.arange(10).repeat_interleave(100)  # a folder: stored class by class
    real = ImageData(torch.zeros(1000, 1, 8, 8, dtype=torch.uint8), labels, [str(i) for i in range(10)], "sorted")
    seen = []

    def record(train, test, **kwargs):
        seen.append(train.labels)
        return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10)), None

    monkeypatch.setattr(classify, "train_classifier", record)
    fake = torch.zeros(100, 1, 8, 8)
    classification_accuracy_score(fake, torch.arange(100) % 10, real, real, epochs=1)
    on_fake, on_real = seen
    assert len(on_real) == len(on_fake) == 100
    assert len(on_real.unique()) == 10  # the first 100 would all be class 0
