"""Base or instruction-tuned: which way of talking a model understands.

An instruction-tuned ("instruct", "chat") model follows a request inside its own chat template.
A base model (the starter model, Gemma 3 270M) only continues text: told "You are Engram, ..."
it writes more of the same, so Engram talks to it through completion frames instead (a short
example dialogue, few-shot examples; see core.base.prompts). The kind decides which form every
prompt takes.

Deciding, in order: the user's setting (`model.kind`: base / instruct; "auto" decides), then
the model's name (general.name and the file name: "-Instruct", "-chat", "-it" mean instruct;
"base" means base), then whether the GGUF carries a chat template (instruct models ship one;
some base models do too, which is why an explicit name wins).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

ModelKind = Literal["base", "instruct"]
KIND_SETTINGS = ("auto", "base", "instruct")

_INSTRUCT_WORDS = re.compile(
    r"(?:^|[^a-z0-9])(instruct|chat|it|sft|dpo|rlhf|assistant|hermes|orca|vicuna|zephyr)"
    r"(?:$|[^a-z0-9])", re.IGNORECASE)
_BASE_WORDS = re.compile(r"(?:^|[^a-z0-9])(base|pretrain(?:ed)?|pt)(?:$|[^a-z0-9])",
                         re.IGNORECASE)

MEANING: dict[str, str] = {
    "base": ("a base model: it continues text rather than following instructions, so Engram "
             "talks to it through a short example dialogue and worked examples; expect short, "
             "plain answers"),
    "instruct": ("an instruction-tuned model: Engram gives it instructions inside the model's "
                 "own chat format"),
}


@dataclass(frozen=True)
class KindDecision:
    kind: ModelKind
    reason: str                      # why, in a sentence a person can check

    def describe(self) -> str:
        return f"{self.kind} ({self.reason}): {MEANING[self.kind]}"


def decide_kind(*, setting: str = "auto", name: str = "", file_name: str = "",
                has_template: bool = False) -> KindDecision:
    """Decide a model's kind from what is known about it (see the module docstring)."""
    if setting in ("base", "instruct"):
        return KindDecision(setting, "set in Settings")  # type: ignore[arg-type]
    for label, text in (("name", name), ("file name", Path(file_name).stem)):
        if not text:
            continue
        if _INSTRUCT_WORDS.search(text):
            return KindDecision("instruct", f"its {label} '{text}' says instruct/chat")
        if _BASE_WORDS.search(text):
            return KindDecision("base", f"its {label} '{text}' says base")
    if has_template:
        return KindDecision("instruct", "its file carries a chat template")
    return KindDecision("base", "its file has no chat template")


def kind_of_gguf(info, setting: str = "auto") -> KindDecision:
    """`decide_kind` for a `core.runtime.gguf_info.GGUFInfo`."""
    return decide_kind(setting=setting, name=info.name, file_name=info.path,
                       has_template=bool(info.chat_template))
