"""Play an episode of the chat interface yourself, in the terminal (``asynctool play``).

A person takes the model's seat in :class:`~asynctool_env.chat.env.ChatEnv`: they see the
system prompt, the opening user message (the tasks) and the tool schemas, type replies, and
see the new messages exactly as a model gets them. It is how a newcomer learns the benchmark,
and how a careful person checks the grading: the score at the end is the env's own metrics.

Replies
-------
A reply is what a model would send, and it goes to :meth:`ChatEnv.step` unchanged:
``search_flights(origin="Paris", date="2025-06-14")``, JSON ``{"name": ..., "arguments":
{...}}``, ``<tool_call>`` blocks, several calls per reply. Two conveniences, both harmless:

* A bare ``wait`` is sent as ``wait()`` (the env itself reads ``wait`` alone as prose).
* Multi-line replies: a reply is one line, unless that line ends with ``\\`` or leaves a
  bracket (``(``, ``[``, ``{``) or a ``<tool_call>`` open; then the following lines belong to
  it, up to the first empty line. Pasted pretty-printed JSON therefore works as it is.

Lines starting with ``:`` are commands for the player, never sent: ``:help``, ``:tools``,
``:tasks``, ``:history``, ``:quit``. End of input (Ctrl-D) and Ctrl-C end the episode like
``:quit``.

A replies file (``--replies``) plays one reply per line instead: a JSON object with
``tool_calls``, ``content``, ``function_call`` or ``role`` is an assistant message (native
calls); any other line is text (a JSON call object like ``{"name": ..., "arguments": ...}``
too, as a model writing JSON in its text); blank lines, ``#`` comments and commands
(``:help``) are skipped. A line ending with ``\\`` goes on over the next line (the backslash
dropped), so several calls fit in one reply there too.

The score
---------
``info["metrics"]`` of the last step when the episode ended; when it stopped early
(``:quit``, end of input, replies ran out), the metrics of the episode so far. Optimal
rounds and efficiency come from the exact solver on the episode's realized latencies, as in
``asynctool eval``. Per-task verdicts (``info["task_results"]``) are printed when the env
gives them.
"""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from asynctool_env.chat.defaults import DEFAULT_MAX_ROUNDS
from asynctool_env.chat.env import ChatEnv

__all__ = [
    "HELP",
    "PlayResult",
    "PlaySettingError",
    "ReplyLine",
    "format_tools",
    "open_episode",
    "play_interactive",
    "play_replies",
    "read_replies_file",
]

#: What a reader function looks like: ``input``'s signature (prompt in, line out, EOFError
#: at the end of input).
InputFunction = Callable[[str], str]

HELP = """\
How to play: you are the model. Each reply is one round; the clock moves after every reply.
  Call tools as a model would, e.g.   find_contact(name="Ada Lovelace")
  or as JSON {"name": "find_contact", "arguments": {"name": "Ada Lovelace"}}, or in
  <tool_call>{...}</tool_call> blocks. Several calls in one reply are separated by ";"
  (one line), or written one per line in a reply continued over several lines.
  wait                                      ends the round without a call
  submit_answer(task_id="T1", answer="...")  answers a task (once; "done" if it asks for none)
A reply is one line. If the line ends with \\ or leaves a ( [ { or <tool_call> open, the
reply goes on over the next lines until an empty line.
Commands (never sent to the env, and skipped in a --replies file):
  :help     this text          :tools    the tools again     :tasks   the tasks again
  :history  the conversation   :quit     stop now and show the score (so does Ctrl-D)"""

_COMMANDS = {
    ":help": "help",
    ":h": "help",
    ":?": "help",
    ":tools": "tools",
    ":tasks": "tasks",
    ":history": "history",
    ":quit": "quit",
    ":q": "quit",
    ":exit": "quit",
}
#: Keys that make a JSON line of a replies file an assistant message rather than text.
_MESSAGE_KEYS = ("tool_calls", "content", "function_call", "role")


class PlaySettingError(ValueError):
    """A setting of the episode is not valid; ``param`` names the option to change."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param


@dataclass
class PlayResult:
    """How an episode played in the terminal ended."""

    ended: str  # "finished", "truncated", "quit", "end of input", "replies ran out"
    replies: int  # replies sent to the env
    metrics: dict[str, Any]
    task_results: list[Any] | None
    messages: list[dict[str, Any]] = field(default_factory=list)

    @property
    def over(self) -> bool:
        """Did the episode reach its end (every task answered, or out of rounds)?"""
        return self.ended in ("finished", "truncated")


@dataclass(frozen=True)
class ReplyLine:
    """One reply of a replies file: a string or an assistant message, and its line number."""

    reply: str | dict[str, Any]
    line: int


# -- setting up ----------------------------------------------------------------------------


def open_episode(
    *,
    split: str = "dev",
    instance: int | None = None,
    seed: int | None = None,
    latency: str | None = None,
    max_calls_per_turn: int | None = 1,
    max_rounds: int = DEFAULT_MAX_ROUNDS,
    notifications: str = "push",
    tool_capacity: int | None = None,
) -> tuple[ChatEnv, int, int]:
    """A ChatEnv on ``split``, reset on the chosen instance; returns ``(env, index, seed)``.

    ``seed`` seeds the episode (stochastic latencies, and the instance when ``instance`` is
    None). Default: 0 with ``instance``, so the same command replays the same episode; a
    fresh random seed otherwise.

    Raises:
        PlaySettingError: A bad split, instance index, latency or round limit.
    """
    if split not in ("test", "dev"):
        raise PlaySettingError("--split", f"unknown split {split!r}; choose test or dev")
    try:
        env = ChatEnv(
            split=split,
            latency=latency,
            max_calls_per_turn=max_calls_per_turn,
            max_rounds=max_rounds,
            notifications=notifications,
            tool_capacity=tool_capacity,
        )
    except ValueError as error:
        text = str(error)
        param = "--max-rounds" if "max_rounds" in text else "--latency"
        if "max_calls_per_turn" in text:
            param = "--calls-per-turn"
        if "notifications" in text:
            param = "--notifications"
        raise PlaySettingError(param, text) from error
    if seed is not None and seed < 0:
        raise PlaySettingError("--seed", f"the seed must be >= 0; got {seed}")
    count = len(env.instances)
    if instance is not None and not 0 <= instance < count:
        raise PlaySettingError(
            "--instance",
            f"the {split} split has instances 0 to {count - 1}; got {instance}",
        )
    if seed is None:
        seed = 0 if instance is not None else secrets.randbelow(2**31)
    options = {} if instance is None else {"instance_index": instance}
    env.reset(seed=seed, options=options)
    index = next(i for i, candidate in enumerate(env.instances) if candidate is env.instance)
    return env, index, seed


def read_replies_file(path: str | Path) -> list[ReplyLine]:
    """The replies of a replies file (see the module docstring), in order.

    Raises:
        OSError: The file cannot be read.
    """
    replies = []
    text = Path(path).read_text(encoding="utf-8")
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#") or line.casefold() in _COMMANDS):
            continue  # blank, a comment, or a command (never sent to the env)
        if not pending:
            start = number
        if line.endswith("\\"):  # the reply goes on over the next line
            pending.append(line[:-1].rstrip())
            continue
        reply = "\n".join([*pending, line]).strip()
        pending = []
        if reply:
            replies.append(ReplyLine(_reply_from_line(reply), start))
    if pending:
        replies.append(ReplyLine(_reply_from_line("\n".join(pending)), start))
    return replies


def _reply_from_line(line: str) -> str | dict[str, Any]:
    if line.startswith("{"):
        try:
            decoded = json.loads(line)
        except ValueError:
            return line  # broken JSON goes to the env as text, which says what is wrong
        if isinstance(decoded, dict) and any(key in decoded for key in _MESSAGE_KEYS):
            return decoded
    return _plain_wait(line)


def _plain_wait(text: str) -> str:
    return "wait()" if text.strip().lower() == "wait" else text


# -- showing -------------------------------------------------------------------------------


def _type_name(schema: Any) -> str:
    """A short name for a JSON-schema type: "string", "list of string", "string or null"."""
    if not isinstance(schema, Mapping):
        return "any"
    if "enum" in schema:
        return "one of " + ", ".join(json.dumps(value) for value in schema["enum"])
    if "anyOf" in schema:
        return " or ".join(_type_name(option) for option in schema["anyOf"])
    kind = schema.get("type")
    if kind == "array":
        return f"list of {_type_name(schema.get('items'))}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), Mapping):
        return f"object of {_type_name(schema['additionalProperties'])}"
    if isinstance(kind, list):
        return " or ".join(str(item) for item in kind)
    return str(kind) if kind else "any"


_SHOWN_KEYS = {"type", "anyOf", "items", "enum", "description", "default", "additionalProperties"}


def format_tools(tools: Sequence[Mapping[str, Any]]) -> str:
    """The OpenAI tool schemas as compact text that keeps everything a model is given."""
    lines = ["Arguments are named; required ones are marked *; unlisted arguments are refused."]
    for schema in tools:
        function = schema.get("function", {})
        parameters = function.get("parameters", {})
        properties = parameters.get("properties", {})
        required = set(parameters.get("required", ()))
        names = ", ".join(name + ("*" if name in required else "") for name in properties)
        lines.append("")
        lines.append(f"{function.get('name')}({names})")
        lines.append(f"    {function.get('description', '')}")
        for name, prop in properties.items():
            details = [_type_name(prop), "required" if name in required else "optional"]
            if "default" in prop:
                details.append(f"default {json.dumps(prop['default'])}")
            extra = {key: value for key, value in prop.items() if key not in _SHOWN_KEYS}
            if extra:  # schema keywords this listing does not name: show them raw
                details.append(json.dumps(extra, sort_keys=True))
            lines.append(f"    - {name} ({', '.join(details)}): {prop.get('description', '')}")
    return "\n".join(lines)


def _say(console: Console, text: str, style: str | None = None) -> None:
    """Print ``text`` verbatim: no markup, no highlighting, no inserted line breaks."""
    console.print(text, style=style, markup=False, highlight=False, soft_wrap=True)


def _header(console: Console, title: str) -> None:
    console.rule(title, style="dim", characters="-")


def _show_message(console: Console, message: Mapping[str, Any]) -> None:
    role = str(message.get("role", "?"))
    if role == "tool":
        _header(console, f"tool (tool_call_id {message.get('tool_call_id')})")
        _say(console, str(message.get("content")))
        return
    _header(console, role)
    content = message.get("content")
    calls = message.get("tool_calls") or []
    if content:
        _say(console, str(content), style="bold" if role == "assistant" else None)
    elif not calls:
        _say(console, "(no text)", style="dim")
    for call in calls:
        function = call.get("function", {}) if isinstance(call, Mapping) else {}
        _say(
            console,
            f"tool call {call.get('id')}: {function.get('name')} {function.get('arguments')}",
            style="bold",
        )


def _show_opening(console: Console, env: ChatEnv, index: int, seed: int, split: str) -> None:
    assert env.instance is not None and env.simulator is not None
    cap = env.max_calls_per_turn
    _say(
        console,
        f"AsyncTool play: {split} split, instance {index} ({env.instance.instance_id}), "
        f"seed {seed}, latency {env.simulator.profile.name}, "
        f"{'unlimited' if cap is None else cap} call(s) per reply, "
        f"at most {env.max_rounds} rounds",
        style="bold",
    )
    _say(console, "What the model sees: the tools, and the messages below them.")
    _show_tools(console, env)
    _header(console, "help")
    _say(console, HELP)
    # The tasks last, so they are on the screen when the first reply is asked for.
    for message in env.messages:
        _show_message(console, message)


def _show_tasks(console: Console, env: ChatEnv) -> None:
    """The opening user message (the tasks) again, and which tasks are still open."""
    opening = next((m for m in env.messages if m.get("role") == "user"), None)
    if opening is not None:
        _show_message(console, opening)


def _show_tools(console: Console, env: ChatEnv) -> None:
    _header(console, f"tools ({len(env.tools)}, given to the model beside the messages)")
    _say(console, format_tools(env.tools))


def _show_history(console: Console, env: ChatEnv) -> None:
    _say(console, f"The conversation so far ({len(env.messages)} messages):", style="bold")
    for message in env.messages:
        _show_message(console, message)
    _header(console, "end of history")


# -- the score -----------------------------------------------------------------------------


def _score(env: ChatEnv, info: Mapping[str, Any]) -> dict[str, Any]:
    """The episode metrics: the env's when it gave them, else those of the episode so far;
    optimal rounds and efficiency filled in by the solver when missing."""
    from asynctool_env.metrics import episode_metrics

    simulator = env.simulator
    assert simulator is not None
    metrics = dict(info.get("metrics") or episode_metrics(simulator).as_dict())
    if metrics.get("optimal_rounds") is None:
        from asynctool_env.solver import optimal_schedule_for_simulator

        try:
            best = optimal_schedule_for_simulator(simulator).rounds
        except Exception:  # the score is still worth printing without the optimum
            return metrics
        solved = episode_metrics(simulator, optimal_rounds=best).as_dict()
        metrics["optimal_rounds"] = solved["optimal_rounds"]
        metrics["efficiency"] = solved["efficiency"]
    return metrics


def _number(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "1.0" if value else "0.0"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _show_score(console: Console, result: PlayResult, env: ChatEnv) -> None:
    metrics = result.metrics
    simulator = env.simulator
    assert simulator is not None
    _header(console, "score")
    endings = {
        "finished": "The episode is over: every task was answered.",
        "truncated": f"The episode is over: the round limit ({env.max_rounds}) was reached.",
        "quit": "You quit before the end. Score so far:",
        "end of input": "End of input before the end of the episode. Score so far:",
        "replies ran out": (
            f"The replies ran out after {result.replies} repl"
            f"{'y' if result.replies == 1 else 'ies'}, in round {simulator.round}, "
            "before the end of the episode. Score so far:"
        ),
    }
    _say(console, endings.get(result.ended, result.ended), style="bold")
    n_tasks = metrics.get("n_tasks")
    rows = [
        ("instance success", _number(metrics.get("instance_success"), 1)),
        (
            "task success",
            f"{_number(metrics.get('task_success_rate'))} "
            f"({metrics.get('tasks_succeeded')}/{n_tasks} tasks)",
        ),
        ("step precision", _number(metrics.get("step_precision"))),
        ("step recall", _number(metrics.get("step_recall"))),
        ("step F1", _number(metrics.get("step_f1"))),
        ("rounds", _number(metrics.get("rounds"))),
        ("optimal rounds", _number(metrics.get("optimal_rounds"))),
        ("efficiency", _number(metrics.get("efficiency"))),
        ("calls", f"{metrics.get('calls')} ({metrics.get('correct_calls')} matched gold steps)"),
        ("invalid actions", _number(metrics.get("invalid_actions"))),
        ("violations", f"{_number(metrics.get('dependency_violations'))} (dependency)"),
        ("redundant calls", _number(metrics.get("redundant_calls"))),
        ("premature answers", _number(metrics.get("premature_answers"))),
        ("failure modes", ", ".join(metrics.get("failure_modes") or ()) or "none"),
    ]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        _say(console, f"  {label:<{width}}  {value}")
    if result.task_results:
        _say(console, "Per task:", style="bold")
        for entry in result.task_results:
            _say(console, "  " + _task_line(entry))


def _task_line(entry: Any) -> str:
    """One per-task verdict, whatever keys it has."""
    if not isinstance(entry, Mapping):
        return str(entry)
    parts = []
    for key, value in entry.items():
        if key == "expected" and isinstance(value, (list, tuple)):
            # The facts to state, as a reader says them (not their source templates).
            shown = "; ".join(_fact_text(fact) for fact in value) or "done"
            parts.append(f"expected: {shown}")
            continue
        if isinstance(value, (list, tuple)):
            shown = "; ".join(_plain(item) for item in value) or "-"
        else:
            shown = _plain(value)
        parts.append(f"{key}: {shown}")
    return ", ".join(parts)


def _fact_text(fact: Any) -> str:
    """``label (subject) = value`` of a fact of ``task_results``."""
    if not isinstance(fact, Mapping):
        return _plain(fact)
    label = str(fact.get("label") or fact.get("kind") or "value")
    if fact.get("subject"):
        label += f" ({fact['subject']})"
    return f"{label} = {_plain(fact.get('value'))}"


def _plain(value: Any) -> str:
    """Strings as they are, anything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


# -- playing -------------------------------------------------------------------------------


_Reply = str | dict[str, Any]
#: What a reply source gives: a reply, or the reason to stop ("quit", "end of input",
#: "replies ran out").
_Next = Callable[[ChatEnv], "_Reply | _Stop"]


@dataclass(frozen=True)
class _Stop:
    reason: str


def _play(
    env: ChatEnv,
    console: Console,
    next_reply: _Next,
    *,
    index: int,
    seed: int,
    split: str,
    echo: bool,
    transcript: Path | None,
) -> PlayResult:
    _show_opening(console, env, index, seed, split)
    info: dict[str, Any] = {}
    replies = 0
    ended = ""
    while not ended:
        reply = next_reply(env)
        if isinstance(reply, _Stop):
            ended = reply.reason
            break
        try:
            new_messages, terminated, truncated, info = env.step(reply)
        except Exception as error:  # a bug in the env must not end a person's session
            _say(
                console,
                f"The env failed on this reply ({type(error).__name__}: {error}). This is a "
                "bug in asynctool_env, not your reply; the episode may be inconsistent now.",
                style="red",
            )
            continue
        replies += 1
        if echo:
            _show_message(console, env.messages[-len(new_messages) - 1])
        for message in new_messages:
            _show_message(console, message)
        if terminated:
            ended = "finished"
        elif truncated:
            ended = "truncated"
    result = PlayResult(
        ended=ended,
        replies=replies,
        metrics=_score(env, info),
        task_results=info.get("task_results"),
        messages=list(env.messages),
    )
    _show_score(console, result, env)
    if transcript is not None:
        try:
            _write_transcript(transcript, env, result, index=index, seed=seed, split=split)
        except OSError as error:
            _say(console, f"Could not write the transcript to {transcript}: {error}", "red")
        else:
            _say(console, f"Transcript written to {transcript}")
    return result


def play_interactive(
    env: ChatEnv,
    console: Console,
    read_line: InputFunction,
    *,
    index: int,
    seed: int,
    split: str = "dev",
    transcript: Path | None = None,
) -> PlayResult:
    """Play ``env`` (already reset) with replies typed by a person.

    Args:
        env: A reset ChatEnv (see :func:`open_episode`).
        console: Where everything is shown.
        read_line: ``input`` or a stand-in: takes a prompt, returns one line, raises
            ``EOFError`` at the end of input (``KeyboardInterrupt`` is taken as ``:quit``).
        index, seed, split: Shown, and written to the transcript.
        transcript: A ``.jsonl`` file for the conversation and the score.
    """

    def next_reply(env: ChatEnv) -> _Reply | _Stop:
        while True:
            assert env.simulator is not None
            try:
                text = _read_reply(read_line, f"round {env.simulator.round}> ")
            except EOFError:
                _say(console, "")
                return _Stop("end of input")
            except KeyboardInterrupt:
                _say(console, "")
                return _Stop("quit")
            stripped = text.strip()
            if stripped.startswith(":") and "\n" not in stripped:
                command = _COMMANDS.get(stripped.split()[0].lower())
                if command == "quit":
                    return _Stop("quit")
                if command == "help":
                    _say(console, HELP)
                elif command == "tools":
                    _show_tools(console, env)
                elif command == "tasks":
                    _show_tasks(console, env)
                elif command == "history":
                    _show_history(console, env)
                else:
                    _say(console, f"Unknown command {stripped!r}; :help lists the commands.")
                continue
            if not stripped:
                _say(console, "(empty reply not sent; type wait to let a round pass)", "dim")
                continue
            return _plain_wait(text)

    return _play(
        env,
        console,
        next_reply,
        index=index,
        seed=seed,
        split=split,
        echo=False,
        transcript=transcript,
    )


def play_replies(
    env: ChatEnv,
    console: Console,
    replies: Iterable[ReplyLine | str | dict[str, Any]],
    *,
    index: int,
    seed: int,
    split: str = "dev",
    transcript: Path | None = None,
) -> PlayResult:
    """Play ``env`` (already reset) with prepared replies, one per round, shown as they go.

    Stops with ``ended == "replies ran out"`` when they end before the episode does.
    """
    source = iter(replies)

    def next_reply(env: ChatEnv) -> _Reply | _Stop:
        item = next(source, None)
        if item is None:
            return _Stop("replies ran out")
        if isinstance(item, ReplyLine):
            assert env.simulator is not None
            _header(console, f"reply from line {item.line} (round {env.simulator.round})")
            return item.reply
        return _plain_wait(item) if isinstance(item, str) else item

    return _play(
        env,
        console,
        next_reply,
        index=index,
        seed=seed,
        split=split,
        echo=True,
        transcript=transcript,
    )


def _read_reply(read_line: InputFunction, prompt: str) -> str:
    """One reply: a line, or several lines up to an empty one (see :data:`HELP`)."""
    first = read_line(prompt)
    if first.strip().startswith(":") or not _continues(first):
        return first
    lines = [first[:-1] if first.rstrip().endswith("\\") else first]
    while True:
        try:
            line = read_line("... ")
        except EOFError:
            break  # send what was typed; the next read ends the session
        if not line.strip():
            break
        lines.append(line[:-1] if line.rstrip().endswith("\\") else line)
    return "\n".join(lines)


def _continues(line: str) -> bool:
    """Does ``line`` ask for more lines: a trailing backslash, or an open bracket/block?"""
    if line.rstrip().endswith("\\"):
        return True
    lowered = line.lower()
    if lowered.count("<tool_call>") > lowered.count("</tool_call>"):
        return True
    depth = 0
    in_string = False
    escaped = False
    for character in line:
        if in_string:
            if escaped:
                escaped = False
            elif character == "\\":
                escaped = True
            elif character == '"':
                in_string = False
        elif character == '"':
            in_string = True
        elif character in "([{":
            depth += 1
        elif character in ")]}":
            depth -= 1
    return depth > 0


def _write_transcript(
    path: Path, env: ChatEnv, result: PlayResult, *, index: int, seed: int, split: str
) -> None:
    """One JSON line in the format of ``transcripts.jsonl`` (``asynctool show`` reads it),
    with the score, the tools and the settings beside the messages."""
    assert env.instance is not None and env.simulator is not None
    record = {
        "instance_index": index,
        "instance_id": env.instance.instance_id,
        "split": split,
        "seed": seed,
        "latency": env.simulator.profile.name,
        "max_calls_per_turn": env.max_calls_per_turn,
        "max_rounds": env.max_rounds,
        "notifications": env.notifications,
        "tool_capacity": env.tool_capacity,
        "ended": result.ended,
        "metrics": result.metrics,
        "task_results": result.task_results,
        "tools": env.tools,
        "messages": result.messages,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, ensure_ascii=False, default=str) + "\n", encoding="utf-8")


def terminal_input() -> InputFunction:
    """``input``, with line editing and history when ``readline`` is available."""
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401  (importing it is what turns line editing on)
    return input
