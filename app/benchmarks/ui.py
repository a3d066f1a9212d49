"""`engram bench ui`: is the window responsive while real work runs?

In one run, on a fresh temporary data folder:
1. start-up: a child process opens the real window; we measure from spawning the process to
   the window being shown (exposed and painted);
2. the real window (offscreen, or the current display under Xvfb) is driven through
   a) importing a generated ChatGPT-format archive with the import wizard (then embedding),
   b) a streamed reply from a generated GGUF through the real llama.cpp runtime,
   c) rebuilding the vector index,
   d) the person's turn first: Send -> first token with an idle memory queue, then with 10
      conversation-summary jobs queued and one of them generating (it is interrupted),
   while a 5 ms timer on the GUI thread records how late each tick runs. A stall is a tick
   that arrives late; we print the longest stall and the 99th percentile per phase.
The window is the app's own: embeddings and Chroma run in the index worker process.
Targets (issue 6): longest stall <= 50 ms, window shown <= 1.5 s; (issue 16) Send -> first
token with 10 jobs queued <= idle + 1 s. `--starter` / `--model FILE` runs b) and d) on real
weights (default: a generated tiny GGUF, whose background jobs are short).
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from app.cli import print_json

TICK_MS = 5
STALL_TARGET_MS = 50
STARTUP_TARGET_S = 1.5
FIRST_TOKEN_SLACK_S = 1.0      # queued jobs may cost the person at most this much

_CHILD = """
import sys, time
from PySide6.QtCore import QTimer
from app.gui import build_window
app, w = build_window(sys.argv[1], autoload_model=False)
w.show()
def shown():
    print("SHOWN", time.time(), flush=True)
    w.shutdown(); app.quit()
QTimer.singleShot(0, shown)
app.exec()
"""


def register(sub) -> None:
    p = sub.add_parser("ui", help="event-loop stalls while importing, streaming and reindexing; "
                                  "time to window shown")
    p.add_argument("--conversations", type=int, default=300,
                   help="conversations in the generated archive (2 messages each)")
    p.add_argument("--starter", action="store_true", help="the starter model for b) and d)")
    p.add_argument("--model", help="a GGUF for b) and d)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


class StallMonitor:
    """Records how late a fast repeating timer fires on the GUI thread."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.lates: list[float] = []
        self._last = time.perf_counter()
        self.timer = QTimer()
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.lates.append(max(0.0, (now - self._last) * 1000 - TICK_MS))
        self._last = now

    def start(self) -> None:
        self.lates = []
        self._last = time.perf_counter()
        self.timer.start()

    def stop(self) -> dict[str, float]:
        self.timer.stop()
        data = sorted(self.lates) or [0.0]
        return {"longest_stall_ms": round(data[-1], 1),
                "p99_stall_ms": round(data[int(0.99 * (len(data) - 1))], 1),
                "median_late_ms": round(statistics.median(data), 1),
                "ticks": len(data)}


def startup_seconds(home: Path) -> float:
    env = {**os.environ, "ENGRAM_HOME": str(home)}
    env.setdefault("QT_QPA_PLATFORM", "offscreen" if not os.environ.get("DISPLAY") else "xcb")
    root = Path(__file__).resolve().parents[2]
    t0 = time.time()
    out = subprocess.run([sys.executable, "-c", _CHILD, str(home)], capture_output=True,
                         text=True, env=env, cwd=root, timeout=120, check=False)
    for line in out.stdout.splitlines():
        if line.startswith("SHOWN"):
            return float(line.split()[1]) - t0
    raise RuntimeError(f"the window did not open: {out.stderr[-500:]}")


def write_export(folder: Path, n: int) -> Path:
    """A ChatGPT-format archive of `n` two-message conversations."""
    import json
    import random

    rng = random.Random(0)
    words = ["garden", "tomato", "lisbon", "sister", "piano", "deadline", "invoice", "hiking", "recipe", "budget", "birthday", "doctor", "python", "train", "concert", "novel", "coffee", "holiday", "meeting", "bicycle", "museum"]
    convs = []
    for i in range(n):
        ts = 1_700_000_000 + i * 3600
        text = [" ".join(rng.choice(words) for _ in range(rng.randint(10, 60))) for _ in range(2)]
        nodes = {"r": {"id": "r", "parent": None, "children": ["u"], "message": None}}
        for nid, parent, child, role, body in (("u", "r", ["a"], "user", text[0]),
                                               ("a", "u", [], "assistant", text[1])):
            nodes[nid] = {"id": nid, "parent": parent, "children": child, "message": {
                "id": nid, "author": {"role": role}, "create_time": ts,
                "content": {"content_type": "text", "parts": [body]}}}
        convs.append({"id": f"c{i}", "title": f"Chat {i}", "create_time": ts,
                      "update_time": ts, "mapping": nodes, "current_node": "a"})
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "conversations.json"
    path.write_text(json.dumps(convs), "utf-8")
    return path


def _wait(app, predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark step timed out")
        app.processEvents()
        time.sleep(0.001)


def _send_and_time(app, window, text: str) -> tuple[float, float]:
    """Send `text` in a new chat: seconds to the first streamed piece and to the end."""
    chat = window.chat
    first: list[float] = []
    finished: list[object] = []
    original = chat._on_token

    def on_token(piece: str) -> None:
        if not first:
            first.append(time.perf_counter())
        original(piece)

    chat._on_token = on_token
    chat.turn_finished.connect(finished.append)
    chat.turn_failed.connect(finished.append)
    try:
        window.new_chat()
        chat.composer.setPlainText(text)
        t = time.perf_counter()
        chat.submit()
        _wait(app, lambda: bool(finished), 300)
    finally:
        chat._on_token = original
        chat.turn_finished.disconnect(finished.append)
        chat.turn_failed.disconnect(finished.append)
    if not first:
        raise RuntimeError(f"the reply streamed nothing: {finished[0]}")
    return first[0] - t, time.perf_counter() - t


def _on_db(app, services, fn):
    """Run `fn(engram)` on the db lane (the one thread that uses that connection)."""
    op = services.runner.db(lambda ctx: fn(ctx.engram))
    _wait(app, lambda: op.finished, 60)
    if op.error is not None:
        raise op.error
    return op.result


def person_first_phases(app, window, monitor: StallMonitor) -> dict[str, dict[str, float]]:
    """Send -> first token with the memory worker idle, then with 10 summary jobs queued and
    one generating when Send is pressed (it yields: stopped, requeued)."""
    from core.store import jobs as kinds

    services = window.services
    # the import queued summaries and facts for every conversation (hours with a real
    # model): the idle measurement starts from an empty queue
    services.start_memory_worker()
    worker = services.memory_worker
    worker.gate.pause(wait=True)          # (its start-up maintenance queues daily summaries)
    _wait(app, lambda: worker._job is None, 600)
    _on_db(app, services, lambda e: e.jobs.cancel())
    worker.gate.resume()
    def idle() -> bool:
        return worker._job is None and _on_db(app, services, lambda e: e.jobs.pending()) == 0

    _wait(app, idle, 600)
    time.sleep(worker.gate.hold_off_s)
    out: dict[str, dict[str, float]] = {}
    monitor.start()
    first, total = _send_and_time(app, window, "What did I say about the garden?")
    out["first_token_idle_queue"] = {**monitor.stop(), "send_to_first_token_s": round(first, 3),
                                     "reply_s": round(total, 2)}
    _wait(app, idle, 600)
    time.sleep(worker.gate.hold_off_s)
    yielded = worker.yielded

    def queue_ten(e) -> None:
        for conv in e.conversations.list()[:10]:
            e.jobs.enqueue(kinds.SUMMARIZE_CONVERSATION, {"conversation_id": conv.id},
                           needs_model=True, dedupe=False)

    _on_db(app, services, queue_ten)
    _wait(app, lambda: worker.gate._busy is not None, 120)     # a job holds the model
    monitor.start()
    first, total = _send_and_time(app, window, "What did I say about the garden?")
    out["first_token_10_jobs_queued"] = {
        **monitor.stop(), "send_to_first_token_s": round(first, 3), "reply_s": round(total, 2),
        "jobs_interrupted": worker.yielded - yielded,
        "jobs_waiting_after": _on_db(app, services, lambda e: e.jobs.queued())}
    worker.gate.pause(wait=True)       # the rest of the queue is not the benchmark's
    _on_db(app, services, lambda e: e.jobs.cancel([kinds.SUMMARIZE_CONVERSATION]))
    return out


def run(args, ctx) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen" if not os.environ.get("DISPLAY") else "xcb")
    work = Path(tempfile.mkdtemp(prefix="engram-bench-ui-"))
    results: dict[str, object] = {"platform": os.environ["QT_QPA_PLATFORM"], "tick_ms": TICK_MS}
    startup_seconds(work / "warm")                     # warm the OS file cache once
    results["window_shown_s"] = round(startup_seconds(work / "start"), 3)


    from app.benchmarks.synthetic_gguf import write_tiny_gguf
    from app.gui import build_window

    home = work / "home"
    app, window = build_window(str(home), autoload_model=False)
    window.services.settings.first_run_done = True
    window.finish_welcome()
    window.show()
    app.processEvents()
    monitor = StallMonitor()
    services = window.services
    results["index_worker_process"] = services.engram.index_process
    phases: dict[str, dict[str, float]] = {}

    # warm-up: the embedding model and the vector index load in the background after start
    monitor.start()
    t = time.perf_counter()
    warm = services.runner.background(
        lambda c: (c.engram.embedder.encode_one("warm up"), c.engram.index.count()))
    _wait(app, lambda: not warm.running, 300)
    phases["warm_up_after_start"] = {**monitor.stop(), "seconds": round(time.perf_counter() - t, 2)}

    # a) import + embedding
    export = write_export(work / "export", args.conversations)
    window.open_import()
    wizard = window._dialogs["import"]
    monitor.start()
    t = time.perf_counter()
    wizard.set_path(str(export))
    _wait(app, lambda: wizard.import_button.isEnabled(), 120)
    done: dict[str, object] = {}
    wizard.imported.connect(lambda r: done.setdefault("report", r))
    wizard.embedding_done.connect(lambda n: done.setdefault("embedded", n))
    wizard.import_button.click()
    _wait(app, lambda: "embedded" in done, 600)
    phases["import_and_embed"] = {**monitor.stop(), "seconds": round(time.perf_counter() - t, 2),
                                  "conversations": done["report"].new_conversations,
                                  "memories": done["report"].memories_created}
    wizard.close()

    # b) a streamed reply from a generated GGUF through the real runtime
    from ui.model_loader import load_model

    if args.model:
        gguf = Path(args.model)
    elif args.starter:
        from core.runtime.starter_model import ensure_starter_model

        gguf = ensure_starter_model(work / "models")
    else:
        gguf = write_tiny_gguf(work / "tiny.gguf")
    results["model"] = gguf.name
    services.settings.model.path = str(gguf)
    services.settings.model.n_ctx = 1024
    monitor.start()
    t = time.perf_counter()
    loaded: list[object] = []
    load_model(services, on_done=loaded.append)
    _wait(app, lambda: bool(loaded), 120)
    phases["model_load"] = {**monitor.stop(), "seconds": round(time.perf_counter() - t, 2)}
    window.new_chat()
    finished: list[object] = []
    window.chat.turn_finished.connect(finished.append)
    window.chat.turn_failed.connect(finished.append)
    monitor.start()
    t = time.perf_counter()
    window.chat.composer.setPlainText("Tell me about the garden and the trip to Lisbon.")
    window.chat.submit()
    _wait(app, lambda: bool(finished), 300)
    reply = finished[0]
    phases["streamed_reply"] = {**monitor.stop(), "seconds": round(time.perf_counter() - t, 2),
                                "characters": len(getattr(reply, "text", "") or "")}

    # c) reindex
    monitor.start()
    t = time.perf_counter()
    op = window.reindex()
    _wait(app, lambda: not op.running, 600)
    phases["reindex"] = {**monitor.stop(), "seconds": round(time.perf_counter() - t, 2)}

    # d) the person's turn first
    phases.update(person_first_phases(app, window, monitor))
    idle = phases["first_token_idle_queue"]["send_to_first_token_s"]
    busy = phases["first_token_10_jobs_queued"]["send_to_first_token_s"]
    results["first_token_idle_s"], results["first_token_10_jobs_s"] = idle, busy
    results["first_token_target_s"] = round(idle + FIRST_TOKEN_SLACK_S, 3)

    window.shutdown()
    window.close()
    app.processEvents()
    results["phases"] = phases
    longest = max(p["longest_stall_ms"] for p in phases.values())
    results["longest_stall_ms"] = longest
    results["stall_target_ms"] = STALL_TARGET_MS
    results["startup_target_s"] = STARTUP_TARGET_S
    if args.json:
        print_json(results)
    else:
        print(f"Engram UI benchmark ({results['platform']}, timer every {TICK_MS} ms)")
        print(f"  window shown after process start: {results['window_shown_s']:.2f} s "
              f"(target <= {STARTUP_TARGET_S} s)")
        for name, p in phases.items():
            extra = ", ".join(f"{k} {v}" for k, v in p.items()
                              if k not in ("longest_stall_ms", "p99_stall_ms", "median_late_ms",
                                           "ticks"))
            print(f"  {name:<17} longest stall {p['longest_stall_ms']:>7.1f} ms, "
                  f"p99 {p['p99_stall_ms']:>6.1f} ms  ({extra})")
        print(f"  longest stall overall: {longest:.1f} ms (target <= {STALL_TARGET_MS} ms)")
        print(f"  Send -> first token: idle queue {idle:.2f} s, 10 jobs queued {busy:.2f} s "
              f"(target <= {results['first_token_target_s']:.2f} s)")
    return 0
