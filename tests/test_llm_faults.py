"""The LLM evaluation path against a fault-injection server: a real HTTP server on loopback
that answers, request by request, with server errors, rate limits, malformed bodies, stalls
and dropped connections. Nothing it sends may crash a run or cost a result."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from typer.testing import CliRunner

pytest.importorskip("openai")

from asynctool_env.benchmark import read_records
from asynctool_env.chat.runner import LLMConfig, repair_results, run_llm_eval
from asynctool_env.cli import app
from asynctool_env.dataset import load_split

WAIT_CALL = {"id": "w", "type": "function", "function": {"name": "wait", "arguments": "{}"}}


def completion(message: dict | None, usage: dict | None = None) -> dict:
    choice = {"index": 0, "finish_reason": "stop"}
    if message is not None:
        choice["message"] = {"role": "assistant", **message}
    body = {"id": "x", "object": "chat.completion", "created": 0, "model": "m"}
    body["choices"] = [choice]
    body["usage"] = usage or {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}
    return body


class FaultServer:
    """Answers the n-th request with ``script[n]`` (then with ``rest``)."""

    def __init__(self, script: list[str], rest: str = "ok") -> None:
        self.script = list(script)
        self.rest = rest
        self.requests = 0
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                self.rfile.read(length)
                with server.lock:
                    mode = server.script.pop(0) if server.script else server.rest
                    server.requests += 1
                server.answer(self, mode)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def answer(self, handler: BaseHTTPRequestHandler, mode: str) -> None:
        def send(status: int, body: bytes, headers: dict | None = None) -> None:
            handler.send_response(status)
            handler.send_header("content-type", "application/json")
            for key, value in (headers or {}).items():
                handler.send_header(key, value)
            handler.send_header("content-length", str(len(body)))
            handler.end_headers()
            with contextlib.suppress(OSError):  # the client gave up (the stall)
                handler.wfile.write(body)

        def send_json(value: dict, status: int = 200, headers: dict | None = None) -> None:
            send(status, json.dumps(value).encode(), headers)

        if mode == "500":
            send_json({"error": {"message": "boom"}}, 500)
        elif mode == "429":
            send_json({"error": {"message": "slow down"}}, 429, {"retry-after": "0.05"})
        elif mode == "garbage":
            send(200, b"<html>not a completion</html>")
        elif mode == "empty_choices":
            send_json({**completion(None), "choices": []})
        elif mode == "no_message":
            send_json(completion(None))
        elif mode == "bad_usage":
            send_json(completion({"content": None, "tool_calls": [WAIT_CALL]}, {"x": "y"}))
        elif mode == "bad_usage_numbers":
            usage = {"prompt_tokens": "many", "completion_tokens": None}
            send_json(completion({"content": None, "tool_calls": [WAIT_CALL]}, usage))
        elif mode == "bad_tool_json":
            call = {**WAIT_CALL, "function": {"name": "wait", "arguments": "{not json"}}
            send_json(completion({"content": None, "tool_calls": [call]}))
        elif mode == "stall":
            time.sleep(1.5)
            send_json(completion({"content": None, "tool_calls": [WAIT_CALL]}))
        elif mode == "slow":  # a model that takes a moment to answer
            time.sleep(0.05)
            send_json(completion({"content": None, "tool_calls": [WAIT_CALL]}))
        elif mode == "trickle":  # a valid reply, one byte every 0.2 s (each read is quick)
            body = json.dumps(completion({"content": None, "tool_calls": [WAIT_CALL]})).encode()
            handler.send_response(200)
            handler.send_header("content-type", "application/json")
            handler.send_header("content-length", str(len(body)))
            handler.end_headers()
            with contextlib.suppress(OSError):
                for index in range(len(body)):
                    handler.wfile.write(body[index : index + 1])
                    handler.wfile.flush()
                    time.sleep(0.2)
        elif mode == "huge":  # a 20 MB body: refused as it streams in, not read whole
            body = json.dumps({**completion({"content": "x" * 20_000_000, "tool_calls": []})})
            send(200, body.encode())
        elif mode == "reset":
            handler.close_connection = True
            handler.connection.close()
        else:
            send_json(completion({"content": None, "tool_calls": [WAIT_CALL]}))

    def __enter__(self) -> FaultServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


FAULTS = [
    "500",
    "429",
    "garbage",
    "empty_choices",
    "no_message",
    "bad_usage",
    "bad_usage_numbers",
    "bad_tool_json",
    "stall",
    "reset",
]


def config(url: str, **extra) -> LLMConfig:
    base = {"model": "m", "base_url": url, "api_key": "k", "timeout": 1.0, "max_rounds": 3}
    return LLMConfig(**{**base, "max_retries": 12, "retry_delay": 0.01, **extra})


@pytest.fixture(scope="module")
def dev() -> list:
    return load_split("dev")[:4]


@pytest.fixture
def healthy() -> Iterator[FaultServer]:
    with FaultServer([]) as server:
        yield server


@pytest.mark.slow
def test_every_fault_is_survived_and_every_episode_recorded(tmp_path, dev):
    with FaultServer(FAULTS) as server:
        records = run_llm_eval(config(server.url, concurrency=2), dev, tmp_path)
    assert sorted(r.instance_index for r in records) == [0, 1, 2, 3]
    assert not any(r.details["failed"] for r in records), [r.details for r in records]
    assert sum(r.metrics["invalid_actions"] for r in records) >= 1  # the broken tool JSON
    retried = {"500", "429", "garbage", "empty_choices", "no_message", "stall", "reset"}
    assert server.requests >= 4 * 3 + len(retried)  # 3 rounds each, plus every retry


def test_a_run_where_nothing_could_be_scored_exits_non_zero(tmp_path, dev):
    with FaultServer([], rest="500") as server:
        result = CliRunner().invoke(
            app,
            [
                "eval", "--agent", "openai", "--model", "m", "--base-url", server.url,
                "--split", "dev", "--episodes", "2", "--retries", "0", "--timeout", "2",
                "--output", str(tmp_path),
            ],
        )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "all 2 episodes failed" in result.output
    records = read_records([tmp_path])
    assert len(records) == 2 and all(r.details["failed"] for r in records)
    summary = json.loads((tmp_path / "summary.json").read_text())["summaries"][0]
    assert summary["episodes"] == 0 and summary["failed_episodes"] == 2
    assert summary["efficiency"] is None  # failures are not scores


def test_a_closed_port_is_refused_at_once_naming_the_url(tmp_path):
    """No server there: the run stops before any episode, naming the URL and what to check
    (it used to retry every episode, then say only 'Connection error')."""
    result = CliRunner().invoke(
        app,
        [
            "eval", "--agent", "openai", "--model", "m", "--base-url", "http://127.0.0.1:9/v1",
            "--split", "dev", "--episodes", "1", "--retries", "0", "--output", str(tmp_path),
        ],
    )  # fmt: skip
    assert result.exit_code == 2
    text = " ".join(result.output.replace("│", " ").split())
    assert "cannot reach the model's server at http://127.0.0.1:9/v1" in text
    assert "check that the server runs" in text
    assert not (tmp_path / "episodes.jsonl").exists()


@pytest.mark.parametrize(
    "url", ["notaurl", "ftp://127.0.0.1/v1", "http://127.0.0.1:99999/v1", "http:///v1"]
)
def test_a_url_that_is_no_http_url_is_refused_up_front(tmp_path, url):
    result = CliRunner().invoke(
        app,
        [
            "eval", "--agent", "openai", "--model", "m", "--base-url", url,
            "--split", "dev", "--episodes", "1", "--output", str(tmp_path),
        ],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "is not an http(s) URL" in " ".join(result.output.replace("│", " ").split())


def test_openai_without_a_key_or_a_url_says_what_to_set(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    result = CliRunner().invoke(app, ["eval", "--agent", "openai", "--model", "m"])
    assert result.exit_code == 2
    assert "set OPENAI_API_KEY" in " ".join(result.output.replace("│", " ").split())


def test_retry_failed_replays_only_the_failed_episodes(tmp_path, dev, healthy):
    with FaultServer([], rest="500") as broken:
        run_llm_eval(config(broken.url, max_retries=0), dev[:2], tmp_path, indexes=[1])
    run_llm_eval(config(healthy.url), dev[:2], tmp_path, indexes=[0])
    before = {r.instance_index: r.details["failed"] for r in read_records([tmp_path])}
    assert before == {0: False, 1: True}
    served = healthy.requests
    notes: list[str] = []
    run_llm_eval(config(healthy.url), dev[:2], tmp_path, retry_failed=True, notes=notes.append)
    assert any("replaying 1 failed episode" in note for note in notes)
    after = read_records([tmp_path])
    assert sorted(r.instance_index for r in after) == [0, 1]
    assert not any(r.details["failed"] for r in after)
    assert healthy.requests - served == 3  # episode 1 only (3 rounds), not episode 0 again


def test_a_torn_line_and_an_orphan_transcript_are_repaired_on_resume(tmp_path, dev, healthy):
    run_llm_eval(config(healthy.url), dev, tmp_path, indexes=[0, 1])
    episodes = tmp_path / "episodes.jsonl"
    transcripts = tmp_path / "transcripts.jsonl"
    lines = episodes.read_text().splitlines()
    # A crash while writing episode 1's line, and one between episode 2's two writes.
    episodes.write_text(lines[0] + "\n" + lines[1][: len(lines[1]) // 2])
    with transcripts.open("a") as handle:
        handle.write(json.dumps({"instance_index": 2, "messages": []}) + "\n")
    with pytest.warns(UserWarning, match="torn last line"):
        assert len(read_records([tmp_path])) == 1  # report still reads the folder
    notes = repair_results(tmp_path)
    assert any("torn" in note for note in notes) and any("transcript" in note for note in notes)
    run_llm_eval(config(healthy.url), dev, tmp_path, indexes=[0, 1, 2])
    records = read_records([tmp_path])
    assert sorted(r.instance_index for r in records) == [0, 1, 2]  # none lost, none twice
    indexes = [json.loads(line)["instance_index"] for line in transcripts.read_text().splitlines()]
    assert sorted(indexes) == [0, 1, 2]
    assert (tmp_path / "episodes.jsonl.torn").is_file()


def test_retry_after_is_read_in_seconds_and_as_a_date():
    from datetime import datetime, timedelta, timezone
    from email.utils import format_datetime

    from asynctool_env.chat.runner import MAX_RETRY_AFTER, retry_after

    class Response:
        def __init__(self, value):
            self.headers = {"retry-after": value}

    class Error(Exception):
        def __init__(self, value):
            self.response = Response(value)

    assert retry_after(Error("3")) == 3.0
    assert retry_after(Error("99999")) == MAX_RETRY_AFTER
    soon = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=30))
    assert 25 <= retry_after(Error(soon)) <= 31
    assert retry_after(Error("soon")) is None and retry_after(ValueError()) is None


def test_results_of_a_run_carry_versions(tmp_path, dev, healthy):
    run_llm_eval(config(healthy.url), dev[:1], tmp_path)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["versions"]["dataset"] == "v3" and summary["versions"]["grader"] == "3"
    line = json.loads((tmp_path / "episodes.jsonl").read_text().splitlines()[0])
    assert line["versions"]["grader"] == "3"
    assert "task_results" in line["details"]


@pytest.mark.slow
def test_a_killed_run_resumes_without_losing_or_repeating_an_episode(tmp_path):
    """SIGKILL in the middle of a real run (a subprocess), then the same command again."""
    import os
    import signal
    import subprocess
    import sys

    command = [
        sys.executable, "-c", "from asynctool_env.cli import app; app()",
        "eval", "--agent", "openai", "--model", "m", "--split", "dev", "--episodes", "10",
        "--concurrency", "2", "--max-rounds", "3", "--output", str(tmp_path),
    ]  # fmt: skip
    episodes = tmp_path / "episodes.jsonl"
    with FaultServer([], rest="slow") as server:
        command += ["--base-url", server.url]
        environment = {**os.environ, "OPENAI_API_KEY": "k"}
        process = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL)
        deadline = time.time() + 120
        while time.time() < deadline:
            if episodes.is_file() and len(episodes.read_text().splitlines()) >= 3:
                break
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        before = len(episodes.read_text().splitlines())
        assert 3 <= before < 10
        finished = subprocess.run(command, env=environment, capture_output=True, timeout=300)
        assert finished.returncode == 0, finished.stdout[-2000:]
    indexes = [json.loads(line)["instance_index"] for line in episodes.read_text().splitlines()]
    assert sorted(indexes) == list(range(10))  # none lost, none twice
    transcripts = (tmp_path / "transcripts.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["instance_index"] for line in transcripts) == list(range(10))


# -- trials ------------------------------------------------------------------------------


def test_pass_estimators_on_hand_made_tables():
    from asynctool_env.benchmark import pass_at_k, pass_hat_k

    # 4 trials, 2 successes: pass^1 = 2/4, pass^2 = C(2,2)/C(4,2) = 1/6, pass^3 = 0.
    assert pass_hat_k(4, 2, 1) == 0.5
    assert pass_hat_k(4, 2, 2) == pytest.approx(1 / 6)
    assert pass_hat_k(4, 2, 3) == 0.0
    # pass@2 = 1 - C(2,2)/C(4,2) = 5/6; all successes: 1; none: 0.
    assert pass_at_k(4, 2, 2) == pytest.approx(5 / 6)
    assert pass_at_k(5, 5, 3) == 1.0 and pass_at_k(5, 0, 3) == 0.0
    assert pass_hat_k(3, 3, 3) == 1.0
    with pytest.raises(ValueError, match="need 1 <= k <= n"):
        pass_hat_k(2, 1, 3)


def test_trial_summary_per_instance_and_per_task():
    from asynctool_env.benchmark import EpisodeRecord, summarize

    def record(index, trial, tasks):
        return EpisodeRecord(
            agent="a", instance_id=f"i{index}", instance_index=index, seed=0, latency="tool",
            n_tasks=len(tasks), episode_return=0.0, decisions=1,
            metrics={"instance_success": all(tasks), "efficiency": 1.0 if all(tasks) else 0.0},
            details={"task_results": [
                {"task_id": f"T{n + 1}", "success": ok} for n, ok in enumerate(tasks)
            ]},
            trial=trial,
        )  # fmt: skip

    # Instance 0: 2 of 3 trials right (T1 always right, T2 twice); instance 1: never.
    records = [
        record(0, 0, [True, True]),
        record(0, 1, [True, False]),
        record(0, 2, [True, True]),
        record(1, 0, [False]),
        record(1, 1, [False]),
        record(1, 2, [False]),
    ]
    summary = summarize(records)
    assert summary["trials"] == 3
    assert summary["pass_hat_k"] == pytest.approx((0 + 0) / 2)  # C(2,3)=0: never all three
    assert summary["pass_at_k"] == pytest.approx((1 + 0) / 2)
    # Tasks: (0,T1) 3/3, (0,T2) 2/3, (1,T1) 0/3 -> pass^3 = (1 + 0 + 0) / 3.
    assert summary["task_pass_hat_k"] == pytest.approx(1 / 3)
    assert summary["task_pass_at_k"] == pytest.approx(2 / 3)


def test_trials_play_each_instance_k_times_and_resume(tmp_path, dev, healthy):
    run_llm_eval(config(healthy.url), dev[:2], tmp_path, trials=3)
    records = read_records([tmp_path])
    keys = sorted((r.instance_index, r.trial) for r in records)
    assert keys == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    assert len({r.seed for r in records}) == 6  # every trial its own seed
    served = healthy.requests
    run_llm_eval(config(healthy.url), dev[:2], tmp_path, trials=3)  # all done: nothing played
    assert healthy.requests == served
    summary = json.loads((tmp_path / "summary.json").read_text())["summaries"][0]
    assert summary["trials"] == 3 and 0.0 <= summary["pass_hat_k"] <= summary["pass_at_k"]


def test_trials_are_for_llm_agents():
    result = CliRunner().invoke(app, ["eval", "-a", "greedy", "--trials", "3"])
    assert result.exit_code == 2 and "--trials applies to LLM agents" in result.output


def test_a_trickling_server_meets_a_whole_request_deadline(tmp_path, dev):
    """A server that sends a valid reply one byte at a time never lets a socket read time out;
    the runner's deadline covers the whole request (connect, send, first byte, body)."""
    with FaultServer([], rest="trickle") as server:
        start = time.perf_counter()
        records = run_llm_eval(
            config(server.url, timeout=1.0, max_retries=1), dev[:1], tmp_path, indexes=[0]
        )
        elapsed = time.perf_counter() - start
    assert elapsed < 15  # two attempts of 1 s and a backoff, not minutes
    (record,) = records
    assert record.details["failed"] and "no whole reply within 1.0 s" in record.details["error"]


@pytest.mark.parametrize("value", ["nan", "inf", "0.5", "5000"])
def test_a_timeout_that_is_no_number_of_seconds_is_named(value):
    result = CliRunner().invoke(
        app,
        ["eval", "-a", "openai", "--model", "m", "--base-url", "http://h/v1", "--timeout", value],
    )
    assert result.exit_code == 2
    text = " ".join(result.output.replace("│", " ").split())
    assert "'--timeout': give a number of seconds from 1 to 3600" in text


def test_show_marks_a_failed_episode_and_reads_any_bytes(tmp_path, dev):
    """'asynctool show' on a failed episode says FAILED and why (it showed the conversation
    as if scored); a transcript with bytes that are not UTF-8 is shown, not a traceback."""
    with FaultServer([], rest="500") as broken:
        run_llm_eval(config(broken.url, max_retries=0), dev[:1], tmp_path, indexes=[0])
    shown = CliRunner().invoke(app, ["show", str(tmp_path), "--episode", "0"])
    assert shown.exit_code == 0, shown.output
    assert shown.output.count("*** FAILED episode (server trouble, not scored):") == 2
    assert "InternalServerError" in shown.output
    transcripts = tmp_path / "transcripts.jsonl"
    transcripts.write_bytes(transcripts.read_bytes().replace(b"You have", b"You \xff\xfehave", 1))
    again = CliRunner().invoke(app, ["show", str(tmp_path), "--episode", "0"])
    assert again.exit_code == 0 and "You \ufffd\ufffdhave" in again.output


def test_a_huge_reply_is_refused_not_read_whole(tmp_path, dev):
    with FaultServer([], rest="huge") as server:
        records = run_llm_eval(config(server.url, max_retries=0), dev[:1], tmp_path, indexes=[0])
    (record,) = records
    assert record.details["failed"] and "over 8,388,608 bytes" in record.details["error"]
