"""Build a small, deliberately messy image folder: good images in several modes plus bad files.

Used by tests/data/test_folder.py, and meant to be reused by a tutorial. Every good image is
grey (channels equal), so the folder loads with one channel; sizes are 50..100 px.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw


def _disc(size: tuple[int, int], shade: int, background: int = 0) -> Image.Image:
    image = Image.new("L", size, background)
    ImageDraw.Draw(image).ellipse((4, 4, size[0] - 5, size[1] - 5), fill=shade)
    return image


def _bar(size: tuple[int, int], shade: int, background: int = 0) -> Image.Image:
    image = Image.new("L", size, background)
    w, h = size
    ImageDraw.Draw(image).rectangle((w // 4, 2, w - w // 4 - 1, h - 3), fill=shade)
    return image


def _write_good(root: Path) -> list[Path]:
    """One valid image per interesting mode, in class folders round/ and long/."""
    files = {}

    files["round/grey_L.png"] = _disc((60, 60), 200)

    # RGBA: grey disc, opaque; everything around it fully transparent, plus a half-transparent stripe.
    disc = np.asarray(_disc((80, 50), 180))
    alpha = np.where(disc > 0, 255, 0).astype(np.uint8)
    alpha[:, :6] = 128
    rgba = np.dstack([disc, disc, disc, alpha])
    files["round/transparent_RGBA.png"] = Image.fromarray(rgba, "RGBA")

    # Palette with grey entries and a transparent index (0).
    palette_image = _disc((70, 90), 2).convert("P")
    palette_image.putpalette([0, 0, 0, 255, 255, 255, 120, 120, 120] + [0, 0, 0] * 253)
    palette_image.info["transparency"] = 0
    files["round/palette_P.png"] = palette_image

    files["round/bilevel_1.png"] = _disc((64, 64), 255).convert("1")

    # 16-bit grey: a bar at 65535 (-> 255) and a band at 32896 (-> 128).
    sixteen = (np.asarray(_bar((100, 55), 1), dtype=np.uint16) * 65535)
    sixteen[:5, :] = 32896
    files["long/grey16_I16.png"] = Image.fromarray(sixteen)

    files["long/grey_rgb.jpg"] = _bar((50, 75), 230).convert("RGB")

    written = []
    for relative, image in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(path, quality=95) if path.suffix == ".jpg" else image.save(path)  # P keeps info["transparency"]
        written.append(path)
    return written


def _write_bad(root: Path) -> dict[Path, str]:
    """Files that must be skipped, with the word the skip reason should contain."""
    noise = np.random.default_rng(0).integers(0, 256, (80, 80), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, "PNG")
    png = buffer.getvalue()
    bad = {
        root / "round" / "empty.png": (b"", "empty"),
        root / "long" / "notes.txt": (b"Cells imaged on 2024-05-01, 40x objective.\n", "not an image"),
        root / "round" / "fake.png": (b"this is not really a PNG\n", "not an image"),
        root / "long" / "truncated.png": (png[: len(png) // 2], "truncated"),
    }
    for path, (content, _) in bad.items():
        path.write_bytes(content)
    return {path: why for path, (_, why) in bad.items()}


def make_fixture_folder(root: Path) -> dict:
    """Write the fixture under ``root`` and describe it.

    Returns a dict with ``root``, ``good`` (image paths), ``bad`` (paths that must be skipped),
    ``bad_reasons`` (path -> word expected in its skip reason), ``hidden`` (ignored silently)
    and ``classes`` (the subfolder names, sorted).
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    good = _write_good(root)
    bad_reasons = _write_bad(root)
    hidden = [root / ".DS_Store", root / "round" / ".thumbnail.png"]
    for path in hidden:
        path.write_bytes(b"\x00hidden")
    return {
        "root": root,
        "good": sorted(good),
        "bad": sorted(bad_reasons),
        "bad_reasons": bad_reasons,
        "hidden": hidden,
        "classes": ["long", "round"],
    }
