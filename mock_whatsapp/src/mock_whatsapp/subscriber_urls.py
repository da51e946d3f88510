"""Which URLs may subscribe to the mock's webhooks.

Subscribing makes the mock GET the URL (Meta's handshake) and then POST every event to it,
so an open control API would let anyone make the mock call anything its network reaches.
A subscriber URL must be plain http(s) to a host on an allowlist: loopback and the
compose service names by default (`MOCK_WA_WEBHOOK_ALLOWED_HOSTS`). Hosts are compared as
written, never resolved first, so a name cannot be pointed elsewhere to slip past.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from mock_whatsapp.graph_errors import ControlError

# Loopback and every service of compose.yaml.
DEFAULT_ALLOWED_HOSTS = (
    "localhost,127.0.0.0/8,::1,delivery,agent,mock_whatsapp,simulator,simulator-web"
)


class AllowedHosts:
    """Host names (exact, case-insensitive) and IP networks a subscriber may be on."""

    def __init__(self, spec: str) -> None:
        self.names: set[str] = set()
        self.networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for entry in (e.strip().lower() for e in spec.split(",")):
            if not entry:
                continue
            try:
                self.networks.append(ipaddress.ip_network(entry))
            except ValueError:
                self.names.add(entry)

    def allows(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return host.lower() in self.names
        return any(address in network for network in self.networks)

    def __str__(self) -> str:
        return ", ".join(sorted(self.names) + [str(n) for n in self.networks])


def checked_url(url: str, allowed: AllowedHosts) -> str:
    """The URL if it may subscribe; otherwise a 400 that says why."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        _ = parts.port  # a port that is not a number raises here
    except ValueError:
        raise ControlError(400, "invalid_url", "url is not a valid http(s) URL") from None
    if parts.scheme not in ("http", "https") or not host:
        raise ControlError(400, "invalid_url", "url must be http:// or https:// with a host")
    if parts.username is not None or parts.password is not None:
        raise ControlError(400, "invalid_url", "url must not carry credentials")
    if not allowed.allows(host):
        raise ControlError(
            400,
            "host_not_allowed",
            f"webhooks may go only to these hosts: {allowed} (MOCK_WA_WEBHOOK_ALLOWED_HOSTS)",
        )
    return url
