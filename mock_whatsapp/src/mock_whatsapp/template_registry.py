"""The message templates of every WhatsApp Business Account the mock serves: each WABA
starts with the configured ones (templates.configured), gains those created through the
Graph API and loses those deleted; the store keeps every change across restarts."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from mock_whatsapp import templates
from mock_whatsapp.template_store import TemplateStore
from mock_whatsapp.templates import MessageTemplate

log = logging.getLogger("mock_whatsapp")


def log_fields(template: MessageTemplate) -> dict[str, str]:
    """A template's log fields."""
    return {"template_id": template.id, "template_name": template.name}


class TemplateRegistry:
    """Templates by id, in the order they were created. Every change goes to the store and
    is told to `on_change(kind, template)` (the event stream)."""

    def __init__(
        self,
        seeded: list[MessageTemplate],
        store: TemplateStore | None = None,
        on_change: Callable[[str, MessageTemplate], object] | None = None,
    ) -> None:
        self.store = store or TemplateStore()
        self.on_change = on_change or (lambda kind, template: None)
        self.by_id: dict[str, MessageTemplate] = {t.id: t for t in seeded}
        for data in self.store.load():
            deleted = data.pop("deleted", False)
            if deleted:
                self.by_id.pop(data["id"], None)
            else:
                self.by_id[data["id"]] = MessageTemplate(**data)

    @classmethod
    def configured(
        cls, templates_file: str | None, waba_ids: list[str], store: TemplateStore | None = None
    ) -> TemplateRegistry:
        return cls(templates.configured(templates_file, waba_ids), store)

    def of(self, waba_id: str) -> list[MessageTemplate]:
        return [t for t in self.by_id.values() if t.waba_id == waba_id]

    def find(self, waba_id: str, name: str, language: str | None) -> MessageTemplate | None:
        return next(
            (t for t in self.of(waba_id) if t.name == name and t.language == language), None
        )

    def add(self, template: MessageTemplate) -> MessageTemplate:
        self.by_id[template.id] = template
        self.store.save(template.data())
        log.info("template created", extra=log_fields(template))
        self.on_change("template.created", template)
        return template

    def changed(self, template: MessageTemplate) -> None:
        """Its status (or hold) changed: keep it and tell."""
        self.store.save(template.data())
        self.on_change("template.status", template)

    def remove(self, template: MessageTemplate) -> None:
        del self.by_id[template.id]
        self.store.save({**template.data(), "deleted": True})
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

    def close(self) -> None:
        self.store.close()
