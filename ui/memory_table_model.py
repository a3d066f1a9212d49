"""A lazily paged table model over the memory views (core.store.memory_views).

Two views: what Engram knows (facts, thoughts by subject, portrait, summaries) and the
conversations' turns, grouped by chat. Turn windows are never rows (they are counted).

Rows arrive a page at a time from the db thread (`fetchMore` asks, the answer inserts rows),
so a 100k-row store opens at once and scrolls smoothly. A generation counter drops answers to
queries that were replaced in the meantime (the user typed another filter).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QFont

from core.memory.retrieval import semantic_search
from core.services.engine import Engram
from core.store.memories import Memory
from ui import memory_words as words
from ui.memory_row_delegate import DETAIL_ROLE
from ui.services import Services

PAGE_SIZE = 200
_ROOT = QModelIndex()
VIEW_COLUMNS = {
    "knows": ["What Engram knows", "About", "Kind", "From", "Status", "Happened", "Stored"],
    "turns": ["What was said", "Who", "Chat", "Status", "Happened", "Stored"],
}
COLUMNS = VIEW_COLUMNS["knows"]


@dataclass
class MemoryFilter:
    view: str = "knows"                 # knows | turns (core.store.memory_views.VIEWS)
    text: str = ""
    semantic: bool = False
    kinds: tuple[str, ...] = ()
    scope: str | None = None
    statuses: tuple[str, ...] = ("active",)
    import_id: str | None = None
    conversation_id: str | None = None
    pinned: bool | None = None
    since: float | None = None
    until: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def store_kwargs(self) -> dict[str, Any]:
        return {"kinds": self.kinds or None, "statuses": self.statuses or None,
                "scope": self.scope, "import_id": self.import_id, "pinned": self.pinned,
                "conversation_id": self.conversation_id, "since": self.since,
                "until": self.until, "text": "" if self.semantic else self.text}


def in_view(mem: Memory, view: str) -> bool:
    if view == "turns":
        return mem.kind == "episodic" and (mem.granularity or "turn") == "turn"
    return mem.kind != "episodic"


def search_by_meaning(eng: Engram, flt: MemoryFilter, k: int = 100
                      ) -> tuple[list[tuple[Memory, float]], dict[str, Any]]:
    """Runs on a worker: core's semantic search with this filter's kinds, statuses, scope,
    the hits of this view only, with their sources."""
    hits = [(m, s) for m, s in semantic_search(
        eng.memories, eng.index, eng.embedder, flt.text, k=k, kinds=flt.kinds,
        statuses=flt.statuses, scope=flt.scope) if in_view(m, flt.view)]
    return hits, eng.views.sources_of([m.id for m, _ in hits])


class MemoryTableModel(QAbstractTableModel):
    loaded = Signal()          # a query's first page (or the semantic result) arrived
    total_changed = Signal(int)

    def __init__(self, services: Services, parent: Any = None) -> None:
        super().__init__(parent)
        self.services = services
        self.filter = MemoryFilter()
        self.rows: list[Any] = []
        self.scores: dict[str, float] = {}
        self.info: dict[str, dict[str, Any]] = {}     # memory id -> its sources, in words
        self.total = 0
        self._generation = 0
        self._loading = False
        self.searching = False

    # -- queries ---------------------------------------------------------------------------
    def set_filter(self, flt: MemoryFilter) -> None:
        columns_change = flt.view != self.filter.view
        if columns_change:
            self.beginResetModel()
        self.filter = replace(flt)
        if columns_change:
            self.rows, self.total, self.scores = [], 0, {}
            self.endResetModel()
        self.reload()

    def reload(self) -> None:
        self._generation += 1
        gen = self._generation
        flt = replace(self.filter)
        self._loading = True
        if flt.semantic and flt.text.strip():
            self.searching = True
            self.services.runner.background(
                lambda ctx: search_by_meaning(ctx.engram, flt),
                success=lambda hits: self._semantic_done(gen, hits),
                failure=lambda e: self._failed(gen, e))
            return
        kw = flt.store_kwargs()

        def first_page(ctx):
            views = ctx.engram.views
            rows = views.page(flt.view, **kw, limit=PAGE_SIZE, offset=0)
            return views.count(flt.view, **kw), rows, views.sources_of([m.id for m in rows])

        self.services.runner.db(first_page, success=lambda res: self._first_page(gen, res),
                                failure=lambda e: self._failed(gen, e))

    def _first_page(self, gen: int, res: tuple[int, list[Any], dict[str, Any]]) -> None:
        if gen != self._generation:
            return
        total, rows, info = res
        self.beginResetModel()
        self.rows, self.total, self.scores, self.info = list(rows), total, {}, dict(info)
        self._loading = False
        self.endResetModel()
        self.total_changed.emit(total)
        self.loaded.emit()

    def _semantic_done(self, gen: int, res: tuple[list[tuple[Any, float]], dict[str, Any]]
                       ) -> None:
        if gen != self._generation:
            return
        hits, info = res
        self.searching = False
        self.beginResetModel()
        self.info = dict(info)
        self.rows = [m for m, _ in hits]
        self.scores = {m.id: s for m, s in hits}
        self.total = len(self.rows)
        self._loading = False
        self.endResetModel()
        self.total_changed.emit(self.total)
        self.loaded.emit()

    def _failed(self, gen: int, error: BaseException) -> None:
        if gen == self._generation:
            self._loading = False
            self.searching = False
            from ui.dialogs import show_error

            show_error(None, error)

    def canFetchMore(self, parent: QModelIndex = _ROOT) -> bool:
        return not parent.isValid() and not self._loading and len(self.rows) < self.total \
            and not self.scores

    def fetchMore(self, parent: QModelIndex = _ROOT) -> None:
        if not self.canFetchMore(parent):
            return
        self._loading = True
        gen, offset, kw = self._generation, len(self.rows), self.filter.store_kwargs()
        view = self.filter.view

        def page(ctx):
            rows = ctx.engram.views.page(view, **kw, limit=PAGE_SIZE, offset=offset)
            return rows, ctx.engram.views.sources_of([m.id for m in rows])

        self.services.runner.db(page, success=lambda res: self._more(gen, offset, *res),
                                failure=lambda e: self._failed(gen, e))

    def _more(self, gen: int, offset: int, rows: list[Any], info: dict[str, Any]) -> None:
        if gen != self._generation or offset != len(self.rows):
            return
        self.info.update(info)
        self._loading = False
        if not rows:
            self.total = len(self.rows)
            return
        self.beginInsertRows(QModelIndex(), offset, offset + len(rows) - 1)
        self.rows.extend(rows)
        self.endInsertRows()

    # -- single rows -------------------------------------------------------------------------
    def memory_at(self, row: int) -> Any:
        return self.rows[row] if 0 <= row < len(self.rows) else None

    def row_of(self, memory_id: str) -> int:
        for i, m in enumerate(self.rows):
            if m.id == memory_id:
                return i
        return -1

    def update_memory(self, memory: Any) -> None:
        row = self.row_of(memory.id)
        if row >= 0:
            self.rows[row] = memory
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(self.columns) - 1))

    # -- Qt model ----------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self.rows)

    @property
    def columns(self) -> list[str]:
        return VIEW_COLUMNS.get(self.filter.view, COLUMNS)

    def columnCount(self, parent: QModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            cols = self.columns
            if self.scores and cols[section] == "Status":
                return "Score"
            return cols[section] if section < len(cols) else None
        return None

    def cell(self, mem: Memory, name: str) -> str:
        """One cell's text, in a person's words (ui.memory_words)."""
        info = self.info.get(mem.id)
        if name in ("What Engram knows", "What was said"):
            text = words.unprefixed(mem.text).replace("\n", " ") if mem.text else "(erased)"
            return text[:240]
        if name == "About":
            return (mem.subject or "").capitalize()
        if name == "Kind":
            return words.kind_name(mem)
        if name in ("From", "Who"):
            return words.who_said(mem, info)
        if name == "Chat":
            return ((info or {}).get("title") or "Untitled chat")[:60]
        if name == "Status":
            if self.scores:
                return f"{self.scores.get(mem.id, 0):.2f}"
            return words.status_text(mem)
        if name == "Happened":
            return words.day(words.happened(mem, info))
        if name == "Stored":
            return words.day(mem.created_at)
        return ""

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        mem = self.rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self.cell(mem, self.columns[col])
        if role == Qt.ItemDataRole.ToolTipRole and col == 0:
            return words.unprefixed(mem.text)[:600]
        if role == Qt.ItemDataRole.ToolTipRole and self.columns[col] == "Status":
            return words.status_sentence(mem)
        if role == Qt.ItemDataRole.ForegroundRole and mem.status != "active":
            return QColor("#8a8f99")
        if role == Qt.ItemDataRole.ForegroundRole and col == 0 and \
                words.who_said(mem, self.info.get(mem.id)) == "Assistant":
            return QColor("#5b6b86")
        if role == Qt.ItemDataRole.FontRole and col == 0 and (mem.pinned or mem.always_include):
            f = QFont()
            f.setWeight(QFont.Weight.DemiBold)
            return f
        if role == Qt.ItemDataRole.UserRole:
            return mem.id
        if role == DETAIL_ROLE:
            return self.detail_line(mem)
        return None

    def detail_line(self, mem: Memory) -> str:
        """The muted second line under a memory (ui.memory_row_delegate)."""
        if self.filter.view == "turns":
            parts = [self.cell(mem, "Who"), "in “" + self.cell(mem, "Chat") + "”",
                     self.cell(mem, "Happened")]
        else:
            about = self.cell(mem, "About")
            parts = [self.cell(mem, "Kind"), self.cell(mem, "From")]
            if about:
                parts.insert(1, f"about {about}")
            when = words.happened(mem, self.info.get(mem.id))
            parts.append(f"happened {words.day(when)}" if when else "undated")
            parts.append(f"stored {self.cell(mem, 'Stored')}")
        return " · ".join(p for p in parts if p)
