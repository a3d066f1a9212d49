"""The model manager's core: which GGUF files there are, what they are, and downloads.

Models are the GGUF files in the models folder plus paths the user added (kept in
`<config>/models.json`); the starter model comes first when its package is installed. Nothing is
ever downloaded unless the user asks: `download` fetches one URL, resumes a partial file with an
HTTP Range request, checks the sha256 and only then moves the file into place.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from core.atomic import write_text_atomic
from core.runtime.errors import DownloadError, ModelFileError
from core.runtime.gguf_info import GGUFInfo, read_gguf_info
from core.starter_model import DISPLAY_NAME, starter_model_status, target_path

log = logging.getLogger(__name__)
Progress = Callable[[int, int | None], bool | None]   # (bytes done, total) -> True to cancel


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


def download_file(url: str, dest_dir: Path, *, sha256: str | None = None,
                  filename: str | None = None, progress: Progress | None = None,
                  chunk: int = 1 << 20, timeout: float = 60.0) -> Path:
    """Download `url` into `dest_dir`, resuming `<name>.partial` if present."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https"):
        raise DownloadError(f"Only http:// and https:// downloads are supported: {url}")
    name = filename or os.path.basename(unquote(parsed.path)) or "model.gguf"
    if "/" in name or name.startswith("."):
        raise DownloadError(f"Unusable file name: {name}")
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / name
    partial = dest_dir / (name + ".partial")
    have = partial.stat().st_size if partial.exists() else 0
    req = urllib.request.Request(url)
    if have:
        req.add_header("Range", f"bytes={have}-")
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:     # nothing left to fetch
            resp = None
        else:
            raise DownloadError(f"Download failed: the server answered {exc.code}.") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise DownloadError(f"Download failed: {getattr(exc, 'reason', exc)}") from exc
    if resp is not None:
        with resp:
            resumed = resp.status == 206
            if not resumed:
                have = 0
            length = resp.headers.get("Content-Length")
            total = have + int(length) if length and length.isdigit() else None
            done = have
            try:
                with open(partial, "ab" if resumed else "wb") as f:
                    while True:
                        block = resp.read(chunk)
                        if not block:
                            break
                        f.write(block)
                        done += len(block)
                        if progress is not None and progress(done, total):
                            raise DownloadError("Download cancelled; run it again to resume.")
            except OSError as exc:
                raise DownloadError(f"Download interrupted ({exc}); run it again to "
                                    f"resume.") from exc
            if total is not None and done < total:
                raise DownloadError(f"Download interrupted at {done} of {total} bytes; run it "
                                    f"again to resume.")
    if sha256:
        h = hashlib.sha256()
        with open(partial, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        if h.hexdigest().lower() != sha256.lower():
            partial.unlink(missing_ok=True)
            raise DownloadError(f"Checksum mismatch for {name}: the file was deleted.")
    os.replace(partial, target)
    log.info("downloaded %s (%d bytes)", name, target.stat().st_size)
    return target
