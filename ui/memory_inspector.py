"""The memory inspector: what Engram knows first (facts, thoughts by subject, the portrait,
summaries), the conversations' turns as a second view grouped by chat; windows are counted,
never listed. Filterable and searchable, with a detail pane and the actions a person needs
(edit, keep, always include, scope, forget/restore, merge, purge, undo)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QDate, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTabBar,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from core.services import memory_ops
from core.services.changes import Changes
from core.services.engine import Engram
from core.services.provenance import provenance
from core.services.purge import PurgeReport
from ui.dialogs import show_error
from ui.fitting import flexible, wrapping_row
from ui.inspector_actions import SteeringActions
from ui.memory_detail import MemoryDetail
from ui.memory_row_delegate import ROW_HEIGHT, MemoryRowDelegate
from ui.memory_table_model import MemoryFilter, MemoryTableModel, in_view
from ui.memory_words import KIND_FILTER, tally_text
from ui.ops import OpContext
from ui.services import Services

STATUS_CHOICES = [("In use", ("active",)), ("Forgotten", ("forgotten",)),
                  ("Replaced / merged", ("superseded",)), ("Erased", ("purged",)),
                  ("Any state", ())]
VIEWS = [("What Engram knows", "knows"), ("Conversations", "turns")]


def _tip_follows_choice(combo: QComboBox) -> None:
    """The combo's tooltip names its current choice in full (the box may elide it)."""
    base = combo.toolTip()

    def update(_index: int = 0) -> None:
        combo.setToolTip(f"{base}: {combo.currentText()}" if base else combo.currentText())

    combo.currentIndexChanged.connect(update)
    update()


class MemoryInspector(SteeringActions, QWidget):
    memory_shown = Signal(str)        # the detail pane now shows this id (tests wait on it)
    action_done = Signal(str)         # a change finished (its description)

    def __init__(self, services: Services, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.model = MemoryTableModel(services, self)
        self.current_id: str | None = None
        self.undo_text = ""              # what undo would take back ("" = nothing)
        self._own_changes: list[Changes] = []   # records of this panel's own operations
        self._build()
        self.model.total_changed.connect(self._count_changed)
        self.model.loaded.connect(self._reselect)
        services.events.changed.connect(self._changed)
        services.events.memory_feedback.connect(self.feedback)
        self.detail.forget_threshold = services.settings.memory.forget_threshold

    # -- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        box = QVBoxLayout(self)
        box.setContentsMargins(8, 8, 8, 8)
        box.setSpacing(6)
        self.views = QTabBar()
        self.views.setObjectName("memoryViews")
        for label, _view in VIEWS:
            self.views.addTab(label)
        self.views.setDrawBase(False)
        box.addWidget(self.views)
        self.tally = QLabel("")
        self.tally.setObjectName("mutedLabel")
        self.tally.setWordWrap(True)
        tally_row = QHBoxLayout()
        tally_row.addWidget(flexible(self.tally), 1)
        self.tally_row = tally_row
        box.addLayout(tally_row)
        row = QHBoxLayout()
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search memories")
        self.search.setClearButtonEnabled(True)
        row.addWidget(self.search, 1)
        self.mode = QComboBox()
        self.mode.addItem("Words", False)
        self.mode.addItem("Meaning", True)
        self.mode.setToolTip("Words: full-text search. Meaning: semantic search (embeddings).")
        row.addWidget(self.mode)
        box.addLayout(row)

        filters = QHBoxLayout()
        self.kind = QComboBox()
        self.kind.addItem("All kinds", ())
        for label, kinds in KIND_FILTER:
            self.kind.addItem(label, kinds)
        self.scope = QComboBox()
        self.scope.addItem("Any chat", None)
        self.scope.addItem("Every chat", "global")
        self.scope.addItem("One chat only", "conversation")
        self.status = QComboBox()
        for label, statuses in STATUS_CHOICES:
            self.status.addItem(label, statuses)
        self.source = QComboBox()
        self.source.addItem("Any source", None)
        self.source.setToolTip("Only memories from one import")
        for w in (self.kind, self.scope, self.status, self.source):
            # narrow docks elide the choice (its tooltip says it in full); wide ones stretch
            w.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            w.setMinimumContentsLength(5)
            _tip_follows_choice(w)
            filters.addWidget(w, 1)
        box.addLayout(filters)
        dates = QHBoxLayout()
        self.use_dates = QCheckBox("From")
        self.since = QDateEdit(QDate.currentDate().addMonths(-1))
        self.until = QDateEdit(QDate.currentDate())
        for d in (self.since, self.until):
            d.setCalendarPopup(True)
            d.setDisplayFormat("yyyy-MM-dd")
            d.setEnabled(False)
        self.use_dates.toggled.connect(lambda on: (self.since.setEnabled(on),
                                                   self.until.setEnabled(on)))
        self.use_dates.setText("Only from")
        dates.addWidget(self.use_dates)
        dates.addWidget(self.since)
        dates.addWidget(QLabel("to"))
        dates.addWidget(self.until)
        dates.addStretch(1)
        box.addLayout(dates)

        self.table = QTableView()
        self.table.setObjectName("memoryTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(ROW_HEIGHT)
        self.table.setItemDelegate(MemoryRowDelegate(self.table))
        self.table.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.Stretch)
        self.model.modelReset.connect(self._fit_columns)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.empty = QLabel("No memories yet. Chat, or import an archive (File ▸ Import), "
                            "and what Engram remembers appears here.")
        self.empty.setObjectName("emptyState")
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self.count_label = QLabel("")
        self.count_label.setObjectName("mutedLabel")
        self.forget_button = QPushButton("Forget")
        self.forget_button.setToolTip("Never used in answers until restored (reversible)")
        self.restore_button = QPushButton("Restore")
        self.restore_button.setToolTip("Use it in answers again")
        self.pin_button = QPushButton("Keep")
        self.pin_button.setToolTip("Keep for good: it never fades (it is not sent every time)")
        self.always_button = QPushButton("Always include")
        self.always_button.setToolTip("Send it with every message (its chat scope permitting)")
        self.merge_button = QPushButton("Merge")
        self.merge_button.setToolTip("Combine the selected memories into one (the originals are "
                                     "kept as merged, reversible)")
        self.purge_button = QPushButton("Purge…")
        self.purge_button.setObjectName("dangerButton")
        self.paste_button = QPushButton("Paste memories…")
        self.paste_button.setToolTip("Import a list of saved memories from another assistant")
        self.paste_button.clicked.connect(self.open_paste)
        self.tally_row.addWidget(self.paste_button)
        self.undo_button = QPushButton("Undo")
        self.undo_button.setToolTip("Undo the last change (Ctrl+Z in the inspector)")
        self.forget_button.clicked.connect(self.forget_selected)
        self.restore_button.clicked.connect(self.restore_selected)
        self.pin_button.clicked.connect(self.toggle_pin_selected)
        self.always_button.clicked.connect(self.toggle_always_selected)
        self.merge_button.clicked.connect(self.merge_selected)
        self.purge_button.clicked.connect(self.confirm_purge_selected)
        self.undo_button.clicked.connect(self.undo)
        # one line when the dock is wide, two or more when it is narrow
        self.count_label.setMinimumHeight(self.forget_button.sizeHint().height())
        self.count_label.setAlignment(Qt.AlignmentFlag.AlignVCenter)
        actions = wrapping_row(self.count_label, self.forget_button, self.restore_button,
                               self.pin_button, self.always_button, self.merge_button,
                               self.purge_button, self.undo_button)

        self.detail = MemoryDetail()
        self.detail.save_text.connect(self.edit_text)
        self.detail.pin_changed.connect(lambda mid, on: self.set_pinned([mid], on))
        self.detail.always_changed.connect(lambda mid, on: self.set_always([mid], on))
        self.detail.forget_requested.connect(lambda mid: self._change(
            lambda eng: memory_ops.forget(eng, [mid])))
        self.detail.restore_requested.connect(lambda mid: self._change(
            lambda eng: memory_ops.restore(eng, [mid])))
        self.detail.purge_requested.connect(lambda mid: self.confirm_purge([mid]))
        self.detail.scope_changed.connect(self.set_scope)
        self.detail.restore_version.connect(self.restore_version)
        self.detail.jump_to.connect(self.services.events.open_conversation.emit)

        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addWidget(self.table, 1)
        tl.addWidget(self.empty, 1)
        tl.addWidget(actions)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(self.detail)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        box.addWidget(split, 1)

        self._filter_timer = QTimer(self, singleShot=True, interval=250)
        self._filter_timer.timeout.connect(self.apply_filters)
        self.search.textChanged.connect(lambda _: self._filter_timer.start())
        for combo in (self.mode, self.kind, self.scope, self.status, self.source):
            combo.currentIndexChanged.connect(lambda _=0: self._filter_timer.start())
        for d in (self.since, self.until):
            d.dateChanged.connect(lambda _=None: self._filter_timer.start())
        self.use_dates.toggled.connect(lambda _=False: self._filter_timer.start())
        self.views.currentChanged.connect(self._view_changed)
        self._update_buttons()
        # Ctrl+Z inside the inspector only (PySide6 ignores a `context=` keyword here)
        self.undo_shortcut = QShortcut(QKeySequence(QKeySequence.StandardKey.Undo), self)
        self.undo_shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.undo_shortcut.activated.connect(self.undo)

    # -- loading -----------------------------------------------------------------------------
    def refresh(self) -> None:
        self.services.runner.db(lambda ctx: ctx.engram.imports.list(), success=self._fill_sources)
        self.refresh_undo()
        self.refresh_tally()
        self.apply_filters()

    def _fit_columns(self) -> None:
        """The memory and its state; the rest is in the row's second line."""
        hdr = self.table.horizontalHeader()
        for i, name in enumerate(self.model.columns):
            self.table.setColumnHidden(i, i != 0 and name != "Status")
            if name == "Status":
                hdr.setSectionResizeMode(i, QHeaderView.ResizeMode.ResizeToContents)

    def refresh_tally(self) -> None:
        self.services.runner.db(lambda ctx: ctx.engram.views.tally(),
                                success=lambda t: self.tally.setText(tally_text(t)))

    @property
    def view(self) -> str:
        return VIEWS[max(0, self.views.currentIndex())][1]

    def show_view(self, view: str) -> None:
        self.views.setCurrentIndex([v for _, v in VIEWS].index(view))

    def _view_changed(self, _index: int) -> None:
        self.kind.setVisible(self.view == "knows")
        self.apply_filters()

    def _fill_sources(self, imports: list[dict[str, Any]]) -> None:
        current = self.source.currentData()
        self.source.blockSignals(True)
        self.source.clear()
        self.source.addItem("Any source", None)
        for imp in imports:
            self.source.addItem(f"Import: {imp['file_name']}", imp["id"])
        idx = self.source.findData(current)
        self.source.setCurrentIndex(max(idx, 0))
        self.source.blockSignals(False)

    def current_filter(self) -> MemoryFilter:
        since = until = None
        if self.use_dates.isChecked():
            since = self.since.date().startOfDay().toSecsSinceEpoch()
            until = self.until.date().addDays(1).startOfDay().toSecsSinceEpoch()
        return MemoryFilter(view=self.view, text=self.search.text().strip(),
                            semantic=bool(self.mode.currentData()),
                            kinds=tuple(self.kind.currentData() or ()) if self.view == "knows"
                            else (),
                            scope=self.scope.currentData(),
                            statuses=tuple(self.status.currentData() or ()),
                            import_id=self.source.currentData(), since=since, until=until)

    def apply_filters(self) -> None:
        self.count_label.setText("Searching…" if self.mode.currentData() and self.search.text()
                                 else "Loading…")
        self.model.set_filter(self.current_filter())

    def _count_changed(self, total: int) -> None:
        flt = self.model.filter
        nothing = total == 0 and not flt.text and not flt.kinds and flt.statuses == ("active",)
        self.table.setVisible(not nothing)
        self.empty.setVisible(nothing)
        if nothing and flt.view == "knows":
            self.empty.setText("Engram knows no facts yet. They are written after each answer "
                               "(and from imported chats in the background). What was said is "
                               "under Conversations.")
        elif nothing:
            self.empty.setText("No conversations remembered yet. Chat, or import an archive "
                               "(File ▸ Import).")
        one, many = ("turn", "turns") if flt.view == "turns" else ("memory", "memories")
        what = "match" if flt.semantic and flt.text else one if total == 1 else many
        self.count_label.setText(f"{total:,} {what}" + (" (best first)" if self.model.scores else ""))

    def _changed(self, changes: Changes) -> None:
        if changes.undo is not None:
            self._set_undo(changes.undo)
        if not changes.memories_changed:
            return
        self.model.reload()
        self.refresh_tally()
        mine = any(changes is c for c in self._own_changes)
        self._own_changes = [c for c in self._own_changes if c is not changes]
        if (self.current_id and isinstance(changes.detail, PurgeReport)
                and self.current_id in changes.detail.memories):
            self.detail.show_erased(changes.detail)   # nothing of it is left to show
            self.current_id = None
            self._update_buttons()
            return
        if self.current_id and changes.touches_memory(self.current_id) and (
                mine or not self.detail.is_dirty()):
            self.show_memory(self.current_id, select=False)

    def _reselect(self) -> None:
        if self.current_id:
            row = self.model.row_of(self.current_id)
            if row >= 0:
                self.table.selectionModel().blockSignals(True)
                self.table.selectRow(row)
                self.table.selectionModel().blockSignals(False)
                self.table.scrollTo(self.model.index(row, 0),
                                    QAbstractItemView.ScrollHint.PositionAtCenter)
        self._update_buttons()

    # -- selection and detail ----------------------------------------------------------------
    def selected_ids(self) -> list[str]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self.model.rows[r].id for r in rows if r < len(self.model.rows)]

    def selected_memories(self) -> list[Any]:
        """The selected rows; with none (the memory left the list: forgotten under "In
        use"), the memory the detail pane shows, so Restore works from any filter."""
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        found = [self.model.rows[r] for r in rows if r < len(self.model.rows)]
        if not found and self.detail.memory is not None and self.current_id == \
                self.detail.memory.id:
            return [self.detail.memory]
        return found

    def _selection_changed(self, *_args: Any) -> None:
        ids = self.selected_ids()
        if len(ids) == 1 and ids[0] != self.current_id:
            self.show_memory(ids[0], select=False)
        self._update_buttons()

    def show_memory(self, memory_id: str, *, select: bool = True) -> None:
        """Load one memory into the detail pane (used by chips and provenance too)."""
        self.current_id = memory_id

        def load(ctx):
            eng = ctx.engram
            return eng.memories.get(memory_id), provenance(eng, memory_id), \
                eng.memories.events(memory_id)

        def shown(res):
            if self.current_id != memory_id:
                return
            mem, prov, events = res
            self.detail.show_memory(mem, prov, events)
            self.model.update_memory(mem)
            if select and not in_view(mem, self.view) and mem.granularity != "window":
                self.show_view("knows" if in_view(mem, "knows") else "turns")
            if select:
                row = self.model.row_of(memory_id)
                if row >= 0:
                    self.table.selectRow(row)
                    self.table.scrollTo(self.model.index(row, 0),
                                        QAbstractItemView.ScrollHint.PositionAtCenter)
            self._update_buttons()
            self.memory_shown.emit(memory_id)

        self.services.runner.db(load, success=shown, failure=lambda e: show_error(self, e))

    def _update_buttons(self) -> None:
        mems = self.selected_memories()
        live = [m for m in mems if m.status != "purged"]
        self.forget_button.setEnabled(any(m.status == "active" for m in live))
        self.restore_button.setEnabled(any(m.status in ("forgotten", "superseded") for m in live))
        self.pin_button.setEnabled(bool(live))
        self.pin_button.setText("Don't keep" if live and all(m.pinned for m in live) else "Keep")
        self.always_button.setEnabled(bool(live))
        self.always_button.setText("Not always" if live and all(m.always_include for m in live)
                                   else "Always include")
        self.merge_button.setEnabled(len([m for m in live if m.status == "active"]) >= 2)
        self.purge_button.setEnabled(bool(live))
        self.undo_button.setEnabled(bool(self.undo_text))
        self.undo_button.setToolTip(f"Undo: {self.undo_text}" if self.undo_text
                                    else "Nothing to undo")

    # -- changes -----------------------------------------------------------------------------
    def _change(self, fn: Callable[[Engram], Changes]) -> None:
        """Run one core operation (core.services.memory_ops) on the db lane; the runner
        announces what it changed, to this panel and every other."""
        def work(ctx: OpContext) -> Changes:
            changes = fn(ctx.engram)
            # known before the record is announced: the detail pane then shows the saved
            # text even though its editor differs from what it showed before
            self._own_changes.append(changes)
            return changes

        def done(changes: Changes) -> None:
            self.action_done.emit(changes.description)

        self.services.runner.change(work, success=done,
                                    failure=lambda e: show_error(self, e))

    def edit_text(self, memory_id: str, text: str) -> None:
        self._change(lambda eng: memory_ops.edit(eng, memory_id, text))

    def set_pinned(self, ids: list[str], pinned: bool) -> None:
        self._change(lambda eng: memory_ops.pin(eng, ids, pinned))

    def set_scope(self, memory_id: str, scope: str) -> None:
        self._change(lambda eng: memory_ops.move(eng, [memory_id], scope))

    def restore_version(self, memory_id: str, event_id: int) -> None:
        self._change(lambda eng: memory_ops.restore_version(eng, memory_id, event_id))

    def forget_selected(self) -> None:
        ids = [m.id for m in self.selected_memories() if m.status == "active"]
        if ids:
            self._change(lambda eng: memory_ops.forget(eng, ids))

    def restore_selected(self) -> None:
        ids = [m.id for m in self.selected_memories() if m.status in ("forgotten", "superseded")]
        if ids:
            self._change(lambda eng: memory_ops.restore(eng, ids))

    def merge_selected(self) -> None:
        ids = [m.id for m in self.selected_memories() if m.status == "active"]
        if len(ids) >= 2:
            self._change(lambda eng: memory_ops.merge(eng, ids))

    def undo(self) -> None:
        if self.undo_text:
            self._change(memory_ops.undo)

    def refresh_undo(self) -> None:
        """Ask core what undo would take back (the last operation, from the audit log)."""
        self.services.runner.db(lambda ctx: memory_ops.undo_description(ctx.engram),
                                success=self._set_undo)

    def _set_undo(self, text: str) -> None:
        self.undo_text = text
        self._update_buttons()
