"""Projection: the latent from which a model draws (as nearly as it can) a given image, so the image can be edited.

An autoencoder has the answer built in: its encoder's code (a VAE's posterior mean). A GAN does not, so the
latent is searched for: the best of a few random latents (by pixel error), then Adam on z to lower the mean
squared pixel error against the image, for a number of steps, with progress told and the search cancellable.
It runs in a background thread, one search at a time, so the rest of the page keeps answering meanwhile.
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from dataclasses import dataclass

import torch

STEPS = 200  # Adam steps of a GAN projection unless asked otherwise
MAX_STEPS = 5000
STARTS = 8  # random latents tried per class before optimising the best


class ProjectionError(ValueError):
    """An image or a setting that cannot be projected; the message names it and the cause."""


class Busy(ProjectionError):
    """A projection is already running (one at a time)."""


def to_model_image(image, shape) -> torch.Tensor:
    """An image as the model draws them: [1, C, H, W] float32 in [-1, 1].

    ``image`` is a PIL image (converted to grey or RGB as the model's C says, centre-cropped to the model's
    aspect ratio, then resized with Lanczos filtering, which antialiases), or a float tensor [C, H, W] or
    [1, C, H, W] in [-1, 1] already of the model's shape."""
    if not shape or len(shape) != 3:
        raise ProjectionError(f"projection needs an image model; this one draws {shape or 'points'}")
    C, H, W = shape
    if isinstance(image, torch.Tensor):
        x = image.detach().float().cpu()
        x = x.unsqueeze(0) if x.dim() == 3 else x
        if list(x.shape) != [1, C, H, W]:
            raise ProjectionError(f"image: shape {list(x.shape)}; this model's images are [1, {C}, {H}, {W}]")
        if not torch.isfinite(x).all():
            raise ProjectionError("image: holds NaN or infinite values")
        return x.clamp(-1, 1)
    import numpy as np
    from PIL import Image

    if C not in (1, 3):
        raise ProjectionError(f"projection reads grey or RGB pictures; this model's images have {C} channels")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")  # transparent areas shown on white, as a browser shows them
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    image = image.convert("L" if C == 1 else "RGB")
    w, h = image.size
    if w * H > h * W:  # wider than the model's aspect: crop the sides
        cw = max(1, round(h * W / H))
        image = image.crop(((w - cw) // 2, 0, (w - cw) // 2 + cw, h))
    elif w * H < h * W:
        ch = max(1, round(w * H / W))
        image = image.crop((0, (h - ch) // 2, w, (h - ch) // 2 + ch))
    image = image.resize((W, H), Image.Resampling.LANCZOS)
    array = np.asarray(image, dtype=np.float32).reshape(H, W, C)
    return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0).div(127.5).sub(1)


@dataclass
class Projected:
    z: torch.Tensor  # [z_dim] float32, the base latent (no truncation, no edits)
    c: int | None  # the class, for a conditional model
    loss: float  # mean squared pixel error of G(z) against the image
    method: str  # "encoder" or "optimisation"
    steps: int = 0


def encode(generator, x: torch.Tensor) -> Projected:
    """An autoencoder's code for image ``x`` [1, C, H, W] (a VAE's posterior mean): ``nets.autoencoder.codes``."""
    from gankit.nets.autoencoder import codes, has_encoder

    if not has_encoder(generator.net):
        raise ProjectionError("this model has no encoder; project it by optimisation")
    z = codes(generator.net, x, device=generator.device)[0]
    loss = float(((generator.render(z[None]) - x) ** 2).mean())
    return Projected(z, None, loss, "encoder")


def _mse(images: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return ((images - target) ** 2).flatten(1).mean(1)


def _forward(net, z, c):
    return net(z, c) if c is not None else net(z)


def optimise(generator, x: torch.Tensor, steps: int = STEPS, c: int | None = None, starts: int = STARTS,
             lr: float = 0.05, seed: int = 0, progress=None, cancel: threading.Event | None = None) -> Projected:
    """The latent whose image is nearest ``x`` [1, C, H, W] in mean squared pixel error: the best of ``starts``
    random latents (for each class when the model is conditional and ``c`` is None), then ``steps`` Adam steps
    on z with the learning rate decaying on a cosine. ``progress(step, loss)`` is told after each step; setting
    ``cancel`` stops the search (a ProjectionError). Only z receives gradients: G's weights are left alone."""
    from gankit.sampling import latents

    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        raise ProjectionError(f"steps {steps!r}: give a whole number from 1 to {MAX_STEPS}")
    net, device, z_dim, k = generator.net, generator.device, generator.z_dim, generator.num_classes
    if c is not None and (not k or not 0 <= c < k):
        raise ProjectionError(f"class {c}: " + (f"use 0 to {k - 1}" if k else "this model is not conditional"))
    target = x.to(device)
    classes = [c] if c is not None or not k else list(range(k))
    per_class = max(1, min(starts, 64 // len(classes)))
    z0 = latents(per_class * len(classes), z_dim, seed).to(device)
    c0 = torch.tensor(classes, device=device).repeat_interleave(per_class) if k else None
    with torch.no_grad():
        errors = torch.cat([_mse(_forward(net, z0[i:i + 64], None if c0 is None else c0[i:i + 64]).float(), target)
                            for i in range(0, len(z0), 64)])
    best = int(errors.argmin())
    z = z0[best:best + 1].clone().requires_grad_(True)
    cls = None if c0 is None else c0[best:best + 1]
    opt = torch.optim.Adam([z], lr=lr)
    loss_value = float(errors[best])
    for step in range(1, steps + 1):
        if cancel is not None and cancel.is_set():
            raise ProjectionError("cancelled")
        for group in opt.param_groups:
            group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * (step - 1) / steps))
        with torch.enable_grad():
            loss = _mse(_forward(net, z, cls).float(), target).mean()
            (grad,) = torch.autograd.grad(loss, [z])  # not backward(): G's parameters get no .grad
        loss_value = float(loss.detach())
        if not math.isfinite(loss_value):
            raise ProjectionError(f"the pixel error became {loss_value} at step {step}; the model cannot draw this")
        z.grad = grad
        opt.step()
        if progress is not None:
            progress(step, loss_value)
    with torch.no_grad():
        final = float(_mse(_forward(net, z, cls).float(), target).mean())
    return Projected(z.detach()[0].float().cpu(), None if cls is None else int(cls[0]), final, "optimisation", steps)


class Jobs:
    """Projection jobs by id: one runs at a time (a second start is ``Busy``); the last ``keep`` are remembered."""

    def __init__(self, keep: int = 16):
        self.keep = keep
        self._jobs: dict[str, dict] = {}
        self._cancel: dict[str, threading.Event] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()

    def running(self) -> str | None:
        with self._lock:
            return next((j for j, s in self._jobs.items() if s["state"] == "running"), None)

    def _new(self, steps: int, state: str = "running") -> str:
        job = secrets.token_hex(8)
        self._jobs[job] = {"state": state, "step": 0, "steps": steps, "loss": None, "recipe": None, "error": None,
                           "started": time.time()}
        while len(self._jobs) > self.keep:  # forget the oldest finished job
            old = next((j for j, s in self._jobs.items() if s["state"] != "running"), None)
            if old is None:
                break
            del self._jobs[old]
            self._cancel.pop(old, None)
            self._threads.pop(old, None)
        return job

    def done_now(self, recipe: dict, loss: float) -> str:
        """A job that finished as it started (an encoder's answer)."""
        with self._lock:
            job = self._new(0, "done")
            self._jobs[job].update(loss=loss, recipe=recipe)
        return job

    def start(self, work, steps: int) -> str:
        """Run ``work(progress, cancel) -> (recipe, loss)`` in a thread; ``progress(step, loss)`` updates the job."""
        with self._lock:
            if any(s["state"] == "running" for s in self._jobs.values()):
                raise Busy("a projection is already running; wait for it to finish (one at a time)")
            job = self._new(steps)
            cancel = self._cancel[job] = threading.Event()

        def progress(step: int, loss: float) -> None:
            with self._lock:
                self._jobs[job].update(step=step, loss=loss)

        def run() -> None:
            try:
                recipe, loss = work(progress, cancel)
                update = {"state": "done", "recipe": recipe, "loss": loss}
            except ProjectionError as e:
                update = {"state": "failed", "error": str(e)}
            except Exception as e:  # noqa: BLE001 - a job thread must record why it stopped, whatever it was
                update = {"state": "failed", "error": f"{type(e).__name__}: {str(e)[:200]}"}
            with self._lock:
                self._jobs[job].update(update)

        thread = self._threads[job] = threading.Thread(target=run, name=f"projection-{job}", daemon=True)
        thread.start()
        return job

    def close(self) -> None:
        """Cancel a running projection and wait for its thread: a process that exits while torch works in
        another thread aborts instead of ending cleanly (the server's shutdown calls this)."""
        with self._lock:
            for event in self._cancel.values():
                event.set()
            threads = list(self._threads.values())
        for thread in threads:
            thread.join()

    def get(self, job: str) -> dict | None:
        with self._lock:
            state = self._jobs.get(job)
            return None if state is None else {k: v for k, v in state.items() if k != "started"}

    def cancel(self, job: str) -> bool:
        with self._lock:
            event = self._cancel.get(job)
            if event is None or self._jobs[job]["state"] != "running":
                return False
            event.set()
            return True

    def wait(self, job: str, timeout: float = 60.0) -> dict | None:
        """The job's state once it is no longer running (or after ``timeout`` seconds): for scripts and tests."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            state = self.get(job)
            if state is None or state["state"] != "running":
                return state
            time.sleep(0.01)
        return self.get(job)
