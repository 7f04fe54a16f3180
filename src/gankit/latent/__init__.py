"""Editing a generator's latent space: attribute scores for generated images and the directions that move them.

Interpolation and truncation, which every sampler needs, live in ``gankit.sampling``.
"""


class LatentError(ValueError):
    """A direction, latent file or scorer that cannot be used; the message names the flag and the file or value."""
