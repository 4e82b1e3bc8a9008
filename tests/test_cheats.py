"""The cheat battery: a model that guesses, launders, hedges, pastes or spoils earns nothing.

Generated from the gold of every dev instance, played through ``AsyncTool-Chat-v0`` as a
model would (native tool calls, one reply a round). One task of the instance, the attacked
one, is played first with a cheat; the others are played honestly afterwards. For every
strategy and every task it applies to:

* the attacked task is not credited (at the end of the episode: writes are judged again
  on the final state), and
* the episode's return is below the honest episode's return.

The honest episode itself (every task's gold calls layer by layer, each answered with its
gold answer) must be credited in full, and so must honest variants: the calls in other
spellings the tools declare equal, and answers written in other natural styles.

Strategies (what the issue's adversarial playtesters did, and more):

============== ===========================================================================
premature      answer with the gold values right after the first calls, before arrival
skip_reads     never make the reads that reveal ids and values; use the remembered values
launder        pass each remembered value through a tool that echoes its input first
hedge          state each fact with a rival candidate of the same kind ("X or Y")
spray          offer many candidates ("one of ...") for the facts
swap           bind two facts' values to each other's labels
paste          answer with a whole response (bare, wrapped in a sentence, a key added)
skip_write     leave one write out
botch_write    make one write with a changed argument
duplicate      make one write twice
spoil          answer honestly, then repeat a write while another task is still open
collateral     make an extra write no task asks for, with the task's own tool
============== ===========================================================================
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from asynctool_env.chat.gym_env import AsyncToolChatEnv
from asynctool_env.chat.scripted import native_reply
from asynctool_env.core.facts import Fact
from asynctool_env.core.perturb import different_effects, equivalent_spellings
from asynctool_env.core.references import referenced_steps, resolved_references
from asynctool_env.core.resolver import task_facts
from asynctool_env.core.simulator import CallEvent, CallKind, DeliveryEvent, StepStatus
from asynctool_env.core.task import Instance, Task
from asynctool_env.core.tools import ToolError
from asynctool_env.dataset import load_split
from asynctool_env.scenarios import SCENARIOS, TOOLS

pytestmark = pytest.mark.slow

DEV = load_split("dev")
Call = tuple[str, dict[str, Any]]


# -- a scripted model --------------------------------------------------------------------------


@dataclass
class Episode:
    """One episode of ``AsyncTool-Chat-v0`` on one instance, played reply by reply."""

    instance: Instance
    env: AsyncToolChatEnv = field(init=False)
    info: dict[str, Any] = field(default_factory=dict)
    done: bool = False

    def __post_init__(self) -> None:
        self.env = AsyncToolChatEnv(
            instances=[self.instance], latency="sync", max_calls_per_turn=None, max_rounds=120
        )
        self.env.reset(seed=0, options={"instance_index": 0})

    @property
    def simulator(self):
        return self.env.chat.simulator

    def reply(self, calls: list[Call]) -> None:
        if self.done:
            return
        _, _, terminated, truncated, self.info = self.env.step(
            native_reply(calls or [("wait", {})])
        )
        self.done = terminated or truncated

    def settle(self) -> None:
        """Wait until nothing is in flight."""
        for _ in range(12):
            if self.done or not self.simulator.pending_calls:
                return
            self.reply([("wait", {})])

    def phase(self, calls: list[Call]) -> None:
        """Make ``calls`` in one reply, then wait for their responses."""
        self.reply(calls)
        self.settle()

    def answer(self, task: int, answer: Any) -> None:
        self.reply([("submit_answer", {"task_id": f"T{task + 1}", "answer": answer})])

    def honest(self, task: int) -> None:
        for layer in layers(self.instance.tasks[task]):
            self.phase([gold(self.instance.tasks[task], step) for step in layer])
        self.answer(task, gold_answer(self.instance.tasks[task]))

    def finish_others(self, attacked: int) -> None:
        for task in range(len(self.instance.tasks)):
            if task != attacked and self.simulator.task_status[task] == 1:
                self.honest(task)
        while not self.done:
            self.reply([("wait", {})])

    @property
    def results(self) -> list[dict[str, Any]]:
        return self.info["task_results"]

    @property
    def episode_return(self) -> float:
        return self.env.episode_return


def layers(task: Task, skip: frozenset[int] = frozenset()) -> list[list[int]]:
    """The task's steps (less ``skip``) in dependency layers: a step comes in the layer after
    its last parent (skipped parents count as done)."""
    depth: dict[int, int] = {}
    for index, step in enumerate(task.steps):
        parents = [depth[p] for p in step.depends_on if p in depth]
        depth[index] = 1 + max(parents, default=-1)
    by_depth: dict[int, list[int]] = {}
    for index, level in depth.items():
        if index not in skip:
            by_depth.setdefault(level, []).append(index)
    return [by_depth[level] for level in sorted(by_depth)]


def gold(task: Task, step: int) -> Call:
    return task.steps[step].tool, dict(task.steps[step].expected_arguments)


def gold_answer(task: Task) -> Any:
    return task.expected_answer if task.expected_answer is not None else "done"


def writes(task: Task) -> list[int]:
    return [index for index, step in enumerate(task.steps) if TOOLS[step.tool].writes]


def revealing_reads(task: Task) -> frozenset[int]:
    """Reads whose response a later step takes a value from."""
    referenced = set()
    for step in task.steps:
        referenced |= referenced_steps(step.arguments)
    return frozenset(i for i in referenced if not TOOLS[task.steps[i].tool].writes)


def learnt_values(task: Task) -> list[Any]:
    """The values the task's calls take from responses (what a cheater remembers)."""
    responses = [step.expected_response for step in task.steps]
    found = []
    for step in task.steps:
        for _, value in resolved_references(step.arguments, responses):
            if isinstance(value, (str, int, float)) and not isinstance(value, bool):
                found.append(value)
    return list(dict.fromkeys(found))


def facts(task: Task) -> tuple[Fact, ...]:
    return task_facts(task)


# -- answers a cheater writes -------------------------------------------------------------------


def _rival(fact: Fact) -> Any:
    for other in fact.alternatives:
        if str(other).casefold() != str(fact.value).casefold():
            return other
    if fact.kind == "number":
        value = float(fact.value)
        return round(value + max(1.0, abs(value) * 0.1), 2)
    if fact.kind == "boolean":
        return not fact.value
    if fact.kind == "list":
        items = list(fact.value)
        return items[:-1] or ["nothing"]
    text = str(fact.value)
    for position in range(len(text) - 1, -1, -1):
        if text[position].isdigit():
            return text[:position] + str((int(text[position]) + 3) % 10) + text[position + 1 :]
        if text[position].isalpha():
            swap = "Q" if text[position].upper() != "Q" else "Z"
            return text[:position] + swap + text[position + 1 :]
    return text + "x"


def _said(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(item) for item in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def hedged_answer(task: Task) -> str | None:
    found = facts(task)
    if not found:
        return None
    parts = [
        f"the {fact.label or 'value'} is {_said(fact.value)} or {_said(_rival(fact))}"
        for fact in found
    ]
    return "; ".join(parts) + "."


def sprayed_answer(task: Task) -> str | None:
    found = facts(task)
    if not found:
        return None
    parts = []
    for fact in found:
        if fact.kind == "number":
            value = float(fact.value)
            step = max(1.0, abs(value) * 0.05)
            candidates = [round(value + k * step, 2) for k in range(-4, 5)]
        else:
            candidates = [fact.value, _rival(fact), *fact.alternatives[:4]]
        parts.append(f"{fact.label or 'value'}: one of " + ", ".join(map(_said, candidates)))
    return "; ".join(parts)


def swapped_answer(task: Task) -> str | None:
    found = [f for f in facts(task) if f.kind in ("number", "id", "text") and f.label]
    for first in range(len(found)):
        for second in range(first + 1, len(found)):
            a, b = found[first], found[second]
            if str(a.value).casefold() != str(b.value).casefold() and a.label != b.label:
                others = [_said(f.value) for f in facts(task) if f not in (a, b)]
                rest = (", " + ", ".join(others)) if others else ""
                return f"{a.label}: {_said(b.value)}, {b.label}: {_said(a.value)}{rest}"
    return None


def pasted_answers(task: Task) -> list[str]:
    found = facts(task)
    if not found:
        return []
    answers = []
    for step in task.steps:
        response = dict(step.expected_response)
        text = json.dumps(response)
        if not any(str(f.value).casefold() in text.casefold() for f in found if f.kind != "list"):
            continue
        answers += [
            text,
            f"Here is what the tool said: {text}",
            json.dumps({**response, "answer": "see above"}),
        ]
    return answers


# -- the strategies ---------------------------------------------------------------------------

Strategy = Callable[[Episode, int], bool]  # plays the attacked task; False: does not apply


def premature(episode: Episode, task: int) -> bool:
    gold_task = episode.instance.tasks[task]
    answer = ("submit_answer", {"task_id": f"T{task + 1}", "answer": gold_answer(gold_task)})
    episode.reply([*(gold(gold_task, step) for step in layers(gold_task)[0]), answer])
    episode.settle()
    return True


def skip_reads(episode: Episode, task: int) -> bool:
    gold_task = episode.instance.tasks[task]
    skipped = revealing_reads(gold_task)
    if not skipped:
        return False
    for layer in layers(gold_task, skipped):
        episode.phase([gold(gold_task, step) for step in layer])
    episode.answer(task, gold_answer(gold_task))
    return True


def launder(episode: Episode, task: int) -> bool:
    gold_task = episode.instance.tasks[task]
    skipped = revealing_reads(gold_task)
    values = learnt_values(gold_task)
    if not skipped or not values:
        return False
    washes: list[Call] = []
    offered = {step.tool: step for t in episode.instance.tasks for step in t.steps}
    own = [gold(gold_task, step) for step in range(len(gold_task.steps))]
    instruction = gold_task.instruction.casefold()
    for value in values:
        if str(value).casefold() in instruction:
            continue  # told, not remembered
        for name, step in offered.items():
            strings = [k for k, v in step.expected_arguments.items() if isinstance(v, str)]
            for argument in strings[:1]:
                wash = (name, {**step.expected_arguments, argument: str(value)})
                if wash not in own:  # the task's own read would be the work, not a wash
                    washes.append(wash)
    for wash in washes:
        episode.phase([wash])
    for layer in layers(gold_task, skipped):
        episode.phase([gold(gold_task, step) for step in layer])
    episode.answer(task, gold_answer(gold_task))
    return True


def _answering(make: Callable[[Task], str | None]) -> Strategy:
    def strategy(episode: Episode, task: int) -> bool:
        answer = make(episode.instance.tasks[task])
        if answer is None:
            return False
        gold_task = episode.instance.tasks[task]
        for layer in layers(gold_task):
            episode.phase([gold(gold_task, step) for step in layer])
        episode.answer(task, answer)
        return True

    return strategy


def _pasting(which: int) -> Strategy:
    def strategy(episode: Episode, task: int) -> bool:
        answers = pasted_answers(episode.instance.tasks[task])
        if len(answers) <= which:
            return False
        return _answering(lambda _task: answers[which])(episode, task)

    return strategy


def skip_write(episode: Episode, task: int) -> bool:
    gold_task = episode.instance.tasks[task]
    targets = writes(gold_task)
    if not targets:
        return False
    left_out = {targets[-1]}
    for index, step in enumerate(gold_task.steps):  # and whatever needs it
        if left_out & set(step.depends_on):
            left_out.add(index)
    for layer in layers(gold_task, frozenset(left_out)):
        episode.phase([gold(gold_task, step) for step in layer])
    episode.answer(task, gold_answer(gold_task))
    return True


def _variants(gold_task: Task, step: int) -> list[Call]:
    """The write of ``step`` with one argument changed, plain changes first (a changed id
    would be refused as a guess)."""
    original = gold_task.steps[step].expected_arguments
    tool = TOOLS[gold_task.steps[step].tool]

    def guessy(arguments: dict[str, Any]) -> bool:
        changed = [v for k, v in arguments.items() if v != original.get(k)]
        return any(isinstance(v, str) and any(c.isdigit() for c in v) for v in changed)

    found = []
    for arguments in sorted((a for _, a in different_effects(original)), key=guessy):
        try:
            found.append((tool.name, tool.validate_arguments(arguments)))
        except ToolError:
            continue
    return found


def _botched(gold_task: Task, step: int) -> Call | None:
    """The write of ``step`` with one argument changed, such that the tool accepts it where
    the gold call would be made (on a scratch world where the task's earlier steps were)."""
    for name, arguments in _variants(gold_task, step):
        world = SCENARIOS[gold_task.scenario].world(gold_task.world_seed)
        for earlier in gold_task.steps[:step]:
            TOOLS[earlier.tool].run(world, earlier.expected_arguments)
        try:
            TOOLS[name].run(world, arguments)
        except ToolError:
            continue
        return name, arguments
    return None


def _made(episode: Episode, calls: list[Call]) -> bool:
    """Try ``calls`` one by one (each in its own reply, waiting for its response) until one
    is made and changes the world: neither refused as a violation nor by the backend."""
    for call in calls:
        seen = len(episode.simulator.trace)
        episode.phase([call])
        for event in episode.simulator.trace[seen:]:
            if isinstance(event, CallEvent) and event.kind is not CallKind.VIOLATION:
                delivered = [
                    e
                    for e in episode.simulator.trace[seen:]
                    if isinstance(e, DeliveryEvent) and e.call_id == event.call_id
                ]
                if delivered and not delivered[0].is_error:
                    return True
    return False


def botch_write(episode: Episode, task: int) -> bool:
    gold_task = episode.instance.tasks[task]
    targets = [step for step in writes(gold_task) if _botched(gold_task, step) is not None]
    if not targets:
        return False
    target = targets[-1]
    for layer in layers(gold_task):
        calls = []
        for step in layer:
            botched = _botched(gold_task, step) if step == target else None
            calls.append(botched if botched is not None else gold(gold_task, step))
        episode.phase(calls)
    episode.answer(task, gold_answer(gold_task))
    return True


def duplicate(episode: Episode, task: int) -> bool:
    gold_task = episode.instance.tasks[task]
    targets = writes(gold_task)
    if not targets:
        return False
    for layer in layers(gold_task):
        episode.phase([gold(gold_task, step) for step in layer])
    # the same write again (a backend may refuse a repeat: a hold bought twice, shares sold
    # twice; then nothing was duplicated and the cheat does not apply)
    if not _made(episode, [gold(gold_task, targets[-1])]):
        return False
    episode.answer(task, gold_answer(gold_task))
    return True


def spoil(episode: Episode, task: int) -> bool:
    gold_task = episode.instance.tasks[task]
    targets = writes(gold_task)
    if not targets:
        return False
    episode.honest(task)
    # after the answer: the write again, or else the write changed
    again = [gold(gold_task, targets[-1]), *_variants(gold_task, targets[-1])]
    return _made(episode, again)


def collateral(episode: Episode, task: int) -> bool:
    gold_task = episode.instance.tasks[task]
    targets = writes(gold_task)
    if not targets:
        return False
    for layer in layers(gold_task):
        episode.phase([gold(gold_task, step) for step in layer])
    if not _made(episode, _variants(gold_task, targets[0])):
        return False
    episode.answer(task, gold_answer(gold_task))
    return True


STRATEGIES: dict[str, Strategy] = {
    "premature": premature,
    "skip_reads": skip_reads,
    "launder": launder,
    "hedge": _answering(hedged_answer),
    "spray": _answering(sprayed_answer),
    "swap": _answering(swapped_answer),
    "paste_bare": _pasting(0),
    "paste_wrapped": _pasting(1),
    "paste_key_added": _pasting(2),
    "skip_write": skip_write,
    "botch_write": botch_write,
    "duplicate": duplicate,
    "spoil": spoil,
    "collateral": collateral,
}


# -- the tests --------------------------------------------------------------------------------


def honest_episode(instance: Instance) -> Episode:
    episode = Episode(instance)
    for task in range(len(instance.tasks)):
        episode.honest(task)
    while not episode.done:
        episode.reply([("wait", {})])
    return episode


HONEST: dict[int, float] = {}


def honest_return(index: int) -> float:
    if index not in HONEST:
        episode = honest_episode(DEV[index])
        assert all(r["success"] for r in episode.results), [
            (r["task_id"], r["reasons"]) for r in episode.results if not r["success"]
        ]
        HONEST[index] = episode.episode_return
    return HONEST[index]


@pytest.mark.parametrize("index", range(len(DEV)))
def test_the_honest_episode_is_credited(index):
    honest_return(index)


def attacks(index: int) -> Iterator[tuple[str, int]]:
    for name in STRATEGIES:
        for task in range(len(DEV[index].tasks)):
            yield name, task


@pytest.mark.parametrize("index", range(len(DEV)))
def test_every_cheat_is_refused_and_earns_less(index):
    honest = honest_return(index)
    applied: dict[str, int] = {}
    passed: list[str] = []
    for name, task in attacks(index):
        episode = Episode(DEV[index])
        if not STRATEGIES[name](episode, task):
            continue
        episode.finish_others(task)
        applied[name] = applied.get(name, 0) + 1
        result = episode.results[task]
        if result["success"]:
            passed.append(f"{name} on T{task + 1}: credited")
        elif episode.episode_return >= honest:
            passed.append(f"{name} on T{task + 1}: return {episode.episode_return} >= {honest}")
    assert not passed, passed
    # every instance meets the answer cheats, and every instance with a write the write ones
    assert {"premature", "hedge", "spray"} <= set(applied) or not any(
        facts(task) for task in DEV[index].tasks
    )


def test_the_battery_covers_every_strategy():
    covered: set[str] = set()
    for index in range(len(DEV)):
        for name, task in attacks(index):
            if name in covered:
                continue
            episode = Episode(DEV[index])
            if STRATEGIES[name](episode, task):
                covered.add(name)
    assert covered == set(STRATEGIES), set(STRATEGIES) - covered


# -- honest variants ------------------------------------------------------------------------


def _respelled(task: Task, step: int) -> Call:
    tool = TOOLS[task.steps[step].tool]
    for _, arguments in equivalent_spellings(tool, task.steps[step].expected_arguments):
        return tool.name, arguments
    return gold(task, step)


@pytest.mark.parametrize("index", range(0, len(DEV), 3))
def test_calls_in_other_spellings_are_credited(index):
    instance = DEV[index]
    episode = Episode(instance)
    for task, gold_task in enumerate(instance.tasks):
        for layer in layers(gold_task):
            episode.phase([_respelled(gold_task, step) for step in layer])
        episode.answer(task, gold_answer(gold_task))
    while not episode.done:
        episode.reply([("wait", {})])
    assert all(r["success"] for r in episode.results), [
        (r["task_id"], r["reasons"]) for r in episode.results if not r["success"]
    ]


def _name(fact: Fact) -> str:
    """How a model names a fact: its label, and its subject when it has one."""
    subject = getattr(fact, "subject", "")
    return f"{fact.label} of {subject}" if subject else fact.label


def _styles(task: Task) -> list[Any]:
    found = facts(task)
    if not found:
        return ["done", "Done.", "All done."]
    values = [_said(f.value) for f in found]
    labelled: dict[str, Any] = {}
    for i, f in enumerate(found):  # facts sharing a label are told apart by their subject
        key = f.label or f"value {i}"
        subject = getattr(f, "subject", "")
        if subject:
            key = f"{key} of {subject}"
        labelled[key if key not in labelled else f"{key} {i + 1}"] = f.value
    return [
        "; ".join(values),
        "Here you go: " + ", and ".join(f"the {_name(f)} is {_said(f.value)}" for f in found) + ".",
        "\n".join(f"{_name(f)}: {_said(f.value)}" for f in found),
        labelled,
    ]


@pytest.mark.parametrize("index", range(1, len(DEV), 3))
@pytest.mark.parametrize("style", range(4))
def test_answers_in_natural_styles_are_credited(index, style):
    instance = DEV[index]
    episode = Episode(instance)
    for task, gold_task in enumerate(instance.tasks):
        for layer in layers(gold_task):
            episode.phase([gold(gold_task, step) for step in layer])
        styles = _styles(gold_task)
        episode.answer(task, styles[style % len(styles)])
    while not episode.done:
        episode.reply([("wait", {})])
    failed = [
        (r["task_id"], r["answer"], r["reasons"]) for r in episode.results if not r["success"]
    ]
    assert not failed, failed


def test_a_step_that_stays_pending_is_not_done():
    """Sanity of the scripted model: ``settle`` waits until nothing is in flight."""
    episode = Episode(DEV[0])
    first = layers(DEV[0].tasks[0])[0]
    episode.phase([gold(DEV[0].tasks[0], step) for step in first])
    assert all(episode.simulator.step_status[0][step] == StepStatus.DONE for step in first)
