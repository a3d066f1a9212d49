"""An answer of which nothing was kept (it only said the person's message back) is shown as
one plain line, not as an empty bubble."""
from __future__ import annotations


def test_an_empty_reply_says_why_it_is_empty(engram, qtbot) -> None:
    from core.services.chat import ChatService
    from tests.memory.fake_llm import ScriptedFakeLLM
    from ui.chat_thread import load_thread
    from ui.message_widget import MessageWidget

    conv = engram.conversations.create("c")
    llm = ScriptedFakeLLM(["I'm saving up for a trip to Iceland."], kind="base")
    ChatService(engram, llm, sync_index=False).send(conv.id,
                                                    "I'm saving up for a trip to Iceland.")
    _, items = load_thread(engram, conv.id)
    reply = items[-1]
    assert reply.role == "assistant" and reply.withheld == "repeats the person's message"
    widget = MessageWidget(reply)
    qtbot.addWidget(widget)
    widget.show()
    assert widget.stopped_label.isVisible()
    assert widget.stopped_label.text().startswith("No reply kept: it only repeated your message")
    assert not items[0].withheld                               # the person's own message
