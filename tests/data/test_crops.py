"""Crops of many sizes on a padded canvas: the canvas chosen from their sizes, padding like their border, a mask."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.data.base import DataError
from gankit.data.folder import border_level, choose_canvas, load_folder


def _crop(folder: Path, name: str, width: int, height: int, border: int = 128, inside: int = 230) -> None:
    """A bright block on a flat ``border`` background, ``width`` x ``height``."""
    folder.mkdir(parents=True, exist_ok=True)
    pixels = np.full((height, width), border, np.uint8)
    pixels[height // 4:height - height // 4, width // 4:width - width // 4] = inside
    Image.fromarray(pixels).save(folder / name)


def test_one_outlier_does_not_set_the_canvas_and_uniform_sizes_give_their_size():
    sides = [32 + i for i in range(19)] + [114]  # the nuclei: one 114-pixel crop among 32 to 50
    assert choose_canvas(sides) == 49  # the 18th of 20: 90% fit unscaled
    assert choose_canvas(sorted(sides, reverse=True)) == 49  # whatever order the files come in
    assert choose_canvas([40] * 7) == 40 and choose_canvas([64]) == 64
    assert choose_canvas([10, 20, 30, 40, 200]) == 200  # fewer than ten images: no tenth to leave out
    assert choose_canvas(list(range(1, 101))) == 90


def test_an_outlier_is_scaled_down_alone_to_fit_and_named(tmp_path):
    for i in range(19):
        _crop(tmp_path, f"cell_{i:02d}.png", 20, 20)
    _crop(tmp_path, "huge.png", 80, 40)
    data = load_folder(tmp_path)
    assert data.images.shape == (20, 1, 20, 20) and data.chosen["data.canvas"] == 20
    small, huge = data.images[0, 0], data.images[19, 0]
    assert (small[5:15, 5:15] == 230).all() and small[0, 0] == 128  # a 20-pixel crop fills the canvas, unscaled
    rows = (huge != 128).any(dim=1).nonzero().flatten()
    assert huge.shape == (20, 20) and 8 <= len(rows) <= 12  # 80x40 scaled to 20x10: undistorted, centred
    assert (huge[:4] == 128).all() and (huge[16:] == 128).all()  # padded above and below
    report = [line for line in data.notes if "scaled down" in line]
    assert report == [f"{tmp_path}: 1 of 20 images are larger than the 20-pixel canvas and were scaled down alone to "
                      f"fit it: huge.png (80x40)"]
    assert any("padding canvas 20 px" in line and "data.canvas" in line for line in data.notes)


def test_an_explicit_canvas_wins(tmp_path):
    for i, side in enumerate([20] * 19 + [80]):
        _crop(tmp_path, f"{i:02d}.png", side, side)
    data = load_folder(tmp_path, canvas=80)
    assert data.images.shape[-1] == 80 and "data.canvas" not in data.chosen
    assert not any("scaled down" in line or "padding canvas" in line for line in data.notes)
    assert load_folder(tmp_path, canvas=0).images.shape[-1] == 80  # 0: the largest image, as before the choice


def test_padding_takes_the_crops_grey_border_unless_a_value_is_given(tmp_path):
    _crop(tmp_path, "a.png", 30, 30, border=120)
    _crop(tmp_path, "b.png", 10, 20, border=130)
    _crop(tmp_path, "c.png", 20, 16, border=125)
    data = load_folder(tmp_path)
    assert data.chosen["data.pad_value"] == 125  # the median of the three borders
    assert data.images[1, 0, 0, 0] == 125 and data.images[1, 0, 15, 0] == 125  # b's padding, left of it
    assert any("padding with grey 125" in line and "data.pad_value" in line for line in data.notes)
    black = load_folder(tmp_path, pad_value=0)
    assert black.images[1, 0, 15, 0] == 0 and "data.pad_value" not in black.chosen
    assert not any("padding with" in line for line in black.notes)


def test_colour_crops_are_padded_with_their_border_colour(tmp_path):
    tmp_path.mkdir(exist_ok=True)
    for i, size in enumerate([(12, 12), (12, 6), (6, 12)]):
        pixels = np.zeros((size[1], size[0], 3), np.uint8)
        pixels[...] = (200, 150 + i, 180)
        Image.fromarray(pixels).save(tmp_path / f"{i}.png")
    data = load_folder(tmp_path)
    assert data.chosen["data.pad_value"] == [200, 151, 180]
    assert data.images[1, :, 0, 0].tolist() == [200, 151, 180]
    assert border_level([Image.fromarray(np.full((4, 4), 9, np.uint8))]) == (9,)


def test_the_mask_marks_each_crops_scaled_footprint(tmp_path):
    _crop(tmp_path, "a_wide.png", 40, 20)
    _crop(tmp_path, "b_small.png", 10, 10)
    data = load_folder(tmp_path, resolution=20, canvas=40, mask=True)
    wide, small = data.footprint[:, 0]
    assert data.footprint.dtype == torch.bool and data.footprint.shape == (2, 1, 20, 20)
    assert wide.sum() == 20 * 10 and wide[5:15].all() and not wide[:5].any() and not wide[15:].any()
    assert small.sum() == 5 * 5 and small[7:12, 7:12].all()
    assert load_folder(tmp_path, resolution=20).footprint is None  # only when asked for
    held_out, rest = data.split(0.5, seed=0)[::-1]  # subsets keep each image's footprint with it
    for part in (held_out, rest):
        i = next(i for i in range(2) if torch.equal(data.images[i], part.images[0]))
        assert torch.equal(part.footprint[0], data.footprint[i])


def test_a_mask_needs_padding(tmp_path):
    _crop(tmp_path, "a.png", 20, 20)
    with pytest.raises(DataError, match="data.mask=true marks the padding of size_policy=pad; with size_policy=crop"):
        load_folder(tmp_path, resolution=16, size_policy="crop", mask=True)
    from gankit import data as datasets

    with pytest.raises(DataError, match="data.mask=true: .*ring8 has no padding"):
        datasets.load("ring8", mask=True)


def test_a_runs_recorded_choices_read_its_folder_the_same_way_after_it_grows(tmp_path):
    from gankit.config import TRAINER_DEFAULTS
    from gankit.data.from_config import load_data

    for i in range(10):
        _crop(tmp_path, f"{i:02d}.png", 20 + i, 20 + i, border=100)
    cfg = {**TRAINER_DEFAULTS, "data": f"folder:{tmp_path}", "data.resolution": 16}
    assert cfg["data.canvas"] == -1 and cfg["data.pad_value"] == -1  # the defaults: chosen from the images
    first = load_data(cfg)
    recorded = {**cfg, **first.chosen}  # as a new run records them in its config.json
    assert recorded["data.canvas"] == 28 and recorded["data.pad_value"] == 100
    for i in range(10, 14):  # the folder gains big crops on a black border
        _crop(tmp_path, f"{i:02d}.png", 90, 90, border=0)
    again = load_data(recorded)
    assert torch.equal(again.images[:10], first.images) and again.chosen == {}
    assert load_data(cfg).chosen == {"data.canvas": 90, "data.pad_value": 100}  # a new run would choose anew
