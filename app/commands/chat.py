"""`engram chat`: talk to the model in a terminal, through the same chat service as the app.

Interactive by default (one line per message; /quit to leave; Ctrl-C stops an answer). With
--message, one turn is answered and the command exits. Background memory work (summaries,
thoughts) runs in a worker thread, on its own database connection, while the chat is open,
and stops for each of the person's messages; what is left stays queued.
"""
from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING

from app.cli import counted

if TYPE_CHECKING:
    from core.services.engine import Engram


def register(sub) -> None:
    p = sub.add_parser("chat", help="chat in the terminal (same memory as the app)")
    p.add_argument("--model", type=Path, help="a GGUF file (default: the setting, else the "
                                              "starter model)")
    p.add_argument("--conversation", help="continue this conversation (default: a new one)")
    p.add_argument("--title", default="", help="title of a new conversation (default: its "
                                               "first message)")
    p.add_argument("--incognito", action="store_true",
                   help="a new conversation that reads and writes no memory")
    p.add_argument("--message", help="send one message, print the answer and exit")
    p.add_argument("--max-tokens", type=int,
                   help="longest reply (default: generation.max_tokens in the settings)")
    p.add_argument("--show-memories", action="store_true",
                   help="print the memories used for each answer")
    p.set_defaults(func=run)


def run(args, ctx) -> int:
    from core.runtime.factory import open_llm
    from core.services.chat import ChatService

    eng = ctx.engram
    if args.conversation:
        conv = eng.conversations.get(args.conversation)
    # a model that fails to open leaves no empty chat
    llm = open_llm(ctx.layout, eng.settings.model, path=args.model)
    if not args.conversation:
        conv = eng.conversations.create(args.title, incognito=args.incognito)
    params = eng.settings.generation.params()
    if args.max_tokens is not None:
        params.max_tokens = args.max_tokens
    service = ChatService(eng, llm, params=params)
    try:
        return _chat(args, eng, service, llm, conv)
    finally:
        if not args.conversation and not eng.conversations.thread(conv.id):
            eng.conversations.delete(conv.id)   # nothing was said (or the model failed first)


def _chat(args, eng: Engram, service, llm, conv) -> int:
    from core.services.engine import SiblingEngram
    from core.services.memory_worker import MemoryWorker

    try:
        if args.message is not None:
            _turn(service, conv.id, args.message, args.show_memories, threading.Event())
            return 0
        # the worker's thread gets its own connection; each turn stops its model work first
        background = SiblingEngram(eng)
        worker = MemoryWorker(background, lambda: llm)
        worker.start()
        try:
            _interactive(service, conv, args.show_memories, worker.gate.person_turn)
        finally:
            worker.stop()
            background.close()
        return 0
    finally:
        close = getattr(llm, "close", None)
        if close:
            close()


def _interactive(service, conv, show_memories: bool,
                 person_turn: Callable[[], AbstractContextManager]) -> None:
    print(f"conversation {conv.id}{' (incognito)' if conv.incognito else ''}. "
          "/quit to leave; Ctrl-C stops an answer.", file=sys.stderr)
    while True:
        try:
            line = input("> ")
        except EOFError:
            print(file=sys.stderr)
            return
        if line.strip() in ("/quit", "/exit"):
            return
        if not line.strip():
            continue
        stop = threading.Event()
        try:
            with person_turn():
                _turn(service, conv.id, line, show_memories, stop)
        except KeyboardInterrupt:
            stop.set()
            print("\n[stopped]", file=sys.stderr)


def _turn(service, conversation_id: str, text: str, show_memories: bool,
          stop: threading.Event) -> None:
    from core.services.chat import withheld_text

    # On a terminal the reply streams; what a redraw or a cut took back cannot be unprinted, so
    # the reply that was kept follows on its own line. Piped, only the kept reply is printed.
    live = sys.stdout.isatty()
    printed: list[str] = []

    def on_token(piece: str) -> None:
        printed.append(piece)
        if live:
            sys.stdout.write(piece)
            sys.stdout.flush()

    result = service.send(conversation_id, text, on_token=on_token, should_stop=stop.is_set)
    shown = "".join(printed).strip()
    if not live:
        sys.stdout.write(result.text.strip())
    elif shown != result.text.strip():
        why = f" ({result.cut})" if result.cut else ""
        sys.stdout.write(f"\n[taken back{why}; the reply kept:] {result.text.strip()}")
    sys.stdout.write("\n")
    if result.cut and not result.text.strip():
        print(f"[{withheld_text(result.cut)}]", file=sys.stderr)
    if result.notice:
        print(f"[{result.notice}]", file=sys.stderr)
    if show_memories:
        print(f"[{result.mode}; {counted(len(result.trace), 'memory')} used]", file=sys.stderr)
        for item in result.trace:
            print(f"  {item.rank}. {item.reason}: {item.text[:100]}", file=sys.stderr)
