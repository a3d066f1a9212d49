from __future__ import annotations

import numpy as np

from core.chat import ChatService
from core.memory.thoughts import HyperplaneLSH, add_thought, post_think, recall_thoughts
from core.memory.worker import MemoryWorker
from tests.memory.fake_llm import ScriptedFakeLLM


def test_lsh_keys_are_stable_and_close_vectors_share_buckets() -> None:
    rng = np.random.default_rng(1)
    a = rng.standard_normal(384).astype(np.float32)
    a /= np.linalg.norm(a)
    noise = rng.standard_normal(384).astype(np.float32)
    near = a + 0.3 * noise / np.linalg.norm(noise)          # cosine about 0.96
    far = rng.standard_normal(384).astype(np.float32)
    lsh, again = HyperplaneLSH(384), HyperplaneLSH(384)
    assert lsh.keys(a) == again.keys(a)
    assert len(set(lsh.keys(a)) & set(lsh.keys(near))) >= 6
    assert len(set(lsh.keys(a)) & set(lsh.keys(far))) <= 4


def test_insert_merge_and_contradiction(engram) -> None:
    first = add_thought(engram, "The user's sister lives in Ghent", subject="user's sister",
                        sources=[])
    assert first.op == "insert"
    found = recall_thoughts(engram, "Where does the sister of the user live?")
    assert found and found[0][0].id == first.thought_id
    # near-duplicate about the same subject: the older is superseded, linked to the new one
    merged = add_thought(engram, "The user's sister lives in Ghent, Belgium",
                         subject="user's sister", sources=[])
    assert (merged.op, merged.replaced) == ("merge", [first.thought_id])
    old = engram.memories.get(first.thought_id)
    assert (old.status, old.superseded_by) == ("superseded", merged.thought_id)
    assert engram.memories.events(old.id)[-1].event == "merged"
    # a similar sentence about another subject is kept apart
    other = add_thought(engram, "The user's brother lives in Ghent, Belgium",
                        subject="user's brother", sources=[])
    assert other.op == "insert"
    # contradiction: superseded (not deleted), restorable
    moved = add_thought(engram, "The user's sister moved to Lyon", subject="user's sister",
                        sources=[], contradicts=[merged.thought_id])
    assert moved.op == "contradict"
    stale = engram.memories.get(merged.thought_id)
    assert (stale.status, stale.superseded_by, stale.text) == (
        "superseded", moved.thought_id, "The user's sister lives in Ghent, Belgium")
    assert engram.memories.events(stale.id)[-1].event == "superseded"
    engram.memories.restore(stale.id)
    assert engram.memories.get(stale.id).status == "active"


def test_post_thinking_after_a_reply_through_the_worker(engram) -> None:
    def script(messages, params):
        prompt = messages[-1].content
        if params.json_schema:
            assert params.json_schema["required"] == ["thoughts"]
            if "Lyon" in prompt:
                assert "1. The user's sister lives in Ghent" in prompt
                return {"thoughts": [{"subject": "User's sister", "text":
                                      "The user's sister now lives in Lyon", "contradicts": [1]}]}
            return {"thoughts": [{"subject": "User's sister", "text":
                                  "The user's sister lives in Ghent", "contradicts": []}]}
        return "Noted."

    llm = ScriptedFakeLLM(script)
    service = ChatService(engram, llm)
    worker = MemoryWorker(engram, lambda: llm)
    conv = engram.conversations.create("c")
    first = service.send(conv.id, "My sister lives in Ghent")
    worker.run_until_idle()
    [thought] = engram.memories.list(kinds=["thought"])
    assert (thought.text, thought.subject) == ("The user's sister lives in Ghent", "user's sister")
    sources = {s["message_id"] for s in engram.memories.sources(thought.id)}
    assert sources == {first.user_message.id, first.assistant_message.id}
    assert engram.memories.events(thought.id)[0].actor == "assistant"
    service.send(conv.id, "She moved to Lyon last week")
    worker.run_until_idle()
    [current] = engram.memories.list(kinds=["thought"])
    assert current.text == "The user's sister now lives in Lyon"
    assert engram.memories.get(thought.id).superseded_by == current.id


def test_a_broken_json_answer_fails_the_job_without_retry(engram) -> None:
    llm = ScriptedFakeLLM(lambda m, p: "{not json" if p.json_schema else "ok")
    conv = engram.conversations.create("c")
    ChatService(engram, llm).send(conv.id, "hello there")
    worker = MemoryWorker(engram, lambda: llm)
    worker.run_until_idle()
    failed = engram.jobs.list(status="failed")
    assert [j.kind for j in failed] == ["post_think"] and "could not be read" in failed[0].error
    assert sum(1 for _, p in llm.calls if p.json_schema) == 2    # one more draw, then give up
    assert engram.memories.count(kinds=["thought"]) == 0
    assert post_think(engram, ScriptedFakeLLM([{"thoughts": []}]), conv.id,
                      engram.conversations.thread(conv.id)[-1].id) == []


def test_a_bare_newline_inside_a_json_string_is_read(engram) -> None:
    # llama-cpp-python's schema grammar lets raw control characters into strings; the starter
    # model produced this exact shape in CI (strict JSON would reject it)
    answer = ('{ "thoughts": [{"subject": "user\'s sister", "text": "She lives in Ghent and '
              'loves cycling.\n  " ,"contradicts": []}]}')
    llm = ScriptedFakeLLM(lambda m, p: answer if p.json_schema else "ok")
    conv = engram.conversations.create("c")
    reply = ChatService(engram, llm).send(conv.id, "My sister lives in Ghent")
    post_think(engram, llm, conv.id, reply.assistant_message.id)
    [thought] = engram.memories.list(kinds=["thought"])
    assert thought.text == "She lives in Ghent and loves cycling."
