"""The studio's steering and projection endpoints (an APIRouter the app mounts at /api):

- ``GET /directions``: every direction of the loaded model (saved, taught, SeFa, PCA, per-coordinate), the
  unsupervised ones computed on first use and again after the session loads a newer checkpoint;
- ``GET /directions/{name}``: one direction's unit vector;
- ``POST /directions/teach``: a direction fitted to images marked as having or lacking an attribute;
- ``POST /project``, ``GET /project/{job}``, ``DELETE /project/{job}``: the latent of an uploaded image, found by
  the encoder (ae/vae) or by latent optimisation in a background thread (one at a time), its progress, cancel.

Each request reads the session from ``request.app.state.session``. Bad input is a 4xx whose one-line detail
names the parameter."""

from __future__ import annotations

import contextlib
import json
import threading

from fastapi import APIRouter, HTTPException, Request

from gankit import __version__
from gankit.studio import projection, steering
from gankit.studio.projection import Busy, ProjectionError
from gankit.studio.steering import SteeringError


@contextlib.asynccontextmanager
async def _warm_up(app):
    """At start-up, compute the model's directions in a background thread: the server answers meanwhile, and a
    recipe that edits along sefa-0 (a reloaded PNG) finds it without the page having listed the directions."""
    session = getattr(app.state, "session", None)
    worker = None
    if session is not None:
        def compute():
            try:
                ensure_unsupervised(session)
            except Exception:  # noqa: BLE001 - a failure here is met again, and answered, at GET /directions
                pass
        worker = threading.Thread(target=compute, name="gankit-studio-directions")
        worker.start()
    yield
    if worker is not None:  # a process that exits while torch works in another thread aborts (rc 134)
        worker.join()
    jobs = getattr(app.state, "projection_jobs", None)
    if jobs is not None:
        jobs.close()


router = APIRouter(tags=["steering"], lifespan=_warm_up)

MAX_EXAMPLES = 1000  # marked images per side of a taught direction
_lock = threading.Lock()  # one computation of a model's directions at a time
_jobs_lock = threading.Lock()  # guards creating an app's projection jobs


def _session(request: Request):
    return request.app.state.session


def ensure_unsupervised(session) -> None:
    """Fill ``session.directions`` with the model's SeFa, PCA and per-coordinate directions, once per loaded
    model: the key is the session's model ``version`` (raised at each reload) and the network's identity. A name
    already used by a saved or taught direction keeps that direction."""
    version = getattr(session, "version", 0)  # read before the model: a reload in between is then caught below
    G = session.generator
    key = (version, id(G.net))
    with _lock:
        if getattr(session, "_steering_key", None) == key:
            return
        found = steering.unsupervised(G.net, G.z_dim, G.num_classes)
        with session.lock:
            if getattr(session, "version", 0) != key[0]:
                return  # the session loaded another model meanwhile: these belong to the old one
            for name in [n for n, (kind, *_) in session.directions.items() if kind in steering.COMPUTED]:
                del session.directions[name]
            for d in found:
                if d.name not in session.directions:
                    session.directions[d.name] = (d.kind, d.vector, {"label": d.label, "score": d.score, **d.info})
        session._steering_key = key


def _listed(name: str, entry) -> dict:
    kind, _, info = entry
    info = info or {}
    return {"name": name, "kind": kind, "label": info.get("label", name), "score": info.get("score")}


@router.get("/directions", summary="The model's directions: saved, taught, SeFa, PCA, per-coordinate")
def directions(request: Request):
    session = _session(request)
    ensure_unsupervised(session)
    with session.lock:
        return {"directions": [_listed(n, e) for n, e in session.directions.items()]}


@router.get("/directions/{name}", summary="One direction's unit vector in z")
def direction(name: str, request: Request):
    session = _session(request)
    ensure_unsupervised(session)
    entry = session.directions.get(name)
    if entry is None:
        raise HTTPException(404, f"direction {name[:80]!r}: no such direction of this model (see /api/directions)")
    kind, vector, info = entry
    return {**_listed(name, entry), "vector": [float(v) for v in vector], "info": _plain(info)}


def _plain(info) -> dict:
    """The JSON-ready part of a direction's info."""
    out = {}
    for k, v in (info or {}).items():
        try:
            json.dumps(v)
        except (TypeError, ValueError):
            continue
        out[str(k)] = v
    return out


async def _body(request: Request) -> dict:
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError) as e:
        raise HTTPException(422, f"body: not valid JSON ({e})") from None
    if not isinstance(body, dict):
        raise HTTPException(422, f"body: a JSON object is needed, not {type(body).__name__}")
    return body


@router.post("/directions/teach", summary="Fit a direction to images marked as having / lacking an attribute")
async def teach(request: Request):
    """Body: ``{name, positive: [recipe...], negative: [recipe...], save: false}``. A linear SVM on the final
    latents of the recipes (at least 2 of each); the answer gives its validation accuracy (leave-one-out for up
    to 20 images, else stratified k-fold: ``validation`` says which). The direction then appears in
    /api/directions as "taught"; ``save: true`` also writes NAME.npy and NAME.json into --directions DIR."""
    body = await _body(request)
    session = _session(request)
    return await _off_loop(_teach, session, body)


async def _off_loop(function, *args):
    import asyncio

    return await asyncio.get_running_loop().run_in_executor(None, function, *args)


def _teach(session, body: dict) -> dict:
    try:
        name = steering.check_name(body.get("name"))
    except SteeringError as e:
        raise HTTPException(422, str(e)) from None
    save = body.get("save", False)
    if not isinstance(save, bool):
        raise HTTPException(422, f"save: {save!r} is not true or false")
    if save and session.directions_dir is None:
        raise HTTPException(400, "save: the studio was started without --directions DIR, so there is no folder to "
                                 "save into; restart it with --directions DIR, or fit without saving")
    ensure_unsupervised(session)
    taken = session.directions.get(name)
    if taken is not None and taken[0] != "taught":
        raise HTTPException(409, f"name {name!r}: already a {taken[0]} direction of this model; choose another")
    sides = []
    for side in ("positive", "negative"):
        recipes = body.get(side)
        if not isinstance(recipes, list):
            raise HTTPException(422, f"{side}: a list of recipes (the marked images) is needed")
        if len(recipes) > MAX_EXAMPLES:
            raise HTTPException(422, f"{side}: {len(recipes)} images; at most {MAX_EXAMPLES}")
        checked = [session.check_recipe(r, f"{side}[{i}]") for i, r in enumerate(recipes)]  # RecipeError: 422
        sides.append([session.final_latent(r).tolist() for r in checked])
    try:
        taught = steering.teach(*sides, z_dim=session.generator.z_dim)
    except SteeringError as e:
        raise HTTPException(422, str(e)) from None
    saved = None
    if save:
        try:
            npy, _ = steering.save_taught(session.directions_dir, name, taught, session.model_stamp())
        except OSError as e:
            raise HTTPException(507, f"save: could not write {name}.npy into the directions folder ({e})") from None
        saved = npy.name
    with session.lock:
        session.directions[name] = ("taught", taught.normal,
                                    {"label": name, "score": taught.val_accuracy, **taught.summary(),
                                     **({"file": saved} if saved else {})})
    return {"name": name, "kind": "taught", **taught.summary(), "saved": saved}


# ---------------------------------------------------------------------------------------------------------------
# Projection


def _jobs(request: Request) -> projection.Jobs:
    with _jobs_lock:
        jobs = getattr(request.app.state, "projection_jobs", None)
        if jobs is None:
            jobs = request.app.state.projection_jobs = projection.Jobs()
        return jobs


def _form_int(form, field: str, low: int, high: int, default):
    value = form.get(field)
    if value is None or value == "":
        return default
    try:
        number = int(value) if isinstance(value, str) else None
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise HTTPException(422, f"{field}: {str(value)[:40]!r} is not a whole number from {low} to {high}")
    return number


@router.post("/project", summary="Start projecting an uploaded image (multipart 'file'; optional steps, class)")
async def project(request: Request):
    """Multipart fields: ``file`` (a PNG, JPEG, ... within the upload limits), ``steps`` (GANs, default 200) and
    ``class`` (conditional GANs; default: the class whose random latents come nearest). Answers ``{job}``; poll
    ``GET /api/project/{job}``. An autoencoder's encoder answers at once (the job is already done)."""
    from gankit.nets.autoencoder import has_encoder
    from gankit.studio import pngmeta

    session = _session(request)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise HTTPException(422, "file: upload the image as the multipart field 'file'")
    form = await request.form(max_files=1, max_fields=4)
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise HTTPException(422, "file: upload the image as the multipart field 'file'")
    G = session.generator
    jobs = _jobs(request)
    if jobs.running() and not has_encoder(G.net):  # refused before the upload is decoded
        raise HTTPException(429, "file: a projection is already running; wait for it to finish (one at a time)")
    if G.kind != "image" or not G.shape or len(G.shape) != 3:
        raise HTTPException(422, "file: this model draws 2-D points; projection needs an image model")
    steps = _form_int(form, "steps", 1, projection.MAX_STEPS, projection.STEPS)
    if form.get("class") not in (None, "") and not G.num_classes:
        raise HTTPException(422, "class: this model is not class-conditional; leave it out")
    label = _form_int(form, "class", 0, G.num_classes - 1, None)
    image = pngmeta.open_image(await upload.read(), what="file")  # UploadError: 413 / 422
    try:
        x = projection.to_model_image(image, G.shape)
    except ProjectionError as e:
        raise HTTPException(422, f"file: {e}") from None
    stamp = session.model_stamp()

    def recipe(found: projection.Projected) -> dict:
        drawn = {"gankit": __version__, "model": stamp, "seed": None, "z": [float(v) for v in found.z],
                 "class": found.c, "truncation": 1.0, "edits": []}
        return {**session.check_recipe(drawn), "model": stamp}

    if has_encoder(G.net):
        found = await _off_loop(projection.encode, G, x)
        return {"job": jobs.done_now(recipe(found), found.loss)}

    def work(progress, cancel):
        found = projection.optimise(G, x, steps=steps, c=label, progress=progress, cancel=cancel)
        return recipe(found), found.loss

    try:
        return {"job": jobs.start(work, steps)}
    except Busy as e:
        raise HTTPException(429, f"file: {e}") from None


def _job(request: Request, job: str) -> dict:
    state = _jobs(request).get(job)
    if state is None:
        raise HTTPException(404, f"job {job[:40]!r}: no such projection (only the last "
                                 f"{_jobs(request).keep} are kept)")
    return state


@router.get("/project/{job}", summary="A projection's progress; its recipe (z set, seed null) once done")
def project_state(job: str, request: Request):
    return _job(request, job)


@router.delete("/project/{job}", summary="Cancel a running projection")
def project_cancel(job: str, request: Request):
    _job(request, job)
    return {"job": job, "cancelled": _jobs(request).cancel(job)}
