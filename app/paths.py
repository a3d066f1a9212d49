"""Resolving Engram's folders: ENGRAM_HOME if set, else the platform's usual places."""
from __future__ import annotations

import os
from pathlib import Path

from core.base.paths import DataLayout

APP_NAME = "Engram"


def resolve_layout(home: str | Path | None = None) -> DataLayout:
    """An explicit folder wins, then ENGRAM_HOME (everything in one folder: tests, portable
    installs), then platformdirs (e.g. ~/.local/share/Engram, ~/.config/Engram, ~/.cache/Engram)."""
    home = home or os.environ.get("ENGRAM_HOME")
    if home:
        return DataLayout.single(home)
    import platformdirs

    return DataLayout(
        Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
        Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
    )
