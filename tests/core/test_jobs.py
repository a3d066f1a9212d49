from __future__ import annotations


def test_jobs_wait_for_a_model_dedupe_and_survive_a_crash(engram) -> None:
    q = engram.jobs
    assert q.enqueue("summary", {"conversation_id": "c1"}, needs_model=True) is not None
    assert q.enqueue("summary", {"conversation_id": "c1"}, needs_model=True) is None
    q.enqueue("embed", {})
    first = q.claim(model_available=False)
    assert first is not None and first.kind == "embed"
    assert q.claim(model_available=False) is None
    job = q.claim(model_available=True)
    assert job is not None and job.payload == {"conversation_id": "c1"}
    # the process dies here: the job stays 'running' until recovered
    assert q.recover() == 2
    again = q.claim(model_available=True)
    assert again is not None and again.attempts == 2
    q.finish(again.id, error="model crashed", retry=False)
    assert [j.status for j in q.list("failed")] == ["failed"]
