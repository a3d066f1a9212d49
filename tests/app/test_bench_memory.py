"""The memory benchmarks run end to end on a small LoCoMo-shaped file (written here) with the
tiny random-weight GGUF: their figures are there, and whatever noise the model writes, nothing
of it is stored as a fact (garbage stored 0) and no reply echoes its prompt."""
from __future__ import annotations

import json
from pathlib import Path

from tests.app.test_cli import engram_cli


def tiny_locomo(path: Path) -> Path:
    def turn(n, i, who, text):
        return {"speaker": who, "dia_id": f"D{n}:{i}", "text": text}

    sample = {
        "sample_id": "tiny-1",
        "conversation": {
            "speaker_a": "Ana", "speaker_b": "Ben",
            "session_1_date_time": "1:56 pm on 8 May, 2023",
            "session_1": [turn(1, 1, "Ana", "I adopted a grey cat called Juno last week."),
                          turn(1, 2, "Ben", "Lovely! I am training for the Oslo marathon."),
                          turn(1, 3, "Ana", "Good luck! I work as a florist in Porto.")],
            "session_2_date_time": "10:00 am on 20 May, 2023",
            "session_2": [turn(2, 1, "Ben", "My knee hurts after the long run."),
                          turn(2, 2, "Ana", "Rest it. Juno knocked over my tulips.")],
        },
        "observation": {
            "session_1_observation": {"Ana": [["Ana adopted a grey cat called Juno.", "D1:1"],
                                              ["Ana works as a florist in Porto.", "D1:3"]],
                                      "Ben": [["Ben is training for the Oslo marathon.",
                                               "D1:2"]]},
            "session_2_observation": {"Ben": [["Ben's knee hurts after a long run.", "D2:1"]]},
        },
        "qa": [{"question": "What is the name of Ana's cat?", "answer": "Juno",
                "evidence": ["D1:1"], "category": 4},
               {"question": "Which marathon is Ben training for?", "answer": "Oslo",
                "evidence": ["D1:2"], "category": 4}],
    }
    path.write_text(json.dumps([sample]), "utf-8")
    return path


def test_memory_writing_bench_reports_and_stores_no_garbage(tmp_path: Path,
                                                            tiny_gguf: Path) -> None:
    data = tiny_locomo(tmp_path / "locomo.json")
    out = engram_cli(tmp_path / "h", "bench", "memory-writing", "--locomo", str(data),
                     "--model", str(tiny_gguf), "--json")
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    for key in ("observation_recall", "precision", "garbage_rate", "garbage_stored",
                "provenance_accuracy", "seconds_per_session"):
        assert key in res
    assert res["gold_observations"] == 4 and res["sessions"] == 2
    assert res["garbage_stored"] == 0
    assert res["samples"][0]["summary_jobs"]           # the import's model jobs ran


def test_retrieval_with_memories_is_measured_beside_the_plain_run(tmp_path: Path,
                                                                 tiny_gguf: Path) -> None:
    data = tiny_locomo(tmp_path / "locomo.json")
    out = engram_cli(tmp_path / "h", "bench", "retrieval", "--locomo", str(data),
                     "--with-memories", "--model", str(tiny_gguf), "--json")
    assert out.returncode == 0, out.stderr
    loc = json.loads(out.stdout)["locomo"]
    assert loc["overall"]["questions"] == loc["with_memories"]["overall"]["questions"] == 2
    assert loc["overall"]["t1000"] == 1.0               # two turns, both found


def test_chat_bench_reports_echo_running_on_and_recall(tmp_path: Path, tiny_gguf: Path) -> None:
    out = engram_cli(tmp_path / "h", "bench", "chat", "--model", str(tiny_gguf),
                     "--scripts", "1", "--json")
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    assert res["replies"] == 7 and res["recall_questions"] == 3
    assert res["echo_rate"] == 0.0                      # the reply guard cuts every echo
    assert res["memory_shown"] is not None and res["seconds_per_reply"] > 0
