from __future__ import annotations

import numpy as np

from core.memory.thoughts import HyperplaneLSH, add_thought, recall_thoughts
from core.services.chat import ChatService
from core.services.memory_worker import MemoryWorker
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


def test_post_thinking_after_a_reply_stores_facts_through_the_worker(engram) -> None:
    """The post_think job distils facts from the exchange (instruct form), cites the person's
    message, and merges a near-duplicate of an older fact (TiM)."""
    def script(messages, params):
        prompt = messages[-1].content
        if "list the facts worth remembering" in prompt:
            if "Ghent, in Belgium" in prompt:
                return "- The user's sister lives in Ghent, in Belgium."
            return "- The user's sister lives in Ghent."
        return "Noted."

    llm = ScriptedFakeLLM(script)
    service = ChatService(engram, llm)
    worker = MemoryWorker(engram, lambda: llm)
    conv = engram.conversations.create("c")
    first = service.send(conv.id, "My sister lives in Ghent")
    worker.run_until_idle()
    [fact] = engram.memories.list(kinds=["fact"])
    assert (fact.text, fact.subject) == ("The user's sister lives in Ghent.", "the user")
    sources = {s["message_id"] for s in engram.memories.sources(fact.id)}
    assert sources == {first.user_message.id}          # the person's message, not the reply
    assert engram.memories.events(fact.id)[0].actor == "assistant"
    assert fact.meta["turn"] and engram.memories.get(fact.meta["turn"]).meta["message_id"] \
        == first.user_message.id
    service.send(conv.id, "Yes, my sister lives in Ghent, in Belgium")
    worker.run_until_idle()
    [current] = engram.memories.list(kinds=["fact"])
    assert current.text == "The user's sister lives in Ghent, in Belgium."
    assert engram.memories.get(fact.id).superseded_by == current.id
    assert engram.memories.events(fact.id)[-1].event == "merged"


def test_an_answer_whose_every_fact_is_refused_fails_the_job_with_the_reasons(engram) -> None:
    from tests.memory.conftest import default_script

    llm = ScriptedFakeLLM(lambda m, p: "- The user's brother Tom lives in Oslo."
                          if "facts worth remembering" in m[-1].content
                          else default_script(m, p))
    conv = engram.conversations.create("c")
    ChatService(engram, llm).send(conv.id, "My sister lives in Ghent")
    MemoryWorker(engram, lambda: llm).run_until_idle()
    failed = engram.jobs.list(status="failed")
    assert [j.kind for j in failed] == ["post_think"]
    assert "refused" in failed[0].error and "'Tom' is not in its source" in failed[0].error
    assert engram.memories.count(kinds=["fact", "thought"]) == 0
