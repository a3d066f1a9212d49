"""`engram jobs` and the model's kind from the command line, as a user runs them."""
from __future__ import annotations

import json
from pathlib import Path

from tests.app.test_cli import engram_cli


def test_jobs_run_refuses_a_random_models_garbage_and_says_why(tmp_path: Path,
                                                                 tiny_gguf: Path) -> None:
    """A random-weight model writes noise: `jobs run` runs the queued memory work with it,
    nothing of the noise is stored, and `jobs list` shows each refusal's reason."""
    home = tmp_path / "h"
    out = engram_cli(home, "chat", "--model", str(tiny_gguf), "--message",
                     "My sister Anneke lives in Ghent and teaches piano.", "--max-tokens", "24")
    assert out.returncode == 0, out.stderr
    out = engram_cli(home, "jobs", "facts")
    assert out.returncode == 0 and "queued fact extraction for 1 conversation" in out.stdout
    out = engram_cli(home, "jobs", "run", "--model", str(tiny_gguf))
    assert out.returncode == 0, out.stderr
    # a refusal reads as the checks working, not as the job breaking
    assert "nothing stored, the model's answer was refused" in out.stdout, out.stdout
    assert "failed: " not in out.stdout, out.stdout       # and nothing else went wrong
    listed = json.loads(engram_cli(home, "jobs", "list", "--json").stdout)
    model_jobs = [j for j in listed if j["kind"] != "index_sync"]
    assert model_jobs and all(j["status"] in ("done", "failed") for j in model_jobs)
    for job in (j for j in model_jobs if j["status"] == "failed"):
        assert "refused" in job["error"] or "empty" in job["error"], job
    facts = json.loads(engram_cli(home, "memories", "list", "--kind", "fact", "--kind",
                                  "compact", "--json").stdout)
    said = ["my", "sister", "anneke", "lives", "in", "ghent", "and", "teaches", "piano"]
    for mem in facts:           # anything stored names nothing the person did not say
        names = {w.strip(".,!?'s").lower() for w in mem["text"].split()[1:] if w[:1].isupper()}
        assert names <= {*said, "user", "assistant", "engram"}, mem["text"]
    text = engram_cli(home, "jobs", "list").stdout
    assert "post_think" in text
    out = engram_cli(home, "jobs", "facts")
    assert "queued fact extraction for 1" in out.stdout
    out = engram_cli(home, "jobs", "cancel", "extract_facts")
    assert out.returncode == 0 and "cancelled 1 queued job" in out.stdout


def test_models_info_says_the_kind_and_what_it_means(tmp_path: Path, tiny_gguf: Path) -> None:
    out = engram_cli(tmp_path / "h", "models", "info", str(tiny_gguf), "--json")
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["kind"] == "instruct" and "chat template" in info["kind_reason"]
    text = engram_cli(tmp_path / "h", "models", "info", str(tiny_gguf)).stdout
    assert "instruction-tuned model" in text
