"""Meta-tools of the chat interface: waiting, reading notifications and answering.

They are offered to the model beside the scenario tools, in the same OpenAI function format
(built by the same :func:`~asynctool_env.core.tools.tool` decorator), but the chat env
handles them itself; their backends are never run. None of them counts against the calls
allowed per reply.

* ``wait(rounds=1)``: end the turn without a call and let up to ``rounds`` rounds pass; in
  push mode the wait ends early in the round a response arrives, in pull mode it lasts all
  its rounds (its length must not reveal an unread arrival). Each mode's ``wait`` describes
  only its own behaviour.
* ``submit_answer(task_id, answer)``: answer a task, which closes it (every mode); the
  answer is text or an object keyed by what the task asks for.
* ``check_notifications()`` and ``wait_for_response(rounds=1)``: with
  ``notifications="pull"`` responses are not announced; the model reads them with these
  (ARE's ``wait_for_notification`` is the second).
"""

from __future__ import annotations

from typing import Any

from asynctool_env.core.tools import Tool, tool

#: The ways a chat env tells the model that responses arrived.
NOTIFICATION_MODES = ("push", "pull")


@tool(latency=0, name="wait")
def wait_push(world: Any, rounds: int = 1) -> dict[str, Any]:
    """End your turn without calling a tool, to let pending responses arrive.

    Args:
        rounds: Let up to this many rounds pass (default 1); the wait ends early, in the
            round a response arrives.
    """
    raise NotImplementedError("handled by the chat env")


@tool(latency=0, name="wait")
def wait_pull(world: Any, rounds: int = 1) -> dict[str, Any]:
    """End your turn without calling a tool and let rounds pass without reading anything.

    Args:
        rounds: Let this many rounds pass (default 1); the wait lasts all of them.
    """
    raise NotImplementedError("handled by the chat env")


@tool(latency=0)
def submit_answer(
    world: Any,
    task_id: str,
    answer: str | int | float | dict[str, Any],
) -> dict[str, Any]:
    """Give the final answer of one task (once all its steps are done). Closes the task.

    Args:
        task_id: The task's id as given in the instructions, e.g. "T1".
        answer: What the task asks for, each value stated once: a sentence or a value
            ("done" when it asks for nothing), or an object keyed by what it asks for,
            e.g. {"booking id": "BK-1A2B3C", "total": 412.5}.
    """
    raise NotImplementedError("handled by the chat env")


@tool(latency=0)
def check_notifications(world: Any) -> dict[str, Any]:
    """Read the responses you have not read yet, including those that arrive as this reply's
    round ends. Responses are not announced otherwise."""
    raise NotImplementedError("handled by the chat env")


@tool(latency=0)
def wait_for_response(world: Any, rounds: int = 1) -> dict[str, Any]:
    """End your turn, wait until a response arrives (at most `rounds` rounds; no wait if
    one is already there to read), then read the responses you have not read yet.

    Args:
        rounds: Wait at most this many rounds (default 1).
    """
    raise NotImplementedError("handled by the chat env")


#: The meta-tools of each mode, by name: each describes only what its mode does (a push
#: mode's tool never names a pull-mode tool).
MODE_TOOLS: dict[str, dict[str, Tool]] = {
    "push": {"wait": wait_push, "submit_answer": submit_answer},
    "pull": {
        "wait": wait_pull,
        "submit_answer": submit_answer,
        "check_notifications": check_notifications,
        "wait_for_response": wait_for_response,
    },
}
#: Meta-tools by name (push mode, the default).
META_TOOLS: dict[str, Tool] = MODE_TOOLS["push"]


def meta_tools(notifications: str) -> dict[str, Tool]:
    """The meta-tools offered under ``notifications`` (``"push"`` or ``"pull"``)."""
    if notifications not in NOTIFICATION_MODES:
        raise ValueError(
            f"notifications must be one of {', '.join(NOTIFICATION_MODES)}, got {notifications!r}"
        )
    return dict(MODE_TOOLS[notifications])
