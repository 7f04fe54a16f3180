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
    with torch.no_grad():
        x = torch.cat([G(z[i:i + args.batch].to(device)).cpu() for i in range(0, args.n, args.batch)])
    out = Path(args.out)
    if out.suffix.lower() == ".png":
        image = points_image(x) if meta.get("kind") == "points" else grid_image(x)
        save_png(image, out)
        save_npy(out.with_suffix(".latents.npy"), z.numpy())
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
    print(f"wrote {args.n} images to {out}/ with their latents in {out / 'latents.npy'}")
    return 0
