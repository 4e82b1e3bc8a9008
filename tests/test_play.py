"""`asynctool play`: a person's episode in the terminal, driven by replies files and scripted
input functions."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from asynctool_env.chat.env import ChatEnv
from asynctool_env.chat.play import (
    _continues,
    format_tools,
    open_episode,
    play_interactive,
    play_replies,
    read_replies_file,
)
from asynctool_env.cli import app
from asynctool_env.core.simulator import TaskStatus
from asynctool_env.scenarios import TOOLS

INSTANCE = 0  # dev instance 0 (the tests read its tasks and tools, whatever they are)


def text_call(name: str, arguments: dict) -> str:
    """``name(a="x", b=[1])``: the call syntax a person types (JSON literals are accepted)."""
    return (
        f"{name}("
        + ", ".join(f"{key}={json.dumps(value)}" for key, value in arguments.items())
        + ")"
    )


def gold_replies(env: ChatEnv) -> list[str]:
    """Lines of a replies file that solve ``env``'s episode (already reset) with gold calls.

    Plays a copy of the episode: each round answers every task whose steps are all done (as a
    native assistant message), calls the first ready step (as call syntax), or waits.
    """
    simulator = env.simulator
    lines = ["# gold replies", ""]
    while True:
        answers = [
            {
                "id": f"answer_{task}",
                "type": "function",
                "function": {
                    "name": "submit_answer",
                    "arguments": json.dumps(
                        {
                            "task_id": f"T{task + 1}",
                            "answer": gold.expected_answer
                            if gold.expected_answer is not None
                            else "done",
                        }
                    ),
                },
            }
            for task, gold in enumerate(env.instance.tasks)
            if simulator.task_status[task] == TaskStatus.OPEN and simulator.all_steps_done(task)
        ]
        ready = env.ready_steps()
        if answers:
            reply: str | dict = {"content": None, "tool_calls": answers}
            line = json.dumps(reply)
        elif ready:
            gold = env.gold_call(*ready[0])
            reply = line = text_call(gold["name"], gold["arguments"])
        else:
            reply, line = "wait()", "wait"
        lines.append(line)
        _, terminated, truncated, _ = env.step(reply)
        assert not truncated
        if terminated:
            return lines


def write_replies(path: Path, lines: Iterable[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def solution() -> list[str]:
    env, _, _ = open_episode(split="dev", instance=INSTANCE)
    return gold_replies(env)


def quiet_console() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, width=100, color_system=None), buffer


def scripted(lines: list[str]):
    """An ``input`` stand-in: gives the lines, then raises EOFError (end of input)."""
    remaining = list(lines)
    prompts: list[str] = []

    def read_line(prompt: str) -> str:
        prompts.append(prompt)
        if not remaining:
            raise EOFError
        return remaining.pop(0)

    read_line.prompts = prompts  # type: ignore[attr-defined]
    return read_line


# -- a whole episode from a replies file, through the CLI ----------------------------------------


def test_gold_replies_win_the_episode_through_the_cli(tmp_path, solution):
    replies = write_replies(tmp_path / "replies.txt", solution)
    transcript = tmp_path / "out" / "episode.jsonl"
    result = CliRunner().invoke(
        app,
        [
            "play",
            "--split",
            "dev",
            "--instance",
            str(INSTANCE),
            "--replies",
            str(replies),
            "--transcript",
            str(transcript),
        ],
    )
    assert result.exit_code == 0, result.output
    output = result.output
    env, _, _ = open_episode(split="dev", instance=INSTANCE)
    for index, task in enumerate(env.instance.tasks):  # the tasks, as the model sees them
        assert f"Task T{index + 1}: {task.instruction}" in output
    assert "Answer with tool calls only." in output  # the system prompt
    # Every tool's schema: its signature, description and each argument's type and text.
    for line in format_tools(env.tools).splitlines():
        assert line.strip() in output
    first_call = next(line for line in solution if line and not line.startswith(("#", "{")))
    first_tool = first_call.split("(")[0]
    assert f"Response to call_1 ({first_tool}, called in round 0)" in output  # arrival
    assert '"status": "answer recorded"' in output
    assert "every task was answered" in output
    assert "instance success   1.0" in output
    assert "step F1            1.000" in output
    # The same replies through the API give the numbers the CLI printed.
    again, index, seed = open_episode(split="dev", instance=INSTANCE)
    metrics = play_replies(
        again, quiet_console()[0], read_replies_file(replies), index=index, seed=seed
    ).metrics
    assert f"rounds             {metrics['rounds']}" in output
    assert f"optimal rounds     {metrics['optimal_rounds']}" in output
    assert f"efficiency         {metrics['efficiency']:.3f}" in output
    assert metrics["optimal_rounds"] <= metrics["rounds"]
    assert "invalid actions    0" in output
    record = json.loads(transcript.read_text(encoding="utf-8"))
    assert record["ended"] == "finished" and record["metrics"]["instance_success"] is True
    assert record["messages"][0]["role"] == "system" and record["tools"] == env.tools
    shown = CliRunner().invoke(app, ["show", str(transcript), "--episode", str(INSTANCE)])
    assert shown.exit_code == 0 and "submit_answer" in shown.output  # `asynctool show` reads it


def test_replies_running_out_stop_with_the_score_so_far(tmp_path, solution):
    replies = write_replies(tmp_path / "replies.txt", solution[:5])
    result = CliRunner().invoke(
        app, ["play", "--instance", str(INSTANCE), "--replies", str(replies)]
    )
    assert result.exit_code == 0, result.output
    assert "The replies ran out after 3 replies, in round 3" in result.output
    assert "instance success   0.0" in result.output
    assert "step precision     1.000" in result.output


def test_replies_file_lines(tmp_path):
    path = write_replies(
        tmp_path / "r.txt",
        [
            "# comment",
            "",
            "wait",
            '{"name": "wait", "arguments": {}}',
            '{"content": "hello"}',
            '{"tool_calls": [], "content": null}',
            "{broken",
        ],
    )
    replies = read_replies_file(path)
    assert [r.line for r in replies] == [3, 4, 5, 6, 7]
    assert replies[0].reply == "wait()"
    assert replies[1].reply == '{"name": "wait", "arguments": {}}'  # a text call, not a message
    assert replies[2].reply == {"content": "hello"}
    assert replies[4].reply == "{broken"  # the env reports the malformed JSON


def test_bad_replies_are_answered_and_counted_not_fatal():
    env, index, seed = open_episode(split="dev", instance=INSTANCE)
    console, buffer = quiet_console()
    bad = [
        "",
        "hello there",
        "{broken",
        {"tool_calls": [{"function": {"name": "nope", "arguments": "{]"}}]},
        {"content": 42},
        "submit_answer(task_id='T9', answer=1)",
        "wait(",
    ]
    result = play_replies(env, console, bad, index=index, seed=seed)
    assert result.ended == "replies ran out" and result.replies == len(bad)
    assert result.metrics["invalid_actions"] == len(bad)
    assert "unknown task id 'T9'" in buffer.getvalue()


# -- interactive play ------------------------------------------------------------------------


def test_interactive_commands_garbage_and_quit(tmp_path):
    env, index, seed = open_episode(split="dev", instance=INSTANCE, latency="fixed:1")
    first_tool = format_tools(env.tools).splitlines()[0].strip()
    console, buffer = quiet_console()
    gold = env.gold_call(*env.ready_steps()[0])
    read_line = scripted(
        [
            ":help",
            ":tools",
            "this is not a call",
            ":nope",
            "",
            text_call(gold["name"], gold["arguments"]),
            "wait",
            ":history",
            ":quit",
            "wait",  # never read
        ]
    )
    transcript = tmp_path / "t.jsonl"
    result = play_interactive(
        env, console, read_line, index=index, seed=seed, transcript=transcript
    )
    output = buffer.getvalue()
    assert result.ended == "quit" and result.replies == 3
    assert output.count("Commands (never sent to the env") == 2  # at the start and :help
    assert output.count(first_tool) == 2  # at the start and :tools
    assert "Your reply contains no tool call" in output  # the env's answer to the garbage
    assert "Unknown command ':nope'" in output
    assert "empty reply not sent" in output
    assert "Response to call_1" in output  # the arrival after `wait`
    assert "The conversation so far (8 messages)" in output
    assert "You quit before the end. Score so far:" in output
    assert "invalid actions    1" in output and "step precision     1.000" in output
    assert read_line.prompts[:3] == ["round 0> ", "round 0> ", "round 0> "]
    assert [m["content"] for m in result.messages if m["role"] == "assistant"][-1] == "wait()"
    assert json.loads(transcript.read_text())["ended"] == "quit"


def test_multi_line_reply_and_end_of_input():
    env, index, seed = open_episode(split="dev", instance=INSTANCE, max_calls_per_turn=None)
    console, buffer = quiet_console()
    first, second = [env.gold_call(*pair) for pair in env.ready_steps()[:2]]
    lines = [
        "<tool_call>",
        json.dumps(first, indent=2),
        "</tool_call>",
        text_call(second["name"], second["arguments"]) + " \\",
        "",
    ]
    result = play_interactive(env, console, scripted(lines), index=index, seed=seed)
    assert result.ended == "end of input" and result.replies == 1
    assert result.metrics["calls"] == 2 and result.metrics["invalid_actions"] == 0
    assert "End of input before the end of the episode" in buffer.getvalue()


def test_continuation_rule():
    assert not _continues('find_contact(name="Ada")')
    assert not _continues('find_contact(name="a (b")')  # brackets inside strings do not count
    assert _continues("{")
    assert _continues("<tool_call>")
    assert _continues("wait() \\")
    assert not _continues("wait")


def test_interactive_through_the_cli_ends_cleanly_at_eof():
    result = CliRunner().invoke(
        app, ["play", "--instance", "3", "--seed", "5"], input=":tools\nwait\n"
    )
    assert result.exit_code == 0, result.output
    assert "instance 3" in result.output and "seed 5" in result.output
    assert "End of input before the end of the episode" in result.output
    assert "instance success   0.0" in result.output


def test_task_results_are_printed_when_the_env_gives_them(monkeypatch):
    env, index, seed = open_episode(split="dev", instance=INSTANCE, max_rounds=1)
    original = env.step

    def step(reply):
        new, terminated, truncated, info = original(reply)
        info["task_results"] = [
            {
                "task_id": "T1",
                "success": False,
                "reasons": ["not answered", {"k": 1}],
                "answer": None,
            },
            "odd entry",
        ]
        return new, terminated, truncated, info

    monkeypatch.setattr(env, "step", step)
    console, buffer = quiet_console()
    result = play_replies(env, console, ["wait"], index=index, seed=seed)
    assert result.ended == "truncated"
    output = buffer.getvalue()
    assert "round limit (1) was reached" in output
    assert 'task_id: T1, success: false, reasons: not answered; {"k": 1}, answer: null' in output
    assert "  odd entry" in output


def test_tool_listing_keeps_defaults_and_optional_arguments():
    env, _, _ = open_episode(split="dev", instance=INSTANCE)
    text = format_tools([TOOLS["list_messages"].openai_schema(), *env.tools])
    assert "- limit (integer, optional, default 5): How many messages" in text
    assert "submit_answer(task_id*, answer*)" in text and "wait(rounds)" in text
    assert "answer (string or integer or number or object, required)" in text


# -- bad arguments ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--split", "train"], "unknown split 'train'"),
        (["--instance", "72"], "instances 0 to 71"),
        (["--instance", "-1"], "instances 0 to 71"),
        (["--latency", "sometimes"], "--latency"),
        (["--calls-per-turn", "0"], "--calls-per-turn"),
        (["--max-rounds", "0"], "--max-rounds"),
        (["--replies", "/no/such/file"], "cannot read"),
    ],
)
def test_bad_arguments_are_clear(arguments, message):
    result = CliRunner().invoke(app, ["play", *arguments])
    assert result.exit_code == 2
    assert message in result.output


def test_a_replies_file_line_ending_with_a_backslash_goes_on(tmp_path):
    path = write_replies(
        tmp_path / "r.txt",
        ["# two calls in one reply", "find_contact(name='Ada') \\", "wait()", "", "wait"],
    )
    replies = [entry.reply for entry in read_replies_file(path)]
    assert replies == ["find_contact(name='Ada')\nwait()", "wait()"]


def test_the_tasks_come_last_and_tasks_shows_them_again():
    """The opening prints the tools first and the tasks last (they were buried under the
    tool list); ':tasks' prints them again; the score's expected facts read as
    'label = value', not as the templates they come from."""
    env, index, seed = open_episode(split="dev", instance=INSTANCE, latency="fixed:1")
    tasks = next(m["content"] for m in env.messages if m["role"] == "user")
    first_tool = format_tools(env.tools).splitlines()[0].strip()
    console, buffer = quiet_console()
    answers = [
        f'submit_answer(task_id="T{k + 1}", answer="x")' for k in range(len(env.instance.tasks))
    ]
    play_interactive(env, console, scripted([":tasks", *answers]), index=index, seed=seed)
    output = buffer.getvalue()
    assert output.index(first_tool) < output.index(tasks)
    assert output.count(tasks) == 2  # at the start, and for :tasks
    assert "${" not in output and "expected: " in output
