"""The offline coach in FEEDBACK: what people write between prompts, each answered through
the tools it needs. Done and not today (with or without a reason), what helped and what got
in the way, "make it easier / harder" (adjust_intensity), a new time (scheduler), a pause,
resume or stop (pause_coaching), a new habit (transition_state), questions about the habit
(a short, specific answer), thanks and small talk (brief)."""

from __future__ import annotations

import json
from typing import Any

from promptpipe_agent.offline_intake import PERSONALIZE_ORDER, read_time
from promptpipe_agent.offline_script import (
    Moment,
    Plan,
    action_of,
    anchor_of,
    capital,
    goal_of,
    join,
    status,
)
from promptpipe_agent.reflect import clean
from promptpipe_agent.understanding import (
    DONE_WORDS,
    NEXT_TIME_WORDS,
    asks_about_forgetting,
    is_done,
    is_greeting,
    is_next_time,
    is_no,
    is_question,
    is_small_talk,
    is_thanks,
    pause_days,
    topic_of_question,
    wants_easier,
    wants_fresh_start,
    wants_harder,
    wants_new_time,
    wants_pause,
    wants_resume,
    wants_stop,
    wants_time_change,
    words,
)

WENT_WELL = {"well", "good", "great", "fine", "easy", "worked", "loved", "nice", "awesome", "yes"}
WENT_BADLY = {"hard", "difficult", "couldn't", "couldnt", "busy", "tired", "forgot", "no"}
CHEERS = ["Great work!", "Yes! Well done.", "That's the way!", "Nice going!", "Brilliant!"]
KIND = [
    "No problem, it happens.",
    "That's okay, tomorrow is a new try.",
    "No worries, one day doesn't undo anything.",
]
# Words that say nothing about why it did not happen ("nope, not today sorry").
NO_REASON = {
    "i",
    "it",
    "today",
    "did",
    "not",
    "do",
    "sorry",
    "oops",
    "no",
    "nope",
    "nah",
    "next",
    "time",
    "the",
    "habit",
    "this",
    "that",
    "one",
    "didn't",
    "didnt",
    "skipped",
    "missed",
    "tomorrow",
    "maybe",
    "again",
    "unfortunately",
    "yet",
    "get",
    "to",
    "round",
    "around",
    "nxt",
    "tim",
    "2day",
    "couldn't",
    "couldnt",
}
REASON_WORDS = ("forgot", "no time", "busy", "tired", "sick", "ill")


def feedback(m: Moment) -> Plan:
    text = m.text
    tapped = text.strip().lower() in ("done", "next time")  # a button, not an answer
    if m.context.get("stopped"):
        return _welcome_back(m)
    for wants, plan in (
        (wants_stop, _stop),
        (wants_pause, _pause),
        (wants_resume, _resume),
        (wants_fresh_start, _fresh_start),
    ):
        if wants(text):
            return plan(m)
    asked_time = m.asked in ("new_time", "preferred_time")  # "is that 7am or 7pm?" too
    if wants_new_time(text) or wants_time_change(text) or asked_time:
        at, clarify = read_time(m)
        if at and (asked_time or wants_new_time(text) or wants_time_change(text)):
            return _new_time(m, at)
        if clarify:
            return Plan(reply=lambda _: clarify)
        return Plan(reply=lambda _: m.reask("new_time") if asked_time else m.ask("new_time"))
    if wants_easier(text) or wants_harder(text):
        cheer = m.pick(CHEERS, "cheer") if is_done(text) else ""  # "done, but too easy"
        return _resize(m, "easier" if wants_easier(text) else "harder", cheer)
    if m.asked == "barrier" and not tapped and not is_question(text):
        return _barrier(m, text.strip())
    if m.asked == "motivator" and _answers_what_helped(text):
        return _motivator(m, text.strip())
    if is_done(text) or _went_well(m):
        return _done(m)
    if is_next_time(text) or _went_badly(m) or _no_to_the_prompt(m):
        return _not_today(m)
    if is_thanks(text):
        return _thanks(m)
    if is_greeting(text) or is_small_talk(text):
        return _small_talk(m)
    if asks_about_forgetting(text) or is_question(text):
        return _answer(m)
    return _anything(m)


# Done and not today -------------------------------------------------------------------


def _went_well(m: Moment) -> bool:
    said = set(words(m.text))
    return (
        m.asked == "check_in"
        and bool(said & WENT_WELL)
        and not is_next_time(m.text)
        and not is_no(m.text)
    )


def _went_badly(m: Moment) -> bool:
    return m.asked == "check_in" and bool(set(words(m.text)) & WENT_BADLY)


def _no_to_the_prompt(m: Moment) -> bool:
    """A plain "no" right after a prompt or a check-in: it did not happen."""
    prompt = str(m.context.get("last_habit_prompt") or "\0")
    return is_no(m.text) and (m.asked == "check_in" or prompt in m.previous)


def _rest_after(text: str, markers: tuple[str, ...]) -> str:
    """What follows 'done' or 'not today', in their words: a reason, or what helped."""
    rest = clean(text)
    for marker in sorted(markers, key=len, reverse=True):
        at = rest.lower().find(marker)
        if at >= 0:
            rest = rest[:at] + rest[at + len(marker) :]
    return rest.strip(" ,.;:!-—")


def _done(m: Moment) -> Plan:
    cheer = m.pick(CHEERS, "cheer")
    told = _rest_after(m.text, DONE_WORDS) if is_done(m.text) else ""
    if len(words(told)) >= 3:  # "done! having the mat out helped": what helped is told
        return _motivator(m, told, cheer=cheer)
    return Plan(reply=lambda _: join(cheer, m.ask("motivator")))


def _answers_what_helped(text: str) -> bool:
    """A reply to "what helped?" that says something (not a tap, a question, thanks or
    'lol'; 'I did it while the kettle boiled' is an answer, a bare 'done' is not)."""
    if text.strip().lower() in ("done", "next time") or is_question(text) or is_next_time(text):
        return False
    if is_thanks(text) or is_small_talk(text) or wants_easier(text) or wants_harder(text):
        return False
    return not (is_done(text) and len(words(_rest_after(text, DONE_WORDS))) < 3)


def _motivator(m: Moment, said: str, cheer: str = "") -> Plan:
    save = {"last_motivator": said}
    if m.context.get("last_habit_prompt"):
        save["last_successful_prompt"] = m.context["last_habit_prompt"]
    thanks = m.pick(["Thanks, I'll remember that.", "Good to know, I'll build on that."], "thx")
    see_you = m.pick(["See you at tomorrow's nudge!", "Talk tomorrow!", "Same time tomorrow!"])
    return Plan(
        rounds=[[("save_user_profile", save)]],
        reply=lambda _: join(cheer, thanks, see_you),
    )


def _not_today(m: Moment) -> Plan:
    kind = m.pick(KIND, "kind")
    lowered = m.text.lower()
    reason = _rest_after(m.text, NEXT_TIME_WORDS)
    has_reason = bool(set(words(reason)) - NO_REASON) or any(w in lowered for w in REASON_WORDS)
    if has_reason:  # "not today, too tired": the reason is what got in the way
        return _barrier(m, reason if len(words(reason)) >= 2 else clean(m.text), opener=kind)
    return Plan(reply=lambda _: join(kind, m.ask("barrier")))


def _barrier(m: Moment, barrier: str, opener: str = "") -> Plan:
    tweak = suggest_tweak(barrier, m.profile)
    thanks = opener or m.pick(
        ["Thanks for telling me.", "That makes sense.", "Fair enough, that happens."], "bar"
    )
    return Plan(
        rounds=[[("save_user_profile", {"last_barrier": barrier, "last_tweak": tweak})]],
        reply=lambda _: join(thanks, f"A small tweak for next time: {tweak}."),
    )


def suggest_tweak(barrier: str, profile: dict[str, Any]) -> str:
    """One small change that answers what got in the way."""
    lowered = barrier.lower()
    anchor = anchor_of(profile)
    if any(w in lowered for w in ("forgot", "forget", "remember", "slipped")):
        return f"leave a visual cue, like a sticky note, where you'll see it {anchor}"
    if any(w in lowered for w in ("hurt", "pain", "sore", "ache", "injur")):
        return (
            "go gentler and smaller, and stop at anything that hurts (or ask me to make it easier)"
        )
    if any(w in lowered for w in ("busy", "time", "late", "rush", "work", "meeting")):
        return f"shrink it to a 30-second version {anchor}"
    if any(w in lowered for w in ("tired", "energy", "sick", "exhausted", "sleep", "ill")):
        return f"do the easiest possible version {anchor}, even sitting down"
    if any(w in lowered for w in ("away", "travel", "trip", "holiday")):
        return "do it wherever you are, at the first quiet moment of the day"
    if any(
        w in lowered for w in ("friend", "guest", "visit", "family", "party", "kids", "came over")
    ):
        return f"when people are around, slip away for the 30-second version {anchor}"
    if any(w in lowered for w in ("motivat", "lazy", "didn't feel", "didnt feel", "bored")):
        return f"promise yourself just the first five seconds {anchor}; starting is the hard part"
    return f"try it {anchor}, even for just 30 seconds"


# Changes to the plan ----------------------------------------------------------------------


def _new_time(m: Moment, target: str) -> Plan:
    def reply(results: dict[str, str]) -> str:
        schedule = _result_json(results.get("scheduler", ""))
        if not schedule.get("success"):
            return "Hmm, I couldn't move your nudge just now. Could you try again later?"
        done = m.pick(["All set:", "Okay:", "Sure thing:"], "moved")
        return (
            f"{done} your daily nudge now comes at {schedule['prompt_time']}, a few minutes "
            f"before {target}."
        )

    return Plan(
        rounds=[
            [
                ("save_user_profile", {"preferred_time": target}),
                ("scheduler", {"action": "create", "type": "fixed", "fixed_time": target}),
            ]
        ],
        reply=reply,
    )


DURATIONS = {"low": "30 seconds", "normal": "a minute", "high": "two minutes or so"}
SIZE_NAMES = {
    "low": "a 30-second version",
    "normal": "the one-minute version",
    "high": "a bigger step",
}


def _resize(m: Moment, direction: str, cheer: str = "") -> Plan:
    def reply(results: dict[str, str]) -> str:
        result = _result_json(results.get("adjust_intensity", ""))
        level = str(result.get("new_level") or "normal")
        action = action_of(m.profile, level)
        if not result.get("changed"):
            if direction == "easier":
                return join(
                    f"It's already as small as it goes: {action}.",
                    "Even just starting counts, so go easy on yourself.",
                )
            return join(
                f"It's already at its biggest: {action}.",
                "Keep going and it will soon feel easy.",
            )
        lead = (
            m.pick(["Sure, let's make it lighter.", "Of course, smaller it is."], "down")
            if direction == "easier"
            else m.pick(["Let's step it up.", "Love the ambition."], "up")
        )
        return join(cheer, lead, f"From your next nudge, {SIZE_NAMES[level]}: {action}.")

    return Plan(rounds=[[("adjust_intensity", {"direction": direction})]], reply=reply)


def _pause(m: Moment) -> Plan:
    days = pause_days(m.text)
    args: dict[str, Any] = {"action": "pause", "reason": clean(m.text)[:120]}
    if days:
        args["days"] = days

    def reply(results: dict[str, str]) -> str:
        result = _result_json(results.get("pause_coaching", ""))
        if not result.get("success"):
            return "Sorry, I couldn't pause your nudges just now. Could you try again in a bit?"
        lead = m.pick(["Of course.", "Sure, take the time you need.", "No problem."], "pause")
        if days:
            span = "a week" if days == 7 else f"{days} days" if days > 1 else "a day"
            return join(
                lead,
                f"I've paused your daily nudges for {span}; they'll come back by themselves "
                "after that, or sooner if you write 'resume'.",
            )
        return join(
            lead, "I've paused your daily nudges. Whenever you're ready, just write 'resume'."
        )

    return Plan(rounds=[[("pause_coaching", args)]], reply=reply)


def _resume(m: Moment) -> Plan:
    def reply(results: dict[str, str]) -> str:
        result = _result_json(results.get("pause_coaching", ""))
        if not result.get("success"):
            return "Welcome back! What time would you like your daily nudge?"
        return join(
            m.pick(["Welcome back!", "Good to have you back!"], "back"),
            f"Your daily nudge is on again: every day at {result['prompt_time']}, a few "
            f"minutes before {result['target_time']}.",
        )

    return Plan(rounds=[[("pause_coaching", {"action": "resume"})]], reply=reply)


def _welcome_back(m: Moment) -> Plan:
    """They had stopped, and the study team switched them back on: the nudges resume."""
    return _resume(m)


def _stop(m: Moment) -> Plan:
    def reply(results: dict[str, str]) -> str:
        result = _result_json(results.get("pause_coaching", ""))
        if not result.get("success"):
            return "Understood. I'll stop the nudges; it may take a moment to go through."
        return (
            "Understood, I've stopped: no more nudges or messages from me. Thank you for "
            "giving it a go. If you ever want to restart, the study team can switch you back on."
        )

    args = {"action": "stop", "reason": clean(m.text)[:120]}
    return Plan(rounds=[[("pause_coaching", args)]], reply=reply)


def _fresh_start(m: Moment) -> Plan:
    return Plan(
        rounds=[[("transition_state", {"target_state": "INTAKE", "reason": "new habit"})]],
        reply=lambda _: join("Happy to start fresh!", m.ask(PERSONALIZE_ORDER[0])),
    )


# Questions, thanks, small talk -------------------------------------------------------


def _answer(m: Moment) -> Plan:
    """A short answer that uses what the coach knows of their habit."""
    profile = m.profile
    topic = "forget" if asks_about_forgetting(m.text) else topic_of_question(m.text)
    anchor = anchor_of(profile)
    action = action_of(profile)
    level = str(profile.get("intensity") or "normal")
    schedule = m.schedules[0] if m.schedules else None
    answers = {
        "forget": join(
            "If you forget, no harm done: do it whenever you remember that day, or tap Next "
            "time and go again tomorrow.",
            f"A cue helps too, like a sticky note where you'll see it {anchor}.",
        ),
        "miss": join(
            "Missing a day is fine; what matters is picking it up at the next nudge.",
            "Just tap Next time and we'll go again tomorrow.",
        ),
        "how_long": join(
            f"Just {DURATIONS[level]}, that's all it takes.", "Even less still counts."
        ),
        "when": (
            f"Your nudge comes every day at {schedule['prompt_time']}, a few minutes before "
            f"{schedule['target_time']}."
            if schedule
            else status(m)[0]
        ),
        "later": join(
            "Yes, any time that day counts.",
            "If another time suits you better every day, tell me and I'll move your nudge.",
        ),
        "counts": "It counts! Any version, however small, keeps the habit going.",
        "why": join(
            f"{capital(goal_of(profile) or 'to make it stick')}: that's what you told me matters."
            if goal_of(profile)
            else "Because small daily steps are the easiest way to make a habit stick.",
            "A tiny version every day beats a big one now and then.",
        ),
        "what": f"Your habit: {anchor}, {action}.",
        "bot": "I'm an automated habit coach, here to help you keep one tiny habit going.",
        "hurt": join(
            "If it hurts, stop: skip it today or do a gentler, smaller version, and tell me "
            "'make it easier' if you'd like one.",
            "For pain that doesn't go away, please check with a doctor.",
        ),
        "other": join(
            "Good question! I'm a simple coach and can't answer everything.",
            "I can change your nudge's time, make the habit easier or harder, or pause it.",
        ),
    }
    text = answers[topic]
    return Plan(reply=lambda _: text)


def _thanks(m: Moment) -> Plan:
    welcome = m.pick(["You're welcome!", "Anytime!", "My pleasure.", "Glad to help!"], "ty")
    tail = m.pick(["Talk soon.", *status(m)], "ty-tail")
    return Plan(reply=lambda _: join(welcome, tail))


def _small_talk(m: Moment) -> Plan:
    said = set(words(m.text))
    lowered = m.text.lower()
    if any(p in lowered for p in ("how are you", "how r u", "how's it going", "hows it going")):
        opener = m.pick(["I'm well, thanks for asking!", "All good here, thank you!"], "hru")
    elif said & {"lol", "haha", "hahaha", "lmao"}:
        opener = m.pick(["Ha! 😄", "Glad you're smiling."], "lol")
    elif is_greeting(m.text):
        opener = m.pick(["Hi! Good to hear from you.", "Hello again!", "Hey there!"], "hi")
    else:
        opener = m.pick(["Sounds good.", "Great!", "Perfect."], "ok")
    tail = m.pick(status(m), "status")
    return Plan(reply=lambda _: join(opener, tail))


def _anything(m: Moment) -> Plan:
    """Something the coach has no special answer for: brief, and what it can do."""
    opener = m.pick(["Thanks for telling me.", "Good to know.", "I hear you."], "any")
    tail = m.pick(
        [
            "Whenever you've done your habit, just tell me 'done'.",
            *status(m),
            "If you'd like to change anything, like the time or the size of the habit, just "
            "say so.",
        ],
        "any-tail",
    )
    return Plan(reply=lambda _: join(opener, tail))


def _result_json(result: str) -> dict[str, Any]:
    try:
        value = json.loads(result)
    except ValueError:
        return {}
    return dict(value) if isinstance(value, dict) else {}
