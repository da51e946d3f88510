"""Record and replay a model's calls: a conversation found with a real LLM becomes a test
that runs with no network. Recording writes every request and answer to a readable JSON
file; replaying answers from it and fails loudly, with a diff, when a request changed."""

from __future__ import annotations

import difflib
import json
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict, PrivateAttr

FORMAT_VERSION = 1


class CassetteMismatch(Exception):
    """A replayed session asked the model something the cassette did not record. Not an
    AgentError on purpose: its text (prompts, a diff) must never reach the wire."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def request_of(
    messages: Sequence[BaseMessage], tools: list[dict[str, Any]] | None
) -> dict[str, Any]:
    """What identifies a model call: the messages as roles and contents, and the tools."""
    shown: list[dict[str, Any]] = []
    for m in messages:
        item: dict[str, Any] = {"role": m.type, "content": m.content}
        if isinstance(m, AIMessage) and m.tool_calls:
            item["tool_calls"] = [
                {"id": c["id"], "name": c["name"], "args": c["args"]} for c in m.tool_calls
            ]
        if isinstance(m, ToolMessage):
            item["tool_call_id"] = m.tool_call_id
        shown.append(item)
    return {"messages": shown, "tools": tools or []}


def _answer_of(message: BaseMessage) -> dict[str, Any]:
    calls = message.tool_calls if isinstance(message, AIMessage) else []
    return {
        "content": message.content,
        "tool_calls": [{"id": c["id"], "name": c["name"], "args": c["args"]} for c in calls],
        "model_name": message.response_metadata.get("model_name", ""),
    }


def _message_of(answer: dict[str, Any]) -> AIMessage:
    return AIMessage(
        answer["content"],
        tool_calls=[
            {"id": c["id"], "name": c["name"], "args": c["args"], "type": "tool_call"}
            for c in answer["tool_calls"]
        ],
        response_metadata={"model_name": answer.get("model_name", "")},
    )


def _pretty(value: Any) -> list[str]:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True).splitlines()


class CassetteChatModel(BaseChatModel):
    """Wraps a chat model (record) or stands in for one (replay)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    path: Path
    mode: Literal["record", "replay"]
    inner: BaseChatModel | None = None

    _calls: list[dict[str, Any]] = PrivateAttr(default_factory=list)
    _used: set[int] = PrivateAttr(default_factory=set)
    _asked: int = PrivateAttr(default=0)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def model_post_init(self, context: Any) -> None:
        if self.mode == "replay":
            data = json.loads(self.path.read_text())
            if data.get("version") != FORMAT_VERSION:
                raise ValueError(f"{self.path}: not a version {FORMAT_VERSION} cassette")
            self._calls = list(data["calls"])
        elif self.inner is None:
            raise ValueError("recording needs the model to record")

    @property
    def _llm_type(self) -> str:
        return f"cassette-{self.mode}"

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
        if self.mode == "record":
            raise NotImplementedError("recording runs asynchronously only")
        return self._replay(request_of(messages, kwargs.get("tools")))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        request = request_of(messages, kwargs.get("tools"))
        if self.mode == "replay":
            return self._replay(request)
        assert self.inner is not None
        result = await self.inner._agenerate(messages, stop, None, **kwargs)
        self._record(request, result.generations[0].message)
        return result

    def _record(self, request: dict[str, Any], message: BaseMessage) -> None:
        with self._lock:
            self._calls.append({"request": request, "response": _answer_of(message)})
            data = {"version": FORMAT_VERSION, "calls": self._calls}
            self.path.parent.mkdir(parents=True, exist_ok=True)
            partial = self.path.with_suffix(self.path.suffix + ".partial")
            partial.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
            os.replace(partial, self.path)  # never a half-written cassette

    def _replay(self, request: dict[str, Any]) -> ChatResult:
        with self._lock:
            self._asked += 1
            asked = self._asked
            unused = [i for i in range(len(self._calls)) if i not in self._used]
            for i in unused:
                if self._calls[i]["request"] == request:
                    self._used.add(i)
                    message = _message_of(self._calls[i]["response"])
                    return ChatResult(generations=[ChatGeneration(message=message)])
        if not unused:
            raise CassetteMismatch(
                f"Model call #{asked} was not recorded: all {len(self._calls)} calls of "
                f"cassette {self.path} are used up."
            )
        nearest = unused[0]
        diff = "\n".join(
            difflib.unified_diff(
                _pretty(self._calls[nearest]["request"]),
                _pretty(request),
                fromfile=f"recorded call #{nearest + 1}",
                tofile=f"model call #{asked}",
                lineterm="",
            )
        )
        raise CassetteMismatch(
            f"Model call #{asked} does not match cassette {self.path}: the prompt changed.\n{diff}"
        )
