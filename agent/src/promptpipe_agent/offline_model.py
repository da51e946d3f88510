"""A deterministic chat model that plays the coaching script, so the whole flow runs with no
network and no key. It is a LangChain chat model like any other: it reads the messages the
graph sends (instructions, the JSON context, history, the new message, tool results), and
answers with tool calls or a reply. It keeps no state of its own: it recognizes which
question it asked last from its own phrase bank, and recomputes its plan for the turn."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

from promptpipe_agent import events, feedback, prompts
from promptpipe_agent.offline_style import SHORT_QUESTIONS, styled
from promptpipe_agent.understanding import (
    is_done,
    is_greeting,
    is_next_time,
    is_no,
    is_yes,
    parse_time,
    tone_request,
    wants_fresh_start,
    wants_new_time,
    wants_personalize,
    wants_try_now,
    words,
)

MODEL_NAME = "offline-coach-1"
T = TypeVar("T")

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

# Questions, by the step they ask about. The model recognizes its last question by these.
QUESTIONS: dict[str, list[str]] = {
    "offer": [
        "Would you like to try it now, or personalize it first?",
        "Want to try it right now, or shall we personalize it first?",
    ],
    "habit_domain": [
        "What would you like your tiny habit to be about: moving more, eating better, "
        "sleeping, easing stress, or something else?",
        "Which area of your life should this habit help with, for example moving more, "
        "eating better or winding down?",
    ],
    "motivational_frame": [
        "Why does that matter to you right now? One sentence is plenty.",
        "What would be better for you if this habit stuck?",
    ],
    "prompt_anchor": [
        "Habits stick best when they follow something you already do. What could this one "
        "come after, like brushing your teeth or making coffee?",
        "What everyday moment could remind you to do it, for example after breakfast?",
    ],
    "preferred_time": [
        "What time of day suits you best for a short daily nudge (for example 7:30am)?",
        "When should I nudge you each day? A time like 8:00 or 'after lunch' works.",
    ],
    "additional_info": [
        "Anything else I should know to make this fit your day? (Or just say no.)",
        "Is there anything else that would help me tailor it, like your schedule? "
        "'No' is fine too.",
    ],
    "try_check": [
        "Would you like to try a one-minute version right now?",
        "Shall we do a one-minute version right now, while it's fresh?",
    ],
    "motivator": [
        "What made it easier today?",
        "What helped you make it happen?",
    ],
    "barrier": [
        "What got in the way today?",
        "What made it hard this time?",
    ],
}
PERSONALIZE_ORDER = [
    "habit_domain",
    "motivational_frame",
    "prompt_anchor",
    "preferred_time",
    "additional_info",
    "try_check",
]
ACKS = ["Got it.", "Thanks!", "Great.", "Nice.", "Love that."]
# The check-ins sent by time events ("how did it go?"), and how an answer to one reads.
CHECK_INS = [
    *feedback.HOW_DID_IT_WORK,
    *feedback.LAST_CHECK_IN,
    *events.REMINDERS,
    *events.HOW_DID_IT_GO,
]
WENT_WELL = {"well", "good", "great", "fine", "easy", "worked", "loved", "nice", "awesome", "yes"}
WENT_BADLY = {"hard", "difficult", "couldn't", "couldnt", "busy", "tired", "forgot", "no"}

# Habit ideas by domain keyword, each at three intensities: (low, normal, high), that is
# a 30-second version, the one-minute action, a slightly bigger step.
ACTIONS: list[tuple[tuple[str, ...], list[tuple[str, str, str]]]] = [
    (
        ("move", "moving", "walk", "step", "activ", "exercis", "fit", "run", "physical"),
        [
            (
                "stand up and take 20 steps",
                "stand up and take 50 steps",
                "take a brisk two-minute walk",
            ),
            ("do three slow squats", "do ten slow squats", "do twenty slow squats"),
            ("stretch for 30 seconds", "stretch for one minute", "stretch for two minutes"),
        ],
    ),
    (
        ("eat", "food", "fruit", "veg", "diet", "nutri", "water", "drink"),
        [
            (
                "take a few sips of water",
                "drink a full glass of water",
                "drink a full glass of water and refill your bottle",
            ),
            (
                "put one slice of fruit on your plate",
                "put one piece of fruit on your plate",
                "put a piece of fruit and a vegetable on your plate",
            ),
        ],
    ),
    (
        ("sleep", "bed", "wind", "rest"),
        [
            (
                "put your phone face down and take two slow breaths",
                "put your phone away and take five slow breaths",
                "put your phone in another room and take ten slow breaths",
            ),
            (
                "dim the lights for 30 seconds",
                "dim the lights for one minute",
                "dim the lights and sit quietly for two minutes",
            ),
        ],
    ),
    (
        ("stress", "calm", "mind", "medit", "anx", "relax"),
        [
            (
                "take one slow, deep breath",
                "take three slow, deep breaths",
                "take ten slow, deep breaths",
            ),
            (
                "close your eyes for 30 quiet seconds",
                "close your eyes for one quiet minute",
                "close your eyes for two quiet minutes",
            ),
        ],
    ),
    (
        ("read", "learn", "study", "book"),
        [
            ("read one paragraph", "read one page", "read three pages"),
            ("look up one new word", "learn one new word", "learn three new words"),
        ],
    ),
]
LEVEL = {"low": 0, "normal": 1, "high": 2}
DURATION = {"low": "Thirty seconds", "normal": "One minute", "high": "Two minutes"}
PRONOUNS = {
    "i": "you",
    "my": "your",
    "me": "you",
    "i'm": "you're",
    "im": "you're",
    "am": "are",
    "mine": "yours",
    "myself": "yourself",
    "we": "you",
    "our": "your",
}
ANCHOR_STARTS = ("after", "before", "when", "while", "once", "as soon as", "during", "right")


@dataclass
class Plan:
    """The model's plan for one turn: rounds of tool calls, then the reply written from
    their results (tool name → result text)."""

    rounds: list[list[tuple[str, dict[str, Any]]]] = field(default_factory=list)
    reply: Callable[[dict[str, str]], str] = lambda _: ""


class OfflineChatModel(BaseChatModel):
    """Scripted coach as a chat model; supports bind_tools like a real one."""

    @property
    def _llm_type(self) -> str:
        return "promptpipe-offline"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": MODEL_NAME}

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        message = respond(messages)
        message.response_metadata["model_name"] = MODEL_NAME
        return ChatResult(generations=[ChatGeneration(message=message)])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        # The script is pure computation: no thread hop, unlike the default.
        return self._generate(messages, stop, None, **kwargs)


def respond(messages: list[BaseMessage]) -> AIMessage:
    """The next message: either the habit prompt writer's line, or the coach's next step."""
    if messages and str(messages[0].content).startswith(prompts.WRITER_HEADER):
        return AIMessage(write_prompt(json.loads(str(messages[-1].content))))
    context: dict[str, Any] = {}
    for m in messages:
        found = prompts.read_context(str(m.content)) if m.type == "system" else None
        if found is not None:
            context = found
    last_human = max(i for i, m in enumerate(messages) if isinstance(m, HumanMessage))
    history = [m for m in messages[:last_human] if m.type in ("human", "ai")]
    text = str(messages[last_human].content)
    done = messages[last_human + 1 :]
    plan = plan_turn(context, history, text)
    rounds_done = sum(1 for m in done if isinstance(m, AIMessage) and m.tool_calls)
    if rounds_done < len(plan.rounds):
        calls = [
            {"name": name, "args": args, "id": f"call_{rounds_done}_{i}_{name}"}
            for i, (name, args) in enumerate(plan.rounds[rounds_done])
        ]
        return AIMessage("", tool_calls=calls)
    results = {m.name or "": str(m.content) for m in done if isinstance(m, ToolMessage)}
    tone = (context.get("profile") or {}).get("tone") or {}
    return AIMessage(styled(plan.reply(results), list(tone.get("tone_tags") or []), QUESTIONS))


# The coach's script -------------------------------------------------------------------


def _pick(options: Sequence[T], *seed: object) -> T:
    digest = hashlib.sha256("|".join(map(str, seed)).encode()).digest()
    return options[int.from_bytes(digest[:4], "big") % len(options)]


def last_question(history: list[BaseMessage]) -> str | None:
    """Which of its questions the model asked in its last message (None: none it knows)."""
    said = next((str(m.content) for m in reversed(history) if m.type == "ai"), None)
    if said is None:
        return None
    for step, variants in QUESTIONS.items():
        if any(v in said for v in variants) or SHORT_QUESTIONS.get(step, "\0") in said:
            return step
    if any(c in said for c in CHECK_INS):
        return "check_in"
    return "other"


TONE_ACKS = {
    "concise": "I'll keep my messages short.",
    "detailed": "I'll explain a bit more from now on.",
    "no_emojis": "No emojis from me.",
    "gentle_coach": "I'll go gently.",
    "direct_coach": "I'll be direct with you.",
    "casual": "I'll keep it casual.",
    "formal": "I'll keep a more formal tone.",
    "one_question_at_a_time": "One question at a time, then.",
}


def plan_turn(context: dict[str, Any], history: list[BaseMessage], text: str) -> Plan:
    pid = context.get("participant_id", "")
    seed = (pid, len(history))
    asked = last_question(history)
    tags = tone_request(text)
    if tags:  # an explicit style request: saved at full weight, then the same question
        acks = " ".join(TONE_ACKS[t] for t in tags)
        again = f" {_ask(asked, *seed)}" if asked in QUESTIONS else ""
        return Plan(
            rounds=[[("save_user_profile", {"tone_tags": tags, "tone_update_source": "explicit"})]],
            reply=lambda _: f"Got it. {acks}{again}",
        )
    if context.get("sub_state") == "FEEDBACK":
        return _feedback(context, asked, text, seed)
    return _intake(context, asked, text, seed)


def _ask(step: str, *seed: object) -> str:
    return _pick(QUESTIONS[step], step, *seed)


def _intake(context: dict[str, Any], asked: str | None, text: str, seed: tuple[Any, ...]) -> Plan:
    profile = context.get("profile") or {}
    if asked is None:
        opening = f"{_pick(GREETINGS, *seed)} {_pick(STARTER_PITCH, *seed)} {_ask('offer', *seed)}"
        return Plan(reply=lambda _: opening)
    if asked in QUESTIONS and asked != "offer" and is_greeting(text):
        return Plan(reply=lambda _: f"Hi again! {_ask(asked, *seed)}")  # ask once more
    if asked == "offer":
        if wants_personalize(text) or is_no(text):
            return Plan(reply=lambda _: f"Let's make it yours. {_ask('habit_domain', *seed)}")
        if wants_try_now(text) or is_yes(text):
            return _start(context, STARTER["preferred_time"], try_now=True, seed=seed, save=STARTER)
        return Plan(
            reply=lambda _: (
                "Just say 'try now' to start with the 50 steps, or "
                "'personalize' and we'll shape a habit around your day."
            )
        )
    if asked in PERSONALIZE_ORDER[:4]:
        value = text.strip().rstrip(".!")
        if asked == "habit_domain":  # "Moving more, I sit all day" → "moving more"
            value = re.split(r"[,.;!]| because | since | as ", value)[0].strip() or value
            value = value[:1].lower() + value[1:]
        if asked == "preferred_time":
            parsed = parse_time(text)
            if parsed is None:
                return Plan(
                    reply=lambda _: (
                        "Sorry, I didn't catch a time there. Could you "
                        "give me one like 7:30am, 18:00 or 'after lunch'?"
                    )
                )
            value = parsed
        step = PERSONALIZE_ORDER[PERSONALIZE_ORDER.index(asked) + 1]
        ack = _pick(ACKS, asked, *seed)
        if asked == "preferred_time":
            ack = f"{value} it is."
        return Plan(
            rounds=[[("save_user_profile", {asked: value})]],
            reply=lambda _: f"{ack} {_ask(step, *seed)}",
        )
    if asked == "additional_info":
        extra = [] if is_no(text) else [[("save_user_profile", {"additional_info": text.strip()})]]
        summary = (
            f"Here's the plan: {_anchor(profile.get('prompt_anchor', ''))}, one tiny step toward "
            f"{_you(profile.get('habit_domain', 'your habit'))}, "
            f"{_because(profile.get('motivational_frame', ''))}."
        )
        return Plan(rounds=extra, reply=lambda _: f"{summary} {_ask('try_check', *seed)}")
    if asked == "try_check" and (is_yes(text) or wants_try_now(text) or is_no(text)):
        at = profile.get("preferred_time") or "09:00"
        return _start(context, at, try_now=not is_no(text), seed=seed)
    # Anything else (a reply to a real model's question, a fresh start): next missing step.
    missing = [s for s in PERSONALIZE_ORDER[:4] if not profile.get(s)]
    step = missing[0] if missing else "try_check"
    return Plan(reply=lambda _: _ask(step, *seed))


def _start(
    context: dict[str, Any],
    target: str,
    try_now: bool,
    seed: tuple[Any, ...],
    save: dict[str, str] | None = None,
) -> Plan:
    """End of intake: save, schedule the daily prompt, move to FEEDBACK, maybe try now."""
    first: list[tuple[str, dict[str, Any]]] = []
    if save:
        first.append(("save_user_profile", dict(save)))
    first.append(("scheduler", {"action": "create", "type": "fixed", "fixed_time": target}))
    first.append(("transition_state", {"target_state": "FEEDBACK", "reason": "intake complete"}))
    rounds = [first]
    if try_now:
        rounds.append([("generate_habit_prompt", {"delivery_mode": "immediate"})])

    def reply(results: dict[str, str]) -> str:
        schedule = _result_json(results.get("scheduler", ""))
        if schedule.get("success"):
            nudge = (
                f"I'll send you a nudge every day at {schedule['prompt_time']}, a few minutes "
                f"before {schedule['target_time']}. When it comes, tap Done or Next time."
            )
        else:
            nudge = "I couldn't set up your daily nudge just now; tell me a time and I'll retry."
        if not try_now:
            return f"No problem, we'll start tomorrow. {nudge}"
        prompt = results.get("generate_habit_prompt", "")
        lead = _pick(["Let's do it!", "Great, let's go!", "Love it, here we go."], *seed)
        return f"{lead} {prompt} {nudge}"

    return Plan(rounds=rounds, reply=reply)


def _feedback(context: dict[str, Any], asked: str | None, text: str, seed: tuple[Any, ...]) -> Plan:
    profile = context.get("profile") or {}
    schedules = context.get("schedules") or []
    if wants_fresh_start(text):
        return Plan(
            rounds=[[("transition_state", {"target_state": "INTAKE", "reason": "new habit"})]],
            reply=lambda _: f"Happy to start fresh! {_ask('habit_domain', *seed)}",
        )
    if wants_new_time(text):
        target = parse_time(text) or "09:00"
        return Plan(
            rounds=[
                [
                    ("save_user_profile", {"preferred_time": target}),
                    ("scheduler", {"action": "create", "type": "fixed", "fixed_time": target}),
                ]
            ],
            reply=lambda r: (
                f"All set: your daily nudge now comes at "
                f"{_result_json(r.get('scheduler', '')).get('prompt_time', target)}, "
                f"a few minutes before {target}."
                if _result_json(r.get("scheduler", "")).get("success")
                else "Hmm, I couldn't move your nudge just now. Could you try again later?"
            ),
        )
    tapped = text.strip().lower() in ("done", "next time")  # a button, not an answer
    if asked == "motivator" and not tapped:
        save = {"last_motivator": text.strip()}
        if context.get("last_habit_prompt"):
            save["last_successful_prompt"] = context["last_habit_prompt"]
        thanks = _pick(["Thanks, I'll remember that.", "Good to know, I'll build on that."], *seed)
        return Plan(
            rounds=[[("save_user_profile", save)]],
            reply=lambda _: f"{thanks} See you at tomorrow's nudge!",
        )
    if asked == "barrier" and not tapped:
        tweak = suggest_tweak(text, profile)
        return Plan(
            rounds=[[("save_user_profile", {"last_barrier": text.strip(), "last_tweak": tweak})]],
            reply=lambda _: f"Thanks for telling me. A small tweak for next time: {tweak}.",
        )
    went_well = asked == "check_in" and bool(set(words(text)) & WENT_WELL)
    if is_done(text) or (went_well and not is_next_time(text) and not is_no(text)):
        cheer = _pick(["Great work!", "Yes! Well done.", "That's the way!", "Nice going!"], *seed)
        return Plan(reply=lambda _: f"{cheer} {_ask('motivator', *seed)}")
    went_badly = asked == "check_in" and bool(set(words(text)) & WENT_BADLY)
    if is_next_time(text) or went_badly or (asked not in ("motivator", "barrier") and is_no(text)):
        kind = _pick(["No problem, it happens.", "That's okay, tomorrow is a new try."], *seed)
        return Plan(reply=lambda _: f"{kind} {_ask('barrier', *seed)}")
    when = schedules[0]["prompt_time"] if schedules else None
    later = f"Your next nudge comes at {when}." if when else "I'll check in with you soon."
    opener = _pick(["Thanks for the message!", "Good to hear from you.", "Hi again!"], *seed)
    return Plan(
        reply=lambda _: f"{opener} {later} Whenever you've done your habit, just tell me 'done'."
    )


def suggest_tweak(barrier: str, profile: dict[str, Any]) -> str:
    lowered = barrier.lower()
    anchor = _anchor(profile.get("prompt_anchor") or "your usual moment")
    if any(w in lowered for w in ("forgot", "forget", "remember", "slipped")):
        return f"leave a visual cue, like a sticky note, where you'll see it {anchor}"
    if any(w in lowered for w in ("busy", "time", "late", "rush", "work", "meeting")):
        return f"shrink it to a 30-second version {anchor}"
    if any(w in lowered for w in ("tired", "energy", "sick", "exhausted", "sleep")):
        return f"do the easiest possible version {anchor}, even sitting down"
    return f"try it {anchor}, even for just 30 seconds"


def _result_json(result: str) -> dict[str, Any]:
    try:
        value = json.loads(result)
    except ValueError:
        return {}
    return dict(value) if isinstance(value, dict) else {}


def _you(text: str) -> str:
    """Speak to the participant: 'I want energy' → 'you want energy'."""
    out = []
    for word in text.strip().rstrip(".!").split():
        swapped = PRONOUNS.get(word.lower())
        out.append(swapped if swapped else word)
    return " ".join(out)


SUBJECTS = {"i", "you", "it", "my", "we", "this", "that", "there", "being", "having", "your"}
VERBS = {
    "feel",
    "be",
    "get",
    "have",
    "sleep",
    "stay",
    "keep",
    "live",
    "look",
    "lose",
    "gain",
    "reduce",
    "improve",
    "stop",
    "start",
    "eat",
    "move",
    "walk",
    "play",
    "spend",
    "save",
    "breathe",
    "focus",
    "think",
    "enjoy",
    "relax",
    "become",
    "do",
    "make",
    "build",
    "run",
}


def _because(frame: str) -> str:
    """The motivation as a 'because' clause, however it was phrased."""
    frame = re.sub(r"^(to|so|because|so that)\s+", "", frame.strip().rstrip(".!"), flags=re.I)
    if not frame:
        return "because small steps add up"
    first = frame.split()[0].lower()
    said = _you(frame)
    if first in SUBJECTS:
        return f"because {said}"
    if first in VERBS:
        return f"because it helps you {said}"
    if first.endswith("ing"):
        return f"because {said} matters to you"
    return f"because you want {said}"  # a noun phrase: "more energy"


def _anchor(anchor: str) -> str:
    anchor = _you(anchor)
    if not anchor.lower().startswith(ANCHOR_STARTS):
        anchor = f"after {anchor}"
    return anchor[0].lower() + anchor[1:] if anchor else anchor


def write_prompt(request: dict[str, Any]) -> str:
    """The habit prompt writer: one line, anchor → one-minute action → why, then a check."""
    profile = request.get("profile") or {}
    seed = json.dumps(profile, sort_keys=True)
    domain = str(profile.get("habit_domain", "")).lower()
    level = str(request.get("intensity") or "normal")
    size = LEVEL.get(level, 1)
    action = None
    for keys, ideas in ACTIONS:
        if any(k in domain for k in keys):
            action = _pick(ideas, seed)[size]
            break
    minutes = ("30 seconds", "one minute", "two minutes")[size]
    action = action or f"spend {minutes} on {_you(domain) or 'your habit'}"
    anchor = _anchor(str(profile.get("prompt_anchor", "")))
    why = _because(str(profile.get("motivational_frame") or ""))
    check = _pick(["Doable?", "Can you do that?", "Sound doable?"], seed, request["delivery_mode"])
    tweak = request.get("tweak")  # only in the one scheduled prompt that uses it
    shapes = [
        f"{anchor[:1].upper()}{anchor[1:]}, {action}, {why}. {check}",
        f"Right {anchor}, try this: {action}. {DURATION.get(level, 'One minute')}, {why}. {check}",
    ]
    line = _pick(shapes, seed, request["delivery_mode"])
    if tweak:
        line = f"{line} (Today's tweak: {tweak}.)"
    return line
