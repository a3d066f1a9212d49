"""The inspector's detail pane: edit one memory; see where it came from, its history and its
retention."""
from __future__ import annotations

import json
import time
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ui import memory_words as words
from ui.fitting import flexible, wrapping_row
from ui.memory_words import describe_change
from ui.retention_plot import RetentionPlot

SOURCE_ROLE = Qt.ItemDataRole.UserRole + 1


def _ts(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else "—"


def _short(text: str | None, n: int = 90) -> str:
    text = (text or "").replace("\n", " ").replace("**", "").replace("`", "").strip()
    return text if len(text) <= n else text[: n - 1] + "…"


class MemoryDetail(QWidget):
    save_text = Signal(str, str)
    pin_changed = Signal(str, bool)
    always_changed = Signal(str, bool)
    forget_requested = Signal(str)
    restore_requested = Signal(str)
    purge_requested = Signal(str)
    scope_changed = Signal(str, str)
    restore_version = Signal(str, int)
    jump_to = Signal(str, str)         # conversation id, message id

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.memory: Any = None
        self.events: list[Any] = []
        self.forget_threshold = 0.05
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 6, 0, 0)
        self.header = QLabel("Select a memory to see its details.")
        self.header.setObjectName("detailHeader")
        self.header.setWordWrap(True)
        self.header.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.addWidget(flexible(self.header))
        state = QHBoxLayout()
        self.state_label = QLabel("")
        self.state_label.setObjectName("memoryState")
        self.state_label.setWordWrap(True)
        state.addWidget(flexible(self.state_label), 1)
        self.forget_button = QPushButton("Forget")
        self.forget_button.setToolTip("Never used in answers until restored (reversible)")
        self.restore_button = QPushButton("Restore")
        self.purge_button = QPushButton("Purge…")
        self.purge_button.setObjectName("dangerButton")
        self.forget_button.clicked.connect(lambda: self.memory and self.forget_requested.emit(
            self.memory.id))
        self.restore_button.clicked.connect(lambda: self.memory and self.restore_requested.emit(
            self.memory.id))
        self.purge_button.clicked.connect(lambda: self.memory and self.purge_requested.emit(
            self.memory.id))
        for b in (self.forget_button, self.restore_button, self.purge_button):
            state.addWidget(b)
        box.addLayout(state)
        self.tabs = QTabWidget()
        self.tabs.addTab(self._memory_tab(), "Memory")
        self.tabs.addTab(self._provenance_tab(), "Provenance")
        self.tabs.addTab(self._history_tab(), "History")
        self.tabs.addTab(self._retention_tab(), "Retention")
        box.addWidget(self.tabs, 1)
        self.setEnabled(False)
        # Ctrl+S while editing here does what Save text does (scoped to this pane)
        # (PySide6 ignores a `context=` keyword here: the context is set after)
        self.save_shortcut = QShortcut(QKeySequence(QKeySequence.StandardKey.Save), self)
        self.save_shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.save_shortcut.activated.connect(self._save)

    # -- tabs --------------------------------------------------------------------------------
    def _memory_tab(self) -> QWidget:
        w = QWidget()
        box = QVBoxLayout(w)
        self.text_edit = QPlainTextEdit()
        self.text_edit.setObjectName("memoryText")
        self.text_edit.textChanged.connect(self._dirty)
        box.addWidget(self.text_edit, 1)
        self.pinned = QCheckBox("Keep for good (never fades)")
        self.pinned.setToolTip("Kept does not mean sent: use Always include for that")
        self.pinned.clicked.connect(lambda on: self.memory and self.pin_changed.emit(self.memory.id, on))
        self.always = QCheckBox("Always include (sent with every message)")
        self.always.clicked.connect(
            lambda on: self.memory and self.always_changed.emit(self.memory.id, on))
        scope_box = QWidget()
        scope_row = QHBoxLayout(scope_box)
        scope_row.setContentsMargins(0, 0, 0, 0)
        scope_row.addWidget(QLabel("Read in:"))
        self.scope = QComboBox()
        self.scope.addItem("Every chat", "global")
        self.scope.addItem("Its own chat only", "conversation")
        self.scope.activated.connect(self._scope_picked)
        scope_row.addWidget(self.scope)
        box.addWidget(wrapping_row(self.pinned, self.always, scope_box))
        row2 = QHBoxLayout()
        self.info = QLabel()
        self.info.setObjectName("mutedLabel")
        row2.addWidget(flexible(self.info), 1)
        self.revert_button = QPushButton("Revert")
        self.revert_button.clicked.connect(lambda: self.text_edit.setPlainText(self.memory.text))
        self.save_button = QPushButton("Save text")
        self.save_button.setObjectName("primaryButton")
        self.save_button.clicked.connect(self._save)
        row2.addWidget(self.revert_button)
        row2.addWidget(self.save_button)
        box.addLayout(row2)
        return w

    def _provenance_tab(self) -> QWidget:
        w = QWidget()
        box = QVBoxLayout(w)
        self.provenance = QTreeWidget()
        self.provenance.setHeaderLabels(["Where", "Detail"])
        self.provenance.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.provenance.itemDoubleClicked.connect(lambda item, _c: self._jump(item))
        self.provenance.currentItemChanged.connect(
            lambda item, _p: self.jump_button.setEnabled(bool(item and item.data(0, SOURCE_ROLE))))
        box.addWidget(self.provenance, 1)
        row = QHBoxLayout()
        row.addWidget(flexible(QLabel("Double-click a message to open it in its chat.")), 1)
        self.jump_button = QPushButton("Open in chat")
        self.jump_button.setEnabled(False)
        self.jump_button.clicked.connect(lambda: self._jump(self.provenance.currentItem()))
        row.addWidget(self.jump_button)
        box.addLayout(row)
        return w

    def _history_tab(self) -> QWidget:
        w = QWidget()
        box = QVBoxLayout(w)
        self.history = QTreeWidget()
        self.history.setRootIsDecorated(False)
        self.history.setHeaderLabels(["When", "Event", "By", "Change"])
        hdr = self.history.header()
        for i in range(3):
            hdr.setSectionResizeMode(i, QHeaderView.ResizeMode.ResizeToContents)
        self.history.currentItemChanged.connect(self._history_selected)
        box.addWidget(self.history, 1)
        row = QHBoxLayout()
        self.history_note = QLabel("Every change is recorded with its old and new values.")
        self.history_note.setObjectName("mutedLabel")
        row.addWidget(flexible(self.history_note), 1)
        self.restore_version_button = QPushButton("Restore this version")
        self.restore_version_button.setEnabled(False)
        self.restore_version_button.clicked.connect(self._restore_version)
        row.addWidget(self.restore_version_button)
        box.addLayout(row)
        return w

    def _retention_tab(self) -> QWidget:
        w = QWidget()
        box = QVBoxLayout(w)
        form = QFormLayout()
        self.strength_label = QLabel()
        self.recall_label = QLabel()
        self.retention_label = QLabel()
        form.addRow("Strength S:", self.strength_label)
        form.addRow("Last recalled:", self.recall_label)
        form.addRow("Retention now:", self.retention_label)
        box.addLayout(form)
        self.plot = RetentionPlot()
        self.plot.setMinimumHeight(90)     # the dock must fit a 800-pixel-high screen
        box.addWidget(self.plot, 1)
        note = QLabel("R(t) = exp(−t/S): each recall adds 1 to S and restarts t. Below the dashed "
                      "threshold an unpinned memory is forgotten (reversibly).")
        note.setObjectName("mutedLabel")
        box.addWidget(flexible(note))
        return w

    # -- filling -------------------------------------------------------------------------------
    def clear(self) -> None:
        self.memory = None
        self.header.setText("Select a memory to see its details.")
        self.text_edit.blockSignals(True)
        self.text_edit.clear()
        self.text_edit.blockSignals(False)
        self.provenance.clear()
        self.history.clear()
        self.state_label.setText("")
        self.setEnabled(False)

    def show_erased(self, report: Any) -> None:
        """After a purge: say what went, show nothing of it."""
        self.clear()
        n = len(report.memories)
        parts = [f"{n} memor{'y' if n == 1 else 'ies'}"]
        if report.messages_blanked:
            parts.append(f"{report.messages_blanked} message text"
                         f"{'' if report.messages_blanked == 1 else 's'}")
        if getattr(report, "titles_rewritten", 0):
            parts.append(f"{report.titles_rewritten} chat title"
                         f"{'' if report.titles_rewritten == 1 else 's'}")
        self.header.setText("<b>Erased for good</b><br>" + ", ".join(parts)
                            + " erased from every file. Nothing of it is left to show.")

    def show_memory(self, memory: Any, provenance: dict[str, Any], events: list[Any]) -> None:
        from ui.retention_plot import retention

        self.memory, self.events = memory, events
        self.setEnabled(True)
        purged = memory.status == "purged"
        info = _source_info(provenance)
        self.header.setText(f"<b>{words.kind_name(memory)}</b> · {words.who_said(memory, info)}"
                            + (f" · about {memory.subject.capitalize()}" if memory.subject
                               else "")
                            + f"<br>{_chips(memory, provenance)}")
        self.state_label.setText(words.status_sentence(memory))
        self.forget_button.setVisible(memory.status == "active")
        self.restore_button.setVisible(memory.status in ("forgotten", "superseded"))
        self.purge_button.setEnabled(not purged)
        self.text_edit.blockSignals(True)
        self.text_edit.setPlainText(memory.text if not purged else "")
        self.text_edit.setPlaceholderText("This memory was purged: its text is gone for good."
                                          if purged else "")
        self.text_edit.blockSignals(False)
        self.text_edit.setReadOnly(purged)
        self.pinned.setChecked(memory.pinned)
        self.pinned.setEnabled(not purged)
        self.always.setChecked(memory.always_include)
        self.always.setEnabled(not purged)
        self.scope.setCurrentIndex(0 if memory.scope == "global" else 1)
        self.scope.setEnabled(not purged)
        when = words.happened(memory, info)
        self.info.setText((f"Happened {words.moment(when)} · " if when else "")
                          + f"stored {words.moment(memory.created_at)}"
                          + (f" · changed {words.moment(memory.updated_at)}"
                             if memory.version > 1 else "")
                          + f" · version {memory.version}")
        self._dirty()
        self._fill_provenance(provenance)
        self._fill_history(events)
        start = memory.last_recalled_at or memory.created_at
        days = max(0.0, (time.time() - start) / 86400)
        self.strength_label.setText(f"{memory.strength:.1f}")
        self.recall_label.setText(_ts(memory.last_recalled_at) if memory.last_recalled_at
                                  else f"never (created {_ts(memory.created_at)})")
        r = 1.0 if memory.pinned else retention(days, memory.strength)
        self.retention_label.setText(f"{r:.2f} after {days:.1f} days"
                                     + (" (pinned: kept)" if memory.pinned else ""))
        self.plot.set_values(memory.strength, days, self.forget_threshold, memory.pinned)

    def _fill_provenance(self, prov: dict[str, Any]) -> None:
        self.provenance.clear()
        origin = QTreeWidgetItem(["Came from", f"{len(prov['sources'])} source(s)"])
        for src in prov["sources"]:
            if src.get("message_id"):
                role = "You" if src.get("message_role") == "user" else "Assistant"
                text = src.get("message_text")
                child = QTreeWidgetItem([
                    f"{role} in “{_short(src.get('conversation_title'), 30)}”",
                    _short(text) if text else "(message text purged or deleted)"])
                child.setData(0, SOURCE_ROLE, (src.get("conversation_id"), src["message_id"]))
                child.setToolTip(1, (text or "")[:600])
                origin.addChild(child)
            elif src.get("conversation_id"):
                child = QTreeWidgetItem(["Chat", _short(src.get("conversation_title"))])
                child.setData(0, SOURCE_ROLE, (src["conversation_id"], ""))
                origin.addChild(child)
            if src.get("import"):
                imp = src["import"]
                origin.addChild(QTreeWidgetItem([
                    "Import", f"{imp['file_name']} ({imp['format']}, {_ts(imp['started_at'])})"]))
        self.provenance.addTopLevelItem(origin)
        used = QTreeWidgetItem(["Used in answers", f"{len(prov['used_by'])}"])
        for r in prov["used_by"]:
            via = " (led to its turn)" if r.get("via") == "turn" else ""
            child = QTreeWidgetItem([
                f"rank {r['rank']}, score {r['score']:.2f}{via}",
                f"“{_short(r.get('conversation_title'), 30)}”: {_short(r.get('text'), 70)}"])
            child.setData(0, SOURCE_ROLE, (r["conversation_id"], r["message_id"]))
            used.addChild(child)
        self.provenance.addTopLevelItem(used)
        self.provenance.expandAll()

    def _fill_history(self, events: list[Any]) -> None:
        self.history.clear()
        for ev in reversed(events):
            item = QTreeWidgetItem([_ts(ev.at), words.event_name(ev),
                                    words.ACTOR_WORDS.get(ev.actor, ev.actor),
                                    describe_change(ev)])
            item.setData(0, Qt.ItemDataRole.UserRole, ev.id)
            item.setToolTip(3, json.dumps({"old": ev.old_value, "new": ev.new_value},
                                          ensure_ascii=False, indent=1)[:1500])
            self.history.addTopLevelItem(item)
        self.restore_version_button.setEnabled(False)

    def is_dirty(self) -> bool:
        """Unsaved text in the editor (a background refresh must not overwrite it)."""
        return bool(self.memory) and self.text_edit.toPlainText() != self.memory.text

    # -- user actions ------------------------------------------------------------------------
    def _dirty(self) -> None:
        changed = bool(self.memory) and self.text_edit.toPlainText() != self.memory.text
        self.save_button.setEnabled(changed)
        self.revert_button.setEnabled(changed)

    def _save(self) -> None:
        text = self.text_edit.toPlainText().strip()
        if self.memory and text and text != self.memory.text:
            self.save_text.emit(self.memory.id, text)

    def _scope_picked(self, _index: int) -> None:
        if self.memory and self.scope.currentData() != self.memory.scope:
            self.scope_changed.emit(self.memory.id, self.scope.currentData())

    def _jump(self, item: QTreeWidgetItem | None) -> None:
        data = item.data(0, SOURCE_ROLE) if item else None
        if data and data[0]:
            self.jump_to.emit(data[0], data[1] or "")

    def _history_selected(self, item: QTreeWidgetItem | None, _prev: Any) -> None:
        ev = self._event_of(item)
        value = (ev.old_value if ev and ev.event == "edited" else ev.new_value if ev else None) or {}
        self.restore_version_button.setEnabled(
            bool(ev) and "text" in value and self.memory is not None
            and self.memory.status != "purged" and value["text"] != self.memory.text)

    def _event_of(self, item: QTreeWidgetItem | None) -> Any:
        if item is None:
            return None
        eid = item.data(0, Qt.ItemDataRole.UserRole)
        return next((e for e in self.events if e.id == eid), None)

    def _restore_version(self) -> None:
        ev = self._event_of(self.history.currentItem())
        if ev is not None and self.memory is not None:
            self.restore_version.emit(self.memory.id, ev.id)


def _source_info(prov: dict[str, Any]) -> dict[str, Any]:
    """The provenance in the shape ui.memory_words.who_said reads."""
    srcs = prov.get("sources") or []
    return {"roles": [s["message_role"] for s in srcs if s.get("message_role")],
            "chats": len({s["conversation_id"] for s in srcs if s.get("conversation_id")}),
            "refs": [s["source_ref"] for s in srcs if s.get("source_ref")],
            "said_at": next((s["message_at"] for s in srcs if s.get("message_at")), None)}


def _chips(memory: Any, prov: dict[str, Any]) -> str:
    """Source chips: who said it, when, in which chat (up to three)."""
    out = []
    for src in (prov.get("sources") or [])[:3]:
        bits = []
        if src.get("message_role"):
            bits.append("you" if src["message_role"] == "user" else "assistant")
        if src.get("message_at"):
            bits.append(words.day(src["message_at"]))
        if src.get("conversation_title"):
            bits.append(f"in “{_short(src['conversation_title'], 30)}”")
        if src.get("import"):
            imp = src["import"]
            bits.append(f"imported from {words.IMPORT_NAMES.get(imp['format'], imp['format'])}")
        ref = src.get("source_ref") or ""
        if ref.startswith(("claude-memory", "pasted")):
            bits.append("from Claude memory" if ref.startswith("claude") else "pasted by you")
        if bits:
            out.append("<span style='background:#e8edf5;border-radius:6px'>&nbsp;"
                       + _html(" · ".join(bits)) + "&nbsp;</span>")
    more = len(prov.get("sources") or []) - 3
    if more > 0:
        out.append(f"+{more} more")
    return " ".join(out) or "<span style='color:#6b7484'>no recorded source</span>"


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
