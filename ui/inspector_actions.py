"""The inspector's steering actions (issue 15), apart from its layout: a chip's feedback,
keep and always include, and the purge that first says what will go. Mixed into
ui.memory_inspector.MemoryInspector, whose `_change` runs each core operation."""
from __future__ import annotations

from typing import Any

from core.services import memory_ops
from core.services.purge_preview import preview as purge_preview
from ui.dialogs import show_error
from ui.purge_dialog import ask_purge


class SteeringActions:
    services: Any
    detail: Any
    action_done: Any

    def _change(self, fn: Any) -> None:          # provided by MemoryInspector
        raise NotImplementedError

    def selected_memories(self) -> list[Any]:    # provided by MemoryInspector
        raise NotImplementedError

    def feedback(self, memory_id: str, message_id: str, verdict: str) -> None:
        """A chip's menu: "not_relevant" is recorded (ranks lower for similar questions);
        "wrong" is recorded and the memory opens to be corrected or forgotten; "forget";
        "always" (include in every answer)."""
        if verdict == "forget":
            self._change(lambda eng: memory_ops.forget(eng, [memory_id]))
        elif verdict == "always":
            self.set_always([memory_id], True)
        else:
            self._change(lambda eng: memory_ops.feedback(eng, memory_id, message_id or None,
                                                         verdict))
            if verdict == "wrong":
                self.services.events.open_memory.emit(memory_id)
                self.detail.tabs.setCurrentIndex(0)
                self.detail.text_edit.setFocus()

    def set_always(self, ids: list[str], on: bool) -> None:
        self._change(lambda eng: memory_ops.always_include(eng, ids, on))

    def toggle_always_selected(self) -> None:
        live = [m for m in self.selected_memories() if m.status != "purged"]
        if live:
            self.set_always([m.id for m in live], not all(m.always_include for m in live))

    def toggle_pin_selected(self) -> None:
        live = [m for m in self.selected_memories() if m.status != "purged"]
        if live:
            self.set_pinned([m.id for m in live], not all(m.pinned for m in live))

    def confirm_purge_selected(self) -> None:
        mems = [m for m in self.selected_memories() if m.status != "purged"]
        if mems:
            self.confirm_purge([m.id for m in mems])

    def confirm_purge(self, ids: list[str], with_messages: bool | None = None) -> None:
        """Ask core what will go (core.services.purge_preview), then list it and ask."""
        def shown(preview) -> None:
            self.purge_box = ask_purge(
                self, preview, lambda blank: self.purge(ids, with_messages=blank),
                lambda blank: self.confirm_purge(ids, blank))

        self.services.runner.db(
            lambda ctx: purge_preview(ctx.engram, ids, with_messages=with_messages),
            success=shown, failure=lambda e: show_error(self, e))

    def purge(self, ids: list[str], *, with_messages: bool | None = None) -> None:
        """One journalled purge of them all: one index rebuild, one scrub of the files."""
        self._change(lambda eng: memory_ops.purge(eng, ids, with_messages=with_messages))


    def open_paste(self) -> None:
        from ui.paste_memories import PasteMemoriesDialog

        self.paste_dialog = PasteMemoriesDialog(self.services, self)  # type: ignore[arg-type]
        self.paste_dialog.imported.connect(self.action_done.emit)
        self.paste_dialog.open()
