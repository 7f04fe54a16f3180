"""Projection of an image to a latent: encoder for autoencoders, latent optimisation for GANs, one job at a time."""

import threading

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.inference import Generator
from gankit.nets.autoencoder import ConvAutoencoder, codes
from gankit.nets.dcgan import DCGANGenerator
from gankit.sampling import latents
from gankit.studio import projection
from gankit.studio.projection import Busy, ProjectionError


def generator(net, z_dim, shape=(1, 8, 8)):
    return Generator(net.eval(), {"z_dim": z_dim, "shape": list(shape), "kind": "image"})


def tiny_gan(z_dim=6, c_dim=0, seed=0):
    """A tiny DCGAN whose images vary with z as a trained one's do (DCGAN's N(0, 0.02) initial weights draw
    nearly the same grey image for every z)."""
    torch.manual_seed(seed)
    net = DCGANGenerator(z_dim=z_dim, img_resolution=8, img_channels=1, width=4, c_dim=c_dim)
    for m in net.modules():
        if isinstance(m, (torch.nn.Linear, torch.nn.ConvTranspose2d)):
            m.reset_parameters()
    return generator(net, z_dim)


def test_projecting_a_drawn_image_finds_a_latent_that_redraws_it_far_better_than_chance():
    G = tiny_gan()
    known = latents(1, 6, seed=123)
    target = G.render(known)
    seen = []
    found = projection.optimise(G, target, steps=100, progress=lambda step, loss: seen.append((step, loss)))
    chance = float(((G.render(latents(16, 6, seed=7)) - target) ** 2).mean())
    assert found.method == "optimisation" and found.z.shape == (6,) and found.c is None
    assert found.loss < chance / 100
    assert found.loss == pytest.approx(float(((G.render(found.z[None]) - target) ** 2).mean()), rel=1e-4)
    assert [s for s, _ in seen] == list(range(1, 101)) and seen[-1][1] < seen[0][1]


def test_projection_leaves_the_generator_untouched():
    G = tiny_gan()
    before = {k: v.clone() for k, v in G.net.state_dict().items()}
    projection.optimise(G, G.render(latents(1, 6, 5)), steps=3)
    assert all(torch.equal(before[k], v) for k, v in G.net.state_dict().items())
    assert all(p.grad is None for p in G.net.parameters())


def test_a_conditional_projection_finds_the_class_or_keeps_the_one_given():
    G = tiny_gan(c_dim=3, seed=1)
    target = G.render(latents(1, 6, 9), torch.tensor([2]))
    assert projection.optimise(G, target, steps=2, c=1).c == 1
    assert projection.optimise(G, target, steps=2).c in (0, 1, 2)
    with pytest.raises(ProjectionError, match="class 3: use 0 to 2"):
        projection.optimise(G, target, steps=2, c=3)
    with pytest.raises(ProjectionError, match="class 0: this model is not conditional"):
        projection.optimise(tiny_gan(), target, steps=2, c=0)


@pytest.mark.parametrize("steps", [0, -1, 5001, 2.5, True, "9"])
def test_bad_step_counts_are_refused_by_name(steps):
    with pytest.raises(ProjectionError, match="steps"):
        projection.optimise(tiny_gan(), torch.zeros(1, 1, 8, 8), steps=steps)


def test_a_cancelled_projection_stops():
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(ProjectionError, match="cancelled"):
        projection.optimise(tiny_gan(), torch.zeros(1, 1, 8, 8), steps=50, cancel=cancel)


def test_autoencoder_projection_is_its_code():
    torch.manual_seed(0)
    for variational in (False, True):
        G = generator(ConvAutoencoder(z_dim=4, img_resolution=8, img_channels=1, width=4, variational=variational), 4)
        x = torch.rand(1, 1, 8, 8) * 2 - 1
        found = projection.encode(G, x)
        assert found.method == "encoder" and torch.equal(found.z, codes(G.net, x)[0])
    with pytest.raises(ProjectionError, match="no encoder"):
        projection.encode(tiny_gan(), x)


def test_pictures_are_converted_cropped_and_resized_to_the_model():
    wide = Image.fromarray(np.concatenate([np.zeros((20, 20, 3)), np.full((20, 40, 3), 255),
                                           np.zeros((20, 20, 3))], axis=1).astype(np.uint8))
    x = projection.to_model_image(wide, [1, 8, 8])  # 80x20: the centre 20x20, all white, is kept
    assert x.shape == (1, 1, 8, 8) and torch.allclose(x, torch.ones_like(x))
    tall = Image.new("L", (10, 30), 0)
    tall.paste(255, (0, 10, 10, 20))
    rgb = projection.to_model_image(tall, [3, 4, 4])
    assert rgb.shape == (1, 3, 4, 4) and float(rgb.min()) > 0.9
    clear = Image.new("RGBA", (8, 8), (0, 0, 0, 0))  # transparent: white, as a browser shows it
    assert torch.allclose(projection.to_model_image(clear, [1, 8, 8]), torch.ones(1, 1, 8, 8))
    big = Image.fromarray((np.indices((64, 64)).sum(0) % 2 * 255).astype(np.uint8))  # a fine checkerboard
    assert float(projection.to_model_image(big, [1, 8, 8]).abs().max()) < 0.2  # antialiased to grey, not aliased


def test_tensors_and_non_image_models_are_checked():
    assert projection.to_model_image(torch.full((1, 8, 8), 3.0), [1, 8, 8]).max() == 1
    with pytest.raises(ProjectionError, match=r"image: shape \[1, 1, 4, 4\]"):
        projection.to_model_image(torch.zeros(1, 4, 4), [1, 8, 8])
    with pytest.raises(ProjectionError, match="NaN"):
        projection.to_model_image(torch.full((1, 8, 8), float("nan")), [1, 8, 8])
    with pytest.raises(ProjectionError, match="needs an image model"):
        projection.to_model_image(torch.zeros(2), [2])
    with pytest.raises(ProjectionError, match="4 channels"):
        projection.to_model_image(Image.new("RGB", (4, 4)), [4, 4, 4])


def test_jobs_run_one_at_a_time_report_progress_and_can_be_cancelled():
    jobs = projection.Jobs()
    gate, started = threading.Event(), threading.Event()

    def slow(progress, cancel):
        progress(1, 0.5)
        started.set()
        gate.wait(10)
        if cancel.is_set():
            raise ProjectionError("cancelled")
        return {"z": [0.0]}, 0.25

    job = jobs.start(slow, steps=3)
    assert started.wait(10)
    assert jobs.get(job) == {"state": "running", "step": 1, "steps": 3, "loss": 0.5, "recipe": None, "error": None}
    with pytest.raises(Busy, match="already running"):
        jobs.start(slow, steps=3)
    gate.set()
    assert jobs.wait(job) == {"state": "done", "step": 1, "steps": 3, "loss": 0.25, "recipe": {"z": [0.0]},
                              "error": None}
    gate.clear()
    started.clear()
    second = jobs.start(slow, steps=3)
    assert started.wait(10) and jobs.cancel(second)
    gate.set()
    assert jobs.wait(second)["state"] == "failed" and jobs.get(second)["error"] == "cancelled"
    assert jobs.get("nope") is None and not jobs.cancel(second)


def test_a_job_that_breaks_is_failed_with_its_reason_and_old_jobs_are_forgotten():
    jobs = projection.Jobs(keep=3)

    def broken(progress, cancel):
        raise RuntimeError("out of memory")

    job = jobs.start(broken, steps=1)
    assert jobs.wait(job) == {**jobs.get(job), "state": "failed", "error": "RuntimeError: out of memory"}
    ids = [jobs.done_now({"seed": None}, 0.0) for _ in range(4)]
    assert jobs.get(job) is None and jobs.get(ids[0]) is None and jobs.get(ids[-1])["state"] == "done"


def test_closing_the_jobs_cancels_a_running_projection_and_waits_for_its_thread():
    """The server's shutdown: no projection thread is left working in torch when the process exits."""
    jobs = projection.Jobs()
    started = threading.Event()

    def endless(progress, cancel):
        started.set()
        while not cancel.wait(0.01):
            pass
        raise ProjectionError("cancelled")

    job = jobs.start(endless, steps=10)
    assert started.wait(10)
    jobs.close()
    assert jobs.get(job)["state"] == "failed" and not any(t.is_alive() for t in jobs._threads.values())
