"""The scenario format: a YAML file of participants and steps, parsed and checked up front.

A scenario names its participants (persona fields, the rest generated) and lists steps,
each a mapping with one action key and, when there are several participants, `as:`
naming who acts. docs: simulator/scenarios/README.md. Parsing never touches the
network, so a typo is reported with its file and step before anything runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class ScenarioError(Exception):
    """The scenario file is not valid; the message names the file and the step."""


# Every action and the keys its mapping form accepts. A scalar value is shorthand for
# the first key listed (`send: Hi` is `send: {text: Hi}`).
ACTIONS: dict[str, tuple[str, ...]] = {
    # what the participant does
    "send": ("text",),
    "tap": ("title",),
    "reply": ("title",),
    "react": ("emoji",),
    "converse": ("answers", "until", "max_turns", "within"),
    # what the operator does
    "advance": ("by", "to", "to_job", "offset"),
    "wait": ("for",),
    "pause": (),
    "resume": (),
    "delete": (),
    "fault": ("agent", "delay", "whatsapp", "clear"),
    "restart": ("service",),
    "stop": ("service",),
    "start": ("service",),
    "replay_webhook": ("message",),
    # the migration between two agents (docs/migration.md): needs a candidate agent
    "migration": ("shadow", "rollout", "promote", "rollback", "candidate_fault"),
    # what must be true
    "expect_reply": ("matches", "within", "buttons", "rows", "template", "type"),
    "expect_reaction": ("emoji", "within"),
    "expect_status": ("status", "within"),
    "expect_state": ("state", "within"),
    "expect_profile": ("fields", "within"),
    "expect_jobs": ("include", "exclude", "within"),
    "expect_no_message": ("within",),
    "expect_logged": ("inbound", "outbound", "within"),
    "expect_migration": ("percent", "status", "shadow", "compared", "arm", "within"),
}
SERVICES = ("delivery", "agent", "mock_whatsapp")
STATUSES = ("accepted", "sent", "delivered", "read", "failed")
AGENT_MODES = ("ok", "down", "slow")

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_LOCAL_TIME = re.compile(r"next\s+([01]?\d|2[0-3]):([0-5]\d)")


def parse_duration(value: Any) -> float:
    """'90s', '5h', '1d', '2h30m' or a number of seconds → seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip().replace(" ", "")
    if not text or _DURATION.sub("", text):
        raise ValueError(f"{value!r} is not a duration (examples: 90s, 10m, 5h, 1d, 2h30m)")
    return sum(float(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION.findall(text))


def parse_local_time(value: str) -> tuple[int, int]:
    """'next 08:00' → (8, 0): the participant's next 08:00."""
    match = _LOCAL_TIME.fullmatch(value.strip())
    if not match:
        raise ValueError(f"{value!r} is not a local time (example: next 08:00)")
    return int(match.group(1)), int(match.group(2))


@dataclass
class ParticipantSpec:
    """Who takes part: fields left out are generated (a Faker persona)."""

    alias: str
    name: str | None = None
    phone_number: str | None = None
    timezone: str | None = None
    background: str | None = None
    enrolled: bool = True  # False: an unknown sender, a phone delivery has never heard of
    # The participant of the scenario's world with this name or phone number, as they are
    # there (history, sub-state, jobs), instead of a new persona.
    from_world: str | None = None


@dataclass
class Step:
    """One action with its arguments (always the mapping form) and who does it."""

    number: int
    action: str
    args: dict[str, Any]
    actor: str

    def describe(self) -> str:
        """A short, readable line for the runner's output."""
        a = self.args
        if self.action in ("send", "tap", "reply", "react"):
            value = next(iter(a.values()))
            return f"{self.action} {value!r}"
        if self.action == "advance":
            if "by" in a:
                return f"advance the clock by {a['by']}"
            if "to" in a:
                return f"advance the clock to the {a['to']}"
            offset = f" ({a['offset']})" if a.get("offset") else ""
            return f"advance the clock to the next {a['to_job']} job{offset}"
        if self.action == "expect_reply":
            parts = [f"/{a['matches']}/"] if a.get("matches") else []
            for key in ("type", "buttons", "rows"):
                if a.get(key) is not None:
                    parts.append(f"{key} {a[key]}")
            if a.get("template"):
                parts.append(f"template {a['template'].get('name')}")
            return f"expect a reply {' '.join(parts)} within {a['within']}".replace("  ", " ")
        if self.action == "expect_no_message":
            return f"expect no further message within {a['within']}"
        if self.action == "expect_state":
            return f"expect sub-state {a['state']}"
        if self.action == "expect_status":
            return f"expect the reply's status to reach {a['status']}"
        if self.action == "expect_profile":
            shown = ", ".join(f"{k} /{v}/" for k, v in a["fields"].items())
            return f"expect profile {shown}"
        if self.action == "expect_jobs":
            parts = [f"include {a['include']}"] if a["include"] else []
            parts += [f"nothing matching {a['exclude']}"] if a["exclude"] else []
            return f"expect pending jobs: {', '.join(parts) or 'anything'}"
        if self.action == "expect_logged":
            counts = ", ".join(f"{d} {a[d]}" for d in ("inbound", "outbound") if d in a)
            return f"expect delivery to have logged {counts}"
        if self.action == "replay_webhook":
            return "deliver the last message's webhook again (duplicate)"
        if self.action == "fault":
            if "agent" in a:
                delay = f" ({a['delay']})" if a.get("delay") else ""
                return f"fault: agent {a['agent']}{delay}"
            if "whatsapp" in a:
                return f"fault: whatsapp {a['whatsapp']}"
            return f"clear faults: {a['clear']}"
        if self.action in ("restart", "stop", "start"):
            return f"{self.action} {a['service']}"
        if self.action == "converse":
            until = ", ".join(f"{k} {v}" for k, v in a["until"].items())
            return f"converse until {until} (at most {a['max_turns']} answers)"
        shown = ", ".join(f"{k}: {v}" for k, v in a.items())
        return f"{self.action.replace('_', ' ')}{' ' + shown if shown else ''}"


@dataclass
class Scenario:
    name: str
    path: Path | None
    description: str
    participants: list[ParticipantSpec]
    steps: list[Step] = field(default_factory=list)
    # The saved world the scenario starts from (`world: demo`): loaded before it runs, or
    # generated from worlds/<name>.yaml the first time.
    world: str | None = None

    def needs_controller(self) -> bool:
        """Whether a step stops or starts a service (only a stack controller can)."""
        return any(s.action in ("restart", "stop", "start") for s in self.steps)


def load(path: Path) -> Scenario:
    """Read and check one scenario file."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError(f"{path}: cannot read it: {exc}") from exc
    return parse(data, path)


def parse(data: Any, path: Path | None = None) -> Scenario:
    where = str(path) if path else "scenario"
    if not isinstance(data, dict):
        raise ScenarioError(f"{where}: expected a mapping with participants and steps")
    unknown = set(data) - {"name", "description", "participants", "steps", "world"}
    if unknown:
        raise ScenarioError(f"{where}: unknown top-level keys {sorted(unknown)}")
    participants = _participants(data.get("participants"), where)
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise ScenarioError(f"{where}: `steps` must be a non-empty list")
    aliases = [p.alias for p in participants]
    expanded = _expand_includes(raw_steps, path, where)
    steps = [_step(i, raw, aliases, where) for i, raw in enumerate(expanded, start=1)]
    name = str(data.get("name") or (path.stem if path else "scenario"))
    world = data.get("world")
    if world is not None and not isinstance(world, str):
        raise ScenarioError(f"{where}: `world` names a saved world, such as demo")
    if world is None and any(p.from_world for p in participants):
        raise ScenarioError(f"{where}: `from_world` needs a `world:` to come from")
    description = str(data.get("description") or "").strip()
    return Scenario(name, path, description, participants, steps, world=world)


def _expand_includes(raw_steps: list[Any], path: Path | None, where: str) -> list[Any]:
    """Splice in the steps of `- include: _intake.yaml` (a list of steps, or a mapping
    with `steps`), relative to the including file; `as:` passes on to them."""
    out: list[Any] = []
    for raw in raw_steps:
        if not (isinstance(raw, dict) and "include" in raw and set(raw) <= {"include", "as"}):
            out.append(raw)
            continue
        if path is None:
            raise ScenarioError(f"{where}: `include` needs the scenario to come from a file")
        target = path.parent / str(raw["include"])
        try:
            data = yaml.safe_load(target.read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise ScenarioError(f"{where}: cannot include {target}: {exc}") from exc
        steps = data.get("steps") if isinstance(data, dict) else data
        if not isinstance(steps, list):
            raise ScenarioError(f"{where}: {target} holds no list of steps")
        for step in _expand_includes(steps, target, str(target)):
            if "as" in raw and isinstance(step, dict) and "as" not in step:
                step = {**step, "as": raw["as"]}
            out.append(step)
    return out


def _participants(raw: Any, where: str) -> list[ParticipantSpec]:
    if raw is None:
        return [ParticipantSpec("participant")]
    if not isinstance(raw, dict) or not raw:
        raise ScenarioError(f"{where}: `participants` must map aliases to persona fields")
    specs = []
    allowed = {"name", "phone_number", "timezone", "background", "enrolled", "from_world"}
    for alias, fields in raw.items():
        fields = fields or {}
        if not isinstance(fields, dict) or set(fields) - allowed:
            raise ScenarioError(
                f"{where}: participant {alias!r} may only set {sorted(allowed)}, got {fields!r}"
            )
        phone = fields.get("phone_number")
        specs.append(
            ParticipantSpec(
                alias=str(alias),
                name=fields.get("name"),
                phone_number=re.sub(r"\D", "", str(phone)) if phone else None,
                timezone=fields.get("timezone"),
                background=fields.get("background"),
                enrolled=bool(fields.get("enrolled", True)),
                from_world=str(fields["from_world"]) if fields.get("from_world") else None,
            )
        )
    return specs


def _step(number: int, raw: Any, aliases: list[str], where: str) -> Step:
    at = f"{where}: step {number}"
    if isinstance(raw, str) and raw in ACTIONS:
        raw = {raw: None}  # `- pause` is `- pause: {}`
    if not isinstance(raw, dict):
        raise ScenarioError(f"{at}: expected a mapping like `send: Hello`, got {raw!r}")
    actor = raw.get("as")
    actions = [k for k in raw if k != "as"]
    if len(actions) != 1 or actions[0] not in ACTIONS:
        raise ScenarioError(
            f"{at}: expected exactly one action out of {', '.join(ACTIONS)}; got {actions}"
        )
    action = actions[0]
    if actor is None:
        if len(aliases) > 1:
            raise ScenarioError(f"{at}: several participants, so say who acts with `as:`")
        actor = aliases[0]
    elif actor not in aliases:
        raise ScenarioError(f"{at}: `as: {actor}` names no participant ({', '.join(aliases)})")
    args = _args(action, raw[action], at)
    try:
        _check(action, args)
    except (ValueError, TypeError, re.error) as exc:
        raise ScenarioError(f"{at} ({action}): {exc}") from exc
    return Step(number, action, args, str(actor))


def _args(action: str, value: Any, at: str) -> dict[str, Any]:
    keys = ACTIONS[action]
    if value is None:
        args: dict[str, Any] = {}
    elif isinstance(value, dict):
        args = dict(value)
    elif keys:
        args = {keys[0]: value}
    else:
        raise ScenarioError(f"{at}: `{action}` takes no value")
    unknown = set(args) - set(keys)
    if unknown:
        raise ScenarioError(f"{at}: `{action}` does not know {sorted(unknown)}; it takes {keys}")
    return args


# Default patience of each expectation: enough for retries, small enough to fail fast.
DEFAULT_WITHIN = {
    "expect_reply": "15s",
    "expect_reaction": "15s",
    "expect_status": "10s",
    "expect_state": "10s",
    "expect_profile": "10s",
    "expect_jobs": "10s",
    "expect_no_message": "3s",
    "expect_logged": "10s",
    "expect_migration": "10s",
    "converse": "15s",
}


def _check(action: str, a: dict[str, Any]) -> None:
    """Validate and normalise the arguments in place; raise ValueError with a reason."""
    if action in DEFAULT_WITHIN:
        a.setdefault("within", DEFAULT_WITHIN[action])
        parse_duration(a["within"])
    if action in ("send", "tap", "reply", "react"):
        key = ACTIONS[action][0]
        if not isinstance(a.get(key), str) or not a[key]:
            raise ValueError(f"needs a non-empty `{key}`")
    elif action == "advance":
        forms = [k for k in ("by", "to", "to_job") if k in a]
        if len(forms) != 1:
            raise ValueError("give one of `by: 5h`, `to: next 08:00`, `to_job: daily_prompt`")
        if "by" in a:
            parse_duration(a["by"])
        if "to" in a:
            parse_local_time(str(a["to"]))
        if "to_job" in a:  # a little past the job's time, so it has surely fired
            a.setdefault("offset", "30s")
        if a.get("offset") is not None:
            parse_signed_duration(a["offset"])
    elif action == "wait":
        parse_duration(a.get("for"))
    elif action == "fault":
        if sum(k in a for k in ("agent", "whatsapp", "clear")) != 1:
            raise ValueError("give one of `agent: down|slow|ok`, `whatsapp: {...}`, `clear`")
        if "agent" in a and a["agent"] not in AGENT_MODES:
            raise ValueError(f"`agent` must be one of {AGENT_MODES}")
        if "delay" in a:
            parse_duration(a["delay"])
        if "whatsapp" in a and not isinstance(a["whatsapp"], dict):
            raise ValueError("`whatsapp` is the body of the mock's POST /_mock/faults")
        if "clear" in a and a["clear"] not in ("whatsapp", "agent", "all"):
            raise ValueError("`clear` must be whatsapp, agent or all")
    elif action in ("restart", "stop", "start"):
        if a.get("service") not in SERVICES:
            raise ValueError(f"service must be one of {SERVICES}")
    elif action == "replay_webhook":
        a.setdefault("message", "last_sent")
        if a["message"] != "last_sent":
            raise ValueError("only `last_sent` (the participant's last message) for now")
    elif action == "expect_reply":
        if a.get("matches") is not None:
            re.compile(str(a["matches"]))
        for key in ("buttons", "rows"):
            if a.get(key) is not None and not isinstance(a[key], list):
                raise ValueError(f"`{key}` is a list of titles")
        template = a.get("template")
        if template is not None and (not isinstance(template, dict) or "name" not in template):
            raise ValueError("`template` needs a `name` (and optional `parameters`)")
    elif action == "expect_status":
        if a.get("status") not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}")
    elif action == "expect_state":
        state = a.get("state")
        if state in (None, "none", "None"):
            a["state"] = None
    elif action == "expect_profile":
        if not isinstance(a.get("fields"), dict) or not a["fields"]:
            raise ValueError("maps profile fields to regular expressions")
        for pattern in a["fields"].values():
            re.compile(str(pattern))
    elif action == "expect_jobs":
        for key in ("include", "exclude"):
            a[key] = list(a.get(key) or [])
            for pattern in a[key]:
                re.compile(str(pattern))
    elif action == "expect_logged":
        if not any(k in a for k in ("inbound", "outbound")):
            raise ValueError("give `inbound: N` and/or `outbound: N`")
    elif action == "converse":
        _check_converse(a)
    elif action == "migration":
        _check_migration(a)
    elif action == "expect_migration":
        if not set(a) - {"within"}:
            raise ValueError("give what to expect: percent, status, shadow, compared or arm")
        if "arm" in a and a["arm"] not in ("primary", "candidate"):
            raise ValueError("`arm` is primary or candidate (the actor's)")
        if "status" in a and a["status"] not in ROLLOUT_STATUSES:
            raise ValueError(f"`status` must be one of {ROLLOUT_STATUSES}")


ROLLOUT_STATUSES = ("idle", "progressing", "succeeded", "halted", "promoted", "rolled_back")


def _check_migration(a: dict[str, Any]) -> None:
    if not a:
        raise ValueError(
            "give one or more of `shadow: true|false`, `rollout: {step, interval, max, "
            "thresholds}`, `promote: true`, `rollback: true`, `candidate_fault: down|slow|ok`"
        )
    if "shadow" in a and not isinstance(a["shadow"], bool):
        raise ValueError("`shadow` is true or false")
    if "rollout" in a and not isinstance(a["rollout"], dict):
        raise ValueError("`rollout` is delivery's plan: {step, interval, max, thresholds}")
    if "candidate_fault" in a and a["candidate_fault"] not in AGENT_MODES:
        raise ValueError(f"`candidate_fault` must be one of {AGENT_MODES}")


def _check_converse(a: dict[str, Any]) -> None:
    answers = a.get("answers")
    if not isinstance(answers, list) or not answers:
        raise ValueError("`answers` is a list of {when: regex, say: text}")
    for answer in answers:
        if not isinstance(answer, dict) or "say" not in answer:
            raise ValueError(f"each answer needs `say` (and usually `when`): {answer!r}")
        re.compile(str(answer.get("when", "")))
    until = a.get("until")
    if not isinstance(until, dict) or not ({"state", "matches"} & set(until)):
        raise ValueError("`until` is {state: FEEDBACK} or {matches: regex}")
    a.setdefault("max_turns", 8)


def parse_signed_duration(value: Any) -> float:
    """'-1h' → -3600.0; '+30s' or '30s' → 30.0."""
    text = str(value).strip()
    if text.startswith("-"):
        return -parse_duration(text[1:])
    return parse_duration(text.lstrip("+"))


def scenario_files(paths: list[Path]) -> list[Path]:
    """The scenario files named, a folder standing for its *.yaml files (sorted; those
    whose name starts with `_` are fragments for `include`, not scenarios)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(
                p for p in [*path.glob("*.yaml"), *path.glob("*.yml")] if not p.name.startswith("_")
            )
            if not found:
                raise ScenarioError(f"{path}: no *.yaml scenario files in it")
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            raise ScenarioError(f"{path}: no such file")
    return files
