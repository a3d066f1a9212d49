"""User settings: a small versioned JSON file, written atomically.

Unknown keys are ignored (with the file left to be rewritten on the next save) and missing keys
take their defaults, so older and newer files both load.
"""
from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from core.base.atomic import write_text_atomic
from core.base.errors import SettingsError
from core.base.llm import GenerationParams

SETTINGS_VERSION = 1
log = logging.getLogger(__name__)


@dataclass
class ModelSettings:
    path: str = ""                 # GGUF file; empty = the starter model when installed
    kind: str = "auto"             # auto / base / instruct (core.runtime.model_kind)
    n_ctx: int = 4096
    n_gpu_layers: str = "auto"     # "auto" (fit free VRAM), "all", "none" or a number
    n_threads: int = 0             # 0 = automatic
    # q8_0/q8_0: 1.88x less KV memory for +0.5% perplexity (measured, README). On overflow a
    # quantized K cache is shifted in place where the head size allows it (multiples of 64),
    # else the kept tokens are re-processed; prompts are assembled to fit, so overflows are rare.
    type_k: str = "q8_0"           # f16 / q8_0 / q4_0
    type_v: str = "q8_0"
    overflow_policy: str = "streaming"  # streaming (StreamingLLM) or sirllm
    sink_tokens: int = 4
    sirllm_decay: float = 0.9
    kv_state_budget_mb: int = 2048
    memory_limit_mb: int = 0       # cap on the model worker's memory growth (0 = no cap)
    remote_url: str = ""           # OpenAI-compatible endpoint; empty = local model
    remote_model: str = ""
    remote_api_key: str = ""


@dataclass
class MemorySettings:
    enabled: bool = True
    embedding_model: str = ""      # empty = the bundled all-MiniLM-L6-v2
    # auto | torch | onnx | onnx-int8 (core.index.embedder): auto = ONNX Runtime for the bundled
    # model when it loads, torch otherwise; onnx-int8 vectors get their own collection.
    embedding_runtime: str = "auto"
    full_context_tokens: int = 3000
    retrieval_budget_tokens: int = 1000
    hema_enabled: bool = True
    hema_second_level_every: int = 100
    memorybank_enabled: bool = True
    forget_threshold: float = 0.05
    # The sweep that marks faded memories forgotten. Off by default: with S = 1 and t in days, a
    # memory never recalled falls below 0.05 in 3 days, which would hide most of an imported
    # history within a week. Retention still weighs every retrieval.
    forgetting_sweep: bool = False
    tim_enabled: bool = True
    # The memory switch (issue 15): while paused nothing new is remembered; with
    # `pause_reading` nothing is read either. 0 = not paused; -1 = until resumed; else the
    # time (epoch seconds) it resumes by itself.
    paused_until: float = 0.0
    pause_reading: bool = False

    def paused(self, now: float) -> bool:
        return self.paused_until == -1 or self.paused_until > now

    def writes(self, now: float) -> bool:
        """Whether new memories are written now (on, and not paused)."""
        return self.enabled and not self.paused(now)

    def reads(self, now: float) -> bool:
        """Whether memories are read into prompts now."""
        return self.enabled and not (self.pause_reading and self.paused(now))


@dataclass
class GenerationSettings:
    """How replies are sampled (chat in the app and `engram chat`)."""
    max_tokens: int = 512          # longest reply, in tokens
    # -1 = the model kind's own default: 0.7 for an instruct model, 0.3 for a base model
    # (measured on the starter model: answers from memory right 85% of the time at 0.3, 67%
    # at 0.7)
    temperature: float = -1.0
    top_p: float = 0.95
    repeat_penalty: float = 1.1
    seed: int = -1                 # -1 = a new random seed for every reply
    system_prompt: str = ""        # the person's own instructions for every chat ("" = none)

    def params(self) -> GenerationParams:
        return GenerationParams(max_tokens=self.max_tokens,
                                temperature=None if self.temperature < 0 else self.temperature,
                                top_p=self.top_p, repeat_penalty=self.repeat_penalty,
                                seed=None if self.seed < 0 else self.seed)


@dataclass
class ChromaSettings:
    server_url: str = ""           # empty = embedded PersistentClient under the data folder
    collection: str = "memories"


@dataclass
class Settings:
    version: int = SETTINGS_VERSION
    model: ModelSettings = field(default_factory=ModelSettings)
    memory: MemorySettings = field(default_factory=MemorySettings)
    generation: GenerationSettings = field(default_factory=GenerationSettings)
    chroma: ChromaSettings = field(default_factory=ChromaSettings)
    first_run_done: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Settings:
        version = data.get("version", SETTINGS_VERSION)
        if not isinstance(version, int) or version > SETTINGS_VERSION:
            raise SettingsError(
                f"The settings file is from a newer Engram (version {version}); "
                f"this one reads up to {SETTINGS_VERSION}."
            )
        return _build(cls, data)


def _build(klass: type, data: dict[str, Any]) -> Any:
    kwargs = {}
    for f in fields(klass):
        if f.name not in data:
            continue
        value = data[f.name]
        default = f.default_factory() if callable(f.default_factory) else f.default  # type: ignore[misc]
        if hasattr(default, "__dataclass_fields__"):
            value = _build(type(default), value if isinstance(value, dict) else {})
        elif default is not None and not isinstance(value, type(default)):
            if isinstance(default, float) and isinstance(value, int):
                value = float(value)
            else:
                log.warning("settings: ignoring %s (expected %s)", f.name, type(default).__name__)
                continue
        kwargs[f.name] = value
    return klass(**kwargs)


def load_settings(path: Path) -> Settings:
    if not path.exists():
        return Settings()
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise SettingsError(f"Cannot read settings at {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise SettingsError(f"Settings at {path} are not a JSON object.")
    return Settings.from_dict(data)


def save_settings(path: Path, settings: Settings) -> None:
    write_text_atomic(path, json.dumps(settings.to_dict(), indent=2, sort_keys=True) + "\n")
