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
