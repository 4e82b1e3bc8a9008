"""A scripted oracle for the chat interfaces: the exact optimum, written as tool calls.

:class:`ScriptedOracle` reads a reset :class:`~asynctool_env.chat.env.ChatEnv` (its realized
latencies, call cap and tool capacities), solves the episode, and says each round which
calls a perfect model makes: first ``submit_answer`` for every task whose responses have all
arrived, then the planned gold calls of the round, or else a wait. Tests and recipes use it to
drive every chat-shaped interface (``AsyncTool-Chat-v0``, the TRL, OpenEnv and verifiers
adapters) and check that each reaches the numeric oracle's rounds, return and metrics.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from asynctool_env.chat.env import ChatEnv
from asynctool_env.core.simulator import TaskStatus

Call = tuple[str, dict[str, Any]]


class ScriptedOracle:
    """The optimal schedule of ``chat``'s current episode, as calls (see the module docstring).

    Args:
        chat: A ChatEnv just reset.
        long_waits: When the round has nothing to do, wait up to the next planned call
            (``wait(rounds=N)``, ending early at an arrival) instead of one round.
    """

    def __init__(self, chat: ChatEnv, *, long_waits: bool = False) -> None:
        from asynctool_env.solver import optimal_schedule_for_instance

        simulator, instance = chat.simulator, chat.instance
        if simulator is None or instance is None:
            raise RuntimeError("reset the ChatEnv before building its oracle")
        self.chat = chat
        self.long_waits = long_waits
        self.plan = optimal_schedule_for_instance(
            instance,
            simulator.step_latency,
            chat.max_calls_per_turn,
            tool_capacity=chat.tool_capacity,
        ).calls
        self.answered: set[int] = set()

    def answers(self) -> list[Call]:
        """``submit_answer`` for each open task whose responses have all arrived (each once)."""
        calls = due_answers(self.chat, self.answered)
        self.answered.update(int(args["task_id"][1:]) - 1 for _, args in calls)
        return calls

    def planned(self) -> list[Call]:
        """The gold calls the plan makes this round, or a wait when it makes none."""
        simulator = self.chat.simulator
        assert simulator is not None
        now = simulator.round
        planned = self.plan[now] if now < len(self.plan) else ()
        calls = [self._gold(task, step) for task, step in planned]
        if calls:
            return calls
        wait = "wait_for_response" if self.chat.notifications == "pull" else "wait"
        if not self.long_waits:
            return [(wait, {})]
        later = [r for r in range(now + 1, len(self.plan)) if self.plan[r]]
        return [(wait, {"rounds": (later[0] - now) if later else 50})]

    def turn(self) -> list[Call]:
        """This round's calls: the answers, then the planned calls (or a wait); in pull mode,
        a reply with calls also reads (``check_notifications``)."""
        calls = self.answers()
        planned = self.planned()
        calls += planned
        if self.chat.notifications == "pull" and planned[0][0] not in (
            "wait",
            "wait_for_response",
        ):
            calls.append(("check_notifications", {}))
        return calls

    def _gold(self, task: int, step: int) -> Call:
        return gold_call(self.chat, task, step)


def gold_call(chat: ChatEnv, task: int, step: int) -> Call:
    """Gold step ``step`` of ``task`` as a call (name, arguments)."""
    gold = chat.gold_call(task, step)
    return gold["name"], dict(gold["arguments"])


def due_answers(chat: ChatEnv, answered: set[int]) -> list[Call]:
    """``submit_answer`` for each task not in ``answered`` whose responses have all arrived."""
    simulator, instance = chat.simulator, chat.instance
    assert simulator is not None and instance is not None
    calls: list[Call] = []
    for index, task in enumerate(instance.tasks):
        if index not in answered and simulator.all_steps_done(index):
            answer = task.expected_answer if task.expected_answer is not None else "done"
            calls.append(("submit_answer", {"task_id": f"T{index + 1}", "answer": answer}))
    return calls


def native_reply(calls: list[Call], prefix: str = "c") -> dict[str, Any]:
    """An assistant message with ``calls`` as native tool calls (ids ``prefix0``...)."""
    import json

    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": f"{prefix}{index}",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(arguments)},
            }
            for index, (name, arguments) in enumerate(calls)
        ],
    }


class ScriptedChatModel:
    """A chat model that plays the scripted oracle, its reply a function of the
    conversation it is sent and nothing else: an OpenAI-compatible endpoint
    (:func:`serve_scripted`, ``asynctool serve-scripted``) for recipes, adapters and tests
    that need a model known to be optimal.

    It knows each episode by its opening user message. For each instance of ``split`` it
    plays the oracle once per candidate seed (those ``asynctool eval --seed SEED --trials
    TRIALS`` gives the instance, :func:`~asynctool_env.chat.runner.trial_seed`) on a mirror
    env, keeping the whole transcript: the calls of each turn and what the env answered.
    A conversation with ``k`` replies so far gets turn ``k + 1`` of the transcript whose
    first ``k`` turns it repeats, preferring the one whose answers it repeats too (the
    latencies tell the trials apart). So the same conversation always gets the same reply:
    a second evaluation, several trials, and any number of conversations at once score as
    the oracle does. A reply holds a whole turn (the answers due, then the round's calls);
    frameworks that run a reply's calls one at a time
    (:meth:`~asynctool_env.chat.gym_env.AsyncToolChatEnv.call_tool`) play it the same.

    Args:
        indexes: The instances it knows (``None``: every instance of ``split``).
        seed, trials: The evaluation's ``--seed`` and ``--trials``.
        env_kwargs: The evaluation's env settings (``latency``, ``tool_capacity``,
            ``notifications``, ``max_rounds``...), which the oracle's plan depends on.
    """

    def __init__(
        self,
        indexes: Sequence[int] | None = None,
        split: str = "dev",
        *,
        seed: int = 0,
        trials: int = 1,
        **env_kwargs: Any,
    ) -> None:
        from asynctool_env.chat.gym_env import AsyncToolChatEnv
        from asynctool_env.chat.runner import trial_seed

        self.split, self.env_kwargs = split, dict(env_kwargs)
        probe = AsyncToolChatEnv(split=split, **env_kwargs)
        if indexes is None:
            indexes = range(len(probe.chat.instances))
        #: Opening user message -> the (instance index, seed) it may be played with.
        self.episodes: dict[str, list[tuple[int, int]]] = {}
        for index in indexes:
            seeds = [trial_seed(seed, index, trial) for trial in range(trials)]
            for one in seeds:
                _, info = probe.reset(seed=one, options={"instance_index": index})
                self.episodes.setdefault(info["messages"][1]["content"], []).append((index, one))
        self._transcripts: dict[tuple[int, int], list[tuple[list[Call], str]]] = {}
        self.requests = 0
        self.tools_offered: dict[str, set[str]] = {}

    def transcript(self, index: int, seed: int) -> list[tuple[list[Call], str]]:
        """The oracle's turns on instance ``index`` played with ``seed``: each turn's calls
        and the text of what the env answered (kept: it depends on nothing else)."""
        from asynctool_env.chat.gym_env import AsyncToolChatEnv

        key = (index, seed)
        if key not in self._transcripts:
            mirror = AsyncToolChatEnv(split=self.split, **self.env_kwargs)
            mirror.reset(seed=seed, options={"instance_index": index})
            oracle = ScriptedOracle(mirror.chat)
            turns: list[tuple[list[Call], str]] = []
            done = False
            while not done and len(turns) < 10 * mirror.chat.max_rounds:
                calls = oracle.turn()
                reply = native_reply(calls, prefix=f"t{len(turns)}_")
                _, _, terminated, truncated, info = mirror.step(reply)
                answered = "\n".join(str(m.get("content") or "") for m in info["messages"])
                turns.append((calls, answered))
                done = terminated or truncated
            self._transcripts[key] = turns
        return self._transcripts[key]

    def reply(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> dict[str, Any]:
        """The next assistant message (one turn's tool calls) for the conversation."""
        self.requests += 1
        user = next((str(m.get("content")) for m in messages if m.get("role") == "user"), "")
        candidates = self.episodes.get(user)
        if candidates is None:
            return {"role": "assistant", "content": "I do not know this episode."}
        self.tools_offered[user] = {tool["function"]["name"] for tool in tools}
        played, answers = _turns_of(messages)
        best, best_score = None, -1
        for index, seed in candidates:
            turns = self.transcript(index, seed)
            if len(turns) <= len(played):
                continue
            if [calls for calls, _ in turns[: len(played)]] != played:
                continue
            score = sum(
                _comparable(a) == _comparable(b) for (_, a), b in zip(turns, answers, strict=False)
            )
            if score > best_score:
                best, best_score = turns[len(played)][0], score
        if best is not None and best_score == len(played):
            return native_reply(best, prefix=f"t{len(played)}_")
        # No transcript repeats both the calls and the answers: the trial's latencies differ
        # from those the calls so far were planned for (the first turn cannot tell trials
        # apart). Find the seed whose answers these are and go on from where it stands.
        for index, seed in candidates:
            mirror = self._replayed(index, seed, played, answers)
            if mirror is not None:
                return native_reply(_continuation(mirror), prefix=f"t{len(played)}_")
        # No seed it knows answers as this conversation was answered: the evaluation's
        # settings differ from the server's. Say so rather than play a plan made for other
        # latencies (its calls would break dependencies).
        return {
            "role": "assistant",
            "content": "The scripted oracle has no plan for this conversation: start "
            "serve-scripted with the evaluation's --split, --seed, --trials, --latency, "
            "--tool-capacity and --notifications.",
        }

    def _replayed(self, index: int, seed: int, played: list[list[Call]], answers: list[str]) -> Any:
        """A mirror of the episode after the conversation's turns, if played with ``seed``
        it answers them as the conversation says (else ``None``)."""
        from asynctool_env.chat.gym_env import AsyncToolChatEnv

        mirror = AsyncToolChatEnv(split=self.split, **self.env_kwargs)
        mirror.reset(seed=seed, options={"instance_index": index})
        for turn, (calls, answer) in enumerate(zip(played, answers, strict=True)):
            reply = native_reply(calls, prefix=f"t{turn}_")
            _, _, terminated, truncated, info = mirror.step(reply)
            text = "\n".join(str(m.get("content") or "") for m in info["messages"])
            if _comparable(text) != _comparable(answer) or terminated or truncated:
                return None
        return mirror

    def completion(self, body: dict[str, Any]) -> dict[str, Any]:
        """An OpenAI chat completion for the request ``body`` (what an endpoint returns)."""
        import time

        message = self.reply(list(body.get("messages") or []), list(body.get("tools") or []))
        return {
            "id": f"scripted-{self.requests}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": str(body.get("model", "scripted-oracle")),
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if message.get("tool_calls") else "stop",
                }
            ],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        }


def _continuation(mirror: Any) -> list[Call]:
    """A turn for an episode already under way: the answers due, then the ready steps with
    the longest chain of latencies still ahead of them (the critical-path rule, on the
    realized latencies), as many as a turn allows; a wait when none is ready."""
    chat = mirror.chat
    simulator, instance = chat.simulator, chat.instance
    answered = {t for t, status in enumerate(simulator.task_status) if status != TaskStatus.OPEN}
    calls = due_answers(chat, answered)
    ahead: dict[tuple[int, int], int] = {}
    for task_index, task in enumerate(instance.tasks):
        latency = simulator.step_latency[task_index]
        for step in reversed(range(len(task.steps))):
            children = [c for c, child in enumerate(task.steps) if step in child.depends_on]
            longest = max((ahead[(task_index, c)] for c in children), default=0)
            ahead[(task_index, step)] = latency[step] + longest
    ready = sorted((key for key in ahead if simulator.step_is_ready(*key)), key=lambda k: -ahead[k])
    cap = chat.max_calls_per_turn
    chosen = [gold_call(chat, task, step) for task, step in ready[: cap or len(ready)]]
    wait = "wait_for_response" if chat.notifications == "pull" else "wait"
    return calls + (chosen or [(wait, {})])


#: Call ids as harnesses write them (ours by turn, the env's own for one call at a time).
_CALL_ID = re.compile(r"\b(?:t\d+_\d+|call_\d+(?:_\d+)?|c\d+)\b")


def _comparable(text: str) -> str:
    """What came back after a turn, less what depends on the harness (call ids, the line a
    one-call-at-a-time harness adds at the end)."""
    text = text.replace("\nThe episode is over.", "")
    return " ".join(_CALL_ID.sub("ID", text).split())


def _turns_of(messages: Sequence[Mapping[str, Any]]) -> tuple[list[list[Call]], list[str]]:
    """The calls of each assistant message of a conversation, and the text of what came
    back after each (the messages up to the next assistant message, joined)."""
    import json

    played: list[list[Call]] = []
    answers: list[str] = []
    for message in messages:
        if message.get("role") == "assistant":
            calls: list[Call] = []
            for call in message.get("tool_calls") or ():
                function = call.get("function") or {}
                arguments = function.get("arguments") or "{}"
                try:
                    parsed = json.loads(arguments) if isinstance(arguments, str) else arguments
                except ValueError:
                    parsed = arguments
                calls.append((str(function.get("name")), parsed))
            played.append(calls)
            answers.append("")
        elif played and message.get("role") in ("tool", "user"):
            text = str(message.get("content") or "")
            answers[-1] = f"{answers[-1]}\n{text}" if answers[-1] else text
    return played, answers


def serve_scripted(
    indexes: Sequence[int] | None = None,
    split: str = "dev",
    *,
    seed: int = 0,
    trials: int = 1,
    host: str = "127.0.0.1",
    port: int = 0,
    **env_kwargs: Any,
) -> tuple[Any, str]:
    """A :class:`ScriptedChatModel` behind ``POST /v1/chat/completions`` on ``host:port``
    (loopback; port 0: a free one), streamed replies too (verifiers asks for them): an
    OpenAI-compatible endpoint that plays the oracle, stateless per conversation. Returns
    the ``http.server.ThreadingHTTPServer`` (``shutdown()`` it when done; its ``model`` is
    the :class:`ScriptedChatModel`, its ``peak_in_flight`` the most requests it held at
    once) and its base URL. ``asynctool serve-scripted`` runs it until Ctrl-C."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    model = ScriptedChatModel(indexes, split, seed=seed, trials=trials, **env_kwargs)
    lock = threading.Lock()
    counts = {"in_flight": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
                # A wrong --base-url must fail here as it would on a real server.
                data = json.dumps({"error": {"message": f"no route {self.path}"}}).encode()
                self.send_response(404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with lock:
                counts["in_flight"] += 1
                server.peak_in_flight = max(server.peak_in_flight, counts["in_flight"])
            try:
                with lock:
                    completion = model.completion(body)
            finally:
                with lock:
                    counts["in_flight"] -= 1
            if body.get("stream"):
                message = dict(completion["choices"][0]["message"])
                calls = message.get("tool_calls") or []
                message["tool_calls"] = [{**call, "index": i} for i, call in enumerate(calls)]
                chunk = {**completion, "object": "chat.completion.chunk"}
                chunk["choices"] = [{"index": 0, "delta": message, "finish_reason": "tool_calls"}]
                data = f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode()
                kind = "text/event-stream"
            else:
                data, kind = json.dumps(completion).encode(), "application/json"
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server: Any = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    server.model, server.peak_in_flight = model, 0
    threading.Thread(target=server.serve_forever, daemon=True).start()
    shown = f"[{host}]" if ":" in host else host
    return server, f"http://{shown}:{server.server_address[1]}/v1"
