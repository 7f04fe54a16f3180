"""The growing and staged generators on the tutorial's crops at 64x64: the same images seen, several seeds.

The second set of the comparison ``fmnist32.py`` runs on clothes: ``pggan``, ``lapgan`` and ``stackgan``
(unconditional: the crops have no classes) against ``dcgan``, on the 42 cell crops of mixed sizes that
``tests/data/cell_crops.py`` makes (the tutorial's folder), padded to 64x64 by the folder loader. Every recipe trains
for the same thousands of images (``--kimg``; 5 by default, the order of the tutorial's 5-minute run) with the
networks ``runs.CPU_NETS`` narrows and a batch of 14 (a third of the set; ``pggan`` keeps its own batches by
resolution, at most the set's size). Each run's G is measured on ``--n`` samples against the 42 crops in a feature
space learned from the crops themselves (``gankit features train --self-supervised``, seed 0, once): FD, precision,
recall, and the share of samples closer to a training crop than any two crops are (``memorized``). Runs are
reused (``--out``), so the table can be built over sessions; ``--table`` prints what is recorded.

    python benchmarks/crops64.py --kimg 5 --seeds 0,1,2
    python benchmarks/crops64.py --table
"""

from __future__ import annotations

from few_shot import features_for, make_folder
from fmnist32 import COMMON, protocol, run_one

BATCH = 14  # every recipe but pggan, whose batch is by resolution


def main() -> None:
    def run(recipe: str, seed: int, args) -> dict:
        folder = make_folder("cells", args.out)  # the tutorial's crops and their own feature space, made once
        features = features_for("cells", folder, args.out)
        sets = tuple(c for c in COMMON if not c.startswith("data.resolution")) + ("data.resolution=64",)
        train = () if recipe == "pggan" else ("--batch", str(BATCH))
        return run_one(recipe, seed, args.kimg, args.out, args.n, data=f"folder:{folder}", train=train, sets=sets,
                       evaluate=("--metrics", "fd,pr,memorization", "--features", str(features)))

    protocol(__doc__, 5.0, 2000, "runs/crops64", "the crops' own space", run)


if __name__ == "__main__":
    main()
