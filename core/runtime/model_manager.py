"""The model manager's core: which GGUF files there are, what they are, and downloads.

Models are the GGUF files in the models folder, paths and folders the user added (kept in
`<config>/models.json`) and what other apps keep (`core.runtime.discovery`, used in place);
the starter model comes first when its package is installed. Nothing is ever downloaded unless
the user asks (`core.runtime.downloads`).
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from core.base.atomic import write_text_atomic
from core.base.progress import OnProgress, ShouldStop
from core.runtime.discovery import FoundModel
from core.runtime.downloads import download_file
from core.runtime.errors import ModelFileError
from core.runtime.gguf_info import GGUFInfo
from core.runtime.gguf_quick import quick_gguf_info as read_gguf_info  # same checks, fast
from core.runtime.starter_model import DISPLAY_NAME, starter_model_status, target_path

log = logging.getLogger(__name__)
__all__ = ["ModelEntry", "ModelManager", "download_file"]


@dataclass
class ModelEntry:
    path: Path
    source: str                  # starter / folder / added, or the app it was found in
    info: GGUFInfo | None = None
    error: str = ""              # why the file cannot be used
    display_name: str = ""
    parts: int = 1               # files of a split GGUF (path is the first)

    @property
    def usable(self) -> bool:
        return self.info is not None

    def to_dict(self) -> dict:
        return {"path": str(self.path), "source": self.source, "name": self.display_name,
                "parts": self.parts, "error": self.error,
                "info": self.info.to_dict() if self.info else None}

    @property
    def found_elsewhere(self) -> bool:
        """Kept by another app (LM Studio, Ollama, ...) and used where it is."""
        return self.source not in ("starter", "folder", "added")


class ModelManager:
    def __init__(self, models_dir: Path, config_dir: Path, *, env=None) -> None:
        self.models_dir = Path(models_dir)
        self.registry = Path(config_dir) / "models.json"
        self.env = env              # environment for the discovery (None = os.environ)

    def _registry(self) -> dict:
        try:
            data = json.loads(self.registry.read_text("utf-8"))
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def _write_registry(self, key: str, values: list[Path]) -> None:
        data = self._registry()
        data[key] = list(dict.fromkeys(str(p) for p in values))
        write_text_atomic(self.registry, json.dumps(data, indent=2) + "\n")

    def added_paths(self) -> list[Path]:
        return [Path(p) for p in self._registry().get("paths", []) if isinstance(p, str)]

    def _save_added(self, paths: list[Path]) -> None:
        self._write_registry("paths", paths)

    def added_folders(self) -> list[Path]:
        return [Path(p) for p in self._registry().get("folders", []) if isinstance(p, str)]

    def add_folder(self, folder: Path | str) -> list[FoundModel]:
        """Remember a folder to search for GGUF files; returns what it holds."""
        from core.runtime.discovery import discover

        folder = Path(folder).expanduser().resolve()
        if not folder.is_dir():
            raise ModelFileError(f"Not a folder: {folder}")
        self._write_registry("folders", [*self.added_folders(), folder])
        return [f for f in discover([folder], env={}) if f.source == "Added folder"]

    def remove_folder(self, folder: Path | str) -> bool:
        folder = Path(folder).expanduser().resolve()
        folders = self.added_folders()
        if folder not in folders:
            return False
        self._write_registry("folders", [f for f in folders if f != folder])
        return True

    def found_models(self) -> list[FoundModel]:
        """GGUF files other apps keep, and those in added folders (no header read yet)."""
        from core.runtime.discovery import discover

        return discover(self.added_folders(), env=self.env)

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

    def list_models(self, *, include_found: bool = True) -> list[ModelEntry]:
        """The starter model, the models folder, added files, then what other apps keep."""
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
        if include_found:
            for f in self.found_models():
                if f.path.resolve() in seen:
                    continue
                seen.add(f.path.resolve())
                entry = self._entry(f.path, f.source, f.name)
                entry.parts = f.parts
                if f.missing_parts:
                    entry.info, entry.error = None, (f"incomplete split model: {f.missing_parts} "
                                                     f"of {f.parts} parts are missing")
                out.append(entry)
        return out

    def download(self, url: str, *, sha256: str | None = None, filename: str | None = None,
                 progress: OnProgress | None = None, should_stop: ShouldStop | None = None,
                 chunk: int = 1 << 20, timeout: float = 60.0) -> Path:
        return download_file(url, self.models_dir, sha256=sha256, filename=filename,
                             progress=progress, should_stop=should_stop, chunk=chunk,
                             timeout=timeout)
