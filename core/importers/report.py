"""What an import or a dry run found and did, and the progress it reports on the way."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from core.base import clock
from core.importers.model import ParsedConversation, Skipped
from core.importers.text import MAX_TEXT_CHARS, TRUNCATION_NOTE

MAX_LISTED_SKIPS = 200
MAX_TITLE_CHARS = 500             # core.importers.store cuts longer titles
# Lossy steps an import takes, by what they do; counted in ImportReport.lossy.
TRUNCATED_TEXT = f"message text cut at {MAX_TEXT_CHARS:,} characters"
TRUNCATED_ATTACHMENT = "attachment or note text cut short"
TRUNCATED_TITLE = f"title cut at {MAX_TITLE_CHARS} characters"


@dataclass
class ImportReport:
    path: str
    container: str = "file"
    formats: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    unrecognised_files: dict[str, str] = field(default_factory=dict)
    dry_run: bool = False
    import_id: str | None = None
    status: str = "running"            # completed, cancelled, failed
    conversations: int = 0
    messages: int = 0
    hidden_messages: int = 0
    branches: int = 0
    first_message_at: float | None = None
    last_message_at: float | None = None
    new_conversations: int = 0
    new_messages: int = 0
    memories_created: int = 0
    jobs_queued: int = 0
    embedded: int = 0
    skipped_count: int = 0
    skipped_by_reason: dict[str, int] = field(default_factory=dict)
    skipped: list[dict[str, str]] = field(default_factory=list)
    # Content kept, but not whole (a message cut at the length bound, ...): reason -> count.
    lossy: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    started_at: float = field(default_factory=clock.now)
    seconds: float = 0.0

    def count(self, conv: ParsedConversation) -> None:
        self.conversations += 1
        self.messages += len(conv.messages)
        self.branches += conv.branches
        if len(conv.title) > MAX_TITLE_CHARS:
            self.lose(TRUNCATED_TITLE)
        for msg in conv.messages:
            if msg.hidden:
                self.hidden_messages += 1
            if msg.text.endswith(TRUNCATION_NOTE):
                self.lose(TRUNCATED_TEXT)
            if any(isinstance(v, str) and v.endswith(TRUNCATION_NOTE) for v in msg.meta.values()):
                self.lose(TRUNCATED_ATTACHMENT)
            if msg.created_at is not None:
                if self.first_message_at is None or msg.created_at < self.first_message_at:
                    self.first_message_at = msg.created_at
                if self.last_message_at is None or msg.created_at > self.last_message_at:
                    self.last_message_at = msg.created_at
        for item in conv.skipped:
            self.skip(item)

    def skip(self, item: Skipped) -> None:
        self.skipped_count += 1
        self.skipped_by_reason[item.reason] = self.skipped_by_reason.get(item.reason, 0) + 1
        if len(self.skipped) < MAX_LISTED_SKIPS:
            self.skipped.append({"reason": item.reason, "conversation": item.conversation,
                                 "item": item.item})

    def lose(self, reason: str, n: int = 1) -> None:
        self.lossy[reason] = self.lossy.get(reason, 0) + n

    @property
    def lossy_count(self) -> int:
        return sum(self.lossy.values())

    @property
    def cancelled(self) -> bool:
        return self.status == "cancelled"

    def counts(self) -> dict[str, int]:
        """What the imports table keeps (with `lossy_count` and each lossy reason)."""
        counts = {k: getattr(self, k) for k in (
            "conversations", "messages", "hidden_messages", "branches", "new_conversations",
            "new_messages", "memories_created", "jobs_queued", "skipped_count", "lossy_count")}
        counts.update({f"lossy: {reason}": n for reason, n in sorted(self.lossy.items())})
        return counts

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["first_message_at"] = clock.to_iso(self.first_message_at)
        data["last_message_at"] = clock.to_iso(self.last_message_at)
        data["started_at"] = clock.to_iso(self.started_at)
        return data
