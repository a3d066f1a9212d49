"""A lazily paged table model over MemoryStore queries.

Rows arrive a page at a time from the db thread (`fetchMore` asks, the answer inserts rows),
so a 100k-row store opens at once and scrolls smoothly. A generation counter drops answers to
queries that were replaced in the meantime (the user typed another filter).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QFont

from core.memory.retrieval import semantic_search
from core.services.engine import Engram
from core.store.memories import Memory
from ui.services import Services

PAGE_SIZE = 200
_ROOT = QModelIndex()
COLUMNS = ["Memory", "Kind", "Scope", "Status", "Strength", "Updated"]


@dataclass
class MemoryFilter:
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


def search_by_meaning(eng: Engram, flt: MemoryFilter, k: int = 100) -> list[tuple[Memory, float]]:
    """Runs on a worker: core's semantic search with this filter's kinds, statuses, scope."""
    return semantic_search(eng.memories, eng.index, eng.embedder, flt.text, k=k,
                           kinds=flt.kinds, statuses=flt.statuses, scope=flt.scope)


class MemoryTableModel(QAbstractTableModel):
    loaded = Signal()          # a query's first page (or the semantic result) arrived
    total_changed = Signal(int)

    def __init__(self, services: Services, parent: Any = None) -> None:
        super().__init__(parent)
        self.services = services
        self.filter = MemoryFilter()
        self.rows: list[Any] = []
        self.scores: dict[str, float] = {}
        self.total = 0
        self._generation = 0
        self._loading = False
        self.searching = False

    # -- queries ---------------------------------------------------------------------------
    def set_filter(self, flt: MemoryFilter) -> None:
        self.filter = replace(flt)
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
            store = ctx.engram.memories
            return store.count(**kw), store.list(**kw, limit=PAGE_SIZE, offset=0)

        self.services.runner.db(first_page, success=lambda res: self._first_page(gen, res),
                                failure=lambda e: self._failed(gen, e))

    def _first_page(self, gen: int, res: tuple[int, list[Any]]) -> None:
        if gen != self._generation:
            return
        total, rows = res
        self.beginResetModel()
        self.rows, self.total, self.scores = list(rows), total, {}
        self._loading = False
        self.endResetModel()
        self.total_changed.emit(total)
        self.loaded.emit()

    def _semantic_done(self, gen: int, hits: list[tuple[Any, float]]) -> None:
        if gen != self._generation:
            return
        self.searching = False
        self.beginResetModel()
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
        self.services.runner.db(
            lambda ctx: ctx.engram.memories.list(**kw, limit=PAGE_SIZE, offset=offset),
            success=lambda rows: self._more(gen, offset, rows),
            failure=lambda e: self._failed(gen, e))

    def _more(self, gen: int, offset: int, rows: list[Any]) -> None:
        if gen != self._generation or offset != len(self.rows):
            return
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
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    # -- Qt model ----------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            if section == 4 and self.scores:
                return "Score"
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        mem = self.rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                text = mem.text.replace("\n", " ") if mem.text else "(purged)"
                return text[:200]
            if col == 1:
                return mem.kind
            if col == 2:
                return mem.scope
            if col == 3:
                return mem.status + (" · pinned" if mem.pinned else "")
            if col == 4:
                if self.scores:
                    return f"{self.scores.get(mem.id, 0):.2f}"
                return f"{mem.strength:.1f}"
            if col == 5:
                return time.strftime("%d %b %Y", time.localtime(mem.updated_at))
        if role == Qt.ItemDataRole.ToolTipRole and col == 0:
            return mem.text[:600]
        if role == Qt.ItemDataRole.ForegroundRole and mem.status != "active":
            return QColor("#8a8f99")
        if role == Qt.ItemDataRole.FontRole and col == 0 and mem.pinned:
            f = QFont()
            f.setWeight(QFont.Weight.DemiBold)
            return f
        if role == Qt.ItemDataRole.UserRole:
            return mem.id
        return None
