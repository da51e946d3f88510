"""The mock's requests whose bodies may be larger than the cap on the rest (max_body_bytes).

Media uploads may be as large as Meta's largest media, and a saved world is megabytes;
every other body is small. promptpipe_service.body_limit applies the caps.
"""

from __future__ import annotations

import re

from starlette.types import Scope

from mock_whatsapp.media import MEDIA_LIMITS

# POST /v{N}.0/{phone_number_id}/media: Meta's largest media plus the multipart envelope.
MEDIA_UPLOAD = re.compile(r"^/v\d+\.\d+/[^/]+/media$")
MEDIA_UPLOAD_BYTES = max(limit for _, limit in MEDIA_LIMITS.values()) + 2**20
# A world of fifty participants over two weeks (PUT /_mock/world) is a few megabytes.
WORLD_BYTES = 256 * 2**20


def larger_body_cap(scope: Scope) -> int | None:
    """This request's own cap, if it may carry more than the others; None if not."""
    if MEDIA_UPLOAD.match(scope["path"]):
        return MEDIA_UPLOAD_BYTES
    if scope["path"] == "/_mock/world":
        return WORLD_BYTES
    return None
