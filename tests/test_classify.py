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


def seen_in_training(monkeypatch, **kwargs) -> list[torch.Tensor]:
    """The batches the network's feature layers receive during one short training run."""
    from gankit.nets.classifier import Classifier

    seen, real_features = [], Classifier.features
    monkeypatch.setattr(Classifier, "features", lambda self, x: (seen.append(x.detach().clone()),
                                                                  real_features(self, x))[1])
    train_classifier(few(30), None, batch=10, width=4, steps=2, seed=3, log=lambda s: None, **kwargs)
    return seen


def on_the_8bit_grid(x: torch.Tensor) -> bool:
    v = (x + 1) * 127.5
    return bool(torch.allclose(v, v.round(), atol=1e-4))


def test_nuisance_augmentation_is_applied_in_training_in_two_views_and_fixed_by_the_seed(monkeypatch):
    chosen = dict(nuisances=("brightness", "contrast", "blur"), invariance=1.0)
    first = seen_in_training(monkeypatch, **chosen)
    assert len(first) == 2 and first[0].shape == (20, 1, 28, 28)  # 10 images, two views each
    a, b = first[0].chunk(2)
    assert not torch.equal(a, b)  # the views are augmented independently
    assert not on_the_8bit_grid(first[0])  # brightness, contrast and blur move pixels off the stored grid
    again = seen_in_training(monkeypatch, **chosen)
    assert all(torch.equal(x, y) for x, y in zip(first, again))
    plain = seen_in_training(monkeypatch, nuisances=())
    assert plain[0].shape == (10, 1, 28, 28) and all(on_the_8bit_grid(x) for x in plain)


def test_the_invariance_loss_is_the_views_distance_relative_to_the_spread():
    from gankit.classify import invariance_loss

    f = torch.randn(8, 5)
    assert invariance_loss(torch.cat([f, f])) == 0
    far = invariance_loss(torch.cat([f, f + 3]))
    assert far > invariance_loss(torch.cat([f, f + 1])) > 0
    assert torch.isclose(invariance_loss(torch.cat([10 * f, 10 * f + 30])), far)  # blind to the features' scale


def test_features_train_records_the_nuisances_it_learned_to_ignore(small_images, tmp_path, capsys):
    import json

    out = tmp_path / "feat"
    assert main(["features", "train", f"folder:{small_images}", "--out", str(out), "--epochs", "1", "--width", "4",
                 "--nuisances", "flip,blur"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["nuisances"] == ["flip", "blur"] and config["invariance"] == 1.0
    assert main(["features", "train", f"folder:{small_images}", "--out", str(tmp_path / "plain"), "--epochs", "1",
                 "--width", "4", "--nuisances", "none"]) == 0
    config = json.loads((tmp_path / "plain" / "config.json").read_text())
    assert config["nuisances"] == [] and config["invariance"] == 0.0
    capsys.readouterr()
    assert main(["features", "train", "fashion-mnist", "--out", str(tmp_path / "x"), "--nuisances", "tilt"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("gankit features: error: --nuisances tilt: unknown tilt; use any of "
                   "flip,shift,brightness,contrast,resample,blur or none")
    assert main(["features", "train", "fashion-mnist", "--out", str(tmp_path / "x"), "--record"]) == 2
    assert "--record: only for `gankit features calibrate`" in capsys.readouterr().err


def test_training_can_start_from_a_classifier_of_the_same_architecture():
    start, _ = train_classifier(few(30), None, batch=10, width=4, steps=1, log=lambda s: None)
    tuned, _ = train_classifier(few(30), None, batch=10, width=4, steps=1, lr=1e-12, init=start, log=lambda s: None,
                                seed=5)
    assert all(torch.allclose(a, b) for a, b in zip(start.parameters(), tuned.parameters()))
    with pytest.raises(ClassifierError, match="30 test images: the classifier to start from is .*'width': 4.*"
                                              "'width': 8"):
        train_classifier(few(30), None, batch=10, width=8, steps=1, init=start, log=lambda s: None)
