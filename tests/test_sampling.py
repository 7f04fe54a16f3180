"""Latent walks: interpolation endpoints, the norm profiles of lerp and slerp, truncation, paths and GIFs."""

import math

import pytest
import torch
from PIL import Image

from gankit import nets
from gankit.inference import render
from gankit.sampling import enlarge, latents, lerp, save_gif, slerp, truncate, walk_path


def pair(d=64, seed=0, scale=(1.0, 1.0)):
    z = latents(2, d, seed).double()
    return z[0] * scale[0], z[1] * scale[1]


def test_interpolation_endpoints_reproduce_the_endpoint_images():
    torch.manual_seed(0)
    G = nets.build("dcgan-g", z_dim=16, img_resolution=16, img_channels=1, width=4).eval()
    with torch.no_grad():  # larger weights than DCGAN's init, so images differ clearly
        for p in G.parameters():
            p.normal_(0, 0.5)
    z0, z1 = latents(2, 16, 3)
    for method in ("lerp", "slerp"):
        path = walk_path(torch.stack([z0, z1]), 5, method)
        assert torch.equal(path[0], z0) and torch.equal(path[-1], z1)
        x = render(G, path, batch=2)  # batches that mix endpoints with inner frames
        with torch.no_grad():
            assert torch.allclose(x[0], G(z0[None])[0], atol=1e-6)
            assert torch.allclose(x[-1], G(z1[None])[0], atol=1e-6)
        assert (x[2] - x[0]).abs().mean() > 0.05 and (x[2] - x[-1]).abs().mean() > 0.05  # the middle is another image


def test_slerp_keeps_equal_norms_while_lerp_dips_in_the_middle():
    a, b = pair()
    b = b * a.norm() / b.norm()
    r, omega = float(a.norm()), math.acos(float(a @ b) / float(a.norm() * b.norm()))
    t = torch.linspace(0, 1, 11)
    assert torch.allclose(slerp(a, b, t).norm(dim=1), torch.full((11,), r, dtype=torch.float64), rtol=1e-10)
    lerp_norms = lerp(a, b, t).norm(dim=1)
    assert lerp_norms[5] == pytest.approx(r * math.cos(omega / 2), rel=1e-10)  # |a + b| / 2
    assert lerp_norms[5] < 0.8 * r and lerp_norms.argmin() == 5
    # equal norms: the classic formula sin((1-t)w)/sin(w) a + sin(tw)/sin(w) b
    classic = (math.sin(0.3 * omega) * a + math.sin(0.7 * omega) * b) / math.sin(omega)
    assert torch.allclose(slerp(a, b, 0.7), classic, rtol=1e-10)


def test_slerp_norm_moves_linearly_and_angle_at_constant_speed_for_unequal_norms():
    a, b = pair(scale=(0.5, 2.0))
    t = torch.linspace(0, 1, 9, dtype=torch.float64)
    path = slerp(a, b, t)
    expected = (1 - t) * a.norm() + t * b.norm()
    assert torch.allclose(path.norm(dim=1), expected, rtol=1e-10)
    omega = math.acos(float(a @ b / (a.norm() * b.norm())))
    angles = torch.acos(((path @ a) / (path.norm(dim=1) * a.norm())).clamp(-1, 1))
    assert torch.allclose(angles, t * omega, atol=1e-6)
    assert torch.allclose(path[0], a) and torch.allclose(path[-1], b)


def test_slerp_of_nearly_parallel_opposite_or_zero_vectors_is_finite():
    a, _ = pair()
    t = torch.linspace(0, 1, 7)
    close = a * (1 + 1e-13)
    for b in (close, a.clone(), -a, torch.zeros_like(a)):
        path = slerp(a, b, t)
        assert torch.isfinite(path).all()
        assert torch.allclose(path, lerp(a, b, t), atol=1e-9)  # lerp is the fallback
    # just above the threshold the formula itself is used and agrees with lerp to first order
    tilt = a + 1e-4 * torch.roll(a, 1)
    assert torch.allclose(slerp(a, tilt, t), lerp(a, tilt, t), rtol=1e-6)


def test_float32_inputs_keep_their_dtype_and_exact_endpoints():
    z0, z1 = latents(2, 100, 7)
    for fn in (lerp, slerp):
        path = fn(z0, z1, torch.linspace(0, 1, 4))
        assert path.dtype == torch.float32 and path.shape == (4, 100)
        assert torch.equal(path[0], z0) and torch.equal(path[-1], z1)


def test_truncation_psi_one_is_identity_and_psi_zero_the_mean():
    z = latents(5, 8, 1)
    assert torch.equal(truncate(z, 1.0), z)
    assert torch.equal(truncate(z, 0.0), torch.zeros_like(z))
    mean = torch.full((8,), 0.5)
    assert torch.allclose(truncate(z, 0.0, mean), mean.expand(5, 8))
    assert torch.allclose(truncate(z, 0.5, mean), (z + mean) / 2)
    assert torch.allclose(truncate(z, 0.7).norm(dim=1), 0.7 * z.norm(dim=1))


def test_walk_path_visits_every_point_once_in_order():
    points = latents(3, 10, 0)
    path = walk_path(points, 5, "slerp")
    assert path.shape == (9, 10)  # 2 legs of 5 frames sharing the middle point
    for i in range(3):
        assert torch.equal(path[4 * i], points[i])
    with pytest.raises(ValueError, match="two"):
        walk_path(points[:1], 5)
    with pytest.raises(ValueError, match="steps"):
        walk_path(points, 1)
    with pytest.raises(ValueError, match="cubic"):
        walk_path(points, 3, "cubic")


def test_gif_pingpong_plays_back_and_enlarge_scales_by_whole_factors(tmp_path):
    frames = [Image.new("L", (10, 10), color=40 * i) for i in range(4)]
    save_gif(frames, tmp_path / "a.gif", pingpong=True)
    gif = Image.open(tmp_path / "a.gif")
    seen = []
    for i in range(gif.n_frames):
        gif.seek(i)
        seen.append(gif.convert("L").getpixel((0, 0)))
    assert seen == [0, 40, 80, 120, 80, 40]
    assert enlarge(frames[0], 64).size == (70, 70) and enlarge(Image.new("L", (300, 260))).size == (300, 260)


def test_more_latents_than_memory_holds_are_refused_before_any_is_drawn(monkeypatch):
    from gankit import memory
    from gankit.config import ConfigError
    from gankit.sampling import latents

    monkeypatch.setattr(memory, "physical_memory", lambda: 1 << 30)
    assert latents(1000, 100, 0).shape == (1000, 100)
    with pytest.raises(ConfigError, match=r"^1,000,000,000,000 latents of 100 numbers would take about 400 TB of "
                                          r"memory, more than this machine's 1.1 GB; ask for fewer$"):
        latents(10**12, 100, 0)


def test_crop_to_content_cuts_each_image_to_its_masks_box_and_keeps_an_empty_one_whole():
    import torch

    from gankit.sampling import crop_to_content

    images = torch.arange(2 * 3 * 6 * 6, dtype=torch.uint8).view(2, 3, 6, 6)
    mask = torch.zeros(2, 6, 6, dtype=torch.bool)
    mask[0, 1, 2] = mask[0, 3, 4] = True  # two pixels: the box spans rows 1-3, columns 2-4
    cut, empty = crop_to_content(images, mask)
    assert empty == 1 and torch.equal(cut[0], images[0, :, 1:4, 2:5]) and torch.equal(cut[1], images[1])
