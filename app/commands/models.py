"""`engram models list|info|add|use|download`: the model manager from the command line.

`list` shows the models on this computer (the models folder, added files and folders, and
what LM Studio, Ollama, GPT4All, Jan, the Hugging Face cache and llama.cpp's cache keep) and
the shipped catalogue, what fits this machine first. `download NAME` fetches a catalogue model
(only when asked; resumable; verified), `download URL` any GGUF.
"""
from __future__ import annotations

import sys

from app.cli import print_fields, print_json
from core.base.progress import Progress


def register(sub) -> None:
    p = sub.add_parser("models", help="list, inspect, add and download GGUF models")
    inner = p.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    ls = inner.add_parser("list", help="models on this computer, then the catalogue")
    ls.add_argument("--json", action="store_true")
    ls.add_argument("--no-catalogue", action="store_true", help="only the models you have")
    ls.set_defaults(func=run_list)
    info = inner.add_parser("info", help="read a GGUF header (nothing is loaded)")
    info.add_argument("path")
    info.add_argument("--json", action="store_true")
    info.set_defaults(func=run_info)
    add = inner.add_parser("add", help="remember a GGUF file, or a folder of them, kept elsewhere")
    add.add_argument("path")
    add.set_defaults(func=run_add)
    use = inner.add_parser("use", help="chat with this model from now on (a file, a catalogue "
                                       "name already downloaded, or 'starter')")
    use.add_argument("model")
    use.set_defaults(func=run_use)
    dl = inner.add_parser("download", help="download a catalogue model by name, or a GGUF by "
                                           "URL (resumes; checks sha256)")
    dl.add_argument("name_or_url", metavar="NAME|URL")
    dl.add_argument("--sha256", help="expected checksum of a URL download (recommended)")
    dl.add_argument("--name", help="file name in the models folder (URL downloads)")
    dl.add_argument("--use", action="store_true", help="chat with it from now on")
    dl.set_defaults(func=run_download)


def _manager(ctx):
    from core.runtime.model_manager import ModelManager

    return ModelManager(ctx.layout.models_dir, ctx.layout.config_dir)


def _gb(n: float) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB"


def _catalogue_fits(ctx):
    from core.base.settings import load_settings
    from core.runtime.catalogue import assess_all, load_catalogue
    from core.runtime.machine import machine_memory

    ms = load_settings(ctx.layout.settings_path).model
    machine = machine_memory()
    fits = assess_all(load_catalogue(), machine, n_ctx=ms.n_ctx, type_k=ms.type_k,
                      type_v=ms.type_v)
    return fits, machine, ms


def run_list(args, ctx) -> int:
    mm = _manager(ctx)
    entries = mm.list_models()
    fits = machine = ms = None
    if not args.no_catalogue:
        fits, machine, ms = _catalogue_fits(ctx)
    if args.json:
        out = {"models": [e.to_dict() for e in entries]}
        if fits is not None:
            out["machine"] = machine.to_dict()
            out["catalogue"] = [{**f.entry.to_dict(), "fit": f.to_dict(),
                                 "downloaded": (ctx.layout.models_dir
                                                / f.entry.file_name).exists()} for f in fits]
        print_json(out)
        return 0
    print("On this computer:")
    if not entries:
        print(f"  none. Put GGUF files in {ctx.layout.models_dir}, `engram models add PATH`, "
              f"or download one below.")
    for e in entries:
        detail = e.info.describe() if e.info else e.error
        where = " (used in place)" if e.found_elsewhere else ""
        parts = f", {e.parts} parts" if e.parts > 1 else ""
        print(f"  [{e.source}] {e.display_name}{where}\n      {e.path}{parts}\n      {detail}")
    if fits is None:
        return 0
    gpu = (f", GPU {machine.gpus[0].name} {_gb(machine.free_vram)} free" if machine.gpus
           else ", no GPU")
    free = f"{_gb(machine.available_ram)} free" if machine.available_ram is not None else "?"
    print(f"\nRecommended downloads (RAM {_gb(machine.total_ram)}, {free}{gpu}; context "
          f"{ms.n_ctx:,} tokens, KV {ms.type_k}/{ms.type_v}; what fits first):")
    for f in fits:
        e = f.entry
        have = " [downloaded]" if (ctx.layout.models_dir / e.file_name).exists() else ""
        print(f"  {e.name:26} {e.display_name}, {e.quantization}, {e.size}, {e.licence}{have}\n"
              f"      {f.status}: {f.reason}")
    print("\n`engram models download NAME` fetches one; nothing is downloaded until you ask.")
    return 0


def run_info(args, ctx) -> int:
    from core.runtime.gguf_info import read_gguf_info
    from core.runtime.model_kind import kind_of_gguf

    info = read_gguf_info(args.path)
    data = info.to_dict()
    data["kv_bytes_per_token"] = {t: info.kv_bytes_per_token(t, t)
                                  for t in ("f16", "q8_0", "q4_0")}
    kind = kind_of_gguf(info, ctx.engram.settings.model.kind)
    if args.json:
        print_json({**data, "kind": kind.kind, "kind_reason": kind.reason})
        return 0
    data["chat_template"] = "yes" if info.chat_template else "none (a built-in format is used)"
    data["kind"] = kind.describe()
    print_fields(data)
    return 0


def run_add(args, ctx) -> int:
    from pathlib import Path

    mm = _manager(ctx)
    if Path(args.path).expanduser().is_dir():
        found = mm.add_folder(args.path)
        print(f"added the folder {Path(args.path).expanduser().resolve()}: "
              f"{len(found)} GGUF file(s) found")
        for f in found:
            print(f"  {f.name}")
        return 0
    entry = mm.add(args.path)
    print(f"added: {entry.info.describe()}")
    return 0


def _set_model(ctx, path: str) -> None:
    ctx.engram.settings.model.path = path
    ctx.engram.save_settings()


def run_use(args, ctx) -> int:
    from pathlib import Path

    from core.runtime.catalogue import CatalogueError, find_entry, load_catalogue
    from core.runtime.gguf_quick import quick_gguf_info as read_gguf_info

    if args.model == "starter":
        _set_model(ctx, "")
        print("chatting with the starter model from now on")
        return 0
    path = Path(args.model).expanduser()
    if not path.exists():
        try:
            entry = find_entry(args.model, load_catalogue())
        except CatalogueError:
            entry = None
        if entry is None or not (ctx.layout.models_dir / entry.file_name).exists():
            from core.base.errors import EngramError

            hint = f" Download it first: engram models download {entry.name}" if entry else ""
            raise EngramError(f"No model file or downloaded catalogue model '{args.model}'."
                              f"{hint}")
        path = ctx.layout.models_dir / entry.file_name
    info = read_gguf_info(path)
    _set_model(ctx, str(path.resolve()))
    print(f"chatting with {info.describe()} from now on")
    return 0


def _progress_printer():
    last = [-1]

    def progress(p: Progress) -> None:
        done, total = p.done, p.total
        pct = int(done * 100 / total) if total else -1
        if pct != last[0] and sys.stderr.isatty():
            last[0] = pct
            shown = f"{pct}% of {_gb(total)}" if total else f"{done / 1e6:.1f} MB"
            print(f"\rdownloading {shown}", end="", file=sys.stderr, flush=True)

    return progress


def run_download(args, ctx) -> int:
    from core.runtime.gguf_quick import quick_gguf_info as read_gguf_info

    target = args.name_or_url
    progress = _progress_printer()
    if target.startswith(("http://", "https://")):
        path = _manager(ctx).download(target, sha256=args.sha256, filename=args.name,
                                      progress=progress)
    else:
        from core.runtime.catalogue import find_entry, load_catalogue
        from core.runtime.downloads import download_entry

        entry = find_entry(target, load_catalogue())
        check = "sha256" if entry.sha256 else "size and GGUF header (no checksum is known)"
        print(f"{entry.display_name} ({entry.quantization}, {entry.size}) from {entry.url}\n"
              f"licence: {entry.licence} ({entry.licence_url}); verified by {check}",
              file=sys.stderr)
        path = download_entry(entry, ctx.layout.models_dir, progress=progress)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(f"saved {path}: {read_gguf_info(path).describe()}")
    if args.use:
        _set_model(ctx, str(path.resolve()))
        print("chatting with it from now on")
    else:
        print(f"to chat with it: engram models use {path}")
    return 0
