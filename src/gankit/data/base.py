"""What every data source hands the trainer: images in memory, or a point sampler."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


class DataError(ValueError):
    """Bad data input; the message names the file, flag or value at fault."""


@dataclass
class ImageData:
    """A whole image dataset as one uint8 tensor [N, C, H, W], so training never decodes files.

    ``skipped`` lists (path, reason) for every input file that was not used. ``footprint`` (bool [N, 1, H, W],
    when asked for) marks where each image lies on its padded square, False on the padding. ``notes`` are lines
    that say what the loader chose (the padding canvas, the pad value) or changed (images scaled down to fit);
    ``chosen`` holds those choices as config keys, so that a run records them.
    """

    images: torch.Tensor
    labels: torch.Tensor | None = None
    class_names: list[str] | None = None
    name: str = ""
    skipped: list[tuple[str, str]] = field(default_factory=list)
    footprint: torch.Tensor | None = None
    notes: list[str] = field(default_factory=list)
    chosen: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.images.dtype != torch.uint8 or self.images.ndim != 4:
            raise DataError(f"{self.name or 'images'}: expected uint8 [N, C, H, W], got {self.images.dtype} {tuple(self.images.shape)}")
        if self.labels is not None and len(self.labels) != len(self.images):
            raise DataError(f"{self.name}: {len(self.labels)} labels for {len(self.images)} images")
        if self.footprint is not None and (self.footprint.dtype != torch.bool or
                                           self.footprint.shape != (len(self.images), 1, *self.images.shape[2:])):
            raise DataError(f"{self.name}: a footprint of {self.footprint.dtype} {tuple(self.footprint.shape)} for "
                            f"images of {tuple(self.images.shape)}")

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def channels(self) -> int:
        return self.images.shape[1]

    @property
    def resolution(self) -> int:
        return self.images.shape[-1]

    @property
    def num_classes(self) -> int:
        return len(self.class_names) if self.class_names else 0

    def subset(self, n: int | None, seed: int = 0) -> "ImageData":
        """``n`` of the images with their labels (all if None or more), the same ones for the same seed: drawn at
        random, because a folder is stored class by class and its first ``n`` images would be a few classes only."""
        if n is None or n >= len(self):
            return self
        return self._take(_permutation(len(self), seed)[:n].sort().values, self.name)

    def split(self, held_out: float, seed: int = 0) -> tuple["ImageData", "ImageData"]:
        """(the rest, a held-out share) drawn at random with ``seed``: a test set for data that has no split."""
        perm = _permutation(len(self), seed)
        cut = max(1, int(len(self) * held_out))
        return self._take(perm[cut:], self.name), self._take(perm[:cut], f"{self.name} (held out)")

    def _take(self, index: torch.Tensor, name: str) -> "ImageData":
        return ImageData(self.images[index], None if self.labels is None else self.labels[index], self.class_names,
                         name, footprint=None if self.footprint is None else self.footprint[index])

    def skipped_report(self, stop_hint: str) -> list[str]:
        """One line per file left out and a total, so no command drops a user's files without a word."""
        if not self.skipped:
            return []
        return ([f"skipped {path}: {reason}" for path, reason in self.skipped]
                + [f"{len(self.skipped)} file(s) skipped, {len(self)} used ({stop_hint} stops instead)"])


def _permutation(n: int, seed: int) -> torch.Tensor:
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed))
