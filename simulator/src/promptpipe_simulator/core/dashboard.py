"""The key metrics over time, for the dashboard (docs/monitoring.md): per arm the turns per
second, their error rate and p99 latency; the rollout's percentage; the shadow's
agreement; participants per sub-state (at the primary agent, which keeps everyone's
conversation; the candidate keeps only those it served); Done per daily prompt.

Read from Prometheus's HTTP API when it answers (its recording rules), else scraped from
the services' own /metrics (delivery, the agent, the candidate), where rates and
percentiles are worked out from two scrapes a few seconds apart.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field

import httpx
from prometheus_client.parser import text_string_to_metric_families

ARMS = ("primary", "candidate")
STATES = ("INTAKE", "FEEDBACK")


@dataclass
class Sample:
    """The figures at one moment; None where there is nothing to tell yet."""

    source: str  # "prometheus" or "metrics"
    turns_per_second: dict[str, float] = field(default_factory=dict)
    error_rate: dict[str, float | None] = field(default_factory=dict)
    p99_ms: dict[str, float | None] = field(default_factory=dict)
    percent: float = 0.0
    agreement: float | None = None
    states: dict[str, float] = field(default_factory=dict)
    done_per_prompt: dict[str, float | None] = field(default_factory=dict)


# --- from /metrics ----------------------------------------------------------------------

Series = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Series:
    """Every sample of a /metrics page, keyed by name and sorted labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def total(series: Series, name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels`."""
    want = set(labels.items())
    return sum(v for (n, ls), v in series.items() if n == name and want <= set(ls))


def quantile(q: float, buckets: list[tuple[float, float]]) -> float | None:
    """Prometheus's histogram_quantile over (upper bound, cumulative count) pairs."""
    buckets = sorted(buckets)
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound
            width = count - lower_count
            return (
                bound
                if width <= 0
                else lower_bound + (bound - lower_bound) * ((rank - lower_count) / width)
            )
        lower_bound, lower_count = bound, count
    return lower_bound


def arm_buckets(series: Series, arm: str) -> dict[float, float]:
    name = "delivery_agent_arm_request_duration_seconds_bucket"
    return {
        float(dict(ls)["le"]): v
        for (n, ls), v in series.items()
        if n == name and dict(ls).get("arm") == arm
    }


def sample_between(
    before: Series, after: Series, seconds: float, states: dict[str, float]
) -> Sample:
    """The figures of the interval between two scrapes of delivery (and the agents'
    sub-state gauges, `states`)."""

    def grew(name: str, **labels: str) -> float:
        return max(0.0, total(after, name, **labels) - total(before, name, **labels))

    s = Sample(source="metrics", states=states)
    for arm in ARMS:
        turns = grew("delivery_agent_arm_requests_total", arm=arm)
        s.turns_per_second[arm] = turns / seconds if seconds > 0 else 0.0
        s.error_rate[arm] = (
            grew("delivery_agent_arm_requests_total", arm=arm, status="error") / turns
            if turns
            else None
        )
        old, new = arm_buckets(before, arm), arm_buckets(after, arm)
        p99 = quantile(0.99, [(b, new[b] - old.get(b, 0.0)) for b in new])
        s.p99_ms[arm] = None if p99 is None else p99 * 1000
        prompts = total(after, "delivery_daily_prompts_total", arm=arm)
        done = total(after, "delivery_participant_answers_total", arm=arm, answer="done")
        s.done_per_prompt[arm] = done / prompts if prompts else None
    s.percent = total(after, "delivery_rollout_percent")
    compared = sum(
        grew("delivery_shadow_comparisons_total", outcome=o) for o in ("agree", "differ", "error")
    )
    agreed = grew("delivery_shadow_comparisons_total", outcome="agree")
    s.agreement = agreed / compared if compared else None
    return s


# --- from Prometheus --------------------------------------------------------------------

QUERIES = {
    "turns": "sum by (arm) (rate(delivery_agent_arm_requests_total[1m]))",
    # An arm with turns but no failed one has no error series: it reads 0, not nothing.
    "errors": "(sum by (arm) (rate(delivery_agent_arm_requests_total{status='error'}[1m]))"
    " or 0 * sum by (arm) (rate(delivery_agent_arm_requests_total[1m])))"
    " / sum by (arm) (rate(delivery_agent_arm_requests_total[1m]))",
    "p99": "histogram_quantile(0.99, sum by (arm, le)"
    " (rate(delivery_agent_arm_request_duration_seconds_bucket[1m])))",
    "percent": "promptpipe:rollout:percent",
    "agreement": "sum(rate(delivery_shadow_comparisons_total{outcome='agree'}[5m]))"
    " / sum(rate(delivery_shadow_comparisons_total{outcome=~'agree|differ|error'}[5m]))",
    "states": "promptpipe:participants:by_state{job='agent'}",
    "done": "sum by (arm) (delivery_participant_answers_total{answer='done'})"
    " / sum by (arm) (delivery_daily_prompts_total)",
}


def _by(result: list[dict[str, object]], label: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for r in result:
        metric = r.get("metric") or {}
        value = r.get("value") or [0, "NaN"]
        assert isinstance(metric, dict) and isinstance(value, list)
        number = float(value[1])
        if not math.isnan(number):
            out[str(metric.get(label, ""))] = number
    return out


class MetricsReader:
    """Takes a Sample every time it is asked: Prometheus if it answers, else /metrics."""

    def __init__(
        self, http: httpx.AsyncClient, delivery_url: str, agent_url: str, prometheus_url: str = ""
    ) -> None:
        self.http = http
        self.delivery_url = delivery_url.rstrip("/")
        self.agent_url = agent_url.rstrip("/")
        self.prometheus_url = prometheus_url.rstrip("/")
        self._last: tuple[float, Series] | None = None

    async def sample(self) -> Sample:
        if self.prometheus_url:
            try:
                return await self._from_prometheus()
            except (httpx.HTTPError, ValueError, KeyError):
                pass  # not running: the services' own figures instead
        return await self._from_metrics()

    async def _query(self, expr: str) -> list[dict[str, object]]:
        resp = await self.http.get(
            f"{self.prometheus_url}/api/v1/query", params={"query": expr}, timeout=2
        )
        resp.raise_for_status()
        result = resp.json()["data"]["result"]
        assert isinstance(result, list)
        return result

    async def _from_prometheus(self) -> Sample:
        got = {name: await self._query(expr) for name, expr in QUERIES.items()}
        turns, errors, p99 = (
            _by(got["turns"], "arm"),
            _by(got["errors"], "arm"),
            _by(got["p99"], "arm"),
        )
        done = _by(got["done"], "arm")
        agreement = _by(got["agreement"], "")
        return Sample(
            source="prometheus",
            turns_per_second={arm: turns.get(arm, 0.0) for arm in ARMS},
            error_rate={arm: errors.get(arm) for arm in ARMS},
            p99_ms={arm: p99[arm] * 1000 if arm in p99 else None for arm in ARMS},
            percent=next(iter(_by(got["percent"], "").values()), 0.0),
            agreement=next(iter(agreement.values()), None),
            states={state: _by(got["states"], "state").get(state, 0.0) for state in STATES},
            done_per_prompt={arm: done.get(arm) for arm in ARMS},
        )

    async def _from_metrics(self) -> Sample:
        resp = await self.http.get(f"{self.delivery_url}/metrics", timeout=2)
        resp.raise_for_status()
        now, series = time.monotonic(), parse(resp.text)
        states = dict.fromkeys(STATES, 0.0)
        try:
            agent = await self.http.get(f"{self.agent_url}/metrics", timeout=2)
            agent.raise_for_status()
            for state in STATES:
                states[state] = total(parse(agent.text), "agent_conversations", state=state)
        except httpx.HTTPError:
            pass  # the other figures still tell

        before = self._last or (now, series)
        self._last = (now, series)
        return sample_between(before[1], series, now - before[0], states)


class History:
    """The latest samples of each figure, for the dashboard's sparklines."""

    def __init__(self, size: int = 60) -> None:
        self.size = size
        self.series: dict[str, deque[float]] = {}
        self.last: Sample | None = None

    def add(self, s: Sample) -> None:
        self.last = s
        points: dict[str, float | None] = {"percent": s.percent, "agreement": s.agreement}
        for arm in ARMS:
            points[f"turns.{arm}"] = s.turns_per_second.get(arm)
            points[f"errors.{arm}"] = s.error_rate.get(arm)
            points[f"p99.{arm}"] = s.p99_ms.get(arm)
        for state in STATES:
            points[f"state.{state}"] = s.states.get(state)
        for name, value in points.items():
            self.series.setdefault(name, deque(maxlen=self.size)).append(value or 0.0)

    def values(self, name: str) -> list[float]:
        return list(self.series.get(name, ()))
