"""Training tricks: label targets, instance noise, DiffAugment ops and ADA's controller, on hand-made inputs."""

import math

import pytest
import torch

from gankit import losses
from gankit.regularizers.augment import AdaptiveP, ada_speed, augment, color, cutout, parse_policy, translation
from gankit.regularizers.gradient_penalty import gradient_penalty, r1_penalty
from gankit.regularizers.instance_noise import instance_noise
from gankit.regularizers.labels import targets
from gankit.regularizers.weight_clip import clip_weights


def test_one_sided_label_smoothing_moves_only_the_real_target():
    real, fake = targets(4, smooth=0.9)
    assert torch.equal(real, torch.full((4,), 0.9)) and torch.equal(fake, torch.zeros(4))
    r = torch.tensor([2.0])
    expected = -(0.9 * math.log(1 / (1 + math.exp(-2))) + 0.1 * math.log(1 - 1 / (1 + math.exp(-2))))
    assert losses.get("nonsaturating").d_real(r, real[:1]).item() == pytest.approx(expected, rel=1e-6)


def test_noisy_labels_stay_in_their_ranges_and_flips_swap():
    g = torch.Generator().manual_seed(0)
    real, fake = targets(10000, noisy=True, generator=g)
    assert 0.7 <= real.min() and real.max() <= 1.2 and 0.0 <= fake.min() and fake.max() <= 0.3
    real, fake = targets(10000, flip=0.25, generator=g)
    assert (real == 0).float().mean().item() == pytest.approx(0.25, abs=0.02)
    assert (fake == 1).float().mean().item() == pytest.approx(0.25, abs=0.02)


def test_instance_noise_anneals_to_zero():
    x = torch.zeros(20000)
    g = torch.Generator().manual_seed(0)
    assert instance_noise(x, 0.2, 0.0, g).std().item() == pytest.approx(0.2, rel=0.03)
    assert instance_noise(x, 0.2, 0.5, g).std().item() == pytest.approx(0.1, rel=0.03)
    assert torch.equal(instance_noise(x, 0.2, 1.0, g), x)


def test_instance_noise_can_reach_zero_before_the_end():
    x = torch.zeros(20000)
    g = torch.Generator().manual_seed(0)
    assert instance_noise(x, 0.2, 0.25, g, until=0.5).std().item() == pytest.approx(0.1, rel=0.03)
    assert torch.equal(instance_noise(x, 0.2, 0.5, g, until=0.5), x)
    assert torch.equal(instance_noise(x, 0.2, 0.8, g, until=0.5), x)


def test_translation_shifts_pixels_and_fills_zeros():
    x = torch.arange(1, 17.0).view(1, 1, 4, 4).repeat(64, 1, 1, 1)
    y = translation(x, torch.Generator().manual_seed(0), ratio=0.25)
    for img in y[:, 0]:
        nz = img[img != 0]
        assert len(nz) in (9, 12, 16)  # shifted by 0 or 1 in each direction: the rest is zero fill
        assert set(nz.tolist()) <= set(range(1, 17))
    assert (y != x).any()


def test_cutout_zeroes_a_square_and_color_keeps_shape():
    y = cutout(torch.ones(256, 1, 8, 8), torch.Generator().manual_seed(0))
    zeros = (y == 0).sum(dim=(1, 2, 3))
    assert zeros.max() == 16 and zeros.min() > 0  # a 4x4 square, clipped at the borders
    x = torch.rand(8, 3, 8, 8) * 2 - 1
    assert color(x, torch.Generator().manual_seed(0)).shape == x.shape


def test_augmentations_let_gradients_through():
    x = torch.rand(4, 3, 8, 8, requires_grad=True)
    augment(x, ["color", "translation", "cutout"], 1.0, torch.Generator().manual_seed(0)).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_p_zero_is_identity_and_unknown_ops_are_refused():
    x = torch.rand(4, 1, 8, 8)
    assert torch.equal(augment(x, ["color", "cutout"], torch.tensor(0.0)), x)
    from gankit.config import ConfigError

    with pytest.raises(ConfigError, match="rotate"):
        parse_policy("color,rotate")


def test_ada_moves_p_towards_the_target_overfitting_signal():
    ada = AdaptiveP(target=0.6, speed_kimg=1.0, interval=4)
    for _ in range(4):
        ada.observe(torch.tensor(1.0), batch=100)  # D sure of every real: overfitting, r_t = 1 > 0.6
    assert ada.p.item() == pytest.approx(0.4)  # 100 * 4 / 1000
    for _ in range(4):
        ada.observe(torch.tensor(-1.0), batch=100)  # r_t = -1 < 0.6
    assert ada.p.item() == pytest.approx(0.0)
    restored = AdaptiveP()
    restored.load_state_dict(ada.state_dict())
    assert restored.p == ada.p


def test_ada_speed_follows_the_run_and_the_data():
    # a long run over a large set: the paper's 500 kimg
    assert ada_speed(run_kimg=25_000, data_size=70_000, batch=64) == (500.0, "the paper's")
    # 40 crops, 10k images: 20 passes over the data (0.8 kimg) is the shortest; no fewer than 50 adjustments of 4
    # steps of 14 images (2.8 kimg)
    speed, why = ada_speed(run_kimg=10, data_size=40, batch=14)
    assert speed == pytest.approx(2.8) and "50 adjustments" in why and "20 passes over 40 images" in why
    # a tenth of the run when that is the shortest and still 50 adjustments or more
    speed, why = ada_speed(run_kimg=100, data_size=60_000, batch=4)
    assert speed == pytest.approx(10.0) and why == "a tenth of the run's 100 kimg"
    assert ada_speed(run_kimg=1000, data_size=1000, batch=8) == (pytest.approx(20.0), "20 passes over 1000 images")


def test_auto_ada_speed_lets_p_rise_within_a_short_run():
    """The first-hour case: 700 steps of 14 over 42 crops, D overfitting throughout. The former fixed 100 kimg moved
    p by at most 0.1 in the whole run; the speed chosen from the run lets p reach 1 within it."""
    run_images, batch = 700 * 14, 14
    for speed, reach in ((100.0, 0.1), (ada_speed(run_images / 1000, 42, batch)[0], 1.0)):
        ada = AdaptiveP(target=0.6, speed_kimg=speed)
        for _ in range(run_images // batch):
            ada.observe(torch.tensor(1.0), batch=batch)
        assert ada.p.item() == pytest.approx(reach, abs=0.01)


def test_ada_speed_is_kept_by_the_checkpoint():
    ada = AdaptiveP(speed_kimg=2.5)
    restored = AdaptiveP(speed_kimg=7.0)  # a run resumed with another length would choose another speed
    restored.load_state_dict(ada.state_dict())
    assert restored.speed_kimg == 2.5
    old = ada.state_dict()
    del old["speed_kimg"]  # a checkpoint written before the speed was kept: its config's ada.kimg
    restored = AdaptiveP(speed_kimg=100.0)
    restored.load_state_dict(old)
    assert restored.speed_kimg == 100.0


def test_color_leaves_a_content_mask_alone_and_translation_moves_it():
    x = torch.rand(6, 3, 8, 8) * 2 - 1
    x[:, 2] = torch.where(torch.rand(6, 8, 8) > 0.5, 1.0, -1.0)  # the mask channel
    out = augment(x, ["color"], generator=torch.Generator().manual_seed(0), colour_channels=2)
    assert torch.equal(out[:, 2], x[:, 2])
    assert torch.allclose(out[:, :2], color(x[:, :2], torch.Generator().manual_seed(0)))
    assert not torch.equal(augment(x, ["color"], generator=torch.Generator().manual_seed(0))[:, 2], x[:, 2])
    moved = augment(x, ["translation"], generator=torch.Generator().manual_seed(1), colour_channels=2)
    assert torch.equal(moved, augment(x, ["translation"], generator=torch.Generator().manual_seed(1)))


def test_gradient_penalty_of_a_linear_critic():
    """D(x) = w.x has gradient w everywhere, so the penalty is (||w|| - 1)^2."""
    w = torch.tensor([3.0, 4.0])
    D = lambda x: x @ w  # noqa: E731
    gp = gradient_penalty(D, torch.randn(16, 2), torch.randn(16, 2))
    assert gp.item() == pytest.approx((5 - 1) ** 2)


def test_r1_penalty_is_the_mean_squared_gradient_at_the_reals():
    """D(x) = w.x + ||x||^2 has gradient w + 2x: R1 is the mean of ||w + 2x||^2 over the batch."""
    w = torch.tensor([3.0, 4.0])
    x = torch.randn(16, 2).requires_grad_(True)
    penalty = r1_penalty(x @ w + x.square().sum(1), x)
    assert penalty.item() == pytest.approx((w + 2 * x.detach()).square().sum(1).mean().item(), rel=1e-6)
    penalty.backward()  # create_graph: the penalty itself trains D
    assert x.grad is not None


def test_weight_clip_clamps_every_parameter():
    net = torch.nn.Linear(3, 3)
    with torch.no_grad():
        net.weight.fill_(5.0)
        net.bias.fill_(-5.0)
    clip_weights(net, 0.01)
    assert net.weight.max() == 0.01 and net.bias.min() == -0.01


def test_historical_average_is_the_mean_of_past_parameters():
    from gankit.regularizers.historical_averaging import HistoricalAverage

    net = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        net.weight.fill_(1.0)
    hist = HistoricalAverage(net)
    for value in (2.0, 3.0, 6.0):
        with torch.no_grad():
            net.weight.fill_(value)
        hist.update()
    assert hist.mean[0].item() == pytest.approx(3.0)  # mean of 1, 2, 3, 6
    assert hist.penalty().item() == pytest.approx((6.0 - 3.0) ** 2)


# The recipe builds these on the CPU before the trainer moves the nets; on a GPU they must follow.
# 'meta' stands in for the other device here: a tensor on it mixed with a CPU one raises as CUDA would.

def test_ada_p_lives_on_the_device_of_what_it_observes():
    ada = AdaptiveP(interval=4)
    ada.load_state_dict(AdaptiveP().state_dict())  # a checkpoint's state, on the CPU
    ada.observe(torch.tensor(1.0, device="meta"), batch=64)
    assert ada.p.device.type == "meta"  # from the first step, not from the first adjustment
    for _ in range(3):
        ada.observe(torch.tensor(1.0, device="meta"), batch=64)
    assert ada.p.device.type == "meta" and ada._signs.device.type == "meta"


def test_historical_average_follows_its_net_to_another_device():
    from gankit.regularizers.historical_averaging import HistoricalAverage

    net = torch.nn.Linear(2, 2)
    hist = HistoricalAverage(net)
    saved = hist.state_dict()
    net.to("meta")
    assert hist.penalty().device.type == "meta"
    hist.update()
    assert all(m.device.type == "meta" for m in hist.mean)
    hist.load_state_dict(saved)
    assert all(m.device.type == "meta" for m in hist.mean)
