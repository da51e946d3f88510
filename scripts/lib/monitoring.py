"""Prometheus's configuration for the stack: what it scrapes and which rules it loads.

The native stack writes one at start (`stack.py`, targets on 127.0.0.1 and its ports);
compose mounts monitoring/prometheus.compose.yml, which is this module's output for the
compose network, checked by a test so the two never drift:

    python scripts/lib/monitoring.py compose > monitoring/prometheus.compose.yml
"""

from __future__ import annotations

import sys

# Every service that serves /metrics, and the compose address of each.
COMPOSE_TARGETS = {
    "delivery": "delivery:8080",
    "agent": "agent:8001",
    "agent_candidate": "agent-candidate:8001",
    "mock_whatsapp": "mock_whatsapp:8090",
    "prometheus": "127.0.0.1:9090",
}


def prometheus_config(targets: dict[str, str], rules: str, interval: str = "5s") -> str:
    """The YAML of prometheus.yml: one job per service (job and service labels alike), a
    short interval because the dev stack's clock runs fast, and the rules file."""
    lines = [
        "# Written by scripts/lib/monitoring.py; docs/monitoring.md explains it.",
        "global:",
        f"  scrape_interval: {interval}",
        f"  evaluation_interval: {interval}",
        "rule_files:",
        f"  - {rules}",
        "scrape_configs:",
    ]
    for job, address in targets.items():
        lines += [
            f"  - job_name: {job}",
            "    static_configs:",
            f"      - targets: ['{address}']",
        ]
    return "\n".join(lines) + "\n"


def compose_config() -> str:
    """monitoring/prometheus.compose.yml: the compose network's addresses; the candidate's
    target is down unless the migration profile runs it."""
    return prometheus_config(COMPOSE_TARGETS, "/etc/prometheus/rules.yml")


if __name__ == "__main__":
    if sys.argv[1:] != ["compose"]:
        sys.exit("usage: monitoring.py compose")
    sys.stdout.write(compose_config())
