"""Request input a service can keep: text with no NUL and no lone surrogate.

Postgres cannot store NUL in text or jsonb, and a lone surrogate is not Unicode; either
would fail a write after the request was accepted (a 500 after the work was done). Models
of requests whose text is stored or sent on derive from `StorableInput`, so such input is
a clear validation error, in the service's error shape, before anything happens.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, model_validator


def check_storable(value: Any) -> None:
    """Raise ValueError for text Postgres cannot keep, anywhere in `value`."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("text must not contain NUL characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("text must be valid Unicode (no lone surrogates)") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            check_storable(key)
            check_storable(item)
    elif isinstance(value, list):
        for item in value:
            check_storable(item)


class StorableInput(BaseModel):
    """A request body whose every string can be stored."""

    @model_validator(mode="before")
    @classmethod
    def _only_storable_text(cls, data: Any) -> Any:
        check_storable(data)
        return data
