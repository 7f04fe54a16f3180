"""The small-crops workflow of docs/tutorial-small-crops.md, end to end at 100x100 and 28x28."""

import json

import pytest
import torch
from PIL import Image

from gankit.cli import main
from gankit.train.stats import read_stats
from tests.data.cell_crops import make_cell_crops


@pytest.mark.parametrize("resolution", [100, 28])
def test_crops_padded_augmented_and_trained(tmp_path, resolution):
    crops = make_cell_crops(tmp_path / "cells")
    sizes = {Image.open(p).size for p in crops}
    assert len(crops) == 42 and min(min(s) for s in sizes) >= 50 and max(max(s) for s in sizes) <= 100
    run = tmp_path / "run"
    # 10 epochs of 42 crops = 0.42 kimg between sample grids
    code = main(["train", "--recipe", "dcgan", "--data", f"folder:{tmp_path / 'cells'}", "--batch", "14",
                 "--steps", "40", "--out", str(run), "--no-progress", "--set",
                 f"data.resolution={resolution}", "data.size_policy=pad", "data.flip=true", "data.brightness=0.2",
                 "data.contrast=0.2", "snapshot.every_kimg=0.42", "log.every=3", "G.width=4", "D.width=4"])
    assert code == 0
    records = read_stats(run)
    assert all({"Loss/G", "Loss/D/real", "Loss/D/fake"} <= set(r) for r in records)
    grids = sorted((run / "samples").glob("grid-*.png"))
    assert len(grids) == 3  # at the start, after 10 epochs (420 images), at the end (560)
    assert Image.open(grids[-1]).size[0] > resolution
    assert json.loads((run / "config.json").read_text())["data.resolution"] == resolution
    # step 4: a synthetic set of crops at the training size, with the latent of each
    assert main(["dataset", "--run", str(run), "-n", "20", "--out", str(tmp_path / "synthetic")]) == 0
    made = sorted((tmp_path / "synthetic" / "images").glob("*.png"))
    assert len(made) == 20 and Image.open(made[0]).size == (resolution, resolution)


@pytest.fixture(scope="module")
def masked_run(tmp_path_factory):
    """100 steps of tiny DCGAN nets on the 42 crops of many sizes, with the content-mask channel: at a high learning
    rate, enough for the masks to stop filling the whole square. ``mask.shrink=3``: the default 10, chosen on
    64x64 runs, empties these 8x8 masks."""
    import contextlib
    import io

    root = tmp_path_factory.mktemp("masked")
    make_cell_crops(root / "cells")
    run = root / "run"
    said = io.StringIO()
    with contextlib.redirect_stdout(said):
        code = main(["train", "--recipe", "dcgan", "--data", f"folder:{root / 'cells'}", "--batch", "14", "--steps",
                     "100", "--out", str(run), "--no-progress", "--set", "data.resolution=8", "data.mask=true",
                     "data.flip=true", "data.brightness=0.2", "snapshot.every_kimg=1000", "log.every=50", "G.width=4",
                     "D.width=4", "G.lr=0.002", "D.lr=0.002", "mask.shrink=3"])
    assert code == 0
    (root / "said.txt").write_text(said.getvalue())
    return root, run


def test_a_masked_run_records_its_mask_and_shows_only_images(masked_run):
    from gankit import inference

    root, run = masked_run
    config = json.loads((run / "config.json").read_text())
    assert config["data.mask"] is True and config["data.canvas"] > 0 and 0 <= config["data.pad_value"] <= 255
    said = (root / "said.txt").read_text()
    assert "at 8x8 (1 channel and a content mask)" in said  # the start line
    assert f"padding canvas {config['data.canvas']} px" in said
    assert f"padding with grey {config['data.pad_value']}" in said
    grid = Image.open(sorted((run / "samples").glob("grid-*.png"))[-1])
    assert grid.mode == "L"  # the images' one grey channel: the mask is no part of the picture
    G = inference.load(run=str(run))
    assert G.mask and G.meta["mask"] is True and G.shape == [1, 8, 8]
    z = torch.randn(3, G.z_dim)
    assert G.render(z).shape == (3, 1, 8, 8) and G.render(z, with_mask=True).shape == (3, 2, 8, 8)
    whole = G.render(torch.randn(20, G.z_dim), with_mask=True)  # as in training: the padding grey outside the mask
    outside = whole[:, 0][whole[:, 1] < 0]
    assert len(outside) and torch.allclose(outside, torch.tensor(config["data.pad_value"] / 127.5 - 1))
    assert main(["export", "--run", str(run), "--out", str(root / "export")]) == 0
    assert json.loads((root / "export" / "config.json").read_text())["mask"] is True
    exported = inference.load(export=str(root / "export"))
    assert exported.mask and torch.equal(exported.render(z, with_mask=True), G.render(z, with_mask=True))


def _cut_as_their_masks_say(G, folder, files) -> set:
    """The acceptance test: each written crop of a sample equals the sample inside its mask's bounding box (drawn
    again from the latents written beside it); returns the sizes seen."""
    import numpy as np

    from gankit.sampling import to_uint8

    z = torch.from_numpy(np.load(folder / "latents.npy"))
    drawn = G.render(z, with_mask=True)
    images, mask = to_uint8(drawn[:, :1]), drawn[:, 1] > 0
    assert len(files) == len(z)
    sizes = set()
    for i, file in enumerate(files):
        rows, cols = mask[i].any(1).nonzero().flatten(), mask[i].any(0).nonzero().flatten()
        inside = images[i, 0, int(rows[0]):int(rows[-1]) + 1, int(cols[0]):int(cols[-1]) + 1] if len(rows) else \
            images[i, 0]  # an empty mask: the image is kept whole
        written = np.asarray(Image.open(file))
        assert np.array_equal(written, inside.numpy()), file
        sizes.add(written.shape)
    return sizes


def test_samples_cut_to_their_masks_have_their_own_sizes(masked_run, capsys):
    from gankit import inference

    root, run = masked_run
    G = inference.load(run=str(run))
    out = root / "cut"
    assert main(["sample", "--run", str(run), "-n", "12", "--out", str(out), "--crop-to-content"]) == 0
    sizes = _cut_as_their_masks_say(G, out, sorted(out.glob("*.png")))
    assert len(sizes) > 1  # synthetic cells of many sizes, like the crops
    synthetic = root / "synthetic"
    assert main(["dataset", "--run", str(run), "-n", "6", "--out", str(synthetic), "--crop-to-content"]) == 0
    _cut_as_their_masks_say(G, synthetic, sorted((synthetic / "images").glob("*.png")))
    assert json.loads((synthetic / "dataset.json").read_text())["cropped_to_content"] is True
    capsys.readouterr()
    assert main(["eval", "--run", str(run), "--n", "20", "--metrics", "fd", "--features", "fmnist"]) == 0
    assert "fd" in capsys.readouterr().out


def test_crop_to_content_needs_a_model_with_a_mask(masked_run, tmp_path, capsys):
    root, run = masked_run
    assert main(["sample", "--run", str(run), "-n", "4", "--out", str(tmp_path / "grid.png"), "--crop-to-content"]) == 2
    assert "--crop-to-content: writes one PNG per image" in capsys.readouterr().err
    plain = tmp_path / "plain"
    make_cell_crops(tmp_path / "cells", count=14)
    assert main(["train", "--recipe", "dcgan", "--data", f"folder:{tmp_path / 'cells'}", "--batch", "14", "--steps",
                 "1", "--out", str(plain), "--no-progress", "--set", "data.resolution=8", "snapshot.every_kimg=1000",
                 "G.width=4", "D.width=4"]) == 0
    capsys.readouterr()
    for command in (["sample", "--run", str(plain), "-n", "2", "--out", str(tmp_path / "s")],
                    ["dataset", "--run", str(plain), "-n", "2", "--out", str(tmp_path / "d")]):
        assert main(command + ["--crop-to-content"]) == 2
        err = capsys.readouterr().err
        assert "--crop-to-content: this model draws no content mask" in err and "data.mask=true" in err
