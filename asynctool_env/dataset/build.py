"""The dataset pipeline: seed tasks -> evolution -> filtering -> composition -> splits.

``asynctool data build`` runs :func:`build_dataset` and writes the file shipped in the
package (``asynctool_env/data/asynctool-v3.jsonl.gz``). Everything is drawn from generators
seeded by :class:`BuildConfig`'s ``seed`` and names, never from set or dict iteration order
of strings, so the same config gives the same bytes on any machine and any
``PYTHONHASHSEED`` (a test builds twice and compares).

Stages
------
1. **Seed tasks.** For every scenario, split and world (worlds are disjoint between splits),
   every template draws a task spec.
2. **Evolution.** Each seed spec also yields evolved variants (see
   :mod:`asynctool_env.dataset.evolution`): in-depth (``lookup``, ``follow_up``) and
   in-breadth (``side_step``) operators, alone or combined.
3. **Filtering.** Every spec is executed (:func:`build_task_from_spec`: all gold calls must
   succeed and the answer must resolve), replayed through the simulator by
   :func:`replay_gold` (the task must come out right, with its answer checked as text), kept
   only with 2 to 8 steps and no finding of the knowability audit
   (:mod:`asynctool_env.dataset.audit`), and deduplicated by its gold calls and instruction.
4. **Composition.** Instances of 2 and 3 tasks, same-scenario (tasks sharing one world, where
   tools and ids are easiest to confuse) and cross-scenario, with a latency profile each
   (in-breadth evolution of the instance). Choices are balanced: least-used scenarios and
   tasks first, task counts alternating, and among a few candidates the one whose difficulty
   bucket is rarest so far.
5. **Instance filter.** Each instance is replayed to success and deduplicated, and no two of
   its tasks may make gold calls equal in effect (same canonical arguments, or a read with
   the same answer): a chat model's call could not be attributed. Tasks sharing a world
   must commute (worlds are stateful, :mod:`asynctool_env.core.state`): no two of them may
   touch one object with one of them writing it, so every interleaving a careful agent picks
   gets the gold responses and leaves the gold final state. Same-scenario compositions pick
   only such tasks.
"""

from __future__ import annotations

import json
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from asynctool_env.core.effects import play_gold, task_conflicts
from asynctool_env.core.scenario import Scenario, TemplateError, build_task_from_spec
from asynctool_env.core.simulator import Simulator, StepStatus
from asynctool_env.core.state import Effects
from asynctool_env.core.task import Instance, Task
from asynctool_env.dataset.audit import audit_task
from asynctool_env.dataset.evolution import MAX_EVOLVED_STEPS, evolve
from asynctool_env.metrics import EpisodeMetrics, episode_metrics
from asynctool_env.scenarios import SCENARIOS, TOOLS

#: Operator combinations tried on every seed spec (each one gives at most one variant).
VARIANTS: tuple[tuple[str, ...], ...] = (
    ("lookup",),
    ("follow_up",),
    ("side_step",),
    ("lookup", "side_step"),
    ("follow_up", "side_step"),
)


@dataclass(frozen=True)
class SplitConfig:
    """Size of one split."""

    name: str
    worlds_per_scenario: int
    instances: int


@dataclass(frozen=True)
class BuildConfig:
    """Everything that determines the dataset file.

    Attributes:
        seed: Root seed of every draw.
        splits: The splits, each with its own worlds (no world is shared across splits).
        variants_per_seed: Evolved variants kept per seed task (drawn from ``VARIANTS``).
        three_task_share: Share of 3-task instances (the rest have 2).
        same_scenario_share: Share of same-scenario instances.
        latency_profiles: Latency profile name -> weight, drawn per instance.
        candidates: Candidate compositions scored per instance for difficulty balance.
    """

    seed: int = 2605
    splits: tuple[SplitConfig, ...] = (
        SplitConfig("test", worlds_per_scenario=4, instances=720),
        SplitConfig("dev", worlds_per_scenario=1, instances=72),
    )
    variants_per_seed: int = 2
    three_task_share: float = 0.5
    same_scenario_share: float = 0.3
    latency_profiles: Mapping[str, float] = field(
        default_factory=lambda: {"tool": 0.55, "stochastic": 0.2, "fixed": 0.15, "uniform": 0.1}
    )
    candidates: int = 4


@dataclass
class BuildReport:
    """What the pipeline kept and dropped, by stage (printed by ``asynctool data build``)."""

    seed_specs: int = 0
    evolved_specs: int = 0
    rejected_execution: int = 0
    rejected_replay: int = 0
    rejected_size: int = 0
    rejected_shared_calls: int = 0
    rejected_conflicts: int = 0
    #: Tasks dropped by the knowability audit, by finding (a task may have several).
    rejected_audit: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    single_tasks: Counter[str] = field(default_factory=Counter)
    instances: Counter[str] = field(default_factory=Counter)
    rejections: list[str] = field(default_factory=list)


def _rng(*parts: object) -> np.random.Generator:
    """A generator seeded by names and numbers (stable across processes and machines)."""
    words = [zlib.crc32(str(part).encode()) for part in parts]
    return np.random.default_rng(np.random.SeedSequence(words))


def task_pattern(task: Task) -> str:
    """``"chain"`` when the steps form one path (each needs the previous), else ``"dag"``."""
    for index, step in enumerate(task.steps):
        if step.depends_on != ((index - 1,) if index else ()):
            return "dag"
    return "chain"


def difficulty(instance: Instance) -> str:
    """``easy`` (<= 7 gold steps), ``medium`` (8-11) or ``hard`` (12 or more)."""
    steps = instance.n_steps
    return "easy" if steps <= 7 else "medium" if steps <= 11 else "hard"


def replay_gold(
    instance: Instance, latency: str = "tool", seed: int = 0
) -> tuple[EpisodeMetrics, Simulator]:
    """Play the gold trajectory: every ready step each turn, answers given as text.

    A task that does not come out right here is broken (its answer does not match its own
    gold responses, say), and the pipeline drops it.
    """
    simulator = Simulator(
        instance, np.random.default_rng(seed), latency=latency, max_calls_per_turn=None
    )
    limit = 4 * (instance.n_steps + 2) * 9
    while not simulator.finished and simulator.round < limit:
        for task_index, task in enumerate(instance.tasks):
            if simulator.task_status[task_index] != 1:
                continue
            if simulator.all_steps_done(task_index):
                simulator.answer_task(task_index, task.expected_answer)
                continue
            for step_index, status in enumerate(simulator.step_status[task_index]):
                if status == StepStatus.READY:
                    simulator.call_step(task_index, step_index)
        if not simulator.finished:
            simulator.end_turn()
    return episode_metrics(simulator), simulator


def build_single_tasks(
    config: BuildConfig, split: SplitConfig, report: BuildReport
) -> dict[str, list[list[Task]]]:
    """Seed, evolve and filter the single tasks of a split: ``[scenario][world] -> tasks``."""
    pool: dict[str, list[list[Task]]] = {}
    seen: set[str] = set()
    for name in sorted(SCENARIOS):
        pool[name] = []
        for world_index in range(split.worlds_per_scenario):
            tasks = tasks_for_world(
                SCENARIOS[name],
                world_index,
                seed=config.seed,
                stream=split.name,
                variants_per_seed=config.variants_per_seed,
                report=report,
                seen=seen,
            )
            report.single_tasks[split.name] += len(tasks)
            pool[name].append(tasks)
    return pool


def tasks_for_world(
    scenario: Scenario,
    world_index: int,
    *,
    seed: int,
    stream: str,
    variants_per_seed: int,
    report: BuildReport | None = None,
    seen: set[str] | None = None,
    replay: bool = True,
) -> list[Task]:
    """The validated seed and evolved tasks of one world of one scenario.

    Args:
        scenario: The scenario.
        world_index: Which world of the stream.
        seed: Root seed.
        stream: Names an independent stream of worlds (a split, or "procedural").
        variants_per_seed: Evolved variants tried per seed task.
        report: Counts what was kept and dropped.
        seen: Signatures of tasks already kept (for deduplication across worlds).
        replay: Replay each task through the simulator (the dataset does; the procedural
            generator skips it, since execution already checks the gold calls).
    """
    report = report if report is not None else BuildReport()
    seen = seen if seen is not None else set()
    world_seed = int(_rng(seed, stream, scenario.name, world_index).integers(0, 2**31 - 1))
    world = scenario.world(world_seed)
    kept: list[Task] = []
    for template in sorted(scenario.templates):
        rng = _rng(seed, stream, scenario.name, world_index, template)
        seed_spec = scenario.templates[template](world, rng)
        report.seed_specs += 1
        candidates: list[tuple[Any, tuple[str, ...]]] = [(seed_spec, ())]
        order = rng.permutation(len(VARIANTS))
        for variant_index in order[:variants_per_seed]:
            evolved, applied = evolve(seed_spec, scenario, world, rng, VARIANTS[int(variant_index)])
            if applied:
                report.evolved_specs += 1
                candidates.append((evolved, applied))
        for spec, applied in candidates:
            task = _validated_task(
                scenario, spec, world_seed, world, template, applied, report, replay
            )
            if task is None:
                continue
            signature = repr(
                (
                    task.world_seed,
                    task.instruction,
                    [(step.tool, step.expected_arguments) for step in task.steps],
                )
            )
            if signature in seen:
                report.duplicates += 1
                continue
            seen.add(signature)
            kept.append(task)
    return kept


def _validated_task(
    scenario: Scenario,
    spec: Any,
    world_seed: int,
    world: Any,
    template: str,
    applied: tuple[str, ...],
    report: BuildReport,
    replay: bool = True,
) -> Task | None:
    try:
        task = build_task_from_spec(
            scenario,
            spec,
            world_seed,
            world=world,
            template=template,
            metadata={"operators": list(applied)},
        )
    except TemplateError as error:
        report.rejected_execution += 1
        report.rejections.append(str(error))
        return None
    if not 2 <= task.n_steps <= MAX_EVOLVED_STEPS:
        report.rejected_size += 1
        return None
    task = Task(
        task_id=task.task_id,
        scenario=task.scenario,
        instruction=task.instruction,
        steps=task.steps,
        answer=task.answer,
        expected_answer=task.expected_answer,
        world_seed=task.world_seed,
        metadata={**task.metadata, "pattern": task_pattern(task)},
        facts=task.facts,
    )
    findings = audit_task(task)
    if findings:
        report.rejected_audit.update(finding.kind for finding in findings)
        report.rejections.extend(f"{f.task_id}: {f.kind}: {f.detail}" for f in findings)
        return None
    if replay and not replay_gold(Instance(task.task_id, (task,)))[0].instance_success:
        report.rejected_replay += 1
        report.rejections.append(f"{task.task_id}: the gold replay did not succeed")
        return None
    return task


def shares_a_gold_call(tasks: Sequence[Task]) -> bool:
    """True when two tasks make an identical gold call (same tool and arguments).

    A chat model's call names a tool and arguments, not a task, so such a call could belong
    to either task and the two interfaces would disagree about what was done; the pipeline
    keeps such compositions out of the dataset.
    """
    seen: dict[str, int] = {}
    for index, task in enumerate(tasks):
        for step in task.steps:
            tool = TOOLS.get(step.tool)
            arguments = (
                tool.canonical_arguments(step.expected_arguments)
                if tool is not None
                else step.expected_arguments
            )
            # Equal in effect (canonical arguments), or a read with the same answer: the
            # resolver could not tell which task such a call serves.
            signatures = [json.dumps([step.tool, arguments], sort_keys=True, default=str)]
            if tool is not None and not tool.writes:
                signatures.append(
                    json.dumps([step.tool, step.expected_response], sort_keys=True, default=str)
                )
            for signature in signatures:
                if seen.setdefault(signature, index) != index:
                    return True
    return False


def _least_used(
    items: Sequence[Any],
    usage: Callable[[Any], int],
    rng: np.random.Generator,
    count: int = 1,
) -> list[Any]:
    """``count`` distinct items, least used first (``usage(item)``), ties broken at random."""
    noise = rng.random(len(items))
    order = sorted(range(len(items)), key=lambda index: (usage(items[index]), noise[index]))
    return [items[index] for index in order[:count]]


def compose_instances(
    config: BuildConfig,
    split: SplitConfig,
    pool: Mapping[str, Sequence[Sequence[Task]]],
    report: BuildReport,
) -> list[Instance]:
    """Compose, balance and filter the multi-task instances of a split."""
    rng = _rng(config.seed, split.name, "compose")
    names = sorted(pool)
    scenario_usage: Counter[str] = Counter()
    task_usage: Counter[str] = Counter()
    world_usage: Counter[tuple[str, int]] = Counter()
    difficulty_usage: Counter[str] = Counter()
    profiles = sorted(config.latency_profiles)
    weights = np.array([config.latency_profiles[name] for name in profiles], dtype=float)
    weights /= weights.sum()
    seen: set[tuple[str, ...]] = set()
    instances: list[Instance] = []
    attempts = 0
    effects: dict[str, Effects] = {}
    while len(instances) < split.instances:
        attempts += 1
        if attempts > split.instances * 20:
            raise RuntimeError(
                f"split {split.name!r}: could only compose {len(instances)} distinct "
                f"instances of {split.instances}; add worlds or templates"
            )
        index = len(instances)
        # Exact shares without drawing: 3 tasks whenever floor(i * share) steps up.
        share = config.three_task_share
        n_tasks = 3 if int((index + 1) * share) > int(index * share) else 2
        same = rng.random() < config.same_scenario_share
        best: tuple[tuple[int, float], list[Task], str] | None = None
        for _ in range(config.candidates):
            tasks = (
                _same_scenario(
                    pool, names, n_tasks, rng, scenario_usage, world_usage, task_usage, effects
                )
                if same
                else _cross_scenario(pool, names, n_tasks, rng, scenario_usage, task_usage)
            )
            if tasks is None:
                continue
            bucket = difficulty(Instance("candidate", tuple(tasks)))
            score = (difficulty_usage[bucket], float(rng.random()))
            if best is None or score < best[0]:
                best = (score, tasks, bucket)
        if best is None:
            same = False
            continue
        _, tasks, bucket = best
        key = tuple(sorted(task.task_id for task in tasks))
        if key in seen:
            report.duplicates += 1
            continue
        if shares_a_gold_call(tasks):
            report.rejected_shared_calls += 1
            continue
        if task_conflicts(tasks, play_gold(tasks, TOOLS, _fresh_world)):
            report.rejected_conflicts += 1
            continue
        profile = profiles[int(rng.choice(len(profiles), p=weights))]
        composition = "same" if len({task.scenario for task in tasks}) == 1 else "cross"
        instance = Instance(
            f"{split.name}-{index:04d}",
            tuple(tasks),
            {
                "split": split.name,
                "n_tasks": len(tasks),
                "composition": composition,
                "latency": profile,
                "difficulty": bucket,
                "scenarios": [task.scenario for task in tasks],
                "patterns": [task.metadata.get("pattern", "chain") for task in tasks],
            },
        )
        metrics, _ = replay_gold(instance, latency=profile, seed=index)
        if not metrics.instance_success:
            report.rejected_replay += 1
            continue
        seen.add(key)
        instances.append(instance)
        difficulty_usage[bucket] += 1
        for task in tasks:
            scenario_usage[task.scenario] += 1
            task_usage[task.task_id] += 1
        report.instances[split.name] += 1
    return instances


def _same_scenario(
    pool: Mapping[str, Sequence[Sequence[Task]]],
    names: Sequence[str],
    n_tasks: int,
    rng: np.random.Generator,
    scenario_usage: Counter[str],
    world_usage: Counter[tuple[str, int]],
    task_usage: Counter[str],
    effects: dict[str, Effects],
) -> list[Task] | None:
    """``n_tasks`` distinct tasks of one world of one scenario (different templates) that
    commute: none touches an object another writes (``effects`` caches each task's)."""
    for name in _least_used(list(names), scenario_usage.__getitem__, rng, count=len(names)):
        worlds = [(name, index) for index, world in enumerate(pool[name]) if len(world) >= n_tasks]
        if not worlds:
            continue
        _, world_index = _least_used(worlds, world_usage.__getitem__, rng)[0]
        world_usage[(name, world_index)] += 1
        tasks = list(pool[name][world_index])
        chosen: list[Task] = []
        templates: set[str] = set()
        by_usage = _least_used(tasks, lambda task: task_usage[task.task_id], rng, count=len(tasks))
        for task in by_usage:
            template = task.metadata.get("template", "")
            if template in templates:
                continue
            mine = _effects_of(task, effects)
            if any(mine.conflicts_with(_effects_of(other, effects)) for other in chosen):
                continue
            templates.add(template)
            chosen.append(task)
            if len(chosen) == n_tasks:
                return chosen
    return None


def _fresh_world(scenario: str, world_seed: int) -> Any:
    return SCENARIOS[scenario].world(world_seed)


def _effects_of(task: Task, cache: dict[str, Effects]) -> Effects:
    """What ``task``'s gold calls read and write, played alone on a fresh world (cached)."""
    if task.task_id not in cache:
        cache[task.task_id] = play_gold([task], TOOLS, _fresh_world).task_effects[0]
    return cache[task.task_id]


def _cross_scenario(
    pool: Mapping[str, Sequence[Sequence[Task]]],
    names: Sequence[str],
    n_tasks: int,
    rng: np.random.Generator,
    scenario_usage: Counter[str],
    task_usage: Counter[str],
) -> list[Task] | None:
    """One task from each of ``n_tasks`` different scenarios, least used first."""
    if n_tasks > len(names):
        return None
    chosen: list[Task] = []
    for name in _least_used(list(names), scenario_usage.__getitem__, rng, count=n_tasks):
        tasks = [task for world in pool[name] for task in world]
        if not tasks:
            return None
        chosen.append(_least_used(tasks, lambda task: task_usage[task.task_id], rng)[0])
    order = rng.permutation(len(chosen))
    return [chosen[int(index)] for index in order]


def build_dataset(config: BuildConfig | None = None) -> tuple[list[Instance], BuildReport]:
    """Run the whole pipeline; returns the instances of every split, in file order."""
    config = config or BuildConfig()
    report = BuildReport()
    instances: list[Instance] = []
    for split in config.splits:
        pool = build_single_tasks(config, split, report)
        instances.extend(compose_instances(config, split, pool, report))
    return instances, report


def distinct_tasks(instances: Iterable[Instance]) -> int:
    """Number of distinct single tasks used by ``instances``."""
    return len({task.task_id for instance in instances for task in instance.tasks})
