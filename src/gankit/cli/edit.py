"""gankit edit: move latents along a direction and render the sweep (rows = seeds, columns = alphas).

Each image is G(z + alpha * n) for a unit direction n (from `gankit directions`, or any .npy
vector of z_dim numbers, normalised to length 1): alpha is in units of the prior's standard
deviation, and a typical latent is sqrt(z_dim) long, so |alpha| of 2-3 is a strong edit. With
--truncation the seeds' latents are truncated first, then moved.

Writes OUT.png (the grid), OUT.gif (one frame per alpha, all seeds in each), OUT.latents.npy
(the latent of every image in reading order: row-major, seeds x alphas) and, with --score, prints
the scorer's mean per alpha and writes OUT.scores.json.
"""

from __future__ import annotations

from gankit.cli.common import add_device, add_model_source, add_subcommand, flag_ranges, path_flags
from gankit.cli.latent_args import add_generation, add_latent_sources, allow_negative_values
from gankit.config import above


def add_parser(sub) -> None:
    p = add_subcommand(sub, "edit", "move latents along an attribute direction: grid + GIF", __doc__.strip(), [
        "gankit edit --run runs/fm --direction trouser.npy --seeds 0-7 --alphas -3:3:7 --out edit.png",
        "gankit edit --run runs/fm --direction trouser.npy --seeds 0-99 --alphas -2,0,2 --score fmnist:Trouser --out e.png",
        "gankit edit --export exports/fm --direction bag.npy --latents picks.latents.npy --out bag-edit.png",
    ])
    add_model_source(p)
    p.add_argument("--direction", required=True, metavar="FILE.npy", help="a direction written by gankit directions")
    add_latent_sources(p, "seeds of the images to edit, one row each (default 0-7): 0-7 or 3,17,42", required=False)
    p.add_argument("--alphas", default="-3:3:7", help="START:STOP:COUNT or a list such as -2,0,2 (default -3:3:7)")
    p.add_argument("--out", required=True, help="OUT.png; OUT.gif, OUT.latents.npy (and OUT.scores.json) beside it")
    p.add_argument("--score", help="also score every image and report the mean per alpha: fmnist:CLASS, "
                                   "classifier:PATH:CLASS or MODULE:FUNCTION")
    p.add_argument("--fps", type=float, default=4.0, help="GIF frames per second (default 4)")
    p.add_argument("--no-pingpong", dest="pingpong", action="store_false", help="the GIF plays forward only")
    add_generation(p)
    add_device(p)
    flag_ranges(p, {"--fps": above(0)})
    path_flags(p, ["--direction"])
    allow_negative_values(p)
    p.set_defaults(handler=run)


def run(args) -> int:
    import json
    from pathlib import Path

    import torch

    from gankit.atomic import save_npy, write_file
    from gankit.cli.common import check_grid, grid_capacity
    from gankit.cli.latent_args import (apply_truncation, class_labels, endpoint_latents, latents_flag,
                                        load_image_generator, model_record, out_path, parse_alphas)
    from gankit.latent.directions import load_direction
    from gankit.latent.scores import get_scorer
    from gankit.sampling import enlarge, grid_image, save_gif, save_png
    from gankit.inference import render, resolve_device

    out = out_path(args.out, ".png")
    device = resolve_device(args.device)
    scorer = get_scorer(args.score, device) if args.score else None
    G, meta = load_image_generator(args, device)
    if scorer is not None:
        scorer.check(meta["shape"], meta.get("data"))
    z_dim, side = meta["z_dim"], meta["shape"][-1]
    alphas = parse_alphas(args.alphas, most=grid_capacity(side))  # the model first: its image size bounds COUNT
    n = load_direction(args.direction, z_dim)
    if args.seeds is None and not args.latents:
        args.seeds = "0-7"
    z0 = apply_truncation(endpoint_latents(args, z_dim, most=grid_capacity(side)), args.truncation)
    rows, cols = len(z0), len(alphas)
    source = latents_flag(args)
    check_grid(rows * cols, side, cols, f"{source} --alphas {args.alphas}", z_dim, meta["shape"][0])
    a = torch.tensor(alphas, dtype=torch.float32)
    z = (z0[:, None, :] + a[None, :, None] * n).reshape(rows * cols, z_dim)
    c = class_labels(args.cls, len(z), G, meta)
    x = render(G, z, c, args.batch, device)

    save_png(grid_image(x, nrow=cols), out)
    by_alpha = x.view(rows, cols, *x.shape[1:]).transpose(0, 1)
    save_gif([enlarge(grid_image(frame)) for frame in by_alpha], out.with_suffix(".gif"), fps=args.fps,
             pingpong=args.pingpong)
    save_npy(out.with_suffix(".latents.npy"), z.numpy())
    if c is not None:
        save_npy(out.with_suffix(".labels.npy"), c.numpy())
    print(f"wrote {out} ({rows} rows x {cols} alphas), {out.with_suffix('.gif')} and {out.with_suffix('.latents.npy')}")
    if scorer is not None:
        scores = scorer(x).view(rows, cols)
        means = scores.mean(0).tolist()
        print(f"{'alpha':>8}  mean {scorer.label}")
        for alpha, m in zip(alphas, means):
            print(f"{alpha:>8.3g}  {m:.4f}")
        record = {"score": args.score, "label": scorer.label, "direction": args.direction, "alphas": alphas,
                  "mean": means, "rows": rows, "truncation": args.truncation, "model": model_record(args, meta),
                  "scores": scores.tolist()}
        path = out.with_suffix(".scores.json")
        write_file(path, lambda tmp: Path(tmp).write_text(json.dumps(record, indent=1) + "\n"))
        print(f"wrote {path}")
    return 0
