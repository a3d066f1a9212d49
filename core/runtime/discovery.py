"""GGUF models that other apps already keep on this machine, used in place (never copied).

Where each app keeps them (the user's home; platformdirs for the per-platform folders):
- LM Studio: `~/.lmstudio/models/<publisher>/<repo>/*.gguf`, older `~/.cache/lm-studio/models`;
- Ollama: `$OLLAMA_MODELS` or `~/.ollama/models` (and the Linux service's
  `/usr/share/ollama/.ollama/models`): `manifests/<registry>/<namespace>/<model>/<tag>` are JSON
  manifests whose `application/vnd.ollama.image.model` layer names a blob
  `blobs/sha256-<hex>`; the model is shown by its name (`llama3.2:3b`), not the hash;
- GPT4All: its data folder (`nomic.ai/GPT4All` in the user data folder);
- Jan: `~/jan/models` and its data folder (`Jan/data/models`, `Jan/data/llamacpp/models`);
- the Hugging Face cache: `$HF_HUB_CACHE`, `$HF_HOME/hub` or `~/.cache/huggingface/hub`,
  `models--<org>--<repo>/snapshots/<revision>/*.gguf`;
- llama.cpp's download cache: `$LLAMA_CACHE` or the user cache folder `llama.cpp`;
- folders the user added.
Split GGUFs (`name-00001-of-00003.gguf`) count as one model, opened from the first part.
Only headers are read later, and only when the list is shown; nothing is modified.
"""
from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)
SPLIT = re.compile(r"^(?P<stem>.+)-(?P<part>\d{5})-of-(?P<count>\d{5})\.gguf$", re.IGNORECASE)
MAX_DEPTH = 6
MAX_FILES = 2000          # per root: a huge folder is cut short rather than scanned for minutes
OLLAMA_MODEL_LAYER = "application/vnd.ollama.image.model"


@dataclass(frozen=True)
class FoundModel:
    path: Path            # the file to load (the first part of a split GGUF)
    source: str           # "LM Studio", "Ollama", ...
    name: str             # what the other app calls it
    size_bytes: int
    parts: int = 1
    missing_parts: int = 0

    def to_dict(self) -> dict:
        return {"path": str(self.path), "source": self.source, "name": self.name,
                "size_bytes": self.size_bytes, "parts": self.parts,
                "missing_parts": self.missing_parts}


def _data_dir(app: str) -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir(app, False, roaming=False))


def _cache_dir(app: str) -> Path:
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / app
    import platformdirs

    return Path(platformdirs.user_cache_dir(app, False))


def _hf_cache(env) -> Path:
    if env.get("HF_HUB_CACHE"):
        return Path(env["HF_HUB_CACHE"])
    if env.get("HF_HOME"):
        return Path(env["HF_HOME"]) / "hub"
    base = Path(env["XDG_CACHE_HOME"]) if env.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "huggingface" / "hub"


def known_folders(env=None) -> list[tuple[str, Path]]:
    """(source, folder) for every app above, whether or not the folder exists."""
    env = os.environ if env is None else env
    home = Path.home()
    ollama = [Path(env["OLLAMA_MODELS"])] if env.get("OLLAMA_MODELS") else [
        home / ".ollama" / "models", Path("/usr/share/ollama/.ollama/models")]
    return [
        ("LM Studio", home / ".lmstudio" / "models"),
        ("LM Studio", home / ".cache" / "lm-studio" / "models"),
        *[("Ollama", p) for p in ollama],
        ("GPT4All", _data_dir("nomic.ai") / "GPT4All"),      # Qt's <org>/<app> data folder
        ("Jan", home / "jan" / "models"),
        ("Jan", _data_dir("Jan") / "data" / "models"),
        ("Jan", _data_dir("Jan") / "data" / "llamacpp" / "models"),
        ("Hugging Face cache", _hf_cache(env)),
        ("llama.cpp cache", Path(env["LLAMA_CACHE"]) if env.get("LLAMA_CACHE")
         else _cache_dir("llama.cpp")),
    ]


def _walk_gguf(root: Path) -> Iterator[Path]:
    count = 0
    base = len(root.parts)
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        if len(here.parts) - base >= MAX_DEPTH:
            dirnames[:] = []
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "blobs")
        for fn in sorted(filenames):
            if fn.lower().endswith(".gguf") and not fn.lower().startswith("mmproj"):
                count += 1
                if count > MAX_FILES:
                    log.warning("stopped scanning %s after %d GGUF files", root, MAX_FILES)
                    return
                yield here / fn


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _group_splits(paths: list[Path]) -> list[tuple[Path, int, int, int]]:
    """(first part, parts, missing parts, total bytes); plain files are single parts."""
    out: list[tuple[Path, int, int, int]] = []
    groups: dict[tuple[Path, str, int], dict[int, Path]] = {}
    for p in paths:
        m = SPLIT.match(p.name)
        if not m:
            out.append((p, 1, 0, _size(p)))
            continue
        key = (p.parent, m.group("stem"), int(m.group("count")))
        groups.setdefault(key, {})[int(m.group("part"))] = p
    for (parent, stem, count), parts in groups.items():
        first = parts.get(1) or parent / f"{stem}-00001-of-{count:05d}.gguf"
        out.append((first, count, count - len(parts), sum(_size(p) for p in parts.values())))
    return sorted(out, key=lambda t: str(t[0]).lower())


def _display_name(source: str, root: Path, path: Path) -> str:
    rel = path.relative_to(root) if path.is_relative_to(root) else Path(path.name)
    if source == "Hugging Face cache":
        repo = rel.parts[0]
        if repo.startswith("models--"):
            org_repo = repo[len("models--"):].replace("--", "/", 1)
            return f"{org_repo}: {path.name}"
    if source == "LM Studio" and len(rel.parts) >= 3:
        return "/".join(rel.parts[-3:])
    if source == "Jan" and len(rel.parts) >= 2:
        return "/".join(rel.parts[-2:])
    return path.name


def _scan_folder(source: str, root: Path) -> list[FoundModel]:
    found = []
    for first, parts, missing, size in _group_splits(list(_walk_gguf(root))):
        name = _display_name(source, root, first)
        found.append(FoundModel(first, source, name, size, parts, missing))
    return found


def _scan_ollama(root: Path) -> list[FoundModel]:
    manifests = root / "manifests"
    names: dict[Path, list[str]] = {}      # one blob may carry several names (tags)
    if not manifests.is_dir():
        return []
    for mf in sorted(p for p in manifests.rglob("*") if p.is_file()):
        rel = mf.relative_to(manifests).parts
        if len(rel) != 4:
            continue
        registry, namespace, model, tag = rel
        try:
            layers = json.loads(mf.read_text("utf-8")).get("layers", [])
            digest = next(lay["digest"] for lay in layers
                          if lay.get("mediaType") == OLLAMA_MODEL_LAYER)
        except (OSError, ValueError, StopIteration, KeyError, TypeError, AttributeError):
            continue
        blob = root / "blobs" / digest.replace(":", "-")
        if not blob.is_file():
            continue
        default = registry == "registry.ollama.ai"
        name = f"{model}:{tag}" if default and namespace == "library" else \
            f"{namespace}/{model}:{tag}" if default else f"{registry}/{namespace}/{model}:{tag}"
        names.setdefault(blob, []).append(name)
    return [FoundModel(blob, "Ollama", ", ".join(n), _size(blob)) for blob, n in names.items()]


def discover(extra_folders: list[Path] | None = None, env=None) -> list[FoundModel]:
    """Every GGUF other apps keep (and in `extra_folders`), each file once."""
    roots = known_folders(env) + [("Added folder", Path(p)) for p in extra_folders or []]
    seen: set[Path] = set()
    out: list[FoundModel] = []
    for source, root in roots:
        try:
            if not root.is_dir():
                continue
            items = _scan_ollama(root) if source == "Ollama" else _scan_folder(source, root)
        except OSError as exc:
            log.warning("could not scan %s (%s): %s", root, source, exc)
            continue
        for item in items:
            try:
                key = item.path.resolve()
            except OSError:
                key = item.path
            if key not in seen:
                seen.add(key)
                out.append(item)
    return out
