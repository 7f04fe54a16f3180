"""gankit recipes: every recipe with a one-line description and its paper; --show NAME lists its config."""

from __future__ import annotations

from gankit.cli.common import add_subcommand


def add_parser(sub) -> None:
    p = add_subcommand(sub, "recipes", "list the recipes", __doc__.strip(), [
        "gankit recipes",
        "gankit recipes --show wgan-gp",
    ])
    p.add_argument("--show", metavar="NAME", help="print every config key of a recipe with its default and the values it accepts")
    p.set_defaults(handler=run)


def run(args) -> int:
    from gankit import recipes
    from gankit.config import TRAINER_RANGES, ConfigError, as_text, range_of

    if args.show:
        from gankit.train.run import default_config

        try:
            cfg = default_config(args.show, "DATA")
        except ValueError as e:
            raise ConfigError(str(e)) from None
        r = recipes.get(args.show)
        print(f"{r.name}: {r.summary}\n  paper: {r.paper}\n")
        ranges = {**TRAINER_RANGES, **r.ranges}
        lines = [(f"{k}={as_text(v)}", range_of(k, ranges))
                 for k, v in sorted(cfg.items()) if k not in ("recipe", "data")]
        width = max(len(setting) for setting, _ in lines)
        for setting, rule in lines:
            print(f"  {setting:<{width}}  {rule.describe() if rule else ''}".rstrip())
        return 0
    width = max(len(n) for n in recipes.RECIPES)
    for r in recipes.RECIPES.values():
        print(f"{r.name:<{width}}  {r.summary}\n{'':<{width}}  paper: {r.paper}")
    return 0
