"""`engram projects ...` in a terminal: a round trip through every action, one line each,
and what the moves do to what a chat outside the project may read."""
from __future__ import annotations

import json

from app.cli import main
from core.memory.episodic import remember_messages
from core.memory.steering import project_filter
from core.services.engine import Engram


def run(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out.strip(), out.err.strip()


def _scoped(home) -> tuple[str, str, str | None]:
    """(the chat's id, its memory's id, the memory's project) as SQLite has them now."""
    eng = Engram.open(home)
    try:
        [conv] = [c for c in eng.conversations.list() if c.title == "thesis"]
        [mem] = eng.memories.list(conversation_id=conv.id, limit=None)
        return conv.id, mem.id, mem.project_id
    finally:
        eng.close()


def test_projects_round_trip(home, embedder, capsys) -> None:
    eng = Engram.open(home)
    conv = eng.conversations.create("thesis")
    msg = eng.conversations.add_message(conv.id, "user", "Chapter three is due on 14 March")
    remember_messages(eng.memories, [msg], actor="user")
    other = eng.conversations.create("elsewhere")
    eng.close()

    assert run(capsys, "projects", "list")[1] == "no projects yet (engram projects create NAME)"
    code, out, _ = run(capsys, "projects", "create", "Thesis")
    assert code == 0 and out.startswith("created project ") and out.endswith("  Thesis")
    pid = out.split()[2]
    code, _, err = run(capsys, "projects", "create", "thesis")
    assert code == 1 and err == "engram: error: There is already a project named “Thesis”"
    assert run(capsys, "projects", "create", " ")[2] == "engram: error: A project needs a name"

    code, out, _ = run(capsys, "projects", "move", conv.id, "thesis")    # by name, any case
    assert (code, out) == (0, "move “thesis” to project “Thesis”, with its memory")
    cid, mid, scope = _scoped(home)
    assert scope == pid
    eng = Engram.open(home)
    try:
        mem = eng.memories.get(mid)
        assert not project_filter(eng.memories, other.id)(mem)   # never read outside
        assert project_filter(eng.memories, cid)(mem)
    finally:
        eng.close()
    code, out, _ = run(capsys, "projects", "list", "--json")
    assert json.loads(out) == [{"id": pid, "name": "Thesis", "source": "engram", "chats": 1}]
    assert run(capsys, "projects", "rename", pid, "PhD")[1] == \
        "rename project “Thesis” to “PhD”"
    assert run(capsys, "projects", "move", conv.id, "--none")[1] == \
        "move “thesis” to no project, with its memory"
    assert _scoped(home)[2] is None
    code, _, err = run(capsys, "projects", "move", conv.id, "Nope")
    assert code == 1 and "No project named or with id “Nope”" in err
    run(capsys, "projects", "move", conv.id, pid)
    assert run(capsys, "projects", "delete", "PhD")[1] == \
        "delete project “PhD” (1 chat to no project, 1 memory to global)"
    assert _scoped(home)[2] is None
    assert run(capsys, "projects", "list")[1].startswith("no projects yet")
