"""Facts from scripted model answers (a fake stands in for the model, named as such): what is
stored, what is refused and why, which message a fact cites, and the resumable facts job."""
from __future__ import annotations

from core.memory import facts
from core.services.memory_worker import MemoryWorker
from core.store import jobs as kinds
from tests.memory.fake_llm import ScriptedFakeLLM


def _chat(engram, *pairs):
    conv = engram.conversations.create("c")
    parent, out = None, []
    for role, text in pairs:
        msg = engram.conversations.add_message(conv.id, role, text, parent_id=parent)
        parent = msg.id
        out.append(msg)
    return conv, out


def test_a_base_models_answer_is_checked_line_by_line(engram) -> None:
    _conv, msgs = _chat(engram,
                       ("user", "Hi! My name is Lena and I live in Ghent. I have a dog named Pixel."),
                       ("assistant", "Nice to meet you! Do you also live in Amsterdam?"),
                       ("user", "I work nights as a nurse."))
    answer = " Lena lives in Ghent.\n- Tom has a cat called Miso.\n- Lena lives in Amsterdam.\n- Lena's sister Anna lives in Ghent.\n- I work nights as a nurse.\n- Lena has a dog and a dog and a dog and a dog named Pixel"
    llm = ScriptedFakeLLM([answer], kind="base")
    outcome = facts.extract_facts(engram, llm, msgs)
    stored = {engram.memories.get(i).text: engram.memories.sources(i)[0]["message_id"]
              for i in outcome.stored}
    assert stored == {"Lena lives in Ghent.": msgs[0].id,
                      "Lena works nights as a nurse.": msgs[2].id}
    reasons = {r.text: r.reason for r in outcome.refused}
    assert "the prompt" in reasons["Tom has a cat called Miso."]   # an echo of its example
    assert "Amsterdam" in reasons["Lena lives in Amsterdam."]
    assert "'Anna' is not in its source" in reasons["Lena's sister Anna lives in Ghent."]
    assert "loop" in reasons["Lena has a dog and a dog and a dog and a dog named Pixel"]
    # the prompt was the base form: worked examples, then this conversation, then "Facts:"
    prompt = llm.last_prompt()
    assert prompt.startswith("Facts worth remembering") and prompt.endswith("Facts:\n-")
    assert "Lena: Hi! My name is Lena" in prompt      # the person goes by the name they gave
    # the name is learned from the introduction, for the prompts that follow
    assert facts.person_name(engram) == "Lena"


def test_the_instruct_form_is_an_instruction_and_an_assistant_claim_is_no_fact(engram) -> None:
    _conv, msgs = _chat(engram, ("user", "What should I cook tonight?"),
                       ("assistant", "Your sister Mia loves lasagne, cook that."))
    llm = ScriptedFakeLLM(["- The user's sister Mia loves lasagne."])
    outcome = facts.extract_facts(engram, llm, msgs)
    assert not outcome.stored and outcome.refused
    assert "Rules:" in llm.last_prompt() and "Facts, one per line" in llm.last_prompt()


def test_a_bare_question_is_not_sent_to_the_model(engram) -> None:
    _conv, msgs = _chat(engram, ("user", "Why?"), ("assistant", "Because."))
    llm = ScriptedFakeLLM(["- The user asked why."])
    outcome = facts.extract_facts(engram, llm, msgs)
    assert not outcome.answered and not llm.calls


def test_the_facts_job_over_an_import_resumes_where_it_stopped(engram) -> None:
    texts = [f"I visited city number {i} and loved the museum there." for i in range(14)]
    conv, _msgs = _chat(engram, *[("user" if i % 2 == 0 else "assistant", t)
                                 for i, t in enumerate(texts)])

    def script(messages, params):
        prompt = messages[-1].content
        lines = [ln for ln in prompt.splitlines() if ln.startswith("User: I visited")]
        last = lines[-1].split("number ")[1].split(" ")[0]
        return f"- The user visited city number {last} and loved the museum there."

    llm = ScriptedFakeLLM(script)
    engram.jobs.enqueue(kinds.EXTRACT_FACTS, {"conversation_id": conv.id}, needs_model=True)
    worker = MemoryWorker(engram, lambda: llm)
    job = engram.jobs.claim(model_available=True)
    worker._job = job
    worker._stop.set()                       # stop at the first safe point...
    try:
        worker._extract_facts(job.payload, llm)
    except Exception as exc:                 # noqa: BLE001 - JobYielded
        assert type(exc).__name__ == "JobYielded"
    [queued] = engram.jobs.list(status="queued")
    assert queued.payload["cursor"] == 0 and queued.payload["total"] == 14
    worker._stop.clear()
    # ...and a killed worker resumes from the progress it saved: chunk one is done already
    engram.jobs.save_progress(queued.id, {**queued.payload, "cursor": 6})   # a chunk boundary
    worker._job = None
    assert worker.run_until_idle() >= 1
    stored = sorted(m.text for m in engram.memories.list(kinds=["fact"]))
    resumed = [(a, b) for a, b in facts.chunks(range(14)) if a >= 6]     # not the first ones
    last_said = [max(i for i in range(a, b) if i % 2 == 0) for a, b in resumed]
    assert stored == sorted(f"The user visited city number {i} and loved the museum there."
                            for i in last_said)
    done = [j for j in engram.jobs.list(status="done") if j.kind == kinds.EXTRACT_FACTS]
    assert done and done[0].payload["cursor"] == 14


def test_a_fact_about_a_speaker_never_cites_the_other_speakers_words(engram) -> None:
    """Two people talking (an imported dialogue): a fact about Caroline must come from what
    Caroline said, not from Melanie's message that names her."""
    conv = engram.conversations.create("dialogue")
    parent, msgs = None, []
    for role, who, text in (("user", "Caroline", "I went to a support group yesterday."),
                            ("assistant", "Melanie", ("Glad you have support, Caroline! "
                                                      "Family camping at the beach brings us "
                                                      "closer."))):
        msg = engram.conversations.add_message(conv.id, role, text, parent_id=parent,
                                               meta={"speaker": who, "author": "person"})
        parent = msg.id
        msgs.append(msg)
    answer = (" Caroline has support from a group.\n- Melanie goes camping at the beach with"
              " her family.\n- Caroline is camping at the beach.")
    llm = ScriptedFakeLLM([answer], kind="base")
    # Caroline's message is the context here, Melanie's the chunk: only Melanie can be cited
    outcome = facts.extract_facts(engram, llm, [msgs[1]], context=[msgs[0]])
    stored = {engram.memories.get(i).text for i in outcome.stored}
    assert stored == {"Melanie goes camping at the beach with her family."}
    reasons = {r.text: r.reason for r in outcome.refused}
    for text in ("Caroline has support from a group.", "Caroline is camping at the beach."):
        assert reasons[text] == "Caroline says nothing here: a fact about them needs their " \
                                "own words"
