"""The studio's web app: the JSON/PNG API over a Session and the page's files. It serves only the files it
enumerated at start (no path from a request reaches the file system), answers only to the Host names it was
started for (DNS rebinding), refuses bodies over the upload limit before reading them whole, and turns every
error into a one-line JSON ``{"detail": ...}``: 4xx naming the parameter, 500 for the unexpected (the server
stays up)."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import numpy as np
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from gankit.studio import pngmeta
from gankit.studio.session import MAX_SEED, RECIPE_DOC, TRUNCATION, RecipeError, Session

STATIC = Path(__file__).with_name("static")
# the page's file types and how they are served, spelt out: the system's MIME table varies (.js as text/plain)
STATIC_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                ".css": "text/css; charset=utf-8", ".png": "image/png", ".svg": "image/svg+xml",
                ".ico": "image/x-icon", ".json": "application/json", ".woff2": "font/woff2"}


def static_files(folder: Path = STATIC) -> dict:
    """name -> (bytes, media type) of the page's files, read once: requests look names up here and nowhere else."""
    found = {}
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            if path.is_file() and path.suffix in STATIC_TYPES:
                found[path.name] = (path.read_bytes(), STATIC_TYPES[path.suffix])
    return found


def allowed_hosts(host: str, port: int) -> set:
    names = {"127.0.0.1", "localhost", "[::1]", f"[{host}]" if ":" in host else host}
    hosts = {f"{name}:{port}" for name in names}
    return hosts | (names if port == 80 else set())


def _json_error(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": " ".join(str(detail).split())}, status_code=status)


class Guard:
    """ASGI middleware: a request whose Host is not ours gets 421, one sent by another site's page (its Origin)
    403: a page elsewhere could otherwise post to 127.0.0.1 (a browser lets it send, only not read). A body
    over ``max_bytes`` gets 413 (by its Content-Length, or once that many bytes arrived), before the app reads it."""

    def __init__(self, app, hosts: set, max_bytes: int):
        self.app, self.hosts, self.max_bytes = app, hosts, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket":  # the studio has none; refused before anything reads the request
            return await send({"type": "websocket.close", "code": 1008})
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        host = headers.get(b"host", b"").decode("latin-1")
        if host not in self.hosts:
            shown = sorted(h for h in self.hosts if ":" in h)
            return await _json_error(421, f"Host header {host!r}: this server answers only to {', '.join(shown)} "
                                          "(a page of another site cannot reach it)")(scope, receive, send)
        origin = headers.get(b"origin", b"").decode("latin-1")
        if origin and origin not in {f"http://{h}" for h in self.hosts}:  # another site's page posting here
            return await _json_error(403, f"Origin header {origin!r}: requests from other sites' pages are "
                                          "refused")(scope, receive, send)
        length = headers.get(b"content-length")
        too_big = _json_error(413, f"request body: over the limit of {self.max_bytes:,} bytes")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            return await too_big(scope, receive, send)
        if scope["method"] not in ("POST", "PUT", "PATCH"):
            return await self.app(scope, receive, send)
        body, more = bytearray(), True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                return await too_big(scope, receive, send)
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)


def _floats(text: str, param: str) -> list:
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise RecipeError(param, "comma-separated numbers are needed") from None


def _ints(text: str, param: str) -> list:
    try:
        return [int(v) for v in text.split(",")]
    except ValueError:
        raise RecipeError(param, "comma-separated whole numbers are needed") from None


def parse_edits(text: str) -> list:
    """``name:alpha,name:alpha`` -> [{direction, alpha}] (values checked with the recipe)."""
    edits = []
    for item in filter(None, text.split(",")):
        name, sep, alpha = item.rpartition(":")
        if not sep or not name:
            raise RecipeError("edits", f"{item!r}: use name:alpha, e.g. sefa-0:1.5")
        try:
            edits.append({"direction": name, "alpha": float(alpha)})
        except ValueError:
            raise RecipeError("edits", f"{item!r}: alpha {alpha!r} is not a number") from None
    return edits


def png_response(data: bytes, name: str) -> Response:
    return Response(data, media_type="image/png", headers={"Content-Disposition": f'inline; filename="{name}"'})


def recipe_name(recipe: dict) -> str:
    return f"gankit-seed{recipe['seed']}" if recipe["seed"] is not None else "gankit-latent"


def create_app(session: Session, *, port: int, host: str = "127.0.0.1", max_bytes: int = pngmeta.MAX_BYTES,
               static: Path = STATIC) -> FastAPI:
    """The studio app over ``session``, answering to Host ``127.0.0.1:port``, ``localhost:port``, ``[::1]:port``
    (and ``host:port``)."""
    from gankit import __version__

    app = FastAPI(title="gankit studio", version=__version__, docs_url=None, redoc_url=None,
                  description="Browse, steer and watch a gankit generator. Images are PNGs carrying their recipe "
                              "(JSON in the PNG's 'gankit' text chunk), which POST bodies take too: " + RECIPE_DOC)
    app.state.session = session
    files = static_files(static)
    app.add_middleware(Guard, hosts=allowed_hosts(host, port), max_bytes=max_bytes)
    _error_handlers(app)
    _routes(app, session, files)
    from gankit.studio import live, routes_steering
    app.include_router(live.router, prefix="/api/live")
    app.include_router(routes_steering.router, prefix="/api")
    return app


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(request, exc):
        first = exc.errors()[0] if exc.errors() else {}
        loc = [str(part) for part in first.get("loc", ())]
        where = f"{loc[0]} parameter {'.'.join(loc[1:])}" if len(loc) > 1 else (loc[0] if loc else "request")
        return _json_error(422, f"{where}: {first.get('msg', 'invalid')}")

    @app.exception_handler(RecipeError)
    async def bad_recipe(request, exc):
        return _json_error(422, str(exc))

    @app.exception_handler(pngmeta.UploadError)
    async def bad_upload(request, exc):
        return _json_error(exc.status, str(exc))

    @app.exception_handler(HTTPException)
    async def http_error(request, exc):
        return _json_error(exc.status_code, exc.detail)

    @app.exception_handler(Exception)
    async def unexpected(request, exc):
        return _json_error(500, f"internal error: {type(exc).__name__}: {exc}")


async def _wait(function, *args):
    """Run blocking work (a render waits on the batcher) off the event loop."""
    return await asyncio.get_running_loop().run_in_executor(None, function, *args)


async def _json_body(request: Request) -> object:
    try:
        return json.loads(await request.body())
    except (ValueError, UnicodeDecodeError) as e:
        raise RecipeError("body", f"not valid JSON ({e})") from None
    except RecursionError:
        raise RecipeError("body", "JSON nested too deeply") from None


def _routes(app: FastAPI, session: Session, files: dict) -> None:
    def page_file(name: str) -> Response:
        if name not in files:
            raise HTTPException(404, f"/static/{name}: no such file (the page's files: {', '.join(files) or 'none'})")
        data, media = files[name]
        return Response(data, media_type=media)

    @app.get("/", include_in_schema=False)
    def index():
        if "index.html" not in files:
            return Response("<!doctype html><title>gankit studio</title><p>The page is missing; the API is at "
                            "<a href=/docs>/docs</a>.", media_type="text/html")
        return page_file("index.html")

    @app.get("/docs", include_in_schema=False)
    def docs():
        from gankit.studio.apidoc import page

        return Response(page(app.openapi()), media_type="text/html; charset=utf-8")

    @app.get("/static/{name:path}", include_in_schema=False)
    def static(name: str):
        return page_file(name)

    @app.get("/api/model", summary="What the loaded model is and how to sample it")
    def model():
        return session.model_info()

    def query_recipe(seed, z, label, truncation, edits) -> dict:
        recipe = {"seed": seed, "z": _floats(z, "z") if z else None, "class": label, "truncation": truncation,
                  "edits": parse_edits(edits)}
        return session.check_recipe(recipe)

    @app.get("/api/image", summary="The PNG of a recipe given in the query", response_class=Response)
    async def image_get(seed: int | None = Query(None, ge=0, le=MAX_SEED),
                        z: str | None = Query(None, max_length=200_000, description="comma-separated floats"),
                        label: int | None = Query(None, alias="class", ge=0),
                        truncation: float = Query(1.0, ge=TRUNCATION[0], le=TRUNCATION[1]),
                        edits: str = Query("", max_length=10_000, description="name:alpha,name:alpha")):
        recipe = query_recipe(seed, z, label, truncation, edits)
        return png_response(await _wait(session.png, recipe), f"{recipe_name(recipe)}.png")

    @app.post("/api/image", summary="The PNG of a recipe given as the JSON body", response_class=Response)
    async def image_post(request: Request):
        recipe = session.check_recipe(await _json_body(request))
        return png_response(await _wait(session.png, recipe), f"{recipe_name(recipe)}.png")

    @app.get("/api/gallery", summary="A page of seeds, each with the URL of its image")
    def gallery(page: int = Query(0, ge=0, le=10 ** 9), per_page: int = Query(24, ge=1, le=100),
                label: int | None = Query(None, alias="class", ge=0),
                truncation: float = Query(1.0, ge=TRUNCATION[0], le=TRUNCATION[1])):
        G = session.generator
        if label is not None and not label < G.num_classes:
            raise RecipeError("class", f"{label}: this model has {G.num_classes or 'no'} classes")
        items = []
        for seed in range(page * per_page, (page + 1) * per_page):
            c = (label if label is not None else seed % G.num_classes) if G.num_classes else None
            url = f"/api/image?seed={seed}&truncation={truncation:g}" + (f"&class={c}" if c is not None else "")
            items.append({"seed": seed, "class": c, "truncation": truncation, "url": url})
        return {"items": items, "page": page, "per_page": per_page}

    @app.post("/api/latent", summary="The final latent a recipe draws")
    async def latent(request: Request):
        recipe = session.check_recipe(await _json_body(request))
        return {"recipe": recipe, "latent": [float(v) for v in session.final_latent(recipe)]}

    @app.post("/api/latent.npy", summary="The final latent as a .npy file [1, z_dim] float32",
              response_class=Response)
    async def latent_npy(request: Request):
        recipe = session.check_recipe(await _json_body(request))
        buf = io.BytesIO()
        np.save(buf, session.final_latent(recipe).numpy()[None].astype(np.float32), allow_pickle=False)
        return Response(buf.getvalue(), media_type="application/octet-stream",
                        headers={"Content-Disposition": f'attachment; filename="{recipe_name(recipe)}.npy"'})

    @app.post("/api/reproduce", summary="The recipe of a studio PNG or JSON file (multipart 'file') or JSON body")
    async def reproduce(request: Request):
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            form = await request.form(max_files=1, max_fields=4)
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                raise RecipeError("file", "upload the PNG or JSON file as the multipart field 'file'")
            recipe = pngmeta.recipe_from_upload(await upload.read(), "file")
        else:
            recipe = await _json_body(request)
        checked = session.check_recipe(recipe)
        if isinstance(recipe, dict) and isinstance(recipe.get("model"), dict):
            checked["model"] = recipe["model"]
        return checked

    from gankit.studio import blend
    blend.routes(app, session)
