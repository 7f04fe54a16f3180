"""gankit directions: find a latent direction for an attribute (InterFaceGAN, Shen et al. 2020).

Draws -n latents, generates and scores them (--score), keeps the top and bottom --fraction (2%)
as positives and negatives, fits a linear SVM on their latents with --val-fraction of each held
out, and writes the SVM's unit normal as OUT.npy and how it was made as OUT.json (validation
accuracy, score, n, model). Validation accuracy near 100% means the attribute is close to
linear in this latent space and `gankit edit` along the direction will change it; near 50%
means it is not. --orthogonal-to removes other directions from the result (n1 - (n1.n2) n2,
renormalised), so an edit changes this attribute while holding those fixed.

Scores: fmnist:CLASS (the shipped Fashion-MNIST classifier's probability of CLASS: 0-9 or a name
such as Trouser, bag, ankle-boot), classifier:PATH:CLASS (a folder from `gankit features train`),
or MODULE:FUNCTION / FILE.py:FUNCTION, a function of a CPU float tensor of images [N, C, H, W] in
[-1, 1] that returns N scores.
"""

from __future__ import annotations

from gankit.cli.common import COUNT, add_device, add_model_source, add_subcommand, flag_ranges, path_flags
from gankit.config import SEED, Range, above, count, share


def add_parser(sub) -> None:
    p = add_subcommand(sub, "directions", "fit a latent direction for an attribute (InterFaceGAN)", __doc__.strip(), [
        "gankit directions --run runs/fm --score fmnist:Trouser --out trouser.npy",
        "gankit directions --run runs/fm --score fmnist:Bag -n 20000 --fraction 0.05 --out bag.npy",
        "gankit directions --export exports/fm --score my_scores.py:brightness --orthogonal-to bag.npy --out bright.npy",
    ])
    add_model_source(p)
    p.add_argument("--score", required=True, help="fmnist:CLASS, classifier:PATH:CLASS or MODULE:FUNCTION")
    p.add_argument("--out", required=True, help="OUT.npy for the direction; OUT.json beside it")
    p.add_argument("-n", type=int, default=10000, help="latents sampled and scored (default 10000)")
    p.add_argument("--fraction", type=float, default=0.02,
                   help="share of samples taken as positives, and as negatives (default 0.02: top and bottom 2%%)")
    p.add_argument("--val-fraction", type=float, default=0.3,
                   help="share of the positives and negatives held out to measure accuracy (default 0.3)")
    p.add_argument("--svm-c", type=float, default=1.0, help="the linear SVM's C (default 1.0)")
    p.add_argument("--orthogonal-to", nargs="+", metavar="DIR.npy", default=[],
                   help="directions to hold fixed: removed from the result, which is renormalised")
    p.add_argument("--seed", type=int, default=0, help="latent seed; also splits off the validation set (default 0)")
    p.add_argument("--class", dest="cls", help="conditional models: draw every sample from this class "
                                               "(default: all classes in turn)")
    p.add_argument("--batch", type=int, default=256, help="images generated and scored at once (default 256)")
    add_device(p)
    flag_ranges(p, {"-n": count(2), "--fraction": Range(0.0, 0.5, open_low=True), "--svm-c": above(0),
                    "--val-fraction": share(open_low=True, open_high=True), "--seed": SEED, "--batch": COUNT})
    path_flags(p, ["--orthogonal-to"])
    p.set_defaults(handler=run)


def run(args) -> int:
    import time

    import torch

    import gankit
    from gankit.cli.latent_args import class_labels, load_image_generator, model_record, out_path
    from gankit.latent.directions import fit_direction, load_direction, orthogonalize, save_direction, score_samples
    from gankit.latent.scores import get_scorer
    from gankit.sampling import latents
    from gankit.inference import resolve_device

    out = out_path(args.out, ".npy")
    start = time.perf_counter()
    device = resolve_device(args.device)
    scorer = get_scorer(args.score, device)
    G, meta = load_image_generator(args, device)
    scorer.check(meta["shape"], meta.get("data"))
    z_dim = meta["z_dim"]
    others = [load_direction(p, z_dim, "--orthogonal-to").numpy() for p in args.orthogonal_to]
    z = latents(args.n, z_dim, args.seed)
    k = getattr(G, "c_dim", 0)
    c = class_labels(args.cls, args.n, G, meta) if (args.cls is not None or not k) else torch.arange(args.n) % k
    print(f"scoring {args.n} samples: {scorer.label}")
    scores = score_samples(G, scorer, z, c, args.batch, device).numpy()
    fit = fit_direction(z.numpy(), scores, args.fraction, args.val_fraction, args.seed, args.svm_c)
    normal = fit.normal
    info = {"direction": "unit normal of a linear SVM separating the top and bottom scored latents (InterFaceGAN)",
            "score": args.score, "label": scorer.label, "n": args.n, "seed": args.seed, "fraction": args.fraction,
            "val_fraction": args.val_fraction, "svm_c": args.svm_c, **fit.summary(),
            "scores": {"mean": float(scores.mean()), "std": float(scores.std()), "min": float(scores.min()),
                       "max": float(scores.max())},
            "class": args.cls if args.cls is not None else ("all, in turn" if k else None),
            "model": model_record(args, meta), "gankit_version": gankit.__version__}
    if others:
        normal = orthogonalize(fit.normal, others)
        info["orthogonal_to"] = [{"file": p, "cosine_before": float(fit.normal @ o)}
                                 for p, o in zip(args.orthogonal_to, others)]
        info["cosine_with_fit"] = float(normal @ fit.normal)
    path, meta_path = save_direction(out, normal, info)
    print(f"validation accuracy {fit.val_accuracy:.3f} on {fit.n_val} held-out latents "
          f"(train {fit.train_accuracy:.3f}); positives scored >= {fit.positive_above:.4g}, "
          f"negatives <= {fit.negative_below:.4g}")
    if others:
        print(f"removed {len(others)} direction(s); cosine with the fitted normal {info['cosine_with_fit']:.3f}")
    print(f"wrote {path} and {meta_path} ({time.perf_counter() - start:.0f} s)")
    return 0
