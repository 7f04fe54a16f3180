"""gankit dataset: write a labelled synthetic dataset from a generator, and measure whether it helps.

Labels: a class-conditional generator's images carry the class they were asked for; an unconditional
one's carry the class a classifier sees (--label-with fmnist or classifier:PATH from `gankit features
train`). With --label-with, an image is kept only when the classifier agrees with its label and is at
least --min-confidence sure; generation goes on until each class has its share (or 20 times the images
asked for were drawn; a class that falls short is reported, never padded; when one has no image at all,
folder readers number the classes after it differently, and the output says so).

Writes OUT/images/CLASS/NNNNNN.png (readable by `gankit train --data folder:OUT/images` and by
torchvision's ImageFolder, with the same label indices), OUT/labels.csv, OUT/latents.npy (row i made
image i) and OUT/dataset.json, replacing an older dataset only once the new one is complete. Unlabelled
images (an unconditional generator without --label-with) go into OUT/images/ directly.

A model trained with --set data.mask=true draws a content mask beside each image, never written as part
of it; with --crop-to-content each image is cut to its mask's bounding box, so the synthetic crops have
their own sizes, like the crops the model learnt from (the labeller, if any, judges the whole image).

--evidence trains the same classifier on real images, on the synthetic ones and on both, at equal
optimizer steps and batch, tests each on held-out real images over --seeds, prints the accuracies and
the gain of adding the synthetic set with a paired t-test, and writes OUT/evidence.json. The real images are the
model's training data (or --real), the test images its test split (Fashion-MNIST) or a held-out 20% of a
folder (or --test); --real-n keeps a fixed random subset of the real training images, to ask what
synthetic data adds to a small real set.
"""

from __future__ import annotations

import math

from gankit.cli.common import COUNT, add_device, add_model_source, add_strict, add_subcommand, flag_ranges
from gankit.config import SEED, Range, count, share


EVIDENCE_ONLY = {"real": None, "real_n": None, "test": None, "seeds": "0,1,2", "epochs": 10, "width": 32}


def add_parser(sub) -> None:
    p = add_subcommand(sub, "dataset", "write a labelled synthetic dataset (and test whether it helps)",
                       __doc__.strip(), [
                           "gankit dataset --run runs/cgan --per-class 500 --out synthetic/fm",
                           "gankit dataset --run runs/dcgan --label-with fmnist --min-confidence 0.9 -n 5000 "
                           "--out synthetic/fm",
                           "gankit dataset --run runs/cgan --per-class 1000 --evidence --real-n 500 --out synthetic/fm",
                       ])
    add_model_source(p)
    p.add_argument("--out", required=True, help="folder to write")
    size = p.add_mutually_exclusive_group(required=True)
    size.add_argument("-n", type=int, help="images in all, split evenly over the classes")
    size.add_argument("--per-class", type=int, metavar="N", help="images per class")
    p.add_argument("--label-with", metavar="FEATURES",
                   help="fmnist | classifier:PATH: label (unconditional) or check (conditional) every image")
    p.add_argument("--min-confidence", type=float, default=0.0, metavar="P",
                   help="keep an image only when the --label-with classifier gives its label at least this "
                        "probability (default 0: agreement is enough)")
    p.add_argument("--seed", type=int, default=0, help="latent seed (default 0)")
    p.add_argument("--truncation", type=float, metavar="PSI",
                   help="truncation trick: latents pulled toward the mean, z * PSI (default off)")
    p.add_argument("--batch", type=int, default=256, help="images generated at once (default 256)")
    p.add_argument("--crop-to-content", action="store_true",
                   help="models trained with --set data.mask=true: cut each image to the bounding box of its "
                        "content mask (mask > 0), written as a plain grey or RGB PNG of that size (pixels in the box "
                        "but outside the mask keep what the model drew there); not with --evidence")
    evidence = p.add_argument_group("evidence")
    evidence.add_argument("--evidence", action="store_true", help="measure whether the set helps a classifier")
    evidence.add_argument("--real", metavar="SPEC", help="labelled real training images (default: the model's data)")
    evidence.add_argument("--real-n", type=int, metavar="N", help="a fixed random subset of this many real training images")
    evidence.add_argument("--test", metavar="SPEC",
                          help="labelled real test images (default: Fashion-MNIST's test split, else 20%% of --real "
                               "held out)")
    evidence.add_argument("--seeds", metavar="LIST", help="classifier seeds (default 0,1,2)")
    evidence.add_argument("--epochs", type=int,
                          help="passes over real + synthetic; every classifier gets that many steps (default 10)")
    evidence.add_argument("--width", type=int, help="channels of the classifier's first stage (default 32)")
    add_strict(p)
    add_device(p)
    flag_ranges(p, {"-n": COUNT, "--per-class": COUNT, "--min-confidence": share("a probability"),
                    "--seed": SEED, "--truncation": Range(means="1 = off, 0 = the mean latent"),
                    "--batch": COUNT, "--real-n": count(2, "images"), "--epochs": COUNT, "--width": COUNT})
    p.set_defaults(handler=run)


def run(args) -> int:
    import json
    from pathlib import Path

    import gankit
    from gankit.atomic import check_replaceable, write_file
    from gankit.cli.common import check_memory, model_data
    from gankit.cli.latent_args import load_image_generator, model_record, parse_seeds
    from gankit.config import ConfigError
    from gankit.data import ImageData
    from gankit.synthetic import evidence as ev
    from gankit.synthetic.folder import MARKER, write_dataset
    from gankit.synthetic.labelled import label_names, synthesize
    from gankit.inference import resolve_device

    out = Path(args.out)
    check_replaceable(out, MARKER)  # before the work, not after
    for flag, default in EVIDENCE_ONLY.items():
        if getattr(args, flag) is not None and not args.evidence:
            raise ConfigError(f"--{flag.replace('_', '-')}: only used with --evidence")
        if getattr(args, flag) is None:
            setattr(args, flag, default)
    if args.strict and not args.evidence:
        raise ConfigError("--strict: only used with --evidence, which reads real images")
    if args.crop_to_content and args.evidence:
        raise ConfigError("--crop-to-content: images of many sizes; --evidence trains a classifier on images of one "
                          "size: leave one of them out")
    seeds = parse_seeds(args.seeds) if args.evidence else []
    ev.check_seeds(seeds, args.seeds)
    device = resolve_device(args.device)
    G, meta = load_image_generator(args, device)
    if args.crop_to_content:
        from gankit.cli.sample import check_has_mask

        check_has_mask(meta, "--crop-to-content")
    labeller = _labeller(args.label_with, device) if args.label_with else None
    classes = getattr(G, "c_dim", 0)
    conditional = bool(classes)
    if args.evidence:  # the real sets load and are checked before generation: a bad --real or --test costs nothing
        names = label_names(classes, meta.get("class_names"), labeller)
        if names is None:
            raise ConfigError("--evidence: needs labelled images; this generator is unconditional, add --label-with")
        real, test, test_seen = _real_sets(args, meta, model_data)
        ev.check_compatible(real, test, names, meta["shape"])
    k = len(label_names(classes, meta.get("class_names"), labeller) or [None])
    asked = args.per_class * k if args.per_class else args.n
    flag = f"--per-class {args.per_class}" if args.per_class else f"-n {args.n}"  # the images and latents kept:
    check_memory(asked * 4 * (meta["z_dim"] + math.prod(meta["shape"]) + 4), flag, f"{asked:,} images")  # float32
    data = synthesize(G, meta["z_dim"], n=args.n, per_class=args.per_class, class_names=meta.get("class_names"),
                      labeller=labeller, min_confidence=args.min_confidence, seed=args.seed,
                      truncation=args.truncation, batch=args.batch, device=device, data=meta.get("data"))
    labels = ("the class asked for" + (f", checked by {args.label_with}" if labeller else "") if conditional else
              f"the class {args.label_with} sees" if labeller else None)
    record = {"made_by": f"gankit {gankit.__version__}", "model": model_record(args, meta), "seed": args.seed,
              "truncation": args.truncation, "batch": args.batch, "labels": labels,
              "min_confidence": args.min_confidence if labeller else None}
    if args.crop_to_content:
        empty = _crop_to_content(data, G, conditional, args.batch, device)
        record["cropped_to_content"] = True
        if empty:
            print(f"note: {empty} of the {len(data)} images have an empty content mask (the model drew no crop "
                  f"there); they are written whole")
    write_dataset(out, data, record)
    counts = ", ".join(f"{name} {c}" for name, c in zip(data.class_names or [], data.counts())) or "unlabelled"
    print(f"wrote {len(data)} images ({counts}; {data.drawn} drawn) to {out}: images/, latents.npy, "
          + ("labels.csv, " if data.labels is not None else "") + MARKER)
    why = (f"{args.label_with} rarely agreed with the class asked for" if conditional else
           f"the generator rarely makes what {args.label_with} calls that class")
    for name, (kept, asked) in data.short().items():
        print(f"short: {name}: {kept} of {asked} kept ({why} at --min-confidence {args.min_confidence}); "
              f"the dataset holds fewer")
    empty = [name for name, (kept, _) in data.short().items() if kept == 0]
    if empty:  # no folder for them: readers that number the folders they find shift the classes after them
        print(f"note: no image of {', '.join(empty)}: folder readers (gankit's, torchvision's ImageFolder) will number "
              f"the classes after it lower than labels.csv and dataset.json do; use labels.csv for the indices")
    if not args.evidence:
        return 0
    synthetic = ImageData(data.images, data.labels, data.class_names, "synthetic")
    result = ev.compare(real, synthetic, test, seeds=seeds, epochs=args.epochs, width=args.width, device=device)
    print(f"{'trained on':<16} {'test accuracy':>13}   ({result['test']}, {result['test_images']} images; "
          f"{result['steps']} steps each)")
    for arm in ev.ARMS:
        spread = f" +- {result['std'][arm]:.4f}" if result["std"][arm] is not None else ""
        print(f"{arm:<16} {result['mean'][arm]:>13.4f}{spread}")
    print(f"gain of adding the synthetic set: {100 * result['gain']:+.2f} points: {result['verdict']}")
    result["test_seen_by_generator"] = test_seen
    if test_seen:
        print(f"note: the generator was trained on {meta['data']}, test images included, which can favour the "
              f"synthetic set; give --test labelled images it never saw for an unbiased answer")
    path = out / "evidence.json"
    write_file(path, lambda tmp: Path(tmp).write_text(json.dumps(result, indent=1) + "\n"))
    print(f"wrote {path}")
    return 0


def _crop_to_content(data, G, conditional: bool, batch: int, device) -> int:
    """Cut ``data``'s images to their content masks' bounding boxes (drawn again from the latents kept, the mask
    only), in place; returns how many masks were empty (those images stay whole)."""
    from gankit.inference import render, split_mask
    from gankit.sampling import crop_to_content

    _, mask = split_mask(render(G, data.latents, data.labels if conditional else None, batch, device, with_mask=True))
    data.images, empty = crop_to_content(data.images, mask)
    return empty


def _real_sets(args, meta: dict, model_data):
    """(real training images, real test images, whether the generator trained on the test images) at the
    model's size, for --evidence."""
    from gankit.config import ConfigError
    from gankit.data import source_key
    from gankit.metrics.evaluate import eval_data_spec

    real_spec = args.real or meta["data"]
    real = model_data(meta, real_spec, args.strict, "--real")
    if real.labels is None:
        named = f"--real {real_spec}" if args.real else f"{real_spec} (the model's data; --real names others)"
        raise ConfigError(f"--evidence: {named}: needs labels (one subfolder per class)")
    test_spec = args.test or eval_data_spec(real_spec)
    if source_key(test_spec) == source_key(real_spec):  # no split of its own: hold a share out
        real, test = real.split(0.2, seed=0)
    else:
        test = model_data(meta, test_spec, args.strict, "--test")
    if args.real_n is not None:
        if args.real_n > len(real):
            raise ConfigError(f"--real-n {args.real_n}: {real_spec} has {len(real)} training images")
        real = real.subset(args.real_n)
        real.name = f"{real_spec} ({args.real_n} images)"
    return real, test, source_key(test_spec) == source_key(meta["data"])


def _labeller(spec: str, device):
    """The classifier of --label-with, or one line naming the flag."""
    from gankit.config import ConfigError
    from gankit.metrics.features import FeatureError, get_extractor
    from gankit.model_folder import ModelFolderError

    if spec != "fmnist" and not spec.startswith("classifier:"):
        raise ConfigError(f"--label-with {spec}: use fmnist or classifier:PATH (a folder from gankit features train)")
    try:
        return get_extractor(spec, device)
    except (FeatureError, ModelFolderError) as e:
        raise ConfigError(f"--label-with {spec}: {str(e).removeprefix(f'--features {spec}: ')}") from None
