"""gankit sample: draw images from a trained generator, as one grid or one PNG per image.

Latent vectors are written beside the images (FILE.latents.npy, or DIR/latents.npy with row i
for image i), so any image can be traced back to its latent and regenerated.
"""

from __future__ import annotations

from pathlib import Path

from gankit.cli.common import add_device, add_model_source, add_subcommand


def add_parser(sub) -> None:
    p = add_subcommand(sub, "sample", "draw images from a trained generator", __doc__.strip(), [
        "gankit sample --run runs/fm -n 64 --out grid.png",
        "gankit sample --export exports/fm -n 1000 --out samples/ --seed 7",
    ])
    add_model_source(p)
    p.add_argument("-n", type=int, default=64, help="how many samples (default 64)")
    p.add_argument("--out", required=True, help="FILE.png for a grid, or a folder for one PNG per image")
    p.add_argument("--seed", type=int, default=0, help="latent seed (default 0)")
    p.add_argument("--batch", type=int, default=256, help="samples generated at once (default 256)")
    p.add_argument("--class", dest="cls", help="conditional models: a class index or name (default: one column per class)")
    add_device(p)
    p.set_defaults(handler=run)


def run(args) -> int:
    import torch

    from gankit.config import ConfigError
    from gankit.export import load_any
    from gankit.sampling import grid_image, latents, points_image, save_png, to_uint8
    from gankit.atomic import save_npy
    from gankit.train.trainer import resolve_device

    if args.n < 1:
        raise ConfigError(f"-n {args.n}: must be at least 1")
    device = resolve_device(args.device)
    G, meta = load_any(run=args.run, checkpoint=args.checkpoint, export=args.export, device=device)
    z = latents(args.n, meta["z_dim"], args.seed)
    c, nrow = class_labels(args.cls, args.n, G, meta)
    with torch.no_grad():
        x = torch.cat([(G(z[i:i + args.batch].to(device)) if c is None else
                        G(z[i:i + args.batch].to(device), c[i:i + args.batch].to(device))).cpu()
                       for i in range(0, args.n, args.batch)])
    out = Path(args.out)
    if out.suffix.lower() == ".png":
        image = points_image(x) if meta.get("kind") == "points" else grid_image(x, nrow=nrow)
        save_png(image, out)
        save_npy(out.with_suffix(".latents.npy"), z.numpy())
        if c is not None:
            save_npy(out.with_suffix(".labels.npy"), c.numpy())
        print(f"wrote {out} ({args.n} samples) and {out.with_suffix('.latents.npy')}")
        return 0
    if meta.get("kind") == "points":
        raise ConfigError(f"--out {out}: 2-D point samples go into one plot; give a FILE.png")
    from PIL import Image

    out.mkdir(parents=True, exist_ok=True)
    images = to_uint8(x)
    for i, img in enumerate(images):
        arr = img.permute(1, 2, 0).numpy()
        save_png(Image.fromarray(arr[..., 0] if arr.shape[2] == 1 else arr), out / f"{i:06d}.png")
    save_npy(out / "latents.npy", z.numpy())
    if c is not None:
        save_npy(out / "labels.npy", c.numpy())
    print(f"wrote {args.n} images to {out}/ with their latents in {out / 'latents.npy'}")
    return 0


def class_labels(choice, n: int, G, meta: dict):
    """Labels for a conditional generator: all ``choice`` (index or name), or one column per class; (None, None) otherwise."""
    import torch

    from gankit.config import ConfigError

    k = getattr(G, "c_dim", 0)
    if not k:
        if choice is not None:
            raise ConfigError(f"--class {choice}: this generator is not class-conditional")
        return None, None
    if choice is None:
        return torch.arange(n) % k, k
    names = meta.get("class_names") or []
    index = names.index(choice) if choice in names else (int(choice) if choice.isdigit() else -1)
    if not 0 <= index < k:
        raise ConfigError(f"--class {choice}: use 0..{k - 1}" + (f" or one of {', '.join(names)}" if names else ""))
    return torch.full((n,), index), None
