"""Task banks, instance composition, and the JSONL instance files."""

from __future__ import annotations

import copy
import gzip
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from asynctool_env.core.task import Instance
from asynctool_env.instances import (
    InstanceFileError,
    InstanceGenerator,
    InstanceRecord,
    TaskBank,
    load_instances,
    save_instances,
    shared_task_bank,
)
from asynctool_env.scenarios import SCENARIOS
from tests.conftest import chain_instance

N_TEMPLATES = {name: len(scenario.templates) for name, scenario in SCENARIOS.items()}


TWO = ["messaging", "travel"]


@pytest.fixture(scope="module")
def bank() -> TaskBank:
    """Two scenarios keep the composition tests exact; evolution adds variants."""
    return TaskBank(TWO, worlds_per_scenario=4, seed=0)


def all_tasks(bank: TaskBank) -> list[Any]:
    return [task for worlds in bank.tasks.values() for world in worlds for task in world]


# -- TaskBank -------------------------------------------------------------------------------


@pytest.mark.parametrize(("scenarios", "worlds"), [(None, 1), (["travel"], 2), (TWO, 3)])
def test_task_bank_without_evolution_has_one_task_per_template(scenarios, worlds):
    bank = TaskBank(scenarios, worlds_per_scenario=worlds, variants_per_seed=0)
    expected_names = tuple(sorted(SCENARIOS) if scenarios is None else scenarios)
    assert bank.scenarios == expected_names
    assert list(bank.tasks) == list(expected_names)
    assert len(bank) == worlds * sum(N_TEMPLATES[name] for name in expected_names)
    for name, world_list in bank.tasks.items():
        assert len(world_list) == worlds
        seeds = set()
        for world in world_list:
            assert {task.scenario for task in world} == {name}
            world_seeds = {task.world_seed for task in world}
            assert len(world_seeds) == 1
            seeds |= world_seeds
            templates = [task.metadata["template"] for task in world]
            assert templates == sorted(SCENARIOS[name].templates)
            assert all(task.metadata["operators"] == [] for task in world)
        assert len(seeds) == worlds


def test_task_bank_evolution_adds_variants(bank):
    for name, world_list in bank.tasks.items():
        for world in world_list:
            seeds = [task for task in world if not task.metadata["operators"]]
            assert len(seeds) == N_TEMPLATES[name]
            assert len(world) <= N_TEMPLATES[name] * 3
    evolved = [task for task in all_tasks(bank) if task.metadata["operators"]]
    assert len(evolved) >= len(all_tasks(bank)) // 4
    operators = Counter(op for task in evolved for op in task.metadata["operators"])
    assert set(operators) <= {"lookup", "follow_up", "side_step"}


def test_task_bank_is_deterministic(bank):
    again = TaskBank(TWO, worlds_per_scenario=4, seed=0)
    assert again.tasks == bank.tasks
    other = TaskBank(TWO, worlds_per_scenario=4, seed=1)
    assert other.tasks != bank.tasks
    ids = {task.task_id for task in all_tasks(bank)}
    assert ids.isdisjoint(task.task_id for task in all_tasks(other))


def test_task_bank_world_seeds_do_not_depend_on_the_other_scenarios():
    both = TaskBank(TWO, worlds_per_scenario=2, seed=3)
    alone = TaskBank(["travel"], worlds_per_scenario=2, seed=3)
    assert alone.tasks["travel"] == both.tasks["travel"]


def test_task_bank_task_ids_are_unique(bank):
    ids = [task.task_id for task in all_tasks(bank)]
    assert len(ids) == len(set(ids)) == len(bank)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"scenarios": []}, ValueError, "at least one scenario"),
        ({"worlds_per_scenario": 0}, ValueError, "must be >= 1"),
        ({"variants_per_seed": -1}, ValueError, "must be >= 0"),
        ({"scenarios": ["travel", "nope"]}, KeyError, "unknown scenario 'nope'"),
    ],
)
def test_task_bank_rejects_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        TaskBank(**kwargs)


def test_shared_task_bank_is_built_once():
    first = shared_task_bank(("messaging",), 2, 1, 5)
    assert shared_task_bank(("messaging",), 2, 1, 5) is first
    assert shared_task_bank(("messaging",), 2, 1, 6) is not first
    again = TaskBank(["messaging"], worlds_per_scenario=2, variants_per_seed=1, seed=5)
    assert first.tasks == again.tasks


def test_steps_per_task_filters_the_bank(bank):
    generator = InstanceGenerator(bank, n_tasks=2, steps_per_task=(2, 3))
    for instance in samples(generator, n=50):
        assert all(2 <= task.n_steps <= 3 for task in instance.tasks)
    with pytest.raises(ValueError, match="steps_per_task"):
        InstanceGenerator(bank, steps_per_task=(4, 2))
    with pytest.raises(ValueError, match="no task in the bank"):
        InstanceGenerator(bank, steps_per_task=(20, 30))


# -- InstanceGenerator ----------------------------------------------------------------------


def samples(generator: InstanceGenerator, n: int = 200, seed: int = 0) -> list[Instance]:
    rng = np.random.default_rng(seed)
    return [generator.sample(rng) for _ in range(n)]


@pytest.mark.parametrize(
    ("n_tasks", "counts"),
    [
        (1, {1}),
        (2, {2}),
        (3, {3}),
        (np.int64(2), {2}),
        ((2, 3), {2, 3}),
        ((1, 3), {1, 2, 3}),
        ([2, 4], {2, 3, 4}),
        ((3, 3), {3}),
    ],
)
@pytest.mark.parametrize("composition", ["mixed", "cross", "same"])
def test_task_counts_cover_the_range(bank, n_tasks, counts, composition):
    generator = InstanceGenerator(bank, n_tasks=n_tasks, composition=composition)
    assert generator.n_tasks == (min(counts), max(counts))
    drawn = Counter(instance.n_tasks for instance in samples(generator))
    assert set(drawn) == counts


def test_default_is_two_or_three_mixed(bank):
    generator = InstanceGenerator(bank)
    assert generator.n_tasks == (2, 3)
    assert generator.composition == "mixed"


@pytest.mark.parametrize("n_tasks", [2, 3, (2, 5)])
def test_same_composition_shares_scenario_and_world(bank, n_tasks):
    generator = InstanceGenerator(bank, n_tasks=n_tasks, composition="same")
    scenarios = Counter()
    for instance in samples(generator):
        assert len({task.scenario for task in instance.tasks}) == 1
        assert len({task.world_seed for task in instance.tasks}) == 1
        assert len({task.task_id for task in instance.tasks}) == instance.n_tasks
        assert instance.metadata == {"composition": "same"}
        scenarios[instance.tasks[0].scenario] += 1
    assert set(scenarios) == {"messaging", "travel"}


def test_cross_composition_uses_distinct_scenarios(bank):
    generator = InstanceGenerator(bank, n_tasks=2, composition="cross")
    for instance in samples(generator):
        assert sorted(task.scenario for task in instance.tasks) == ["messaging", "travel"]
        assert instance.metadata == {"composition": "cross"}


def test_cross_composition_with_more_tasks_than_scenarios_covers_every_scenario(bank):
    generator = InstanceGenerator(bank, n_tasks=3, composition="cross")
    for instance in samples(generator):
        assert {task.scenario for task in instance.tasks} == {"messaging", "travel"}
        assert len({task.task_id for task in instance.tasks}) == 3
        assert instance.metadata == {"composition": "cross"}


def test_cross_composition_with_one_scenario_falls_back_to_it():
    bank = TaskBank(["travel"], worlds_per_scenario=2)
    generator = InstanceGenerator(bank, n_tasks=2, composition="cross")
    for instance in samples(generator, n=20):
        assert {task.scenario for task in instance.tasks} == {"travel"}


def test_mixed_composition_gives_both_kinds(bank):
    generator = InstanceGenerator(bank, n_tasks=2, composition="mixed")
    kinds = Counter(instance.metadata["composition"] for instance in samples(generator))
    assert set(kinds) == {"same", "cross"}
    for instance in samples(generator, n=50):
        same_scenario = len({task.scenario for task in instance.tasks}) == 1
        assert instance.metadata["composition"] == ("same" if same_scenario else "cross")


def test_sampling_is_deterministic_and_ids_name_the_tasks(bank):
    generator = InstanceGenerator(bank, n_tasks=(2, 3))
    first = samples(generator, n=30, seed=4)
    assert first == samples(generator, n=30, seed=4)
    assert first != samples(generator, n=30, seed=5)
    bank_ids = {task.task_id for task in all_tasks(bank)}
    for instance in first:
        assert instance.instance_id == "+".join(task.task_id for task in instance.tasks)
        assert {task.task_id for task in instance.tasks} <= bank_ids


@pytest.mark.parametrize(
    ("n_tasks", "message"),
    [
        (0, "n_tasks must be >= 1"),
        (-2, "n_tasks must be >= 1"),
        ((0, 2), "n_tasks must be >= 1"),
        ((3, 2), r"low <= high\), got \(3, 2\)"),
        ((1, 2, 3), r"a \(low, high\) pair, got \(1, 2, 3\)"),
        ((2,), r"a \(low, high\) pair"),
        ("2", r"a \(low, high\) pair, got '2'"),
        ("23", r"a \(low, high\) pair, got '23'"),
        (2.0, r"a \(low, high\) pair, got 2\.0"),
        ((2.0, 3), r"a \(low, high\) pair"),
        (True, r"a \(low, high\) pair, got True"),
        (None, r"a \(low, high\) pair, got None"),
    ],
)
def test_bad_n_tasks_is_rejected(bank, n_tasks, message):
    with pytest.raises(ValueError, match=message):
        InstanceGenerator(bank, n_tasks=n_tasks)


@pytest.mark.parametrize("composition", ["Same", "random", "", None])
def test_bad_composition_is_rejected(bank, composition):
    with pytest.raises(ValueError, match=re.escape(f"got {composition!r}")):
        InstanceGenerator(bank, composition=composition)


def test_same_composition_needs_enough_tasks_per_world():
    plain = TaskBank(["messaging"], worlds_per_scenario=2, variants_per_seed=0)
    per_world = N_TEMPLATES["messaging"]
    InstanceGenerator(plain, n_tasks=per_world, composition="same")
    with pytest.raises(
        ValueError,
        match=rf"instances of {per_world + 1} tasks need {per_world + 1} tasks per world; "
        rf".* has {per_world}",
    ):
        InstanceGenerator(plain, n_tasks=(2, per_world + 1), composition="same")


# -- files ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def generated(bank) -> list[Instance]:
    return samples(InstanceGenerator(bank, n_tasks=(1, 3)), n=25, seed=11)


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz"])
def test_save_and_load_round_trip(tmp_path, generated, suffix):
    instances = [*generated, chain_instance(3, 4)]
    path = tmp_path / "nested" / "dir" / f"instances{suffix}"
    assert save_instances(iter(instances), path) == len(instances)
    loaded = load_instances(path)
    assert loaded == instances
    assert load_instances(str(path)) == instances
    raw = path.read_bytes()
    assert raw.startswith(b"\x1f\x8b") == suffix.endswith(".gz")


def test_saved_lines_are_sorted_json_records(tmp_path, generated):
    path = tmp_path / "instances.jsonl"
    save_instances(generated[:3], path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3
    for line, instance in zip(lines, generated[:3], strict=True):
        record = json.loads(line)
        assert line == json.dumps(record, sort_keys=True)
        assert record["instance_id"] == instance.instance_id
        assert InstanceRecord.model_validate(record).to_instance() == instance


def test_save_nothing_writes_an_empty_file_that_does_not_load(tmp_path):
    path = tmp_path / "empty.jsonl"
    assert save_instances([], path) == 0
    assert path.read_text() == ""
    with pytest.raises(InstanceFileError, match=re.escape(f"{path}: no instances in the file")):
        load_instances(path)


def test_blank_lines_are_skipped_and_counted(tmp_path):
    record = valid_record()
    path = write_lines(tmp_path / "gaps.jsonl", ["", json.dumps(record), "   ", json.dumps(record)])
    assert load_instances(path) == [chain_instance(2, 2)] * 2


def valid_record() -> dict[str, Any]:
    return InstanceRecord.from_instance(chain_instance(2, 2)).model_dump(mode="json")


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def broken(change: Any) -> dict[str, Any]:
    record = copy.deepcopy(valid_record())
    change(record)
    return record


@pytest.mark.parametrize(
    ("bad_line", "line", "message"),
    [
        ("not json", 2, r"\(line\): Invalid JSON"),
        ('{"instance_id": "x", "tasks": [', 2, r"\(line\): Invalid JSON"),
        ("[1, 2]", 2, r"\(line\): Input should be an object"),
        (
            broken(lambda r: r["tasks"][0].update(world_seed="abc")),
            3,
            r"tasks\.0\.world_seed: Input should be a valid integer",
        ),
        (
            broken(lambda r: r["tasks"][1]["steps"][0].update(arguments=["x"])),
            2,
            r"tasks\.1\.steps\.0\.arguments: Input should be an object",
        ),
        (
            broken(lambda r: r["tasks"][0].pop("instruction")),
            2,
            r"tasks\.0\.instruction: Field required$",
        ),
        (
            broken(lambda r: r.pop("instance_id")),
            2,
            r"instance_id: Field required$",
        ),
        (
            broken(lambda r: r.update(instance_id=5, tasks=[])),
            2,
            r"instance_id: Input should be a valid string \(and 1 more\)",
        ),
        (
            broken(lambda r: r.update(colour="red")),
            2,
            r"colour: Extra inputs are not permitted",
        ),
        (
            broken(lambda r: r["tasks"][0].update(steps=[])),
            2,
            r"tasks\.0\.steps: List should have at least 1 item",
        ),
        (
            broken(lambda r: r["tasks"][0]["steps"][0].update(depends_on=[1])),
            2,
            r"task 'hand/A' step 0 depends on \(1,\): a step may only depend on earlier steps",
        ),
    ],
)
@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz"])
def test_bad_line_names_file_and_line(tmp_path, bad_line, line, message, suffix):
    text = bad_line if isinstance(bad_line, str) else json.dumps(bad_line)
    lines = [json.dumps(valid_record())] + [""] * (line - 2) + [text, json.dumps(valid_record())]
    path = tmp_path / f"bad{suffix}"
    payload = "".join(item + "\n" for item in lines).encode()
    path.write_bytes(gzip.compress(payload) if suffix.endswith(".gz") else payload)
    with pytest.raises(InstanceFileError, match=re.escape(f"{path}:{line}: ") + message):
        load_instances(path)


@pytest.mark.parametrize("content", [b"", b"\n", b"  \n\n\t\n"])
def test_empty_file_is_an_error(tmp_path, content):
    path = tmp_path / "empty.jsonl"
    path.write_bytes(content)
    with pytest.raises(InstanceFileError, match=re.escape(f"{path}: no instances in the file")):
        load_instances(path)


def test_missing_file_is_file_not_found(tmp_path):
    path = tmp_path / "nowhere.jsonl"
    with pytest.raises(FileNotFoundError, match=re.escape(f"no instance file at {path}")):
        load_instances(path)
    with pytest.raises(FileNotFoundError, match="no instance file at"):
        load_instances(tmp_path)  # a directory is not a file


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("plain.jsonl.gz", b'{"instance_id": "x"}\n'),
        ("truncated.jsonl.gz", gzip.compress(b'{"instance_id": "x"}\n' * 50)[:30]),
        ("latin1.jsonl", b'{"instance_id": "caf\xe9"}\n'),
    ],
)
def test_unreadable_file_is_an_instance_file_error(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InstanceFileError, match=re.escape(f"{path}: cannot read the file: ")):
        load_instances(path)
