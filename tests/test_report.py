"""``asynctool report`` keeps runs apart: an agent name shared by two result folders is two
rows, episodes of two splits are never averaged together, and rows that are not comparable
are flagged. Records are built by hand so every mean is known."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from asynctool_env.benchmark import EvalConfig, evaluate
from asynctool_env.cli import app
from asynctool_env.results import label_runs, read_runs, record_split

runner = CliRunner()


@pytest.fixture(scope="module")
def played():
    """Ten dev episodes of the critical-path rule (real records to relabel)."""
    return evaluate("critical_path", EvalConfig(split="dev", episodes=10))


def _write(folder: Path, records) -> Path:
    folder.mkdir(parents=True)
    lines = [json.dumps(record.to_json()) for record in records]
    (folder / "episodes.jsonl").write_text("\n".join(lines) + "\n")
    return folder


def _with_efficiency(records, agent: str, efficiency: float, split: str = "dev"):
    out = []
    for record in records:
        metrics = {**record.metrics, "efficiency": efficiency}
        instance = f"{split}-{record.instance_id.rsplit('-', 1)[1]}"
        out.append(replace(record, agent=agent, metrics=metrics, instance_id=instance))
    return out


def test_the_split_of_an_episode_is_read_from_its_instance_id(played):
    assert record_split(played[0]) == "dev"
    assert record_split(replace(played[0], instance_id="hard-test-0012")) == "hard-test"
    assert record_split(replace(played[0], instance_id="T3+T9")) == "procedural"


def test_same_named_folders_are_told_apart_by_their_parents(tmp_path, played):
    a = _write(tmp_path / "mine" / "ppo", played[:2])
    b = _write(tmp_path / "shipped" / "ppo", played[:3])
    c = _write(tmp_path / "other", played[:1])
    runs = read_runs([a, b / "episodes.jsonl", c])
    assert [run.label for run in runs] == ["mine/ppo", "shipped/ppo", "other"]
    assert [len(run.records) for run in runs] == [2, 3, 1]
    with pytest.raises(ValueError, match="given twice"):
        read_runs([a, a / "episodes.jsonl"])


def test_an_agent_in_two_runs_is_two_rows_not_one_mean(tmp_path, played):
    """The shipped ppo at 0.976 and a user's ppo at 0.906 were one row at 0.941."""
    shipped = _write(tmp_path / "shipped", _with_efficiency(played, "ppo", 0.976))
    mine = _write(tmp_path / "mine", _with_efficiency(played, "ppo", 0.906))
    greedy = _write(tmp_path / "greedy", _with_efficiency(played, "greedy", 0.9))
    out = tmp_path / "report"
    result = runner.invoke(
        app, ["report", str(shipped), str(mine), str(greedy), "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    table = (out / "leaderboard.md").read_text()
    rows = {line.split("|")[1].strip(): line for line in table.splitlines() if "| 0." in line}
    assert "| 0.976 |" in rows["ppo (shipped)"] and "| 0.906 |" in rows["ppo (mine)"]
    assert "greedy" in rows  # a name in one run only keeps its name
    assert "0.941" not in table
    assert "Caution" not in table  # one split, equal episode counts, one version


def test_mixed_splits_are_cut_apart_and_flagged(tmp_path, played):
    both = _with_efficiency(played, "ppo", 0.9) + _with_efficiency(played, "ppo", 0.8, "test")
    records, cautions = label_runs(read_runs([_write(tmp_path / "run", both)]))
    assert {record.agent for record in records} == {"ppo [dev]", "ppo [test]"}
    assert any("different splits (dev, test)" in caution for caution in cautions)
    out = tmp_path / "report"
    result = runner.invoke(app, ["report", str(tmp_path / "run"), "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "caution: the rows come from different splits" in " ".join(result.output.split())
    table = (out / "leaderboard.md").read_text()
    assert "| split |" in table and "| ppo [test] | test | 10 |" in table


def test_unequal_episode_counts_and_versions_are_flagged(tmp_path, played):
    current = {"dataset": "v3", "grader": "3"}
    scored = [replace(r, versions=current) for r in _with_efficiency(played, "ppo", 0.9)]
    many = _write(tmp_path / "many", scored)
    old = [
        replace(r, versions={"dataset": "v2", "grader": "2"})
        for r in _with_efficiency(played[:2], "llm", 0.5)
    ]
    few = _write(tmp_path / "few", old)
    _, cautions = label_runs(read_runs([many, few]))
    assert any("different numbers of instances (2 to 10" in caution for caution in cautions)
    assert any("different versions" in caution and "dataset v2" in caution for caution in cautions)


@pytest.mark.parametrize("width", [80, 120])
def test_leaderboards_fit_the_terminal_without_cutting_a_value(width, tmp_path, played):
    """Long agent labels, two splits and trials at 80 and 120 columns: nothing is cut to
    '…'; the columns left out (or shortened) are named under the table."""
    from rich.console import Console

    from asynctool_env.cli import _leaderboard_table
    from asynctool_env.results import grouped_summaries

    trials = [replace(r, trial=1) for r in _with_efficiency(played, "openai:a-long-model", 0.8)]
    runs = [
        _write(tmp_path / "a", _with_efficiency(played, "ppo", 0.9) + trials),
        _write(tmp_path / "b", _with_efficiency(played, "ppo", 0.7, "test")),
    ]
    records, _ = label_runs(read_runs(runs))
    summaries = list(grouped_summaries(records, lambda r: r.agent).values())
    console = Console(width=width, force_terminal=False)
    with console.capture() as captured:
        console.print(_leaderboard_table(summaries, "Leaderboard", width))
    text = captured.get()
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= width
    assert "openai:a-long-model" in text and "ppo (a)" in text and "test" in text
    assert "left out to fit" in text  # 14 columns do not fit either width


def test_eval_says_which_policy_ppo_plays_and_labels_runs(tmp_path):
    """'eval -a ppo' names the shipped file it picked; a --policy FILE run is labelled by
    the file, --name labels a reference agent, and --name with two agents is refused."""
    pytest.importorskip("sb3_contrib")
    from asynctool_env.rl.policy import shipped_policy_path

    common = ["--split", "dev", "--episodes", "2"]
    picked = runner.invoke(app, ["eval", "-a", "ppo", "--tool-capacity", "1", *common])
    assert picked.exit_code == 0, picked.output
    contention = shipped_policy_path("contention")
    assert f"ppo plays {contention} (the contention regime's policy)" in picked.output
    out = tmp_path / "file"
    played = runner.invoke(
        app, ["eval", "-a", "ppo", "--policy", str(contention), *common, "--output", str(out)]
    )
    assert played.exit_code == 0, played.output
    agents = {json.loads(line)["agent"] for line in (out / "episodes.jsonl").open()}
    assert agents == {"ppo:ppo-contention"}
    named = runner.invoke(
        app, ["eval", "-a", "greedy", "--name", "mine", *common, "--output", str(tmp_path / "n")]
    )
    assert named.exit_code == 0, named.output
    summary = json.loads((tmp_path / "n" / "summary.json").read_text())
    assert [s["agent"] for s in summary["summaries"]] == ["mine"]
    two = runner.invoke(app, ["eval", "-a", "greedy", "-a", "oracle", "--name", "x", *common])
    assert two.exit_code == 2 and "--name labels one reference" in " ".join(two.output.split())
