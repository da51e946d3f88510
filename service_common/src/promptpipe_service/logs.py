"""JSON log lines with the field names every service of the stack uses."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

# Attributes a LogRecord always has; anything else passed in `extra` becomes a field.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "msg": record.getMessage(),
            "service": self.service,
        }
        line.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


# The phone number in a control API path: /_mock/phones/{phone}/...
_PHONE_IN_PATH = re.compile(r"(/_mock/phones/)([^/?\s\"]+)")


def mask_phones_in_paths(text: str) -> str:
    """'POST /_mock/phones/15551234567/messages' → 'POST /_mock/phones/1555•••4567/messages'."""
    return _PHONE_IN_PATH.sub(lambda m: m.group(1) + mask_phone(m.group(2)), text)


class PhoneMask(logging.Filter):
    """Masks the phone numbers in the paths of uvicorn's access lines (and any other line
    that quotes a control API path)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/_mock/phones/" in message:
            record.msg, record.args = mask_phones_in_paths(message), ()
        return True


def configure(service: str, level: str) -> None:
    """Send every log record (ours and uvicorn's) to stdout as JSON."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter(service))
    handler.addFilter(PhoneMask())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # No access line per request (uvicorn runs with access_log=False): uvicorn writes one
    # whenever its logger has a handler, and propagating to ours gave it one, at a cost
    # on every request (and a full phone number in every path).
    access = logging.getLogger("uvicorn.access")
    access.handlers[:] = []
    access.propagate = False
    # A line per outgoing request (a webhook posted, a model called) or per migration step
    # is noise, and per webhook a cost: failures surface through our own logs.
    for name in ("httpx", "httpcore", "openai", "yoyo"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))


def mask_phone(phone: str) -> str:
    """'+15551234567' → '1555•••4567': enough to tell people apart, not to call them."""
    digits = "".join(c for c in phone if c.isdigit())
    if len(digits) <= 8:
        return "•••" + digits[-2:]
    return f"{digits[:4]}•••{digits[-4:]}"
