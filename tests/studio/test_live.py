"""The live view of a run folder while it is written: a half-written stats line, a new snapshot, a new
checkpoint (sampling follows it), and the event stream that tells the page."""

import json
import shutil
import time

import httpx2
import pytest

from gankit import run_folder
from gankit.studio import live
from gankit.studio import session as session_module
from tests.studio.conftest import make_client, open_session, serving
from tests.studio.test_session import add_checkpoint

LINE = {"step": 3, "kimg": 0.048, "Loss/G": 1.0, "Loss/D": 1.0, "Timing/images_per_sec": 100.0,
        "Metrics/fid": 12.5}


@pytest.fixture
def live_client(run_copy, monkeypatch):
    monkeypatch.setattr(session_module, "RELOAD_CHECK_S", 0.0)
    with make_client(open_session(run=run_copy)) as c:
        yield c


def append(run, text: str) -> None:
    with open(run_folder.stats_path(run), "a") as f:
        f.write(text)


def test_the_state_of_a_run(live_client, run_copy):
    state = live_client.get("/api/live/state").json()
    assert state["nimg"] == 32 and state["step"] == 2 and state["stats_count"] == 2
    assert state["total_kimg"] == 0.032 and state["eta_s"] == 0 and state["checkpoint_step"] == 2
    assert state["snapshot"] == {"index": 1, "nimg": 32, "url": "/api/live/snapshot/1"}
    snapshot = live_client.get(state["snapshot"]["url"])
    assert snapshot.headers["content-type"] == "image/png"
    assert snapshot.content == run_folder.snapshots(run_copy)[1].read_bytes()


def test_a_run_folder_written_during_requests(live_client, run_copy):
    lines = live_client.get("/api/live/stats").json()
    assert lines["next"] == 2 and lines["lines"][-1]["step"] == 2
    text = json.dumps(LINE) + "\n"
    append(run_copy, text[:25])  # the trainer mid-write
    assert live_client.get("/api/live/stats?since=2").json() == {"lines": [], "next": 2}
    assert live_client.get("/api/live/state").json()["stats_count"] == 2
    append(run_copy, text[25:])
    assert live_client.get("/api/live/stats?since=2").json() == {"lines": [LINE], "next": 3}
    state = live_client.get("/api/live/state").json()
    assert state["nimg"] == 48 and state["metrics"] == {"fid": 12.5}
    assert state["eta_s"] == 0 and state["images_per_s"] == 100.0
    shutil.copy(run_folder.snapshots(run_copy)[-1], run_folder.snapshot_path(run_copy, 48))
    assert live_client.get("/api/live/state").json()["snapshot"]["index"] == 2
    before = live_client.get("/api/image?seed=1").content
    add_checkpoint(run_copy, 3)
    assert live_client.get("/api/model").json()["step"] == 3
    assert live_client.get("/api/live/state").json()["checkpoint_step"] == 3
    assert live_client.get("/api/image?seed=1").content != before


def test_a_checkpoint_rotated_away_while_read(live_client, run_copy, monkeypatch):
    gone = run_folder.checkpoint_path(run_copy, 7)
    monkeypatch.setattr(run_folder, "latest", lambda run: gone)
    assert live_client.get("/api/model").json()["step"] == 2
    assert live_client.get("/api/image?seed=1").status_code == 200


@pytest.mark.parametrize("url,status,message", [
    ("/api/live/snapshot/2", 404, "snapshot 2: the run has 2 snapshots"),
    ("/api/live/snapshot/-1", 404, "snapshot -1"),
    ("/api/live/snapshot/x", 422, "path parameter index"),
    ("/api/live/stats?since=-1", 422, "query parameter since"),
    ("/api/live/stats?since=x", 422, "query parameter since"),
])
def test_bad_live_requests(live_client, url, status, message):
    response = live_client.get(url)
    assert response.status_code == status and response.json()["detail"].startswith(message)


def test_a_vanished_snapshot_is_a_404(live_client, run_copy, monkeypatch):
    first = run_folder.snapshots(run_copy)[0]
    monkeypatch.setattr(run_folder, "snapshots", lambda run: [first.with_name("grid-0000000001.png")])
    assert live_client.get("/api/live/snapshot/0").status_code == 404


def events(response, until: float):
    """(event, data) pairs of a server-sent event stream until the time ``until``."""
    event = None
    for line in response.iter_lines():
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            yield event, json.loads(line[6:])
        if time.monotonic() > until:
            return


def test_the_event_stream_tells_of_each_change(run_copy, monkeypatch):
    monkeypatch.setattr(live, "POLL_S", 0.05)
    with serving(open_session(run=run_copy)) as url:
        with httpx2.stream("GET", f"{url}/api/live/events", timeout=10) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            stream = events(response, time.monotonic() + 10)
            kind, first = next(stream)
            assert kind == "state" and first["stats_count"] == 2
            append(run_copy, json.dumps(LINE) + "\n")
            assert next(stream)[1]["stats_count"] == 3
            shutil.copy(run_folder.snapshots(run_copy)[-1], run_folder.snapshot_path(run_copy, 48))
            assert next(stream)[1]["snapshot"]["index"] == 2
        monkeypatch.setattr(live, "MAX_STREAMS", 0)
        response = httpx2.get(f"{url}/api/live/events")
        assert response.status_code == 429 and "streams are open" in response.json()["detail"]


def test_the_shared_live_server_serves_the_run(live_server):
    assert httpx2.get(f"{live_server}/api/model").json()["live"] is True
    assert httpx2.get(f"{live_server}/api/live/state").json()["stats_count"] == 2
