"""Starting and discarding the app's worker processes (the model worker, the index worker).

Both are spawned, never forked: a fork would copy the parent's threads' locks (Qt, SQLite,
torch) in whatever state they are in. Each child gets one end of a new pipe as its first
argument; the parent keeps the other.
"""
from __future__ import annotations

from multiprocessing.connection import Connection
from multiprocessing.context import SpawnContext
from multiprocessing.process import BaseProcess
from typing import Any


def start_child(ctx: SpawnContext, target: Any, name: str, *args: Any
                ) -> tuple[BaseProcess, Connection]:
    """A daemon child running `target(child_end, *args)`; returns it and the parent's end."""
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=target, name=name, daemon=True, args=(child, *args))
    try:
        proc.start()
    except BaseException:
        parent.close()
        raise
    finally:
        child.close()
    return proc, parent


def discard_child(proc: BaseProcess | None, conn: Connection | None) -> None:
    """Kill the child if it still runs, reap it, close the parent's end of its pipe."""
    if proc is not None:
        if proc.is_alive():
            proc.kill()
        proc.join(5)
    if conn is not None:
        conn.close()
