"""A deterministic chat model that plays the coaching script, so the whole flow runs with no
network and no key. It is a LangChain chat model like any other: it reads the messages the
graph sends (instructions, the JSON context, history, the new message, tool results), and
answers with tool calls or a reply. It keeps no state of its own: it recognizes which
question it asked last from its own phrase bank, and recomputes its plan for the turn.
The script: offline_intake.py and offline_feedback.py; its words: offline_script.py."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

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

from promptpipe_agent import prompts
from promptpipe_agent.habits import ACTIONS
from promptpipe_agent.offline_feedback import feedback, suggest_tweak
from promptpipe_agent.offline_intake import STARTER, intake
from promptpipe_agent.offline_script import (
    CHECKS,
    QUESTIONS,
    Moment,
    Plan,
    action_of,
    anchor_of,
    capital,
    goal_of,
    join,
    last_question,
    seeded,
    sentences,
)
from promptpipe_agent.offline_style import styled
from promptpipe_agent.understanding import tone_request

__all__ = ["ACTIONS", "MODEL_NAME", "QUESTIONS", "STARTER", "OfflineChatModel", "suggest_tweak"]

MODEL_NAME = "offline-coach-1"


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
    asked, previous = last_question(history)
    moment = Moment(context=context, text=text, asked=asked, previous=previous, turn=len(history))
    plan = plan_turn(moment)
    rounds_done = sum(1 for m in done if isinstance(m, AIMessage) and m.tool_calls)
    if rounds_done < len(plan.rounds):
        calls = [
            {"name": name, "args": args, "id": f"call_{rounds_done}_{i}_{name}"}
            for i, (name, args) in enumerate(plan.rounds[rounds_done])
        ]
        return AIMessage("", tool_calls=calls)
    results = {m.name or "": str(m.content) for m in done if isinstance(m, ToolMessage)}
    tone = moment.profile.get("tone") or {}
    reply = styled(plan.reply(results), list(tone.get("tone_tags") or []), QUESTIONS)
    return AIMessage(fresh(reply, previous) or "Okay.")


def fresh(reply: str, previous: str) -> str:
    """The reply without the sentences it would repeat from the coach's previous message
    (never the same sentence twice in a row), unless nothing else would be left."""
    said = set(sentences(previous))
    kept = [s for s in sentences(reply) if s not in said]
    if not kept or len(kept) == len(sentences(reply)):
        return reply
    return " ".join(kept)


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


def plan_turn(m: Moment) -> Plan:
    tags = tone_request(m.text)
    if tags:  # an explicit style request: saved at full weight, then the same question
        acks = " ".join(TONE_ACKS[t] for t in tags)
        again = m.ask(m.asked) if m.asked in QUESTIONS else ""
        return Plan(
            rounds=[[("save_user_profile", {"tone_tags": tags, "tone_update_source": "explicit"})]],
            reply=lambda _: join("Got it.", acks, again),
        )
    if m.context.get("sub_state") == "FEEDBACK":
        return feedback(m)
    return intake(m)


def write_prompt(request: dict[str, Any]) -> str:
    """The habit prompt writer: one line, anchor → one-minute action → why, then a check.
    In the chat (try now) it is for right now, so it leaves the anchor out."""
    profile = request.get("profile") or {}
    seed = json.dumps(profile, sort_keys=True)
    level = str(request.get("intensity") or "normal")
    mode = request.get("delivery_mode")
    action = action_of(profile, level)
    goal = goal_of(profile)
    why = f", {goal}" if goal else ""
    check = seeded(CHECKS, seed, mode)
    if mode == "immediate":
        line = f"Try it now: {action}{why}. {check}"
    else:
        anchor = capital(anchor_of(profile))
        shapes = [
            f"{anchor}, {action}{why}. {check}",
            f"{anchor}, try this: {action}{why}. {check}",
        ]
        line = seeded(shapes, seed, mode)
    tweak = request.get("tweak")  # only in the one scheduled prompt that uses it
    if tweak and level == "low" and "30" in tweak:
        tweak = None  # "shrink it to 30 seconds": the habit is that size already
    if tweak:
        line = f"{line} (Today's tweak: {tweak}.)"
    return line
