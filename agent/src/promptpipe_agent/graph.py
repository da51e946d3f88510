"""The coaching flow as a LangGraph graph. Each turn enters by its kind and sub-state: a
message goes to the INTAKE or the FEEDBACK agent (the model bound to the four tools, a tool
node, and back, until the model answers or the rounds run out); a due event goes to the
event node. The graph is compiled once; each run finds its turn in the config."""

from __future__ import annotations

import copy
import json
import logging
import operator
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, Literal, TypedDict
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.prebuilt import ToolNode
from langgraph.prebuilt.tool_node import ToolCallRequest, ToolInvocationError
from langgraph.types import Command

from promptpipe_agent import events, feedback, intensity, prompts
from promptpipe_agent.coach import (
    FEEDBACK,
    INTAKE,
    Conversation,
    ModelUnavailable,
    Turn,
    call_model,
)
from promptpipe_agent.delivery import Scheduler, SchedulingRefused
from promptpipe_agent.tools import (
    ProfileIncomplete,
    TurnContext,
    cancel_auto_feedback,
    coach_tools,
    turn_of,
)
from promptpipe_agent.understanding import is_done, is_next_time

log = logging.getLogger("promptpipe_agent")

# What the participant reads when the model keeps calling tools past the bound.
ROUNDS_EXHAUSTED = "All set, I've updated your plan. Anything else you'd like to change?"


class CoachState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], operator.add]
    module: str  # "intake" or "feedback": the agent that runs this turn
    rounds: int
    event: dict[str, Any]
    intensity_step: int  # the message answers the intensity check: -1, 0 or +1
    said: events.Said


def _tool_error(exc: Exception) -> str:
    """Mistakes the model can fix are told to it; anything else fails the turn."""
    if isinstance(exc, ToolInvocationError | ProfileIncomplete | SchedulingRefused):
        return f"Error: {exc}"
    raise exc


async def _one_at_a_time(
    request: ToolCallRequest,
    execute: Callable[[ToolCallRequest], Awaitable[ToolMessage | Command[Any]]],
) -> ToolMessage | Command[Any]:
    """ToolNode runs a round's calls concurrently; ours change one shared turn, and a
    prompt written in the same round as the profile it needs must see it saved."""
    async with turn_of(request.runtime.config).tool_lock:
        return await execute(request)


class GraphCoach:
    """The Coach protocol on the graph, with any LangChain chat model."""

    def __init__(
        self,
        model: BaseChatModel,
        model_name: str,
        scheduler: Scheduler,
        prep_minutes: int = 10,
        max_rounds: int = 6,
        timing: events.Timing | None = None,
        default_tone: list[str] | None = None,
    ) -> None:
        self.model = model
        self.default_tone = default_tone or []
        self.model_name = model_name
        self.scheduler = scheduler
        self.prep_minutes = prep_minutes
        self.max_rounds = max_rounds
        self.timing = timing or events.Timing()
        tools = coach_tools()
        self.bound = model.bind_tools(tools)
        self.graph = self._build(
            ToolNode(tools, handle_tool_errors=_tool_error, awrap_tool_call=_one_at_a_time)
        )

    def _build(self, tool_node: ToolNode) -> Any:
        graph = StateGraph(CoachState)
        graph.add_node("intake", self._agent)
        graph.add_node("feedback", self._agent)
        graph.add_node("tools", tool_node)
        graph.add_node("event", self._event)
        graph.add_node("intensity", self._intensity)
        graph.add_conditional_edges(START, _route, ["intake", "feedback", "event", "intensity"])
        for agent in ("intake", "feedback"):
            graph.add_conditional_edges(agent, _after_agent, ["tools", END])
        graph.add_conditional_edges("tools", _back_to_agent, ["intake", "feedback"])
        graph.add_edge("event", END)
        graph.add_edge("intensity", END)
        return graph.compile()

    def _turn(self, conversation: Conversation) -> TurnContext:
        return TurnContext(
            participant_id=conversation.participant_id,
            phone_number=conversation.phone_number,
            now=conversation.now,
            turn_key=conversation.turn_key,
            sub_state=conversation.sub_state,
            profile=copy.deepcopy(conversation.profile),
            flow=copy.deepcopy(conversation.flow),
            scheduler=conversation.scheduler or self.scheduler,
            writer=self.model,
            prep_minutes=self.prep_minutes,
        )

    async def respond(self, conversation: Conversation, message: str) -> Turn:
        turn = self._turn(conversation)
        step = _intensity_answer(turn, message, conversation.history)
        if step is not None:  # not an answer to the daily prompt: its reminder stays
            turn.flow["last_message_at"] = turn.now.isoformat()
            await feedback.stop(turn, "answered")  # but they wrote: no check-in now
            final = await self._run({"messages": [], "intensity_step": step}, turn)
            return self._result(turn, final["said"].text, [], turn.tool_calls)
        await self._answering_prompt(turn, message, conversation.history)
        module = "feedback" if turn.sub_state == FEEDBACK else "intake"
        messages: list[AnyMessage] = [
            SystemMessage(prompts.coach_system(turn.sub_state)),
            SystemMessage(prompts.context_message(self._facts(turn))),
        ]
        for item in conversation.history:
            kind = HumanMessage if item["role"] == "user" else AIMessage
            messages.append(kind(item["content"]))
        messages.append(HumanMessage(message))
        final = await self._run({"messages": messages, "module": module, "rounds": 0}, turn)
        reply = _reply_text(final["messages"][-1])
        if turn.chat_prompt and reply:
            await feedback.start(turn, self.timing.feedback_initial_seconds)
        reply, buttons = self._maybe_ask_intensity(turn, reply)
        return self._result(turn, reply, buttons, _tool_calls(final["messages"]))

    def _maybe_ask_intensity(
        self, turn: TurnContext, reply: str
    ) -> tuple[str, list[dict[str, str]]]:
        """On a day the check is due, the reply that closes the participant's exchange about
        that day's prompt ends with "How's the intensity?" and carries its buttons. They
        have just written, so WhatsApp's 24-hour window is open. Applied to whatever the
        model said, so a real model and the offline one ask alike."""
        today = events.local_day(turn)
        if not (
            turn.sub_state == FEEDBACK
            and not turn.flow.get("paused")  # they asked for quiet: no question now
            and not turn.flow.get("stopped")
            and turn.flow.get("prompt_answered_on") == today.isoformat()
            and intensity.closes_exchange(reply)
            and intensity.due(
                int(turn.profile.get("total_prompts", 0)),
                self.timing.intensity_from_prompt,
                today,
                turn.flow.get("intensity_next_on"),
            )
        ):
            return reply, []
        level = intensity.level_of(turn.profile)
        # Asked (answered or not): not again before the quiet days are over.
        turn.flow["intensity_next_on"] = intensity.next_check(today, changed=False)
        turn.flow["intensity_check"] = {"asked_at": turn.now.isoformat(), "level": level}
        return f"{reply}\n\n{intensity.question(level)}", intensity.buttons(level)

    async def on_event(
        self, conversation: Conversation, kind: str, event_id: str, payload: dict[str, Any]
    ) -> Turn:
        turn = self._turn(conversation)
        event = {"kind": kind, "event_id": event_id, "payload": payload}
        final = await self._run({"messages": [], "event": event}, turn)
        said: events.Said = final["said"]
        result = self._result(turn, said.text, said.buttons, turn.tool_calls)
        result.template = said.template
        return result

    async def _run(self, state: CoachState, turn: TurnContext) -> dict[str, Any]:
        config: RunnableConfig = {
            "configurable": {"turn": turn},
            "recursion_limit": 2 * self.max_rounds + 4,
        }
        result: dict[str, Any] = await self.graph.ainvoke(state, config)
        return result

    def _result(
        self, turn: TurnContext, reply: str, buttons: list[dict[str, str]], calls: list[Any]
    ) -> Turn:
        return Turn(
            reply=reply,
            sub_state=turn.sub_state,
            profile=turn.profile,
            flow=turn.flow,
            buttons=buttons,
            tool_calls=calls,
            model=self.model_name,
        )

    async def _answering_prompt(
        self, turn: TurnContext, message: str, history: list[dict[str, str]]
    ) -> None:
        """A reply to the daily prompt cancels its reminder and the automatic switch, and a
        "Done" counts a success (server-side, whatever the model makes of it), as does a
        "Done" to a habit prompt sent in the chat (the try-now path), whose feedback timers
        any message cancels."""
        turn.flow["last_message_at"] = turn.now.isoformat()
        collecting = await feedback.stop(turn, "answered")
        today = events.local_day(turn).isoformat()
        if turn.flow.get("last_prompt_day") == today and (
            is_done(message) or is_next_time(message)
        ):
            turn.flow["prompt_answered_on"] = today  # also after the reminder, by its buttons
        pending = turn.flow.get("pending_prompt")
        if not pending or turn.now < datetime.fromisoformat(pending["sent_at"]):
            said = history[-1]["content"] if history else ""
            prompt = turn.flow.get("last_habit_prompt")
            if (collecting or (prompt and prompt in said)) and is_done(message):
                turn.profile["success_count"] = int(turn.profile.get("success_count", 0)) + 1
            return
        await cancel_auto_feedback(turn)
        await turn.scheduler.cancel_event(turn.participant_id, pending["reminder_event_id"])
        turn.flow["pending_prompt"] = None
        turn.flow["prompt_responded_at"] = turn.now.isoformat()
        turn.answering_prompt = True
        if is_done(message):
            turn.profile["success_count"] = int(turn.profile.get("success_count", 0)) + 1
        if turn.sub_state == INTAKE:  # an answer to the prompt is feedback on it
            turn.sub_state = FEEDBACK

    def _facts(self, turn: TurnContext) -> dict[str, Any]:
        profile = {k: v for k, v in turn.profile.items() if k not in ("created_at", "updated_at")}
        if self.default_tone and not (profile.get("tone") or {}).get("tone_tags"):
            # The coach's own manner (AGENT_DEFAULT_TONE) until the participant asks for
            # another; shown to the model only, never saved as the participant's choice.
            profile["tone"] = {**(profile.get("tone") or {}), "tone_tags": self.default_tone}
        zone = turn.flow.get("timezone")
        local = None
        if zone:
            try:
                local = turn.now.astimezone(ZoneInfo(zone)).strftime("%A %H:%M")
            except (ZoneInfoNotFoundError, ValueError):
                local = None
        return {
            "participant_timezone": zone,
            "participant_local_time": local,
            "participant_id": turn.participant_id,
            "sub_state": turn.sub_state,
            "now_utc": turn.now.isoformat(timespec="minutes"),
            "profile": profile,
            "missing_profile_fields": [
                f
                for f in ("habit_domain", "motivational_frame", "prompt_anchor", "preferred_time")
                if not turn.profile.get(f)
            ],
            "schedules": turn.flow.get("schedules") or [],
            "last_habit_prompt": turn.flow.get("last_habit_prompt"),
            "answering_daily_prompt": turn.answering_prompt,
            "prep_time_minutes": turn.prep_minutes,
            # A pause the participant asked for (daily nudges off), and a stop the study
            # team has since undone (else their messages would not reach the coach).
            "paused": _shown(turn.flow.get("paused"), ("since", "days", "target_time")),
            "stopped": _shown(turn.flow.get("stopped"), ("at",)),
        }

    async def _agent(self, state: CoachState, config: RunnableConfig) -> CoachState:
        rounds = state.get("rounds", 0)
        if rounds >= self.max_rounds:
            log.warning("tool rounds exhausted", extra={"rounds": rounds})
            return {"messages": [AIMessage(ROUNDS_EXHAUSTED)], "rounds": rounds}
        answer = await call_model(self.bound, state["messages"])
        if not (answer.tool_calls or _reply_text(answer)):
            log.error("model gave an unusable answer", extra={"answer": repr(answer)[:500]})
            raise ModelUnavailable("The coach's language model gave an unusable answer.")
        return {"messages": [answer], "rounds": rounds + 1}

    async def _event(self, state: CoachState, config: RunnableConfig) -> CoachState:
        event = state["event"]
        said = await events.handle(
            turn_of(config), event["kind"], event["event_id"], event["payload"], self.timing
        )
        return {"said": said}

    async def _intensity(self, state: CoachState, config: RunnableConfig) -> CoachState:
        """The answer to "How's the intensity?" moves it one step, clamped, in the profile;
        the next habit prompt is written at the new size."""
        turn = turn_of(config)
        step = state["intensity_step"]
        old, new = intensity.apply(turn.profile, turn.flow, events.local_day(turn), step)
        changed = new != old
        turn.tool_calls.append(
            {
                "name": "save_user_profile",
                "args": {"intensity": new},
                "result": f"intensity {old} → {new}" if changed else "intensity unchanged",
            }
        )
        return {"said": events.Said(intensity.acknowledge(old, new, step))}


def _shown(value: dict[str, Any] | None, keys: tuple[str, ...]) -> dict[str, Any] | None:
    return {k: value.get(k) for k in keys} if value else None


def _intensity_answer(turn: TurnContext, message: str, history: list[dict[str, str]]) -> int | None:
    """The step this message asks of an open intensity check, if it answers one."""
    if not turn.flow.get("intensity_check"):
        return None
    said = history[-1]["content"] if history else ""
    return intensity.read_answer(message, question_was_last=intensity.QUESTION in said)


# The routers are coroutines: LangGraph would run plain functions on a thread pool.


async def _route(state: CoachState) -> Literal["intake", "feedback", "event", "intensity"]:
    if state.get("event"):
        return "event"
    if "intensity_step" in state:
        return "intensity"
    return "feedback" if state.get("module") == "feedback" else "intake"


async def _after_agent(state: CoachState) -> Literal["tools", "__end__"]:
    last = state["messages"][-1]
    return "tools" if isinstance(last, AIMessage) and last.tool_calls else "__end__"


async def _back_to_agent(state: CoachState) -> Literal["intake", "feedback"]:
    return "feedback" if state.get("module") == "feedback" else "intake"


def _reply_text(message: AnyMessage) -> str:
    """The reply; a model told to answer {"thinking", "content"} (PromptPipe's wrapper) is
    unwrapped, so its thinking never reaches the participant."""
    text = message.content if isinstance(message.content, str) else ""
    if isinstance(message.content, list):
        text = "".join(
            str(part.get("text", "")) if isinstance(part, dict) else str(part)
            for part in message.content
        )
    text = text.strip()
    if text.startswith("{"):
        try:
            wrapped = json.loads(text)
        except ValueError:
            return text
        if isinstance(wrapped, dict) and isinstance(wrapped.get("content"), str):
            return str(wrapped["content"]).strip()
    return text


def _tool_calls(messages: list[AnyMessage]) -> list[dict[str, Any]]:
    """Each tool call of the turn with its result, for the inspector."""
    results = {m.tool_call_id: str(m.content) for m in messages if isinstance(m, ToolMessage)}
    calls = []
    for m in messages:
        if isinstance(m, AIMessage):
            for call in m.tool_calls:
                calls.append(
                    {
                        "name": call["name"],
                        "args": call["args"],
                        "result": results.get(call["id"] or ""),
                    }
                )
    return calls
