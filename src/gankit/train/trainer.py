"""The training loop. It knows nothing about objectives: it runs a recipe's phases and owns the mechanics.

Mechanics owned here: device placement, autocast, gradient scaling, ``requires_grad`` toggling,
optimizer steps and learning-rate decay, EMA of G, statistics, fixed-z snapshots, checkpoints and
exact resume, per-sample randomness that N torchrun ranks draw as one process would, and the fast
path (``fast.*`` keys: memory layout, cuDNN autotuning, ``torch.compile``; see ``train/fast.py``).

The hot loop never waits for the device: statistics stay on the device until a log line, and
nothing here reads a tensor's value per step (a recipe's opt-in ``balance`` schedule does, by design).
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import signal
import time
from pathlib import Path
from typing import Callable

import torch
from torch import nn

import gankit
from gankit import recipes, run_folder
from gankit.content_mask import blind, compose, padding_level
from gankit.inference import has_mask, latent_size, mark_mask
from gankit.inference import resolve_device  # noqa: F401 - where the CLI found it before
from gankit.config import ConfigError
from gankit.atomic import write_file
from gankit.recipes.base import Phase, Stage
from gankit.regularizers.batch_random import BatchRandom
from gankit.sampling import grid_image, points_image, save_png
from gankit.train import checkpoint, distributed, fast, interrupt, lr_schedule, rng
from gankit.train.checkpoint import NonFiniteError
from gankit.train.ema import make_ema, ramped_beta, update_ema
from gankit.train.lock import RunLock, remove_stale_temp_files
from gankit.train.feed import make_feed
from gankit.train.periodic_eval import PeriodicEval
from gankit.train.report import write_gif, write_loss_plot
from gankit.train.stats import Stats, StatsWriter, log_interval, short_name


def make_optimizer(cfg: dict, name: str, params) -> torch.optim.Optimizer:
    """The optimizer of net ``name`` from its ``<name>.opt/.lr/.betas`` keys."""
    kind, lr = cfg[f"{name}.opt"], cfg[f"{name}.lr"]
    params = list(params)
    fused = {"fused": True} if params and params[0].is_cuda else {}
    if kind == "adam":
        return torch.optim.Adam(params, lr=lr, betas=tuple(cfg.get(f"{name}.betas", (0.9, 0.999))), **fused)
    if kind == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=cfg.get(f"{name}.momentum", 0.0))
    raise AssertionError(f"{name}.opt={kind}")  # refused by recipes.check_config (recipes.base.OPTIMIZERS)


class _Context:
    """The StepContext a phase's loss sees: real batches, latents, stats and progress."""

    def __init__(self, trainer: "Trainer"):
        self._t = trainer
        self.batch = trainer.batch // trainer.dist.world  # this rank's share of the global batch
        # every rank draws for the global batch and keeps its slice: N ranks draw what one process draws
        self.generator = BatchRandom(trainer.z_gen, trainer.dist.rank, trainer.dist.world)
        self.progress = 0.0

    @property
    def nimg(self) -> int:
        return self._t.nimg

    def real(self):
        return self._t.feed.next()

    def z(self, n: int) -> torch.Tensor:
        return self.generator.randn(n, self._t.latent_dim, device=self._t.device)

    def labels(self, n: int) -> torch.Tensor:
        return self.generator.randint(0, self._t.objective.num_classes, (n,), device=self._t.device)

    def report(self, name: str, value) -> None:
        self._t.stats.report(name, value)

    def mean_over_ranks(self, value: torch.Tensor) -> torch.Tensor:
        """The mean over all ranks, so that decisions taken from it agree; the value itself with one process."""
        d = self._t.dist
        return distributed.average(value, d.world) if d.active else value


class Trainer:
    """Trains one recipe on one dataset into ``run_dir``; ``state_dict``/``load_state_dict`` cover the whole state."""

    def __init__(self, cfg: dict, data, run_dir: Path | str, device: torch.device | str = "cpu",
                 callbacks: list[Callable[["Trainer", Phase], None]] | None = None,
                 progress_bar: bool = True, log: Callable[[str], None] = print,
                 dist: distributed.Dist = distributed.SINGLE, lock: RunLock | None = None):
        recipes.check_config(cfg)
        self.lock = lock  # the run folder's, taken by open_run before it read the checkpoint; else by fit
        self.cfg = dict(cfg)
        self.run_dir = Path(run_dir)
        self.device = torch.device(device)
        self.callbacks = list(callbacks or [])
        self.dist = dist
        self.progress_bar = progress_bar
        self.log = log
        self.data = data
        rng.seed_all(cfg["seed"])
        self.feed = make_feed(data, cfg["batch"], self.device, cfg["seed"], cfg, dist.rank, dist.world)
        self.objective = recipes.get(cfg["recipe"]).build(self.cfg, self.feed.info)
        self.cfg.update(self.objective.chosen())  # kept in config.json and checkpoints: a resume reads them back
        for net in self.objective.nets.values():
            net.to(self.device)
        self.channels_last = fast.use_channels_last(cfg, self.device, self.objective.nets.values())
        if self.channels_last:
            for net in self.objective.nets.values():
                fast.to_channels_last(net)
            self.feed.channels_last = True
        if self.device.type == "cuda" and cfg["fast.cudnn_benchmark"]:
            torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick its fastest algorithms once
        self.batch = cfg["batch"]  # the global batch now: a staged recipe's stage may set its own
        self.stages = self._checked_stages(self.objective.stages(), len(data) if hasattr(data, "__len__") else 0)
        self.stage: Stage | None = None
        self.optimizers, self.G_ema, self.compiled = {}, None, False
        if self.stages:  # structure and batch of the first stage, before anything is built from them
            self.objective.enter(self.stages[0])
            self.stage = self.stages[0]
            self._set_batch(self.stages[0].batch or cfg["batch"])
            self._to_device()
        self.phases = self.objective.phases()
        updated = {p.update for p in self.phases}
        self.optimizers = {n: make_optimizer(cfg, n, self.objective.nets[n].parameters()) for n in sorted(updated)}
        lr_schedule.check(cfg)
        G = self.objective.nets[self.objective.sampler_net]
        masked = getattr(self.feed, "mask", None) is not None
        mark_mask(G, masked)  # render leaves a data.mask channel out
        if masked:  # G composes its image over the padding, and D judges that composite alone (content_mask)
            compose(G, padding_level(self.cfg["data.pad_value"]), self.cfg["mask.shrink"])
            for name, net in self.objective.nets.items():
                if name.startswith("D"):
                    blind(net, self.feed.info.channels)
        self.latent_dim = latent_size(G, cfg["z_dim"])
        if self.stages and cfg.get("kimg", 0) > 0:  # --kimg under a batch schedule: the steps that see that many
            self.cfg["steps"] = self.steps_for(round(cfg["kimg"] * 1000))
        self.G_ema = make_ema(G) if cfg["ema.beta"] > 0 else None
        self.z_gen = torch.Generator(self.device).manual_seed(cfg["seed"] + 1)
        n_fixed = cfg["snapshot.grid"] if self.feed.info.kind == "image" else max(1000, cfg["snapshot.grid"])
        self.fixed_z = torch.randn(n_fixed, self.latent_dim,
                                   generator=torch.Generator().manual_seed(cfg["seed"] + 2)).to(self.device)
        k = self.objective.num_classes  # conditional: one column per class in the snapshot grid
        self.fixed_c = (torch.arange(n_fixed) % k).to(self.device) if k else None
        self.amp_dtype = self._amp_dtype(cfg["amp"])
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp_dtype == torch.float16)
        self.stats = Stats(self.device)
        self.phase_counts = {p.name: [0, 0] for p in self.phases}  # [skipped, run] since the last log line
        self.ctx = _Context(self)
        self.step = 0
        self.nimg = 0
        self._compile_trial = False
        self.compiled = fast.use_compile(cfg, self.device) and self._compile()
        self.periodic_eval = PeriodicEval(cfg, self.device, data)
        self.periodic_eval.check(classes=self.objective.num_classes)

    # ----- mechanics -----

    def _amp_dtype(self, amp: str):
        if amp == "auto":
            return torch.bfloat16 if self.device.type == "cuda" else None
        return {"bf16": torch.bfloat16, "fp16": torch.float16, "off": None}[amp]  # others: refused by check_config

    # ----- stages -----

    def _checked_stages(self, stages: list[Stage], data_size: int) -> list[Stage]:
        """A staged objective's schedule, refused up front where a later stage could not run."""
        if not stages:
            return []
        starts = [s.start_nimg for s in stages]
        if starts[0] != 0 or starts != sorted(starts):
            raise ConfigError(f"recipe {self.cfg['recipe']}: its stages must start at 0 images and in order; got {starts}")
        for s in stages:
            batch = s.batch or self.cfg["batch"]
            if batch % self.dist.world:
                raise ConfigError(f"stage {s.name!r}: its batch of {batch} is not divisible by the number of processes "
                                  f"({self.dist.world})")
            if data_size and batch > data_size:
                raise ConfigError(f"stage {s.name!r}: its batch of {batch} is larger than the dataset ({data_size} "
                                  f"images); lower --batch or the recipe's batch keys")
        return list(stages)

    def stage_at(self, nimg: int) -> Stage | None:
        """The stage a step starting at ``nimg`` images seen trains in: a function of images seen alone."""
        current = None
        for s in self.stages:
            if s.start_nimg > nimg:
                break
            current = s
        return current

    def steps_for(self, nimg: int) -> int:
        """The steps a run takes to see ``nimg`` images under its stages' batches."""
        steps, seen = 0, 0
        while seen < nimg:
            stage = self.stage_at(seen)
            later = [s.start_nimg for s in self.stages if s.start_nimg > seen]
            batch = stage.batch or self.cfg["batch"]
            n = math.ceil((min([nimg, *later]) - seen) / batch)
            steps, seen = steps + n, seen + n * batch
        return max(1, steps)

    def _set_batch(self, batch: int) -> None:
        self.batch = batch
        self.feed.set_batch(batch)
        if hasattr(self, "ctx"):
            self.ctx.batch = batch // self.dist.world

    def _to_device(self) -> None:
        for net in self.objective.nets.values():
            net.to(self.device)
            if self.channels_last:
                fast.to_channels_last(net)

    def _follow_stage(self) -> None:
        """Enter the stage images seen have reached, if it is a new one (at most once per step, before it runs)."""
        stage = self.stage_at(self.nimg)
        if stage is not self.stage:
            self._enter(stage, resumed=False)

    def _enter(self, stage: Stage, resumed: bool) -> None:
        """The one place a staged run reacts to a new stage: the objective sets its networks up; parameters new
        or gone reach their optimizer (kept ones keep their state), and the nets the stage names start their
        optimizer afresh unless resuming (a checkpoint holds the state after that reset); the moving average
        follows G's structure and, through a load, its buffers (a level of detail), so its own post-load hooks
        run; compiled forwards are rebuilt; the batch becomes the stage's."""
        self.objective.enter(stage)
        self._to_device()
        for name, opt in list(self.optimizers.items()):
            params = list(self.objective.nets[name].parameters())
            had = [p for group in opt.param_groups for p in group["params"]]
            if name in stage.reset and not resumed:
                self.optimizers[name] = make_optimizer(self.cfg, name, params)
            elif [id(p) for p in params] != [id(p) for p in had]:
                fresh = make_optimizer(self.cfg, name, params)
                for p in params:  # Adam's moments of a parameter that stays are kept
                    if p in opt.state:
                        fresh.state[p] = opt.state[p]
                self.optimizers[name] = fresh
        if self.G_ema is not None:
            G = self.objective.nets[self.objective.sampler_net]
            mine = G.state_dict()
            if self.G_ema.state_dict().keys() != mine.keys():  # G grew: new layers start as G's, the rest keep theirs
                kept = dict(self.G_ema.named_parameters())  # the averages; buffers are G's own
                self.G_ema = make_ema(G)
                self.G_ema.load_state_dict({k: v for k, v in kept.items() if k in mine and v.shape == mine[k].shape},
                                           strict=False)
            else:  # G's buffers (a level of detail) through load_state_dict: the average's structure follows
                self.G_ema.load_state_dict(dict(G.named_buffers()), strict=False)
        if self.compiled:  # a fresh compiled forward per stage: a structure change would recompile under one wrapper
            for net in self.objective.nets.values():
                fast.uncompile(net)
                fast.compile_forward(net)
            self._compile_trial = True
        self._set_batch(stage.batch or self.cfg["batch"])
        self.stage = stage
        if not resumed:
            self.log(f"step {self.step} ({self.nimg / 1000:g} kimg): stage {stage.name}, batch {self.batch}")

    def _compile(self) -> bool:
        """Compile the trained networks' forward (G_ema, only sampled from, stays eager); False if that fails."""
        try:
            for net in self.objective.nets.values():
                fast.compile_forward(net)
        except Exception as e:  # noqa: BLE001 - any failure of the compiler means: train eagerly
            self._compile_failed(e)
            return False
        self._compile_trial = True  # the first step compiles; train_step guards it
        return True

    def _compile_failed(self, error: Exception) -> None:
        for net in self.objective.nets.values():
            fast.uncompile(net)
        self.compiled = False
        first = (str(error).strip().splitlines() or [""])[0][:300]
        self.log(f"fast.compile: torch.compile failed ({type(error).__name__}: {first}); training eagerly instead")

    def _run_phase(self, phase: Phase) -> None:
        for name, net in self.objective.nets.items():
            net.requires_grad_(name == phase.update)
        opt = self.optimizers[phase.update]
        opt.zero_grad(set_to_none=True)
        with torch.autocast(self.device.type, dtype=self.amp_dtype or torch.float32, enabled=self.amp_dtype is not None):
            loss = phase.loss(self.ctx)
        self.phase_counts[phase.name][1] += 1
        if loss is None:  # the recipe skips this step (counted on the host: no tensor work on the hot path)
            self.phase_counts[phase.name][0] += 1
            return
        self.scaler.scale(loss).backward()
        if self.dist.active:
            distributed.average_gradients(self.objective.nets[phase.update].parameters(), self.dist.world)
        self.scaler.step(opt)
        self.scaler.update()
        for hook in phase.after_step:
            hook()
        for cb in self.callbacks:
            cb(self, phase)

    def train_step(self) -> None:
        """One training step: every phase, each ``repeat`` times; then EMA and the image counter.

        With ``fast.compile`` the first step after start or resume is where compilation happens.
        It runs from a copy of the whole state: if it fails, the state is put back (networks,
        optimizers, data order, random generators, statistics), the networks go back to eager, and
        the step runs again, so the run continues exactly as an eager run would. Callbacks that
        already ran for a phase of the failed attempt run again.
        """
        if self.stages:
            self._follow_stage()
        if self.compiled and self._compile_trial:
            self._compile_trial = False
            saved = copy.deepcopy((self.state_dict(), self.stats.state(), self.phase_counts))
            try:
                self._train_step()
                return
            except Exception as e:  # noqa: BLE001 - an eager retry re-raises any error that is not the compiler's
                state, stats, counts = saved
                self.load_state_dict(state)
                self.stats.restore(stats)
                self.phase_counts = counts
                self._compile_failed(e)
        self._train_step()

    def _train_step(self) -> None:
        self.ctx.progress = self.step / max(1, self.cfg["steps"])
        if self.cfg["lr.decay"] != "none":
            lr_schedule.apply(self.optimizers, self.cfg, self.ctx.progress)
        for name, settings in self.objective.schedule(self.nimg).items():
            for group in self.optimizers[name].param_groups:
                group.update(settings)
        for phase in self.phases:
            for _ in range(phase.repeat):
                self._run_phase(phase)
        if self.G_ema is not None:
            beta = ramped_beta(self.cfg["ema.beta"], self.cfg["ema.rampup"], self.nimg, self.batch)
            update_ema(self.G_ema, self.objective.nets[self.objective.sampler_net], beta)
        self.step += 1
        self.nimg += self.batch

    # ----- state -----

    def state_dict(self) -> dict:
        return {
            "gankit_version": gankit.__version__,
            "device": self.device.type,
            "config": self.cfg,
            "step": self.step,
            "nimg": self.nimg,
            "sampler_net": self.objective.sampler_net,
            **({"stage": self.stage.name} if self.stage is not None else {}),
            "nets": {n: _dense(net.state_dict()) for n, net in self.objective.nets.items()},
            "net_configs": {n: net.config for n, net in self.objective.nets.items()},
            "data_info": {"kind": self.feed.info.kind, "shape": list(self.feed.info.shape),
                          "class_names": list(getattr(self.data, "class_names", None) or [])},
            "G_ema": _dense(self.G_ema.state_dict()) if self.G_ema is not None else None,
            "optimizers": {n: o.state_dict() for n, o in self.optimizers.items()},
            "scaler": self.scaler.state_dict(),
            "feed": self.feed.state_dict(),
            "objective": self.objective.state_dict(),
            "z_gen": self.z_gen.get_state(),
            "rng": rng.capture(),
        }

    def load_state_dict(self, state: dict) -> None:
        if self.stages:  # the structure and batch of the stage images seen put the run in; no optimizer reset
            # the stage its last step ran in: the step that crossed into the next stage has not entered it yet
            named = [s for s in self.stages if s.name == state.get("stage")]
            stage = named[0] if named else self.stage_at(state["nimg"])
            last = max(state["nimg"] - (stage.batch or self.cfg["batch"]), 0)
            if "stage" in state and (not named or self.stage_at(last) is not stage):
                raise ValueError(f"the checkpoint was in stage {state.get('stage')!r} at {state['nimg']} images, where "
                                 f"this run's schedule has {self.stage_at(state['nimg']).name!r}: the schedule's "
                                 f"settings changed")
            if stage is not self.stage:
                self._enter(stage, resumed=True)
        for n, net in self.objective.nets.items():
            net.load_state_dict(state["nets"][n])
        if self.G_ema is not None and state.get("G_ema") is not None:
            self.G_ema.load_state_dict(state["G_ema"])
        for n, o in self.optimizers.items():
            o.load_state_dict(state["optimizers"][n])
            fast.match_layout(o)
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.objective.load_state_dict(state.get("objective", {}))
        rng.restore(state["rng"])
        self.step, self.nimg = state["step"], state["nimg"]
        # generators keep device-specific states: from another kind of device they restart from seeds tied to the step
        seed = self.cfg["seed"] + 1_000_003 * (self.step + 1)
        exact = self.feed.load_state_dict(state["feed"], fallback_seed=seed)
        exact = rng.restore_generator(self.z_gen, state["z_gen"], seed + 1) and exact
        if not exact:
            self.log(f"resuming on {self.device.type} a checkpoint written on {state.get('device', 'another kind of device')}: "
                     "latents, data order and augmentation draw from new seeds from here on, so the run continues "
                     "but is not identical to an unbroken one")

    def save_checkpoint(self) -> Path:
        """Rank 0 writes; with several ranks, all first check that their weights still agree.

        Weights with NaN or infinity stop training instead (every rank, as they agree on it): the last
        checkpoint on disk stays the last finite one."""
        path = checkpoint.checkpoint_path(self.run_dir, self.step)
        if self.dist.active:  # each rank gathered these from its slice: all take rank 0's, which it writes
            distributed.broadcast(distributed.batch_norm_statistics(self._synced_modules()))
        state = self.state_dict()
        bad = checkpoint.first_nonfinite(checkpoint.weights(state))
        if self.dist.active and distributed.max_over_ranks(int(bad is not None), self.device):
            bad = bad or "the weights of another rank"
        if bad is not None:
            raise self._non_finite(f"{bad} holds NaN or infinity")
        if self.dist.active:
            divergence = distributed.max_divergence(self._synced_modules())
            state["distributed"] = {"world": self.dist.world, "max_divergence": divergence}
            if divergence > 0:
                self.log(f"warning: weights differ across ranks by up to {divergence:g}")
        if self.dist.is_main:
            checkpoint.save(state, path)
            checkpoint.prune(self.run_dir, self.cfg["ckpt.keep"])
        return path

    def _synced_modules(self) -> list[nn.Module]:
        """What every rank holds alike: the networks and G_ema."""
        return [*self.objective.nets.values(), *([self.G_ema] if self.G_ema is not None else [])]

    def close(self) -> None:
        """Release the run folder's lock without training (``fit`` releases it when it returns)."""
        if self.lock is not None:
            self.lock.release()

    # ----- outputs -----

    def sampling_net(self) -> nn.Module:
        return self.G_ema if self.G_ema is not None else self.objective.nets[self.objective.sampler_net]

    @torch.no_grad()
    def snapshot(self) -> Path:
        """Render the fixed latents (eval mode, so batch-norm statistics are used, not changed)."""
        G = self.sampling_net()
        was_training = G.training
        G.eval()
        with fast.eager(self.compiled):  # another batch size and eval mode: no recompilation of a compiled G
            out = self.objective.generate(G, self.fixed_z, self.fixed_c)
        G.train(was_training)
        out = out[:, :-1] if has_mask(G) else out  # the images; their content mask is no picture
        if self.feed.info.kind == "points":
            image = points_image(out, self.data.centers)
        else:
            image = grid_image(out, nrow=self.objective.num_classes or None)
        path = run_folder.snapshot_path(self.run_dir, self.nimg)
        if not torch.isfinite(out).all():  # a grid of NaN is no sample; the next log step or checkpoint stops the run
            self.log(f"step {self.step}: the generator's samples hold NaN or infinity; {path.name} not written")
            return None
        save_png(image, path)
        return path

    def _non_finite(self, what: str) -> NonFiniteError:
        last = checkpoint.latest(self.run_dir)
        kept = f"the last checkpoint, {last}, is finite" if last else "no checkpoint was written"
        return NonFiniteError(f"training diverged at step {self.step} of {self.cfg['steps']}: {what}; stopped, "
                              f"{kept}. Lower the learning rates (--set G.lr=... D.lr=...) and start a new run")

    def _write_config(self) -> None:
        path = self.run_dir / "config.json"
        write_file(path, lambda tmp: Path(tmp).write_text(json.dumps(self.cfg, indent=2, sort_keys=True) + "\n"))

    # ----- the loop -----

    def fit(self, stop_on_signal: bool = False) -> dict:
        """Train until ``cfg['steps']``; returns the paths of what was written (``grid``, ``gif``, ``plot``,
        ``checkpoint``, ``stats``, ``tensorboard``), each None or absent where nothing was.

        With ``stop_on_signal`` (``gankit train``), Ctrl-C or SIGTERM stops at the end of the current step
        with a checkpoint (see ``train.interrupt``), and the result's ``interrupted`` holds the exit code.
        Without it, signals act as usual: a script calling ``fit`` in a loop still stops on Ctrl-C.
        A loss that turns NaN or infinite (seen at the next log step) or such weights (seen before each
        checkpoint) raise ``NonFiniteError``, with the last finite checkpoint kept. Rank 0 holds the run
        folder's lock (``train.lock``) until fit returns.
        """
        main = self.dist.is_main  # only rank 0 writes files
        if main and (self.lock is None or not self.lock.held):
            self.lock = RunLock(self.run_dir, self.log).acquire()
            remove_stale_temp_files(self.run_dir, self.log)
        try:
            return self._fit(stop_on_signal)
        finally:
            self.close()

    def _fit(self, stop_on_signal: bool) -> dict:
        from tqdm.auto import tqdm

        cfg = self.cfg
        main = self.dist.is_main
        if self.dist.active:  # equal seeds gave equal weights; a broadcast makes sure, also after a resume
            distributed.broadcast_state(self._synced_modules())
        if main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self._write_config()
        self.writer = writer = StatsWriter(self.run_dir) if main else None
        periodic_eval = self.periodic_eval
        snap_every = max(1, int(cfg["snapshot.every_kimg"] * 1000))
        ckpt_every = max(1, int(cfg["ckpt.every_kimg"] * 1000))
        log_every = log_interval(cfg["steps"], cfg["log.every"])  # a short run logs more often: its plot has a shape
        if self.step == 0 and main:
            self.snapshot()
        bar = tqdm(total=cfg["steps"], initial=self.step, disable=not (self.progress_bar and main), unit="step",
                   dynamic_ncols=True)
        last_time, last_nimg, last_ckpt_step, last_ckpt = time.perf_counter(), self.nimg, -1, None
        stopped_by = 0  # the signal the ranks agreed to stop on
        with interrupt.StopRequest(self._announce_stop) if stop_on_signal else contextlib.nullcontext() as stop:
            try:
                while self.step < cfg["steps"]:
                    before = self.nimg
                    self.train_step()
                    bar.update(1)
                    log_step = self.step % log_every == 0 or self.step == cfg["steps"]
                    if log_step:
                        now = time.perf_counter()
                        values = self.stats.flush(self.dist.world)
                        for name, (skipped, total) in self.phase_counts.items():
                            values[f"Skipped/{name}"] = skipped / max(total, 1)
                            self.phase_counts[name] = [0, 0]
                        values["Timing/images_per_sec"] = (self.nimg - last_nimg) / max(now - last_time, 1e-9)
                        last_time, last_nimg = now, self.nimg
                        if main:
                            writer.write(self.step, self.nimg, values)
                        bad = sorted((k for k, v in values.items() if not math.isfinite(v)),
                                     key=lambda k: not k.startswith("Loss/"))  # a loss first
                        if bad:  # the same averaged values on every rank: all stop here together
                            others = f" (and {len(bad) - 1} other statistics)" if len(bad) > 1 else ""
                            raise self._non_finite(f"{bad[0]} is {values[bad[0]]}{others}")
                        bar.set_postfix({short_name(k): f"{values[k]:.3g}" for k in self.objective.progress
                                         if k in values})
                    if main and before // snap_every != self.nimg // snap_every:
                        self.snapshot()
                    if main and periodic_eval.due(before, self.nimg):
                        with fast.eager(self.compiled):  # other batch sizes and eval mode: no recompilation
                            periodic_eval.run(self)
                    if before // ckpt_every != self.nimg // ckpt_every:
                        last_ckpt, last_ckpt_step = self.save_checkpoint(), self.step
                    if stop is not None and (stopped_by := self._agreed_stop(stop, log_step)):
                        break
            finally:
                bar.close()
                if writer is not None:
                    writer.close()
            if last_ckpt_step != self.step:
                last_ckpt = self.save_checkpoint()
            if stopped_by:  # quickly: a scheduler's SIGKILL may follow its SIGTERM
                self.log(f"stopped by {signal.Signals(stopped_by).name} at step {self.step} of {cfg['steps']}, "
                         f"checkpoint written; continue with: gankit train --out {self.run_dir} --resume auto")
                return {"checkpoint": last_ckpt if main else None, **(self._logs() if main else {}),
                        "interrupted": interrupt.exit_code(stopped_by)}
            if not main:
                return {}
            final = self.snapshot()
            gif = write_gif(self.run_dir, self.run_dir / run_folder.PROGRESS_GIF)
            plot = write_loss_plot(self.run_dir, self.run_dir / run_folder.LOSS_PLOT)
        return {"grid": final, "gif": gif, "plot": plot, "checkpoint": last_ckpt, **self._logs()}

    def _logs(self) -> dict:
        """The statistics written so far: none before the first log line (a run stopped that early)."""
        stats = run_folder.stats_path(self.run_dir)
        if not stats.is_file():
            return {}
        tensorboard = self.run_dir / run_folder.TENSORBOARD
        return {"stats": stats, "tensorboard": tensorboard if tensorboard.is_dir() else None}

    def _announce_stop(self, signum: int) -> None:
        where = "the next log step, where the ranks agree" if self.dist.active else "this step"
        again = "; Ctrl-C again aborts at once" if signum == signal.SIGINT else ""
        self.log(f"{signal.Signals(signum).name}: stopping after {where}, with a checkpoint{again}")

    def _agreed_stop(self, stop: interrupt.StopRequest, log_step: bool) -> int:
        """The signal to stop on now, or 0: with one process, any received; with several, at a log step (the
        ranks exchange statistics there anyway) the one any rank received, so all stop at the same step."""
        if not self.dist.active:
            return stop.signal or 0
        return distributed.max_over_ranks(stop.signal or 0, self.device) if log_step else 0


def _dense(state: dict) -> dict:
    """Weights in the default (NCHW) layout, so a checkpoint does not depend on ``fast.channels_last``."""
    return {k: v.contiguous() if isinstance(v, torch.Tensor) else v for k, v in state.items()}
