"""What each setting is called and what it does, in plain words: a name, one line of
explanation (shown under the control and as its tooltip) and, where the idea has one, the name
from the research it comes from (a quieter details line)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

# key: (plain name, one line of explanation, details)
TEXTS: dict[str, tuple[str, str, str]] = {
    "kind": ("What kind of model", ("Automatic reads the file. A base model continues text; an "
             "instruction-tuned one follows instructions. Engram words every prompt for it."), ""),
    "n_ctx": ("Context size", ("How much text the model sees at once (your chat, memories, "
              "the reply). Larger needs more memory."), ""),
    "gpu": ("GPU layers", ("How much of the model runs on the graphics card: auto, all, none "
            "or a number of layers."), ""),
    "threads": ("CPU threads", ("How many processor cores the model uses. Automatic picks "
                "for this computer."), ""),
    "kv": ("Conversation cache", ("How precisely the model keeps what it has read. Smaller "
           "saves memory, at a small cost in accuracy."),
           ("KV cache types K/V: f16 (full), q8_0 (8-bit), q4_0 (4-bit); a compressed V cache "
           "turns on flash attention")),
    "overflow": ("When the context is full", ("What the model lets go of when a long chat no "
                 "longer fits."), "StreamingLLM (attention sinks) or SirLLM (token entropy)"),
    "memory_limit": ("Model memory limit", ("Past this much memory the model stops with a "
                     "clear message instead of slowing the whole computer."), ""),
    "max_tokens": ("Longest reply", ("A reply stops here; one cut at this limit is marked "
                   "under it."), ""),
    "temperature": ("Creativity", ("Lower is more predictable, higher more varied. "
                    "Automatic: 0.7 for an instruction-tuned model, 0.3 for a base model."),
                    "temperature"),
    "top_p": ("Word choice", ("The model picks only among the likeliest words that together "
              "make up this share (1 = all words)."), "top-p (nucleus sampling)"),
    "repeat_penalty": ("Avoid repeating", ("Above 1 makes the model less likely to repeat "
                       "recent words (1 = off)."), "repeat penalty"),
    "seed": ("Seed", ("A fixed number gives the same reply to the same message; random gives "
             "a new one each time."), ""),
    "system_prompt": ("Instructions for every chat", ("How the model should answer, e.g. "
                      "\u201cAnswer briefly, in British English.\u201d A chat can have its own "
                      "(Instructions\u2026 above the chat)."), "system prompt"),
    "memory_enabled": ("Remember across conversations", ("Engram keeps memories of your chats "
                       "and uses them in later ones. Incognito chats never do."), ""),
    "full_context": ("Read whole chats up to", ("While all your chats together are shorter "
                     "than this, the model reads them whole; past it, Engram picks the "
                     "memories that matter for each message."), "full-context threshold"),
    "retrieval_budget": ("Room for memories", ("How much of each prompt the recalled "
                         "memories may fill."), "retrieval budget, in tokens"),
    "hema": ("Summarise each conversation as it goes", ("Short running summaries let long "
             "chats be remembered without reading them whole."),
             "HEMA (hippocampus-inspired extended memory): compact summaries"),
    "hema_every": ("", "A summary of the summaries after this many messages.", ""),
    "memorybank": ("Memories you use grow stronger", ("Each time a memory is used it lasts "
                   "longer; memories left unused slowly fade."),
                   "MemoryBank (Ebbinghaus forgetting curve)"),
    "forgetting_sweep": ("Forget memories that have faded", ("Faded memories are set aside, "
                         "not erased: restore them in the memory inspector."), ""),
    "forget_threshold": ("Fade point", ("A memory is forgotten when its strength falls below "
                         "this (0 to 1; 0.05 means after long disuse)."), "retention threshold"),
    "tim": ("Draw conclusions and merge repeats", ("After a chat the model notes what follows "
            "from it (\u201cLena works nights\u201d) and merges memories that say the same."),
            "TiM (Think-in-Memory): thoughts"),
    "embedding_model": ("Meaning search model", ("The model that finds memories by meaning. "
                        "Empty: the bundled all-MiniLM-L6-v2."), "embedding model folder"),
    "theme": ("Appearance", "Follow the system's light or dark look, or choose one.", ""),
}


def explanation(key: str) -> QLabel:
    _name, line, details = TEXTS[key]
    label = QLabel(line + (f"<br><i>{details}</i>" if details else ""))
    label.setObjectName("settingExplain")
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setWordWrap(True)
    return label


def add_row(form: QFormLayout, key: str, widget: QWidget | object) -> QLabel:
    """A setting: its plain name, the control (or a layout), the explanation under it; the
    tooltip says the same. Returns the explanation label (some add a live figure)."""
    name, line, details = TEXTS[key]
    tip = line + (f"\n({details})" if details else "")
    # one widget per row: a bare nested layout let wrapped explanations reserve blank lines
    box = QWidget()
    box.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
    column = QVBoxLayout(box)
    column.setContentsMargins(0, 0, 0, 4)
    column.setSpacing(1)
    if isinstance(widget, QWidget):
        widget.setToolTip(tip)
        if isinstance(widget, QCheckBox) and not widget.text():
            widget.setText(name)
        column.addWidget(widget)
    else:
        column.addLayout(widget)
    note = explanation(key)
    note.setToolTip(tip)
    column.addWidget(note)
    if isinstance(widget, QCheckBox) or not name:
        form.addRow("", box)
    else:
        form.addRow(f"{name}:", box)
    return note
