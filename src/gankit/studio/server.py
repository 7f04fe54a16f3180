"""Serving the studio's app with uvicorn on a socket bound first, so the port (and with it the Host header the
app accepts) is known before the app is built, also when the system chose it (port 0)."""

from __future__ import annotations

import socket
import threading
import time


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (0: a free port); an address in use is a ConfigError naming it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        from gankit.config import ConfigError

        sock.close()
        raise ConfigError(f"--host {host} --port {port}: cannot listen there ({e.strerror}); choose another --port, "
                          "or 0 for any free one") from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


def server(app, log_level: str = "warning"):
    import uvicorn

    config = uvicorn.Config(app, log_level=log_level, timeout_graceful_shutdown=1, access_log=False)
    return uvicorn.Server(config)


class Background:
    """The app served in a thread while the ``with`` block runs (tests, benchmarks); stopped on exit."""

    def __init__(self, app, sock: socket.socket):
        self.server, self.sock = server(app), sock
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the studio server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()
