"""Concurrent render requests batched on the device: a worker thread takes every latent queued within a few
milliseconds and draws them in one call of G. Every call has the same fixed shape (``ROWS`` latents, padded with
zeros), because a convolution's float results can depend on the batch size: drawn alone or among fifteen others,
a latent gives the same pixels, so the same recipe gives the same PNG bytes."""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future
from typing import Callable

import torch

ROWS = 8  # latents per call of G; a lone request pays for ROWS rows, a burst of 16 takes two calls
WAIT_S = 0.003  # how long the first request of a batch waits for company


class Batcher:
    """``submit(z [z_dim], c | None) -> Future`` of the float image [C, H, W]; ``generator()`` is asked for the
    model at every batch, so a model swapped by a reload is used from the next batch on."""

    def __init__(self, generator: Callable[[], object], rows: int = ROWS, wait_s: float = WAIT_S):
        self.generator, self.rows, self.wait_s = generator, rows, wait_s
        self.queue: queue.Queue = queue.Queue()
        self.calls = 0  # calls of G so far (tests check that a burst was batched)
        self._thread = threading.Thread(target=self._work, name="gankit-studio-render", daemon=True)
        self._thread.start()

    def submit(self, z: torch.Tensor, c: int | None = None) -> Future:
        future: Future = Future()
        self.queue.put((z.detach().float().cpu().reshape(-1), c, future))
        return future

    def render(self, z: torch.Tensor, c: list | None = None) -> torch.Tensor:
        """Images [N, C, H, W] for latents ``z`` [N, z_dim] (classes ``c``), waiting for them."""
        futures = [self.submit(z[i], None if c is None else c[i]) for i in range(len(z))]
        return torch.stack([f.result() for f in futures])

    def _take(self) -> list:
        items = [self.queue.get()]
        while len(items) < self.rows:
            try:
                items.append(self.queue.get(timeout=self.wait_s))
            except queue.Empty:
                break
        return [item for item in items if item[2].set_running_or_notify_cancel()]

    def _work(self) -> None:
        while True:
            items = self._take()
            if not items:
                continue
            try:
                images = self._draw(items)
            except Exception as e:  # noqa: BLE001 - handed to each waiting request; the worker lives on
                for _, _, future in items:
                    future.set_exception(e)
                continue
            for (_, _, future), image in zip(items, images):
                future.set_result(image)

    def _draw(self, items: list) -> torch.Tensor:
        G = self.generator()
        z = torch.zeros(self.rows, G.z_dim)
        z[:len(items)] = torch.stack([item[0] for item in items])
        c = None
        if G.num_classes:
            c = torch.zeros(self.rows, dtype=torch.long)
            c[:len(items)] = torch.tensor([item[1] or 0 for item in items])
        self.calls += 1
        return G.render(z, c, batch=self.rows)[:len(items)]
