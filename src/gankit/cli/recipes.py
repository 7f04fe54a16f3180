"""gankit recipes: every recipe with a one-line description and its paper; --show NAME lists its config."""

from __future__ import annotations

from gankit.cli.common import add_subcommand


def add_parser(sub) -> None:
    p = add_subcommand(sub, "recipes", "list the recipes", __doc__.strip(), [
        "gankit recipes",
        "gankit recipes --show wgan-gp",
    ])
    p.add_argument("--show", metavar="NAME", help="print every config key a recipe reads (on images, with its own "
                   "networks) with its default, what it does and the values it accepts")
    p.set_defaults(handler=run)


def run(args) -> int:
    from gankit import recipes
    from gankit.config import ConfigError, as_text, range_of

    if args.show:
        problem = recipes.name_problem(args.show, "--show")
        if problem:
            raise ConfigError(problem)
        from gankit.train.run import default_config

        try:
            cfg = default_config(args.show, "DATA")
        except ValueError as e:
            raise ConfigError(str(e)) from None
        r = recipes.get(args.show)
        print(f"{r.name}: {r.summary}\n  paper: {r.paper}\n")
        declared = recipes.keys(r)
        readers = r.reads(cfg, "image")  # on images, with the recipe's own networks
        lines = [(f"{k}={as_text(v)}", key.describe(v) if (key := range_of(k, declared)) else "", readers[k])
                 for k, v in sorted(cfg.items()) if k in readers and k not in ("recipe", "data")]
        width = max(len(setting) for setting, _, _ in lines)
        for setting, text, reader in lines:
            net = f"  ({reader})" if reader not in ("trainer", "recipe") else ""
            print(f"  {setting:<{width}}  {text}{net}".rstrip())
        arches = r.networks(cfg, "image")
        print(f"\n  networks on images: {', '.join(f'{role} {arch}' for role, arch in arches.items())}; "
              f"another <role>.arch reads that network's keys")
        return 0
    listing = recipes.listing()  # builds no recipe: the list is shown without importing torch
    width = max(map(len, listing))
    for name, about in listing.items():
        print(f"{name:<{width}}  {about.summary}\n{'':<{width}}  paper: {about.paper}")
    return 0

