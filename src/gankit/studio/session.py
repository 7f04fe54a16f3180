"""The studio's session: the loaded generator (reloaded when the run's newest checkpoint changes, so sampling
follows a live ``gankit train``), the image recipe checked and turned into a latent, and the render batcher.

A recipe (what a downloaded PNG carries) is::

    {"gankit": VERSION, "model": {"sha256", "recipe", "step"}, "seed": S | null, "z": [z_dim floats] | null,
     "class": K | null, "truncation": PSI, "edits": [{"direction": NAME, "alpha": A}]}

and draws truncate(z or latents(1, z_dim, seed)[0], psi) + sum(alpha * direction)."""

from __future__ import annotations

import math
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from gankit import __version__, inference, run_folder, sampling
from gankit.studio import steering
from gankit.studio.batcher import Batcher

MAX_SEED = 2 ** 53 - 1  # the largest whole number a browser's JSON keeps exactly
MAX_ABS_Z = 1e4  # a latent coordinate beyond this is a typo, not a latent
TRUNCATION = (0.0, 2.0)
MAX_ALPHA = 100.0
MAX_EDITS = 64
RELOAD_CHECK_S = 0.5  # how often a live run's checkpoints folder is looked at
RECIPE_DOC = ('{"seed": S, "z": [z_dim numbers] or null (the base latent; overrides the seed), "class": K (conditional '
              'models; default S mod classes), "truncation": 0 to 2 (default 1), "edits": [{"direction": NAME, "alpha": '
              'A}] (names from /api/directions)}; it draws truncation * (z or the seed\'s latent) + the sum of alpha * '
              'direction. Downloads add "latent": the final latent, and "model": what drew it.')


class RecipeError(ValueError):
    """A recipe (or query) value refused; ``param`` names it and starts the message."""

    def __init__(self, param: str, why: str):
        super().__init__(f"{param}: {why}")
        self.param, self.why = param, why


def _number(value, param: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RecipeError(param, f"{value!r} is not a finite number")
    if not low <= value <= high:
        raise RecipeError(param, f"{value:g} is outside [{low:g}, {high:g}]")
    return float(value)


def _whole(value, param: str, low: int, high: int) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise RecipeError(param, f"{value!r} is not a whole number")
    if not low <= value <= high:
        raise RecipeError(param, f"{value} is outside [{low}, {high}]")
    return value


class Session:
    """What every request works on. ``generator`` is the current ``inference.Generator``; ``directions`` maps a
    name to (kind, unit vector [z_dim], info) for edits; ``lock`` guards swapping models and ``version`` counts
    the swaps (directions computed from G's weights are dropped at a swap)."""

    def __init__(self, generator: inference.Generator, *, source: dict, directions_dir: Path | None = None):
        self._generator, self.source = generator, source
        self.run = Path(source["run"]) if source.get("run") else None
        self.directions_dir = Path(directions_dir) if directions_dir else None
        self.directions: dict = {}
        self.lock = threading.RLock()
        self.version = 0
        self._checked = time.monotonic()
        self._loaded = self._seen = generator.meta.get("checkpoint")
        if self.directions_dir:
            self.load_directions()
        self.batcher = Batcher(lambda: self.generator)

    @classmethod
    def open(cls, *, run=None, checkpoint=None, export=None, directions=None, device="cpu", net="auto") -> "Session":
        device = inference.resolve_device(device)
        generator = inference.load(run=run, checkpoint=checkpoint, export=export, device=device, net=net)
        return cls(generator, source={"run": run, "checkpoint": checkpoint, "export": export, "net": net,
                                      "device": str(device)}, directions_dir=directions)

    @property
    def live(self) -> bool:
        return self.run is not None

    @property
    def generator(self) -> inference.Generator:
        if self.live and time.monotonic() - self._checked >= RELOAD_CHECK_S:
            self.reload_if_newer()
        return self._generator

    def reload_if_newer(self) -> bool:
        """Load the run's newest checkpoint when it is not the one loaded; one rotated away or damaged mid-read
        keeps the current model (the next look tries again)."""
        with self.lock:
            self._checked = time.monotonic()
            newest = run_folder.latest(self.run)
            if newest is None or str(newest) == self._seen:
                return False
            self._seen = str(newest)  # tried once: a damaged file is not read again at every request
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    loaded = inference.load(run=str(self.run), device=self._generator.device,
                                            net=self.source.get("net", "auto"))
            except (inference.ExportError, run_folder.CheckpointError):
                return False
            if loaded.meta.get("checkpoint") == self._loaded:
                return False  # the newest was rotated away or damaged, and the one loaded is still the newest good
            if loaded.z_dim != self._generator.z_dim or loaded.num_classes != self._generator.num_classes:
                return False  # not the same run any more; keep what the page was built for
            self._generator, self._loaded = loaded, loaded.meta.get("checkpoint")
            self.version += 1
            for name in [n for n, (kind, *_) in self.directions.items() if kind in steering.FROM_WEIGHTS]:
                del self.directions[name]
            return True

    def load_directions(self) -> None:
        """Every NAME.npy of --directions DIR that fits this model, as kind "saved"; others are skipped with a
        warning naming them."""
        from gankit.latent import LatentError
        from gankit.latent.directions import load_direction

        if not self.directions_dir.is_dir():
            raise FileNotFoundError(f"--directions {self.directions_dir}: no such folder")
        for path in sorted(self.directions_dir.glob("*.npy")):
            try:
                vector = load_direction(path, self._generator.z_dim, "--directions")
            except (LatentError, ValueError) as e:
                warnings.warn(f"skipping {e}")
                continue
            self.directions[path.stem] = ("saved", vector, {"file": path.name})

    # -- recipes ------------------------------------------------------------------------------------------------

    def model_stamp(self) -> dict:
        meta = self.generator.meta
        return {"sha256": meta.get("sha256"), "recipe": meta.get("recipe"), "step": meta.get("step")}

    def check_recipe(self, recipe, where: str = "") -> dict:
        """The recipe with every value checked against this model and the defaults filled in; a bad value is a
        RecipeError naming it (under ``where``, e.g. "a" for the first parent of a mix)."""
        try:
            return self._check_recipe(recipe)
        except RecipeError as e:
            if not where:
                raise
            raise RecipeError(where if e.param == "recipe" else f"{where}.{e.param}", e.why) from None

    def _check_recipe(self, recipe) -> dict:
        if not isinstance(recipe, dict):
            raise RecipeError("recipe", f"a JSON object is needed, not {type(recipe).__name__}")
        G = self.generator
        seed, z = recipe.get("seed"), recipe.get("z")
        if seed is None and z is None:
            raise RecipeError("seed", "give a seed or a latent z")
        if seed is not None:
            seed = _whole(seed, "seed", 0, MAX_SEED)
        if z is not None:
            if not isinstance(z, list) or len(z) != G.z_dim:
                raise RecipeError("z", f"a list of {G.z_dim} numbers is needed (this model's latent size), got "
                                       f"{len(z) if isinstance(z, list) else type(z).__name__}")
            z = [float(np.float32(_number(v, f"z[{i}]", -MAX_ABS_Z, MAX_ABS_Z))) for i, v in enumerate(z)]
        label = recipe.get("class")
        if G.num_classes:
            label = (seed or 0) % G.num_classes if label is None else _whole(label, "class", 0, G.num_classes - 1)
        elif label is not None:
            raise RecipeError("class", "this model is not class-conditional; leave it out")
        truncation = _number(recipe.get("truncation", 1.0), "truncation", *TRUNCATION)
        edits = recipe.get("edits") or []
        if not isinstance(edits, list) or len(edits) > MAX_EDITS:
            raise RecipeError("edits", f"a list of at most {MAX_EDITS} {{direction, alpha}} objects is needed")
        checked = []
        for i, edit in enumerate(edits):
            if not isinstance(edit, dict):
                raise RecipeError(f"edits[{i}]", "a {direction, alpha} object is needed")
            name = edit.get("direction")
            if name not in self.directions and isinstance(name, str) and steering.COMPUTED_NAME.match(name):
                from gankit.studio.routes_steering import ensure_unsupervised

                ensure_unsupervised(self)  # a reloaded PNG may edit along sefa-0 before the start-up computation ends
            if name not in self.directions:
                raise RecipeError(f"edits[{i}].direction", f"{name!r} is not a direction of this model (see "
                                                           "/api/directions)")
            checked.append({"direction": name, "alpha": _number(edit.get("alpha"), f"edits[{i}].alpha",
                                                                -MAX_ALPHA, MAX_ALPHA)})
        return {"gankit": __version__, "model": self.model_stamp(), "seed": seed, "z": z, "class": label,
                "truncation": truncation, "edits": checked}

    def final_latent(self, recipe: dict) -> torch.Tensor:
        """The latent [z_dim] float32 a checked recipe draws."""
        z_dim = self.generator.z_dim
        base = torch.tensor(recipe["z"], dtype=torch.float32) if recipe["z"] is not None else \
            sampling.latents(1, z_dim, recipe["seed"])[0]
        z = sampling.truncate(base, recipe["truncation"])
        for edit in recipe["edits"]:
            z = z + edit["alpha"] * self.directions[edit["direction"]][1].float()
        return z.float()

    def render_latents(self, z: torch.Tensor, classes: list | None = None) -> torch.Tensor:
        """Float images [N, C, H, W] in [-1, 1] of latents [N, z_dim], through the batcher."""
        if self.generator.kind != "image":
            raise RecipeError("model", "this model draws 2-D points, not images")
        return self.batcher.render(z, classes if self.generator.num_classes else None)

    def render_recipe(self, recipe: dict) -> torch.Tensor:
        """The float image [C, H, W] of a checked recipe."""
        return self.render_latents(self.final_latent(recipe)[None], [recipe["class"]])[0]

    def png(self, recipe: dict) -> bytes:
        """The PNG of a checked recipe, the recipe and its final latent in its "gankit" chunk."""
        from gankit.studio import pngmeta

        latent = self.final_latent(recipe)
        image = self.render_latents(latent[None], [recipe["class"]])[0]
        carried = {**recipe, "latent": [float(v) for v in latent]}
        return pngmeta.encode(sampling.to_uint8(image[None])[0].numpy(), carried)

    def model_info(self) -> dict:
        from gankit.nets.autoencoder import has_encoder

        G = self.generator
        meta = G.meta
        source = next(f"--{k} {v}" for k, v in self.source.items() if k in ("run", "checkpoint", "export") and v)
        return {"z_dim": G.z_dim, "num_classes": G.num_classes, "class_names": G.class_names, "shape": G.shape,
                "kind": G.kind, "recipe": meta.get("recipe"), "data": meta.get("data"), "step": meta.get("step"),
                "kimg": meta.get("kimg"), "ema": bool(meta.get("ema")), "sha256": meta.get("sha256"),
                "source": source, "live": self.live, "has_encoder": has_encoder(G.net),
                "directions_dir": self.directions_dir is not None, "version": self.version}
