"""Loading a folder of images: bad files, modes, channels, labels and size policies."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.data.base import DataError
from gankit.data.folder import _decode, load_folder

from tests.data.folder_fixture import make_fixture_folder


@pytest.fixture(scope="module")
def fixture(tmp_path_factory):
    return make_fixture_folder(tmp_path_factory.mktemp("cells"))


@pytest.fixture(scope="module")
def loaded(fixture):
    return load_folder(fixture["root"])


def _write(folder: Path, name: str, image: Image.Image) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


def _single(tmp_path, image: Image.Image, name="one.png", **kwargs) -> np.ndarray:
    """Load a folder holding one image, return its pixels [C, H, W] as numpy."""
    _write(tmp_path / "single", name, image)
    return load_folder(tmp_path / "single", **kwargs).images[0].numpy()


# --- files: good, bad, hidden, order, labels -------------------------------------------------

def test_good_files_load_and_bad_files_are_skipped_with_a_reason(fixture, loaded):
    assert len(loaded) == len(fixture["good"]) == 6
    assert loaded.images.dtype == torch.uint8 and loaded.images.shape == (6, 1, 100, 100)
    skipped = dict(loaded.skipped)
    assert sorted(skipped) == sorted(str(p) for p in fixture["bad"])
    for path, word in fixture["bad_reasons"].items():
        assert word in skipped[str(path)], (path, skipped[str(path)])
    assert not any(".DS_Store" in p or ".thumbnail" in p for p in skipped)  # hidden files: silent
    assert loaded.name == f"folder:{fixture['root']}"


def test_strict_mode_names_the_first_bad_file(fixture):
    root = fixture["root"]
    first = min(fixture["bad"], key=lambda p: p.relative_to(root).parts)
    with pytest.raises(DataError) as info:
        load_folder(root, strict=True)
    assert str(first) in str(info.value)
    assert fixture["bad_reasons"][first] in str(info.value)


def test_labels_come_from_subfolders(fixture, loaded):
    assert loaded.class_names == fixture["classes"] == ["long", "round"]
    assert torch.bincount(loaded.labels).tolist() == [2, 4]  # long/: 16-bit, jpeg; round/: four
    assert loaded.labels.tolist() == sorted(loaded.labels.tolist())  # sorted, deterministic order


def test_no_labels_when_an_image_lies_at_the_top(tmp_path):
    _write(tmp_path / "f", "top.png", Image.new("L", (50, 50), 9))
    _write(tmp_path / "f", "sub/a.png", Image.new("L", (50, 50), 9))
    data = load_folder(tmp_path / "f")
    assert data.labels is None and data.class_names is None and len(data) == 2


def test_folder_without_usable_images_and_missing_path(tmp_path):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.png").write_bytes(b"")
    with pytest.raises(DataError, match="bad") as info:
        load_folder(tmp_path / "bad")
    assert str(tmp_path / "bad") in str(info.value)
    with pytest.raises(DataError) as info:
        load_folder(tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in str(info.value)


# --- modes ----------------------------------------------------------------------------------

def test_16bit_scales_by_bit_depth_not_by_maximum(tmp_path):
    values = np.array([[0, 32896, 65535, 2570]], dtype=np.uint16).repeat(4, 0)
    out = _single(tmp_path, Image.fromarray(values))
    assert out.shape == (1, 4, 4) and out[0, 0].tolist() == [0, 128, 255, 10]
    dim = _single(tmp_path, Image.fromarray(np.full((4, 4), 32896, np.uint16)), name="dim.png")
    assert (dim == 128).all()  # not stretched to 255


def test_16bit_big_endian_and_32bit_integer(tmp_path):
    big = Image.new("I;16B", (4, 4), 0)
    big.putpixel((1, 0), 65535)
    assert _decode(_write(tmp_path, "big.tif", big), 0)[0, :2].tolist() == [0, 255]
    wide = Image.fromarray(np.array([[0, 2**31 - 1], [2**30, -5]], dtype=np.int32))
    assert wide.mode == "I"
    assert _decode(_write(tmp_path, "wide.tif", wide), 0).tolist() == [[0, 255], [128, 0]]


def test_float_images(tmp_path):
    def decode(values):
        path = _write(tmp_path, "f.tif", Image.fromarray(np.array(values, dtype=np.float32)))
        return _decode(path, 0).tolist()

    assert decode([[0.0, 0.5, 1.0]]) == [[0, 128, 255]]  # 0..1: times 255
    assert decode([[0.0, 100.4, 255.0]]) == [[0, 100, 255]]  # 0..255: as is
    assert decode([[-1.0, 0.0, 1.0, 2.0]]) == [[0, 85, 170, 255]]  # other ranges: min-max


def test_rgba_transparency_becomes_pad_value(tmp_path):
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., :3] = 200
    rgba[0, 0, 3] = 255  # opaque
    rgba[0, 1, 3] = 128  # half
    out = _single(tmp_path, Image.fromarray(rgba, "RGBA"), pad_value=77)
    assert out.shape == (1, 4, 4)
    assert out[0, 0, 0] == 200 and out[0, 0, 1] == round(200 * 128 / 255 + 77 * 127 / 255)
    assert (out[0, 1:] == 77).all()


def test_la_and_bilevel(tmp_path):
    la = Image.merge("LA", (Image.new("L", (3, 3), 250), Image.new("L", (3, 3), 0)))
    assert (_decode(_write(tmp_path, "la.png", la), 30) == 30).all()
    assert set(np.unique(_decode(_write(tmp_path, "b.png", Image.new("1", (3, 3), 1)), 0))) == {255}
    grey_with_key = Image.new("L", (3, 3), 40)
    grey_with_key.putpixel((0, 0), 90)
    grey_with_key.info["transparency"] = 40  # tRNS: grey level 40 is transparent
    out = load_folder(_write(tmp_path / "key", "k.png", grey_with_key).parent, pad_value=7).images
    assert out.shape == (1, 1, 3, 3) and out[0, 0, 0, 0] == 90 and out[0, 0, 1, 1] == 7


def test_palette_with_transparency_and_colour(tmp_path):
    image = Image.new("P", (4, 4), 1)
    image.putpalette([0, 0, 0, 10, 200, 30] + [0, 0, 0] * 254)
    image.putpixel((0, 0), 0)
    image.info["transparency"] = 0
    out = _single(tmp_path, image, pad_value=50)
    assert out.shape == (3, 4, 4)  # colourful palette -> 3 channels
    assert out[:, 0, 0].tolist() == [50, 50, 50]  # transparent index -> pad value
    assert out[:, 1, 1].tolist() == [10, 200, 30]


def test_fixture_modes_decode_as_expected(fixture, loaded):
    in_load_order = sorted(fixture["good"], key=lambda p: p.relative_to(fixture["root"]).parts)
    by_name = {p.name: i for i, p in enumerate(in_load_order)}
    sixteen = loaded.images[by_name["grey16_I16.png"], 0]
    assert set(torch.unique(sixteen).tolist()) >= {0, 128, 255}
    rgba = loaded.images[by_name["transparent_RGBA.png"], 0]
    assert rgba[0, 0] == 0 and rgba.max() == 180  # transparent surroundings -> pad_value 0


# --- channels ------------------------------------------------------------------------------

def test_channels_auto_grey_then_colour(fixture, loaded, tmp_path):
    assert loaded.channels == 1  # every fixture image is grey, including the RGB JPEG
    root = tmp_path / "copy"
    shutil.copytree(fixture["root"], root)
    colour = np.zeros((60, 60, 3), np.uint8)
    colour[..., 0] = 255
    _write(root, "round/red.png", Image.fromarray(colour))
    data = load_folder(root)
    assert data.channels == 3 and len(data) == 7
    grey_as_rgb = load_folder(fixture["root"], channels=3).images
    assert grey_as_rgb.shape[1] == 3 and torch.equal(grey_as_rgb[:, 0], grey_as_rgb[:, 2])
    assert load_folder(root, channels=1).channels == 1


# --- size policies -------------------------------------------------------------------------

def test_pad_keeps_aspect_and_centres(tmp_path):
    out = _single(tmp_path, Image.new("L", (50, 100), 255), canvas=100, resolution=100, pad_value=0)
    assert out.shape == (1, 100, 100)
    assert (out[0, :, 25:75] == 255).all() and (out[0, :, :25] == 0).all() and (out[0, :, 75:] == 0).all()


def test_pad_keeps_relative_sizes(tmp_path):
    folder = tmp_path / "sizes"
    _write(folder, "a_big.png", Image.new("L", (100, 100), 255))
    _write(folder, "b_small.png", Image.new("L", (50, 50), 255))
    full = load_folder(folder, pad_value=0).images.float()
    assert full.shape == (2, 1, 100, 100)
    assert (full[1, 0, 25:75, 25:75] == 255).all() and full[1].sum() == 255 * 2500
    small = load_folder(folder, resolution=28, pad_value=0).images.float()
    assert small.shape == (2, 1, 28, 28)
    assert small[1].sum() / small[0].sum() == pytest.approx(0.25, abs=0.02)


def test_pad_shrinks_images_larger_than_canvas(tmp_path):
    out = _single(tmp_path, Image.new("L", (100, 50), 255), canvas=50, pad_value=10)
    assert out.shape == (1, 50, 50)
    assert (out[0, 14:36] == 255).all() and (out[0, :12] == 10).all() and (out[0, 38:] == 10).all()


@pytest.mark.parametrize("resolution", [28, 100])
def test_fixture_at_resolutions(fixture, resolution):
    data = load_folder(fixture["root"], resolution=resolution)
    assert data.images.shape == (6, 1, resolution, resolution)


@pytest.mark.parametrize("policy", ["crop", "resize"])
def test_crop_and_resize(fixture, tmp_path, policy):
    assert load_folder(fixture["root"], resolution=32, size_policy=policy).images.shape == (6, 1, 32, 32)
    wide = np.zeros((50, 100), np.uint8)
    wide[:, 25:75] = 255  # white middle half of a wide image
    out = _single(tmp_path, Image.fromarray(wide), size_policy=policy, resolution=20)
    if policy == "crop":
        assert (out[0, :, 1:-1] >= 250).all()  # the crop keeps the white middle (Lanczos blurs the edge)
    else:
        assert (out[0, :, :4] <= 5).all() and (out[0, :, 6:14] >= 250).all()  # squeezed, black sides kept


def test_argument_errors_name_the_value(fixture):
    root = fixture["root"]
    with pytest.raises(DataError, match="'stretch'.*pad, crop, resize"):
        load_folder(root, size_policy="stretch")
    with pytest.raises(DataError, match="resolution"):
        load_folder(root, size_policy="crop")
    with pytest.raises(DataError, match="channels 2"):
        load_folder(root, channels=2)
    with pytest.raises(DataError, match="pad_value 300"):
        load_folder(root, pad_value=300)


def test_exif_orientation_is_applied(tmp_path):
    image = Image.new("L", (60, 50), 0)
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    path = tmp_path / "photo.jpg"
    image.save(path, exif=exif)
    assert _decode(path, 0).shape == (60, 50)


def test_an_image_too_large_to_decode_safely_is_skipped_with_its_reason(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # Pillow's guard, lowered so a small file trips it
    _write(tmp_path, "ok.png", Image.new("L", (16, 16), 9))
    _write(tmp_path, "huge.png", Image.new("L", (100, 50), 9))  # 5,000 pixels: over twice the limit
    data = load_folder(tmp_path)
    assert len(data) == 1 and data.skipped[0][0].endswith("huge.png") and "too large" in data.skipped[0][1]


def test_one_huge_image_does_not_silently_set_a_huge_canvas(tmp_path):
    _write(tmp_path, "ok.png", Image.new("L", (16, 16), 9))
    _write(tmp_path, "wide.png", Image.new("L", (2000, 10), 9))
    with pytest.raises(DataError, match=r"wide\.png \(2000x10\) would make every image a 2000-pixel square canvas; "
                                        r"choose the training size with --set data\.resolution=N"):
        load_folder(tmp_path)
    assert load_folder(tmp_path, resolution=16).images.shape == (2, 1, 16, 16)  # a chosen size is fine


def test_a_file_name_that_is_not_utf8_is_shown_escaped(tmp_path):
    import os

    _write(tmp_path, "ok.png", Image.new("L", (16, 16), 9))
    with open(os.path.join(os.fsencode(tmp_path), b"\xff-junk.png"), "w") as f:
        f.write("text")
    data = load_folder(tmp_path)
    assert data.skipped[0][0].endswith("\\xff-junk.png")
    data.skipped[0][0].encode("utf-8")  # printable on any UTF-8 terminal


def test_an_empty_folder_spec_is_refused_and_fashion_mnist_becomes_rgb_on_request():
    from gankit import data as datasets

    with pytest.raises(DataError, match="--data 'folder:': no folder given"):
        datasets.load("folder:")
    rgb = datasets.load("fashion-mnist:test", channels=3)
    assert rgb.images.shape[1:] == (3, 28, 28) and torch.equal(rgb.images[:, 0], rgb.images[:, 2])


def test_a_class_folder_without_images_is_reported_not_dropped_silently(tmp_path):
    for name in ("cat", "dog"):
        (tmp_path / name).mkdir()
    _write(tmp_path / "cat", "a.png", Image.new("L", (8, 8), 9))
    (tmp_path / "dog" / "notes.txt").write_text("no images yet")
    data = load_folder(tmp_path)
    assert data.class_names == ["cat"]
    assert (str(tmp_path / "dog"), "a class folder without usable images: it is no class of this dataset") in \
        data.skipped
    (tmp_path / "dog" / "notes.txt").unlink()  # strict would stop at that file first
    with pytest.raises(DataError, match=r"dog: a class folder without usable images: .* \(strict mode"):
        load_folder(tmp_path, strict=True)


def test_a_folder_that_cannot_be_read_is_reported(tmp_path, monkeypatch):
    import os

    from gankit.data import folder as folder_module

    _write(tmp_path, "ok.png", Image.new("L", (8, 8), 9))
    (tmp_path / "locked").mkdir()
    real_walk = os.walk

    def walk(top, onerror=None, **kwargs):  # as os.walk does for a folder without read permission
        onerror(PermissionError(13, "Permission denied", str(tmp_path / "locked")))
        yield from real_walk(top, onerror=onerror, **kwargs)

    monkeypatch.setattr(folder_module.os, "walk", walk)
    assert (str(tmp_path / "locked"), "cannot read this folder: its images are left out") in load_folder(tmp_path).skipped
    with pytest.raises(DataError, match=r"locked: cannot read this folder: .* \(strict mode"):
        load_folder(tmp_path, strict=True)


# --- links and entries that are no files: each named, none passed over without a word ---------

def _odd_entries(root: Path) -> dict[str, str]:
    """A folder with one good image and each kind of entry that holds no image, by name: what to expect."""
    import os

    _write(root, "ok.png", Image.new("L", (8, 8), 9))
    os.symlink(root / "gone.png", root / "dangling.png")
    os.symlink(root / "loop.png", root / "loop.png")
    (root / "x.png").mkdir()
    os.mkfifo(root / "pipe.png")  # opening it would wait for a writer forever
    (root / "sub").mkdir()
    os.symlink(root, root / "sub" / "up")  # a link back to the top: a loop for a walk that follows links
    return {"dangling.png": "a symbolic link to .*gone.png, which does not exist",
            "loop.png": "a symbolic link that loops",
            "x.png": r"a folder, not an image file \(and it holds no file\)",
            "pipe.png": r"not a regular file \(a pipe, socket or device\)",
            "sub/up": "a link to .*, a folder read already"}


def test_links_to_nothing_loops_pipes_and_folders_named_like_images_are_reported(tmp_path):
    import re

    expected = _odd_entries(tmp_path)
    data = load_folder(tmp_path)
    assert len(data) == 1
    reasons = {str(Path(path).relative_to(tmp_path)): reason for path, reason in data.skipped}
    assert sorted(reasons) == sorted(expected)
    for name, reason in expected.items():
        assert re.match(reason, reasons[name]), (name, reasons[name])
    report = data.skipped_report("--strict")
    assert report[-1] == "5 file(s) skipped, 1 used (--strict stops instead)"


@pytest.mark.parametrize("name", ["dangling.png", "loop.png", "x.png", "pipe.png"])
def test_strict_mode_stops_on_each_entry_that_is_no_image_file(tmp_path, name):
    import os

    _write(tmp_path, "ok.png", Image.new("L", (8, 8), 9))
    made = tmp_path / name
    {"dangling.png": lambda: os.symlink(tmp_path / "gone", made), "loop.png": lambda: os.symlink(made, made),
     "x.png": made.mkdir, "pipe.png": lambda: os.mkfifo(made)}[name]()
    with pytest.raises(DataError, match=rf"{re.escape(str(made))}: .* \(strict mode"):
        load_folder(tmp_path, strict=True)


def test_a_linked_class_folder_is_read_once(tmp_path):
    import os

    store = tmp_path / "store"
    _write(store, "a.png", Image.new("L", (8, 8), 9))
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    os.symlink(store, data_dir / "cat")  # a folder of links to class folders kept elsewhere
    os.symlink(store, data_dir / "cat-again")
    data = load_folder(data_dir)
    assert data.class_names == ["cat"] and len(data) == 1
    assert [Path(p).name for p, _ in data.skipped] == ["cat-again"]


# --- extreme images: memory and time follow the training size, not the file's ------------------

@pytest.fixture
def largest_image(monkeypatch):
    """Record the largest image (in pixels) Pillow decodes or makes while a folder loads."""
    from PIL import ImageFile

    largest = [0]
    real_new, real_load = Image.Image._new, ImageFile.ImageFile.load

    def new(self, im):
        made = real_new(self, im)
        largest[0] = max(largest[0], made.width * made.height)
        return made

    def load(self):
        loaded = real_load(self)
        largest[0] = max(largest[0], self.width * self.height)
        return loaded

    monkeypatch.setattr(Image.Image, "_new", new)
    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    return largest


@pytest.mark.parametrize("policy", ["pad", "crop", "resize"])
def test_a_long_strip_at_a_small_resolution_never_makes_a_huge_canvas(tmp_path, largest_image, policy):
    strip = np.zeros((10, 10000), np.uint8)
    strip[:, 4000:6000] = 255
    _write(tmp_path, "strip.png", Image.fromarray(strip))
    _write(tmp_path, "square.png", Image.new("L", (40, 40), 255))
    data = load_folder(tmp_path, resolution=32, size_policy=policy, pad_value=0)
    assert data.images.shape == (2, 1, 32, 32)
    assert largest_image[0] <= 10 * 10000  # the file's own pixels; padding to its length made 10000 x 10000
    if policy == "pad":  # sizes relative to the strip's length: the square is a dot, the strip's white a dash
        square, strip = data.images[:, 0]
        assert strip[15, 13:19].min() > 0 and strip[:12].max() == 0 and strip[:, :10].max() == 0
        assert square[15, 15] > 0 and square.count_nonzero() == 1


def test_a_big_photo_is_decoded_small(tmp_path, largest_image):
    import tracemalloc

    photo = Image.linear_gradient("L").resize((4000, 3000)).convert("RGB")
    photo.save(tmp_path / "photo.jpg", quality=90)
    del photo
    largest_image[0] = 0
    tracemalloc.start()
    try:
        data = load_folder(tmp_path, resolution=32, channels=1, pad_value=0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert data.images.shape == (1, 1, 32, 32)
    assert largest_image[0] <= 500 * 375  # JPEG's 1/8 draft: a 36 MB decode never happens
    assert peak < 4 << 20
    column = data.images[0, 0, :, 16].float()  # the gradient survives: dark at the top, light at the bottom
    assert column[5] < column[16] < column[26] and column[:4].max() == column[28:].max() == 0  # padded above, below


def test_an_image_in_pillows_warning_range_loads_without_a_raw_warning(tmp_path, monkeypatch):
    import warnings

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    _write(tmp_path, "big.png", Image.new("L", (40, 40), 200))  # 1,600 pixels: over the limit, under twice it
    with warnings.catch_warnings(record=True) as shown_warnings:
        warnings.simplefilter("always")
        data = load_folder(tmp_path, resolution=16)
    assert data.images.shape == (1, 1, 16, 16) and not data.skipped
    assert [w for w in shown_warnings if issubclass(w.category, Image.DecompressionBombWarning)] == []


def _sized(folder: Path, sizes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, (width, height) in enumerate(sizes):
        Image.new("RGB", (width, height), (i * 20 % 256, 90, 160)).save(folder / f"{i:02d}.jpg", quality=50)
    return folder


def test_a_folder_of_mixed_sizes_trains_at_its_canvas_power_of_two_at_most_64(tmp_path):
    from gankit.data.folder import choose_resolution

    mixed = _sized(tmp_path / "mixed", [(s, s * 3 // 4) for s in (20, 30, 45, 60, 80, 100, 120, 150, 180, 220, 260, 300)])
    size, line = choose_resolution(mixed)
    assert size == 64  # the padding canvas is 260: capped, not the 300 of the largest
    assert "20 to 300 px" in line and "64x64" in line and "canvas (260 px)" in line and "data.resolution" in line
    small = _sized(tmp_path / "small", [(s, s) for s in (10, 18, 20, 22, 40)])
    assert choose_resolution(small)[0] == 32  # pad: five images, the canvas is the largest, 40: the nearest power of two
    assert choose_resolution(small, "crop")[0] == 16  # crop: the median shorter side, 20
    assert choose_resolution(small, "pad", canvas=20)[0] == 16  # a canvas given is the one drawn at that size
    crop = _sized(tmp_path / "crop", [(300, 30), (200, 30), (250, 34)])
    assert choose_resolution(crop, "crop")[0] == 32  # crop scales the shorter sides
    assert choose_resolution(crop, "pad")[0] == 64


def test_the_resolution_follows_the_canvas_not_one_outlier(tmp_path):
    from gankit.data.folder import choose_resolution

    cells = _sized(tmp_path / "cells", [(20 + i % 5, 20 + i % 5) for i in range(19)] + [(120, 110)])
    size, line = choose_resolution(cells)
    assert size == 32 and "canvas (24 px)" in line  # the largest crop alone would have asked for 128, capped at 64


def test_a_folder_of_one_size_keeps_it_up_to_64_and_a_bad_file_is_left_to_the_loader(tmp_path):
    from gankit.data.folder import choose_resolution

    same = _sized(tmp_path / "same", [(28, 28)] * 3)
    (same / "notes.txt").write_text("not an image")
    assert choose_resolution(same)[0] == 28
    assert choose_resolution(_sized(tmp_path / "big", [(256, 256)] * 2))[0] == 64
    assert choose_resolution(_sized(tmp_path / "none", []))[0] is None
