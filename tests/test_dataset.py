"""The shipped benchmark file and the pipeline that builds it."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from asynctool_env.cli import app
from asynctool_env.dataset import DATASET_PATH, load_split
from asynctool_env.dataset.build import (
    BuildConfig,
    SplitConfig,
    build_dataset,
    replay_gold,
    task_pattern,
)
from asynctool_env.dataset.stats import composition
from asynctool_env.envs import AsyncToolEnv
from asynctool_env.instances import InstanceFileError, load_instances, save_instances
from asynctool_env.scenarios import SCENARIOS, TOOLS


@pytest.fixture(scope="module")
def shipped():
    return load_instances(DATASET_PATH)


def test_the_file_has_the_promised_size_and_splits(shipped):
    test, dev = load_split("test"), load_split("dev")
    assert len(test) >= 712 and 40 <= len(dev) < len(test)
    assert len(shipped) == len(test) + len(dev)
    assert {task.task_id for i in test for task in i.tasks}.isdisjoint(
        {task.task_id for i in dev for task in i.tasks}
    )
    assert len({task.task_id for i in shipped for task in i.tasks}) >= 358
    with pytest.raises(ValueError, match="no split 'train'"):
        load_split("train")


def test_every_instance_replays_its_gold_trajectory_to_success(shipped):
    for index, instance in enumerate(shipped):
        metrics, _ = replay_gold(instance, latency=instance.metadata["latency"], seed=index)
        assert metrics.instance_success, instance.instance_id
        assert metrics.step_f1 == 1.0


def test_every_gold_call_validates_against_its_tool_schema(shipped):
    validators = {}
    for name, tool in TOOLS.items():
        schema = tool.openai_schema()["function"]["parameters"]
        jsonschema.Draft202012Validator.check_schema(schema)
        validators[name] = jsonschema.Draft202012Validator(schema)
    for instance in shipped:
        for task in instance.tasks:
            for step in task.steps:
                errors = list(validators[step.tool].iter_errors(dict(step.expected_arguments)))
                assert not errors, (task.task_id, step.tool, errors[0].message)


def test_composition_covers_every_axis(shipped):
    stats = composition(shipped)
    assert set(stats["cells"]) == set(SCENARIOS) and len(SCENARIOS) == 12
    for name, cells in stats["cells"].items():
        assert sum(cells.values()) > 0, name
    columns = {column for cells in stats["cells"].values() for column in cells}
    assert columns == {"2-task chain", "2-task dag", "3-task chain", "3-task dag"}
    assert set(stats["tasks_per_instance"]) == {2, 3}
    assert set(stats["composition"]) == {"same-scenario", "cross-scenario"}
    assert {"lookup", "follow_up", "side_step"} <= set(stats["operators"])
    assert len(stats["latency"]) >= 3
    assert set(stats["difficulty"]) == {"easy", "medium", "hard"}


def test_no_two_tasks_of_an_instance_share_a_gold_call(shipped):
    from asynctool_env.dataset.build import shares_a_gold_call

    assert not any(shares_a_gold_call(instance.tasks) for instance in shipped)


def test_metadata_describes_each_instance(shipped):
    for instance in shipped:
        meta = instance.metadata
        assert meta["n_tasks"] == instance.n_tasks
        assert meta["scenarios"] == [task.scenario for task in instance.tasks]
        assert meta["patterns"] == [task_pattern(task) for task in instance.tasks]
        same = len(set(meta["scenarios"])) == 1
        assert meta["composition"] == ("same" if same else "cross")
        if same:
            assert len({task.world_seed for task in instance.tasks}) == 1


def test_env_plays_the_test_split():
    env = AsyncToolEnv(split="test")
    env.reset(seed=0)
    assert env.instance.metadata["split"] == "test"
    assert env.simulator.profile.name.startswith(env.instance.metadata["latency"].split(":")[0])
    fixed = AsyncToolEnv(split="dev", latency="sync")
    fixed.reset(seed=0)
    assert fixed.simulator.profile.name == "sync"
    with pytest.raises(ValueError, match="not both"):
        AsyncToolEnv(split="test", instances=[env.instance])


SMALL = BuildConfig(
    splits=(SplitConfig("test", worlds_per_scenario=1, instances=30),), variants_per_seed=1
)


def test_a_small_build_is_deterministic_and_balanced(tmp_path):
    instances, report = build_dataset(SMALL)
    again, _ = build_dataset(SMALL)
    assert instances == again
    assert len(instances) == 30 and report.instances["test"] == 30
    first, second = tmp_path / "a.jsonl.gz", tmp_path / "b.jsonl.gz"
    save_instances(instances, first)
    save_instances(again, second)
    assert first.read_bytes() == second.read_bytes()
    assert load_instances(first) == instances
    counts = composition(instances)
    assert counts["tasks_per_instance"] == {2: 15, 3: 15}
    used = [task.scenario for instance in instances for task in instance.tasks]
    per_scenario = [used.count(name) for name in SCENARIOS]
    assert max(per_scenario) - min(per_scenario) <= 3  # least-used scenarios first


def test_build_does_not_depend_on_the_hash_seed(tmp_path):
    script = (
        "import sys; from asynctool_env.dataset.build import *; "
        "from asynctool_env.instances import save_instances; "
        "cfg = BuildConfig(splits=(SplitConfig('test', 1, 12),), variants_per_seed=1); "
        "save_instances(build_dataset(cfg)[0], sys.argv[1])"
    )
    outputs = []
    for hash_seed in ("1", "2"):
        out = tmp_path / f"{hash_seed}.jsonl.gz"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([sys.executable, "-c", script, str(out)], check=True, env=env)
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]


@pytest.mark.slow
def test_data_build_regenerates_the_shipped_file_bit_for_bit():
    result = CliRunner().invoke(app, ["data", "build", "--check"])
    assert result.exit_code == 0, result.output
    assert "identical" in result.output


def test_data_stats_prints_the_composition_table():
    result = CliRunner().invoke(app, ["data", "stats", "--split", "test"])
    assert result.exit_code == 0, result.output
    for name in SCENARIOS:
        assert name in result.output
    assert "3-task dag" in result.output and "same-scenario" in result.output
    result = CliRunner().invoke(app, ["data", "stats", "--json"])
    assert json.loads(result.output)["instances"] >= 712


def test_a_corrupted_file_is_rejected_with_its_line_number(tmp_path, shipped, monkeypatch):
    lines = gzip.decompress(DATASET_PATH.read_bytes()).decode().splitlines()
    record = json.loads(lines[2])
    record["tasks"][0]["steps"][0]["depends_on"] = "zero"
    lines[2] = json.dumps(record)
    broken = tmp_path / "broken.jsonl"
    broken.write_text("\n".join(lines[:5]) + "\n")
    with pytest.raises(InstanceFileError, match=r"broken\.jsonl:3: tasks\.0\.steps\.0\.depends_on"):
        load_instances(broken)
    monkeypatch.chdir(tmp_path)  # a short path: the error panel wraps a long one anywhere
    result = CliRunner().invoke(app, ["data", "stats", "--path", "broken.jsonl"])
    assert result.exit_code == 2 and "broken.jsonl:3" in result.output
    truncated = tmp_path / "truncated.jsonl"
    truncated.write_text(lines[0] + "\n" + lines[1][:100] + "\n")
    with pytest.raises(InstanceFileError, match=r"truncated\.jsonl:2:"):
        load_instances(truncated)
    assert Path(DATASET_PATH).stat().st_size < 20_000_000
