"""The content-mask channel in training batches: last, +1 on the image and -1 on the padding, flipped with the
image, never brightened or contrasted."""

from __future__ import annotations

import torch

from gankit.data.base import ImageData
from gankit.train.feed import ImageFeed, make_feed


def _crops(n: int = 8, side: int = 8) -> ImageData:
    """Grey images whose left half is the crop (value 200) and right half padding (value 50)."""
    images = torch.full((n, 1, side, side), 50, dtype=torch.uint8)
    images[..., :side // 2] = 200
    footprint = torch.zeros(n, 1, side, side, dtype=torch.bool)
    footprint[..., :side // 2] = True
    return ImageData(images, footprint=footprint, name="crops")


def test_the_mask_is_the_last_channel_and_follows_each_flip():
    feed = ImageFeed(_crops(), 8, torch.device("cpu"), seed=0, flip=True, mask=True)
    assert feed.info.shape == (2, 8, 8)
    flipped = 0
    for _ in range(4):
        x, _ = feed.next()
        assert x.shape == (8, 2, 8, 8) and set(x[:, 1].unique().tolist()) == {-1.0, 1.0}
        for image, mask in zip(x[:, 0], x[:, 1]):
            assert torch.equal(mask > 0, image > 0)  # the crop is bright, the padding dark, wherever the flip put them
            flipped += bool(mask[0, -1] > 0)
    assert 0 < flipped < 32  # some flipped, some not


def test_brightness_and_contrast_leave_the_mask_and_the_padding_alone():
    feed = ImageFeed(_crops(), 8, torch.device("cpu"), seed=1, brightness=0.5, contrast=0.5, mask=True)
    x, _ = feed.next()
    assert (x[:, 1, :, :4] == 1).all() and (x[:, 1, :, 4:] == -1).all()
    plain = ImageFeed(_crops(), 8, torch.device("cpu"), seed=1, brightness=0.5, contrast=0.5)
    y, _ = plain.next()
    assert y.shape == (8, 1, 8, 8) and torch.allclose(x[:, :1, :, :4], y[..., :4])  # the crops change as unmasked
    assert not torch.equal(y[:, 0, 0, 0], torch.full((8,), 200 / 127.5 - 1))  # and they did change
    assert torch.allclose(x[:, 0, :, 4:], torch.tensor(50 / 127.5 - 1))  # the padding keeps its level
    assert not torch.allclose(y[..., 4:], torch.tensor(50 / 127.5 - 1))  # which it would not without the mask


def test_the_config_key_turns_it_on():
    cfg = {"data.flip": False, "data.brightness": 0.0, "data.contrast": 0.0, "data.mask": True}
    assert make_feed(_crops(), 4, torch.device("cpu"), 0, cfg).info.shape == (2, 8, 8)
    assert make_feed(_crops(), 4, torch.device("cpu"), 0, {**cfg, "data.mask": False}).info.shape == (1, 8, 8)
