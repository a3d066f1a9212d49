"""The everyday chat operations in core: the person's system prompt (for every chat and for
one), deleting a message, a chat as Markdown, an empty incognito chat discarded, and the
marker of a reply that reached the length limit."""
from __future__ import annotations

from core.base.llm import GenerationStats
from core.services import conversation_ops
from core.services.chat import ChatService
from tests.memory.fake_llm import ScriptedFakeLLM


def _system(llm: ScriptedFakeLLM) -> str:
    return llm.calls[-1][0][0].content


def test_the_persons_system_prompt_global_then_per_chat(engram) -> None:
    llm = ScriptedFakeLLM(["Sure."])
    conv = engram.conversations.create("c")
    chat = ChatService(engram, llm, sync_index=False)
    chat.send(conv.id, "Hello")
    default = _system(llm)
    assert "The person's instructions" not in default
    engram.settings.generation.system_prompt = "Always answer in French."
    chat.send(conv.id, "Hello again")
    assert _system(llm).startswith(default.split("\n\n")[0])      # Engram's opening stays
    assert _system(llm).rstrip().endswith("Always answer in French.")
    conversation_ops.set_system_prompt(engram, conv.id, "Answer like a pirate.")
    chat.send(conv.id, "And now?")
    assert "Answer like a pirate." in _system(llm) and "French" not in _system(llm)
    other = engram.conversations.create("other")
    chat.send(other.id, "Hi")                                     # other chats keep the global one
    assert "French" in _system(llm)
    conversation_ops.set_system_prompt(engram, conv.id, "  ")     # cleared: back to the global
    assert "system_prompt" not in engram.conversations.get(conv.id).meta


def test_a_base_model_reads_the_instructions_in_its_frame_opening(engram) -> None:
    llm = ScriptedFakeLLM(["Ahoy."], kind="base")
    conv = engram.conversations.create("c")
    conversation_ops.set_system_prompt(engram, conv.id, "Answer like a pirate.")
    ChatService(engram, llm, sync_index=False).send(conv.id, "Hello")
    prompt = llm.last_prompt()
    first = prompt.split("\n\n")[0]
    assert "follows the person's instructions: Answer like a pirate." in first


def test_delete_a_message_keeps_the_thread_and_erases_the_text(engram) -> None:
    llm = ScriptedFakeLLM(["First answer.", "Second answer."])
    conv = engram.conversations.create("c")
    chat = ChatService(engram, llm, sync_index=False)
    first = chat.send(conv.id, "My secret is 1234")
    chat.send(conv.id, "Next question")
    changes = conversation_ops.delete_message(engram, first.user_message.id)
    assert changes.touches_conversation(conv.id)
    thread = engram.conversations.thread(conv.id)
    shown = [m.text for m in thread if not m.hidden]
    assert shown == ["First answer.", "Next question", "Second answer."]
    gone = engram.conversations.get_message(first.user_message.id)
    assert gone.text == "" and gone.hidden
    assert not [r for r in engram.db.execute(
        "SELECT rowid FROM messages_fts WHERE messages_fts MATCH '1234'")]
    assert "1234" not in conversation_ops.as_markdown(engram, conv.id)


def test_a_chat_as_markdown(engram, tmp_path) -> None:
    llm = ScriptedFakeLLM(["Use **basil**."])
    conv = engram.conversations.create("Cooking")
    ChatService(engram, llm, sync_index=False).send(conv.id, "What goes with tomatoes?")
    text = conversation_ops.as_markdown(engram, conv.id)
    assert text.startswith("# Cooking\n")
    assert "**You** · " in text and "What goes with tomatoes?" in text
    assert "**Assistant (scripted-fake)** · " in text and "Use **basil**." in text
    assert not text.rstrip().endswith("---")
    out = conversation_ops.export_markdown_file(engram, conv.id, tmp_path / "c.md")
    assert out.read_text("utf-8") == text


def test_an_empty_incognito_chat_is_discarded(engram) -> None:
    conv, _ = conversation_ops.create(engram, incognito=True)
    kept, _ = conversation_ops.create(engram)
    assert conversation_ops.discard_if_empty(engram, kept.id) is None   # not incognito
    assert conversation_ops.discard_if_empty(engram, conv.id) is not None
    assert engram.conversations.find(conv.id) is None


def test_a_reply_at_the_length_limit_is_marked(engram) -> None:
    class AtLength(ScriptedFakeLLM):
        def chat(self, messages, params=None, *, on_token=None, session=None):
            text, _ = super().chat(messages, params, on_token=on_token)
            return text, GenerationStats(completion_tokens=3, finish_reason="length")

    conv = engram.conversations.create("c")
    result = ChatService(engram, AtLength(["It was a long"]), sync_index=False).send(
        conv.id, "Tell me")
    assert result.assistant_message.meta.get("length_limit") is True
    normal = ChatService(engram, ScriptedFakeLLM(["Done."]), sync_index=False).send(
        conv.id, "Short")
    assert "length_limit" not in normal.assistant_message.meta


def test_a_portrait_and_a_global_summary_in_the_same_words_go_in_once(engram) -> None:
    said = "Lena is a nurse who lives in Ghent with her dog Pixel."
    engram.memories.create("portrait", said, actor="assistant", granularity="overall",
                           meta={"scope": "all"})
    summary = engram.memories.create("summary", said.lower().rstrip("."), actor="assistant",
                                     granularity="global")
    llm = ScriptedFakeLLM(["Hello Lena."])
    conv = engram.conversations.create("c")
    chat = ChatService(engram, llm, sync_index=False)
    chat.send(conv.id, "Hi")
    assert _system(llm).lower().count("lives in ghent") == 1
    engram.memories.edit(summary.id, "Lena adopted Pixel in May.", actor="assistant")
    chat.send(conv.id, "Hi again")
    assert "What you know about the person" in _system(llm)
    assert "Summary of past events:\nLena adopted Pixel in May." in _system(llm)
