"""Generated ChatGPT exports (conversations.json) for the reliability tests: many
conversations of plain text, sized to fill a small disk, or one message past the importer's
length bound."""
from __future__ import annotations

import json
import random
from pathlib import Path

WORDS = ["river", "garden", "lantern", "quartz", "harbour", "violin", "meadow", "copper",
         "falcon", "ember", "willow", "basalt", "orchard", "thimble", "cobalt", "saffron",
         "glacier", "tundra", "walrus", "okapi", "heron"]


def chatgpt_export(path: Path, *, conversations: int, messages: int = 6,
                   words_per_message: int = 120, seed: int = 7,
                   huge_message_chars: int = 0) -> Path:
    """Write a ChatGPT export. `huge_message_chars` makes the first message that long."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as f:
        f.write("[")
        for c in range(conversations):
            mapping: dict[str, dict] = {"root": {"id": "root", "parent": None,
                                                 "children": [], "message": None}}
            parent = "root"
            for m in range(messages):
                node = f"c{c}-m{m}"
                if c == 0 and m == 0 and huge_message_chars:
                    text = ("x" * 99 + " ") * (huge_message_chars // 100 + 1)
                else:
                    text = " ".join(rng.choice(WORDS) for _ in range(words_per_message))
                mapping[node] = {"id": node, "parent": parent, "children": [], "message": {
                    "id": node, "author": {"role": "user" if m % 2 == 0 else "assistant"},
                    "create_time": 1_700_000_000 + c * 100 + m,
                    "content": {"content_type": "text", "parts": [f"{c}.{m} {text}"]}}}
                mapping[parent]["children"].append(node)
                parent = node
            conv = {"id": f"conv-{c}", "conversation_id": f"conv-{c}",
                    "title": f"Generated conversation {c}", "create_time": 1_700_000_000 + c * 100,
                    "update_time": 1_700_000_000 + c * 100 + messages, "current_node": parent,
                    "mapping": mapping}
            f.write(("," if c else "") + json.dumps(conv))
        f.write("]")
    return path
