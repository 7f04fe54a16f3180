"""Fixtures the studio's tests share: tiny trained run folders (built once per session), an export, a test
client and a real server on 127.0.0.1 in a thread. Training code is imported here, never by gankit.studio."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import pytest

from tests.helpers import FAST, small_nets

TEST_PORT = 8765  # the port the test client's Host header names (the app checks it)


def train_tiny(out: Path, recipe: str = "dcgan", data: str = "fashion-mnist:test", steps: int = 2,
               sets: tuple = ()) -> Path:
    """A run folder of a few CPU steps with tiny networks: a checkpoint, stats lines and two snapshot grids."""
    from gankit.train.run import open_run

    trainer = open_run(recipe=recipe, data=data, steps=steps, batch=16, out=str(out), device="cpu",
                       sets=[*FAST, "log.every=1", *small_nets(recipe, "16,16", data), *sets], progress_bar=False,
                       log=lambda s: None)
    trainer.fit()
    return Path(out)


@pytest.fixture(scope="session")
def make_run(tmp_path_factory):
    """A factory: ``make_run(recipe="dcgan", steps=2, sets=(), data=...)`` -> a fresh tiny run folder."""
    def make(recipe: str = "dcgan", **kwargs) -> Path:
        return train_tiny(tmp_path_factory.mktemp(f"{recipe}-run") / "run", recipe, **kwargs)
    return make


@pytest.fixture(scope="session")
def dcgan_run(make_run) -> Path:
    """A tiny unconditional DCGAN on Fashion-MNIST 28x28, z_dim 100, trained 2 steps. Read-only: copy it
    (``run_copy``) to write into it."""
    return make_run("dcgan")


@pytest.fixture(scope="session")
def dcgan_export(dcgan_run, tmp_path_factory) -> Path:
    """The export of ``dcgan_run``'s checkpoint, as `gankit export` writes it."""
    from gankit import run_folder
    from gankit.export import export_checkpoint

    return export_checkpoint(run_folder.latest(dcgan_run), tmp_path_factory.mktemp("export") / "ex")


@pytest.fixture(scope="session")
def cond_run(make_run) -> Path:
    """A tiny class-conditional ACGAN (10 Fashion-MNIST classes, named)."""
    return make_run("acgan")


@pytest.fixture(scope="session")
def vae_run(make_run) -> Path:
    """A tiny convolutional VAE (has an encoder)."""
    return make_run("vae")


@pytest.fixture(scope="session")
def small_z_run(make_run) -> Path:
    """A tiny DCGAN with z_dim 4 (per-coordinate directions z0..z3)."""
    return make_run("dcgan", sets=("z_dim=4",))


@pytest.fixture
def run_copy(dcgan_run, tmp_path) -> Path:
    """A writable copy of ``dcgan_run``."""
    return Path(shutil.copytree(dcgan_run, tmp_path / "run"))


def open_session(**source):
    """A studio Session of ``run=``, ``export=`` or ``checkpoint=`` (and ``directions=``), on the CPU."""
    from gankit.studio.session import Session

    return Session.open(device="cpu", **{k: (str(v) if v is not None else None) for k, v in source.items()})


def make_client(session, **app_kwargs):
    """A FastAPI TestClient of the app over ``session``, sending the Host header the app expects."""
    from fastapi.testclient import TestClient

    from gankit.studio.app import create_app

    app = create_app(session, port=TEST_PORT, **app_kwargs)
    return TestClient(app, base_url=f"http://127.0.0.1:{TEST_PORT}", raise_server_exceptions=False)


@contextlib.contextmanager
def serving(session, **app_kwargs):
    """The app over ``session`` served by uvicorn on 127.0.0.1 at a free port in a thread; yields the base URL
    and stops the server on exit."""
    from gankit.studio.app import create_app
    from gankit.studio.server import Background, bind

    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    with Background(create_app(session, port=port, **app_kwargs), sock):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def export_session(dcgan_export):
    return open_session(export=dcgan_export)


@pytest.fixture(scope="module")
def client(export_session):
    """A test client of the studio over ``dcgan_export``."""
    with make_client(export_session) as c:
        yield c


@pytest.fixture(scope="module")
def live_server(dcgan_run):
    """Base URL ("http://127.0.0.1:PORT") of a real studio server over ``--run dcgan_run`` (live view on)."""
    with serving(open_session(run=dcgan_run)) as url:
        yield url


@pytest.fixture(scope="module")
def cond_live_server(cond_run):
    """Base URL of a real studio server over the conditional ``cond_run``."""
    with serving(open_session(run=cond_run)) as url:
        yield url
