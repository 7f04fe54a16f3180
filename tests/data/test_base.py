"""ImageData's own helpers: random subsets and held-out splits that do not follow the storage order."""

import torch

from gankit.data import ImageData


def by_class(n_per_class: int = 100, classes: int = 10) -> ImageData:
    """A folder's order: class by class; each image's pixel holds its index, so rows can be traced."""
    labels = torch.arange(classes).repeat_interleave(n_per_class)
    index = torch.arange(len(labels))
    images = torch.stack([index % 256, index // 256], 1).view(-1, 2, 1, 1).to(torch.uint8)
    return ImageData(images, labels, [str(c) for c in range(classes)], "sorted")


def rows(data: ImageData) -> set[int]:
    return set((data.images[:, 0, 0, 0].long() + 256 * data.images[:, 1, 0, 0].long()).tolist())


def test_a_subset_is_random_over_the_classes_the_same_every_time_and_keeps_labels_with_images():
    data = by_class()
    subset = data.subset(100)
    assert len(subset) == 100 and len(subset.labels.unique()) == 10  # the first 100 would be class 0 only
    assert torch.equal(subset.images, data.subset(100).images)
    assert not torch.equal(subset.images, data.subset(100, seed=1).images)
    assert all(data.labels[r] == label for r, label in zip(sorted(rows(subset)), subset.labels.tolist()))
    assert data.subset(None) is data and data.subset(5000) is data


def test_a_split_is_disjoint_complete_and_names_the_held_out_part():
    data = by_class()
    rest, held = data.split(0.2, seed=3)
    assert len(held) == 200 and len(rest) == 800
    assert rows(rest) | rows(held) == set(range(1000)) and not rows(rest) & rows(held)
    assert len(held.labels.unique()) == 10 and held.name == "sorted (held out)" and rest.name == "sorted"
    again, _ = data.split(0.2, seed=3)
    assert torch.equal(again.images, rest.images)
    tiny_rest, tiny_held = by_class(1, 2).split(0.2)
    assert len(tiny_held) == 1 and len(tiny_rest) == 1  # at least one image is held out


def test_source_key_spells_each_source_one_way(tmp_path, monkeypatch):
    from gankit.data import source_key

    monkeypatch.chdir(tmp_path)
    assert source_key("fashion-mnist") == source_key("fashion-mnist:train") != source_key("fashion-mnist:test")
    assert source_key("folder:cells") == source_key("cells/") == source_key(f"folder:{tmp_path}/./cells")
    assert source_key("cells") != source_key("cells2") and source_key("ring8") == "ring8"
