"""gankit sample: draw images from a trained generator, as one grid or one PNG per image.

Latent vectors are written beside the images (FILE.latents.npy, or DIR/latents.npy with row i
for image i), so any image can be traced back to its latent and regenerated.

With --reconstruct, an autoencoder (recipes ae, vae) encodes N real images instead (the model's
data, the test split for Fashion-MNIST) and decodes them again: the grid shows each row of
originals directly above its reconstructions. A VAE reconstructs from the posterior mean.

A model trained with --set data.mask=true also draws a content mask (where its crop ends and the
padding begins); it is never part of the images written. With --crop-to-content each image is cut
to the bounding box of its mask, so synthetic crops come out at their own sizes, like the crops
the model learnt from.
"""

from __future__ import annotations

from pathlib import Path

from gankit.cli.common import COUNT, add_device, add_model_source, add_strict, add_subcommand, flag_ranges
from gankit.config import SEED


def add_parser(sub) -> None:
    p = add_subcommand(sub, "sample", "draw images from a trained generator", __doc__.strip(), [
        "gankit sample --run runs/fm -n 64 --out grid.png",
        "gankit sample --export exports/fm -n 1000 --out samples/ --seed 7",
        "gankit sample --run runs/vae-fashion-mnist --reconstruct -n 32 --out recon.png",
    ])
    add_model_source(p)
    p.add_argument("-n", type=int, default=64, help="how many samples (default 64)")
    p.add_argument("--out", required=True, help="FILE.png for a grid, or a folder for one PNG per image")
    p.add_argument("--seed", type=int, default=0, help="latent seed (default 0)")
    p.add_argument("--truncation", type=float, metavar="PSI",
                   help="truncation trick: latents pulled toward the mean (0), z * PSI; 1 = off (default off); "
                        "the saved latents are the truncated ones")
    p.add_argument("--batch", type=int, default=256, help="samples generated at once (default 256)")
    p.add_argument("--class", dest="cls", help="conditional models: a class index or name (default: one column per class)")
    p.add_argument("--reconstruct", action="store_true",
                   help="autoencoders: encode and decode -n real images (chosen with --seed), "
                        "originals above reconstructions")
    p.add_argument("--data",
                   help="with --reconstruct: the images (default: the model's data, test split for Fashion-MNIST)")
    p.add_argument("--crop-to-content", action="store_true",
                   help="models trained with --set data.mask=true: cut each image to the bounding box of its "
                        "content mask (mask > 0) and write it as a plain grey or RGB PNG of that size (pixels in "
                        "the box but outside the mask keep what the model drew there, like a crop's background); "
                        "needs --out FOLDER")
    add_strict(p)
    add_device(p)
    flag_ranges(p, {"-n": COUNT, "--seed": SEED, "--batch": COUNT})
    p.set_defaults(handler=run)


def run(args) -> int:
    import numpy as np
    from PIL import Image

    from gankit.atomic import check_writable, save_npy, write_folder
    from gankit.cli.common import check_grid, check_memory
    from gankit.cli.latent_args import apply_truncation
    from gankit.config import ConfigError
    from gankit.inference import load_any, render, resolve_device, split_mask
    from gankit.sampling import crop_to_content, grid_image, latents, points_image, save_png, to_uint8

    check_writable(Path(args.out))
    suffix = Path(args.out).suffix.lower()
    if suffix in Image.registered_extensions() and suffix != ".png":
        raise ConfigError(f"--out {args.out}: samples are written as PNG (lossless): give "
                          f"{Path(args.out).with_suffix('.png')} for a grid, or a folder name for one PNG per image")
    if args.data and not args.reconstruct:
        raise ConfigError(f"--data {args.data}: only used with --reconstruct")
    if args.strict and not args.reconstruct:
        raise ConfigError("--strict: only used with --reconstruct, which reads real images")
    if args.reconstruct and args.cls is not None:
        raise ConfigError(f"--class {args.cls}: --reconstruct decodes real images, not classes")
    if args.crop_to_content and (args.reconstruct or suffix == ".png"):
        raise ConfigError("--crop-to-content: writes one PNG per image, each of its own size: give --out a folder "
                          "name" + (", without --reconstruct" if args.reconstruct else ""))
    device = resolve_device(args.device)
    G, meta = load_any(run=args.run, checkpoint=args.checkpoint, export=args.export, device=device, net=args.net)
    if args.crop_to_content:
        check_has_mask(meta, "--crop-to-content")
    if args.reconstruct:
        return reconstruct(args, G, meta, device)
    out = Path(args.out)
    grid = out.suffix.lower() == ".png" and meta.get("kind") != "points"
    if grid:  # every image is held until the grid is drawn
        k = getattr(G, "c_dim", 0)
        check_grid(args.n, meta["shape"][-1], k if k and args.cls is None else None, f"-n {args.n}", meta["z_dim"],
                   meta["shape"][0])
    else:  # a folder is written a batch at a time; the latents (and 2-D points) are held whole
        check_memory(args.n * (4 * meta["z_dim"] + 24), f"-n {args.n}", f"{args.n:,} latents")  # + label, point
    z = apply_truncation(latents(args.n, meta["z_dim"], args.seed), args.truncation)
    c, nrow = class_labels(args.cls, args.n, G, meta)
    if out.suffix.lower() == ".png":
        x = render(G, z, c, args.batch, device)
        image = points_image(x) if meta.get("kind") == "points" else grid_image(x, nrow=nrow)
        save_png(image, out)
        save_npy(out.with_suffix(".latents.npy"), z.numpy())
        if c is not None:
            save_npy(out.with_suffix(".labels.npy"), c.numpy())
        print(f"wrote {out} ({args.n} samples) and {out.with_suffix('.latents.npy')}")
        return 0
    if meta.get("kind") == "points":
        raise ConfigError(f"--out {out}: 2-D point samples go into one plot; give a FILE.png")

    empty = [0]

    def fill(folder: Path) -> None:  # a batch at a time, so -n is bounded by the disk, not by memory
        for start in range(0, args.n, args.batch):
            part = slice(start, start + args.batch)
            drawn = render(G, z[part], None if c is None else c[part], args.batch, device,
                           with_mask=args.crop_to_content)
            if args.crop_to_content:
                pictures, mask = split_mask(drawn)
                images, blank = crop_to_content(to_uint8(pictures), mask)
                empty[0] += blank
            else:
                images = to_uint8(drawn)
            for i, img in enumerate(images, start):
                arr = img.permute(1, 2, 0).numpy()
                Image.fromarray(arr[..., 0] if arr.shape[2] == 1 else arr).save(folder / f"{i:06d}.png")
        np.save(folder / "latents.npy", z.numpy())
        if c is not None:
            np.save(folder / "labels.npy", c.numpy())

    write_folder(out, fill, marker="latents.npy")  # whole: an older sample folder leaves no stale images behind
    cut = ", each cut to its content mask's bounding box" if args.crop_to_content else ""
    print(f"wrote {args.n} images to {out}/{cut} with their latents in {out / 'latents.npy'}")
    if empty[0]:
        print(f"note: {empty[0]} of the {args.n} images have an empty content mask (the model drew no crop there); "
              f"they are written whole")
    return 0


def check_has_mask(meta: dict, flag: str) -> None:
    """Refuse ``flag`` for a model that draws no content mask: one line saying how to train one that does."""
    from gankit.config import ConfigError

    if not meta.get("mask"):
        raise ConfigError(f"{flag}: this model draws no content mask (it was trained without --set data.mask=true, "
                          f"which needs an image folder padded with data.size_policy=pad); nothing to crop to")


def class_labels(choice, n: int, G, meta: dict):
    """Labels for a conditional generator: all ``choice`` (index or name, as walk and edit take it), or one
    column per class when no class is chosen; (None, None) otherwise."""
    import torch

    from gankit.cli import latent_args

    k = getattr(G, "c_dim", 0)
    if k and choice is None:
        return torch.arange(n) % k, k
    return latent_args.class_labels(choice, n, G, meta), None


def reconstruct(args, G, meta: dict, device) -> int:
    """Encode -n real images and decode them; one PNG with each row of originals above its reconstructions."""
    import math

    import torch

    from gankit.atomic import save_npy
    from gankit.cli.common import model_data
    from gankit.config import ConfigError
    from gankit.inference import render
    from gankit.nets.autoencoder import codes, has_encoder
    from gankit.sampling import grid_image, save_png

    if not has_encoder(G):
        raise ConfigError(f"--reconstruct: this model ({meta.get('recipe', '?')} recipe, network "
                          f"{G.config['arch']}) has no encoder; train one with --recipe ae or --recipe vae")
    if meta.get("kind") == "points":
        raise ConfigError("--reconstruct: draws images; this model was trained on 2-D points")
    out = Path(args.out)
    if out.suffix.lower() != ".png":
        raise ConfigError(f"--out {out}: --reconstruct writes one grid; give a FILE.png")
    data = model_data(meta, args.data, args.strict)
    if args.n > len(data):
        raise ConfigError(f"-n {args.n}: the data has only {len(data)} images")
    index = torch.randperm(len(data), generator=torch.Generator().manual_seed(args.seed))[:args.n]
    x = data.images[index].float().div(127.5).sub(1.0)
    if meta.get("mask"):  # the encoder reads the content mask too, as in training; the grid shows the images
        z = codes(G, torch.cat([x, data.footprint[index].float().mul(2).sub(1)], dim=1), args.batch, device)
    else:
        z = codes(G, x, args.batch, device)
    x_hat = render(G, z, None, args.batch, device)
    cols = min(args.n, math.ceil(math.sqrt(2 * args.n)))
    rows = math.ceil(args.n / cols)
    blank = torch.full((rows * cols - args.n, *x.shape[1:]), -1.0)
    pairs = torch.stack([torch.cat([x, blank]).view(rows, cols, *x.shape[1:]),
                         torch.cat([x_hat, blank]).view(rows, cols, *x.shape[1:])], dim=1)
    save_png(grid_image(pairs.flatten(0, 2), nrow=cols), out)
    save_npy(out.with_suffix(".latents.npy"), z.numpy())
    save_npy(out.with_suffix(".indices.npy"), index.numpy())
    print(f"wrote {out} ({args.n} originals above their reconstructions), their codes in "
          f"{out.with_suffix('.latents.npy')} and image indices in {out.with_suffix('.indices.npy')}")
    return 0
