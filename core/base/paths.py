"""Where things live inside a data folder.

The app resolves the folders (platformdirs, or ENGRAM_HOME); core only needs the layout.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DataLayout:
    data_dir: Path
    config_dir: Path
    cache_dir: Path

    @classmethod
    def single(cls, home: Path | str) -> DataLayout:
        """Everything under one folder (ENGRAM_HOME, tests, portable installs)."""
        home = Path(home).expanduser().resolve()
        return cls(home, home / "config", home / "cache")

    @property
    def db_path(self) -> Path:
        return self.data_dir / "engram.db"

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def kv_state_dir(self) -> Path:
        return self.data_dir / "kv-states"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def backups_dir(self) -> Path:
        return self.data_dir / "backups"

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def settings_path(self) -> Path:
        return self.config_dir / "settings.json"

    def ensure(self) -> DataLayout:
        """Create the folders, owner-only (0700): they hold a person's conversations."""
        for d in (self.data_dir, self.config_dir, self.cache_dir, self.models_dir, self.logs_dir):
            d.mkdir(mode=0o700, parents=True, exist_ok=True)
        return self
