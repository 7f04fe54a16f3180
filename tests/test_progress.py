"""Progress bars: long commands show them on a terminal's stderr, and nothing anywhere else."""

import io
import sys

import torch

from tests.synthetic.fakes import NAMES, FakeG


class Terminal(io.StringIO):
    def isatty(self):
        return True


def _work():
    """One call of each slow step a command runs: generating, extracting features, scoring, drawing, training."""
    from gankit.classify import train_classifier
    from gankit.data.fashion_mnist import load_fashion_mnist
    from gankit.latent.directions import score_samples
    from gankit.metrics.evaluate import generate
    from gankit.metrics.features import get_extractor
    from gankit.synthetic.labelled import synthesize

    G = FakeG(c_dim=0, z_dim=3)
    images, _ = generate(G, 3, 40, seed=0, batch=16)
    get_extractor("fmnist")(torch.zeros(8, 1, 28, 28))
    score_samples(G, lambda x: x.mean((1, 2, 3)), torch.randn(20, 3), batch=8)
    synthesize(FakeG(c_dim=4), 3, n=8, class_names=NAMES, batch=4)
    train_classifier(load_fashion_mnist("test").subset(256), epochs=1, batch=128, width=4, steps=2, log=lambda s: None)


def test_each_slow_step_shows_a_bar_on_a_terminal(monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    _work()
    for label in ("generating", "fmnist features", "scoring", "images kept", "training classifier"):
        assert f"{label}:" in terminal.getvalue(), label


def test_nothing_is_written_when_stderr_is_not_a_terminal(monkeypatch):
    plain = io.StringIO()
    monkeypatch.setattr(sys, "stderr", plain)
    _work()
    assert plain.getvalue() == ""
