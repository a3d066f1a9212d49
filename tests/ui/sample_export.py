"""A small ChatGPT-format export written by the tests themselves (no dependency on ../shared)."""
from __future__ import annotations

import json
from pathlib import Path

TOPICS = [
    ("Trip to Lisbon", "I am planning a trip to Lisbon in May with my sister Ana.",
     "Lisbon in May is lovely: visit Alfama and take tram 28."),
    ("Sourdough", "My sourdough starter is called Bubbles and it smells of vinegar.",
     "A vinegar smell means it is hungry: feed it twice a day."),
    ("Cat allergy", "I am allergic to cats, so no cat cafes please.",
     "Noted: I will not suggest cat cafes."),
    ("Python tip", "How do I reverse a list in Python?",
     "Use slicing:\n```python\nitems[::-1]\n```\nor `items.reverse()` in place."),
]


def _node(nid: str, parent: str | None, children: list[str], role: str | None, text: str,
          ts: float) -> dict:
    msg = None
    if role:
        msg = {"id": nid, "author": {"role": role}, "create_time": ts,
               "content": {"content_type": "text", "parts": [text]}}
    return {"id": nid, "parent": parent, "children": children, "message": msg}


def write_chatgpt_export(folder: Path, n: int = 4, start: float = 1_700_000_000.0) -> Path:
    convs = []
    for i in range(n):
        title, q, a = TOPICS[i % len(TOPICS)]
        ts = start + i * 86400
        cid = f"conv-{i}"
        mapping = {
            f"{cid}-root": _node(f"{cid}-root", None, [f"{cid}-u"], None, "", ts),
            f"{cid}-u": _node(f"{cid}-u", f"{cid}-root", [f"{cid}-a"], "user", q, ts + 1),
            f"{cid}-a": _node(f"{cid}-a", f"{cid}-u", [], "assistant", a, ts + 2),
        }
        convs.append({"id": cid, "conversation_id": cid, "title": title, "create_time": ts,
                      "update_time": ts + 2, "mapping": mapping, "current_node": f"{cid}-a"})
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "conversations.json"
    path.write_text(json.dumps(convs), "utf-8")
    return path
