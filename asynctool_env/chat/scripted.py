"""A scripted oracle for the chat interfaces: the exact optimum, written as tool calls.

:class:`ScriptedOracle` reads a reset :class:`~asynctool_env.chat.env.ChatEnv` (its realized
latencies, call cap and tool capacities), solves the episode, and says each round which
calls a perfect model makes: first ``submit_answer`` for every task whose responses have all
arrived, then the planned gold calls of the round, or else a wait. Tests and recipes use it to
drive every chat-shaped interface (``AsyncTool-Chat-v0``, the TRL, OpenEnv and verifiers
adapters) and check that each reaches the numeric oracle's rounds, return and metrics.
"""

from __future__ import annotations

from typing import Any

from asynctool_env.chat.env import ChatEnv

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
        simulator, instance = self.chat.simulator, self.chat.instance
        assert simulator is not None and instance is not None
        calls: list[Call] = []
        for index, task in enumerate(instance.tasks):
            if index not in self.answered and simulator.all_steps_done(index):
                self.answered.add(index)
                answer = task.expected_answer if task.expected_answer is not None else "done"
                calls.append(("submit_answer", {"task_id": f"T{index + 1}", "answer": answer}))
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
        gold = self.chat.gold_call(task, step)
        return gold["name"], dict(gold["arguments"])


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
    """A chat model that plays the scripted oracle from the messages it is sent, one call
    per reply: for frameworks that call a model (an OpenAI-compatible endpoint, a client) and
    run its tool calls themselves, one at a time (verifiers' harnesses, TRL, MCP clients).

    It knows each episode by its opening user message (the tasks of ``split`` instance
    ``index`` played with seed ``index``, as every evaluation seeds them), keeps a mirror of
    it (the same latencies), and plays each call it makes on the mirror as
    :meth:`AsyncToolChatEnv.call_tool <asynctool_env.chat.gym_env.AsyncToolChatEnv.call_tool>`
    will, to know what comes next.
    """

    def __init__(self, indexes: list[int], split: str = "dev", **env_kwargs: Any) -> None:
        from asynctool_env.chat.gym_env import AsyncToolChatEnv

        self.episodes: dict[str, dict[str, Any]] = {}
        for index in indexes:
            mirror = AsyncToolChatEnv(split=split, **env_kwargs)
            _, info = mirror.reset(seed=index, options={"instance_index": index})
            self.episodes[info["messages"][1]["content"]] = {
                "env": mirror,
                "oracle": ScriptedOracle(mirror.chat),
                "queue": [],
            }
        self.requests = 0
        self.tools_offered: dict[str, set[str]] = {}

    def reply(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> dict[str, Any]:
        """The next assistant message (one tool call) for the conversation ``messages``."""
        import json

        self.requests += 1
        user = next(str(m["content"]) for m in messages if m.get("role") == "user")
        episode = self.episodes.get(user)
        if episode is None:
            return {"role": "assistant", "content": "I do not know this episode."}
        self.tools_offered[user] = {tool["function"]["name"] for tool in tools}
        if not episode["queue"]:
            episode["queue"] = list(episode["oracle"].turn())
        name, arguments = episode["queue"].pop(0)
        episode["env"].call_tool(name, arguments)
        call = {
            "id": f"call_{self.requests}",
            "type": "function",
            "function": {"name": name, "arguments": json.dumps(arguments)},
        }
        return {"role": "assistant", "content": None, "tool_calls": [call]}

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


def serve_scripted(indexes: list[int], split: str = "dev", **env_kwargs: Any) -> tuple[Any, str]:
    """A :class:`ScriptedChatModel` behind ``POST /v1/chat/completions`` on a free loopback
    port (streamed replies too, as verifiers asks for them): an OpenAI-compatible endpoint
    that plays the oracle, for recipes and tests that need a real server. Returns the
    ``http.server.ThreadingHTTPServer`` (``shutdown()`` it when done; its ``model`` is the
    :class:`ScriptedChatModel`, its ``peak_in_flight`` the most requests it held at once)
    and its base URL."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    model = ScriptedChatModel(indexes, split, **env_kwargs)
    lock = threading.Lock()
    counts = {"in_flight": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
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

    server: Any = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.model, server.peak_in_flight = model, 0
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/v1"
