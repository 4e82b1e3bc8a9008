"""Evolution operators on a small hand-made scenario whose outcome is known exactly."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from asynctool_env.core.scenario import (
    FollowUpRule,
    LookupRule,
    Scenario,
    SideStepRule,
    StepSpec,
    TaskSpec,
    build_task_from_spec,
    stable_id,
)
from asynctool_env.core.tools import ToolError, tool
from asynctool_env.dataset.evolution import (
    MAX_EVOLVED_STEPS,
    add_follow_up,
    add_lookup,
    add_side_step,
    evolve,
    shift_references,
)

PEOPLE = {"Ada Lovelace": "P-1", "Alan Turing": "P-2"}


@tool(latency=1)
def lookup_person(world: Any, name: str) -> dict[str, Any]:
    """Find a person's id.

    Args:
        name: Full name.
    """
    if name not in PEOPLE:
        raise ToolError(f"no person called {name!r}")
    return {"person_id": PEOPLE[name], "name": name}


@tool(latency=2)
def send_gift(world: Any, person_id: str, gift: str) -> dict[str, Any]:
    """Send a gift.

    Args:
        person_id: Id from lookup_person.
        gift: What to send.
    """
    if person_id not in PEOPLE.values():
        raise ToolError(f"unknown person id {person_id!r}")
    return {"gift_id": stable_id("GF", person_id, gift)}


@tool(latency=1)
def track_gift(world: Any, gift_id: str) -> dict[str, Any]:
    """Track a gift.

    Args:
        gift_id: Id from send_gift.
    """
    return {"gift_id": gift_id, "status": "in transit"}


@tool(latency=0)
def check_clock(world: Any) -> dict[str, Any]:
    """The time."""
    return {"time": "09:00"}


def _lookup(world: Any, value: Any) -> tuple[dict[str, Any], str, str] | None:
    names = {person_id: name for name, person_id in PEOPLE.items()}
    if value not in names:
        return None
    return {"name": names[value]}, "person_id", f"{names[value]}'s person id"


SCENARIO = Scenario(
    name="gifts",
    category="Test",
    description="Gifts.",
    make_world=lambda rng: None,
    tools=(lookup_person, send_gift, track_gift, check_clock),
    lookups=(LookupRule("person_id", "lookup_person", _lookup),),
    follow_ups=(
        FollowUpRule(
            "send_gift",
            lambda world, rng, index: (
                StepSpec("track_gift", {"gift_id": f"${{s{index}.gift_id}}"}),
                "Then track the gift.",
            ),
        ),
    ),
    side_steps=(
        SideStepRule("clock", lambda world, rng: (StepSpec("check_clock", {}), "Check the time")),
    ),
)

SEED = TaskSpec(
    "Send a book to P-2 and a pen to P-1",
    [
        StepSpec("send_gift", {"person_id": "P-2", "gift": "book"}),
        StepSpec("send_gift", {"person_id": "P-1", "gift": "pen"}),
    ],
    answer="${s0.gift_id} ${s1.gift_id}",
)


def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def test_shift_references_renumbers_from_start():
    value = {"a": "${s0.x}", "b": ["${s2.y} and ${s1.z}"], "c": 3}
    assert shift_references(value, 1) == {"a": "${s1.x}", "b": ["${s3.y} and ${s2.z}"], "c": 3}
    assert shift_references(value, 2, start=2) == {
        "a": "${s0.x}",
        "b": ["${s4.y} and ${s1.z}"],
        "c": 3,
    }


def test_lookup_inserts_a_first_step_and_rewires_every_reference():
    evolved = add_lookup(SEED, SCENARIO, None, rng())
    assert evolved is not None
    assert [step.tool for step in evolved.steps] == ["lookup_person", "send_gift", "send_gift"]
    looked_up = [
        step for step in evolved.steps[1:] if step.arguments["person_id"] == "${s0.person_id}"
    ]
    assert len(looked_up) == 1
    assert evolved.answer == "${s1.gift_id} ${s2.gift_id}"
    name = evolved.steps[0].arguments["name"]
    assert f"{name}'s person id" in evolved.instruction
    task = build_task_from_spec(SCENARIO, evolved, 0, world=None)
    assert task.steps[0].depends_on == ()
    assert {step.depends_on for step in task.steps[1:]} == {(0,), ()}
    seed_task = build_task_from_spec(SCENARIO, SEED, 0, world=None)
    assert task.expected_answer == seed_task.expected_answer  # the same gifts are sent


def test_lookup_does_not_apply_without_a_known_constant():
    spec = TaskSpec("Send to P-9", [StepSpec("send_gift", {"person_id": "P-9", "gift": "x"})])
    assert add_lookup(spec, SCENARIO, None, rng()) is None
    referenced = TaskSpec(
        "Find Ada, send her a pen",
        [
            StepSpec("lookup_person", {"name": "Ada Lovelace"}),
            StepSpec("send_gift", {"person_id": "${s0.person_id}", "gift": "pen"}),
        ],
    )
    assert add_lookup(referenced, SCENARIO, None, rng()) is None


def test_follow_up_appends_a_dependent_step():
    evolved = add_follow_up(SEED, SCENARIO, None, rng())
    assert evolved is not None and len(evolved.steps) == 3
    assert evolved.steps[2].tool == "track_gift"
    assert evolved.steps[2].arguments["gift_id"] in ("${s0.gift_id}", "${s1.gift_id}")
    assert evolved.instruction.endswith("and a pen to P-1. Then track the gift.")
    task = build_task_from_spec(SCENARIO, evolved, 0, world=None)
    assert task.steps[2].depends_on in ((0,), (1,))


def test_side_step_adds_an_independent_step():
    evolved = add_side_step(SEED, SCENARIO, None, rng())
    assert evolved is not None
    assert evolved.steps[-1] == StepSpec("check_clock", {})
    assert evolved.instruction.endswith(". Check the time")
    assert build_task_from_spec(SCENARIO, evolved, 0, world=None).steps[-1].depends_on == ()


def test_evolve_chains_operators_and_reports_what_applied():
    evolved, applied = evolve(SEED, SCENARIO, None, rng(), ("lookup", "follow_up", "side_step"))
    assert applied == ("lookup", "follow_up", "side_step")
    assert len(evolved.steps) == 5
    task = build_task_from_spec(SCENARIO, evolved, 0, world=None)
    assert task.n_steps == 5


def test_operators_stop_at_the_step_limit():
    long = TaskSpec("many", [StepSpec("check_clock", {})] * MAX_EVOLVED_STEPS)
    for operator in (add_lookup, add_follow_up, add_side_step):
        assert operator(long, SCENARIO, None, rng()) is None


def test_side_step_rule_must_not_depend_on_anything():
    bad = Scenario(
        name="bad",
        category="Test",
        description="",
        make_world=lambda rng: None,
        tools=SCENARIO.tools,
        side_steps=(
            SideStepRule(
                "dependent", lambda world, rng: (StepSpec("track_gift", {"gift_id": "${s0.x}"}), "")
            ),
        ),
    )
    with pytest.raises(ValueError, match="dependent step"):
        add_side_step(SEED, bad, None, rng())


class _FakeClient:
    """Stands in for ``openai.OpenAI``: ``chat.completions.create`` returns canned text."""

    def __init__(self, reply):
        self.reply = reply
        self.chat = self
        self.completions = self
        self.calls = 0

    def create(self, **kwargs):
        from types import SimpleNamespace

        self.calls += 1
        text = self.reply(kwargs["messages"][-1]["content"])
        if isinstance(text, Exception):
            raise text
        message = SimpleNamespace(content=text)
        return SimpleNamespace(choices=[SimpleNamespace(message=message)])


def test_paraphrase_keeps_only_rewrites_that_keep_every_literal():
    from asynctool_env.core.task import Instance
    from asynctool_env.dataset.paraphrase import keeps_literals, literals, paraphrase_instances
    from tests.conftest import chain_task

    assert literals('Send "Hi there" to CT-4F2A91 on 2025-07-18.') == [
        '"Hi there"',
        "CT-4F2A91",
        "2025-07-18.",
    ]
    assert keeps_literals('Post "A b" to CT-1', 'Please post "A b" for CT-1')
    assert not keeps_literals('Post "A b" to CT-1', "Please post A b for CT-1")
    tasks = [chain_task(name, 2) for name in "ABC"]
    tasks = [
        type(task)(
            task_id=task.task_id,
            scenario=task.scenario,
            instruction=f'Send "{name} note" to ID-{index}7',
            steps=task.steps,
            answer=task.answer,
            expected_answer=task.expected_answer,
        )
        for index, (name, task) in enumerate(zip("ABC", tasks, strict=True))
    ]
    instances = [Instance("one", (tasks[0], tasks[1])), Instance("two", (tasks[1], tasks[2]))]

    def reply(text):
        if "A note" in text:
            return text.replace("Send", "Please send")  # keeps the literals
        if "B note" in text:
            return "Send a note somewhere"  # loses them
        return RuntimeError("server down")

    client = _FakeClient(reply)
    result, report = paraphrase_instances(instances, client, "fake-model")
    assert client.calls == 3  # task B is shared by both instances: asked once
    assert (report.asked, report.kept, report.rejected, report.failed) == (3, 1, 1, 1)
    first = result[0].tasks[0]
    assert first.instruction == 'Please send "A note" to ID-07'
    assert first.metadata["original_instruction"] == 'Send "A note" to ID-07'
    assert first.steps == tasks[0].steps and first.task_id == tasks[0].task_id
    assert result[0].tasks[1].instruction == tasks[1].instruction  # rejected: unchanged
    assert result[1].tasks[1].instruction == tasks[2].instruction  # failed: unchanged


def test_lookup_replaces_every_use_of_the_constant():
    """Once the instruction names the person instead of the id, a second step still passing
    the constant would need a value the model cannot know (the issue's backup_and_verify)."""
    spec = TaskSpec(
        "Send a book and a pen to P-2",
        [
            StepSpec("send_gift", {"person_id": "P-2", "gift": "book"}),
            StepSpec("send_gift", {"person_id": "P-2", "gift": "pen"}),
        ],
        answer="${s0.gift_id} ${s1.gift_id}",
    )
    evolved = add_lookup(spec, SCENARIO, None, rng())
    assert evolved is not None and "P-2" not in evolved.instruction
    assert [step.arguments["person_id"] for step in evolved.steps[1:]] == [
        "${s0.person_id}",
        "${s0.person_id}",
    ]
    task = build_task_from_spec(SCENARIO, evolved, 0, world=None)
    assert [step.depends_on for step in task.steps] == [(), (0,), (0,)]


def test_a_read_added_by_a_rule_adds_the_fact_it_asks_for():
    asking = Scenario(
        name="gifts_asking",
        category="Test",
        description="Gifts.",
        make_world=lambda rng: None,
        tools=(lookup_person, send_gift, track_gift, check_clock),
        follow_ups=(
            FollowUpRule(
                "send_gift",
                lambda world, rng, index, followed: (
                    StepSpec("track_gift", {"gift_id": f"${{s{index}.gift_id}}"}),
                    f"Then track the {followed.arguments['gift']} and tell me its status.",
                    "status",
                ),
            ),
        ),
        side_steps=(
            SideStepRule(
                "clock",
                lambda world, rng: (StepSpec("check_clock", {}), "Tell me the time.", "time"),
            ),
        ),
    )
    followed = add_follow_up(SEED, asking, None, rng())
    assert followed is not None and followed.answer.endswith("; ${s2.status}")
    assert "track the book" in followed.instruction or "track the pen" in followed.instruction
    side = add_side_step(SEED, asking, None, rng())
    assert side is not None and side.answer == "${s0.gift_id} ${s1.gift_id}; ${s2.time}"
    task = build_task_from_spec(asking, side, 0, world=None)
    assert [fact.value for fact in task.facts][-1] == "09:00"
