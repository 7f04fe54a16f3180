"""The live view of a run folder that ``gankit train`` is writing: its stats lines, snapshot grids and newest
checkpoint, read through gankit.run_folder's tolerant readers, and a server-sent event stream that tells the page
whenever one of them changes. Snapshots are addressed by their index in the folder's listing, never by a path."""

from __future__ import annotations

import asyncio
import json
import math
import time
from pathlib import Path

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response, StreamingResponse

from gankit import run_folder

POLL_S = 0.5  # how often a stream looks at the folder
MAX_STREAM_S = 600  # a stream ends after this; EventSource reconnects by itself
MAX_STREAMS = 16  # open streams at once; more get 429
MAX_LINES = 5000  # stats lines per answer; ask again from ``next``
KEEPALIVE_S = 15

router = APIRouter(tags=["live"])
_streams = [0]


def _run(request: Request) -> Path:
    session = request.app.state.session
    if not session.live:
        raise HTTPException(404, f"live view: only for a run folder (gankit studio --run DIR); this studio serves "
                                 f"{session.model_info()['source']}")
    return session.run


def total_kimg(run: Path) -> float | None:
    """The run's planned length from its config.json, or None when it cannot be read."""
    try:
        config = json.loads((run / "config.json").read_text())
        return config["steps"] * config["batch"] / 1000
    except (OSError, ValueError, KeyError, TypeError):
        return None


def checkpoint_step(run: Path) -> int | None:
    newest = run_folder.latest(run)
    return int(run_folder.CKPT_PATTERN.match(newest.name).group(1)) if newest else None


def signature(run: Path) -> tuple:
    """What changes when the trainer writes: the stats file's size, the snapshots, the newest checkpoint."""
    try:
        size = run_folder.stats_path(run).stat().st_size
    except OSError:
        size = -1
    return size, len(run_folder.snapshots(run)), checkpoint_step(run)


def state(run: Path, session) -> dict:
    records = run_folder.read_stats(run)
    last = records[-1] if records else {}
    kimg = last.get("kimg")
    speed = last.get("Timing/images_per_sec")
    total = total_kimg(run)
    eta = None
    if total is not None and kimg is not None and speed and math.isfinite(speed) and speed > 0:
        eta = max(0.0, (total - kimg) * 1000 / speed)
    metrics = {}
    for record in records:
        metrics.update({k.removeprefix("Metrics/"): v for k, v in record.items() if k.startswith("Metrics/")})
    snaps = run_folder.snapshots(run)
    snapshot = {"index": len(snaps) - 1, "nimg": run_folder.snapshot_nimg(snaps[-1]),
                "url": f"/api/live/snapshot/{len(snaps) - 1}"} if snaps else None
    return {"nimg": round(kimg * 1000) if kimg is not None else 0, "kimg": kimg, "step": last.get("step"),
            "images_per_s": speed, "eta_s": eta, "total_kimg": total, "stats_count": len(records),
            "snapshot": snapshot, "metrics": metrics, "checkpoint_step": checkpoint_step(run),
            "model_step": session.generator.meta.get("step")}


@router.get("/state", summary="Where the run stands: images seen, speed, time left, newest snapshot, metrics")
def live_state(request: Request):
    return state(_run(request), request.app.state.session)


@router.get("/stats", summary="Logged lines from line 'since' on (a line still being written is left out)")
def live_stats(request: Request, since: int = Query(0, ge=0, le=10 ** 9)):
    lines = run_folder.read_stats(_run(request), start=since)[:MAX_LINES]
    return {"lines": lines, "next": since + len(lines)}


@router.get("/snapshot/{index}", summary="Snapshot grid number 'index' (oldest is 0) as PNG", response_class=Response)
def live_snapshot(request: Request, index: int):
    snaps = run_folder.snapshots(_run(request))
    if not 0 <= index < len(snaps):
        raise HTTPException(404, f"snapshot {index}: the run has {len(snaps)} snapshots (0 to {len(snaps) - 1})")
    try:
        return Response(snaps[index].read_bytes(), media_type="image/png")
    except OSError:
        raise HTTPException(404, f"snapshot {index}: gone from the run folder") from None


@router.get("/events", summary="Server-sent events: 'state' whenever stats, snapshots or checkpoints change")
async def live_events(request: Request):
    run = _run(request)
    session = request.app.state.session
    if _streams[0] >= MAX_STREAMS:
        raise HTTPException(429, f"live events: {MAX_STREAMS} streams are open already; close a tab")
    loop = asyncio.get_running_loop()

    async def stream():
        _streams[0] += 1
        try:
            seen, quiet, started = None, time.monotonic(), time.monotonic()
            yield "retry: 1000\n\n"
            while time.monotonic() - started < MAX_STREAM_S and not await request.is_disconnected():
                now = await loop.run_in_executor(None, signature, run)
                if now != seen:
                    seen, quiet = now, time.monotonic()
                    payload = await loop.run_in_executor(None, state, run, session)
                    yield f"event: state\ndata: {json.dumps(payload)}\n\n"
                elif time.monotonic() - quiet > KEEPALIVE_S:
                    quiet = time.monotonic()
                    yield ": keep-alive\n\n"
                await asyncio.sleep(POLL_S)
        finally:
            _streams[0] -= 1

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
