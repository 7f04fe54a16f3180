"""gankit studio: a local web page to browse, steer and watch a generator.

Serves a page on http://127.0.0.1:PORT (nothing outside this machine can reach it unless --host says so): a
gallery by seed, an image view with the latent and downloads that carry their recipe (drop one back onto the
page to draw it again), sliders for truncation, classes and directions (saved ones from --directions DIR,
SeFa and PCA computed on the spot, or taught by clicking), interpolation, mixing and projection. With --run,
a live view of the training run follows its stats, snapshots and newest checkpoint. The JSON/PNG API the
page uses is described at /docs.
"""

from __future__ import annotations

import sys

from gankit.cli.common import add_device, add_model_source, add_subcommand, count, flag_ranges, path_flags

PORT = 8765


def add_parser(sub) -> None:
    p = add_subcommand(sub, "studio", "a local web page to browse, steer and watch a generator", __doc__.strip(), [
        "gankit studio --run runs/demo",
        "gankit studio --export exports/fm --directions directions/ --port 8800",
    ])
    add_model_source(p)
    p.add_argument("--directions", metavar="DIR",
                   help="a folder of `gankit directions` files (NAME.npy): one slider each; taught directions "
                        "are saved here")
    p.add_argument("--port", type=int, default=PORT, help=f"port to listen on (default {PORT}; 0: any free port)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1, this machine only; another exposes the "
                        "studio to the network, with a warning)")
    p.add_argument("--no-browser", action="store_true", help="do not open the page in a browser")
    add_device(p)
    path_flags(p, ["--directions"])
    flag_ranges(p, {"--port": count(low=0, high=65535)})
    p.set_defaults(handler=run)


def run(args) -> int:
    from gankit.studio.app import create_app
    from gankit.studio.server import bind, server
    from gankit.studio.session import Session

    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"gankit studio: warning: --host {args.host}: the studio is reachable from other machines; it has "
              "no login, anyone who can reach the port can use it", file=sys.stderr)
    sock = bind(args.host, args.port)  # first: a port in use is refused before the model loads
    session = Session.open(run=args.run, checkpoint=args.checkpoint, export=args.export, directions=args.directions,
                           device=args.device, net=args.net)
    port = sock.getsockname()[1]
    shown = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{shown}:{port}/"
    app = create_app(session, port=port, host=args.host)
    model = session.model_info()
    print(f"gankit studio: {model['recipe']} on {model['data']} (step {model['step']}, {model['source']}) at {url}",
          flush=True)
    if not args.no_browser:
        import threading
        import webbrowser

        threading.Timer(0.5, webbrowser.open, [url]).start()
    try:
        server(app).run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    return 0
