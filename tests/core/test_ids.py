from __future__ import annotations

import time
import uuid

from core.base.ids import new_id, stable_id


def test_fresh_ids_are_unique_uuid7_and_sort_by_creation_time() -> None:
    first = [new_id() for _ in range(2000)]
    time.sleep(0.002)
    later = new_id()
    assert len(set(first)) == 2000
    parsed = uuid.UUID(later)
    assert len(later) == 32 and parsed.version == 7 and parsed.variant == uuid.RFC_4122
    assert max(first) < later                      # a later millisecond sorts after
    assert abs((parsed.int >> 80) - time.time() * 1000) < 5000


def test_stable_ids_depend_only_on_their_parts() -> None:
    assert stable_id("chatgpt", "c1", "m1") == stable_id("chatgpt", "c1", "m1")
    assert stable_id("chatgpt", "c1", "m1") != stable_id("chatgpt", "c1m1")
