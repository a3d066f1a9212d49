"""The main window (a first, minimal version: the UI issue builds the real one)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMainWindow, QVBoxLayout, QWidget

from core.paths import DataLayout
from core.starter_model import starter_model_status


class MainWindow(QMainWindow):
    def __init__(self, layout: DataLayout) -> None:
        super().__init__()
        self.layout_ = layout
        self.setWindowTitle("Engram")
        self.resize(1100, 720)
        body = QWidget()
        box = QVBoxLayout(body)
        title = QLabel("<h1>Engram</h1><p>A private assistant with a memory you control.</p>")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        box.addWidget(title)
        status = starter_model_status(layout.models_dir)
        self.model_label = QLabel(status.describe())
        self.model_label.setWordWrap(True)
        self.model_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        box.addWidget(self.model_label)
        data = QLabel(f"Data folder: {layout.data_dir}")
        data.setAlignment(Qt.AlignmentFlag.AlignCenter)
        box.addWidget(data)
        box.addStretch(1)
        self.setCentralWidget(body)
        self.statusBar().showMessage("Ready")
