"""PNGs that carry their recipe: the settings that drew an image ride in a tEXt chunk named "gankit", so a
downloaded image dropped back onto the page draws itself again. Uploads are read under limits (bytes, pixels,
Pillow's decompression-bomb guard): an upload is a stranger's file."""

from __future__ import annotations

import io
import json
import warnings

import numpy as np

CHUNK = "gankit"
MAX_BYTES = 8 * 1024 * 1024  # an upload (and any request body) larger than this is refused with 413
MAX_PIXELS = 4096 * 4096  # an image with more pixels is refused before it is decoded
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class UploadError(ValueError):
    """An upload refused; ``status`` is the HTTP status (413 too large, 422 unusable), the message names why."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def encode(image: np.ndarray, recipe: dict | None = None) -> bytes:
    """PNG bytes of a uint8 [C, H, W] image, with ``recipe`` as JSON in the "gankit" tEXt chunk. The same
    pixels and recipe give the same bytes."""
    from PIL import Image, PngImagePlugin

    array = image[0] if image.shape[0] == 1 else np.ascontiguousarray(image.transpose(1, 2, 0))
    info = PngImagePlugin.PngInfo()
    if recipe is not None:
        info.add_text(CHUNK, json.dumps(recipe, separators=(",", ":")))
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG", pnginfo=info, compress_level=6)
    return buf.getvalue()


def open_image(data: bytes, max_pixels: int = MAX_PIXELS, what: str = "file"):
    """A decoded PIL image of uploaded bytes: more than ``max_pixels`` (by the header, before decoding) or a
    decompression bomb is 413; bytes that are no image are 422."""
    from PIL import Image

    if len(data) > MAX_BYTES:
        raise UploadError(413, f"{what}: {len(data):,} bytes; the limit is {MAX_BYTES:,}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > max_pixels:
                raise UploadError(413, f"{what}: {width}x{height} pixels; the limit is {max_pixels:,} pixels")
            image.load()
    except UploadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise UploadError(413, f"{what}: refused as a decompression bomb ({e})") from None
    except ValueError as e:  # Pillow's own limit on text chunks ("Decompressed Data Too Large") among them
        if "too large" in str(e).lower():
            raise UploadError(413, f"{what}: a chunk decompresses to too much data ({e})") from None
        raise UploadError(422, f"{what}: not a readable image ({e})") from None
    except Exception as e:  # noqa: BLE001 - whatever Pillow makes of a stranger's bytes, it is no usable image
        raise UploadError(422, f"{what}: not a readable image ({type(e).__name__}: {e})") from None
    return image


def recipe_from_upload(data: bytes, what: str = "file") -> dict:
    """The recipe of an uploaded studio PNG (its "gankit" chunk) or of a JSON recipe file."""
    if len(data) > MAX_BYTES:
        raise UploadError(413, f"{what}: {len(data):,} bytes; the limit is {MAX_BYTES:,}")
    if data.startswith(PNG_SIGNATURE):
        text = open_image(data, what=what).info.get(CHUNK)
        if text is None:
            raise UploadError(422, f"{what}: a PNG without a gankit recipe (no '{CHUNK}' text chunk); only images "
                                   "downloaded from the studio carry one")
        what = f"{what}: its '{CHUNK}' chunk"
    else:
        text = data
    try:
        recipe = json.loads(text)
    except (ValueError, UnicodeDecodeError) as e:
        raise UploadError(422, f"{what}: neither a studio PNG nor a JSON recipe ({e})") from None
    except RecursionError:
        raise UploadError(422, f"{what}: JSON nested too deeply") from None
    if not isinstance(recipe, dict):
        raise UploadError(422, f"{what}: a recipe is a JSON object, not {type(recipe).__name__}")
    return recipe
