"""Editing a generator's latent space: attribute scores for generated images and the directions that move them.

Interpolation and truncation, which every sampler needs, live in ``gankit.sampling``.
"""


from pathlib import Path


class LatentError(ValueError):
    """A direction, latent file or scorer that cannot be used; the message names the flag and the file or value."""


def read_numbers(path, where: str):
    """The array of a .npy file of finite real numbers (loaded without pickles); any other file is a LatentError
    starting with ``where`` (the flag and its value)."""
    import numpy as np

    path = Path(path)
    if not path.is_file():
        raise LatentError(f"{where}: no such file {path}")
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as e:
        raise LatentError(f"{where}: {path} is not a .npy array ({e})") from None
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "iuf":
        kind = ({"U": "text", "S": "text", "b": "true/false values", "c": "complex numbers"}.get(array.dtype.kind,
                f"{array.dtype} values") if isinstance(array, np.ndarray) else "several arrays (.npz)")
        raise LatentError(f"{where}: {path} holds {kind}, not real numbers")
    if not np.isfinite(array).all():
        raise LatentError(f"{where}: {path} holds NaN or infinite values")
    return array
