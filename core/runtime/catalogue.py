"""The shipped catalogue of recommended models (`assets/models/catalogue.json`) and what of it
fits this machine.

Nothing here touches the network: the catalogue is a file in the install, and a download
starts only when the user asks for one (`core.runtime.downloads`). The memory a model needs is
its weights (the file) plus its KV cache at the chosen context and cache types, from the same
formula the runtime reports (`kv_config.kv_bytes_per_token`).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from core.base.errors import EngramError
from core.runtime.kv_config import kv_bytes_per_token, shift_is_safe
from core.runtime.machine import MachineMemory

CATALOGUE_PATH = Path(__file__).resolve().parents[2] / "assets" / "models" / "catalogue.json"
_UNITS = {"KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
_REQUIRED = ("name", "display_name", "family", "parameters", "quantization", "architecture",
             "trained_context", "n_layers", "n_head_kv", "head_dim", "file_name", "url", "size",
             "licence", "licence_url", "sources")


class CatalogueError(EngramError):
    pass


def parse_size(text: str) -> tuple[int, int]:
    """"2.02 GB" -> (2_020_000_000, 5_000_000): the value and half its last shown digit, so
    a file whose page says "2.02 GB" must be within 2.015-2.025 GB."""
    m = re.fullmatch(r"\s*(\d+(?:\.(\d+))?)\s*([KMGT]B)\s*", text or "")
    if not m:
        raise CatalogueError(f"Unreadable size {text!r} (expected e.g. '398 MB' or '2.02 GB').")
    unit = _UNITS[m.group(3)]
    decimals = len(m.group(2) or "")
    return round(float(m.group(1)) * unit), unit // (2 * 10**decimals)


@dataclass(frozen=True)
class CatalogueEntry:
    name: str
    display_name: str
    family: str
    parameters: str
    quantization: str
    architecture: str
    trained_context: int
    n_layers: int
    n_head_kv: int
    head_dim: int
    file_name: str
    url: str
    size: str                      # as the file's page shows it
    licence: str
    licence_url: str
    sources: dict[str, str]
    instruct: bool = True
    chat_template: bool = True
    sha256: str = ""
    sha256_note: str = ""
    notes: str = ""

    @property
    def size_bytes(self) -> int:
        return parse_size(self.size)[0]

    @property
    def size_range(self) -> tuple[int, int]:
        value, half = parse_size(self.size)
        return value - half, value + half

    def kv_bytes(self, n_ctx: int, type_k: str = "q8_0", type_v: str = "q8_0") -> int:
        return int(kv_bytes_per_token(self.n_layers, self.n_head_kv, self.head_dim, type_k,
                                      type_v) * n_ctx)

    def memory_needed(self, n_ctx: int, type_k: str = "q8_0", type_v: str = "q8_0") -> int:
        """Weights + KV cache at `n_ctx` tokens."""
        return self.size_bytes + self.kv_bytes(n_ctx, type_k, type_v)

    def shifts_in_place(self, type_k: str) -> bool:
        return shift_is_safe(type_k, self.head_dim)

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def load_catalogue(path: Path | str | None = None) -> list[CatalogueEntry]:
    """Read and check the catalogue; a broken file is one clear error."""
    path = Path(path or CATALOGUE_PATH)
    try:
        data = json.loads(path.read_text("utf-8"))
        raw = data["models"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CatalogueError(f"The model catalogue {path} cannot be read: {exc}") from exc
    known = set(CatalogueEntry.__dataclass_fields__)
    entries: list[CatalogueEntry] = []
    for i, item in enumerate(raw):
        missing = [k for k in _REQUIRED if k not in item]
        if missing:
            raise CatalogueError(f"Catalogue entry {i + 1} lacks {', '.join(missing)}.")
        entry = CatalogueEntry(**{k: v for k, v in item.items() if k in known})
        parse_size(entry.size)
        if entry.sha256 and not re.fullmatch(r"[0-9a-f]{64}", entry.sha256):
            raise CatalogueError(f"Catalogue entry {entry.name}: malformed sha256.")
        if not entry.url.startswith("https://"):
            raise CatalogueError(f"Catalogue entry {entry.name}: the URL must be https.")
        entries.append(entry)
    names = [e.name for e in entries]
    if len(set(names)) != len(names):
        raise CatalogueError("The model catalogue names a model twice.")
    return entries


def find_entry(name: str, entries: list[CatalogueEntry]) -> CatalogueEntry:
    key = name.strip().lower()
    for e in entries:
        if key in (e.name, e.file_name.lower()):
            return e
    close = [e.name for e in entries if key and key.split("-")[0] in e.name]
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise CatalogueError(f"No model called '{name}' in the catalogue.{hint} "
                         f"`engram models list` shows the names.")


FITS, TIGHT, TOO_BIG = "fits", "tight", "too big"


@dataclass
class Fit:
    entry: CatalogueEntry
    status: str                    # fits / tight / too big
    reason: str
    memory_needed: int
    on_gpu: str = ""               # how much would run on the GPU, when there is one
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"name": self.entry.name, "status": self.status, "reason": self.reason,
                "memory_needed": self.memory_needed, "on_gpu": self.on_gpu}


def human_size(n: float) -> str:
    """Decimal units, as the download pages show sizes: 27 MB, 4.92 GB."""
    return f"{n / 1e9:.2f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB"


_gb = human_size


def assess(entry: CatalogueEntry, machine: MachineMemory, *, n_ctx: int = 4096,
           type_k: str = "q8_0", type_v: str = "q8_0") -> Fit:
    """Whether `entry` fits this machine at this context, and the reason in one sentence."""
    from core.runtime.gpu_fit import fit_gpu_layers

    need = entry.memory_needed(n_ctx, type_k, type_v)
    what = (f"needs {_gb(need)} ({_gb(entry.size_bytes)} weights + "
            f"{_gb(entry.kv_bytes(n_ctx, type_k, type_v))} KV cache at {n_ctx:,} tokens)")
    on_gpu, in_ram = "", need
    if machine.gpus:
        plan = fit_gpu_layers(n_layers=entry.n_layers, weights_bytes=entry.size_bytes,
                              kv_bytes_per_token=entry.kv_bytes(1, type_k, type_v),
                              n_ctx=n_ctx, free_vram=machine.free_vram)
        on_gpu = plan.reason
        in_ram = int(need * (1 - plan.layers_on_gpu / entry.n_layers))
        if plan.n_gpu_layers == -1:
            return Fit(entry, FITS, f"{what}; fits on the GPU ({_gb(machine.free_vram)} free)",
                       need, on_gpu)
    budget = machine.ram_budget
    if in_ram > budget:
        return Fit(entry, TOO_BIG, f"too big: {what}; this machine has "
                   f"{_gb(machine.total_ram)} of RAM, of which about {_gb(budget)} can go to a "
                   f"model", need, on_gpu)
    free = machine.available_ram
    if free is not None and in_ram > free:
        return Fit(entry, TIGHT, f"{what}; only {_gb(free)} is free right now: close other "
                   f"programs first", need, on_gpu)
    room = f"{_gb(free)} free" if free is not None else f"{_gb(machine.total_ram)} of RAM"
    return Fit(entry, FITS, f"{what}; {room}", need, on_gpu)


def assess_all(entries: list[CatalogueEntry], machine: MachineMemory, **kw) -> list[Fit]:
    """Every entry assessed, what fits first (catalogue order, small to large, within each)."""
    order = {FITS: 0, TIGHT: 1, TOO_BIG: 2}
    fits = [assess(e, machine, **kw) for e in entries]
    return sorted(fits, key=lambda f: order[f.status])
