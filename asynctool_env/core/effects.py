"""The gold's effects: what the gold calls do to the worlds, played in gold order.

The gold of a task is what its gold calls do when they are played in gold order on a fresh
world (:mod:`asynctool_env.core.state`). :func:`play_gold` plays every task of an instance
that way, task after task, each scenario world shared by the tasks that name it (one world
per scenario and world seed, as an episode has), and keeps:

* every step's response and effects (the keys it read and wrote);
* per task, the objects its gold writes touch (the objects its writes are judged on);
* per world, the gold final state.

The dataset audit uses it to check that the stored gold responses are reproduced, that the
independent branches of a task commute and that the tasks sharing a world commute (so any
interleaving a correct agent picks gets the gold responses and the gold final state). The
resolver uses it to judge a task's writes by the final state of the episode's world.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from asynctool_env.core.state import ABSENT, Effects, Key, state_of
from asynctool_env.core.task import Task
from asynctool_env.core.tools import Tool, ToolError

#: Identifies a world of an episode: (scenario, world seed).
WorldKey = tuple[str, int]
#: Builds a fresh world: (scenario name, world seed) -> world.
WorldFactory = Callable[[str, int], Any]


def world_key(task: Task) -> WorldKey:
    """The world a task plays on: one per scenario and world seed in an episode."""
    return (task.scenario, task.world_seed)


@dataclass
class GoldPlay:
    """The gold calls of some tasks, played in gold order on fresh worlds.

    Attributes:
        responses: ``responses[t][s]``: what step ``s`` of task ``t`` answered (an
            ``{"error": ...}`` when the backend refused it: a broken gold).
        effects: ``effects[t][s]``: the keys step ``s`` of task ``t`` read and wrote.
        task_effects: Per task, the union of its steps' effects.
        written: Per task, the keys its gold **writes** touched, in the order first touched.
        final: Per world, the gold final state (every object, by key).
    """

    responses: list[list[dict[str, Any]]] = field(default_factory=list)
    effects: list[list[Effects]] = field(default_factory=list)
    task_effects: list[Effects] = field(default_factory=list)
    written: list[list[Key]] = field(default_factory=list)
    final: dict[WorldKey, dict[Key, Any]] = field(default_factory=dict)

    def gold_value(self, world: WorldKey, key: Key) -> Any:
        """The object at ``key`` in the gold final state of ``world`` (``ABSENT`` if none)."""
        return self.final.get(world, {}).get(key, ABSENT)


def play_gold(
    tasks: Sequence[Task], tools: Mapping[str, Tool], make_world: WorldFactory
) -> GoldPlay:
    """Play every task's gold calls in gold order (task after task) on fresh worlds.

    Args:
        tasks: The tasks (an instance's, or one).
        tools: Tool name -> tool, for every tool the tasks use.
        make_world: Builds a fresh world of a scenario and seed.
    """
    play = GoldPlay()
    worlds: dict[WorldKey, Any] = {}
    for task in tasks:
        key = world_key(task)
        if key not in worlds:
            worlds[key] = make_world(*key)
        world = worlds[key]
        responses: list[dict[str, Any]] = []
        effects: list[Effects] = []
        total = Effects()
        written: list[Key] = []
        for step in task.steps:
            tool = tools[step.tool]
            try:
                response, step_effects = tool.run(world, step.expected_arguments)
            except ToolError as error:
                response = {"error": str(error)}
                step_effects = getattr(error, "effects", None) or Effects()
            responses.append(response)
            effects.append(step_effects)
            total.update(step_effects)
            if tool.writes:
                written.extend(k for k in sorted(step_effects.writes) if k not in written)
        play.responses.append(responses)
        play.effects.append(effects)
        play.task_effects.append(total)
        play.written.append(written)
    for key, world in worlds.items():
        try:
            play.final[key] = state_of(world).snapshot()
        except TypeError:  # a stateless world: nothing to compare
            play.final[key] = {}
    return play


def ancestors(task: Task) -> list[set[int]]:
    """Per step, every step it (transitively) depends on."""
    found: list[set[int]] = []
    for step in task.steps:
        above: set[int] = set()
        for parent in step.depends_on:
            above |= {parent} | found[parent]
        found.append(above)
    return found


def unordered_conflicts(task: Task, play: GoldPlay, index: int) -> list[tuple[int, int, Key]]:
    """Pairs of steps of task ``index`` that no dependency orders but that touch a common
    object, one of them writing it: ``(step, step, key)``. A careful agent may call such
    steps in either order, so the gold would depend on its choice."""
    above = ancestors(task)
    effects = play.effects[index]
    found = []
    for later in range(len(task.steps)):
        for earlier in range(later):
            if earlier in above[later]:
                continue
            clashes = effects[earlier].conflicts_with(effects[later])
            if clashes:
                found.append((earlier, later, clashes[0]))
    return found


def task_conflicts(tasks: Sequence[Task], play: GoldPlay) -> list[tuple[int, int, Key]]:
    """Pairs of tasks on one world that touch a common object, one of them writing it:
    ``(task, task, key)``. Their interleaving would change responses or the final state."""
    found = []
    for second in range(len(tasks)):
        for first in range(second):
            if world_key(tasks[first]) != world_key(tasks[second]):
                continue
            clashes = play.task_effects[first].conflicts_with(play.task_effects[second])
            if clashes:
                found.append((first, second, clashes[0]))
    return found
