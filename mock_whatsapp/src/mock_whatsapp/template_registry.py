"""The message templates of every WhatsApp Business Account the mock serves: each WABA
starts with the configured ones (templates.configured), gains those created through the
Graph API and loses those deleted; the journal keeps every change across restarts (one
row per template, migrations/0002.templates.sql)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from mock_whatsapp import templates
from mock_whatsapp.journal import Journal
from mock_whatsapp.templates import MessageTemplate

log = logging.getLogger("mock_whatsapp")


def log_fields(template: MessageTemplate) -> dict[str, str]:
    """A template's log fields."""
    return {"template_id": template.id, "template_name": template.name}


class TemplateRegistry:
    """Templates by id, in the order they were created. Every change goes to the journal
    and, once kept, is told to `on_change(kind, template)` (the event stream)."""

    def __init__(
        self,
        seeded: list[MessageTemplate],
        journal: Journal | None = None,
        on_change: Callable[[str, MessageTemplate], object] | None = None,
    ) -> None:
        self.journal = journal or Journal()
        self.on_change = on_change or (lambda kind, template: None)
        self.by_id: dict[str, MessageTemplate] = {t.id: t for t in seeded}

    def restore(self, saved: list[dict[str, Any]]) -> None:
        """Apply what the journal kept over the configured templates: a deleted one keeps
        its row, marked, so that a deleted hello_world does not come back."""
        for data in saved:
            deleted = data.pop("deleted", False)
            if deleted:
                self.by_id.pop(data["id"], None)
            else:
                self.by_id[data["id"]] = MessageTemplate(**data)

    @classmethod
    def configured(
        cls, templates_file: str | None, waba_ids: list[str], journal: Journal | None = None
    ) -> TemplateRegistry:
        return cls(templates.configured(templates_file, waba_ids), journal)

    def of(self, waba_id: str) -> list[MessageTemplate]:
        return [t for t in self.by_id.values() if t.waba_id == waba_id]

    def find(self, waba_id: str, name: str, language: str | None) -> MessageTemplate | None:
        return next(
            (t for t in self.of(waba_id) if t.name == name and t.language == language), None
        )

    async def add(self, template: MessageTemplate) -> MessageTemplate:
        """A new template, kept before it exists (the caller answers with its id)."""
        async with self.journal.acknowledged():
            self.journal.save_template(template.data())
        self.by_id[template.id] = template
        log.info("template created", extra=log_fields(template))
        self.on_change("template.created", template)
        return template

    def changed(self, template: MessageTemplate) -> None:
        """Its status (or hold) changed: keep it, and tell once it is kept."""
        self.journal.save_template(template.data())
        self.journal.after_commit(lambda: self.on_change("template.status", template))

    async def remove(self, template: MessageTemplate) -> None:
        """Delete it, once the journal has the deletion."""
        async with self.journal.acknowledged():
            self.journal.save_template({**template.data(), "deleted": True})
        self.by_id.pop(template.id, None)
        log.info("template deleted", extra=log_fields(template))
        self.on_change("template.deleted", template)

    def resolve(self, waba_id: str, payload: dict[str, Any]) -> MessageTemplate:
        """The template a send asks for, if this WABA has it and may send it; otherwise
        Meta's error (132001 unknown or not approved, 132015 paused, 132016 disabled)."""
        name, language = templates.requested(payload)
        template = self.find(waba_id, name, language)
        if template is None:
            raise templates.not_found(name, language)
        refusal = templates.refusal(template)
        if refusal is not None:
            raise refusal
        return template

    def render_send(self, waba_id: str, payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """Check a template send as Meta does: the text the phone shows and its details."""
        return templates.render_send(self.resolve(waba_id, payload), payload)
