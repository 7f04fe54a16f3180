"""Classifier training (feature networks and CAS): what it refuses, and small sets it still trains on."""

import pytest
import torch

from gankit.classify import ClassifierError, train_classifier
from gankit.cli import main
from gankit.data import ImageData
from gankit.data.fashion_mnist import load_fashion_mnist


def few(n: int, classes: int = 10) -> ImageData:
    data = load_fashion_mnist("test")
    keep = (data.labels < classes).nonzero().flatten()[:n]
    return ImageData(data.images[keep], data.labels[keep], data.class_names[:classes], f"{n} test images")


def test_one_class_is_refused_with_the_count():
    with pytest.raises(ClassifierError, match="at least two classes.*found 1"):
        train_classifier(few(20, classes=1), None, epochs=1, log=lambda s: None)


def test_an_empty_set_is_refused_by_name():
    with pytest.raises(ClassifierError, match="0 test images: no images"):
        train_classifier(few(0), None, epochs=1, log=lambda s: None)


def test_a_set_smaller_than_the_batch_trains_on_all_of_it():
    train = few(40)
    model, acc = train_classifier(train, train, epochs=2, batch=128, width=4, log=lambda s: None)
    assert 0.0 <= acc <= 1.0
    assert model(torch.zeros(1, 1, 28, 28)).shape == (1, 10)


def test_steps_fix_the_optimizer_steps_whatever_the_set_size(monkeypatch):
    taken = []
    real_step = torch.optim.Adam.step
    monkeypatch.setattr(torch.optim.Adam, "step", lambda self, *a, **k: (taken.append(1), real_step(self, *a, **k))[1])
    lines = []
    train_classifier(few(30), None, batch=10, width=4, steps=7, log=lines.append)  # 3 steps an epoch: 3 + 3 + 1
    assert len(taken) == 7 and [line.split(":")[0] for line in lines] == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]
    taken.clear()
    train_classifier(few(30), None, batch=10, width=4, epochs=2, log=lambda s: None)
    assert len(taken) == 6


def test_features_refuses_points_and_a_foreign_out_before_training(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("gankit.classify.train_classifier", lambda *a, **k: pytest.fail("trained"))
    assert main(["features", "train", "ring8", "--out", str(tmp_path / "f")]) == 2
    assert "ring8: 2-D points; a feature network learns from images" in capsys.readouterr().err
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    assert main(["features", "train", "fashion-mnist", "--out", str(tmp_path / "mine")]) == 2
    assert "refusing to replace it" in capsys.readouterr().err
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
