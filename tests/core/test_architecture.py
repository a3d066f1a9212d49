"""The layout of the house, kept: core's wings only import the wings below them, SQL is
written only in the store wing, and no module grows past 500 lines."""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "ui", "app")

# Which wings of core each wing may import (core/__init__ imports nothing).
ALLOWED = {
    "base": set(),
    "store": {"base"},
    "index": {"base", "store"},
    "runtime": {"base"},
    "memory": {"base", "store", "index"},
    "services": {"base", "store", "index", "runtime", "memory"},
    "importers": {"base", "store", "index", "memory", "services"},
}
# The vector index's own erasure reads Chroma's SQLite file (chroma.sqlite3), which is Chroma's
# store, not Engram's: the one place outside core/store that runs SQL, on purpose.
SQL_ELSEWHERE = {"core/index/erasure.py"}
SQL_TEXT = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|PRAGMA|CREATE|ALTER|DROP|VACUUM|"
                      r"WITH RECURSIVE)\b")
SQL_CALLS = {"execute", "executemany", "executescript"}
MAX_LINES = 500


def _modules(*roots: str) -> list[Path]:
    return sorted(p for r in roots for p in (ROOT / r).rglob("*.py"))


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _imports(tree: ast.AST) -> list[str]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append(node.module)
            out += [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            out += [a.name for a in node.names]
    return out


def test_core_wings_import_only_the_wings_below_them() -> None:
    wrong = []
    for path in _modules("core"):
        parts = path.relative_to(ROOT / "core").parts
        if len(parts) == 1:
            continue                    # core/__init__.py
        wing = parts[0]
        assert wing in ALLOWED, f"{_name(path)}: core/{wing} is not a known wing"
        for name in _imports(ast.parse(path.read_text("utf-8"))):
            top, _, rest = name.partition(".")
            if top in ("ui", "app"):
                wrong.append(f"{_name(path)} imports {name}")
            elif top == "core" and rest:
                other = rest.split(".")[0]
                if other in ALLOWED and other != wing and other not in ALLOWED[wing]:
                    wrong.append(f"{_name(path)} ({wing}) imports {name}")
    assert wrong == []


def test_ui_never_imports_the_app() -> None:
    wrong = [f"{_name(p)} imports {n}" for p in _modules("ui")
             for n in _imports(ast.parse(p.read_text("utf-8"))) if n.split(".")[0] == "app"]
    assert wrong == []


def test_sql_is_written_in_the_store_wing_only() -> None:
    found = []
    for path in _modules(*PACKAGES):
        name = _name(path)
        if name.startswith("core/store/") or name in SQL_ELSEWHERE:
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and SQL_TEXT.match(node.value):
                found.append(f"{name}:{node.lineno} SQL text {node.value[:40]!r}")
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                  and node.func.attr in SQL_CALLS):
                found.append(f"{name}:{node.lineno} .{node.func.attr}()")
            elif (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute)
                  and node.value.attr == "db"):
                found.append(f"{name}:{node.lineno} a table through .db[...]")
    assert found == []


def test_the_check_finds_sql_where_there_is_some() -> None:
    """The detector itself: a statement in a string, a raw execute, a table by name."""
    tree = ast.parse('eng.db.execute("SELECT count(*) FROM memories")\nn = eng.db["messages"]\n')
    consts = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)]
    calls = [n.func.attr for n in ast.walk(tree) if isinstance(n, ast.Call)]
    subs = [n for n in ast.walk(tree) if isinstance(n, ast.Subscript)]
    assert any(SQL_TEXT.match(c) for c in consts) and "execute" in calls and subs


def test_no_module_is_over_500_lines() -> None:
    long = {_name(p): n for p in _modules(*PACKAGES, "tests", "packaging")
            if (n := len(p.read_text("utf-8").splitlines())) > MAX_LINES}
    assert long == {}
