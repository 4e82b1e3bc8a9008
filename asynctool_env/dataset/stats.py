"""Composition of a set of instances: what ``asynctool data stats`` prints."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from rich.table import Table

from asynctool_env.core.task import Instance
from asynctool_env.dataset.build import difficulty, task_pattern
from asynctool_env.scenarios import SCENARIOS


def composition(instances: Sequence[Instance]) -> dict[str, Any]:
    """Counts by scenario x pattern x task count, and the instance-level mixes.

    Returns a JSON-ready dict: ``cells[scenario][f"{n}-task {pattern}"]`` counts task slots
    (a task used by two instances counts twice), the other keys count instances or distinct
    tasks.
    """
    cells: dict[str, Counter[str]] = {name: Counter() for name in sorted(SCENARIOS)}
    tasks: dict[str, set[str]] = {name: set() for name in sorted(SCENARIOS)}
    same_by_scenario: Counter[str] = Counter()
    for instance in instances:
        n_tasks = len(instance.tasks)
        for task in instance.tasks:
            pattern = task.metadata.get("pattern") or task_pattern(task)
            cells.setdefault(task.scenario, Counter())[f"{n_tasks}-task {pattern}"] += 1
            tasks.setdefault(task.scenario, set()).add(task.task_id)
        scenarios = {task.scenario for task in instance.tasks}
        if len(scenarios) == 1:
            same_by_scenario[next(iter(scenarios))] += 1
    operators: Counter[str] = Counter()
    steps: Counter[int] = Counter()
    distinct: dict[str, Any] = {}
    for instance in instances:
        for task in instance.tasks:
            if task.task_id in distinct:
                continue
            distinct[task.task_id] = task
            steps[task.n_steps] += 1
            applied = task.metadata.get("operators") or ["none (seed task)"]
            operators.update(applied)
    return {
        "instances": len(instances),
        "distinct_tasks": len(distinct),
        "splits": dict(
            sorted(Counter(str(i.metadata.get("split", "-")) for i in instances).items())
        ),
        "tasks_per_instance": dict(sorted(Counter(i.n_tasks for i in instances).items())),
        "composition": dict(
            sorted(
                Counter(
                    "same-scenario" if len({t.scenario for t in i.tasks}) == 1 else "cross-scenario"
                    for i in instances
                ).items()
            )
        ),
        "latency": dict(
            sorted(Counter(str(i.metadata.get("latency", "-")) for i in instances).items())
        ),
        "difficulty": dict(sorted(Counter(difficulty(i) for i in instances).items())),
        "steps_per_task": dict(sorted(steps.items())),
        "operators": dict(sorted(operators.items())),
        "cells": {name: dict(sorted(counts.items())) for name, counts in cells.items()},
        "distinct_tasks_by_scenario": {name: len(ids) for name, ids in tasks.items()},
        "same_scenario_instances_by_scenario": dict(sorted(same_by_scenario.items())),
    }


COLUMNS = ("2-task chain", "2-task dag", "3-task chain", "3-task dag")


def composition_table(stats: dict[str, Any], title: str) -> Table:
    """The scenario x pattern x task-count table of :func:`composition`."""
    table = Table(title=title)
    table.add_column("scenario")
    table.add_column("category")
    for column in COLUMNS:
        table.add_column(column, justify="right")
    table.add_column("same-scenario inst.", justify="right")
    table.add_column("distinct tasks", justify="right")
    totals: Counter[str] = Counter()
    for name, cells in stats["cells"].items():
        category = SCENARIOS[name].category if name in SCENARIOS else "?"
        same = stats["same_scenario_instances_by_scenario"].get(name, 0)
        distinct = stats["distinct_tasks_by_scenario"].get(name, 0)
        table.add_row(
            name,
            category,
            *(str(cells.get(column, 0)) for column in COLUMNS),
            str(same),
            str(distinct),
        )
        totals.update({column: cells.get(column, 0) for column in COLUMNS})
        totals["same"] += same
        totals["distinct"] += distinct
    table.add_section()
    table.add_row(
        "total",
        "",
        *(str(totals[column]) for column in COLUMNS),
        str(totals["same"]),
        str(totals["distinct"]),
    )
    return table


def mix_table(stats: dict[str, Any]) -> Table:
    """Instance-level mixes: splits, task counts, composition, latency, difficulty..."""
    table = Table(title="Mix")
    table.add_column("what")
    table.add_column("counts")
    for key in (
        "splits",
        "tasks_per_instance",
        "composition",
        "latency",
        "difficulty",
        "steps_per_task",
        "operators",
    ):
        table.add_row(key, ", ".join(f"{name}: {count}" for name, count in stats[key].items()))
    table.add_row("instances", str(stats["instances"]))
    table.add_row("distinct single tasks", str(stats["distinct_tasks"]))
    return table
