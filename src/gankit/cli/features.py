"""gankit features: train a feature network (a classifier) for metrics in your own domain, and calibrate one.

`train`: the classifier's penultimate layer becomes a feature space for `gankit eval --features
classifier:DIR`; `fashion-mnist` trains a space like the shipped `fmnist` one. It learns to ignore the
--nuisances (mirroring, a 1-pixel shift, brightness, contrast, resampling through another size, slight
blur): each batch is augmented twice and the two views' features are pulled together.

`train --self-supervised`: for images without classes (a few dozen crops are enough). Two augmented views
of each image (a random crop and shift, then the --nuisances) are told apart from the views of the other
images (SimCLR's NT-Xent loss), so the space keeps what tells images apart and ignores what the views
change. CPU-fast defaults: 300 steps of 32 images, width 8, images resized to at most 64 px. Measure
with `gankit eval --features DIR` (for copies of training images too: --metrics memorization).

`calibrate NAME` (fmnist, inception, pixels, or classifier:PATH or PATH) prints where the space puts real data
(the floor: training images vs the test split), the same images under each nuisance, and noise
(the ceiling), each as a share of the ceiling; --record writes floor and ceiling into a classifier
folder's config.json, and `gankit eval` then prints them beside every FD.
"""

from __future__ import annotations

from gankit.cli.common import COUNT, add_device, add_strict, add_subcommand, flag_ranges
from gankit.config import SEED, Range, count
from gankit.nuisances import DEFAULT, NAMES


def add_parser(sub) -> None:
    p = add_subcommand(sub, "features", "train or calibrate a feature network for metrics", __doc__.strip(), [
        "gankit features train fashion-mnist --out features/fmnist",
        "gankit features train folder:cells/ --out features/cells --resolution 64 --nuisances flip,blur",
        "gankit features train --self-supervised folder:crops/ --out features/crops",
        "gankit features calibrate fmnist",
        "gankit features calibrate classifier:features/cells --record",
    ])
    p.add_argument("action", choices=["train", "calibrate"], help="what to do")
    p.add_argument("target", metavar="DATA|NAME",
                   help="train: labelled data (fashion-mnist, or folder:PATH with one subfolder per class), "
                        "or any images with --self-supervised; "
                        "calibrate: the extractor (fmnist, inception, pixels, or classifier:PATH or PATH)")
    train = p.add_argument_group("train")
    train.add_argument("--out", help="folder to write (config.json + classifier.safetensors)")
    train.add_argument("--self-supervised", action="store_true",
                       help="learn from the images alone, without classes (contrastive: two views of each image)")
    train.add_argument("--epochs", type=int, help="passes over labelled data (default 12)")
    train.add_argument("--steps", type=int,
                       help="optimizer steps (default: 300 with --self-supervised; with labels, instead of --epochs)")
    train.add_argument("--batch", type=int, help="images per step (default 128; 32 with --self-supervised)")
    train.add_argument("--width", type=int, help="channels of the first conv stage (default 32; 8 with "
                                                 "--self-supervised)")
    train.add_argument("--resolution", type=int, help="image size for folders (default: the largest image side; "
                                                      "with --self-supervised at most 64)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--lr", type=float, default=2e-3, help="peak learning rate of the one-cycle schedule")
    train.add_argument("--init", metavar="DIR",
                       help="start from this classifier folder (same data and width) instead of random weights")
    train.add_argument("--nuisances", default=",".join(DEFAULT),
                       help=f"changes the features learn to ignore: any of {','.join(NAMES)}, or none (default: all)")
    train.add_argument("--invariance", type=float,
                       help="weight of the loss pulling two augmented views' features together (default 1; 0: off; "
                            "labelled training only)")
    cal = p.add_argument_group("calibrate")
    cal.add_argument("--n", type=int, default=10000, help="real images (and noise images) per row (default 10000)")
    cal.add_argument("--data", help="real images (default: the classifier's training data; fashion-mnist for fmnist "
                                    "and inception); Fashion-MNIST is compared with its test split, other data "
                                    "with a held-out 20%%")
    cal.add_argument("--record", action="store_true",
                     help="write floor, ceiling and shares into the classifier folder's config.json")
    add_strict(p)
    add_device(p)
    flag_ranges(p, {"--epochs": COUNT, "--steps": COUNT, "--batch": COUNT, "--width": COUNT, "--resolution": count(4),
                    "--seed": SEED, "--invariance": Range(0.0), "--lr": Range(0.0, open_low=True), "--n": count(2, "images")})
    p.set_defaults(handler=run)


def run(args) -> int:
    from gankit.config import ConfigError
    from gankit.inference import resolve_device

    train_only = [f for f, v in (("--out", args.out), ("--init", args.init), ("--self-supervised",
                                                                               args.self_supervised or None))
                  if v is not None]
    cal_only = [f for f, v in (("--data", args.data), ("--record", args.record or None)) if v is not None]
    if args.action == "calibrate" and train_only:
        raise ConfigError(f"{train_only[0]}: only for `gankit features train`")
    if args.action == "train" and cal_only:
        raise ConfigError(f"{cal_only[0]}: only for `gankit features calibrate`")
    if args.epochs is not None and args.steps is not None:
        raise ConfigError("--steps: counts the training instead of --epochs; give one of them")
    if args.self_supervised:
        labelled_only = [f for f, v in (("--init", args.init), ("--epochs", args.epochs),
                                        ("--invariance", args.invariance)) if v is not None]
        if labelled_only:
            raise ConfigError(f"{labelled_only[0]}: only for labelled training, not with --self-supervised")
    device = resolve_device(args.device)
    if args.action == "calibrate":
        return calibrate(args, device)
    return train_self_supervised(args, device) if args.self_supervised else train(args, device)


def train(args, device) -> int:
    from gankit import data as datasets
    from gankit.classify import ClassifierError, load_classifier, save_classifier, train_classifier
    from gankit.cli.common import report_skipped
    from gankit.config import ConfigError
    from gankit.model_folder import check_can_save
    from gankit.nuisances import parse

    if args.out is None:
        raise ConfigError("--out: required for `gankit features train` (the folder to write)")
    try:
        nuisances = parse(args.nuisances)
    except ValueError as e:
        raise ClassifierError(str(e)) from None
    invariance = (1.0 if args.invariance is None else args.invariance) if nuisances else 0.0
    epochs, batch, width = args.epochs or 12, args.batch or 128, args.width or 32
    check_can_save(args.out, "classifier")  # before training, not after
    if args.target in ("fashion-mnist", "fashion-mnist:train"):
        train_data, test = datasets.load("fashion-mnist"), datasets.load("fashion-mnist:test")
    else:
        full = datasets.load(args.target, resolution=args.resolution, strict=args.strict)
        report_skipped(full)
        if not isinstance(full, datasets.ImageData):
            raise ClassifierError(f"{args.target}: 2-D points; a feature network learns from images")
        if full.labels is None:
            raise ClassifierError(f"{args.target}: needs one subfolder per class to learn labels")
        train_data, test = full.split(0.2, args.seed)  # hold out 20% to report accuracy
    init = load_classifier(args.init)[0] if args.init else None
    model, acc = train_classifier(train_data, test, epochs=epochs, batch=batch, width=width,
                                  seed=args.seed, device=device, nuisances=nuisances, invariance=invariance,
                                  lr=args.lr, init=init, steps=args.steps)
    info = {"data": args.target, "test_data": test.name, "test_accuracy": acc,
            **({"epochs": epochs} if args.steps is None else {"steps": args.steps}),
            "batch": batch, "lr": args.lr, "seed": args.seed, "nuisances": list(nuisances),
            "invariance": invariance}
    if init is not None:
        info["init_sha256"] = load_classifier(args.init)[1]["sha256"]  # the weights it was fine-tuned from
    save_classifier(model.cpu(), args.out, info)
    print(f"wrote {args.out}: test accuracy {acc:.4f} on {len(test)} images of {test.name}")
    return 0


def train_self_supervised(args, device) -> int:
    """Contrastive training on the images of ``args.target`` (labels, if any, unused); writes the same folder
    format as ``train``, with ``"self_supervised": true`` and the weights' sha256 in its config.json."""
    import json

    from gankit import data as datasets
    from gankit.classify import ClassifierError, save_classifier
    from gankit.cli.common import report_skipped
    from gankit.config import ConfigError
    from gankit.metrics import contrastive
    from gankit.model_folder import check_can_save
    from gankit.nuisances import parse

    if args.out is None:
        raise ConfigError("--out: required for `gankit features train` (the folder to write)")
    try:
        nuisances = parse(args.nuisances)
    except ValueError as e:
        raise ClassifierError(str(e)) from None
    check_can_save(args.out, "classifier")  # before training, not after
    resolution = args.resolution
    if resolution is None:
        largest = datasets.chosen_resolution(args.target)[0]
        resolution = min(largest, SELF_SUPERVISED_RESOLUTION) if largest else None
    data = datasets.load(args.target, resolution=resolution, strict=args.strict)
    report_skipped(data)
    if not isinstance(data, datasets.ImageData):
        raise ClassifierError(f"{args.target}: 2-D points; a feature network learns from images")
    steps, batch = args.steps or contrastive.STEPS, args.batch or contrastive.BATCH
    width = args.width or contrastive.WIDTH
    print(f"self-supervised features from {len(data)} images of {args.target} at {data.resolution}x{data.resolution}: "
          f"{steps} steps of {min(batch, len(data))} images, two views each")
    model, matched = contrastive.train_contrastive(data, steps=steps, batch=batch, width=width, lr=args.lr,
                                                   seed=args.seed, nuisances=nuisances, device=device)
    info = {"data": args.target, "self_supervised": True, "objective": "nt-xent",
            "temperature": contrastive.TEMPERATURE, "images": len(data), "steps": steps, "batch": min(batch, len(data)),
            "lr": args.lr, "seed": args.seed, "nuisances": list(nuisances),
            "crop": {"area": list(contrastive.CROP_AREA), "aspect": list(contrastive.CROP_ASPECT),
                     "translate": contrastive.TRANSLATE},
            "views_matched": matched}
    folder = save_classifier(model.cpu(), args.out, info)
    digest = json.loads((folder / "config.json").read_text())["sha256"]
    print(f"wrote {args.out}: views matched to their twin {matched:.0%} in the last steps; weights sha256 "
          f"{digest[:16]}; measure with `gankit eval --features {args.out}`")
    return 0


SELF_SUPERVISED_RESOLUTION = 64  # the largest default image size of contrastive training: CPU-fast


def calibrate(args, device) -> int:
    import json
    from pathlib import Path

    from gankit import data as datasets
    from gankit.atomic import write_file
    from gankit.cli.common import report_skipped
    from gankit.config import ConfigError
    from gankit.data import source_key
    from gankit.metrics.calibration import calibrate as measure, format_table
    from gankit.metrics.features import SHIPPED, get_extractor

    if ":" not in args.target and (Path(args.target) / "config.json").is_file():  # a folder named by its path
        args.target = f"classifier:{args.target}"
    folder = SHIPPED / "fmnist" if args.target == "fmnist" else (
        Path(args.target.split(":", 1)[1]) if args.target.startswith("classifier:") else None)
    if args.record and folder is None:
        raise ConfigError(f"--record: {args.target} has no classifier folder to record in")
    extractor = get_extractor(args.target, device)
    config = json.loads((folder / "config.json").read_text()) if folder else {}
    spec = args.data or config.get("data", "fashion-mnist")
    if source_key(spec) == "fashion-mnist:train":
        real, test = datasets.load(spec), datasets.load("fashion-mnist:test")
    else:
        full = datasets.load(spec, resolution=extractor.resolution, strict=args.strict)
        report_skipped(full)
        if not isinstance(full, datasets.ImageData):
            raise ConfigError(f"--data {spec}: 2-D points; a feature space is calibrated on images")
        # the classifier's own held-out images when it is its data; else a fixed 20%
        real, test = full.split(0.2, config.get("seed", 0) if spec == config.get("data") else 0)
    result = measure(extractor, real, test, args.n)
    print(format_table(result, args.target))
    if args.record:
        config["calibration"] = {
            "sha256": config["sha256"], "n": result["n"], "real": result["real"], "test": result["test"],
            "floor": result["floor"], "ceiling": result["ceiling"],
            "rows": [{"images": label, "fd": fd, "share": share} for label, fd, share in result["rows"]]}
        write_file(folder / "config.json", lambda tmp: Path(tmp).write_text(json.dumps(config, indent=2) + "\n"))
        print(f"recorded in {folder / 'config.json'}")
    return 0
