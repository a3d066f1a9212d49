from __future__ import annotations

import pytest

from tests.memory.fake_llm import ScriptedFakeLLM


def last_said(prompt: str) -> str:
    """The last line of the conversation a memory prompt shows, without its speaker label."""
    lines = [ln.split(": ", 1)[1] for ln in prompt.splitlines()
             if ln.startswith(("User: ", "Assistant: ")) and ": " in ln]
    return lines[-1].rstrip(".!?") if lines else "plans"


def default_script(messages, params):
    """Plausible answers for each memory prompt (the instruct forms), recognised by their
    wording. They are made of the prompt's own conversation words, so that the grounding gate
    lets them through, as it would a good model's."""
    prompt = messages[-1].content
    if "list the facts worth remembering" in prompt:
        return "- (none)"
    if "running summary" in prompt:
        return f"The user said {last_said(prompt)}. Extra sentence."
    if "summaries of successive parts" in prompt:
        parts = [ln[2:] for ln in prompt.splitlines() if ln.startswith("- ")]
        return parts[-1] if parts else "Nothing yet."
    if "Summarise the events of that day" in prompt:
        return "The user booked flights to Porto."
    if "global summary" in prompt:
        return "The user booked flights to Porto."
    if "what these messages show about the person" in prompt:
        return "The user likes flights to Porto."
    if "updated portrait" in prompt:
        return "The user books flights to Porto."
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
