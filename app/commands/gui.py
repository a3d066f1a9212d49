"""`engram gui`: open the desktop app (the same as `engram-gui`)."""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("gui", help="open the desktop app")
    p.set_defaults(func=run)


def run(args, ctx) -> int:
    from app.gui import main

    return main(home=args.home)
