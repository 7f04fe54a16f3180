"""The content-preserving image changes: each does what it says, per sample, in range, and reproducibly."""

import pytest
import torch
import torch.nn.functional as F

from gankit import nuisances as nz
from gankit.data.fashion_mnist import load_fashion_mnist


def garments(n: int = 16) -> torch.Tensor:
    return load_fashion_mnist("test").images[:n].float() / 127.5 - 1


def test_fixed_changes_do_what_their_rows_say():
    x = garments()
    assert torch.equal(nz.mirror(x), x.flip(-1))
    assert torch.allclose(nz.brightness(x, 0.1), (x + 0.1).clamp(-1, 1))
    assert torch.allclose(nz.contrast(x, 0.9, center=0.0), x * 0.9)
    m = x.mean(dim=(1, 2, 3), keepdim=True)
    assert torch.allclose(nz.contrast(x, 0.5), ((x - m) * 0.5 + m).clamp(-1, 1))
    up = F.interpolate(x, size=(64, 64), mode="bilinear", antialias=True, align_corners=False)
    assert torch.allclose(nz.resample(x, 64), F.interpolate(up, size=(28, 28), mode="bilinear", antialias=True,
                                                          align_corners=False).clamp(-1, 1))
    labels = [label for label, _ in nz.calibration_rows(28)]
    assert labels == ["mirrored", "brightness +0.1", "contrast x0.9 (about mid-grey)", "resized 28->64->28",
                      "blur sigma 0.5"]


def test_blur_takes_one_sigma_per_sample_and_zero_leaves_an_image_alone():
    x = garments(4)
    y = nz.blur(x, torch.tensor([0.0, 0.3, 0.7, 0.0]))
    assert torch.allclose(y[[0, 3]], x[[0, 3]], atol=1e-6)
    assert torch.allclose(y[1], nz.blur(x[1:2], 0.3)[0], atol=1e-6)  # the batch does not mix samples
    assert (y[2] - x[2]).abs().mean() > (y[1] - x[1]).abs().mean() > 0
    assert torch.allclose(y.mean(dim=(1, 2, 3)), x.mean(dim=(1, 2, 3)), atol=0.02)  # light kept, only spread


def test_random_nuisances_are_per_sample_in_range_and_fixed_by_the_seed():
    x = garments(64)
    for name in nz.NAMES:
        a = nz.randomize(x, (name,), torch.Generator().manual_seed(1))
        b = nz.randomize(x, (name,), torch.Generator().manual_seed(1))
        assert torch.equal(a, b), name
        assert a.min() >= -1 and a.max() <= 1, name
        changed = (a - x).flatten(1).abs().amax(1) > 1e-6
        if name == "shift":  # one shift for the whole batch (it may draw none)
            continue
        assert 0.2 < changed.float().mean() < 0.8, (name, changed.float().mean())  # some samples, not all
    assert torch.equal(nz.randomize(x, (), torch.Generator().manual_seed(1)), x)


def test_names_are_parsed_and_unknown_ones_named():
    assert nz.parse("flip,blur,flip") == ("flip", "blur")
    assert nz.parse("none") == ()
    with pytest.raises(ValueError, match="--nuisances flip,rotate: unknown rotate; use any of flip,shift,"):
        nz.parse("flip,rotate")
