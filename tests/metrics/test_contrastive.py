"""Self-supervised feature networks: after a short contrastive training on 42 unlabelled cell crops, two augmented
views of one image lie closer than views of different images, far more often than in the untrained network."""

import pytest
import torch

from gankit import data as datasets
from gankit import nets
from gankit.classify import ClassifierError, save_classifier, to_float
from gankit.data import ImageData
from gankit.metrics.contrastive import nt_xent, random_crops, train_contrastive, view
from gankit.metrics.features import get_extractor, prepare
from tests.data.cell_crops import make_cell_crops

SETTINGS = {"steps": 60, "batch": 42, "width": 8, "seed": 0}  # about 5 s on one thread


@pytest.fixture(scope="module")
def cells(tmp_path_factory) -> ImageData:
    root = tmp_path_factory.mktemp("cells")
    make_cell_crops(root)
    return datasets.load(f"folder:{root}", resolution=32)


def twins_nearer(features, images: torch.Tensor, draws: int = 3) -> float:
    """Share of images whose two views (fresh augmentations, not those of training) lie closer to each other than
    the image's first view lies to at least 3/4 of the other images' second views; the mean of ``draws`` draws."""
    g = torch.Generator().manual_seed(7)
    shares = []
    for _ in range(draws):
        with torch.no_grad():
            a, b = features(view(images, g)), features(view(images, g))
        dist = torch.cdist(a, b)
        own = dist.diag()
        farther = (own[:, None] < dist).float().sum(1) / (len(own) - 1)  # the diagonal itself never counts
        shares.append(float((farther >= 0.75).float().mean()))
    return sum(shares) / draws


def test_augmented_views_of_one_image_lie_closer_than_different_images(cells, tmp_path):
    model, matched = train_contrastive(cells, **SETTINGS, log=lambda s: None)
    folder = save_classifier(model, tmp_path / "cells", {"data": "cells", "self_supervised": True})
    extractor = get_extractor(str(folder))  # as `gankit eval --features PATH` loads it
    images = to_float(cells.images)
    trained = twins_nearer(lambda x: extractor(x), images)
    torch.manual_seed(SETTINGS["seed"])  # the same initial weights, untrained
    untrained_net = nets.build("classifier", img_resolution=32, img_channels=1, num_classes=1, width=8,
                               feature_dim=64).eval()
    untrained = twins_nearer(lambda x: untrained_net.features(prepare(x, 1, 32)), images)
    assert trained >= 0.9, trained
    assert untrained <= 0.75 and trained - untrained >= 0.25, (trained, untrained)
    assert matched > 2 / 84  # in training, views found their twin far above chance
    assert extractor.logits is None and extractor.classes == 0 and extractor.digest  # a space, no class head


def test_training_repeats_exactly_under_a_seed(cells):
    few = ImageData(cells.images[:6, :, ::2, ::2].contiguous(), name="six")
    settings = {"steps": 3, "batch": 4, "width": 2, "log": lambda s: None}
    first, _ = train_contrastive(few, seed=1, **settings)
    again, _ = train_contrastive(few, seed=1, **settings)
    other, _ = train_contrastive(few, seed=2, **settings)
    for (name, x), y, z in zip(first.state_dict().items(), again.state_dict().values(), other.state_dict().values()):
        assert torch.equal(x, y), name
    assert any(not torch.equal(x, z) for x, z in zip(first.state_dict().values(), other.state_dict().values()))


def test_nt_xent_rewards_views_nearer_their_twin_than_any_other():
    f = torch.randn(8, 16, generator=torch.Generator().manual_seed(0))
    loss_twins, matched = nt_xent(torch.cat([f, f + 0.01]))
    loss_shuffled, _ = nt_xent(torch.cat([f, f.roll(1, 0)]))
    assert matched == 1 and loss_twins < loss_shuffled


def test_crops_move_and_rescale_each_image_its_own_way():
    x = torch.linspace(-1, 1, 16).repeat(4, 1, 16, 1)  # four copies of a horizontal ramp
    out = random_crops(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.abs().max() <= 1
    assert not torch.allclose(out[0], out[1]) and not torch.allclose(out[0], x[0])


def test_one_image_is_refused():
    with pytest.raises(ClassifierError, match="at least two, found 1"):
        train_contrastive(ImageData(torch.zeros(1, 1, 8, 8, dtype=torch.uint8), name="one"), steps=1)


def test_measuring_imports_no_training_code():
    import subprocess
    import sys

    code = ("import sys, gankit.metrics.evaluate, gankit.metrics.memorization, gankit.metrics.features\n"
            "print(sorted(m for m in sys.modules if m.startswith(('gankit.train', 'gankit.recipes', "
            "'gankit.metrics.contrastive'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
