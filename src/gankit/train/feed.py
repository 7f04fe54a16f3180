"""Real batches straight from device memory: no loader workers, no per-step decoding, its own RNG for exact resume."""

from __future__ import annotations

import torch

from gankit.data import ImageData, Mixture
from gankit.recipes.base import DataInfo
from gankit.train import rng


class ImageFeed:
    """Shuffled epochs over a uint8 image tensor kept on the training device; light augmentation on the device.

    ``batch`` is the global batch: with ``world`` ranks, every rank draws the same indices and random
    numbers and keeps its slice ``rank``, so N ranks together see what one process would.

    ``mask``: each batch gets one more channel, last: +1 where the image lies on its padded square, -1 on the
    padding (``data.footprint``). A flip moves it with the image; brightness and contrast leave it as it is
    (it says where the image is, not how bright).
    """

    def __init__(self, data: ImageData, batch: int, device: torch.device, seed: int,
                 flip: bool = False, brightness: float = 0.0, contrast: float = 0.0, rank: int = 0, world: int = 1,
                 mask: bool = False):
        if len(data) < batch:
            from gankit.config import ConfigError

            raise ConfigError(f"--batch {batch} is larger than the dataset ({len(data)} images in {data.name}); lower --batch")
        if mask and data.footprint is None:
            from gankit.config import ConfigError

            raise ConfigError(f"data.mask=true: {data.name} was read without the images' footprints")
        self.images = data.images.to(device)
        self.mask = data.footprint.to(device) if mask else None
        self.labels = data.labels.to(device) if data.labels is not None else None
        self.batch, self.device = batch, device
        self.flip, self.brightness, self.contrast = flip, brightness, contrast
        self.generator = torch.Generator(device).manual_seed(seed)
        self.perm = torch.randperm(len(self.images), generator=self.generator, device=device)
        self.pos = 0
        self.rank, self.world = rank, world
        self.mine = _slice(batch, rank, world)
        self.channels_last = False  # the trainer sets it with fast.channels_last: batches come out NHWC
        channels, *size = data.images.shape[1:]
        self.info = DataInfo("image", (channels + (1 if mask else 0), *size), data.num_classes, len(self.images),
                             mask=bool(mask))

    def set_batch(self, batch: int) -> None:
        """A staged run's new global batch, from the next draw on (the epoch's order is kept)."""
        if len(self.images) < batch:
            from gankit.config import ConfigError

            raise ConfigError(f"a stage's batch of {batch} is larger than the dataset ({len(self.images)} images)")
        self.batch, self.mine = batch, _slice(batch, self.rank, self.world)

    def next(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self.pos + self.batch > len(self.perm):
            self.perm = torch.randperm(len(self.images), generator=self.generator, device=self.device)
            self.pos = 0
        idx = self.perm[self.pos:self.pos + self.batch][self.mine]
        self.pos += self.batch
        x = self.images[idx]
        if self.mask is not None:
            x = torch.cat([x, self.mask[idx].to(x.dtype).mul_(255)], dim=1)  # 0 or 255, the image's range
        if self.channels_last:  # reorder the uint8 batch, a quarter of the bytes of the float one
            x = x.contiguous(memory_format=torch.channels_last)
        x = x.float().div_(255.0)
        x = self._augment(x)
        return x.mul_(2.0).sub_(1.0), (self.labels[idx] if self.labels is not None else None)

    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        """Flip, brightness and contrast on [0, 1] images, one random draw per image of the global batch; a mask
        channel is flipped with its image and left out of the rest, and the padding it marks keeps its level, the
        one a masked G composes its images over (``content_mask``)."""
        if self.flip:
            x = torch.where(self._uniform() < 0.5, x.flip(-1), x)
        if not (self.brightness or self.contrast):
            return x
        image = x[:, :-1] if self.mask is not None else x
        if self.brightness > 0:
            image = image * (1 + (self._uniform() * 2 - 1) * self.brightness)
        if self.contrast > 0:
            mean = image.mean(dim=(1, 2, 3), keepdim=True)
            image = (image - mean) * (1 + (self._uniform() * 2 - 1) * self.contrast) + mean
        image = image.clamp_(0.0, 1.0)
        if self.mask is None:
            return image
        x[:, :-1] = torch.where(x[:, -1:] > 0.5, image, x[:, :-1])
        return x

    def _uniform(self) -> torch.Tensor:
        return torch.rand((self.batch, 1, 1, 1), generator=self.generator, device=self.device)[self.mine]

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state(), "perm": self.perm.cpu(), "pos": self.pos}

    def load_state_dict(self, state: dict, fallback_seed: int = 0) -> bool:
        """False when the generator's state came from another kind of device and was replaced by a fresh seed."""
        self.perm = state["perm"].to(self.device)
        self.pos = state["pos"]
        return rng.restore_generator(self.generator, state["generator"], fallback_seed)


class PointFeed:
    """Fresh draws from a 2-D mixture every batch."""

    def __init__(self, mixture: Mixture, batch: int, device: torch.device, seed: int, rank: int = 0, world: int = 1):
        self.mixture, self.batch, self.device = mixture, batch, device
        self.rank, self.world = rank, world
        self.mine = _slice(batch, rank, world)
        self.generator = torch.Generator(device).manual_seed(seed)
        self.info = DataInfo("points", (2,), mixture.num_modes)

    def set_batch(self, batch: int) -> None:
        self.batch, self.mine = batch, _slice(batch, self.rank, self.world)

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Points and their mode index (the label conditional recipes use)."""
        x, k = self.mixture.sample_with_modes(self.batch, self.generator, self.device)
        return x[self.mine], k[self.mine]

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict, fallback_seed: int = 0) -> bool:
        return rng.restore_generator(self.generator, state["generator"], fallback_seed)


def _slice(batch: int, rank: int, world: int) -> slice:
    """This rank's share of a global batch."""
    if batch % world:
        from gankit.config import ConfigError

        raise ConfigError(f"--batch {batch}: must be divisible by the number of processes ({world})")
    local = batch // world
    return slice(rank * local, (rank + 1) * local)


def make_feed(data, batch: int, device: torch.device, seed: int, cfg: dict, rank: int = 0, world: int = 1):
    if isinstance(data, Mixture):
        return PointFeed(data, batch, device, seed, rank, world)
    return ImageFeed(data, batch, device, seed, flip=cfg["data.flip"], brightness=cfg["data.brightness"],
                     contrast=cfg["data.contrast"], rank=rank, world=world, mask=bool(cfg.get("data.mask", False)))
