"""`engram info`: where the data lives and what is in it."""
from __future__ import annotations

from typing import TYPE_CHECKING

from app.cli import print_fields, print_json
from core.index.sync import waiting_report

if TYPE_CHECKING:
    from core.services.engine import Engram


def register(sub) -> None:
    p = sub.add_parser("info", help="show data folders, schema version and counts")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args, ctx) -> int:
    eng = ctx.engram
    from core.store.migrations import applied_version

    info = {
        "data_dir": str(ctx.layout.data_dir),
        "config_dir": str(ctx.layout.config_dir),
        "cache_dir": str(ctx.layout.cache_dir),
        "database": str(ctx.layout.db_path),
        "schema_version": applied_version(eng.db.conn),
        "conversations": eng.conversations.count(),
        "messages": eng.conversations.count_messages(),
        "memories_active": eng.memories.count(),
        "memory_jobs_pending": eng.jobs.pending(),
        "memory_jobs_failed": eng.jobs.count("failed"),
        "memory_jobs_last_failure": _last_failure(eng),
        "vector_index": eng.settings.chroma.server_url or str(ctx.layout.chroma_dir),
        **waiting_report(eng.memories, ctx.layout.data_dir / "index-state.json"),
        "embedding_runtime": _embedding_runtime(eng.settings.memory),
        **_llama_build(),
    }
    if args.json:
        print_json(info)
    else:
        print_fields(info)
    return 0


def _last_failure(eng: Engram) -> str:
    """The newest failed job and why (`engram jobs list` has them all)."""
    failed = eng.jobs.list("failed", 1)
    return f"{failed[0].kind}: {failed[0].error}" if failed else ""


def _llama_build() -> dict:
    """What the installed llama.cpp can do. (The CLI may import llama_cpp; the GUI process never
    does: there the model worker reports it.)"""
    try:
        import llama_cpp
    except Exception as exc:  # noqa: BLE001 - a broken build must not break `engram info`
        return {"llama_cpp": f"unavailable ({exc.__class__.__name__})"}
    return {"llama_cpp": llama_cpp.__version__,
            "gpu_offload": bool(llama_cpp.llama_supports_gpu_offload())}


def _embedding_runtime(memory) -> str:
    """The configured runtime and whether the ONNX export is ready (nothing is loaded)."""
    wanted = memory.embedding_runtime
    if memory.embedding_model:
        return f"{wanted}: torch (ONNX Runtime is used for the bundled model only)"
    if wanted == "torch":
        return "torch"
    try:
        from core.index.embedder import bundled_model_path
        from core.index.onnx_embedder import find_export

        ready = find_export(bundled_model_path()) is not None
    except Exception as exc:  # noqa: BLE001 - a figure for info, never a failure
        return f"{wanted} ({exc.__class__.__name__})"
    return f"{wanted}: " + ("ONNX Runtime (export cached)" if ready
                            else "ONNX Runtime after a one-time export on first use")
