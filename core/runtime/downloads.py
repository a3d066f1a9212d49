"""Resumable model downloads, only ever when the user asks for one.

`download_file` fetches one URL into `<name>.partial`, resumes it with an HTTP Range request,
checks the sha256 when one is known and only then moves the file into place. Stopping
(`should_stop`) keeps the partial file: that is "pause", and the next call
resumes. `cancel_download` deletes it. `download_entry` does this for a catalogue entry and,
where the catalogue has no checksum, verifies the file by its size and its GGUF header.
"""
from __future__ import annotations

import hashlib
import logging
import os
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import unquote, urlparse

from core.base.progress import OnProgress, Progress, ShouldStop
from core.runtime.errors import DownloadError, ModelFileError

log = logging.getLogger(__name__)


def _target_name(url: str, filename: str | None) -> str:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https"):
        raise DownloadError(f"Only http:// and https:// downloads are supported: {url}")
    name = filename or os.path.basename(unquote(parsed.path)) or "model.gguf"
    if "/" in name or "\\" in name or name.startswith("."):
        raise DownloadError(f"Unusable file name: {name}")
    return name


def partial_path(dest_dir: Path, name: str) -> Path:
    return Path(dest_dir) / (name + ".partial")


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def download_file(url: str, dest_dir: Path, *, sha256: str | None = None,
                  filename: str | None = None, progress: OnProgress | None = None,
                  should_stop: ShouldStop | None = None, chunk: int = 1 << 20,
                  timeout: float = 60.0) -> Path:
    """Download `url` into `dest_dir`, resuming `<name>.partial` if present. `progress` gets
    the bytes done (phase "downloading"); `should_stop` pauses: the partial file stays."""
    name = _target_name(url, filename)
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / name
    partial = partial_path(dest_dir, name)
    have = partial.stat().st_size if partial.exists() else 0
    req = urllib.request.Request(url, headers={"User-Agent": "Engram"})
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
        _receive(resp, partial, have, progress, should_stop, chunk)
    if sha256:
        got = sha256_of(partial)
        if got.lower() != sha256.lower():
            partial.unlink(missing_ok=True)
            raise DownloadError(f"Checksum mismatch for {name}: expected sha256 {sha256[:12]}…, "
                                f"got {got[:12]}…. The file was deleted; nothing was kept.")
    os.replace(partial, target)
    log.info("downloaded %s (%d bytes)", name, target.stat().st_size)
    return target


def _receive(resp, partial: Path, have: int, progress: OnProgress | None,
             should_stop: ShouldStop | None, chunk: int) -> None:
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
                    if progress is not None:
                        progress(Progress(done, total or 0, "downloading"))
                    if should_stop is not None and should_stop():
                        raise DownloadError("Download paused; run it again to resume.")
        except OSError as exc:
            raise DownloadError(f"Download interrupted ({exc}); run it again to "
                                f"resume.") from exc
        if total is not None and done < total:
            raise DownloadError(f"Download interrupted at {done} of {total} bytes; run it "
                                f"again to resume.")


def cancel_download(dest_dir: Path, name: str) -> bool:
    """Delete a paused download's partial file; True if there was one."""
    partial = partial_path(dest_dir, name)
    if partial.exists():
        partial.unlink()
        return True
    return False


def verify_entry_file(entry, path: Path) -> None:
    """Size within what the catalogue's page showed, and a GGUF header that matches the entry
    (architecture and layer count). Raises DownloadError after deleting a wrong file."""
    from core.runtime.gguf_quick import quick_gguf_info as read_gguf_info

    lo, hi = entry.size_range
    size = path.stat().st_size
    problem = ""
    if not lo <= size <= hi:
        problem = f"it is {size:,} bytes, the catalogue expects {entry.size} ({lo:,}-{hi:,})"
    else:
        try:
            info = read_gguf_info(path)
            if info.architecture != entry.architecture or info.n_layers != entry.n_layers:
                problem = (f"its header says {info.architecture} with {info.n_layers} layers, "
                           f"the catalogue expects {entry.architecture} with "
                           f"{entry.n_layers}")
        except ModelFileError as exc:
            problem = str(exc)
    if problem:
        path.unlink(missing_ok=True)
        raise DownloadError(f"{entry.file_name} is not the file the catalogue describes: "
                            f"{problem}. It was deleted.")


def download_entry(entry, dest_dir: Path, *, progress: OnProgress | None = None,
                   should_stop: ShouldStop | None = None, chunk: int = 1 << 20,
                   timeout: float = 60.0) -> Path:
    """Download a catalogue entry (resuming), verify it, return its path in `dest_dir`."""
    target = Path(dest_dir) / entry.file_name
    if target.exists():
        verify_entry_file(entry, target)
        return target
    path = download_file(entry.url, Path(dest_dir), sha256=entry.sha256 or None,
                         filename=entry.file_name, progress=progress,
                         should_stop=should_stop, chunk=chunk, timeout=timeout)
    verify_entry_file(entry, path)
    return path
