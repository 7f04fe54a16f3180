"""A synthetic dataset on disk: readable by gankit's loader and torchvision's ImageFolder, and written whole."""

import csv
import json

import numpy as np
import pytest
import torch

from gankit.data import load
from gankit.synthetic.folder import folder_names, write_dataset
from gankit.synthetic.labelled import synthesize
from tests.synthetic.fakes import NAMES, FakeG, labeller


def test_folder_names_are_safe_distinct_and_sort_in_label_order():
    assert folder_names(["Ankle boot", "Bag", "T-shirt/top"]) == ["Ankle boot", "Bag", "T-shirt_top"]
    assert folder_names(["a\\b", "a/b", "..", "x:y"]) == ["a_b", "a_b_2", "class", "x_y"]
    assert folder_names(["T-shirt/top", "Trouser", "Bag"]) == ["0-T-shirt_top", "1-Trouser", "2-Bag"]
    eleven = folder_names([f"c{i}" for i in range(11)])  # c10 sorts before c2
    assert eleven[0] == "00-c0" and eleven == sorted(eleven)


def test_a_labelled_dataset_reads_back_with_its_labels_latents_and_record(tmp_path):
    names = ["T-shirt/top", "one", "two", "three"]
    data = synthesize(FakeG(c_dim=4), 3, n=10, class_names=names, labeller=labeller(names=names), seed=3, batch=4)
    out = write_dataset(tmp_path / "syn", data, {"seed": 3})
    rows = list(csv.DictReader(open(out / "labels.csv")))
    assert [int(r["label"]) for r in rows] == data.labels.tolist()
    assert rows[0] == {"file": "images/0-T-shirt_top/000000.png", "label": "0", "class": "T-shirt/top",
                       "confidence": "0.9000"}
    assert np.array_equal(np.load(out / "latents.npy"), data.latents.numpy())
    record = json.loads((out / "dataset.json").read_text())
    assert record["seed"] == 3 and record["count"] == 10 and record["image_shape"] == [1, 4, 4]
    assert [c["count"] for c in record["classes"]] == [3, 3, 2, 2]
    back = load(f"folder:{out / 'images'}")  # gankit's own loader: the same images with the same label indices
    assert torch.equal(back.images, data.images) and torch.equal(back.labels, data.labels)


def test_torchvision_imagefolder_gives_every_image_its_label(tmp_path):
    from torchvision.datasets import ImageFolder

    data = synthesize(FakeG(c_dim=4), 3, per_class=2, class_names=NAMES)  # zero, one, two, three: not sorted
    out = write_dataset(tmp_path / "syn", data, {})
    folder = ImageFolder(str(out / "images"))
    assert folder.targets == data.labels.tolist()
    assert folder.classes == ["0-zero", "1-one", "2-two", "3-three"]


def test_a_class_without_images_gets_no_folder_and_the_record_keeps_the_generators_indices(tmp_path):
    data = synthesize(FakeG(c_dim=4), 3, per_class=2, class_names=NAMES, labeller=labeller(wrong={1: 0}))
    out = write_dataset(tmp_path / "syn", data, {})
    assert sorted(p.name for p in (out / "images").iterdir()) == ["0-zero", "2-two", "3-three"]
    record = json.loads((out / "dataset.json").read_text())
    assert [(c["label"], c["count"], c["asked"]) for c in record["classes"]] == [(0, 2, 2), (1, 0, 2), (2, 2, 2),
                                                                                 (3, 2, 2)]
    rows = list(csv.DictReader(open(out / "labels.csv")))
    assert [r["label"] for r in rows] == ["0", "0", "2", "2", "3", "3"]


def test_an_unlabelled_dataset_has_no_class_folders(tmp_path):
    data = synthesize(FakeG(), 3, n=5)
    out = write_dataset(tmp_path / "syn", data, {})
    assert sorted(p.name for p in (out / "images").iterdir()) == [f"{i:06d}.png" for i in range(5)]
    assert not (out / "labels.csv").exists()
    assert json.loads((out / "dataset.json").read_text())["classes"] is None


def test_a_foreign_folder_is_refused_and_an_older_dataset_replaced_whole(tmp_path):
    mine = tmp_path / "photos"
    mine.mkdir()
    (mine / "holiday.jpg").write_text("precious")
    data = synthesize(FakeG(c_dim=4), 3, per_class=2, class_names=NAMES)
    with pytest.raises(FileExistsError, match="photos"):
        write_dataset(mine, data, {})
    assert (mine / "holiday.jpg").read_text() == "precious"
    out = write_dataset(tmp_path / "syn", data, {})
    smaller = synthesize(FakeG(c_dim=4), 3, per_class=1, class_names=NAMES)
    write_dataset(out, smaller, {})
    assert len(list((out / "images").rglob("*.png"))) == 4  # no image of the older, larger set is left
