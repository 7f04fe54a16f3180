"""A folder of image files, decoded once into a uint8 tensor [N, C, R, R].

Every file under the folder (recursively, any extension, sorted, links followed, each folder
once) is tried; hidden files and folders (name starting with '.') are ignored. Files that cannot
be decoded are skipped and listed with a reason in ``ImageData.skipped`` (or, with ``strict=True``,
stop the load), and so are entries that hold no file to read: links to nothing or looping,
pipes and devices, unreadable folders, empty folders named like an image file.

Pixel values are brought to 8 bits per channel:

* 16-bit integer images (``I;16*``) are divided by 257, so 65535 -> 255 whatever the image's
  own maximum: a dim image stays dim. 32-bit integer images (``I``) use 16 bits when the TIFF
  tag says so or every value fits in 0..65535 (e.g. 16-bit PNG/PGM opened as ``I``), otherwise
  they are scaled by 2**31 - 1 (Pillow's ``I`` is signed); negative values become 0.
* Float images (``F``): values within 0..1 are multiplied by 255; values within 0..255 are
  used as they are; otherwise the image is min-max scaled to 0..255. NaN becomes 0.
* Alpha (LA, RGBA, palettes with transparency) is composited onto a grey background of
  ``pad_value`` when one is given (the value the ``pad`` policy fills with), else onto black; the padding
  chosen from the images' borders then matches what their transparent edges became.

With ``size_policy="pad"`` and no canvas or pad value given, both are chosen from the images (see
``choose_canvas`` and ``border_level``) and said in ``ImageData.notes``; what was chosen is in
``ImageData.chosen``, so that a run can record it and read the folder the same way again.

Memory and time follow the training size, not the file's: with a resolution (or a pad canvas) known,
each image is decoded small where the format allows (JPEG's draft mode) and box-reduced right after
decoding to about three times the size it is needed at, before the Lanczos resize; a pad canvas is
never built at the size of the largest image. Images above Pillow's decompression-bomb warning size
load this way without the warning; above its error size they are skipped with the reason.
"""

from __future__ import annotations

import errno
import math
import os
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from gankit.data.base import DataError, ImageData

SIZE_POLICIES = ("pad", "crop", "resize")
RESAMPLE = Image.Resampling.LANCZOS
REDUCING_GAP = 3.0  # Pillow: "with reducing_gap >= 3.0 the result is indistinguishable from fair resampling"


@dataclass
class _Decoded:
    path: Path
    pixels: np.ndarray  # uint8, [H, W] grey or [H, W, 3] colour; reduced when a smaller size is all that is needed
    size: tuple[int, int]  # (width, height) of the upright image in the file, before any reduction

    @property
    def is_grey(self) -> bool:
        """True for grey pixels, including RGB with equal channels (grey JPEGs are often saved as RGB)."""
        p = self.pixels
        return p.ndim == 2 or bool((p[..., 0] == p[..., 1]).all() and (p[..., 1] == p[..., 2]).all())


class _BadFile(Exception):
    """A file that is not a usable image; the message is the reason shown to the user."""


def load_folder(path, resolution: int | None = None, size_policy: str = "pad", channels: int | None = None,
                canvas: int | None = None, pad_value: int | tuple[int, ...] | None = None, strict: bool = False,
                mask: bool = False) -> ImageData:
    """Load every decodable image under ``path`` at a square ``resolution``.

    size_policy: ``pad`` centres each image undistorted on a square canvas filled with ``pad_value``, then
    resizes the canvas to ``resolution`` (default: the canvas side), so relative sizes between images survive.
    The canvas side is ``canvas``; None chooses it from the images' sizes (``choose_canvas``), 0 takes the
    largest image's (what runs recorded before the choice). An image larger than the canvas is scaled down
    alone, undistorted, to fit, and named in ``notes``. ``pad_value``: a grey level 0..255 (or one per
    channel); None: the median of the images' border pixels per channel (``border_level``), black for
    ``crop`` and ``resize``. ``mask``: also return each image's footprint on its canvas (``footprint``).
    ``crop`` scales the shorter side to ``resolution`` and centre-crops; ``resize`` stretches.
    channels: 1, 3, or None for 1 when every image is grey, else 3.
    Labels come from subfolder names when every image sits in a subfolder of ``path``.
    """
    root = Path(path)
    _check_arguments(root, resolution, size_policy, channels, canvas, pad_value)
    if mask and size_policy != "pad":
        raise DataError(f"data.mask=true marks the padding of size_policy=pad; with size_policy={size_policy} "
                        f"every pixel is the image's (use --set data.size_policy=pad)")
    alpha_on = 0 if pad_value is None else pad_value if isinstance(pad_value, int) else round(float(np.mean(pad_value)))
    decoded, skipped = _decode_all(root, alpha_on, strict, _needed_size(size_policy, resolution, canvas))
    if not decoded:
        raise DataError(_nothing_usable(root, skipped))
    labels, class_names = _labels_from_subfolders(root, [d.path for d in decoded])
    for empty in _classes_left_out(root, class_names):
        if shown(empty) not in {path for path, _ in skipped}:  # an empty folder named like an image is named already
            _skip(skipped, empty, "a class folder without usable images: it is no class of this dataset", strict)
    channels = channels or (1 if all(d.is_grey for d in decoded) else 3)
    pictures = [_to_channels(d.pixels, channels) for d in decoded]
    sizes = [d.size for d in decoded]
    notes, chosen, boxes, side = [], {}, None, None
    if size_policy == "pad":
        side, pad_value = _pad_choices(path, root, decoded, pictures, resolution, canvas, pad_value, notes, chosen)
        pictures, boxes = _pad_all(pictures, sizes, side, resolution or side, _fill(pad_value, channels))
    else:
        pictures = _apply_size_policy(pictures, size_policy, resolution)
    stacked = np.stack([np.asarray(p).reshape(p.height, p.width, -1) for p in pictures])
    return ImageData(
        images=torch.from_numpy(stacked).permute(0, 3, 1, 2).contiguous(),
        labels=labels,
        class_names=class_names,
        name=f"folder:{path}",
        skipped=skipped,
        footprint=_footprints(boxes, resolution or side) if mask else None,
        notes=notes,
        chosen=chosen,
    )


def _pad_choices(path, root: Path, decoded: list[_Decoded], pictures: list[Image.Image], resolution: int | None,
                 canvas: int | None, pad_value, notes: list[str], chosen: dict):
    """(canvas side, pad value) for the ``pad`` policy: the ones given, else chosen from the images; each choice
    goes into ``chosen`` (as its config key) and ``notes`` (a line that says it), and so does every image larger
    than the canvas, which is scaled down alone to fit it."""
    sides = [max(d.size) for d in decoded]
    if resolution is None and not canvas:  # chosen from the images: a huge one could make it huge
        _check_auto_canvas(decoded, choose_canvas(sides) if canvas is None else max(sides))
    if canvas is None:
        canvas = chosen["data.canvas"] = choose_canvas(sides)
        notes.append(f"{path}: padding canvas {canvas} px, the smallest square that holds {CANVAS_SHARE_PERCENT}% of "
                     f"the images unscaled (longer sides {min(sides)} to {max(sides)} px; --set data.canvas=N "
                     f"chooses another)")
    side = canvas or max(sides)
    larger = [d for d in decoded if max(d.size) > side]
    if larger:
        named = ", ".join(f"{shown(d.path.relative_to(root))} ({d.size[0]}x{d.size[1]})" for d in larger[:5])
        more = f" and {len(larger) - 5} more" if len(larger) > 5 else ""
        notes.append(f"{path}: {len(larger)} of {len(decoded)} images are larger than the {side}-pixel canvas and "
                     f"were scaled down alone to fit it: {named}{more}")
    if pad_value is None:
        level = border_level(pictures)
        pad_value = chosen["data.pad_value"] = level[0] if len(level) == 1 else list(level)
        notes.append(f"{path}: padding with {_level_text(level)}, the median of the images' border pixels "
                     f"(--set data.pad_value=N chooses another grey level)")
    return side, pad_value


CANVAS_SHARE_PERCENT = 90  # of the images that the chosen canvas holds unscaled


def choose_canvas(sides: list[int]) -> int:
    """The padding canvas's side for images whose longer sides are ``sides``: the smallest of those sides that at
    least 90% of the images fit in unscaled (the 90th percentile, taken as a side that occurs).

    Uniform sizes give their size; a few outliers (up to a tenth of the images) no longer set it, as the largest
    image did: one 114-pixel crop among 32 to 70-pixel ones made every other cell a third of the canvas. The
    outliers are scaled down alone to fit, and named. Fewer than ten images: the largest (no tenth to leave out).
    """
    ordered = sorted(sides)
    return ordered[max(0, (CANVAS_SHARE_PERCENT * len(ordered) + 99) // 100 - 1)]


def border_level(pictures: list[Image.Image]) -> tuple[int, ...]:
    """Per channel, the median over the images of each one's border level (the median of its outermost ring of
    pixels): the background that crops cut from larger pictures stand on, so the padding around them looks like
    more of it (black padding around crops on a grey background draws a frame a generator learns to copy).
    Each image has one vote, whatever its size (or the size it was decoded at)."""
    levels = []
    for picture in pictures:
        p = np.asarray(picture).reshape(picture.height, picture.width, -1)
        levels.append(np.median(np.concatenate([p[0], p[-1], p[:, 0], p[:, -1]]), axis=0))
    return tuple(int(np.rint(v)) for v in np.median(np.stack(levels), axis=0))


def _level_text(level) -> str:
    level = tuple(level) if not isinstance(level, int) else (level,)
    return f"grey {level[0]}" if len(set(level)) == 1 else f"colour {tuple(level)}"


def _fill(pad_value, channels: int):
    """A pad value (a grey level, or one per channel) as the fill of a Pillow image of ``channels``."""
    levels = (pad_value,) * channels if isinstance(pad_value, int) else tuple(pad_value)
    if len(levels) != channels:
        if len(set(levels)) != 1:
            raise DataError(f"pad_value {list(pad_value)}: {len(levels)} levels for images of {channels} channel(s)")
        levels = levels[:1] * channels
    return levels[0] if channels == 1 else levels


def _check_arguments(root: Path, resolution, size_policy, channels, canvas, pad_value) -> None:
    """Fail before decoding anything, naming the bad argument."""
    if not root.exists():
        raise DataError(f"image folder {root} does not exist")
    if not root.is_dir():
        raise DataError(f"{root} is not a folder")
    if size_policy not in SIZE_POLICIES:
        raise DataError(f"size_policy {size_policy!r}: expected one of {', '.join(SIZE_POLICIES)}")
    if size_policy != "pad" and resolution is None:
        raise DataError(f"size_policy {size_policy!r} needs a resolution to crop or resize to "
                        f"(--set data.resolution=N)")
    for name, value, low in (("resolution", resolution, 1), ("canvas", canvas, 0)):
        if value is not None and (not isinstance(value, int) or value < low):
            raise DataError(f"{name} {value!r}: expected a positive integer")
    if channels not in (None, 1, 3):
        raise DataError(f"channels {channels!r}: expected 1, 3 or None (automatic)")
    levels = [pad_value] if pad_value is None or isinstance(pad_value, int) else list(pad_value)
    if pad_value is not None and (len(levels) not in (1, 3) or any(
            isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 255 for v in levels)):
        raise DataError(f"pad_value {pad_value!r}: expected an integer 0..255 (or one per channel)")


AUTO_RESOLUTION_CAP = 64  # the largest size chosen without data.resolution: DCGAN's, quick to train on a CPU
AUTO_RESOLUTION_FLOOR = 8


def choose_resolution(path, size_policy: str = "pad", canvas: int | None = None) -> tuple[int | None, str]:
    """The square size to train a folder at when none is given, and the line that says so (None: no image read).

    Images of one size up to ``AUTO_RESOLUTION_CAP`` keep it. Mixed sizes train at a side the size policy scales
    to the training size, rounded to the nearest power of two, within 8..64: for ``pad`` the canvas (``canvas``,
    else the one ``choose_canvas`` picks; 0: the largest image), which is what is drawn at that size; for
    ``crop`` and ``resize`` the median of the shorter (crop) or longer sides. The largest image would set a size
    that memory and time follow squared (a folder of 20 to 300 px photos trained at 300x300, 530 s a step),
    while most images hold no detail at that size. Only the files' headers are read.
    """
    files, _ = _walk(Path(path))
    sides = []
    for file in files:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                with Image.open(file) as image:
                    sides.append(min(image.size) if size_policy == "crop" else max(image.size))
        except Exception:  # not an image, or unreadable: the loader names it
            continue
    if not sides:
        return None, ""
    median = float(np.median(sides))
    low, high = min(sides), max(sides)
    side = (canvas or (high if canvas == 0 else choose_canvas(sides))) if size_policy == "pad" else None
    if low == high and low <= AUTO_RESOLUTION_CAP and side in (None, low):
        return low, f"{path}: every image is {low} px; training at {low}x{low}"
    which = "shorter" if size_policy == "crop" else "longer"
    basis, what = (median, "the median") if side is None else (side, f"the padding canvas ({side} px)")
    chosen = int(min(AUTO_RESOLUTION_CAP, max(AUTO_RESOLUTION_FLOOR, 2 ** round(math.log2(max(basis, 1))))))
    return chosen, (f"{path}: images of {low} to {high} px ({which} side, median {median:g}); training at "
                    f"{chosen}x{chosen}, {what}'s nearest power of two within {AUTO_RESOLUTION_FLOOR}.."
                    f"{AUTO_RESOLUTION_CAP} (--set data.resolution=N chooses another size)")


MAX_AUTO_SIDE = 1024  # above this, padding to the largest image needs a resolution chosen on purpose


def _check_auto_canvas(decoded: list[_Decoded], side: int) -> None:
    """Without a resolution the images are drawn at the canvas's size: a huge canvas would make every image that big."""
    if side <= MAX_AUTO_SIDE:
        return
    largest = min((d for d in decoded if max(d.size) >= side), key=lambda d: max(d.size))
    width, height = largest.size
    raise DataError(f"{shown(largest.path)} ({width}x{height}) would make every image a {side}-pixel "
                    f"square canvas; choose the training size with --set data.resolution=N (and data.canvas "
                    f"for the padding canvas), or leave that file out")


def shown(path: Path) -> str:
    """A path as text any terminal can print: bytes that are not UTF-8 in a file name appear as \\xNN."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _walk(root: Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Every non-hidden file below ``root`` in a fixed order, and (path, reason) for each entry that is no file to read.

    Links to folders are followed (a folder of links to class folders is a common layout), each folder once, so a
    link loop ends; links to nothing, links that loop, pipes and devices, unreadable folders and empty folders named
    like image files are all named, never passed over without a word.
    """
    files: list[Path] = []
    problems: list[tuple[Path, str]] = []
    read = {_identity(root): root}

    def unreadable(error: OSError) -> None:
        problems.append((Path(error.filename), "cannot read this folder: its images are left out"))

    for folder, dirs, names in os.walk(root, onerror=unreadable, followlinks=True):
        folder = Path(folder)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        names = sorted(n for n in names if not n.startswith("."))
        for d in list(dirs):
            identity = _identity(folder / d)
            if identity is not None and identity in read:
                problems.append((folder / d, f"a link to {shown(read[identity])}, a folder read already (a link "
                                             "loop, or the same folder twice): left out"))
                dirs.remove(d)
            else:
                read[identity] = folder / d
        for name in names:
            kind = _file_kind(folder / name)
            if kind is None:
                files.append(folder / name)
            else:
                problems.append((folder / name, kind))
        if not dirs and not names and folder != root and folder.suffix.lower() in Image.registered_extensions():
            problems.append((folder, "a folder, not an image file (and it holds no file)"))
    key = lambda p: p.relative_to(root).parts  # noqa: E731
    return sorted(files, key=key), sorted(problems, key=lambda problem: key(problem[0]))


def _identity(folder: Path) -> tuple[int, int] | None:
    """What a folder is, whatever the path (link) it is reached by; None if it cannot be asked (the walk says why)."""
    try:
        st = folder.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _file_kind(path: Path) -> str | None:
    """None for a regular file (or a link to one); otherwise why ``path`` is not read."""
    try:
        mode = path.stat().st_mode
    except OSError as e:
        if e.errno == errno.ELOOP:
            return "a symbolic link that loops (it leads back to itself): no file to read"
        if path.is_symlink():
            return f"a symbolic link to {shown(Path(os.readlink(path)))}, which does not exist"
        return f"cannot read: {e.strerror}"
    if stat.S_ISREG(mode):
        return None
    return "not a regular file (a pipe, socket or device): not read"


def _decode_all(root: Path, pad_value: int, strict: bool,
                needed: Needed | None = None) -> tuple[list[_Decoded], list[tuple[str, str]]]:
    """Decode every file (no larger than ``needed`` allows), collecting (path, reason) for the ones that fail."""
    decoded, skipped = [], []
    files, problems = _walk(root)
    for path, reason in problems:
        _skip(skipped, path, reason, strict)
    for file in files:
        try:
            decoded.append(_Decoded(file, *_decode_bounded(file, pad_value, needed)))
        except _BadFile as e:
            _skip(skipped, file, str(e), strict)
    return decoded, skipped


def _skip(skipped: list[tuple[str, str]], path: Path, reason: str, strict: bool) -> None:
    """Record ``path`` as left out with its reason, or in strict mode stop, naming it."""
    if strict:
        raise DataError(f"{shown(path)}: {reason} (strict mode; without it, it is skipped)")
    skipped.append((shown(path), reason))


def _nothing_usable(root: Path, skipped: list[tuple[str, str]]) -> str:
    if not skipped:
        return f"image folder {root} holds no image files"
    first, reason = skipped[0]
    return f"image folder {root}: none of its {len(skipped)} files is a usable image (e.g. {first}: {reason})"


Needed = Callable[[int, int], tuple[float, float]]  # (width, height) in the file -> the largest size used


def _needed_size(policy: str, resolution: int | None, canvas: int | None) -> Needed | None:
    """For an image of (width, height), the largest size the size policy will draw it at; None: its full size.

    ``pad`` draws an image at out / max(canvas, width, height) of its size, at most out / max(width, height),
    whatever the other images are; ``crop`` at resolution / min(width, height); ``resize`` at resolution square.
    """
    if policy == "resize":
        return lambda width, height: (resolution, resolution)
    if policy == "crop":
        return lambda width, height: (width * resolution / min(width, height), height * resolution / min(width, height))
    out = resolution or canvas
    if out is None:
        return None
    return lambda width, height: (width * out / max(width, height), height * out / max(width, height))


def _reduction(size: tuple[int, int], target: tuple[float, float]) -> tuple[int, int]:
    """Whole factors per axis that keep at least REDUCING_GAP times ``target``: the Lanczos resize after them is
    as good as from the full image, at the cost of the small one."""
    return tuple(max(1, side // max(1, math.ceil(want * REDUCING_GAP))) for side, want in zip(size, target))


def _decode(file: Path, pad_value: int) -> np.ndarray:
    """Open and fully decode one file to uint8 grey [H, W] or colour [H, W, 3]."""
    return _decode_bounded(file, pad_value, None)[0]


def _decode_bounded(file: Path, pad_value: int, needed: Needed | None) -> tuple[np.ndarray, tuple[int, int]]:
    """Decode one file to uint8 pixels no larger than ``needed`` requires, and the (width, height) it has upright.

    Pillow's decompression-bomb warning is for readers that keep the whole image; this one keeps what
    ``needed`` allows, so the warning is not shown; its error (twice the size) still skips the file.
    """
    try:
        if file.stat().st_size == 0:
            raise _BadFile("empty file (0 bytes)")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(file)
    except Image.DecompressionBombError as e:
        raise _BadFile(f"too large: {e}") from None
    except UnidentifiedImageError:
        raise _BadFile(f"not an image: Pillow does not recognise the {file.suffix or 'extension-less'} file") from None
    except OSError as e:
        raise _BadFile(f"cannot read: {e}") from None
    with image:
        width, height = image.size
        target = needed(width, height) if needed else None
        try:
            if target is not None:  # JPEG decodes at 1/2, 1/4 or 1/8 scale when asked; other formats ignore it
                image.draft(None, tuple(math.ceil(want * REDUCING_GAP) for want in target))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                image.load()  # decoding is lazy: without this a truncated file would look fine
        except Image.DecompressionBombError as e:
            raise _BadFile(f"too large: {e}") from None
        except Exception as e:  # Pillow's decoders raise many exception types on corrupt data
            raise _BadFile(f"truncated or corrupt: {e}") from None
        factors = _reduction(image.size, target) if target is not None else (1, 1)
        try:
            orientation = _EXIF_ORIENTATION.get(image.getexif().get(0x0112))  # camera photos are stored sideways
            picture = image
            if factors != (1, 1) and image.mode in ("L", "RGB") and "transparency" not in image.info:
                picture, factors = image.reduce(factors), (1, 1)  # before any copy of the full-size pixels
            pixels = _to_8bit(picture, pad_value)
        except (ValueError, OSError) as e:  # e.g. a mode Pillow cannot convert to RGB
            raise _BadFile(f"unsupported image ({image.mode} mode): {e}") from None
    if factors != (1, 1):  # other modes: reduced once in 8 bits, after the scaling that needs the whole image
        pixels = np.asarray(Image.fromarray(pixels).reduce(factors))
    if orientation is not None:
        pixels = np.asarray(Image.fromarray(pixels).transpose(orientation))
        if orientation in (Image.Transpose.TRANSPOSE, Image.Transpose.TRANSVERSE, Image.Transpose.ROTATE_90,
                           Image.Transpose.ROTATE_270):
            width, height = height, width
    return pixels, (width, height)


_EXIF_ORIENTATION = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
                     4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
                     6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_90}


def _to_8bit(image: Image.Image, pad_value: int) -> np.ndarray:
    """Any Pillow mode to uint8 grey [H, W] or RGB [H, W, 3], alpha composited onto pad_value."""
    mode = image.mode
    if mode.startswith("I;16") or mode == "I":
        return _scale_integer(image)
    if mode == "F":
        return _scale_float(np.asarray(image, dtype=np.float64))
    if mode in ("P", "PA", "RGBA", "RGBa") or "transparency" in image.info:
        return _composite(np.asarray(image.convert("RGBA")), pad_value)  # RGBA honours palette transparency
    if mode in ("1", "L"):
        return np.asarray(image.convert("L"))
    if mode in ("LA", "La"):
        return _composite(np.asarray(image.convert("LA")), pad_value)
    return np.asarray(image.convert("RGB"))


def _composite(pixels: np.ndarray, pad_value: int) -> np.ndarray:
    """Blend the colour channels over a flat pad_value background using the last (alpha) channel."""
    colour = pixels[..., :-1].astype(np.float32)
    alpha = pixels[..., -1:].astype(np.float32) / 255.0
    out = np.rint(colour * alpha + pad_value * (1.0 - alpha)).astype(np.uint8)
    return out[..., 0] if out.shape[-1] == 1 else out


def _integer_bits(image: Image.Image, pixels: np.ndarray) -> int:
    """Bit depth of an integer image: from the mode or TIFF tag, else 16 if every value fits."""
    if image.mode.startswith("I;16"):
        return 16
    tiff_bits = getattr(image, "tag_v2", {}).get(258)  # BitsPerSample
    if isinstance(tiff_bits, tuple):
        tiff_bits = tiff_bits[0]
    if tiff_bits in (8, 16, 32):
        return int(tiff_bits)
    return 16 if pixels.size == 0 or pixels.max() <= 65535 else 32


def _scale_integer(image: Image.Image) -> np.ndarray:
    """16/32-bit integers to 0..255 by the bit depth (not the image's max), so dim stays dim."""
    pixels = np.asarray(image).astype(np.float64)
    full = {8: 255.0, 16: 65535.0, 32: 2.0**31 - 1}[_integer_bits(image, pixels)]
    return np.rint(np.clip(pixels, 0, full) * (255.0 / full)).astype(np.uint8)


def _scale_float(pixels: np.ndarray) -> np.ndarray:
    """Float images: 0..1 -> x255; 0..255 as is; any other range min-max scaled; NaN -> 0."""
    pixels = np.nan_to_num(pixels, nan=0.0, posinf=0.0, neginf=0.0)
    low, high = (float(pixels.min()), float(pixels.max())) if pixels.size else (0.0, 0.0)
    if low >= 0 and high <= 1:
        pixels = pixels * 255.0
    elif low < 0 or high > 255:
        pixels = (pixels - low) * (255.0 / (high - low)) if high > low else np.zeros_like(pixels)
    return np.rint(np.clip(pixels, 0, 255)).astype(np.uint8)


def _to_channels(pixels: np.ndarray, channels: int) -> Image.Image:
    """A Pillow image with the wanted channel count (L for 1, RGB for 3)."""
    image = Image.fromarray(pixels)
    return image.convert("L" if channels == 1 else "RGB")


def _apply_size_policy(images: list[Image.Image], policy: str, resolution: int) -> list[Image.Image]:
    """Bring every image to one square size by ``crop`` or ``resize`` (``pad``: ``_pad_all``)."""
    if policy == "crop":
        return [ImageOps.fit(im, (resolution, resolution), method=RESAMPLE) for im in images]
    return [im.resize((resolution, resolution), RESAMPLE, reducing_gap=REDUCING_GAP) for im in images]


Box = tuple[int, int, int, int]  # (left, top, width, height) of an image on its square


def _pad_all(images: list[Image.Image], sizes: list[tuple[int, int]], side: int, out: int,
             fill) -> tuple[list[Image.Image], list[Box]]:
    """Every image on its square (``sizes``: the images' sizes in their files; they may come reduced), and where."""
    squares = [_pad_to_square(im, size, side, out, fill) for im, size in zip(images, sizes)]
    return [square for square, _ in squares], [box for _, box in squares]


def _pad_to_square(image: Image.Image, size: tuple[int, int], side: int, out: int, fill) -> tuple[Image.Image, Box]:
    """The image centred undistorted on a side x side canvas (shrunk first if it is bigger), that canvas at out x out,
    and the box the image covers on it.

    Drawn straight at ``out``: a canvas the size of the largest image (10,000 pixels square for one long strip)
    is never made.
    """
    width, height = size
    scale = out / max(side, width, height)
    width, height = max(1, round(width * scale)), max(1, round(height * scale))
    if image.size != (width, height):
        image = image.resize((width, height), RESAMPLE, reducing_gap=REDUCING_GAP)
    square = Image.new(image.mode, (out, out), fill)
    left, top = (out - width) // 2, (out - height) // 2
    square.paste(image, (left, top))
    return square, (left, top, width, height)


def _footprints(boxes: list[Box], out: int) -> torch.Tensor:
    """bool [N, 1, out, out]: True where each image lies on its square, False on the padding."""
    marks = torch.zeros(len(boxes), 1, out, out, dtype=torch.bool)
    for mark, (left, top, width, height) in zip(marks, boxes):
        mark[0, top:top + height, left:left + width] = True
    return marks


def _classes_left_out(root: Path, class_names: list[str] | None) -> list[Path]:
    """Subfolders of ``root`` that would be classes but hold no usable image."""
    if not class_names:
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name not in class_names)


def _labels_from_subfolders(root: Path, files: list[Path]) -> tuple[torch.Tensor | None, list[str] | None]:
    """Class = first subfolder under root, only when no usable image lies at the top level."""
    parts = [f.relative_to(root).parts for f in files]
    if any(len(p) < 2 for p in parts):
        return None, None
    class_names = sorted({p[0] for p in parts})
    index = {name: i for i, name in enumerate(class_names)}
    return torch.tensor([index[p[0]] for p in parts], dtype=torch.int64), class_names
