"""The scripted oracle as an OpenAI-compatible endpoint (``asynctool serve-scripted``):
stateless per conversation, so a second evaluation and several trials score as the oracle
does (it used to keep one cursor per episode: a second run scored 0%, --trials 2 25%)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from asynctool_env.chat.scripted import ScriptedChatModel, serve_scripted
from asynctool_env.cli import app

pytest.importorskip("openai")
runner = CliRunner()
INDEXES = list(range(8))


def _evaluate(base_url: str, folder, *extra: str) -> list[dict]:
    result = runner.invoke(
        app,
        ["eval", "-a", "openai", "--base-url", base_url, "--model", "scripted",
         "--split", "dev", "--episodes", str(len(INDEXES)), "--output", str(folder), *extra],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in (folder / "episodes.jsonl").open()]


def test_two_evaluations_and_three_trials_all_score_as_the_oracle(tmp_path):
    """Instance 2's latencies depend on the trial's seed: the first reply cannot tell the
    trials apart, the answers that come back can."""
    from asynctool_env.chat.gym_env import AsyncToolChatEnv
    from asynctool_env.chat.runner import trial_seed

    env = AsyncToolChatEnv(split="dev")
    latencies = set()
    for trial in range(3):
        env.reset(seed=trial_seed(0, 2, trial), options={"instance_index": 2})
        latencies.add(str(env.chat.simulator.step_latency))
    assert len(latencies) == 3
    server, base_url = serve_scripted(INDEXES, "dev", trials=3)
    try:
        first = _evaluate(base_url, tmp_path / "first")
        second = _evaluate(base_url, tmp_path / "second")
        trials = _evaluate(base_url, tmp_path / "trials", "--trials", "3")
    finally:
        server.shutdown()
    for records in (first, second):
        assert all(r["metrics"]["instance_success"] for r in records)
        assert all(r["metrics"]["efficiency"] == 1.0 for r in records)

    def by_instance(records: list[dict]) -> list[dict]:  # episodes finish in any order
        return [r["metrics"] for r in sorted(records, key=lambda r: r["instance_index"])]

    assert by_instance(first) == by_instance(second)
    assert len(trials) == 3 * len(INDEXES)
    assert all(r["metrics"]["instance_success"] for r in trials)
    assert all(r["metrics"]["dependency_violations"] == 0 for r in trials)
    # Trial 0 is the oracle's own play; later trials at least 0.9 of the optimum.
    assert all(r["metrics"]["efficiency"] == 1.0 for r in trials if r["trial"] == 0)
    assert min(r["metrics"]["efficiency"] for r in trials) >= 0.9


def test_a_reply_depends_on_the_conversation_only():
    model = ScriptedChatModel([0], "dev")
    (key,) = model.episodes
    conversation = [{"role": "system", "content": "s"}, {"role": "user", "content": key}]
    first = model.reply(conversation, [])
    assert first.get("tool_calls")
    for _ in range(3):
        assert model.reply(conversation, []) == first
    unknown = model.reply([{"role": "user", "content": "another episode"}], [])
    assert unknown["content"] == "I do not know this episode."


def test_the_serve_scripted_command_checks_its_settings():
    bad = runner.invoke(app, ["serve-scripted", "--split", "train"])
    assert bad.exit_code == 2 and "choose test or dev" in bad.output
    bad = runner.invoke(app, ["serve-scripted", "--trials", "0"])
    assert bad.exit_code == 2


def test_settings_that_differ_from_the_servers_get_a_plain_no_not_a_wrong_plan(tmp_path):
    """Served for one trial, asked for trial 1 of instance 2 (other latencies): it says it
    has no plan instead of playing calls made for other latencies (violations); a wrong
    path is a 404, as a real server's."""
    import urllib.error
    import urllib.request

    server, base_url = serve_scripted([2], "dev", trials=1)
    try:
        trials = _evaluate_one(base_url, tmp_path / "t")
        wrong = base_url.replace("/v1", "/wrong/v1") + "/chat/completions"
        request = urllib.request.Request(wrong, data=b"{}", method="POST")
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(request, timeout=10)
    finally:
        server.shutdown()
    assert error.value.code == 404
    second = [r for r in trials if r["trial"] == 1]
    assert second and all(r["metrics"]["dependency_violations"] == 0 for r in second)


def _evaluate_one(base_url: str, folder) -> list[dict]:
    result = runner.invoke(
        app,
        ["eval", "-a", "openai", "--base-url", base_url, "--model", "scripted", "--split",
         "dev", "--episodes", "3", "--trials", "2", "--output", str(folder)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in (folder / "episodes.jsonl").open()]
