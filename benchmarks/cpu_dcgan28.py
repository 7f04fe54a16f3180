"""Images/s of gankit's DCGAN on 28x28 Fashion-MNIST against a plain pytorch/examples-style loop.

Both sides train the same networks (gankit's DCGAN G and D at 28x28, one channel), the same
loss (non-saturating, with logits), Adam 2e-4 (0.5, 0.999), the same batch size, one D step
and one G step per iteration. The reference reads the data the usual way: torchvision's
FashionMNIST dataset with ToTensor + Normalize and a DataLoader with worker processes.
gankit keeps the dataset on the device and draws batches from it.

The two are timed alternately, several rounds, and the median of each is reported with their
ratio, so both see the same machine state. This is a benchmark, not a test.

    python benchmarks/cpu_dcgan28.py --data-dir PATH_TO_FASHION_MNIST [--batch 128] [--width 64]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F


def reference_loop(data_dir: Path, batch: int, width: int, workers: int):
    """A pytorch/examples dcgan/main.py-style loop; returns a function that runs n iterations."""
    import torchvision.transforms as T
    from torchvision.datasets import FashionMNIST

    from gankit import nets

    root = Path(tempfile.mkdtemp(prefix="fmnist-tv-"))
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                 "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(data_dir / name, raw / name)
        with open(raw / name, "rb") as src:  # torchvision reads the unpacked files
            import gzip

            (raw / name[:-3]).write_bytes(gzip.decompress(src.read()))
    dataset = FashionMNIST(str(root), train=True, download=False,
                           transform=T.Compose([T.ToTensor(), T.Normalize((0.5,), (0.5,))]))
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch, shuffle=True, num_workers=workers,
                                         drop_last=True, persistent_workers=workers > 0)
    G = nets.build("dcgan-g", z_dim=100, img_resolution=28, img_channels=1, width=width)
    D = nets.build("dcgan-d", img_resolution=28, img_channels=1, width=width)
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    ones, zeros = torch.ones(batch), torch.zeros(batch)
    it = iter(loader)

    def run(n: int):
        nonlocal it
        for _ in range(n):
            try:
                real, _ = next(it)
            except StopIteration:
                it = iter(loader)
                real, _ = next(it)
            D.zero_grad()
            err_real = F.binary_cross_entropy_with_logits(D(real), ones)
            err_real.backward()
            fake = G(torch.randn(batch, 100))
            err_fake = F.binary_cross_entropy_with_logits(D(fake.detach()), zeros)
            err_fake.backward()
            opt_d.step()
            G.zero_grad()
            err_g = F.binary_cross_entropy_with_logits(D(fake), ones)
            err_g.backward()
            opt_g.step()

    return run, root


def gankit_loop(data_dir: Path, batch: int, width: int):
    from gankit.train.run import open_run

    os.environ["GANKIT_DATA"] = str(data_dir)
    trainer = open_run(recipe="dcgan", data="fashion-mnist", batch=batch, steps=10**9, device="cpu",
                       out=tempfile.mkdtemp(prefix="gankit-bench-"), progress_bar=False, log=lambda s: None,
                       sets=[f"G.width={width}", f"D.width={width}"])

    def run(n: int):
        for _ in range(n):
            trainer.train_step()

    return run


def timed(run, steps: int, batch: int) -> float:
    start = time.perf_counter()
    run(steps)
    return steps * batch / (time.perf_counter() - start)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", type=Path, default=Path(os.environ.get("GANKIT_DATA", "/usr/share/datasets/fashion-mnist")))
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--width", type=int, default=64, help="DCGAN width (64 = the paper's)")
    p.add_argument("--steps", type=int, default=20, help="iterations per timed round")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--workers", type=int, default=2, help="DataLoader workers of the reference loop")
    args = p.parse_args()

    torch.manual_seed(0)
    ref, tmp = reference_loop(args.data_dir, args.batch, args.width, args.workers)
    ours = gankit_loop(args.data_dir, args.batch, args.width)
    ref(3)  # warm-up: worker start, allocator, first-call overheads
    ours(3)
    ref_rates, our_rates = [], []
    for _ in range(args.rounds):
        ref_rates.append(timed(ref, args.steps, args.batch))
        our_rates.append(timed(ours, args.steps, args.batch))
    r, o = statistics.median(ref_rates), statistics.median(our_rates)
    print(f"device: cpu ({torch.get_num_threads()} threads), torch {torch.__version__}, batch {args.batch}, "
          f"width {args.width}, {args.rounds} rounds x {args.steps} iterations")
    print(f"reference loop (torchvision dataset + DataLoader, {args.workers} workers): {r:8.1f} images/s  "
          f"(rounds: {', '.join(f'{x:.1f}' for x in ref_rates)})")
    print(f"gankit trainer:                                          {o:8.1f} images/s  "
          f"(rounds: {', '.join(f'{x:.1f}' for x in our_rates)})")
    print(f"ratio gankit / reference: {o / r:.2f}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
