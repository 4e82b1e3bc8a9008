"""The bad-input battery: every bad argument, option, dataset line and CLI flag gets an error
that names the argument, its value and what is allowed; none gets a raw traceback."""

from __future__ import annotations

import gzip
import json

import gymnasium as gym
import pytest
from typer.testing import CliRunner

import asynctool_env  # noqa: F401  (registers the env)
from asynctool_env.chat.env import ChatEnv
from asynctool_env.cli import app
from asynctool_env.dataset import DATASET_PATH, load_split
from asynctool_env.instances import InstanceFileError, load_instances


@pytest.mark.parametrize(
    ("kwargs", "error", "says"),
    [
        ({"max_tasks": "3"}, TypeError, "max_tasks must be a whole number in 1..8, got '3'"),
        ({"max_tasks": 2.5}, TypeError, "max_tasks must be a whole number"),
        ({"reward_weights": {"round": "abc"}}, TypeError, "reward_weights['round']"),
        ({"reward_weights": {"round": float("nan")}}, ValueError, "finite number"),
        ({"pending_slots": float("nan")}, TypeError, "pending_slots must be a whole number"),
        ({"steps_per_task": 3}, TypeError, "steps_per_task must be a (low, high) pair"),
        ({"steps_per_task": (4, 2)}, ValueError, "low <= high"),
        ({"instances": 5}, TypeError, "instances must be a list of Instance objects"),
        ({"wait_jumps_to_next_delivery": "no"}, TypeError, "must be True or False, got 'no'"),
        ({"scenarios": "travel"}, TypeError, "scenarios must be a list of names"),
        ({"max_calls_per_turn": 0}, ValueError, "max_calls_per_turn must be >= 1"),
        ({"task_bank_seed": -1}, ValueError, "task_bank_seed must be >= 0"),
    ],
)
def test_gym_env_arguments(kwargs, error, says):
    with pytest.raises(error) as raised:
        gym.make("AsyncTool-v0", **kwargs)
    assert says in str(raised.value)


@pytest.mark.parametrize(
    ("options", "error", "says"),
    [
        ({"instance_index": -1}, ValueError, "options['instance_index'] must be in 0..71, got -1"),
        ({"instance_index": "3"}, TypeError, "must be a whole number in 0..71, got '3'"),
        ({"instance_index": 1.9}, TypeError, "got 1.9"),
        ({"instance_index": 10**9}, ValueError, "got 1000000000"),
        ({"instance": "x"}, TypeError, "options['instance'] must be an Instance"),
        ({"index": 0}, ValueError, "unknown reset option(s) ['index']"),
        ({"instance_index": 0, "instance": None}, ValueError, "not both"),
    ],
)
def test_chat_env_options(options, error, says):
    env = ChatEnv(split="dev")
    with pytest.raises(error) as raised:
        env.reset(seed=0, options=options)
    assert says in str(raised.value)


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"max_rounds": 0}, "max_rounds must be >= 1"),
        ({"max_calls_per_turn": 1.5}, "max_calls_per_turn must be a whole number"),
        ({"expected_delay_hints": "yes"}, "expected_delay_hints must be True or False"),
    ],
)
def test_chat_env_arguments(kwargs, says):
    with pytest.raises((TypeError, ValueError)) as raised:
        ChatEnv(split="dev", **kwargs)
    assert says in str(raised.value)


def _line() -> dict:
    with gzip.open(DATASET_PATH, "rt", encoding="utf-8") as handle:
        return json.loads(handle.readline())


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda r: r["tasks"][0].update(scenario="nope"), "unknown scenario 'nope'"),
        (lambda r: r["tasks"][0].update(world_seed=-5), "tasks.0.world_seed"),
        (
            lambda r: r["tasks"][0]["steps"][0].update(tool="teleport"),
            "'teleport' is not a tool of scenario",
        ),
        (lambda r: r["tasks"][0].update(facts=[{"kind": "vibe", "value": 1}]), "facts.0.kind"),
    ],
)
def test_dataset_lines_that_would_crash_later_fail_at_load(tmp_path, change, says):
    record = _line()
    change(record)
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(record) + "\n")
    with pytest.raises(InstanceFileError) as raised:
        load_instances(path)
    assert f"{path}:1: " in str(raised.value) and says in str(raised.value)


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (["--calls-per-turn", "99999999999999999999"], "from 1 to 1000, or 'unlimited'"),
        (["--calls-per-turn", "0"], "from 1 to 1000"),
        (["--output", "/dev/null/x"], "cannot make the folder /dev/null/x"),
        (["--output", "/proc/version"], "exists and is not a folder"),
        (["--latency", "sometimes"], "--latency"),
        (["--split", "train"], "test, dev or procedural"),
    ],
)
def test_cli_flags(arguments, says):
    result = CliRunner().invoke(app, ["eval", "-a", "greedy", "--episodes", "1", *arguments])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert says in " ".join(result.output.split())


def test_report_to_a_file_path_is_refused(tmp_path):
    file = tmp_path / "a.txt"
    file.write_text("x")
    result = CliRunner().invoke(app, ["report", str(tmp_path), "--output", str(file)])
    assert result.exit_code == 2 and "is not a folder" in " ".join(result.output.split())


def test_aec_env_refuses_a_bad_action_at_the_agent_that_sent_it():
    pytest.importorskip("pettingzoo")
    from asynctool_env.multi_agent import env as aec_env

    game = aec_env()
    game.reset(seed=0)
    first = game.agent_selection
    with pytest.raises(ValueError, match=f"{first}: an action must be in"):
        game.step(-1)


@pytest.mark.parametrize(
    ("value", "error"),
    [(-1, ValueError), (10**9, ValueError), (1.5, TypeError), ("0", TypeError), (True, TypeError)],
)
def test_the_same_bad_option_gets_the_same_error_in_every_env(value, error):
    """The gym env, the chat env and the multi-agent env share one check of reset options."""
    pytest.importorskip("pettingzoo")
    from asynctool_env.multi_agent import parallel_env

    instances = load_split("dev")[:3]
    messages = set()
    for env in (
        gym.make("AsyncTool-v0", instances=instances).unwrapped,
        ChatEnv(instances),
        parallel_env(instances=instances),
    ):
        with pytest.raises(error) as raised:
            env.reset(seed=0, options={"instance_index": value})
        messages.add(str(raised.value))
    assert len(messages) == 1, messages


@pytest.mark.parametrize(
    ("extra", "named", "says"),
    [
        (["--ray", "garbage:::"], "'--ray'", "give 'local', 'auto' or HOST:PORT"),
        (["--ray", "127.0.0.1:99999"], "'--ray'", "give 'local', 'auto' or HOST:PORT"),
        (["--seed", "-1"], "'--seed'", "greater than or equal to 0"),
        (["--model", "x"], "--model", "--model names the model of --agent openai"),
    ],
)
def test_eval_names_the_bad_argument(extra, named, says):
    result = CliRunner().invoke(app, ["eval", "-a", "random", "--split", "dev", *extra])
    text = " ".join(result.output.replace("│", " ").split())
    assert result.exit_code == 2 and named in text and says in text, text


def test_a_capacity_for_an_unknown_tool_is_refused_in_all_three_envs():
    """A typo in tool_capacity left that tool without a limit, silently."""
    from asynctool_env.multi_agent.environment import AsyncToolParallelEnv

    makers = [
        lambda: gym.make("AsyncTool-v0", tool_capacity={"find_contat": 1}),
        lambda: ChatEnv(split="dev", tool_capacity={"find_contat": 1}),
        lambda: AsyncToolParallelEnv(tool_capacity={"find_contat": 1}),
    ]
    for make in makers:
        with pytest.raises(ValueError, match="tool_capacity names tools no instance calls"):
            make()
    gym.make("AsyncTool-v0", tool_capacity={"find_contact": 1}).close()


def test_a_boolean_is_not_an_action():
    env = gym.make("AsyncTool-v0").unwrapped
    env.reset(seed=0)
    with pytest.raises(TypeError, match="action must be an int"):
        env.step(True)


@pytest.mark.parametrize("value", [-3, "x", float("nan"), 2.5, True])
def test_tool_latencies_are_checked_when_the_env_is_made(value):
    """They were accepted and failed later without naming the argument."""
    from asynctool_env.multi_agent.environment import AsyncToolParallelEnv

    with pytest.raises(ValueError, match=r"tool_latencies\['find_contact'\] must be a whole"):
        AsyncToolParallelEnv(tool_latencies={"find_contact": value})


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"seed": 2.5}, "seed must be an int"),
        ({"seed": [1, 2.0]}, "each seed must be an int or None"),
        ({"options": {"instance_index": 1.5}}, "must be an int or one int per env"),
        ({"options": {"instance_index": "3"}}, "must be an int or one int per env"),
        ({"options": {"reset_mask": [float("nan"), 1.0]}}, "reset_mask must be a boolean"),
    ],
)
def test_the_batched_env_names_bad_reset_arguments(kwargs, says):
    envs = gym.make_vec("AsyncTool-v0", num_envs=2, split="dev")
    with pytest.raises((TypeError, ValueError), match=says):
        envs.reset(**kwargs)
    with pytest.raises(TypeError, match="optimum_in_info must be True or False"):
        gym.make_vec("AsyncTool-v0", num_envs=2, optimum_in_info="yes")


def test_train_names_a_bad_env_argument_and_play_a_transcript_it_cannot_write(tmp_path):
    bad = CliRunner().invoke(app, ["train", "--env-kwarg", "n_tasks=nan", "--show-config"])
    text = " ".join(bad.output.replace("│", " ").split())
    assert bad.exit_code == 2 and "--env-kwarg" in text and "n_tasks must be" in text
    play = CliRunner().invoke(
        app, ["play", "--split", "dev", "--instance", "0", "--transcript", "/proc/x.jsonl"]
    )
    text = " ".join(play.output.replace("│", " ").split())
    assert play.exit_code == 2 and "'--transcript': /proc/x.jsonl cannot be written" in text


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (["serve-scripted", "--host", ""], "give an address to listen on"),
        (["serve-scripted", "--host", "nan"], "is not an address this machine knows"),
        (["serve-openenv", "--host", "nan"], "is not an address this machine knows"),
        (["show", "/proc/self/mem"], "cannot read /proc/self/mem"),
        (["show", "x", "--width", "-1"], "--width"),
        (["eval", "-a", "openai", "--model", "m", "--base-url", ""], "an empty --base-url"),
    ],
)
def test_servers_and_show_name_a_bad_value(arguments, says):
    result = CliRunner().invoke(app, arguments)
    text = " ".join(result.output.replace("│", " ").split())
    assert result.exit_code == 2 and says in text, text
