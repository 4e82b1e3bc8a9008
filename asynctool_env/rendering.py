"""Pictures of an episode: a text table (``ansi``) and a timeline image (``rgb_array``).

Both read only the simulator (its state and trace), so every interface renders with them:
``AsyncTool-v0``, the multi-agent env (with each task's owner) and ``AsyncTool-Chat-v0``
(below the last messages).
The timeline has one lane per task; each call is a bar from the round it was made to the
round its response arrived (or the current round, if still in flight), coloured by kind;
an answer is a tick at the end of the lane. It is drawn with numpy alone, so rendering needs
no plotting library.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from asynctool_env.core.simulator import (
    AnswerEvent,
    CallEvent,
    CallKind,
    DeliveryEvent,
    Simulator,
    StepStatus,
)

_STATUS_TEXT = {
    StepStatus.BLOCKED: "blocked",
    StepStatus.READY: "READY",
    StepStatus.PENDING: "pending",
    StepStatus.DONE: "done",
    StepStatus.FAILED: "FAILED",
}

_COLOURS = {
    CallKind.CORRECT: (46, 139, 87),
    CallKind.VIOLATION: (200, 40, 40),
    CallKind.REDUNDANT: (230, 150, 30),
    CallKind.UNMATCHED: (120, 120, 120),
}
_BACKGROUND = (250, 250, 250)
_LANE = (225, 230, 240)
_ANSWER_RIGHT = (30, 90, 200)
_ANSWER_WRONG = (120, 0, 120)
_NOW = (0, 0, 0)


def render_text(
    simulator: Simulator,
    focused_task: int | None = None,
    owners: Sequence[str] | None = None,
) -> str:
    """A readable table of tasks, steps and calls in flight, and, under contention, the busy
    tools with their queue wait. ``focused_task`` is marked ``>``; ``owners`` (one label
    per task) names who holds each task."""
    lines = [
        f"round {simulator.round}  calls {simulator.calls}  in flight {simulator.n_pending}  "
        f"idle rounds {simulator.idle_rounds}  violations {simulator.violations}"
    ]
    for index, task in enumerate(simulator.tasks):
        marker = ">" if index == focused_task else " "
        if simulator.answer_round[index] is None:
            state = "open"
        else:
            verdict = "right" if simulator.task_correct[index] else "wrong"
            state = f"answered r{simulator.answer_round[index]} ({verdict})"
        owner = f" [{owners[index]}]" if owners is not None else ""
        lines.append(f"{marker} task {index}{owner} [{task.scenario}] {state}: {task.instruction}")
        for step_index, step in enumerate(task.steps):
            status = StepStatus(simulator.step_status[index][step_index])
            needs = f" needs {list(step.depends_on)}" if step.depends_on else ""
            lines.append(
                f"      s{step_index} {step.tool:<20} {_STATUS_TEXT[status]:<8}"
                f" L={simulator.step_latency[index][step_index]}{needs}"
            )
    pending = simulator.pending_calls
    if pending:
        lines.append("  in flight:")
        for call in pending:
            where = f"task {call.task} s{call.step}" if call.task >= 0 else "unmatched"
            lines.append(
                f"      #{call.call_id} {call.tool} ({where}, {call.kind.value}) "
                f"made r{call.issued_round}, due r{call.due_round}"
            )
    if simulator.tool_capacity is not None:
        tools = sorted({step.tool for task in simulator.tasks for step in task.steps})
        busy = [
            f"{tool} {simulator.tool_busy(tool)}/{simulator.capacity_of(tool)} busy, "
            f"wait {simulator.tool_wait(tool)}"
            for tool in tools
            if simulator.capacity_of(tool) is not None and simulator.tool_busy(tool)
        ]
        lines.append("  tools: " + ("; ".join(busy) if busy else "all free"))
    return "\n".join(lines) + "\n"


def render_timeline(
    simulator: Simulator, *, width: int = 640, lane_height: int = 36, min_rounds: int = 16
) -> np.ndarray:
    """A ``uint8`` image (H x W x 3): one lane per task, one bar per call."""
    n_tasks = len(simulator.tasks)
    margin = 8
    height = margin * 2 + lane_height * n_tasks
    image = np.empty((height, width, 3), dtype=np.uint8)
    image[:] = _BACKGROUND
    horizon = max(simulator.round + 1, min_rounds)
    scale = (width - 2 * margin) / horizon

    def x_of(round_index: float) -> int:
        return int(margin + round_index * scale)

    for lane in range(n_tasks):
        top = margin + lane * lane_height
        image[top + 2 : top + lane_height - 2, margin : width - margin] = _LANE

    delivered: dict[int, int] = {}
    calls: list[CallEvent] = []
    for event in simulator.trace:
        if isinstance(event, CallEvent):
            calls.append(event)
        elif isinstance(event, DeliveryEvent):
            delivered[event.call_id] = event.round
    # Bars of overlapping calls in one lane are stacked in rows so that each stays visible.
    rows_in_lane = 3
    row_height = max(2, (lane_height - 8) // rows_in_lane)
    for position, call in enumerate(calls):
        lane = call.task if call.task >= 0 else 0
        top = margin + lane * lane_height + 4 + (position % rows_in_lane) * row_height
        start = x_of(call.round)
        end = x_of(delivered.get(call.call_id, simulator.round + 1))
        image[top : top + row_height - 1, start : max(end, start + 2)] = _COLOURS[call.kind]
    for event in simulator.trace:
        if isinstance(event, AnswerEvent):
            top = margin + event.task * lane_height
            x = x_of(event.round + 0.5)
            colour = _ANSWER_RIGHT if event.correct else _ANSWER_WRONG
            image[top + 2 : top + lane_height - 2, max(x - 2, 0) : x + 2] = colour
    now = x_of(simulator.round)
    image[margin:-margin, now : now + 1] = _NOW
    return image
