from __future__ import annotations

import json

import pytest

from app.cli import main
from core.memory.episodic import remember_messages
from core.services.engine import Engram


@pytest.fixture
def populated(home, embedder):
    eng = Engram.open(home)
    conv = eng.conversations.create("notes")
    msg = eng.conversations.add_message(conv.id, "user", "My bike lock code is walrus-9031")
    [turn] = remember_messages(eng.memories, [msg], actor="user")
    fact = eng.memories.create("fact", "The user cycles to work", actor="user")
    eng.close()
    return {"turn": turn, "fact": fact.id, "message": msg.id}


def run(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_list_show_edit_pin_forget_restore(home, populated, capsys) -> None:
    code, out, _ = run(capsys, "memories", "list", "--json")
    assert code == 0
    listed = {m["id"]: m for m in json.loads(out)}
    assert set(listed) == {populated["turn"], populated["fact"]}
    fid = populated["fact"]
    assert run(capsys, "memories", "edit", fid, "--text", "The user cycles to the office")[0] == 0
    assert run(capsys, "memories", "pin", fid)[0] == 0
    assert run(capsys, "memories", "forget", fid)[0] == 0
    code, out, _ = run(capsys, "memories", "list", "--json")
    assert [m["id"] for m in json.loads(out)] == [populated["turn"]]
    assert run(capsys, "memories", "restore", fid)[0] == 0
    code, out, _ = run(capsys, "memories", "show", fid, "--json")
    shown = json.loads(out)
    assert shown["memory"]["text"] == "The user cycles to the office"
    assert shown["memory"]["pinned"] is True and shown["memory"]["status"] == "active"
    events = shown["events"]
    assert [e["event"] for e in events] == ["created", "edited", "pinned", "forgotten",
                                            "restored"]
    # restore an old version by its history event
    assert run(capsys, "memories", "restore", fid, "--version", str(events[1]["id"]))[0] == 0
    code, out, _ = run(capsys, "memories", "show", populated["turn"])
    assert populated["message"] in out and "created by user" in out
    code, out, _ = run(capsys, "memories", "show", fid, "--json")
    assert json.loads(out)["memory"]["text"] == "The user cycles to work"


def test_search_and_purge(home, populated, capsys) -> None:
    code, out, _ = run(capsys, "memories", "search", "bicycle lock", "--json")
    assert code == 0
    hits = json.loads(out)
    assert hits[0]["id"] == populated["turn"] and hits[0]["reason"].startswith("matched")
    code, _, err = run(capsys, "memories", "purge", populated["turn"])
    assert code == 1 and "--yes" in err                 # no terminal: refuses without --yes
    assert run(capsys, "memories", "purge", populated["turn"], "--yes")[0] == 0
    code, out, _ = run(capsys, "memories", "show", populated["turn"], "--json")
    assert json.loads(out)["memory"]["status"] == "purged"
    assert b"walrus-9031" not in (home / "engram.db").read_bytes()


def test_errors_are_one_line(home, capsys) -> None:
    code, _, err = run(capsys, "memories", "show", "no-such-id")
    assert code == 1 and err.startswith("engram: error: No memory") and err.count("\n") == 1
    code, _, err = run(capsys, "memories", "edit", "no-such-id", "--text", " ")
    assert code == 1 and err.count("\n") == 1


def test_terminal_chat_one_message_through_the_chat_service(home, tiny_gguf, capsys) -> None:
    code, out, err = run(capsys, "chat", "--model", str(tiny_gguf), "--message",
                         "Remember that my bike is green", "--max-tokens", "6",
                         "--title", "cli")
    assert code == 0, err
    eng = Engram.open(home)
    try:
        [conv] = eng.conversations.list()
        thread = eng.conversations.thread(conv.id)
        assert [m.role for m in thread] == ["user", "assistant"]
        assert thread[1].text.strip() == out.strip()
        assert "User: Remember that my bike is green" in [m.text for m in eng.memories.list()]
        assert {j.kind for j in eng.jobs.list(status="queued")} >= {"hema_update", "post_think"}
    finally:
        eng.close()
    code, _, err = run(capsys, "chat", "--model", str(home / "missing.gguf"), "--message", "x")
    assert code == 1 and "No model file" in err


def test_several_ids_per_command_merge_and_undo(home, populated, capsys) -> None:
    turn, fact = populated["turn"], populated["fact"]
    code, out, _ = run(capsys, "memories", "forget", turn, fact)
    assert code == 0 and out.startswith("forget 2 memories")
    assert "engram memories undo: forget 2 memories" in out
    code, out, _ = run(capsys, "memories", "list", "--json")
    assert json.loads(out) == []
    code, out, _ = run(capsys, "memories", "undo")
    assert code == 0 and out.startswith("undo forget 2 memories")
    code, out, _ = run(capsys, "memories", "list", "--json")
    assert {m["id"] for m in json.loads(out)} == {turn, fact}

    code, out, _ = run(capsys, "memories", "merge", turn, fact)
    assert code == 0 and out.startswith("merge 2 memories: ")
    merged = out.split(": ", 1)[1].splitlines()[0]
    code, out, _ = run(capsys, "memories", "show", merged, "--json")
    shown = json.loads(out)
    assert shown["memory"]["text"].splitlines() == ["User: My bike lock code is walrus-9031",
                                                    "The user cycles to work"]
    assert populated["message"] in {s["message_id"] for s in shown["sources"]}
    code, out, _ = run(capsys, "memories", "list", "--status", "superseded", "--json")
    assert {m["id"] for m in json.loads(out)} == {turn, fact}
    assert run(capsys, "memories", "undo")[0] == 0
    code, out, _ = run(capsys, "memories", "list", "--json")
    assert {m["id"] for m in json.loads(out)} == {turn, fact}       # the merge is gone

    code, out, _ = run(capsys, "memories", "pin", turn, fact)
    assert code == 0 and out.startswith("pin 2 memories")
    code, out, _ = run(capsys, "memories", "move", turn, "--to", "conversation")
    assert code == 0 and out.startswith("move a memory to conversation scope")
    code, out, _ = run(capsys, "memories", "purge", turn, fact, "--yes")
    # the merge's result (forgotten by its undo) quotes the same message: it goes too
    assert code == 0 and out.startswith("This erases for good:\n  - these 2 memories")
    assert out.splitlines()[-1].startswith("purged 3 memories")
    code, _, err = run(capsys, "memories", "undo")
    assert code == 1 and "Nothing to undo: the last change was a purge" in err
    assert b"walrus-9031" not in (home / "engram.db").read_bytes()


def test_a_terminal_chat_is_titled_by_its_first_message(home, tiny_gguf, capsys) -> None:
    code, _, err = run(capsys, "chat", "--model", str(tiny_gguf), "--message",
                       "Plan a weekend in Porto with my sister", "--max-tokens", "4")
    assert code == 0, err
    eng = Engram.open(home)
    try:
        [conv] = eng.conversations.list()
        assert conv.title == "Plan a weekend in Porto with my sister"
    finally:
        eng.close()
