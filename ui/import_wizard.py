"""The import wizard: choose a file, zip or folder → detected format and a dry-run preview →
import with progress and Cancel → a report. Embedding the new memories then continues in the
background with its own indicator in the status bar."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.base.progress import Progress
from core.services.changes import Changes
from ui.ops import Op, OpContext
from ui.services import Services

if TYPE_CHECKING:     # the importers load on the worker thread (see set_path)
    from core.importers import DetectedFormat, ImportReport


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(ts)) if ts else "—"


def report_rows(report: ImportReport) -> list[tuple[str, str]]:
    """The figures a person wants to see, in order."""
    rows = [("Format", ", ".join(report.formats) or "—"),
            ("Conversations", f"{report.conversations:,}"),
            ("Messages", f"{report.messages:,}"
             + (f" ({report.hidden_messages:,} hidden: system/tool, kept but not remembered)"
                if report.hidden_messages else "")),
            ("Branches (edits, regenerations)", f"{report.branches:,}"),
            ("Dates", f"{_when(report.first_message_at)} to {_when(report.last_message_at)}")]
    if not report.dry_run:
        rows += [("New conversations", f"{report.new_conversations:,}"),
                 ("New messages", f"{report.new_messages:,}"),
                 ("Memories created", f"{report.memories_created:,}")]
    rows.append(("Skipped", f"{report.skipped_count:,}"))
    return rows


class ImportWizard(QDialog):
    imported = Signal(object)           # the final ImportReport (tests wait on it)
    embedding_done = Signal(int)

    def __init__(self, services: Services, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.setWindowTitle("Import conversations")
        self.resize(680, 520)
        self.path = ""
        self.op: Op | None = None
        self.report: ImportReport | None = None
        box = QVBoxLayout(self)
        self.pages = QStackedWidget()
        self.pages.addWidget(self._choose_page())
        self.pages.addWidget(self._progress_page())
        self.pages.addWidget(self._report_page())
        box.addWidget(self.pages, 1)
        buttons = QHBoxLayout()
        self.status = QLabel("")
        self.status.setObjectName("mutedLabel")
        self.status.setWordWrap(True)
        buttons.addWidget(self.status, 1)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self._cancel_or_close)
        self.import_button = QPushButton("Import")
        self.import_button.setObjectName("primaryButton")
        self.import_button.setEnabled(False)
        self.import_button.clicked.connect(self.start_import)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.import_button)
        box.addLayout(buttons)

    # -- pages ---------------------------------------------------------------------------------
    def _choose_page(self) -> QWidget:
        w = QWidget()
        box = QVBoxLayout(w)
        intro = QLabel("Bring your history from ChatGPT, Claude, Open WebUI, Gemini, LM Studio, "
                       "SillyTavern or plain transcripts. Choose the export file, its zip, or "
                       "the unpacked folder. Nothing is changed until you press Import.")
        intro.setWordWrap(True)
        box.addWidget(intro)
        row = QHBoxLayout()
        self.path_edit = QLineEdit()
        self.path_edit.setPlaceholderText("conversations.json, export.zip or a folder")
        self.path_edit.returnPressed.connect(lambda: self.set_path(self.path_edit.text()))
        row.addWidget(self.path_edit, 1)
        file_button = QPushButton("File…")
        file_button.clicked.connect(self._pick_file)
        folder_button = QPushButton("Folder…")
        folder_button.clicked.connect(self._pick_folder)
        row.addWidget(file_button)
        row.addWidget(folder_button)
        box.addLayout(row)
        self.detected = QLabel("")
        self.detected.setWordWrap(True)
        box.addWidget(self.detected)
        self.preview = QTreeWidget()
        self.preview.setHeaderLabels(["Preview (dry run)", ""])
        self.preview.setRootIsDecorated(False)
        self.preview.setColumnWidth(0, 240)
        box.addWidget(self.preview, 1)
        return w

    def _progress_page(self) -> QWidget:
        w = QWidget()
        box = QVBoxLayout(w)
        box.addStretch(1)
        self.progress_title = QLabel("Importing…")
        self.progress_title.setObjectName("chatTitle")
        box.addWidget(self.progress_title)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        box.addWidget(self.progress)
        self.progress_text = QLabel("")
        self.progress_text.setObjectName("mutedLabel")
        box.addWidget(self.progress_text)
        box.addStretch(2)
        return w

    def _report_page(self) -> QWidget:
        w = QWidget()
        box = QVBoxLayout(w)
        self.report_title = QLabel("")
        self.report_title.setObjectName("chatTitle")
        box.addWidget(self.report_title)
        self.report_form = QFormLayout()
        box.addLayout(self.report_form)
        self.skipped = QTreeWidget()
        self.skipped.setHeaderLabels(["Skipped", "Why", "Where"])
        self.skipped.setRootIsDecorated(False)
        box.addWidget(self.skipped, 1)
        self.embed_note = QLabel("")
        self.embed_note.setObjectName("mutedLabel")
        self.embed_note.setWordWrap(True)
        box.addWidget(self.embed_note)
        return w

    # -- choose + dry run ----------------------------------------------------------------
    def _pick_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose an export", "",
                                              "Exports (*.json *.zip *.jsonl *.md *.txt);;All files (*)")
        if path:
            self.set_path(path)

    def _pick_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Choose an unpacked export")
        if path:
            self.set_path(path)

    def set_path(self, path: str) -> None:
        """Detect the format and run a dry run (both off the GUI thread)."""
        self.path = path.strip()
        self.path_edit.setText(self.path)
        self.import_button.setEnabled(False)
        self.preview.clear()
        if not self.path:
            return
        self.detected.setText("Looking at the file…")

        def work(ctx):
            # imported here, on the worker: loading the importers on the GUI thread the first
            # time was the longest stall of an import (about 50 ms)
            from core.importers import detect, dry_run

            found = detect(self.path)
            ctx.post(self._detected, found)
            return dry_run(self.path, progress=ctx.progress, should_stop=ctx.cancelled)

        self.op = self.services.runner.background(work, success=self._previewed,
                                                  failure=self._preview_failed)
        self.op.progressed.connect(lambda p: self.status.setText(
            f"Reading… {p.fraction:.0%}"))

    def _detected(self, found: DetectedFormat) -> None:
        text = f"<b>Detected:</b> {found.label} ({found.container}, {len(found.files)} file"
        text += "s)" if len(found.files) != 1 else ")"
        if found.unrecognised:
            text += f"<br><span style='color:#6b7484'>Not recognised: " \
                    f"{', '.join(list(found.unrecognised)[:4])}</span>"
        self.detected.setText(text)

    def _previewed(self, report: ImportReport) -> None:
        self.op = None
        self.status.setText("")
        self.preview.clear()
        for k, v in report_rows(report):
            self.preview.addTopLevelItem(QTreeWidgetItem([k, v]))
        for reason, n in sorted(report.skipped_by_reason.items()):
            self.preview.addTopLevelItem(QTreeWidgetItem([f"  skipped: {reason}", f"{n:,}"]))
        self.import_button.setEnabled(report.conversations > 0)
        if report.conversations == 0:
            self.status.setText("Nothing to import in this file.")

    def _preview_failed(self, error: BaseException) -> None:
        self.op = None
        self.status.setText("")
        self.detected.setText(f"<span style='color:#b3261e'>{error}</span>")

    # -- import --------------------------------------------------------------------------------
    def start_import(self) -> None:
        if not self.path or self.op is not None:
            return
        from core.importers import run_import

        path = self.path
        self.pages.setCurrentIndex(1)
        self.import_button.setEnabled(False)
        self.cancel_button.setText("Cancel")
        self.progress.setValue(0)

        def work(ctx: OpContext) -> ImportReport:
            return run_import(ctx.engram, path, progress=ctx.progress,
                              should_stop=ctx.cancelled, embed=False)

        self.op = Op(work, lane="background", success=self._imported, failure=self._failed,
                     label="Importing")
        self.op.progressed.connect(self._progress)
        self.services.runner.submit(self.op)

    def _progress(self, p: Progress) -> None:
        self.progress.setValue(int(p.fraction * 1000))
        if p.counts:
            self.progress_text.setText(", ".join(f"{n:,} {what}" for what, n in p.counts.items()))

    def _imported(self, report: ImportReport) -> None:
        cancelled = report.status == "cancelled"
        self.op = None
        self.report = report
        self.pages.setCurrentIndex(2)
        self.report_title.setText("Import cancelled: what was read so far is kept"
                                  if cancelled else "Import complete")
        while self.report_form.rowCount():
            self.report_form.removeRow(0)
        for k, v in report_rows(report):
            self.report_form.addRow(f"{k}:", QLabel(v))
        self.skipped.clear()
        for item in report.skipped:
            self.skipped.addTopLevelItem(QTreeWidgetItem(
                [item.get("item", ""), item.get("reason", ""), item.get("conversation", "")]))
        self.skipped.setVisible(bool(report.skipped))
        if cancelled:
            self.embed_note.setText("Importing the same file again continues where it stopped.")
        self.cancel_button.setText("Close")
        self.import_button.hide()
        self.services.events.announce(Changes(
            "import", conversation_list=True, many_memories=bool(report.memories_created)))
        if report.memories_created:
            self.embed_note.setText(
                f"Embedding {report.memories_created:,} new memories for search continues in "
                "the background (see the status bar); you can close this window.")
            self.start_embedding()
        self.imported.emit(report)

    def _failed(self, error: BaseException) -> None:
        self.op = None
        self.pages.setCurrentIndex(0)
        self.import_button.setEnabled(True)
        # conversations read before the failure stay imported
        self.services.events.announce(Changes("import", conversation_list=True,
                                              many_memories=True))
        self.detected.setText(f"<span style='color:#b3261e'>Import stopped: {error}</span>")

    def start_embedding(self) -> None:
        """Embed the new memories on the background lane; the status bar shows progress."""
        from core.importers import embed_pending

        events = self.services.events

        def work(ctx: OpContext) -> int:
            return embed_pending(ctx.engram, progress=ctx.progress, should_stop=ctx.cancelled)

        def done(n: int) -> None:
            events.background_progress.emit("Embedding imported memories", 0, 0)
            events.announce(Changes("embedding", many_memories=True))
            self.embedding_done.emit(n)

        def failed(error: BaseException) -> None:
            events.background_progress.emit("Embedding imported memories", 0, 0)
            self.embedding_done.emit(-1)

        events.background_progress.emit("Embedding imported memories", 0, 1)
        op = self.services.runner.background(work, success=done, failure=failed)
        op.progressed.connect(lambda p: events.background_progress.emit(
            "Embedding imported memories", p.done, max(p.total, 1)))
        self.embed_op = op

    def _cancel_or_close(self) -> None:
        if self.op is not None and self.pages.currentIndex() == 1:
            self.op.cancel()
            self.cancel_button.setEnabled(False)
            self.progress_text.setText("Stopping after the current conversation…")
            return
        if self.op is not None:
            self.op.cancel()
        self.close()

    def closeEvent(self, event) -> None:
        if self.op is not None and self.pages.currentIndex() == 1:
            self.op.cancel()     # cooperative: the committed conversations stay
        super().closeEvent(event)

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape and self.op is not None:
            self.op.cancel()
        super().keyPressEvent(event)
