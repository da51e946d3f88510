"""The bodies of Meta's webhooks: the envelope every change travels in."""

from __future__ import annotations

from typing import Any

from mock_whatsapp.settings import BusinessNumber


def envelope(business: BusinessNumber, value: dict[str, Any]) -> dict[str, Any]:
    """Meta's nesting: object, entry[].changes[].value with metadata."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": business.waba_id,
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": business.display_phone_number,
                                "phone_number_id": business.phone_number_id,
                            },
                            **value,
                        },
                    }
                ],
            }
        ],
    }
