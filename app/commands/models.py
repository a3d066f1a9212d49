"""`engram models list|info|add|download`: the model manager from the command line."""
from __future__ import annotations

import sys

from app.cli import print_fields, print_json


def register(sub) -> None:
    p = sub.add_parser("models", help="list, inspect, add and download GGUF models")
    inner = p.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    ls = inner.add_parser("list", help="models in the models folder, added paths, starter model")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=run_list)
    info = inner.add_parser("info", help="read a GGUF header (nothing is loaded)")
    info.add_argument("path")
    info.add_argument("--json", action="store_true")
    info.set_defaults(func=run_info)
    add = inner.add_parser("add", help="remember a GGUF file stored elsewhere")
    add.add_argument("path")
    add.set_defaults(func=run_add)
    dl = inner.add_parser("download", help="download a GGUF from a URL (resumes; checks sha256)")
    dl.add_argument("url")
    dl.add_argument("--sha256", help="expected checksum (strongly recommended)")
    dl.add_argument("--name", help="file name in the models folder")
    dl.set_defaults(func=run_download)


def _manager(ctx):
    from core.runtime.model_manager import ModelManager

    return ModelManager(ctx.layout.models_dir, ctx.layout.config_dir)


def run_list(args, ctx) -> int:
    entries = _manager(ctx).list_models()
    if args.json:
        print_json([e.to_dict() for e in entries])
        return 0
    if not entries:
        print(f"No models. Put GGUF files in {ctx.layout.models_dir} or use `engram models add`.")
    for e in entries:
        detail = e.info.describe() if e.info else e.error
        print(f"[{e.source}] {e.display_name}\n    {e.path}\n    {detail}")
    return 0


def run_info(args, ctx) -> int:
    from core.runtime.gguf_info import read_gguf_info

    info = read_gguf_info(args.path)
    data = info.to_dict()
    data["kv_bytes_per_token"] = {t: info.kv_bytes_per_token(t, t)
                                  for t in ("f16", "q8_0", "q4_0")}
    if args.json:
        print_json(data)
        return 0
    data["chat_template"] = "yes" if info.chat_template else "none (a built-in format is used)"
    print_fields(data)
    return 0


def run_add(args, ctx) -> int:
    entry = _manager(ctx).add(args.path)
    print(f"added: {entry.info.describe()}")
    return 0


def run_download(args, ctx) -> int:
    last = [-1]

    def progress(done: int, total: int | None) -> None:
        pct = int(done * 100 / total) if total else -1
        if pct != last[0] and sys.stderr.isatty():
            last[0] = pct
            shown = f"{pct}%" if total else f"{done / 1e6:.1f} MB"
            print(f"\rdownloading {shown}", end="", file=sys.stderr, flush=True)

    path = _manager(ctx).download(args.url, sha256=args.sha256, filename=args.name,
                                  progress=progress)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    from core.runtime.gguf_info import read_gguf_info

    print(f"saved {path}: {read_gguf_info(path).describe()}")
    return 0
