from __future__ import annotations

import pytest

from tests.memory.fake_llm import ScriptedFakeLLM


def default_script(messages, params):
    """Plausible answers for each memory prompt, recognised by their wording."""
    prompt = messages[-1].content
    if params.json_schema:
        return {"thoughts": []}
    if "running summary" in prompt:
        return "The user and the assistant talked about plans. Extra sentence."
    if "summaries of successive parts" in prompt:
        return "A long talk about plans."
    if "Summarise the events of that day" in prompt:
        return "The user planned a trip."
    if "global summary" in prompt:
        return "Over time the user planned trips."
    if "what these messages show about the person" in prompt:
        return "The user likes travelling."
    if "updated portrait" in prompt:
        return "A curious traveller."
    return "Happy to help."


@pytest.fixture
def fake_llm():
    return ScriptedFakeLLM(default_script)


@pytest.fixture
def say(engram):
    """Store one message as the chat does and remember it."""
    from core.memory.episodic import remember_messages

    def _say(conv_id: str, role: str, text: str, **kw):
        msg = engram.conversations.add_message(conv_id, role, text, **kw)
        remember_messages(engram.memories, [msg], actor="user" if role == "user" else "assistant")
        return msg
    return _say
