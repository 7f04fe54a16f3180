"""What every data source hands the trainer: images in memory, or a point sampler."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


class DataError(ValueError):
    """Bad data input; the message names the file, flag or value at fault."""


@dataclass
class ImageData:
    """A whole image dataset as one uint8 tensor [N, C, H, W], so training never decodes files.

    ``skipped`` lists (path, reason) for every input file that was not used.
    """

    images: torch.Tensor
    labels: torch.Tensor | None = None
    class_names: list[str] | None = None
    name: str = ""
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self):
        if self.images.dtype != torch.uint8 or self.images.ndim != 4:
            raise DataError(f"{self.name or 'images'}: expected uint8 [N, C, H, W], got {self.images.dtype} {tuple(self.images.shape)}")
        if self.labels is not None and len(self.labels) != len(self.images):
            raise DataError(f"{self.name}: {len(self.labels)} labels for {len(self.images)} images")

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
