"""Laplacian pyramids: 2x2 average down, bilinear up, residuals that give the image back."""

import pytest
import torch

from gankit.nets.pyramid import down, gaussian, laplacian, level_sizes, levels_down_to, reconstruct, up


@pytest.mark.parametrize("dtype, atol", [(torch.float64, 1e-12), (torch.float32, 1e-6)])
@pytest.mark.parametrize("levels", [1, 2, 4])
def test_reconstruct_inverts_laplacian(dtype, atol, levels):
    x = torch.rand(3, 2, 32, 32, generator=torch.Generator().manual_seed(0), dtype=dtype) * 2 - 1
    coarse, residuals = laplacian(x, levels)
    back = reconstruct(coarse, residuals)
    assert back.dtype == dtype and (back - x).abs().max() <= atol


def test_shapes_per_level_run_coarse_to_fine():
    x = torch.randn(2, 3, 28, 28)
    coarse, residuals = laplacian(x, 3)
    assert coarse.shape == (2, 3, 7, 7)
    assert [h.shape[-1] for h in residuals] == [14, 28] and all(h.shape[:2] == (2, 3) for h in residuals)
    assert [i.shape[-1] for i in gaussian(x, 3)] == level_sizes(28, 3) == [7, 14, 28]


def test_down_is_the_2x2_mean_and_up_keeps_a_constant_and_the_mean():
    x = torch.arange(16.0).view(1, 1, 4, 4)
    assert down(x).flatten().tolist() == [2.5, 4.5, 10.5, 12.5]
    assert torch.equal(up(torch.full((1, 1, 3, 3), 0.25)), torch.full((1, 1, 6, 6), 0.25))
    y = torch.randn(1, 1, 8, 8)
    assert up(y).shape == (1, 1, 16, 16) and torch.allclose(up(y).mean(), y.mean(), atol=0.1)
    # residuals of a smooth (linear) ramp vanish away from the border: bilinear up reproduces it there
    ramp = torch.linspace(-1, 1, 16).view(1, 1, 1, 16).expand(1, 1, 16, 16)
    _, (h,) = laplacian(ramp, 2)
    assert h[..., 2:-2].abs().max() < 1e-6 and h.abs().max() > 1e-3


def test_the_coarsest_level_is_the_image_averaged_down():
    x = torch.randn(1, 1, 16, 16)
    coarse, _ = laplacian(x, 3)
    assert torch.allclose(coarse, x.view(1, 1, 4, 4, 4, 4).mean((3, 5)), atol=1e-6)


def test_levels_down_to_eight_pixels_and_odd_sides_refused():
    assert [levels_down_to(r) for r in (8, 16, 28, 32, 64, 7)] == [1, 2, 3, 3, 4, 1]
    with pytest.raises(ValueError, match="odd"):
        level_sizes(28, 4)  # 28 -> 14 -> 7 -> cannot halve 7
    with pytest.raises(ValueError, match="even"):
        down(torch.zeros(1, 1, 7, 7))
