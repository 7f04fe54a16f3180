"""`gankit studio`: it starts, prints its URL and answers; user errors are one line."""

import socket
import subprocess
import sys

import httpx2
import pytest

from gankit.cli import main


def test_the_command_serves_the_model_and_warns_off_loopback(dcgan_export):
    server = subprocess.Popen([sys.executable, "-m", "gankit", "studio", "--export", str(dcgan_export), "--port", "0",
                               "--host", "127.0.0.2", "--no-browser", "--device", "cpu"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        assert line.startswith("gankit studio: dcgan on fashion-mnist:test (step 2, --export ") and " at http://" in line
        url = line.rsplit(" at ", 1)[1].strip()
        assert url.startswith("http://127.0.0.2:")
        assert httpx2.get(f"{url}api/model").json()["z_dim"] == 100
        assert httpx2.get(f"{url}api/model", headers={"host": "evil.example"}).status_code == 421
    finally:
        server.terminate()
        _, err = server.communicate(timeout=10)
    assert err.startswith("gankit studio: warning: --host 127.0.0.2: the studio is reachable from other machines")


def test_a_port_in_use_is_one_line(dcgan_export, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["studio", "--export", str(dcgan_export), "--port", str(port), "--no-browser"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"gankit studio: error: --host 127.0.0.1 --port {port}: cannot listen")


@pytest.mark.parametrize("argv,named", [
    (["--export", "/nonexistent/ex"], "gankit studio: error: --export"),
    (["--run", "/nonexistent/run"], "gankit studio: error: --run /nonexistent/run"),
])
def test_a_missing_model_is_one_line(argv, named, capsys):
    assert main(["studio", *argv, "--port", "0", "--no-browser"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(named), err


def test_a_missing_directions_folder_is_one_line(dcgan_export, capsys):
    assert main(["studio", "--export", str(dcgan_export), "--directions", "/nonexistent/d", "--port", "0",
                 "--no-browser"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--directions /nonexistent/d: no such folder" in err[0], err
