"""The first call of Meta's getting-started guide, run with curl as the guide prints it
(only the host is the mock's): the sample template hello_world reaches the phone."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from mock_process import mock_process

PHONE_NUMBER_ID = "106540352242922"
ACCESS_TOKEN = "EAAJB-getting-started"

# The guide's command, its placeholders filled in as a new developer fills them.
GUIDE = """curl -i -X POST \\
  https://graph.facebook.com/v22.0/106540352242922/messages \\
  -H 'Authorization: Bearer EAAJB-getting-started' \\
  -H 'Content-Type: application/json' \\
  -d '{ "messaging_product": "whatsapp", "to": "+15551234567", "type": "template", "template": { "name": "hello_world", "language": { "code": "en_US" } } }'"""  # noqa: E501 (verbatim)


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs the curl command")
def test_getting_started_curl_sends_hello_world() -> None:
    with mock_process(
        MOCK_WA_PHONE_NUMBER_ID=PHONE_NUMBER_ID,
        MOCK_WA_ACCESS_TOKEN=ACCESS_TOKEN,
        MOCK_WA_WEBHOOK_URL="",
        MOCK_WA_STATUS_DELAY_SECONDS="0.05",
        MOCK_WA_LOG_LEVEL="warning",
    ) as base:
        command = GUIDE.replace("https://graph.facebook.com", base)
        done = subprocess.run(
            ["bash", "-c", command], capture_output=True, text=True, timeout=30, check=True
        )
        head, _, body = done.stdout.replace("\r\n", "\n").partition("\n\n")
        assert head.startswith("HTTP/1.1 200"), done.stdout
        answer = json.loads(body)
        assert answer["contacts"] == [{"input": "+15551234567", "wa_id": "15551234567"}]
        [message] = answer["messages"]
        assert message["id"].startswith("wamid.") and message["message_status"] == "accepted"

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            chat = httpx.get(f"{base}/_mock/phones/15551234567/messages").json()
            if chat and chat[0]["status"] == "read":
                break
            time.sleep(0.05)
        [shown] = chat
        assert shown["id"] == message["id"] and shown["status"] == "read"
        assert shown["text"].startswith("Welcome and congratulations!!")
        assert shown["template"]["header"] == "Hello World"
        assert shown["template"]["footer"] == "WhatsApp Business Platform sample message"
