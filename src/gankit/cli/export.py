"""gankit export: write a run's generator as config JSON + safetensors, for sampling and sharing without pickles."""

from __future__ import annotations

from gankit.cli.common import add_subcommand, path_flags


def add_parser(sub) -> None:
    p = add_subcommand(sub, "export", "export a run's generator", __doc__.strip(), [
        "gankit export --run runs/fm --out exports/fm",
        "gankit export --checkpoint runs/fm/checkpoints/ckpt-00001000.pt --out exports/fm-1000",
    ])
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--run", metavar="DIR", help="a run folder (its newest checkpoint is exported)")
    src.add_argument("--checkpoint", metavar="PATH", help="a training checkpoint file")
    p.add_argument("--out", required=True, help="the export folder to write")
    path_flags(p, ["--run", "--checkpoint"])
    p.set_defaults(handler=run)


def run(args) -> int:
    from pathlib import Path

    from gankit.export import export_checkpoint, newest_checkpoint

    path, state = (Path(args.checkpoint), None) if args.checkpoint else newest_checkpoint(args.run)
    out = export_checkpoint(path, Path(args.out), state)
    print(f"exported {path} to {out}/ (config.json, generator.safetensors)")
    return 0
