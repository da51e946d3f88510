"""What the mock writes to its log: no phone number in full, no secret."""

from __future__ import annotations

import json
import logging

import pytest
from promptpipe_service import logs

from mock_whatsapp.settings import Settings


def test_the_start_up_config_shows_no_secret() -> None:
    settings = Settings(
        database_url="postgres://promptpipe:hunter2@db:5432/promptpipe",
        app_secret="s3cret-app",
        access_token="s3cret-token",
        verify_token="s3cret-verify",
    )
    shown = str(settings.masked())
    for secret in ("hunter2", "s3cret-app", "s3cret-token", "s3cret-verify"):
        assert secret not in shown
    assert "postgres://promptpipe:***@db:5432/promptpipe" in shown


def test_access_lines_mask_phone_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("mock_whatsapp", "info")
    # uvicorn's access line, as its logger makes it; handed straight to the handler, so
    # that no level another test gave uvicorn's loggers can hide it.
    record = logging.getLogger("uvicorn.access").makeRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        0,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "POST", "/_mock/phones/15551234567/messages?x=1", "1.1", 201),
        None,
    )
    [handler] = logging.getLogger().handlers
    handler.handle(record)
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert "15551234567" not in line
    assert '"POST /_mock/phones/1555•••4567/messages?x=1 HTTP/1.1" 201' in json.loads(line)["msg"]
