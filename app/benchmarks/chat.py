"""`engram bench chat`: scripted conversations that state facts, then ask them back in a new chat.

Each script runs in a fresh data folder through the chat service, as a person meets it: the
person says a few things about themselves in one chat (the memory worker runs after every
answer, as in the app), then opens a new chat and asks about them, plus one question that has
nothing to do with memory. Figures, over every reply:
- echo: replies that copy the prompt (six words in a row of the system prompt or the base
  frame's opening, or twelve of the memories shown), before the reply guard (the guard's cuts)
  and after it (what is stored and shown: must be 0);
- ran on: replies that run past their own turn (a speaker label inside the reply), target 0;
- recall: recall questions answered with the stated fact (a keyword of it in the reply);
- seconds per reply.
The scripts are written for this benchmark (no evaluation data is used).
"""
from __future__ import annotations

import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Script:
    statements: tuple[str, ...]
    questions: tuple[tuple[str, tuple[str, ...]], ...]    # (question, any of these words)
    other: str                                            # a question memory cannot answer


SCRIPTS = (
    Script(("Hi! My name is Lena and I live in Ghent. I have a dog named Pixel.",
            "I work as a nurse, mostly night shifts.",
            "My favourite food is waffles with strawberries."),
           (("What is my dog called?", ("pixel",)), ("Where do I live?", ("ghent",)),
            ("What do I do for work?", ("nurse",))),
           "Can you explain what a rainbow is?"),
    Script(("Hello, I'm Omar. I'm learning to play the cello.",
            "My sister Yasmin lives in Marseille.",
            "I drive an old blue Volvo."),
           (("Which instrument am I learning?", ("cello",)),
            ("Where does my sister live?", ("marseille",)),
            ("What car do I drive?", ("volvo",))),
           "How do I boil an egg?"),
    Script(("I just started a job as a baker in Utrecht.",
            "My cat is called Biscuit and she is twelve years old.",
            "Next month I'm flying to Lisbon for a wedding."),
           (("What is my job?", ("baker",)), ("What is my cat's name?", ("biscuit",)),
            ("Where am I flying next month?", ("lisbon",))),
           "What is the capital of Japan?"),
    Script(("My name is Priya and I'm allergic to peanuts.",
            "I run every morning along the canal.",
            "My daughter Anika just turned seven."),
           (("What am I allergic to?", ("peanut",)), ("What is my daughter's name?", ("anika",)),
            ("When do I go running?", ("morning",))),
           "Write one sentence about autumn."),
    Script(("I'm Tomasz and I grow tomatoes on my balcony.",
            "I support the football club Lech Poznan.",
            "I'm saving up for a trip to Iceland."),
           (("What do I grow on my balcony?", ("tomato",)),
            ("Which football club do I support?", ("lech", "poznan")),
            ("What am I saving up for?", ("iceland",))),
           "Give me a tip for sleeping better."),
)
# a speaker label: the frame's own anywhere, or any name opening a new line of the reply
LABEL = re.compile(r"(?:^|\s)(?:Person|User|Engram|Assistant):|\n\s*[A-Z][a-z]{1,20}:\s")


def register(sub) -> None:
    p = sub.add_parser("chat", help="scripted chats: echo, running on, recall from memory")
    from app.benchmarks.memory_writing import add_model_arguments

    add_model_arguments(p)
    p.add_argument("--scripts", type=int, default=0, help="first N scripts only")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.set_defaults(func=run)


def run(args, ctx) -> int:
    from app.benchmarks import emit, machine
    from app.benchmarks.memory_writing import open_bench_model
    from core.index.embedder import Embedder

    scripts = SCRIPTS[: args.scripts or None]
    embedder = Embedder()
    llm = open_bench_model(args, ctx)
    try:
        out = measure(scripts, llm, embedder, seed=args.seed, progress=not args.json)
    finally:
        llm.close()
    out["model"] = {"name": llm.name, "kind": llm.kind}
    out["machine"] = machine()
    return emit(out, as_json=args.json, report=print_report)


def measure(scripts, llm, embedder, *, seed: int | None = 1, progress: bool = True
            ) -> dict[str, Any]:
    from core.services.chat import ChatService
    from core.services.engine import Engram
    from core.services.memory_worker import MemoryWorker

    replies: list[dict[str, Any]] = []
    for i, script in enumerate(scripts):
        with tempfile.TemporaryDirectory(prefix="engram-bench-") as tmp:
            eng = Engram.open(tmp)
            eng._embedder = embedder
            try:
                params = eng.settings.generation.params()   # what the app samples with
                params.seed = seed
                service = ChatService(eng, llm, params=params)
                worker = MemoryWorker(eng, lambda: llm)
                first = eng.conversations.create("statements")
                for text in script.statements:
                    replies.append(_turn(service, first.id, text, "statement", ()))
                    worker.run_until_idle()
                second = eng.conversations.create("questions")
                for question, words in script.questions:
                    replies.append(_turn(service, second.id, question, "recall", words))
                    worker.run_until_idle()
                replies.append(_turn(service, second.id, script.other, "other", ()))
            finally:
                eng.close()
        if progress:
            recalled = [r for r in replies[-(len(script.questions) + 1):] if r["kind"] == "recall"]
            print(f"script {i + 1}: {sum(r['recalled'] for r in recalled)}/{len(recalled)} "
                  f"recalled", file=sys.stderr)
    return summarise(replies)


def _turn(service, conversation_id: str, text: str, kind: str, words: tuple[str, ...]
          ) -> dict[str, Any]:
    t0 = time.perf_counter()
    result = service.send(conversation_id, text)
    seconds = time.perf_counter() - t0
    reply = result.text
    return {"kind": kind, "message": text, "reply": reply, "seconds": seconds,
            "cut": result.cut, "echo_after": bool(echo_in(reply, service, result)),
            "ran_on": bool(LABEL.search(reply)),
            "recalled": bool(words) and any(w in reply.lower() for w in words),
            "memory_shown": bool(words) and any(w in " ".join(t.text for t in result.trace)
                                                .lower() for w in words)}


def echo_in(reply: str, service, result) -> str:
    """An independent check of the stored reply: a copy of the prompt's own words."""
    from core.base.prompts import frame_text
    from core.memory.gates import copied_run

    own = [frame_text("system", "instruct"), frame_text("chat", "base")]
    shown = "\n".join(t.text for t in result.trace)
    return copied_run(reply, own, 6) or copied_run(reply, [shown], 12)


def summarise(replies: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(replies)
    recall = [r for r in replies if r["kind"] == "recall"]
    cut_echo = sum(1 for r in replies if "echo" in r["cut"])
    return {
        "replies": n,
        "echo_rate_before_guard": _ratio(cut_echo + sum(r["echo_after"] for r in replies), n),
        "echo_rate": _ratio(sum(r["echo_after"] for r in replies), n),
        "ran_on_rate": _ratio(sum(r["ran_on"] for r in replies), n),
        "loops_cut": sum(1 for r in replies if r["cut"] == "loop"),
        "recall": _ratio(sum(r["recalled"] for r in recall), len(recall)),
        "recall_questions": len(recall),
        "memory_shown": _ratio(sum(r["memory_shown"] for r in recall), len(recall)),
        "empty_replies": sum(1 for r in replies if not r["reply"].strip()),
        "seconds_per_reply": round(statistics.fmean(r["seconds"] for r in replies), 2)
        if replies else None,
        "examples": [{k: r[k] for k in ("kind", "message", "reply", "cut")}
                     for r in replies],
    }


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 3) if b else None


def print_report(out: dict[str, Any]) -> None:
    print(f"chat benchmark: {out['replies']} replies, model {out['model']['name']} "
          f"({out['model']['kind']})")
    print(f"  echo of the prompt      {out['echo_rate']} stored "
          f"({out['echo_rate_before_guard']} before the reply guard cut them)")
    print(f"  ran on past its turn    {out['ran_on_rate']}")
    print(f"  loops cut               {out['loops_cut']}")
    print(f"  recall from memory      {out['recall']} of {out['recall_questions']} questions "
          f"(the fact was among the memories shown for {out['memory_shown']})")
    print(f"  empty replies           {out['empty_replies']}")
    print(f"  seconds per reply       {out['seconds_per_reply']}")
    for r in out["examples"]:
        cut = f"  [cut: {r['cut']}]" if r["cut"] else ""
        print(f"    {r['kind']:9} {r['message'][:48]!r} -> {r['reply'][:70]!r}{cut}")
    m = out.get("machine", {})
    print(f"  machine: {m.get('cpus')} cpus, load {m.get('load_average')}")
