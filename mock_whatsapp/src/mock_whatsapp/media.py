"""Uploaded media, as Meta keeps it: an id per file, a short-lived download URL that
still needs the access token, and deletion. Written through to the journal."""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from dataclasses import dataclass
from typing import Any

from mock_whatsapp.graph_errors import invalid_parameter
from mock_whatsapp.journal import Journal

# Meta's supported types and size limits per kind, in bytes.
MEDIA_LIMITS: dict[str, tuple[tuple[str, ...], int]] = {
    "image": (("image/jpeg", "image/png"), 5 * 2**20),
    "sticker": (("image/webp",), 500 * 2**10),
    "audio": (
        ("audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"),
        16 * 2**20,
    ),
    "video": (("video/mp4", "video/3gpp"), 16 * 2**20),
    "document": (
        (
            "text/plain",
            "application/pdf",
            "application/msword",
            "application/vnd.ms-excel",
            "application/vnd.ms-powerpoint",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ),
        100 * 2**20,
    ),
}


def kind_of(mime_type: str) -> str | None:
    """The media kind a MIME type belongs to, or None when Meta does not take it."""
    base = mime_type.split(";")[0].strip().lower()
    for kind, (types, _) in MEDIA_LIMITS.items():
        if base in types:
            return kind
    return None


@dataclass
class Media:
    id: str
    business_id: str
    mime_type: str
    content: bytes
    filename: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


class MediaStore:
    """Media by id, with signed download URLs that expire after `url_ttl` seconds."""

    def __init__(
        self, url_ttl: float, secret: bytes | None = None, journal: Journal | None = None
    ) -> None:
        self.journal = journal or Journal()
        self.items: dict[str, Media] = {}
        self.url_ttl = url_ttl
        self.secret = secret or os.urandom(16)

    async def upload(
        self, business_id: str, mime_type: str, content: bytes, filename: str
    ) -> Media:
        kind = kind_of(mime_type)
        if kind is None:
            raise invalid_parameter(
                f"Param file must be a file with one of the supported types: {mime_type} is not"
            )
        if not content:
            raise invalid_parameter("file is empty")
        if len(content) > MEDIA_LIMITS[kind][1]:
            raise invalid_parameter(
                f"{kind} files must be at most {MEDIA_LIMITS[kind][1]} bytes, got {len(content)}"
            )
        media = Media(
            str(int.from_bytes(os.urandom(7), "big")), business_id, mime_type, content, filename
        )
        return await self._keep(media)

    def received(self, business_id: str, mime_type: str, content: bytes) -> Media:
        """Media a phone sent, made without the upload checks so the bot can fetch it;
        journaled, and kept by `keep` once the journal has it."""
        media = Media(
            str(int.from_bytes(os.urandom(7), "big")), business_id, mime_type, content, ""
        )
        self.journal.save_media(media)
        return media

    def keep(self, media: Media) -> None:
        self.items[media.id] = media

    async def _keep(self, media: Media) -> Media:
        async with self.journal.acknowledged():
            self.journal.save_media(media)
        self.keep(media)
        return media

    async def delete(self, media_id: str) -> None:
        async with self.journal.acknowledged():
            self.journal.delete_media(media_id)
        self.items.pop(media_id, None)

    def restore(self, saved: list[dict[str, Any]]) -> None:
        for data in saved:
            self.items[data["id"]] = Media(**data)

    def _hash(self, media_id: str, expires: int) -> str:
        return hmac.new(self.secret, f"{media_id}:{expires}".encode(), hashlib.sha256).hexdigest()

    def signed_query(self, media_id: str) -> str:
        expires = int(time.time() + self.url_ttl)
        return f"mid={media_id}&ext={expires}&hash={self._hash(media_id, expires)}"

    def check_url(self, media_id: str, expires: int, given_hash: str) -> bool:
        valid = hmac.compare_digest(self._hash(media_id, expires), given_hash)
        return valid and time.time() < expires

    def clear(self) -> None:
        """Forget every file (the journal forgets them with everything else on reset)."""
        self.items.clear()
