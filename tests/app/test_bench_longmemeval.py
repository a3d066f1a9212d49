"""`engram bench retrieval --longmemeval FILE` on a small file written here in LongMemEval's
schema: the metric counts what it must (turns, sessions, budgets, types), the baselines run
beside Engram, and a bad file is one clear line. The real dev split is not needed."""
from __future__ import annotations

import json
from pathlib import Path

from app.benchmarks.longmemeval import _score, parse_date
from tests.app.test_cli import engram_cli

FILLER = ["Can you suggest a pasta recipe?", "Sure: garlic, olive oil, chili and parsley.",
          "What is a good stretch for the back?", "Try the cat-cow stretch, slowly, ten times."]


def _question(qid: str, qtype: str) -> dict:
    sessions = [
        [{"role": "user", "content": FILLER[0]}, {"role": "assistant", "content": FILLER[1]}],
        [{"role": "user", "content": "I finally named my new kayak Blue Heron.",
          "has_answer": True},
         {"role": "assistant", "content": "Blue Heron is a lovely name for a kayak!"}],
        [{"role": "user", "content": FILLER[2]}, {"role": "assistant", "content": FILLER[3]}],
    ]
    return {"question_id": qid, "question_type": qtype,
            "question": "What did I name my kayak?", "answer": "Blue Heron",
            "question_date": "2023/05/30 (Tue) 23:42",
            "haystack_session_ids": [f"{qid}-s1", f"{qid}-s2", f"{qid}-s3"],
            "haystack_dates": ["2023/05/01 (Mon) 10:00", "2023/05/10 (Wed) 09:30",
                               "2023/05/20 (Sat) 18:15"],
            "haystack_sessions": sessions, "answer_session_ids": [f"{qid}-s2"]}


def test_longmemeval_metric_end_to_end(tmp_path: Path) -> None:
    data = tmp_path / "lme.json"
    data.write_text(json.dumps([_question("q1", "single-session-user"),
                                _question("q2", "knowledge-update")]))
    run = engram_cli(tmp_path / "h", "bench", "retrieval", "--longmemeval", str(data), "--json")
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    lme = out["longmemeval"]
    assert lme["questions"] == 2 and set(lme) >= {"engram", "bm25_turns", "dense_turns"}
    for name in ("engram", "bm25_turns", "dense_turns"):
        overall = lme[name]["overall"]
        assert overall["turn@5"] == 1.0 and overall["turn_1000tok"] == 1.0, (name, overall)
        assert overall["session_any@5"] == 1.0 and overall["all@10"] == 1.0
        assert set(lme[name]["types"]) == {"single-session-user", "knowledge-update"}
    assert 0 < lme["latency_ms"]["p50"] <= lme["latency_ms"]["p95"]
    assert out["embedding"]["window_vectors"] == "derive"


class _Mem:
    def __init__(self, mid: str) -> None:
        self.id = mid


class _Cand:
    def __init__(self, mid: str, cost: int) -> None:
        self.memory, self.cost = _Mem(mid), cost


class _Sources:
    def __init__(self, of: dict[str, set[str]]) -> None:
        self.of = of

    def turns(self, ids):
        return set().union(*(self.of.get(i, set()) for i in ids)) if ids else set()


def test_score_counts_turns_sessions_and_budgets() -> None:
    sources = _Sources({"a": {"s1:0"}, "b": {"s2:3"}, "c": {"s3:1"}, "big": {"s2:4"}})
    ranked = [_Cand("a", 300), _Cand("big", 3500), _Cand("b", 300), _Cand("c", 300)]
    row = _score(ranked, {"s2:3", "s3:1"}, {"s2", "s3"}, sources, lambda r: r.split(":")[0])
    assert row["turn@5"] == 1.0 and row["all@10"] == 1.0
    assert row["session_any@5"] == 1.0 and row["session_all@5"] == 1.0
    # "big" (3,500 tokens) does not fit 1,000 or 2,000 and is skipped; the others do
    assert row["turn_1000tok"] == 1.0 and row["turn_2000tok"] == 1.0
    assert row["turn_4000tok"] == 0.0          # big fits 4,000, and then b and c no longer do
    none = _score(ranked[:1], {"s2:3"}, {"s2"}, sources, lambda r: r.split(":")[0])
    assert none["turn@5"] == 0.0 and none["session_any@5"] == 0.0 and none["all@10"] == 0.0


def test_a_bad_file_is_one_clear_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"question": "no haystack here"}]))
    run = engram_cli(tmp_path / "h", "bench", "retrieval", "--longmemeval", str(bad))
    assert run.returncode == 1 and "not a LongMemEval file" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert parse_date("2023/05/30 (Tue) 23:42") == 1685490120.0


def test_compare_runs_every_ablation_and_keeps_vectors_between_runs(tmp_path: Path) -> None:
    import numpy as np

    from app.benchmarks.longmemeval import ABLATIONS, load_vectors

    data = tmp_path / "lme.json"
    question = _question("q1", "temporal-reasoning")
    long_reply = " ".join(["The committee went over the figures again in some detail."] * 30)
    question["haystack_sessions"][0][1]["content"] = long_reply      # gets passages
    data.write_text(json.dumps([question]))
    cache = tmp_path / "vectors.npz"
    run = engram_cli(tmp_path / "h", "bench", "retrieval", "--longmemeval", str(data),
                     "--compare", "--vector-cache", str(cache), "--json")
    assert run.returncode == 0, run.stderr
    lme = json.loads(run.stdout)["longmemeval"]
    names = ["engram", *(name for name, _, _ in ABLATIONS), "bm25_turns", "dense_turns"]
    assert lme["retrievers"] == names
    for name in names:
        assert lme[name]["overall"]["turn@5"] == 1.0, name
    vectors = load_vectors(cache)
    # every distinct text once: 6 turns, the passages of the long reply, windows derived
    assert len(vectors) >= 8 and all(v.shape == (384,) and np.isfinite(v).all()
                                     for v in vectors.values())
    assert load_vectors(tmp_path / "missing.npz") == {}
