"""G's content mask: G's image is kept where its mask is +1 and the padding level shows elsewhere, D judges that
composite with the mask hidden, and the mask still learns from D's verdict on the image."""

from __future__ import annotations

import torch
from torch import nn

from gankit.content_mask import blind, compose, composite, padding_level
from gankit.train.run import open_run
from tests.helpers import FAST, TINY_CONV


def test_the_padding_level_is_the_recorded_grey_in_the_images_range():
    assert torch.allclose(padding_level(20), torch.tensor([20 / 127.5 - 1]))
    assert torch.allclose(padding_level([0, 255, 51]), torch.tensor([-1.0, 1.0, 51 / 127.5 - 1]))
    assert padding_level(-1).tolist() == [-1.0]  # none recorded: the loader's black


def test_the_image_is_kept_inside_the_mask_and_the_padding_shows_outside():
    x = torch.tensor([[[[0.3, -0.2, 0.9]], [[0.01, -0.7, 0.0]]]])  # an image channel and a soft mask, 1x3 pixels
    out = composite(x, torch.tensor([-0.5]))
    assert out[0, 1].tolist() == [[1.0, -1.0, -1.0]]  # exactly +1 above 0, -1 elsewhere (0 is padding)
    assert torch.equal(out[0, 0, 0], torch.stack([x[0, 0, 0, 0], torch.tensor(-0.5), torch.tensor(-0.5)]))


def test_d_s_verdict_on_the_image_reaches_the_mask_through_the_blend():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 4, 4, requires_grad=True)  # two colour channels and the mask
    pad = torch.tensor([0.2, -0.4])
    weight = torch.randn(2, 2, 4, 4)
    (composite(x, pad)[:, :2] * weight).sum().backward()
    inside = (x[:, 2:] > 0).float()
    assert torch.allclose(x.grad[:, :2], weight * inside)  # the image learns where it is kept
    expected = (weight * (x[:, :2] - pad.view(1, 2, 1, 1))).sum(1, keepdim=True) / 2  # d blend / d mask, soft
    assert torch.allclose(x.grad[:, 2:], expected.detach(), atol=1e-6)  # float sums in another order


def test_the_shrink_push_adds_the_gradient_of_the_covered_share_of_the_canvas():
    torch.manual_seed(0)
    x = torch.randn(2, 2, 4, 4)
    weight = torch.randn(2, 1, 4, 4)
    grads = []
    for shrink in (0.0, 3.0):
        xi = x.clone().requires_grad_(True)
        (composite(xi, torch.tensor([0.1]), shrink)[:, :1] * weight).sum().backward()
        grads.append(xi.grad)
    # d/dx of 3 * mean((x_mask + 1) / 2) over the 2 x 16 mask values: 3 / 32 / 2 each
    assert torch.allclose(grads[1][:, 1:] - grads[0][:, 1:], torch.full((2, 1, 4, 4), 3 / 32 / 2))
    assert torch.equal(grads[1][:, :1], grads[0][:, :1])  # the image's gradient is unchanged
    with torch.no_grad():
        assert torch.equal(composite(x, torch.tensor([0.1]), 3.0), composite(x, torch.tensor([0.1])))  # sampling


class Recorder(nn.Module):
    """A D that keeps what it was shown."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, x):
        self.seen.append(x)
        return x.mean()


def test_d_sees_each_sample_s_mask_channel_as_zero_packed_or_not():
    D = blind(Recorder(), channels=3)
    x = torch.randn(4, 6, 2, 2)  # two packed samples of two colours and a mask each
    D(x)
    seen = D.seen[0]
    assert (seen[:, [2, 5]] == 0).all() and torch.equal(seen[:, [0, 1, 3, 4]], x[:, [0, 1, 3, 4]])
    assert (x[:, 2] != 0).any()  # the caller's tensor is left as it was


def test_a_masked_run_composes_g_and_hides_the_mask_from_d(tmp_path, small_images):
    trainer = open_run(recipe="dcgan", data=f"folder:{small_images}", steps=1, batch=8, out=str(tmp_path / "r"),
                       progress_bar=False, log=lambda s: None, sets=FAST + TINY_CONV + ["data.mask=true", "ema.beta=0.9"])
    pad = padding_level(trainer.cfg["data.pad_value"])
    z = torch.randn(5, trainer.cfg["z_dim"])
    for G in (trainer.objective.G, trainer.G_ema):
        fake = trainer.objective.generate(G, z)
        assert set(fake[:, -1].unique().tolist()) == {-1.0, 1.0} or len(fake[:, -1].unique()) == 1
        assert torch.equal(fake[:, 0][fake[:, -1] < 0], pad.expand_as(fake[:, 0][fake[:, -1] < 0]))
    seen = []
    trainer.objective.D.register_forward_pre_hook(lambda module, args: seen.append(args[0].detach().clone()))
    trainer.fit()
    assert seen and all((x[:, -1] == 0).all() for x in seen)  # reals and fakes alike


def test_a_run_without_the_mask_is_left_alone(tmp_path, small_images):
    trainer = open_run(recipe="dcgan", data=f"folder:{small_images}", steps=1, batch=8, out=str(tmp_path / "r"),
                       progress_bar=False, log=lambda s: None, sets=FAST + TINY_CONV)
    assert not trainer.objective.G._forward_hooks and not trainer.objective.D._forward_pre_hooks


def test_compose_adds_one_hook_that_copies_of_g_keep():
    import copy

    G = compose(nn.Conv2d(1, 2, 1), torch.tensor([0.0]))
    out = copy.deepcopy(G)(torch.randn(1, 1, 3, 3))
    assert set(out[:, 1].unique().tolist()) <= {-1.0, 1.0}
