"""The model manager's core: which GGUF files there are, what they are, and downloads.

Models are the GGUF files in the models folder plus paths the user added (kept in
`<config>/models.json`); the starter model comes first when its package is installed. Nothing is
ever downloaded unless the user asks: `download` fetches one URL, resumes a partial file with an
HTTP Range request, checks the sha256 and only then moves the file into place.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from core.atomic import write_text_atomic
from core.runtime.downloads import Progress, download_file
from core.runtime.errors import ModelFileError
from core.runtime.gguf_info import GGUFInfo, read_gguf_info
from core.starter_model import DISPLAY_NAME, starter_model_status, target_path

log = logging.getLogger(__name__)
__all__ = ["ModelEntry", "ModelManager", "download_file"]


@dataclass
class ModelEntry:
    path: Path
    source: str                  # starter / folder / added
    info: GGUFInfo | None = None
    error: str = ""              # why the file cannot be used
    display_name: str = ""

    @property
    def usable(self) -> bool:
        return self.info is not None

    def to_dict(self) -> dict:
        return {"path": str(self.path), "source": self.source, "name": self.display_name,
                "error": self.error, "info": self.info.to_dict() if self.info else None}


class ModelManager:
    def __init__(self, models_dir: Path, config_dir: Path) -> None:
        self.models_dir = Path(models_dir)
        self.registry = Path(config_dir) / "models.json"

    def added_paths(self) -> list[Path]:
        try:
            data = json.loads(self.registry.read_text("utf-8"))
        except (OSError, ValueError):
            return []
        return [Path(p) for p in data.get("paths", []) if isinstance(p, str)]

    def _save_added(self, paths: list[Path]) -> None:
        unique = list(dict.fromkeys(str(p) for p in paths))
        write_text_atomic(self.registry, json.dumps({"paths": unique}, indent=2) + "\n")

    def add(self, path: Path | str) -> ModelEntry:
        """Remember a GGUF elsewhere on disk (checked first; a bad file is refused)."""
        path = Path(path).expanduser().resolve()
        info = read_gguf_info(path)
        self._save_added([*self.added_paths(), path])
        return ModelEntry(path, "added", info, display_name=info.name or path.stem)

    def remove(self, path: Path | str) -> bool:
        path = Path(path).expanduser().resolve()
        paths = self.added_paths()
        if path not in paths:
            return False
        self._save_added([p for p in paths if p != path])
        return True

    @staticmethod
    def _entry(path: Path, source: str, name: str = "") -> ModelEntry:
        try:
            info = read_gguf_info(path)
            return ModelEntry(path, source, info, display_name=name or info.name or path.stem)
        except ModelFileError as exc:
            return ModelEntry(path, source, None, str(exc), name or path.stem)

    def list_models(self) -> list[ModelEntry]:
        out: list[ModelEntry] = []
        seen: set[Path] = set()
        starter = starter_model_status(self.models_dir)
        if starter.installed:
            path = starter.path or target_path(self.models_dir)
            if starter.path:
                out.append(self._entry(path, "starter", DISPLAY_NAME))
            else:
                out.append(ModelEntry(path, "starter", None, "prepared on first use",
                                      DISPLAY_NAME))
            seen.add(path.resolve())
        if self.models_dir.exists():
            for p in sorted(self.models_dir.glob("*.gguf"), key=lambda p: p.name.lower()):
                if p.resolve() not in seen:
                    seen.add(p.resolve())
                    out.append(self._entry(p, "folder"))
        for p in self.added_paths():
            if p.resolve() not in seen:
                seen.add(p.resolve())
                out.append(self._entry(p, "added"))
        return out

    def download(self, url: str, *, sha256: str | None = None, filename: str | None = None,
                 progress: Progress | None = None, chunk: int = 1 << 20,
                 timeout: float = 60.0) -> Path:
        return download_file(url, self.models_dir, sha256=sha256, filename=filename,
                             progress=progress, chunk=chunk, timeout=timeout)
