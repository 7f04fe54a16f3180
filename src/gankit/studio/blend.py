"""Images made of other images: interpolation between two or more recipes (a strip PNG or a GIF, along the
path ``gankit walk`` takes) and mixing two parents into children."""

from __future__ import annotations

import io

import torch
from fastapi import FastAPI, Query, Request
from fastapi.responses import Response

from gankit import sampling
from gankit.studio.session import MAX_SEED, TRUNCATION, RecipeError, Session, _whole

MAX_POINTS = 16
MAX_FRAMES = 256
MAX_CHILDREN = 32
GIF_SIDE = 128  # GIF frames are enlarged to this side at least: viewers show tiny images tiny and blurred


def frame_classes(recipes: list, steps: int, frames: int) -> list:
    """Each frame's class: the nearer end's, so a conditional walk changes class half-way along a leg."""
    out = []
    for f in range(frames):
        leg = min(f // (steps - 1), len(recipes) - 2)
        t = (f - leg * (steps - 1)) / (steps - 1)
        out.append(recipes[leg + (t >= 0.5)]["class"])
    return out


def walk(session: Session, recipes: list, steps: int, method: str, fmt: str) -> tuple[bytes, str]:
    """(bytes, media type) of the walk through ``recipes`` (checked), ``steps`` frames per leg."""
    if method not in sampling.INTERPOLATIONS:
        raise RecipeError("method", f"{method!r}: use {' or '.join(sampling.INTERPOLATIONS)}")
    if fmt not in ("png", "gif"):
        raise RecipeError("format", f"{fmt!r}: use png or gif")
    if not 2 <= len(recipes) <= MAX_POINTS:
        raise RecipeError("seeds", f"{len(recipes)} images: give 2 to {MAX_POINTS}")
    frames = (len(recipes) - 1) * (steps - 1) + 1
    if not 2 <= steps or frames > MAX_FRAMES:
        raise RecipeError("steps", f"{steps} per leg makes {frames} frames; at most {MAX_FRAMES}")
    points = torch.stack([session.final_latent(r) for r in recipes])
    images = session.render_latents(sampling.walk_path(points, steps, method), frame_classes(recipes, steps, frames))
    buf = io.BytesIO()
    if fmt == "png":
        sampling.grid_image(images, nrow=frames).save(buf, format="PNG")
        return buf.getvalue(), "image/png"
    pictures = [sampling.enlarge(sampling.grid_image(image[None], padding=0), GIF_SIDE) for image in images]
    durations = [100] * len(pictures)
    durations[0] = durations[-1] = 500  # the ends held, as gankit walk does
    pictures[0].save(buf, format="GIF", save_all=True, append_images=pictures[1:], duration=durations, loop=0)
    return buf.getvalue(), "image/gif"


def mix(session: Session, a: dict, b: dict, n: int, seed: int) -> list:
    """``n`` children of checked recipes ``a`` and ``b``: each latent coordinate from one parent by a random
    mask, rescaled to the parents' mean norm (a child of two typical latents stays typical)."""
    za, zb = session.final_latent(a), session.final_latent(b)
    g = torch.Generator().manual_seed(seed)
    target = (za.norm() + zb.norm()) / 2
    children = []
    for _ in range(n):
        mask = torch.rand(za.shape, generator=g) < 0.5
        child = torch.where(mask, za, zb)
        child = child * (target / child.norm()) if child.norm() > 0 else child
        label = (a if torch.rand((), generator=g) < 0.5 else b)["class"]
        children.append(session.check_recipe({"z": [float(v) for v in child], "class": label, "truncation": 1.0}))
    return children


def routes(app: FastAPI, session: Session) -> None:
    from gankit.studio.app import _ints, _json_body, _wait

    @app.get("/api/interpolate", summary="A walk through seeds: strip PNG or GIF", response_class=Response)
    async def interpolate_get(seeds: str = Query(..., max_length=1000, description="comma-separated, 2 to 16"),
                              steps: int = Query(8, ge=2, le=MAX_FRAMES), method: str = "slerp",
                              format: str = "png", label: int | None = Query(None, alias="class", ge=0),
                              truncation: float = Query(1.0, ge=TRUNCATION[0], le=TRUNCATION[1])):
        found = _ints(seeds, "seeds")
        if len(found) > MAX_POINTS:
            raise RecipeError("seeds", f"{len(found)} seeds: give 2 to {MAX_POINTS}")
        recipes = [session.check_recipe({"seed": s, "class": label, "truncation": truncation}) for s in found]
        data, media = await _wait(walk, session, recipes, steps, method, format)
        return Response(data, media_type=media)

    @app.post("/api/interpolate", summary="A walk through recipes {recipes, steps, method, format}",
              response_class=Response)
    async def interpolate_post(request: Request):
        body = await _json_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("recipes"), list):
            raise RecipeError("recipes", "a JSON object with a list 'recipes' is needed")
        if len(body["recipes"]) > MAX_POINTS:
            raise RecipeError("recipes", f"{len(body['recipes'])} recipes: give 2 to {MAX_POINTS}")
        recipes = [session.check_recipe(r, f"recipes[{i}]") for i, r in enumerate(body["recipes"])]
        steps = _whole(body.get("steps", 8), "steps", 2, MAX_FRAMES)
        data, media = await _wait(walk, session, recipes, steps, body.get("method", "slerp"),
                                  body.get("format", "png"))
        return Response(data, media_type=media)

    @app.post("/api/mix", summary="Children of two recipes {a, b, n, seed}")
    async def mix_post(request: Request):
        body = await _json_body(request)
        if not isinstance(body, dict):
            raise RecipeError("body", "a JSON object {a, b, n, seed} is needed")
        a, b = (session.check_recipe(body.get(k), k) for k in ("a", "b"))
        n = _whole(body.get("n", 6), "n", 1, MAX_CHILDREN)
        seed = _whole(body.get("seed", 0), "seed", 0, MAX_SEED)
        return {"children": await _wait(mix, session, a, b, n, seed)}
