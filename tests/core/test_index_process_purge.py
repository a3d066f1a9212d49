"""The purge byte-scans (text and vectors) of tests/reliability, run in the desktop app's
configuration: the embedder and Chroma in the index worker process (which writes Chroma's
files itself, and erases vectors there)."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.test_purge import (  # noqa: F401 - collected here with this engram
    test_purge_erases_the_vectors_of_the_memory_and_of_its_earlier_versions,
    test_purged_conversation_leaves_no_vector_title_or_report_line,
    test_purged_conversation_takes_its_memories_and_kv_states,
    test_purged_memory_text_is_gone_from_every_file,
    test_purging_an_episodic_memory_blanks_its_source_message,
)


@pytest.fixture
def engram(home: Path):
    from core.base.paths import DataLayout
    from core.index.proxies import VectorIndexProxy
    from core.services.engine import Engram

    eng = Engram(DataLayout.single(home), index_process=True)
    assert isinstance(eng.index, VectorIndexProxy)
    yield eng
    eng.close()
