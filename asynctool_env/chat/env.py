"""The chat interface: an LLM plays the same simulator through OpenAI-style messages.

:class:`ChatEnv` is a sibling of the Gymnasium env, not a ``gym.Env``: its observations are
message lists and its actions are assistant messages, which Gymnasium spaces cannot express
usefully (see ECOSYSTEM notes on ``Text``). Its API follows Gymnasium's shape::

    env = ChatEnv(split="test")
    messages, info = env.reset(seed=0, options={"instance_index": 3})
    while True:
        reply = model(env.messages, tools=env.tools)          # an assistant message
        new_messages, terminated, truncated, info = env.step(reply)
        if terminated or truncated:
            break
    info["metrics"]                                           # the same metrics as RL agents

How a round looks to the model
------------------------------
One assistant message is one turn, so one round: the clock moves after every reply.

* The first ``user`` message states the tasks (ids ``T1``, ``T2``...) and the rules.
* In its reply the model makes tool calls (native ``tool_calls``, or calls written in the
  text: JSON, ``<tool_call>`` blocks, ``fn(a=1)``; see :mod:`asynctool_env.chat.parsing`),
  calls ``wait``, or calls ``submit_answer(task_id, answer)``.
* Every native tool call is acknowledged at once by a ``tool`` message with its call id
  (the OpenAI API requires one per call): ``{"status": "pending", ...}`` for an accepted
  call, ``{"error": ...}`` for a refused one. The actual response comes later.
* Responses arrive at the start of a later round, in a ``user`` message that lists, for each
  arrival, the call id, the tool and the response; then the calls still pending and the
  open tasks. Calls written in text get their acknowledgements there too.

What is refused (and counted as invalid actions in the metrics): unparsable replies, unknown
tools, arguments that do not fit the schema, calls past ``max_calls_per_turn``, answers to
unknown or closed tasks, replies with no call at all. A refusal never ends the episode: the
model gets the error and the next round.

Scoring uses the simulator underneath (the same trace as the RL env), and the one judge of
written calls, :class:`~asynctool_env.core.resolver.CallResolver`: a call counts for the
gold step it serves *by effect* (canonical arguments, or a read answered with the gold
response); it is a dependency violation only when it uses a value no response delivered yet;
a call that serves no gold step runs the scenario's backend on the task's world and answers
whatever the backend answers (an error for an unknown id). An answer is judged by outcome
and by facts: the task's writes made, no wrong write, and every fact the task asks for
stated, after it arrived. The end-of-episode ``info["task_results"]`` says, per task, what
was judged and why.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from asynctool_env.chat.meta import meta_tools
from asynctool_env.chat.parsing import ParsedCall, ParseProblem, check_call, parse_reply
from asynctool_env.core.checks import check_flag, check_optional_whole, check_whole
from asynctool_env.core.latency import LatencyProfile, make_latency_profile
from asynctool_env.core.resolver import CallResolver, Prepared
from asynctool_env.core.simulator import (
    AnswerEvent,
    CallKind,
    DeliveryEvent,
    RevokeEvent,
    Simulator,
    StepStatus,
    TaskStatus,
    check_capacity_tools,
    normalize_tool_capacity,
)
from asynctool_env.core.task import Instance
from asynctool_env.core.tools import Tool
from asynctool_env.interface import (
    MAX_STEPS_LIMIT,
    MAX_TASKS_LIMIT,
    check_reset_options,
    info_counters,
    instance_source,
)
from asynctool_env.metrics import final_metrics
from asynctool_env.scenarios import SCENARIOS, TOOLS

SYSTEM_PROMPT = """\
You are an assistant working on several tasks at once with tools whose responses arrive late.

How time works:
- The conversation advances in rounds. Each of your replies is one round.
- In a reply you may call {cap} ({meta} do not count). A call is
  acknowledged at once as "pending"; its response arrives a few rounds later{arrivals}
- Use waiting time well: while one task waits for a response, make progress on another task.{queues}
- Never call a step before the responses it needs have arrived: use only values the task
  states or a response gave you. A call that uses anything else (a guessed or remembered id,
  name or amount) is refused and not made.
- Calls take effect when you make them. Make each write the task asks for exactly once:
  a repeated, extra or undone write (also after you answer) fails the task.
- When a task's work is done and its responses have arrived, call `submit_answer` with the task
  id and the answer it asks for: state each value asked for once, as the responses gave it,
  saying which is which (or "done" if it asks for none), in a sentence or as an object keyed
  by what the task asks for.
  Do not offer alternatives or rival candidates for a value ("X or Y", ranges, lists), and do
  not paste whole responses. Each task can be answered once.
Answer with tool calls only."""

#: The system prompt's note on contention (``tool_capacity``), completes :data:`SYSTEM_PROMPT`.
_QUEUES = """
- Tools are shared servers that serve {capacity} at once. A call to a busy tool waits in
  its queue: its acknowledgement says `queued_rounds`, the rounds it waits before the tool
  starts it, and its response arrives that much later. Calls to other tools do not wait."""

#: How responses reach the model, per notification mode (completes :data:`SYSTEM_PROMPT`).
_ARRIVALS = {
    "push": """, in a user
  message that names the call id.
- Call `wait` when you have nothing useful to call this round; `wait(rounds=N)` lets up to N
  rounds pass, and ends early in the round a response arrives.""",
    "pull": """, but you are
  not told: call `check_notifications` to read the responses that arrived (it also reads those
  arriving as this round ends), or `wait_for_response(rounds=N)` to wait until one arrives (at
  most N rounds) and read it. A value is known only once you have read it.
- Reading costs nothing: add `check_notifications` to every reply with calls, so that what
  arrives is read in time. When you have nothing useful to call this round, call
  `wait_for_response` (or `wait(rounds=N)`, which lets N rounds pass without reading).""",
}
_META_NAMES = {
    "push": "`wait` and `submit_answer`",
    "pull": "`wait`, `wait_for_response`, `check_notifications` and `submit_answer`",
}


#: The longest response text shown to the model; a longer one is cut, with a note. Every
#: gold response of the shipped dataset is under 2,300 characters.
MAX_RESPONSE_CHARS = 8000
#: Nesting kept when a reply's content is not plain text (deeper levels become "...").
_MAX_DEPTH = 32


def _plain(value: Any, depth: int = 0) -> Any:
    """``value`` as plain JSON data: string keys, bounded nesting, anything else as text."""
    if depth >= _MAX_DEPTH:
        return "..."
    if isinstance(value, Mapping):
        return {str(key): _plain(item, depth + 1) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item, depth + 1) for item in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _json(value: Any) -> str:
    """JSON text of anything a reply or a response may hold (never raises)."""
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError, RecursionError):  # mixed keys, cycles, deep nesting
        return json.dumps(_plain(value), ensure_ascii=False, sort_keys=True, default=str)


def _shown(value: Any) -> str:
    """A response as the model sees it: JSON, cut at :data:`MAX_RESPONSE_CHARS`."""
    text = _json(value)
    if len(text) <= MAX_RESPONSE_CHARS:
        return text
    return (
        text[:MAX_RESPONSE_CHARS]
        + f" ... [cut: this response is {len(text):,} characters; the first "
        f"{MAX_RESPONSE_CHARS:,} are shown]"
    )


@dataclass
class _Call:
    chat_id: str
    tool: str
    round: int


@dataclass
class ChatStepInfo:
    """What happened in one turn (also returned inside ``info``)."""

    calls: int = 0
    refused: list[str] = field(default_factory=list)
    answered: list[str] = field(default_factory=list)


class ChatEnv:
    """The AsyncTool setting for chat models (see the module docstring).

    Args:
        instances: Instances to play, or a ``.jsonl(.gz)`` path.
        split: ``"test"`` or ``"dev"``: the shipped benchmark split (instead of instances).
        latency: A profile forcing one latency for every instance; ``None``: each
            instance's own profile.
        max_calls_per_turn: Tool calls allowed per reply (``None``: unlimited).
        max_rounds: The episode is truncated after this many rounds.
        max_reply_chars: Longer replies are refused unread.
        expected_delay_hints: Tell the model each call's expected delay when acknowledging.
        tool_capacity: Contention, as in ``AsyncTool-v0``: calls a tool serves at once (an
            int for every tool, or ``{tool: c}``); a call to a busy tool waits in its queue,
            and its acknowledgement says for how many rounds.
        notifications: ``"push"``: each round's user message lists the responses that
            arrived. ``"pull"``: arrivals are not announced; the model reads them with the
            ``check_notifications`` and ``wait_for_response`` tools, and a value counts as
            known (for dependencies and for answers) only once read. The simulator, the
            metrics and the exact optimum are the same in both modes.
    """

    def __init__(
        self,
        instances: Sequence[Instance] | str | os.PathLike[str] | None = None,
        *,
        split: str | None = None,
        latency: str | LatencyProfile | None = None,
        max_calls_per_turn: int | None = 1,
        max_rounds: int = 60,
        max_reply_chars: int = 20_000,
        expected_delay_hints: bool = True,
        tool_capacity: int | Mapping[str, int] | None = None,
        notifications: str = "push",
    ) -> None:
        if (instances is None) == (split is None):
            raise ValueError("pass exactly one of instances or split")
        # The one instance source of every env (checked and loaded the same way).
        loaded, _ = instance_source(
            instances=instances,
            split=split,
            scenarios=None,
            composition="mixed",
            n_tasks=2,
            steps_per_task=None,
            task_bank_seed=0,
            max_tasks=MAX_TASKS_LIMIT,
            max_steps=MAX_STEPS_LIMIT,
        )
        assert loaded is not None
        check_whole("max_rounds", max_rounds, 1)
        check_optional_whole("max_calls_per_turn", max_calls_per_turn, 1)
        check_whole("max_reply_chars", max_reply_chars, 1)
        check_flag("expected_delay_hints", expected_delay_hints)
        self.tool_capacity = normalize_tool_capacity(tool_capacity)
        self._meta_tools = meta_tools(notifications)
        self.notifications = notifications
        self.instances = loaded
        check_capacity_tools(self.tool_capacity, loaded)
        self.latency = None if latency is None else make_latency_profile(latency)
        self.max_calls_per_turn = max_calls_per_turn
        self.max_rounds = max_rounds
        self.max_reply_chars = max_reply_chars
        self.expected_delay_hints = expected_delay_hints
        self.np_random = np.random.default_rng()
        self.simulator: Simulator | None = None
        self.resolver: CallResolver | None = None
        self.instance: Instance | None = None
        self.instance_index: int | None = None
        self.messages: list[dict[str, Any]] = []
        self.tools: list[dict[str, Any]] = []
        self._tools: dict[str, Tool] = {}
        self._calls: dict[int, _Call] = {}
        self._worlds: dict[tuple[str, int], Any] = {}
        self._prepared: dict[tuple[int, str, str], tuple[Instance, Prepared]] = {}
        self._last_trace_index = 0
        self._text_call_counter = 0
        self._rounds_advanced = 0

    # -- episode ---------------------------------------------------------------------------

    def reset(
        self, *, seed: int | None = None, options: Mapping[str, Any] | None = None
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Start an episode; returns the opening messages (system and user) and ``info``.

        ``options`` may hold ``"instance_index"`` or ``"instance"``.
        """
        self.np_random = np.random.default_rng(seed)
        options = dict(options or {})
        options = check_reset_options(options, self.instances)
        if "instance" in options:
            index = None
            instance = options["instance"]
        else:
            if "instance_index" in options:
                index = options["instance_index"]
            else:
                index = int(self.np_random.integers(len(self.instances)))
            instance = self.instances[index]
        self.instance = instance
        self.instance_index = index  # in self.instances; None for a given instance
        profile = self.latency or make_latency_profile(instance.latency_profile)
        scenarios = sorted({task.scenario for task in instance.tasks})
        offered = [tool for name in scenarios for tool in SCENARIOS[name].tools]
        self.simulator = Simulator(
            instance,
            self.np_random,
            latency=profile,
            max_calls_per_turn=self.max_calls_per_turn,
            tool_capacity=self.tool_capacity,
            # a call that matches no step answers after its own tool's declared latency
            tool_latencies={tool.name: tool.latency for tool in offered},
        )
        self._tools = {tool.name: TOOLS[tool.name] for tool in offered} | self._meta_tools
        self.tools = [tool.openai_schema() for tool in self._tools.values()]
        self._calls = {}
        self._worlds = {}
        self._last_trace_index = 0
        self._text_call_counter = 0
        self._rounds_advanced = 0
        cap = (
            f"at most {self.max_calls_per_turn} tool(s)"
            if self.max_calls_per_turn is not None
            else "any number of tools"
        )
        lines = [f"You have {instance.n_tasks} tasks. Work on all of them at once."]
        for index, task in enumerate(instance.tasks):
            lines.append(f"\nTask T{index + 1}: {task.instruction}")
        lines.append(f"\nRound 0. You may call {cap} per reply.")
        self.messages = [
            {
                "role": "system",
                "content": SYSTEM_PROMPT.format(
                    cap=cap,
                    queues=_queues_note(self.tool_capacity),
                    meta=_META_NAMES[self.notifications],
                    arrivals=_ARRIVALS[self.notifications],
                ),
            },
            {"role": "user", "content": "\n".join(lines)},
        ]
        texts = [message["content"] for message in self.messages] + [_json(self.tools)]
        # What the resolver derives from the instance alone is kept between its episodes.
        key = (id(instance), texts[0], texts[1])
        cached = self._prepared.get(key)
        # the cache holds the instance itself, so its id cannot be reused meanwhile
        prepared = cached[1] if cached is not None and cached[0] is instance else None
        self.resolver = CallResolver(
            self.simulator,
            self._tools,
            self._world_of,
            texts,
            make_world=_fresh_world,
            hold_deliveries=self.notifications == "pull",
            prepared=prepared,
        )
        if prepared is None:
            if len(self._prepared) >= 256:  # a bounded cache: a long run plays many
                self._prepared.clear()
            self._prepared[key] = (
                instance,
                Prepared(
                    self.resolver.gold,
                    self.resolver.secrets,
                    self.resolver._gold_keys,
                    self.resolver._gold,
                ),
            )
        return list(self.messages), self._info()

    def step(
        self, reply: Mapping[str, Any] | str | None, *, end_turn: bool = True
    ) -> tuple[list[dict[str, Any]], bool, bool, dict[str, Any]]:
        """Play one assistant reply (one round).

        ``end_turn=False`` plays the reply's calls in the current round and leaves the clock
        where it is (no round report): for a framework that executes a reply's calls one at
        a time, like TRL's tool loop, which plays ``submit_answer`` and
        ``check_notifications`` so and lets the next call end the round.

        Returns:
            The new messages to append after the reply (``tool`` acknowledgements, then a
            ``user`` message with what arrived), ``terminated``, ``truncated``, ``info``.
        """
        simulator = self.simulator
        if simulator is None:
            raise RuntimeError("call reset() before step()")
        if simulator.finished or simulator.round >= self.max_rounds:
            raise RuntimeError("the episode is over; call reset()")
        if isinstance(reply, str):
            reply = valid_text(reply)
        role = reply.get("role") if isinstance(reply, Mapping) else None
        if role not in (None, "assistant"):
            # Not the model's reply (a user or tool message played by mistake): nothing in it
            # is read, and the reply is refused.
            reply = {"role": "assistant", "content": None}
        assistant = _assistant_message(reply)
        # Parse the cleaned message, so native calls without ids get the ids we answer to.
        parsed = parse_reply(
            assistant if isinstance(reply, Mapping) else reply,
            max_chars=self.max_reply_chars,
            tool_names=self._tools,
        )
        if role not in (None, "assistant"):
            wrong = ParseProblem(
                "unparsable_call",
                f"A reply is the assistant's message; a {_json(role)} message was given, so "
                "nothing in it was read.",
            )
            parsed = replace(parsed, calls=(), problems=(wrong,))
        if any(problem.kind == "too_long" for problem in parsed.problems):
            # Refused unread: kept as what the model is shown of it, never in full (it would
            # be stored, written to transcripts and sent back with every later request).
            assistant = _cut_message(assistant, self.max_reply_chars)
        self.messages.append(assistant)
        tool_messages: list[dict[str, Any]] = []
        notes: list[str] = []
        turn = ChatStepInfo()
        # In reply order (a dict, not a set: the trace must not depend on the hash seed).
        native_ids = dict.fromkeys(call.get("id") for call in assistant.get("tool_calls", []))
        # Reads (pull mode) are answered after the clock moves: (tool message, or the index
        # of the note for a call written in text; the tool).
        reads: list[tuple[dict[str, Any] | None, int, str]] = []
        wait_rounds = 1
        # A wait ends early at an arrival when the model is told of arrivals (push) or asked
        # to be (wait_for_response); in pull mode a plain wait lasts all its rounds, so that
        # its length reveals nothing the model has not read.
        stop_at_arrival = self.notifications == "push"

        def respond(call_id: str | None, payload: Any, label: str) -> dict[str, Any] | None:
            content = payload if isinstance(payload, str) else _json(payload)
            if call_id is not None and call_id in native_ids:
                message = {"role": "tool", "tool_call_id": call_id, "content": content}
                tool_messages.append(message)
                native_ids.pop(call_id, None)
                return message
            notes.append(f"{label}: {content}")
            return None

        for problem in parsed.problems:
            self._refuse(problem.kind, problem.message, turn)
            respond(problem.call_id, {"error": problem.message}, "Refused")
        for call in parsed.calls:
            checked = check_call(call, self._tools)
            if isinstance(checked, ParseProblem):
                self._refuse(checked.kind, checked.message, turn)
                respond(call.call_id, {"error": checked.message}, f"Refused {call.name}")
                continue
            name = checked.name
            if name in ("wait", "wait_for_response"):
                rounds = checked.arguments.get("rounds", 1)
                if rounds < 1:
                    message = f"rounds must be at least 1, got {rounds}"
                    self._refuse("invalid_arguments", message, turn)
                    respond(checked.call_id, {"error": message}, f"Refused {name}")
                    continue
                if name == "wait_for_response":
                    assert self.resolver is not None
                    if self.resolver.unread:  # something already waits to be read: no wait
                        rounds = 1
                    stop_at_arrival = True
                left = self.max_rounds - simulator.round
                if rounds > left:
                    rounds = left  # the episode ends first: say so rather than pretend
                wait_rounds = max(wait_rounds, rounds)
                if name == "wait":  # the turn ends after every reply anyway
                    payload: dict[str, Any] = {"status": "waiting", "rounds": rounds}
                    if checked.arguments.get("rounds", 1) > left:
                        payload["note"] = (
                            f"only {left} round(s) are left before the episode ends at round "
                            f"{self.max_rounds}; unanswered tasks then count as failed"
                        )
                    respond(checked.call_id, payload, name)
                    continue
            if name in ("check_notifications", "wait_for_response"):
                reads.append((respond(checked.call_id, "", name), len(notes) - 1, name))
                continue
            if name == "submit_answer":
                respond(checked.call_id, self._answer(checked, turn), "submit_answer")
                continue
            respond(checked.call_id, self._call(checked, turn), f"Call to {name}")
        for leftover in native_ids:  # every native call gets exactly one tool message
            if leftover is not None:
                tool_messages.append(
                    {
                        "role": "tool",
                        "tool_call_id": leftover,
                        "content": _json({"error": "ignored"}),
                    }
                )
        if end_turn:
            self._advance(wait_rounds, stop_at_arrival)
        terminated = simulator.finished
        truncated = not terminated and simulator.round >= self.max_rounds
        if reads:
            assert self.resolver is not None
            arrived = self._arrival_lines(self.resolver.read()) or ["No new response."]
            for index, (message, note, name) in enumerate(reads):
                text = "\n".join(arrived) if index == 0 else "No new response."
                if message is not None:
                    message["content"] = text
                else:
                    notes[note] = f"{name}: {text}"
        new_messages = tool_messages
        if end_turn and not (terminated or truncated):
            new_messages = [*tool_messages, {"role": "user", "content": self._round_report(notes)}]
        self.messages.extend(new_messages)
        if terminated or truncated:
            assert self.resolver is not None
            self.resolver.finish()  # writes judged again on the final state
        info = self._info()
        info["turn"] = turn
        if terminated or truncated:
            info["metrics"] = self.metrics()
            info["task_results"] = self.task_results()
        return new_messages, terminated, truncated, info

    # -- turn pieces -----------------------------------------------------------------------

    def _refuse(self, kind: str, message: str, turn: ChatStepInfo) -> None:
        assert self.simulator is not None
        self.simulator.record_invalid(f"{kind}: {message}")
        turn.refused.append(kind)

    def _answer(self, call: ParsedCall, turn: ChatStepInfo) -> dict[str, Any]:
        simulator = self.simulator
        assert simulator is not None
        task_id = str(call.arguments.get("task_id", "")).strip().upper()
        ids = [f"T{index + 1}" for index in range(len(simulator.tasks))]
        if task_id not in ids:
            message = f"unknown task id {task_id!r}; the task ids are {', '.join(ids)}"
            self._refuse("invalid_arguments", message, turn)
            return {"error": message}
        index = ids.index(task_id)
        if simulator.task_status[index] != TaskStatus.OPEN:
            message = f"task {task_id} was already answered"
            self._refuse("invalid_arguments", message, turn)
            return {"error": message}
        assert self.resolver is not None
        self.resolver.answer(index, call.arguments.get("answer", ""))
        turn.answered.append(task_id)
        return {"status": "answer recorded", "task_id": task_id}

    def _call(self, call: ParsedCall, turn: ChatStepInfo) -> dict[str, Any]:
        simulator = self.simulator
        assert simulator is not None
        cap = simulator.max_calls_per_turn
        if cap is not None and simulator.calls_this_turn >= cap:
            message = (
                f"only {cap} tool call(s) per round; {call.name} was not made. "
                "Make it in a later round."
            )
            self._refuse("over_call_limit", message, turn)
            return {"error": message}
        assert self.resolver is not None
        pending, resolution = self.resolver.issue(call.name, call.arguments)
        self._text_call_counter += 1
        chat_id = call.call_id or f"call_{self._text_call_counter}"
        self._calls[pending.call_id] = _Call(chat_id, call.name, simulator.round)
        turn.calls += 1
        payload: dict[str, Any] = {"status": "pending", "call_id": chat_id, "tool": call.name}
        if pending.queued_rounds:
            payload["queued_rounds"] = pending.queued_rounds  # the tool is busy: it waits
        if self.expected_delay_hints:
            delay = pending.queued_rounds + 1 + pending.expected_latency
            payload["expected_delay_rounds"] = round(delay, 1)
        if pending.kind is CallKind.VIOLATION:
            why = "; ".join(resolution.missing) or "a value it uses has not reached you"
            payload["warning"] = f"not made: {why}; the response will be an error"
        return payload

    def _world_of(self, task: int) -> Any:
        """The world task ``task``'s backends run on (built once per episode)."""
        assert self.instance is not None
        gold = self.instance.tasks[task]
        key = (gold.scenario, gold.world_seed)
        if key not in self._worlds:
            self._worlds[key] = SCENARIOS[gold.scenario].world(gold.world_seed)
        return self._worlds[key]

    def metrics(self) -> dict[str, Any]:
        """The episode's metrics so far, with ``optimal_rounds`` and ``efficiency`` from the
        exact solver on this episode's realized latencies (as for every other agent)."""
        assert self.simulator is not None
        return final_metrics(self.simulator).as_dict()

    def task_results(self) -> list[dict[str, Any]]:
        """Per task: its id, whether it was judged right, why not, the answer and the
        facts it had to state (what ``asynctool play`` and ``asynctool show`` print)."""
        from asynctool_env.core.resolver import task_facts

        simulator = self.simulator
        assert simulator is not None
        answers = {event.task: event for event in simulator.trace if isinstance(event, AnswerEvent)}
        revoked = {event.task: event for event in simulator.trace if isinstance(event, RevokeEvent)}
        results = []
        for index, task in enumerate(simulator.tasks):
            event = answers.get(index)
            reasons = list(event.reasons) if event else ["never answered"]
            if index in revoked:
                reasons += list(revoked[index].reasons)
            results.append(
                {
                    "task_id": f"T{index + 1}",
                    "success": bool(event and event.correct) and index not in revoked,
                    "reasons": reasons,
                    "answer": event.answer if event else None,
                    "expected": [fact.as_dict() for fact in task_facts(task)],
                }
            )
        return results

    def _advance(self, rounds: int, stop_at_arrival: bool = True) -> None:
        """Move the clock after a reply: one round, or up to ``rounds`` for a wait (stopping
        in the round a response arrives when ``stop_at_arrival``), never past the end of the
        episode or ``max_rounds``."""
        simulator = self.simulator
        assert simulator is not None
        self._rounds_advanced = 0
        for _ in range(rounds):
            if simulator.finished or simulator.round >= self.max_rounds:
                return
            seen = len(simulator.trace)
            simulator.end_turn()
            self._rounds_advanced += 1
            arrived = any(isinstance(e, DeliveryEvent) for e in simulator.trace[seen:])
            if stop_at_arrival and arrived:
                return

    def _arrival_lines(self, events: Sequence[Any]) -> list[str]:
        """One line per delivered response of a call of the model's (how arrivals read, in a
        round report or in a ``check_notifications`` answer)."""
        lines = []
        for event in events:
            if isinstance(event, DeliveryEvent) and event.call_id in self._calls:
                call = self._calls[event.call_id]
                lines.append(
                    f"Response to {call.chat_id} ({call.tool}, called in round {call.round}): "
                    f"{_shown(event.response)}"
                )
        return lines

    def _round_report(self, notes: list[str]) -> str:
        """The user message that opens a round: the round, the notes on calls written in
        text, and, in push mode, what arrived and what is still pending; then the open
        tasks."""
        simulator = self.simulator
        assert simulator is not None
        lines = [f"Round {simulator.round}."]
        lines += notes
        if self.notifications == "push":
            trace = simulator.trace
            arrived = self._arrival_lines(trace[self._last_trace_index :])
            self._last_trace_index = len(trace)
            passed = self._rounds_advanced
            quiet = "this round" if passed <= 1 else f"in these {passed} rounds"
            lines += arrived or [f"No response arrived {quiet}."]
            pending = [
                f"{self._calls[call.call_id].chat_id} ({call.tool}, since round "
                f"{call.issued_round})"
                for call in simulator.pending_calls
                if call.call_id in self._calls
            ]
            if pending:
                lines.append("Still pending: " + ", ".join(pending) + ".")
        open_tasks = [
            f"T{index + 1}"
            for index, status in enumerate(simulator.task_status)
            if status == TaskStatus.OPEN
        ]
        lines.append("Open tasks: " + ", ".join(open_tasks) + ".")
        return "\n".join(lines)

    def _info(self) -> dict[str, Any]:
        assert self.simulator is not None
        return info_counters(self.simulator)

    # -- helpers for scripted agents and tests ---------------------------------------------

    def gold_call(self, task: int, step: int) -> dict[str, Any]:
        """The gold call of a step as a native tool call (what a perfect model would send)."""
        assert self.instance is not None
        gold = self.instance.tasks[task].steps[step]
        return {"name": gold.tool, "arguments": dict(gold.expected_arguments)}

    def ready_steps(self) -> list[tuple[int, int]]:
        """Steps whose inputs have all arrived and that were not called yet."""
        simulator = self.simulator
        assert simulator is not None
        return [
            (task, step)
            for task, statuses in enumerate(simulator.step_status)
            for step, status in enumerate(statuses)
            if status == StepStatus.READY and simulator.task_status[task] == TaskStatus.OPEN
        ]


def _queues_note(capacity: int | Mapping[str, int] | None) -> str:
    """The prompt's line on contention: how many calls a tool serves at once."""
    if capacity is None:
        return ""
    if isinstance(capacity, Mapping):
        if not capacity:
            return ""
        limits = ", ".join(f"{name}: {limit}" for name, limit in sorted(capacity.items()))
        return _QUEUES.format(capacity=f"a limited number of calls ({limits}; other tools any)")
    calls = "one call" if capacity == 1 else f"{capacity} calls"
    return _QUEUES.format(capacity=calls)


def _fresh_world(scenario: str, world_seed: int) -> Any:
    """A fresh world of a scenario (what the gold is played on)."""
    return SCENARIOS[scenario].world(world_seed)


#: Characters of a refused over-long reply kept in the conversation.
CUT_REPLY_EXCERPT = 300


def valid_text(text: str) -> str:
    """``text`` as valid UTF-8: a lone surrogate (which no request or file can encode) becomes
    ``?``. Model output is stored, sent and scored as cleaned; the model answers for it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def _cut_message(message: Mapping[str, Any], limit: int) -> dict[str, Any]:
    """An over-long reply as the conversation keeps it: its first characters and its length."""
    content = message.get("content")
    text = content if isinstance(content, str) else ""
    calls = message.get("tool_calls") or []
    size = len(text) + sum(len(_json(call)) for call in calls)
    if not text and calls:
        text = _json(calls[0])[:CUT_REPLY_EXCERPT]
    excerpt = text[:CUT_REPLY_EXCERPT]
    note = (
        f"[reply cut here: {size:,} characters, over the limit of {limit:,}; it was refused unread]"
    )
    return {"role": "assistant", "content": f"{excerpt}... {note}"}


def _assistant_message(reply: Mapping[str, Any] | str | None) -> dict[str, Any]:
    """The reply as an assistant message fit to send back to an OpenAI-compatible API (its
    text valid UTF-8)."""
    if isinstance(reply, Mapping):
        content = reply.get("content")
        content = valid_text(content) if isinstance(content, str) else content
        message: dict[str, Any] = {"role": "assistant", "content": content}
        calls = reply.get("tool_calls")
        if isinstance(calls, list) and calls:
            cleaned = []
            for index, call in enumerate(calls):
                if not isinstance(call, Mapping):
                    continue
                function = call.get("function") if isinstance(call.get("function"), Mapping) else {}
                arguments = function.get("arguments", "")
                cleaned.append(
                    {
                        "id": valid_text(str(call.get("id") or f"call_native_{index}")),
                        "type": "function",
                        "function": {
                            "name": valid_text(str(function.get("name", ""))),
                            "arguments": valid_text(
                                arguments if isinstance(arguments, str) else _json(arguments)
                            ),
                        },
                    }
                )
            if cleaned:
                message["tool_calls"] = cleaned
        if message["content"] is not None and not isinstance(message["content"], str):
            message["content"] = valid_text(_json(message["content"]))
        return message
    return {"role": "assistant", "content": "" if reply is None else valid_text(str(reply))}
