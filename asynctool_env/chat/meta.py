"""Meta-tools of the chat interface: ``wait`` and ``submit_answer``.

They are offered to the model beside the scenario tools, in the same OpenAI function format
(built by the same :func:`~asynctool_env.core.tools.tool` decorator), but the chat env
handles them itself: ``wait`` ends the turn without a call, ``submit_answer`` answers a task.
Their backends are never run.
"""

from __future__ import annotations

from typing import Any

from asynctool_env.core.tools import Tool, tool


@tool(latency=0)
def wait(world: Any) -> dict[str, Any]:
    """End your turn without calling a tool, to let pending responses arrive."""
    raise NotImplementedError("handled by the chat env")


@tool(latency=0)
def submit_answer(world: Any, task_id: str, answer: str | int | float) -> dict[str, Any]:
    """Give the final answer of one task (once all its steps are done). Closes the task.

    Args:
        task_id: The task's id as given in the instructions, e.g. "T1".
        answer: The final answer the task asks for (an id, a value, or "done"); case and
            spacing do not matter.
    """
    raise NotImplementedError("handled by the chat env")


#: Meta-tools by name.
META_TOOLS: dict[str, Tool] = {meta.name: meta for meta in (wait, submit_answer)}
