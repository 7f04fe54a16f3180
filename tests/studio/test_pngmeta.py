"""PNGs carrying their recipe, and uploads read under limits: bytes, pixels, decompression bombs."""

import io
import json
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from gankit.studio import pngmeta
from gankit.studio.pngmeta import UploadError

RECIPE = {"gankit": "0.1.0", "seed": 4, "z": None, "class": None, "truncation": 0.5, "edits": []}


def png_of(width, height, text=None, zipped=False) -> bytes:
    info = PngImagePlugin.PngInfo()
    if text is not None:
        info.add_text("gankit", text, zip=zipped)
    buf = io.BytesIO()
    Image.new("L", (width, height)).save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


def claiming(width, height) -> bytes:
    """A tiny valid PNG whose header claims ``width`` x ``height`` pixels (a decompression bomb's shape)."""
    data = png_of(1, 1)
    ihdr = struct.pack(">II", width, height) + data[24:29]
    chunk = b"IHDR" + ihdr
    return data[:8] + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk)) + data[33:]


def test_the_recipe_rides_in_the_png_and_comes_back():
    image = np.arange(3 * 8 * 8, dtype=np.uint8).reshape(3, 8, 8)
    data = pngmeta.encode(image, RECIPE)
    assert data == pngmeta.encode(image, RECIPE)  # same pixels and recipe, same bytes
    assert pngmeta.recipe_from_upload(data) == RECIPE
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(data))).transpose(2, 0, 1), image)


def test_a_json_recipe_file_is_read_too():
    assert pngmeta.recipe_from_upload(json.dumps(RECIPE).encode()) == RECIPE


@pytest.mark.parametrize("data,status,named", [
    (png_of(4, 4), 422, "without a gankit recipe"),
    (png_of(4, 4, text="{not json"), 422, "neither a studio PNG nor a JSON recipe"),
    (b"[1, 2]", 422, "a recipe is a JSON object"),
    (b"[" * 100_000, 422, "JSON nested too deeply"),
    (b"\xff\xfe garbage", 422, "neither a studio PNG nor a JSON recipe"),
    (pngmeta.PNG_SIGNATURE + b"\x00" * 40, 422, "not a readable image"),
    (b" " * (pngmeta.MAX_BYTES + 1), 413, "the limit is"),
    (png_of(4097, 4097), 413, "pixels; the limit is"),
    (claiming(100_000, 100_000), 413, "decompression bomb"),
    (png_of(4, 4, text="x" * (2 * 1024 * 1024), zipped=True), 413, "decompresses to too much"),
])
def test_bad_uploads_are_refused_with_their_status(data, status, named):
    with pytest.raises(UploadError, match=named) as e:
        pngmeta.recipe_from_upload(data, "file")
    assert e.value.status == status and str(e.value).startswith("file")


def test_pillows_bomb_guard_is_an_error_not_a_warning(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(UploadError, match="decompression bomb") as e:
        pngmeta.open_image(png_of(12, 12))  # 144 pixels: over Pillow's limit, under twice it (a mere warning)
    assert e.value.status == 413
