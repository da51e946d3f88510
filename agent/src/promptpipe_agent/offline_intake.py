"""The offline coach's intake: the greeting with the starter habit, then either *try now*
or *personalize*: the habit's area, why it matters, the moment it follows, the time of the
daily nudge and anything else, one at a time, each answer saved as it comes and said back
in the coach's own words; then the plan and "try a one-minute version now?"."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from promptpipe_agent import habits
from promptpipe_agent.offline_script import (
    QUESTIONS,
    REASKS,
    Moment,
    Plan,
    action_of,
    anchor_of,
    capital,
    goal_of,
    join,
    nudge_sentence,
)
from promptpipe_agent.reflect import (
    clean,
    goal_clause,
    habit_phrase,
    habit_words,
    is_vague,
    quoted,
    second_person,
    split_detail,
)
from promptpipe_agent.understanding import (
    CLOCK,
    is_greeting,
    is_no,
    is_yes,
    parse_time,
    wants_personalize,
    wants_try_now,
    words,
)

# The starter habit PromptPipe offered before personalizing.
STARTER = {
    "habit_domain": "physical activity",
    "prompt_anchor": "when my phone buzzes",
    "motivational_frame": "feel more energetic during the day",
    "preferred_time": "11:15",
}
GREETINGS = [
    "Hi there! I'm your habit coach. Together we'll build one tiny habit that takes about a "
    "minute a day.",
    "Hello! I'm your habit coach, here to help you grow one small daily habit that fits your life.",
    "Hey, welcome! I'm your habit coach. We'll start small: one habit, one minute a day.",
]
STARTER_PITCH = [
    "Here's one many people like: when your phone buzzes, stand up and take 50 steps.",
    "A simple one to start with: when your phone buzzes, stand up and take 50 steps.",
]
PERSONALIZE_ORDER = [
    "habit_domain",
    "motivational_frame",
    "prompt_anchor",
    "preferred_time",
    "additional_info",
]
LET_YOU_CHOOSE = ("you choose", "you pick", "you decide", "surprise me", "anything", "whatever")
NOTHING_MORE = ("that's all", "thats all", "nothing", "all good", "no thanks", "not really")


def intake(m: Moment) -> Plan:
    text = m.text
    if m.asked is None:
        if not is_greeting(text) and habits.area_of(text) is not None:
            return _habit(m, greet=True)  # they opened with the habit itself
        opening = join(m.pick(GREETINGS), m.pick(STARTER_PITCH), m.ask("offer"))
        return Plan(reply=lambda _: opening)
    if m.asked in QUESTIONS and m.asked != "offer" and is_greeting(text):
        return Plan(reply=lambda _: join("Hi again!", m.ask(m.asked or "")))
    if m.asked == "offer":
        if wants_personalize(text) or is_no(text):
            return Plan(
                reply=lambda _: join(m.ack(["Let's make it yours."]), m.ask("habit_domain"))
            )
        if wants_try_now(text) or is_yes(text):
            return start(m, STARTER["preferred_time"], try_now=True, save=STARTER)
        if habits.area_of(text) is not None:
            return _habit(m)
        return Plan(
            reply=lambda _: (
                "Just say 'try now' to start with the 50 steps, or "
                "'personalize' and we'll shape a habit around your day."
            )
        )
    steps = {
        "habit_domain": _habit,
        "motivational_frame": _why,
        "prompt_anchor": _anchor,
        "preferred_time": _time,
        "additional_info": _anything_else,
    }
    if m.asked in steps:
        return steps[m.asked](m)
    if m.asked == "try_check":
        if is_no(text):
            return start(m, m.profile.get("preferred_time") or "09:00", try_now=False)
        if is_yes(text) or wants_try_now(text):
            return start(m, m.profile.get("preferred_time") or "09:00", try_now=True)
        return Plan(reply=lambda _: m.reask("try_check"))
    # Anything else (a reply to a real model's question, a fresh start): next missing step.
    return Plan(reply=lambda _: m.ask(_next(m.profile, {}) or "try_check"))


def _next(profile: dict[str, Any], saved: dict[str, Any]) -> str | None:
    """The first step still unanswered, counting what this turn saves."""
    known = {**profile, **saved}
    for step in PERSONALIZE_ORDER[:4]:
        if not known.get(step):
            return step
    return None


def _then(m: Moment, saved: dict[str, Any], ack: str) -> Plan:
    """Save what this answer gave, then ask the next unanswered question."""
    step = _next(m.profile, saved) or "additional_info"
    return Plan(
        rounds=[[("save_user_profile", saved)]] if saved else [],
        reply=lambda _: join(ack, m.ask(step)),
    )


def _asked_twice(m: Moment, step: str) -> bool:
    """The coach already asked this step once more: take the answer as it comes."""
    return any(r in m.previous for r in REASKS.get(step, []))


# The answers, step by step --------------------------------------------------------------


def _habit(m: Moment, greet: bool = False) -> Plan:
    text = m.text
    hello = "Hi, I'm your habit coach!" if greet else ""
    lowered = text.lower()
    if is_vague(text) or any(p in lowered for p in LET_YOU_CHOOSE):
        if _asked_twice(m, "habit_domain") or any(p in lowered for p in LET_YOU_CHOOSE):
            return _then(
                m,
                {"habit_domain": "moving more"},
                "Then let's go with moving more; it suits almost everyone.",
            )
        return Plan(reply=lambda _: join("No problem.", m.reask("habit_domain")))
    head, joined, detail = split_detail(text)
    if is_vague(head) and detail:  # "idk, something for my mind"
        text, head, joined, detail = detail, detail, "", ""
    area = habits.area_of(head)  # "guitar, my back hurts" is about the guitar
    saved: dict[str, Any] = {}
    if area is not None:
        saved["habit_domain"] = area.label
        ack = area.ack
    else:
        own = habit_words(text)
        phrase = habit_phrase(text)
        if own is None or phrase is None:
            if not _asked_twice(m, "habit_domain"):
                return Plan(reply=lambda _: m.reask("habit_domain"))
            saved["habit_domain"] = clean(text)
            ack = f"Okay, a habit around {quoted(text)}."
        else:
            saved["habit_domain"] = own
            ack = (
                f"A habit around {phrase[3:]}, I like it."
                if phrase.startswith("on ")
                else f"{capital(phrase)}, I like it."
            )
    if detail and joined in ("because", "since", "cause", "so", "so that", "to"):
        saved["motivational_frame"] = detail  # they said why already
    elif detail:
        saved["additional_info"] = detail
        ack = join(ack, _noted(detail))
    return _then(m, saved, join(hello, m.ack([ack], "habit") if not greet else ack))


def _noted(detail: str) -> str:
    """'my back is stiff' → "I've noted that your back is stiff." (quoted if it is no clause)."""
    first = (words(detail) or [""])[0]
    if first in ("i", "my", "i'm", "im", "we", "our", "it", "it's", "its", "the", "there", "they"):
        return f"I've noted that {second_person(clean(detail))}."
    return f"I've noted {quoted(detail)}."


def _why(m: Moment) -> Plan:
    text = m.text
    if is_vague(text) and not _asked_twice(m, "motivational_frame"):
        return Plan(reply=lambda _: join("That's okay.", m.reask("motivational_frame")))
    goal = goal_clause(text)
    if goal and goal.startswith(("so that ", "to ", "for ")):
        ack = m.ack(
            [
                f"{capital(goal)}: that's worth a minute a day.",
                f"{capital(goal)}, a good reason to start.",
            ]
        )
    elif goal:
        ack = m.ack(["That makes sense.", "Thanks, that helps me shape it."])
    else:
        ack = m.ack(
            ["Thanks, that helps me shape it.", "Okay, we'll find out what it does for you."]
        )
    return _then(m, {"motivational_frame": text.strip()}, ack)


def _only_time(text: str) -> str | None:
    """'9pm', 'at 7:30am', 'around 18:00': a clock time and nothing else."""
    rest = CLOCK.sub("", text.lower())
    if set(words(rest)) - {"at", "around", "about", "maybe", "probably", "ish", "o'clock"}:
        return None
    return parse_time(text)


def _anchor(m: Moment) -> Plan:
    text = m.text
    at = _only_time(text)
    if at is not None:  # a time where a moment was asked: keep it, ask for the moment
        return Plan(
            rounds=[[("save_user_profile", {"preferred_time": at})]],
            reply=lambda _: (
                f"{at} for the nudge, noted. And what do you usually do around then "
                "that it could come after, like making tea?"
            ),
        )
    if is_vague(text):
        if not _asked_twice(m, "prompt_anchor"):
            return Plan(reply=lambda _: join("No worries.", m.reask("prompt_anchor")))
        return _then(
            m,
            {"prompt_anchor": "when my nudge arrives"},
            "Then let's make the nudge itself your moment: when it arrives, that's your cue.",
        )
    saved = {"prompt_anchor": clean(text)}
    also = parse_time(text) if CLOCK.search(text) else None
    if also and not m.profile.get("preferred_time"):
        saved["preferred_time"] = also
    ack = m.ack(["Good choice, that happens every day anyway.", "Perfect.", "That works well."])
    return _then(m, saved, ack)


# An hour alone, which could be morning or evening: "9", "at 9", "remind me at 7 instead".
BARE_HOUR = re.compile(
    r"(?:^|\bat\s+|\baround\s+|\babout\s+)(\d{1,2})\s*(?:ish)?\s*"
    r"(?:instead|please|pls|o'clock)?\s*[.!?]*\s*$",
    re.IGNORECASE,
)
ASKED_HOUR = re.compile(r"Just to be sure, is that (\d{1,2})am or \d{1,2}pm\?")


def read_time(m: Moment) -> tuple[str | None, str | None]:
    """The time in the message ('21:00'), or else the question that pins down an hour said
    alone ('Just to be sure, is that 9am or 9pm?'), or neither."""
    text = m.text
    at = parse_time(text)
    earlier = ASKED_HOUR.search(m.previous)
    if earlier and at is None:  # "pm", "in the evening" after "is that 9am or 9pm?"
        said = set(words(text))
        h = int(earlier.group(1)) % 12
        if said & {"pm", "evening", "night", "afternoon", "p"}:
            at = f"{h + 12:02d}:00"
        elif said & {"am", "morning", "a"}:
            at = f"{h:02d}:00"
    hour = BARE_HOUR.search(text)
    if at is None and hour and 1 <= int(hour.group(1)) <= 12:
        h = int(hour.group(1))
        return None, f"Just to be sure, is that {h}am or {h}pm?"
    return at, None


def _time(m: Moment) -> Plan:
    at, clarify = read_time(m)
    if clarify:
        return Plan(reply=lambda _: clarify)
    if at is None:
        return Plan(reply=lambda _: m.reask("preferred_time"))
    step = _next(m.profile, {"preferred_time": at}) or "additional_info"
    return Plan(
        rounds=[[("save_user_profile", {"preferred_time": at})]],
        reply=lambda _: join(f"{at} it is.", m.ask(step)),
    )


def _anything_else(m: Moment) -> Plan:
    text = m.text
    lowered = text.lower()
    nothing = is_no(text) or is_vague(text) or any(p in lowered for p in NOTHING_MORE)
    profile = m.profile
    rounds: list[list[tuple[str, dict[str, Any]]]] = []
    if not nothing:
        before = str(profile.get("additional_info") or "")
        info = f"{before}; {clean(text)}" if before else text.strip()
        profile["additional_info"] = info
        rounds = [[("save_user_profile", {"additional_info": info})]]
    ack = "" if nothing else m.ack(["Thanks, I'll keep that in mind.", "Good to know."])
    goal = goal_of(profile)
    plan = f"Here's your plan: {anchor_of(profile)}, {action_of(profile)}" + (
        f", {goal}." if goal else "."
    )
    return Plan(rounds=rounds, reply=lambda _: join(ack, plan, m.ask("try_check")))


# The end of intake ------------------------------------------------------------------------


def start(m: Moment, target: str, try_now: bool, save: dict[str, str] | None = None) -> Plan:
    """End of intake: save, schedule the daily prompt, move to FEEDBACK, maybe try now."""
    first: list[tuple[str, dict[str, Any]]] = []
    if save:
        first.append(("save_user_profile", dict(save)))
    first.append(("scheduler", {"action": "create", "type": "fixed", "fixed_time": target}))
    first.append(("transition_state", {"target_state": "FEEDBACK", "reason": "intake complete"}))
    rounds = [first]
    if try_now:
        rounds.append([("generate_habit_prompt", {"delivery_mode": "immediate"})])
    profile = {**m.profile, **(save or {})}

    def reply(results: dict[str, str]) -> str:
        schedule = _result_json(results.get("scheduler", ""))
        if schedule.get("success"):
            nudge = nudge_sentence(schedule)
        else:
            nudge = "I couldn't set up your daily nudge just now; tell me a time and I'll retry."
        if not try_now:
            when = _first_nudge_day(m.context, schedule)
            return join(f"No problem, we'll start with your first nudge {when}.", nudge)
        prompt = results.get("generate_habit_prompt", "")
        lead = m.pick(["Let's do it!", "Great, let's go!", "Love it, here we go."], "lead")
        return join(lead, prompt, f"From now on, do it {anchor_of(profile)}.", nudge)

    return Plan(rounds=rounds, reply=reply)


def _first_nudge_day(context: dict[str, Any], schedule: dict[str, Any]) -> str:
    """'later today' when the nudge's time is still ahead on the participant's clock."""
    try:
        now = datetime.fromisoformat(str(context.get("now_utc")))
        local = now.astimezone(ZoneInfo(str(schedule.get("timezone") or "UTC")))
    except (ValueError, ZoneInfoNotFoundError):
        return "tomorrow"
    ahead = str(schedule.get("prompt_time") or "") > local.strftime("%H:%M")
    return "later today" if ahead else "tomorrow"


def _result_json(result: str) -> dict[str, Any]:
    try:
        value = json.loads(result)
    except ValueError:
        return {}
    return dict(value) if isinstance(value, dict) else {}
