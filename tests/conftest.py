"""Shared fixtures: hand-built instances whose schedules are computed by hand."""

from __future__ import annotations

import pytest

from asynctool_env.core.task import Instance, Step, Task


def chain_task(name: str, n_steps: int, tool: str = "find_contact") -> Task:
    """A chain ``s0 -> s1 -> ...``: each step needs the previous step's ``token``."""
    steps = []
    for index in range(n_steps):
        arguments = {"name": f"{name}-{index}"}
        expected = dict(arguments)
        if index > 0:
            arguments["after"] = f"${{s{index - 1}.token}}"
            expected["after"] = f"{name}-token-{index - 1}"
        steps.append(
            Step(
                tool=tool,
                arguments=arguments,
                depends_on=(index - 1,) if index > 0 else (),
                expected_arguments=expected,
                expected_response={"token": f"{name}-token-{index}"},
                latency=1,  # find_contact's declared latency
            )
        )
    return Task(
        task_id=f"hand/{name}",
        scenario="messaging",
        instruction=f"Run chain {name}.",
        steps=tuple(steps),
        answer=f"${{s{n_steps - 1}.token}}",
        expected_answer=f"{name}-token-{n_steps - 1}",
    )


def chain_instance(n_tasks: int = 2, n_steps: int = 3) -> Instance:
    """``n_tasks`` independent chains of ``n_steps`` steps each."""
    names = "ABCDEFGH"[:n_tasks]
    return Instance("hand/chains", tuple(chain_task(name, n_steps) for name in names))


@pytest.fixture
def two_chains() -> Instance:
    return chain_instance(2, 3)
