"""gankit eval: measure a generator against real data, offline; prints a table and appends JSON beside the model.

Image metrics (features: fmnist for 28x28 grayscale, inception with a local weights file,
classifier:PATH from `gankit features train`, with labels or self-supervised, or pixels): fd (Frechet distance), kid (kernel distance, unbiased, 100 subsets), pr
(precision/recall, k=3), dc (density/coverage, k=5) by default; with a classifier's class head
also is (Inception-Score formula with the domain classifier), and for class-conditional models
cacc (share of samples classified as the requested class) and cas (Classification Accuracy
Score, next to the same classifier trained on real images). memorization (on request, against all
the training images): the share of samples nearer a training image than any two training images are
to each other (copies), and nearer than 95% of the training images are to their nearest other one
(memorized_p5); the closest (sample, training image) pairs are drawn side by side to
memorization.png beside the results. 2-D data: modes (modes captured, HQ %, reverse KL, per the
PacGAN protocol). A Fashion-MNIST model is compared with the test split.
Generated images reach the features as real ones do (8-bit values, antialiased resizing from the
model's size to the extractor's); each result records the feature weights' sha256, and the space's
floor (real vs test) and ceiling (noise) are printed when calibrated (`gankit features calibrate`).
"""

from __future__ import annotations

from gankit.cli.common import COUNT, add_device, add_model_source, add_strict, add_subcommand, flag_ranges
from gankit.config import SEED, count


def add_parser(sub) -> None:
    p = add_subcommand(sub, "eval", "measure a generator (fd, kid, pr, dc, modes)", __doc__.strip(), [
        "gankit eval --run runs/demo",
        "gankit eval --export exports/fm --metrics fd,kid --n 10000 --features fmnist",
        "gankit eval --run runs/nsgan-ring8 --metrics modes --n 2500",
        "gankit eval --run runs/cells --metrics fd,memorization --features features/cells",
    ])
    add_model_source(p)
    p.add_argument("--metrics", help="comma-separated: fd,kid,pr,dc (the default for images), is, cacc, cas, "
                                     "memorization; modes for 2-D data")
    p.add_argument("--n", type=int, default=10000, help="generated samples, and at most this many real ones (default 10000)")
    p.add_argument("--features", help="fmnist | inception | pixels | classifier:PATH or PATH, a folder from `gankit "
                                      "features train` (default: fmnist for 28x28 grayscale)")
    p.add_argument("--data", help="real data to compare with (default: the model's, test split for Fashion-MNIST)")
    p.add_argument("--seed", type=int, default=0, help="latent seed (default 0)")
    p.add_argument("--cas-epochs", type=int, default=5, help="epochs of the CAS classifiers (default 5)")
    add_strict(p)
    add_device(p)
    flag_ranges(p, {"--n": count(2, "samples"), "--seed": SEED, "--cas-epochs": COUNT})
    p.set_defaults(handler=run)


MEMORIZATION_PNG = "memorization.png"


def run(args) -> int:
    from pathlib import Path

    from gankit.cli.common import model_data
    from gankit.config import ConfigError
    from gankit.data import ImageData, source_key
    from gankit.inference import load_any, resolve_device
    from gankit.metrics.evaluate import append_results, eval_data_spec, evaluate
    from gankit.run_folder import EVAL

    device = resolve_device(args.device)
    G, meta = load_any(run=args.run, checkpoint=args.checkpoint, export=args.export, device=device, net=args.net)
    data = model_data(meta, args.data, args.strict)
    metrics = [m.strip() for m in args.metrics.split(",")] if args.metrics else None
    train_data = cas_test = None
    if metrics and "cas" in metrics and isinstance(data, ImageData):  # (2-D data: refused by evaluate)
        # CAS compares with a classifier trained on as many real training images
        if source_key(args.data or eval_data_spec(meta["data"])) == source_key(meta["data"]):
            train_data, cas_test = data.split(0.2, seed=0)  # one set: the baseline is never tested on what it saw
        else:
            train_data = model_data(meta, meta["data"], args.strict)
    memorization_data = pairs = None
    if metrics and "memorization" in metrics and isinstance(data, ImageData):  # all the images it was trained on
        same = source_key(args.data or eval_data_spec(meta["data"])) == source_key(meta["data"])
        memorization_data = data if same else model_data(meta, meta["data"], args.strict)
        pairs = (Path(args.run) / MEMORIZATION_PNG if args.run else Path(args.export) / MEMORIZATION_PNG
                 if args.export else Path(args.checkpoint).with_suffix(".memorization.png"))
    try:
        result = evaluate(G, meta, data, metrics=metrics, n=args.n, features=args.features, seed=args.seed, device=device,
                          train_data=train_data, cas_epochs=args.cas_epochs, cas_test_data=cas_test,
                          memorization_data=memorization_data, pairs_path=pairs)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    net = "ema" if meta.get("ema") else "G"  # a run's G and its moving average give different figures: say which
    result.update({"model": args.run or args.checkpoint or args.export, "net": net, "step": meta.get("step"),
                   "kimg": meta.get("kimg")})
    step = f" at step {meta['step']}" if meta.get("step") is not None else ""  # an export may not say
    print(f"network: {'the moving average of G' if net == 'ema' else 'G'}{step}")
    print(f"{'metric':<12} value")
    for k, v in result["metrics"].items():
        print(f"{k:<12} {v:.5g}")
    print(f"protocol: {result['protocol']} ({result['seconds']:.1f} s)")
    if result.get("scale"):
        print(result["scale"])
    if result.get("memorization_image"):
        print(f"closest (sample, training image) pairs, nearest first: {result['memorization_image']}")
    if args.run:
        out = Path(args.run) / EVAL
    elif args.export:
        out = Path(args.export) / EVAL
    else:
        out = Path(args.checkpoint).with_suffix(".eval.json")
    append_results(out, result)
    print(f"appended to {out}")
    return 0
