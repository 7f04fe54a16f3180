"""gankit features: train a feature network (a classifier) on labelled images, for metrics in your own domain.

The classifier's penultimate layer becomes a feature space for `gankit eval --features
classifier:DIR`; `fashion-mnist` rebuilds the shipped `fmnist` extractor.
"""

from __future__ import annotations

from gankit.cli.common import COUNT, add_device, add_strict, add_subcommand, flag_ranges
from gankit.config import SEED, count


def add_parser(sub) -> None:
    p = add_subcommand(sub, "features", "train a feature network for metrics", __doc__.strip(), [
        "gankit features train fashion-mnist --out features/fmnist",
        "gankit features train folder:cells/ --out features/cells --resolution 64",
    ])
    p.add_argument("action", choices=["train"], help="what to do")
    p.add_argument("data", help="labelled data: fashion-mnist, or folder:PATH with one subfolder per class")
    p.add_argument("--out", required=True, help="folder to write (config.json + classifier.safetensors)")
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--width", type=int, default=32, help="channels of the first conv stage")
    p.add_argument("--resolution", type=int, help="image size for folders (default: the largest image side)")
    p.add_argument("--seed", type=int, default=0)
    add_strict(p)
    add_device(p)
    flag_ranges(p, {"--epochs": COUNT, "--batch": COUNT, "--width": COUNT, "--resolution": count(4),
                    "--seed": SEED})
    p.set_defaults(handler=run)


def run(args) -> int:
    from gankit import data as datasets
    from gankit.classify import ClassifierError, save_classifier, train_classifier
    from gankit.cli.common import report_skipped
    from gankit.model_folder import check_can_save
    from gankit.train.trainer import resolve_device

    device = resolve_device(args.device)
    check_can_save(args.out, "classifier")  # before training, not after
    if args.data in ("fashion-mnist", "fashion-mnist:train"):
        train, test = datasets.load("fashion-mnist"), datasets.load("fashion-mnist:test")
    else:
        full = datasets.load(args.data, resolution=args.resolution, strict=args.strict)
        report_skipped(full)
        if not isinstance(full, datasets.ImageData):
            raise ClassifierError(f"{args.data}: 2-D points; a feature network learns from images")
        if full.labels is None:
            raise ClassifierError(f"{args.data}: needs one subfolder per class to learn labels")
        train, test = full.split(0.2, args.seed)  # hold out 20% to report accuracy
    model, acc = train_classifier(train, test, epochs=args.epochs, batch=args.batch, width=args.width, seed=args.seed,
                                  device=device)
    info = {"data": args.data, "test_data": test.name, "test_accuracy": acc, "epochs": args.epochs, "seed": args.seed}
    save_classifier(model.cpu(), args.out, info)
    print(f"wrote {args.out}: test accuracy {acc:.4f} on {len(test)} images of {test.name}")
    return 0
