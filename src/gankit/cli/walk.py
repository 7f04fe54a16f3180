"""gankit walk: interpolate between latents and render the path as an image strip and an animated GIF.

Endpoints come from seeds (--seeds 3,17,42 walks 3 -> 17 -> 42; seed S is the first image of
`gankit sample --seed S`) or from latents saved by gankit (--latents grid.latents.npy:5 ...).
slerp follows the sphere, keeping latents as long as typical samples of the N(0, I) prior; lerp
takes the straight line, whose middle is shorter (often blurrier, more average images).

Writes OUT.png (the frames in a strip), OUT.gif (the animation) and OUT.latents.npy (row i is
the latent of frame i, after truncation, so any frame can be regenerated), plus OUT.labels.npy
for conditional models.
"""

from __future__ import annotations

from gankit.cli.common import COUNT, add_device, add_model_source, add_subcommand, flag_ranges
from gankit.cli.latent_args import add_generation, add_latent_sources
from gankit.config import above, count


def add_parser(sub) -> None:
    p = add_subcommand(sub, "walk", "interpolate between latents: image strip + GIF", __doc__.strip(), [
        "gankit walk --run runs/fm --seeds 3,17,42 --steps 10 --out walk.png",
        "gankit walk --export exports/fm --latents grid.latents.npy:0 grid.latents.npy:5 --method lerp --out w.png",
        "gankit walk --run runs/cgan --seeds 1,2 --class Trouser --truncation 0.7 --pingpong --out t.png",
    ])
    add_model_source(p)
    add_latent_sources(p, "seeds of the endpoints, visited in order: 3,17,42")
    p.add_argument("--out", required=True, help="OUT.png; OUT.gif and OUT.latents.npy are written beside it")
    p.add_argument("--steps", type=int, default=8, help="frames from one endpoint to the next, both included (default 8)")
    p.add_argument("--method", choices=["slerp", "lerp"], default="slerp", help="interpolation (default slerp)")
    p.add_argument("--columns", type=int, help="frames per row of the strip (default: all in one row)")
    p.add_argument("--fps", type=float, default=10.0, help="GIF frames per second (default 10)")
    p.add_argument("--pingpong", action="store_true", help="the GIF plays forward, then back")
    add_generation(p)
    add_device(p)
    flag_ranges(p, {"--steps": count(2, "the two endpoints"), "--columns": COUNT, "--fps": above(0)})
    p.set_defaults(handler=run)


def run(args) -> int:
    from gankit.atomic import save_npy
    from gankit.cli.common import check_grid, grid_capacity
    from gankit.cli.latent_args import (apply_truncation, class_labels, endpoint_latents, latents_flag,
                                        load_image_generator, out_path)
    from gankit.config import ConfigError
    from gankit.sampling import enlarge, grid_image, save_gif, save_png, walk_path
    from gankit.inference import render, resolve_device

    out = out_path(args.out, ".png")
    device = resolve_device(args.device)
    G, meta = load_image_generator(args, device)
    points = endpoint_latents(args, meta["z_dim"], most=grid_capacity(meta["shape"][-1]))
    source = latents_flag(args)
    if len(points) < 2:
        raise ConfigError(f"{source}: a walk needs at least two endpoints, got {len(points)}")
    frames = (len(points) - 1) * (args.steps - 1) + 1  # as walk_path makes them; checked before they are made
    check_grid(frames, meta["shape"][-1], args.columns or frames, f"{source} --steps {args.steps}", meta["z_dim"],
               meta["shape"][0])
    z = apply_truncation(walk_path(points, args.steps, args.method), args.truncation)
    c = class_labels(args.cls, len(z), G, meta)
    x = render(G, z, c, args.batch, device)

    save_png(grid_image(x, nrow=args.columns or len(x)), out)
    save_gif([enlarge(grid_image(frame[None], padding=0)) for frame in x], out.with_suffix(".gif"),
             fps=args.fps, pingpong=args.pingpong)
    save_npy(out.with_suffix(".latents.npy"), z.numpy())
    if c is not None:
        save_npy(out.with_suffix(".labels.npy"), c.numpy())
    print(f"wrote {out} ({len(x)} frames, {args.method}, {len(points)} endpoints), {out.with_suffix('.gif')} "
          f"and {out.with_suffix('.latents.npy')}")
    return 0
