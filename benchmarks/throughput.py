"""Training throughput of gankit's trainer against a pytorch/examples-style DCGAN loop, on CPU or CUDA.

Two workloads:

- ``dcgan64``: DCGAN at 64x64 RGB with the Radford shapes (z 100, G 1024-512-256-128 channels from
  4x4 up, D 64-128-256-512: gankit's ``G.width=64 D.width=32``), on random RGB images;
- ``dcgan28``: DCGAN at 28x28 on the 60,000 Fashion-MNIST training images (``GANKIT_DATA`` or
  ``--data-dir`` names the folder of the four ``*-ubyte.gz`` files).

For each workload and batch size, three kinds of loop train the same networks (gankit's DCGAN G and D,
built the same way) with Adam 2e-4 (0.5, 0.999), the non-saturating loss on logits, one D step and
one G step per iteration:

- ``reference``: the loop of pytorch/examples ``dcgan/main.py``: the images are PNG files in a
  temporary folder read by torchvision's ``ImageFolder`` through a ``DataLoader`` with worker
  processes (no pinned memory, as there), batches copied to the device, fp32, ``cudnn.benchmark``
  on CUDA; its G step reuses the D step's fakes;
- ``gankit``: ``gankit.train.Trainer`` with the ``dcgan`` recipe and its defaults for the device
  (dataset resident on the device as uint8, ``amp=auto``: bf16 on CUDA; ``fast.channels_last=auto``;
  fused Adam on CUDA); its G step draws fresh fakes (one G forward pass more per iteration);
- ``gankit+reuse``: the same with ``reuse_fakes=true``: the G step reuses the D step's fakes, as the
  reference does;
- ``gankit+compile`` and ``gankit+compile+reuse``: the same two with ``fast.compile=on`` (by default
  on CUDA only);
- ``gankit-plain`` (on request): gankit's loop without its fast path (``fast.channels_last=off
  fast.compile=off amp=off``): device-resident data alone.

The reference leaves out the five ``.item()`` calls and the print that pytorch/examples runs every
iteration, which favours the reference on a GPU. The loops are timed in alternating rounds; images/s
is each loop's median, and the speed-up over the first loop is the median of the per-round ratios,
so loops compared in one round see the same machine state. FLOPs per image are counted with
``torch.utils.flop_counter.FlopCounterMode`` over one D step + one G step of each loop (convolutions
and matrix products; each loop's own work, so ``reuse_fakes`` counts one G forward pass less), and
achieved TFLOP/s is that count times images/s. Peak memory is ``torch.cuda.max_memory_allocated`` in
a loop's rounds, less what the other loops hold, plus what this one holds ('n/a' on CPU).
This is a benchmark, not a test:

    python benchmarks/throughput.py                                       # CUDA if present, both workloads, batch 128 and 1024
    python benchmarks/throughput.py --device cpu --model dcgan28 --batch 128 --steps 5 --rounds 3
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

# gankit's DCGAN D has the widths of G's levels in reverse (at 64x64 and width 64: 128-256-512-1024), so
# Radford's D (ndf=64: 64-128-256-512, as pytorch/examples) is D.width=32. DCGAN-28 keeps the dcgan
# recipe's defaults (G.width=D.width=64).
MODELS = {"dcgan64": dict(resolution=64, channels=3, g_width=64, d_width=32),
          "dcgan28": dict(resolution=28, channels=1, g_width=64, d_width=64)}
Z_DIM = 100
# gankit's loops by --variants name: (label, --set items)
VARIANTS = {"plain": ("gankit-plain", ["fast.channels_last=off", "fast.compile=off", "amp=off"]),
            "gankit": ("gankit", []),
            "reuse": ("gankit+reuse", ["reuse_fakes=true"]),
            "compile": ("gankit+compile", ["fast.compile=on"]),
            "compile-reuse": ("gankit+compile+reuse", ["fast.compile=on", "reuse_fakes=true"])}
SAME_FLOPS = ["fast.compile=off", "fast.channels_last=off", "amp=off"]  # for counting: these keys change no FLOP


# ----- data -----

def random_images(n: int, seed: int = 0) -> torch.Tensor:
    """n random RGB 64x64 images, uint8 [N, 3, 64, 64]."""
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, 64, 64), dtype=torch.uint8, generator=g)


def fashion_mnist(data_dir: Path | None):
    from gankit.data.fashion_mnist import load_fashion_mnist

    if data_dir is not None:
        os.environ["GANKIT_DATA"] = str(data_dir)
    return load_fashion_mnist("train", download=False)


def write_pngs(images: torch.Tensor, labels: torch.Tensor | None, root: Path) -> None:
    """An ImageFolder tree: root/<label>/<index>.png (one class folder when there are no labels)."""
    from PIL import Image

    arrays = images.permute(0, 2, 3, 1).numpy()
    for i, a in enumerate(arrays):
        folder = root / (str(int(labels[i])) if labels is not None else "0")
        if i == 0 or labels is not None:
            folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(a[..., 0] if a.shape[-1] == 1 else a).save(folder / f"{i:06d}.png", compress_level=6)


# ----- the loops -----

def build_nets(spec: dict, device):
    from gankit import nets

    G = nets.build("dcgan-g", z_dim=Z_DIM, img_resolution=spec["resolution"], img_channels=spec["channels"],
                   width=spec["g_width"]).to(device)
    D = nets.build("dcgan-d", img_resolution=spec["resolution"], img_channels=spec["channels"],
                   width=spec["d_width"]).to(device)
    return G, D


class Reference:
    """pytorch/examples dcgan/main.py's loop (BCEWithLogits instead of Sigmoid + BCELoss)."""

    name = "reference"

    def __init__(self, folder: Path | None, spec: dict, batch: int, device, workers: int):
        import torchvision.transforms as T
        from torchvision.datasets import ImageFolder

        self.device, self.batch = device, batch
        resolution, channels = spec["resolution"], spec["channels"]
        self.G, self.D = build_nets(spec, device)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.ones = torch.ones(batch, device=device)
        self.zeros = torch.zeros(batch, device=device)
        self.loader = None
        if folder is not None:
            gray = [T.Grayscale(1)] if channels == 1 else []
            transform = T.Compose([*gray, T.Resize(resolution), T.CenterCrop(resolution), T.ToTensor(),
                                   T.Normalize((0.5,) * channels, (0.5,) * channels)])
            dataset = ImageFolder(str(folder), transform=transform)
            self.loader = torch.utils.data.DataLoader(dataset, batch_size=batch, shuffle=True, num_workers=workers,
                                                      drop_last=True, persistent_workers=workers > 0)
            self.it = iter(self.loader)

    def real(self) -> torch.Tensor:
        try:
            x, _ = next(self.it)
        except StopIteration:
            self.it = iter(self.loader)
            x, _ = next(self.it)
        return x.to(self.device)

    def step(self, real: torch.Tensor | None = None) -> None:
        real = self.real() if real is None else real
        G, D = self.G, self.D
        D.zero_grad()
        F.binary_cross_entropy_with_logits(D(real), self.ones).backward()
        fake = G(torch.randn(real.shape[0], Z_DIM, device=self.device))
        F.binary_cross_entropy_with_logits(D(fake.detach()), self.zeros).backward()
        self.opt_d.step()
        G.zero_grad()
        F.binary_cross_entropy_with_logits(D(fake), self.ones).backward()
        self.opt_g.step()

    def run(self, n: int) -> None:
        for _ in range(n):
            self.step()


class Gankit:
    """gankit's trainer on a dataset held as one uint8 tensor."""

    def __init__(self, data, spec: dict, batch: int, device, sets: list[str], name: str = "gankit"):
        from gankit.train.run import apply_flags, default_config
        from gankit.train.trainer import Trainer

        self.name = name
        widths = [f"G.width={spec['g_width']}", f"D.width={spec['d_width']}", f"z_dim={Z_DIM}"]
        cfg = apply_flags(default_config("dcgan", data.name), [*widths, *sets], batch=batch, steps=10**9)
        self.trainer = Trainer(cfg, data, tempfile.mkdtemp(prefix="gankit-throughput-"), device=device,
                               progress_bar=False, log=lambda s: print(f"    [{name}] {s}"))

    def run(self, n: int) -> None:
        t = self.trainer
        for _ in range(n):
            t.train_step()
            if t.step % t.cfg["log.every"] == 0:
                t.stats.flush()  # what Trainer.fit does at each log line (the loop's one host sync)


# ----- measurements -----

def flops_per_image(make_step, batch: int) -> float:
    """FLOPs of one call of ``make_step()`` (one D + one G step on ``batch`` images), per image."""
    from torch.utils.flop_counter import FlopCounterMode

    step = make_step()
    counter = FlopCounterMode(display=False)
    with counter:
        step()
    return counter.get_total_flops() / batch


def count_flops(model: str, data, variants: list[str]) -> dict[str, float]:
    """Per-image FLOPs of each loop by name, counted on the CPU with a small batch (FLOPs do not depend on the
    device, the layout, autocast or compilation)."""
    spec, batch = MODELS[model], 8
    ref = Reference(None, spec, batch, torch.device("cpu"), 0)
    x = torch.rand(batch, spec["channels"], spec["resolution"], spec["resolution"]) * 2 - 1
    flops = {"reference": flops_per_image(lambda: (lambda: ref.step(x)), batch)}
    for variant in variants:
        if variant != "reference":
            name, sets = VARIANTS[variant]
            ours = Gankit(data, spec, batch, torch.device("cpu"), sets + SAME_FLOPS)
            flops[name] = flops_per_image(lambda: ours.trainer.train_step, batch)
    return flops


def sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def allocated(device) -> int:
    sync(device)
    return torch.cuda.memory_allocated(device) if device.type == "cuda" else 0


def benchmark(model: str, batch: int, args, device, data, flops: dict, pngs: Path | None) -> list[dict]:
    spec = MODELS[model]
    loops, resident = [], {}
    loop = None
    try:
        for variant in args.variants:
            before = allocated(device)
            if variant == "reference":
                loop = Reference(pngs, spec, batch, device, args.workers)
            else:
                name, sets = VARIANTS[variant]
                loop = Gankit(data, spec, batch, device, sets + list(args.set), name=name)
            name = loop.name
            resident[name] = allocated(device) - before
            loops.append(loop)
        for loop in loops:  # warm-up: worker start, cuDNN autotuning, compilation, allocator
            t0, before = time.perf_counter(), allocated(device)
            loop.run(args.warmup)
            resident[loop.name] += allocated(device) - before  # optimizer state and the like, kept from now on
            print(f"  warm-up {loop.name}: {args.warmup} iterations in {time.perf_counter() - t0:.1f} s")
        rates = {loop.name: [] for loop in loops}
        peaks = {loop.name: 0 for loop in loops}
        for _ in range(args.rounds):
            for loop in loops:
                base = allocated(device)
                if device.type == "cuda":
                    torch.cuda.reset_peak_memory_stats(device)
                start = time.perf_counter()
                loop.run(args.steps)
                sync(device)
                rates[loop.name].append(args.steps * batch / (time.perf_counter() - start))
                if device.type == "cuda":  # this loop's peak, without what the other loops hold
                    own = torch.cuda.max_memory_allocated(device) - base + resident[loop.name]
                    peaks[loop.name] = max(peaks[loop.name], own)
        rows = []
        for loop in loops:
            rate = statistics.median(rates[loop.name])
            f = flops[loop.name]
            rows.append({"model": model, "batch": batch, "loop": loop.name, "images_per_s": rate,
                         "rounds": rates[loop.name], "flops_per_image": f, "tflops": rate * f / 1e12,
                         "peak_bytes": peaks[loop.name] if device.type == "cuda" else None})
        return rows
    finally:
        for loop in loops:
            if isinstance(loop, Reference) and loop.loader is not None:
                del loop.it  # stop the persistent workers before the folder goes
        loops.clear()
        loop = None
        gc.collect()  # the trainers hold reference cycles: free their device memory before the next batch size
        torch._dynamo.reset()  # compiled code of freed trainers: it would count towards the recompile limit
        if device.type == "cuda":
            torch.cuda.empty_cache()


def speedup(row: dict, first: dict) -> float:
    """The median over rounds of the ratio to the first loop in the same round: the loops of a round share
    the machine's state, so this holds steadier than a ratio of medians on a machine with other load."""
    return statistics.median(a / b for a, b in zip(row["rounds"], first["rounds"]))


def device_name(device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{name}, {os.cpu_count()} logical CPUs"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="auto", help="auto (CUDA if present), cuda or cpu")
    p.add_argument("--model", choices=[*MODELS, "all"], default="all")
    p.add_argument("--batch", type=int, nargs="+", default=[128, 1024])
    p.add_argument("--steps", type=int, help="iterations per timed round (default: 50 on CUDA, 5 on CPU)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--warmup", type=int, help="untimed iterations first (default: 20 on CUDA, 2 on CPU)")
    p.add_argument("--workers", type=int, help="DataLoader workers of the reference (default: min(8, CPUs) "
                                               "on CUDA, 2 on CPU, pytorch/examples' default)")
    p.add_argument("--images", type=int, default=0,
                   help="images in the dataset (default: 60,000 Fashion-MNIST, 50,000 random; on CPU at most "
                        "what the timed iterations read)")
    p.add_argument("--variants", help="comma-separated loops to time: reference, plain, gankit, reuse, compile, "
                                      "compile-reuse (default: reference,gankit,reuse,compile-reuse on CUDA; "
                                      "reference,gankit,reuse on CPU)")
    p.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE", help="extra gankit --set items")
    p.add_argument("--data-dir", type=Path, default=None, help="Fashion-MNIST folder (default: GANKIT_DATA)")
    args = p.parse_args()

    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          "cpu" if args.device == "auto" else args.device)
    cuda = device.type == "cuda"
    args.steps = args.steps or (50 if cuda else 5)
    args.warmup = args.warmup if args.warmup is not None else (20 if cuda else 2)
    args.workers = args.workers if args.workers is not None else (min(8, os.cpu_count() or 1) if cuda else 2)
    args.variants = (args.variants or ("reference,gankit,reuse,compile-reuse" if cuda else "reference,gankit,reuse")
                     ).split(",")
    unknown = set(args.variants) - {"reference", *VARIANTS}
    if unknown:
        p.error(f"--variants: unknown {', '.join(sorted(unknown))}")
    # every compiled trainer adds its own guarded graphs to the nets' forward code: several in one process
    # must not reach dynamo's default limit of 8, past which the forward would run eagerly, unannounced
    torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, 64)
    if cuda:
        torch.backends.cudnn.benchmark = True  # as pytorch/examples' dcgan (gankit sets it too: fast.cudnn_benchmark)

    print(f"command: {shlex.join([Path(sys.executable).name, *sys.argv])}")
    print(f"device: {device} ({device_name(device)}), torch {torch.__version__}, "
          f"{torch.get_num_threads()} intra-op threads, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, "
          f"GANKIT_DATA={args.data_dir or os.environ.get('GANKIT_DATA', 'unset')}")
    print(f"timing: {args.rounds} alternating rounds x {args.steps} iterations after {args.warmup} warm-up iterations; "
          f"reference DataLoader workers: {args.workers}")
    models = list(MODELS) if args.model == "all" else [args.model]
    results = []
    for model in models:
        from gankit.data import ImageData

        if model == "dcgan64":
            needed = (args.warmup + args.rounds * args.steps) * max(args.batch)
            n = args.images or (50_000 if cuda else min(50_000, max(needed, 2 * max(args.batch))))
            data = ImageData(images=random_images(n), name="random-rgb64")
        else:
            data = fashion_mnist(args.data_dir)
            n = args.images or (len(data) if cuda else (args.warmup + args.rounds * args.steps + 2) * max(args.batch))
            if n < len(data):  # on a CPU, write only the PNG files the timed iterations can read
                data = ImageData(images=data.images[:n], labels=data.labels[:n], class_names=data.class_names,
                                 name=data.name)
        flops = count_flops(model, data, args.variants)
        spec = MODELS[model]
        print(f"\n{model}: {len(data)} images {tuple(data.images.shape[1:])}, G.width={spec['g_width']} "
              f"D.width={spec['d_width']}; GFLOP per image for one D + one G step: "
              + ", ".join(f"{name} {f / 1e9:.3f}" for name, f in flops.items()))
        pngs = None
        if "reference" in args.variants:
            pngs = Path(tempfile.mkdtemp(prefix=f"throughput-{model}-"))
            t0 = time.perf_counter()
            write_pngs(data.images, data.labels, pngs)
            print(f"  wrote {len(data)} PNG files for the reference loop in {time.perf_counter() - t0:.1f} s")
        try:
            for batch in args.batch:
                print(f" batch {batch}:")
                rows = benchmark(model, batch, args, device, data, flops, pngs)
                results += rows
                for r in rows:
                    mem = f"{r['peak_bytes'] / 2**30:.2f} GiB" if r["peak_bytes"] is not None else "n/a"
                    print(f"  {r['loop']:<20} {r['images_per_s']:10.1f} images/s  {r['tflops']:8.3f} TFLOP/s  "
                          f"peak memory {mem:>9}  x{speedup(r, rows[0]):5.2f} of {rows[0]['loop']}  "
                          f"(rounds: {', '.join(f'{x:.1f}' for x in r['rounds'])})")
        finally:
            if pngs is not None:
                shutil.rmtree(pngs, ignore_errors=True)
    first = args.variants[0] if args.variants[0] == "reference" else VARIANTS[args.variants[0]][0]
    print(f"\n| workload | batch | loop | images/s | GFLOP/image | TFLOP/s | peak GPU memory | vs {first} |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        ref = next(x for x in results if x["model"] == r["model"] and x["batch"] == r["batch"])
        mem = f"{r['peak_bytes'] / 2**30:.2f} GiB" if r["peak_bytes"] is not None else "n/a"
        print(f"| {r['model']} | {r['batch']} | {r['loop']} | {r['images_per_s']:.1f} | {r['flops_per_image'] / 1e9:.3f} | "
              f"{r['tflops']:.3f} | {mem} | {speedup(r, ref):.2f}x |")


if __name__ == "__main__":
    main()
