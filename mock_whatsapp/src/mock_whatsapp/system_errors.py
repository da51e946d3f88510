"""System-level errors as Meta reports them: a `messages` webhook whose value carries
`errors[]` and no message or status, sent when a problem of the system, the app or the
account kept a request from being processed.

Two ways to cause one: the control API sends one on demand (POST /_mock/webhooks/errors),
and a messages fault with `report: webhook` answers the send as accepted and reports its
error this way instead of in the response."""

from __future__ import annotations

from typing import Any

from mock_whatsapp.chats import canonical_phone, new_wamid
from mock_whatsapp.graph_errors import webhook_error
from mock_whatsapp.settings import BusinessNumber


def errors_webhook(number: BusinessNumber, errors: list[dict[str, Any]]) -> dict[str, Any]:
    """Meta's nesting, with `errors` where messages or statuses would be."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": number.waba_id,
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": number.display_phone_number,
                                "phone_number_id": number.phone_number_id,
                            },
                            "errors": errors,
                        },
                    }
                ],
            }
        ],
    }


def system_error(number: BusinessNumber, code: int, details: str) -> dict[str, Any]:
    return errors_webhook(number, [webhook_error(code, details)])


def accepted_then_failed(
    number: BusinessNumber, payload: dict[str, Any], code: int, fault_id: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The answer a send gets when its failure is reported later, and that report: Meta
    accepted the request (a wamid), then could not process it."""
    to = str(payload.get("to") or payload.get("recipient") or "")
    wamid = new_wamid()
    answer = {
        "messaging_product": "whatsapp",
        "contacts": [{"input": to, "wa_id": canonical_phone(to) or to}],
        "messages": [{"id": wamid, "message_status": "accepted"}],
    }
    details = f"injected fault {fault_id}: message {wamid} could not be processed"
    return answer, system_error(number, code, details)
