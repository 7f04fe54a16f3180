"""gankit latent-map: where an autoencoder puts each class, and what it decodes across that map.

Encodes a labelled image set (default: the model's data, the test split for Fashion-MNIST) with an
ae or vae model (a VAE by its posterior means) and writes into --out:

  latent-map.png  the codes coloured by class, with a legend of class names: the latent itself
                  when z_dim is 2, else the codes' two principal components (the title says which);
                  the dashed box is the area the lattice covers
  lattice.png     images decoded from a regular K x K lattice over that plane, oriented like the map
                  (x grows to the right, y upwards). --span prior: N(0, 1) quantiles at (i + 0.5) / K,
                  the default for a VAE with z_dim 2 (where its prior puts the mass); --span codes: the
                  0.5th to 99.5th percentile range of the codes, the default otherwise. A PCA lattice
                  point decodes with the other latent directions at the codes' mean
  codes.npy       the codes [N, z_dim], row i for image i
  labels.npy      their class indices [N] (labelled data only)
"""

from __future__ import annotations

from gankit.cli.common import COUNT, add_device, add_model_source, add_strict, add_subcommand, flag_ranges
from gankit.config import SEED, Range, count


def add_parser(sub) -> None:
    p = add_subcommand(sub, "latent-map", "draw an autoencoder's codes by class, and decode a lattice over them",
                       __doc__.strip(), [
                           "gankit latent-map --run runs/vae-fashion-mnist --out maps/vae",
                           "gankit latent-map --export exports/vae2 --lattice 20 --n 5000 --out maps/vae2",
                       ])
    add_model_source(p)
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the PNGs and .npy files")
    p.add_argument("--data", help="images to encode (default: the model's data, test split for Fashion-MNIST)")
    p.add_argument("--n", type=int, default=10000,
                   help="encode at most this many images, chosen with --seed (default 10000)")
    p.add_argument("--lattice", type=int, default=15, metavar="K", help="K x K decoded lattice (default 15)")
    p.add_argument("--span", choices=["auto", "prior", "codes"], default="auto",
                   help="lattice over N(0, 1) quantiles or the codes' range "
                        "(default auto: prior for a VAE with z_dim 2)")
    p.add_argument("--seed", type=int, default=0, help="which images when the data holds more than --n (default 0)")
    p.add_argument("--batch", type=int, default=500, help="images encoded or decoded at once (default 500)")
    add_strict(p)
    add_device(p)
    flag_ranges(p, {"--n": count(2, "images"), "--lattice": Range(2, 64, whole=True), "--seed": SEED, "--batch": COUNT})
    p.set_defaults(handler=run)


def run(args) -> int:
    from pathlib import Path

    import torch

    from gankit.atomic import save_npy
    from gankit.cli.common import model_data
    from gankit.config import ConfigError
    from gankit.embedding import axis_values, lattice, plane_of, scatter_image
    from gankit.inference import load_any, resolve_device
    from gankit.nets.autoencoder import codes, has_encoder
    from gankit.sampling import grid_image, save_png

    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise ConfigError(f"--out {args.out}: is a file; give a folder")
    device = resolve_device(args.device)
    G, meta = load_any(run=args.run, checkpoint=args.checkpoint, export=args.export, device=device, net=args.net)
    source = next(f"--{flag} {value}" for flag, value in
                  (("run", args.run), ("checkpoint", args.checkpoint), ("export", args.export)) if value)
    if not has_encoder(G):
        raise ConfigError(f"{source}: this model ({meta.get('recipe', '?')} recipe, network {G.config['arch']}) has no "
                          f"encoder; a latent map needs one trained with --recipe ae or --recipe vae")
    if meta.get("kind") == "points":
        raise ConfigError(f"{source}: latent-map draws images; this model was trained on 2-D points")
    if G.z_dim < 2:
        raise ConfigError(f"{source}: z_dim={G.z_dim}; a 2-D map needs at least 2 latent dimensions")
    prior = args.span == "prior" or (args.span == "auto" and G.variational and G.z_dim == 2)
    if prior and G.z_dim != 2:
        raise ConfigError(f"--span prior: z_dim={G.z_dim} codes are drawn in their PCA plane, where the prior's "
                          f"quantiles do not apply; use --span codes")
    data = model_data(meta, args.data, args.strict)
    index = torch.arange(len(data))
    if len(data) > args.n:
        index = torch.randperm(len(data), generator=torch.Generator().manual_seed(args.seed))[:args.n].sort().values
    x = data.images[index].float().div(127.5).sub(1.0)
    labels = data.labels[index] if data.labels is not None else None
    names = list(data.class_names or meta.get("class_names") or [])
    if labels is not None and len(names) <= int(labels.max()):
        names = [str(i) for i in range(int(labels.max()) + 1)]

    z = codes(G, x, args.batch, device)
    plane = plane_of(z)
    coords = plane.project(z.double())
    u, v = axis_values(coords, args.lattice, prior=prior)
    grid_z = plane.lift(lattice(u, v)).float()
    with torch.no_grad():
        decoded = torch.cat([G(grid_z[i:i + args.batch].to(device)).float().cpu()
                             for i in range(0, len(grid_z), args.batch)])

    kind = "VAE posterior means" if G.variational else "AE codes"
    if plane.explained is None:
        title, axes = f"{kind}, z_dim=2 (the latent itself), {len(z)} images", ("z1", "z2")
    else:
        share = plane.explained.tolist()
        title = (f"PCA of {kind}, z_dim={G.z_dim}: PC1 {share[0]:.0%} + PC2 {share[1]:.0%} of the variance, "
                 f"{len(z)} images")
        axes = ("PC1", "PC2")
    out = Path(args.out)
    box = (float(u[0]), float(u[-1]), float(v[0]), float(v[-1]))
    save_png(scatter_image(coords, labels, names, title, axes, box), out / "latent-map.png")
    save_png(grid_image(decoded, nrow=args.lattice), out / "lattice.png")
    save_npy(out / "codes.npy", z.numpy())
    if labels is not None:
        save_npy(out / "labels.npy", labels.numpy())
    else:
        (out / "labels.npy").unlink(missing_ok=True)  # not another run's labels beside these codes
    spread = "N(0, 1) quantiles" if prior else "the codes' 0.5-99.5th percentiles"
    print(f"{title}\nwrote {out / 'latent-map.png'}, {out / 'lattice.png'} ({args.lattice}x{args.lattice} over "
          f"{spread}), {out / 'codes.npy'}" + (f" and {out / 'labels.npy'}" if labels is not None else ""))
    return 0
