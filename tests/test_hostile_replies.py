"""Hostile model output costs the model, never memory or the run: an over-long reply is
refused and kept only as an excerpt with its length (in the env, the transcript and every
later request), and text that is not valid UTF-8 (a lone surrogate) is cleaned where it is
stored and sent, and scored as the model's."""

from __future__ import annotations

import json

import pytest

from asynctool_env.chat.env import CUT_REPLY_EXCERPT, ChatEnv


@pytest.fixture
def chat():
    env = ChatEnv(split="dev", latency="fixed:1")
    env.reset(seed=0, options={"instance_index": 0})
    return env


def _stored(env: ChatEnv) -> int:
    return len(json.dumps(env.messages, ensure_ascii=False))


def test_an_over_long_text_reply_is_kept_as_an_excerpt(chat):
    before = _stored(chat)
    messages, terminated, truncated, _ = chat.step("y" * 5_000_000)
    assert not (terminated or truncated)
    kept = chat.messages[-1 - len(messages)]
    assert kept["role"] == "assistant"
    assert kept["content"].startswith("y" * CUT_REPLY_EXCERPT)
    assert "5,000,000 characters, over the limit of 20,000" in kept["content"]
    assert _stored(chat) - before < 2_000  # not 5 MB
    assert "longer than the limit" in json.dumps(messages)  # the model is told why
    assert chat.simulator.invalid_actions == 1  # and it costs the reply


def test_an_over_long_native_reply_keeps_no_calls(chat):
    calls = [
        {"id": f"c{i}", "type": "function", "function": {"name": "wait", "arguments": "{}"}}
        for i in range(5_000)
    ]
    messages, *_ = chat.step({"role": "assistant", "content": None, "tool_calls": calls})
    kept = chat.messages[-1 - len(messages)]
    assert "tool_calls" not in kept and "refused unread" in kept["content"]
    assert len(kept["content"]) < 1_000
    assert all(m["role"] != "tool" for m in messages)  # no answers to calls it no longer holds


def test_a_lone_surrogate_is_cleaned_and_the_conversation_stays_encodable(chat):
    messages, *_ = chat.step("wait()\ud800")
    json.dumps(chat.messages).encode("utf-8")  # what the next request sends
    json.dumps(chat.messages, ensure_ascii=False).encode("utf-8")  # what a transcript writes
    assert chat.messages[-1 - len(messages)]["content"] == "wait()?"
    native = {
        "role": "assistant",
        "content": "\udfff",
        "tool_calls": [
            {"id": "c\ud800", "type": "function",
             "function": {"name": "wait", "arguments": '{"rounds": 1, "x": "\ud83d"}'}},
        ],
    }  # fmt: skip
    messages, *_ = chat.step(native)
    json.dumps(chat.messages, ensure_ascii=False).encode("utf-8")
    assert chat.simulator.round == 2  # both replies were played, not failed


def test_a_boolean_for_a_number_is_refused_naming_the_argument(chat):
    messages, *_ = chat.step("wait(rounds=true)")
    text = json.dumps(messages)
    assert "argument 'rounds': expected a number, got a boolean" in text
    assert chat.simulator.invalid_actions == 1


def test_a_message_of_another_role_is_not_played_as_the_reply(chat):
    """A user message given as the reply (a harness mistake) is refused, not read."""
    messages, *_ = chat.step({"role": "user", "content": "wait(rounds=3)"})
    assert "A reply is the assistant's message" in json.dumps(messages)
    assert chat.simulator.round == 1  # one round, not the three the text asked for
    assert chat.simulator.invalid_actions == 1
