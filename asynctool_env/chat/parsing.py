"""Reading tool calls out of an LLM's reply, and saying precisely what was wrong when it fails.

A chat model answers with an *assistant message*. When the serving stack supports function
calling, the calls arrive as native ``tool_calls``; many open models (or prompts without
native tools) write them in the text instead, in one of a handful of conventions. This module
turns either into :class:`ParsedCall` objects, and turns everything it cannot use into
:class:`ParseProblem` objects whose ``message`` is addressed to the model: it says what was
wrong and what to write instead, so an environment can send it back as the error of that call.

Two steps, kept apart so that each can be tested and reused on its own:

1. :func:`parse_reply` reads the *syntax*: which calls the reply makes, with which arguments.
2. :func:`check_call` checks one call against the tool registry: is the name a real tool, do
   the arguments fit its schema (via :meth:`Tool.validate_arguments`, which also coerces them).

What :func:`parse_reply` understands
------------------------------------
* **Native calls.** ``{"role": "assistant", "content": ..., "tool_calls": [{"id": "call_1",
  "type": "function", "function": {"name": "find_contact", "arguments": "{...}"}}]}``.
  ``arguments`` is normally a JSON *string*; an already-decoded object is accepted too, and an
  empty string means ``{}`` (some servers send that for tools without arguments). The legacy
  single ``function_call`` field is read the same way. **Native calls win**: when a message
  has any, its text is not searched for more calls (it stays in :attr:`ParsedReply.text`).
* **Calls written in the text**, anywhere among prose, several per reply, mixed freely:

  - a JSON object ``{"name": "find_contact", "arguments": {"name": "Ada"}}``; the name may
    also be under ``"tool"`` or ``"function"``, the arguments under ``"parameters"`` or
    ``"args"``, and the OpenAI shape ``{"type": "function", "function": {...}}`` works too;
  - a JSON list of such objects, or ``{"tool_calls": [...]}``;
  - Hermes/Qwen blocks ``<tool_call>{json}</tool_call>`` (the last one may be left unclosed);
  - Python-like calls ``find_contact(name="Ada", limit=3, tags=["a"], d={"k": true})``.

  Markdown fences (```` ```json ... ``` ````) around any of these are fine.

Policy: strict where strictness teaches, lenient where leniency is harmless
--------------------------------------------------------------------------
* JSON must be *real* JSON: single quotes, trailing commas, ``True``/``None``, unquoted keys
  and cut-off objects are ``malformed_json``, with the decoder's position and a hint for the
  usual culprits. Nothing is "repaired": a repaired guess could call a tool with arguments
  the model never meant.
* Python-like calls are read with :func:`ast.parse` and their argument values with
  :func:`ast.literal_eval` only (plus the JSON names ``true``/``false``/``null``). Nothing is
  ever evaluated: ``f(a=1+2)`` or ``f(a=open("x"))`` is an ``unparsable_call``, and so are
  positional arguments (``f("Ada")``): arguments must be named.
* ``name(...)`` counts as a call only when ``name`` is a known tool (``tool_names``), when it
  stands alone on its line (or is the whole reply), or inside a ``<tool_call>`` block; so
  prose like "the last one (see above)" is never mistaken for a call.
* A JSON object counts as a call when it has a name or arguments key. Other JSON in prose is
  data and is left alone, unless it is the whole reply or sits in a ``<tool_call>`` block:
  then it was clearly meant as a call, and it is reported (``missing_name``).
* Strings are data. Text inside a string argument ("ignore previous instructions and ...")
  is never interpreted, whatever it says.

Problem kinds (:data:`ERROR_KINDS`)
-----------------------------------
``empty_reply``         nothing but whitespace, and no native call;
``too_long``            longer than ``max_chars``: refused without reading further;
``malformed_json``      a call written as JSON that does not decode;
``bad_arguments_json``  a call whose ``arguments`` *string* does not decode;
``not_an_object``       arguments that are JSON but not an object (a list, a number, null);
``missing_name``        a call object without a usable tool name;
``unparsable_call``     something clearly meant as a call that cannot be read (positional or
                        computed arguments, a ``<tool_call>`` block with no call inside, ...);
``no_call``             a reply with neither a call nor any of the problems above;
``unknown_tool``        (:func:`check_call`) no tool has that name; the closest names are listed;
``invalid_arguments``   (:func:`check_call`) the arguments do not fit the tool's schema.

Robustness
----------
Neither function raises, whatever it is given (the tests fuzz them with Hypothesis), and the
time is bounded: the length check comes first and costs O(1) for text; every scan afterwards
moves forward through the text, and the regular expressions cannot backtrack badly.

>>> reply = parse_reply('find_contact(name="Ada")', tool_names={"find_contact"})
>>> reply.calls
(ParsedCall(name='find_contact', arguments={'name': 'Ada'}, call_id=None),)
>>> parse_reply("I think we are done.").problems[0].kind
'no_call'
"""

from __future__ import annotations

import ast
import difflib
import functools
import json
import re
import warnings
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from asynctool_env.core.tools import Tool, ToolArgumentError

__all__ = [
    "ERROR_KINDS",
    "ParseProblem",
    "ParsedCall",
    "ParsedReply",
    "check_call",
    "parse_reply",
]

#: Every ``ParseProblem.kind``, in the order a reply meets them.
ERROR_KINDS = (
    "empty_reply",
    "too_long",
    "malformed_json",
    "bad_arguments_json",
    "not_an_object",
    "missing_name",
    "unparsable_call",
    "no_call",
    "unknown_tool",
    "invalid_arguments",
)


@dataclass(frozen=True)
class ParsedCall:
    """One tool call read from a reply (not yet checked against the tools)."""

    name: str
    arguments: dict[str, Any]
    call_id: str | None = None  # the native tool_call id when there was one


@dataclass(frozen=True)
class ParseProblem:
    """Why (part of) a reply could not be used; ``message`` is written for the model."""

    kind: str  # one of ERROR_KINDS
    message: str
    call_id: str | None = None
    raw: str = ""  # offending text, truncated to ~200 characters


@dataclass(frozen=True)
class ParsedReply:
    """Everything read from one reply."""

    calls: tuple[ParsedCall, ...]
    problems: tuple[ParseProblem, ...]
    text: str  # free text of the reply (content minus the parsed call syntax), stripped


# -- shared vocabulary -----------------------------------------------------------------------

_EXAMPLE = '{"name": "tool_name", "arguments": {"argument": "value"}}'
_NAME_KEYS = ("name", "tool", "function")
_ARGUMENT_KEYS = ("arguments", "parameters", "args")
#: Keys a call object may carry besides its name and arguments without raising an eyebrow.
_HARMLESS_KEYS = frozenset({"type", "id", "call_id", "index", *_NAME_KEYS, *_ARGUMENT_KEYS})
_RAW_LIMIT = 200
_JSON_NAMES = {"true": True, "false": False, "null": None}
_DECODER = json.JSONDecoder()
_MISSING = object()


def _clip(text: str, limit: int = _RAW_LIMIT) -> str:
    """``text`` cut to about ``limit`` characters."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _preview(value: Any, limit: int = _RAW_LIMIT) -> str:
    """A short printable form of any value (never raises)."""
    if isinstance(value, str):
        return _clip(value, limit)
    try:
        return _clip(json.dumps(value, ensure_ascii=False, default=repr), limit)
    except Exception:
        try:
            return _clip(repr(value), limit)
        except Exception:
            return f"<{type(value).__name__}>"


def _json_type(value: Any) -> str:
    """The JSON name of a Python value's type, with its article ("an array")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return f"a {type(value).__name__}"


def _measure(value: Any, limit: int) -> int:
    """Roughly how many characters ``value`` holds, counting no further than past ``limit``.

    Strings count their length and every other item at least one, so the walk (iterative, no
    recursion) stops after at most ``limit`` steps however large or deep ``value`` is.
    """
    total = 0
    stack: list[Iterator[Any]] = [iter((value,))]
    while stack and total <= limit:
        item = next(stack[-1], _MISSING)
        if item is _MISSING:
            stack.pop()
        elif isinstance(item, (str, bytes)):
            total += len(item)
        elif isinstance(item, Mapping):
            total += 2
            stack.append(iter(item.items()))
        elif isinstance(item, (list, tuple)):
            total += 2
            stack.append(iter(item))
        else:
            total += 1
    return total


def _content_text(content: Any) -> str:
    """The text of a message ``content``: a string, a list of parts, or anything else."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, (list, tuple)):  # OpenAI content parts
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, Mapping) and isinstance(part.get("text"), str):
                parts.append(part["text"])
        return "\n".join(parts)
    return _preview(content, limit=10**9)


def _clean_name(value: Any) -> str | None:
    """A usable tool name from ``value``, or None."""
    if not isinstance(value, str):
        return None
    name = value.strip()
    if name.startswith("functions."):  # an OpenAI-internal prefix that sometimes leaks
        name = name[len("functions.") :]
    return name or None


def _missing_name(value: Any, raw: str, call_id: str | None = None) -> ParseProblem:
    if value is _MISSING or value is None:
        what = "has no tool name"
    elif isinstance(value, str):
        what = "has an empty tool name"
    else:
        what = f"has a tool name that is not a non-empty string ({_preview(value, 40)})"
    return ParseProblem(
        "missing_name",
        f'Your tool call {what}. Put the exact tool name under "name", e.g. {_EXAMPLE}.',
        call_id,
        _clip(raw),
    )


def _decode_arguments(
    value: Any, name: str, call_id: str | None, raw: str
) -> dict[str, Any] | ParseProblem:
    """The arguments of a call as a dict, from a JSON string or an object."""
    where = f"your call to {_clip(name, 60)}" + (f" (id {call_id})" if call_id else "")
    if isinstance(value, str):
        if not value.strip():
            return {}
        try:
            decoded = json.loads(value)
            if isinstance(decoded, str) and decoded.lstrip().startswith("{"):
                decoded = json.loads(decoded)  # arguments JSON-encoded twice
        except json.JSONDecodeError as error:
            return ParseProblem(
                "bad_arguments_json",
                f"The arguments of {where} are not valid JSON: {_describe_json_error(value, error)}"
                f" Send the arguments as a JSON object string, e.g. "
                f'"{{\\"argument\\": \\"value\\"}}", with double quotes and no trailing commas.',
                call_id,
                _clip(value),
            )
        except (ValueError, RecursionError):
            return ParseProblem(
                "bad_arguments_json",
                f"The arguments of {where} could not be decoded (too deeply nested or too "
                "large a number). Send a flat JSON object of argument values.",
                call_id,
                _clip(value),
            )
        value = decoded
    if isinstance(value, Mapping):
        return dict(value)
    return ParseProblem(
        "not_an_object",
        f"The arguments of {where} must be a JSON object mapping argument names to values, "
        f'e.g. {{"argument": "value"}} (or {{}} for none), but they are {_json_type(value)}: '
        f"{_preview(value, 60)}.",
        call_id,
        _clip(raw),
    )


# -- JSON error messages ---------------------------------------------------------------------


def _describe_json_error(text: str, error: json.JSONDecodeError, start: int = 0) -> str:
    """'<msg> at line L, column C (near '...'). <hint>' for an error in ``text[start:]``."""
    position = max(0, min(error.pos, len(text)))
    line = text.count("\n", start, position) + 1
    column = position - (text.rfind("\n", start, position) + 1 if line > 1 else start) + 1
    near = text[max(start, position - 25) : position + 15].replace("\n", " ")
    hints = []
    character = text[position] if position < len(text) else ""
    before = text[start:position].rstrip()
    if not character:
        hints.append("It looks cut off: finish it and close every string, { and [.")
    elif character == "'":
        hints.append('Use double quotes (") around keys and strings, not single quotes.')
    elif character in "}]" and before.endswith(","):
        hints.append(f"Remove the trailing comma before '{character}'.")
    elif error.msg.startswith("Expecting value") and text.startswith(
        ("True", "False", "None"), position
    ):
        hints.append("Write true, false and null in lower case (JSON), not True/False/None.")
    elif error.msg.startswith("Expecting property name") and (
        character.isalpha() or character == "_"
    ):
        hints.append("Put every key in double quotes.")
    elif character in "}]" or error.msg.startswith("Extra data"):
        hints.append("Check that every { and [ is closed by the matching } or ].")
    message = f"{error.msg} at line {line}, column {column} (near {near!r})."
    return " ".join([message, *hints])


# -- scanning --------------------------------------------------------------------------------

#: Where something call-like may start: a ``<tool_call>`` block, a Markdown fence, a JSON
#: object (``{"``, ``{'``, ``{}`` or ``{key:``) or list of objects, or ``name(``. The scanner
#: handles whichever comes first, so a string inside one (``"text": "<tool_call>..."``) is
#: never read as another. The look-behind keeps ``name(`` linear: it cannot restart inside a
#: longer identifier.
_CANDIDATE = re.compile(
    r"(?P<block>(?i:<tool_call>))|(?P<fence>```)"
    r"|(?P<json>\{\s*(?:[\"'}]|[A-Za-z_]\w*\s*:)|\[\s*\{)"
    r"|(?<![\w.])(?P<call>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\("
)
#: Does a piece of broken JSON look like a call attempt (rather than braces in prose)?
_CALL_KEY = re.compile(
    r"[\"'](?:name|tool|function|arguments|parameters|args|tool_calls)[\"']\s*:"
    r"|[{,]\s*(?:name|tool|function|arguments|parameters|args|tool_calls)\s*:"
)
_OPENER = re.compile(r"(?i:<tool_call>)|```")
_BLOCK_END = re.compile(r"</tool_call>|<tool_call>", re.IGNORECASE)
_FENCE_LANG = re.compile(r"[\w+-]*[ \t]*(?=\r?\n)")
_BODY_LEAD = re.compile(r"\s*(?:```[\w+-]*)?\s*")
_LEAD = re.compile(r"\s*(?:```[\w+-]*)?\s*")
_LINE_TAIL = re.compile(r"[ \t\r;,.`]*(?:\n|\Z)")
_LINE_HEAD_CHARS = frozenset(" \t`-*•>0123456789.)")
_SPECIAL = re.compile(r"[\"'(){}\[\]<`]")
_STRING_END = {'"': re.compile(r'[\\"\n]'), "'": re.compile(r"[\\'\n]")}
_OPENERS = {"{": "}", "[": "]", "(": ")"}
_EMPTY_WRAPPERS = re.compile(r"```[\w+-]*\s*```|<tool_call>\s*(?:</tool_call>)?", re.IGNORECASE)
_BLANK_LINES = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")


#: Special characters visited by :func:`_balanced_end`, over the process (the tests read it to
#: check that parsing stays linear in the reply's length).
SCAN_STEPS = [0]


def _balanced_end(
    text: str, start: int, memo: dict[int, tuple[int, bool]] | None = None
) -> tuple[int, bool]:
    """Where the bracket opened at ``text[start]`` closes: ``(end, True)``, end exclusive.

    Quoted strings (single or double, with backslash escapes) are skipped; a string also ends
    at a newline, as neither JSON nor Python strings may span lines, so one stray apostrophe
    cannot swallow the rest of a reply. Returns ``(i + 1, False)`` at a closing bracket ``i``
    that does not match, ``(i, False)`` at a ``<tool_call>`` or fence opener ``i`` outside any
    string (a broken call does not swallow the next block), and ``(len(text), False)`` when
    the text ends first.

    ``memo`` makes a series of scans linear: when a scan runs to the end of the text, every
    opening bracket it met outside a string gets its answer recorded there (where it closes,
    or that it never does), and a later scan from one of them is answered from it. (From
    such a bracket on, the two scans see the same characters in the same state; a bracket
    the first scan never closed cannot close in the second, since only brackets opened after
    it close before the end.)
    """
    if memo is not None and start in memo:
        return memo[start]
    stack: list[str] = []
    opened: list[int] = []  # positions of the brackets on the stack
    closed: dict[int, int] = {}
    position = start
    length = len(text)
    while position < length:
        match = _SPECIAL.search(text, position)
        if match is None:
            break
        SCAN_STEPS[0] += 1
        position = match.start()
        character = match.group()
        if character in _STRING_END:
            end = _STRING_END[character].search(text, position + 1)
            while end is not None and end.group() == "\\":
                end = _STRING_END[character].search(text, end.start() + 2)
            if end is None:
                break
            position = end.start() + (end.group() != "\n")
            continue
        if character in "<`":
            if _OPENER.match(text, position):
                return position, False
        elif character in _OPENERS:
            stack.append(_OPENERS[character])
            opened.append(position)
        elif not stack or stack.pop() != character:
            return position + 1, False
        else:
            closed[opened.pop()] = position
            if not stack:
                return position + 1, True
        position += 1
    if memo is not None:  # ran to the end: what every bracket met here will answer
        for opener, closer in closed.items():
            memo[opener] = (closer + 1, True)
        for opener in opened:
            memo[opener] = (length, False)
    return length, False


def _json_extent(text: str, start: int) -> int:
    """Where a JSON value at the start of a body (``start``, after whitespace) ends, or
    ``start`` when there is none; used so that a closing tag inside a string is not taken
    for the end of the block."""
    lead = _BODY_LEAD.match(text, start)
    position = lead.end() if lead else start
    if position < len(text) and text[position] in "{[":
        try:
            return _DECODER.raw_decode(text, position)[1]
        except (ValueError, RecursionError):
            pass
    return start


def _json_value(value: Any) -> Any:
    """``value`` (from ``ast.literal_eval``) as JSON data; tuples become lists.

    Raises:
        ValueError: ``value`` holds something JSON cannot (a set, bytes, a complex number,
            a non-string key).
    """
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        return [_json_value(item) for item in value]
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise ValueError("object keys must be strings")
        return {key: _json_value(item) for key, item in value.items()}
    raise ValueError(f"a {type(value).__name__} is not a JSON value")


class _JsonNames(ast.NodeTransformer):
    """Turns the names ``true``, ``false`` and ``null`` into constants."""

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in _JSON_NAMES:
            return ast.copy_location(ast.Constant(_JSON_NAMES[node.id]), node)
        return node


def _python_arguments(name: str, parenthesized: str) -> dict[str, Any] | str:
    """The keyword arguments of ``name(...)`` as data, or why they cannot be read.

    ``parenthesized`` is the balanced ``(...)`` part. It is parsed, never evaluated: each
    value must be a literal (``ast.literal_eval``) or one of true/false/null.
    """
    shown = _clip(name, 60)
    example = f'{shown}(argument="value", count=2)'
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. invalid escape sequences in strings
            tree = ast.parse("_call" + parenthesized, mode="eval")
    except SyntaxError as error:
        return f"`{shown}(...)` is not valid call syntax ({error.msg}). Write it as {example}."
    except Exception:  # ValueError (null bytes), RecursionError, MemoryError
        return f"`{shown}(...)` could not be read. Write it as {example}."
    call = tree.body
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name):
        return f"`{shown}(...)` is not a single call. Write it as {example}."
    if call.args:
        return f"`{shown}(...)` has positional arguments; name every argument, as in {example}."
    arguments: dict[str, Any] = {}
    for keyword in call.keywords:
        if keyword.arg is None:
            return f"`{shown}(**...)` unpacks arguments; write each one out, as in {example}."
        if keyword.arg in arguments:
            return f"`{shown}(...)` gives argument {keyword.arg!r} twice."
        try:
            value = _json_value(ast.literal_eval(_JsonNames().visit(keyword.value)))
        except Exception:
            try:
                source = _clip(ast.unparse(keyword.value), 60)
            except Exception:
                source = "an expression"
            return (
                f"Argument {keyword.arg!r} of `{shown}(...)` is not a literal value ({source}). "
                "Nothing is evaluated: write strings in quotes and use only literals "
                "(strings, numbers, true/false/null, lists [...], objects {...})."
            )
        arguments[keyword.arg] = value
    return arguments


@dataclass
class _Scan:
    """One pass over the text of a reply, left to right, collecting calls and problems."""

    text: str
    known: frozenset[str]
    calls: list[ParsedCall] = field(default_factory=list)
    problems: list[ParseProblem] = field(default_factory=list)
    spans: list[tuple[int, int]] = field(default_factory=list)  # consumed, in text positions
    #: Per region: :func:`_balanced_end`'s answers, so that scanning stays linear.
    bracket_memo: dict[tuple[int, int], dict[int, tuple[int, bool]]] = field(default_factory=dict)
    lead: int = field(init=False, default=0)  # the reply "starts" here (after a fence opener)
    trail: int = field(init=False, default=0)  # ... and "ends" here (before a fence closer)

    def __post_init__(self) -> None:
        lead = _LEAD.match(self.text)
        self.lead = lead.end() if lead else 0
        stripped = self.text.rstrip()
        if stripped.endswith("```"):
            stripped = stripped[:-3].rstrip()
        self.trail = len(stripped)

    def run(self) -> None:
        self._region(0, len(self.text), "prose")

    def _region(self, start: int, end: int, mode: str) -> None:
        """Scan ``text[start:end]``, left to right.

        ``mode`` is "prose" (the reply itself), "fence" (inside a Markdown fence: broken
        JSON counts as an attempted call) or "block" (inside ``<tool_call>``: everything
        counts as an attempted call).
        """
        local = self.text[start:end]
        position = 0
        while position < len(local):
            candidate = _CANDIDATE.search(local, position)
            if candidate is None:
                break
            kind = candidate.lastgroup
            if kind == "block":
                position = self._block_at(local, candidate, start, mode)
                continue
            if kind == "fence":
                position = self._fence_at(local, candidate, start, mode)
                continue
            if kind == "json":
                position = self._json_at(local, candidate.start(), start, mode)
            else:
                position = self._call_at(local, candidate, start, mode)

    def _block_at(self, local: str, opener: re.Match[str], offset: int, mode: str) -> int:
        body_start = opener.end()
        close = _BLOCK_END.search(local, _json_extent(local, body_start))
        if close is None:  # the last block may be left unclosed
            body_end = end = len(local)
        elif close.group().lower() == "</tool_call>":
            body_end, end = close.start(), close.end()
        else:  # the next block opens: this one was left unclosed
            body_end = end = close.start()
        before = len(self.calls) + len(self.problems)
        body = local[body_start:body_end]
        if body.strip():
            self._region(offset + body_start, offset + body_end, "block")
        if len(self.calls) + len(self.problems) == before:
            self.problems.append(
                ParseProblem(
                    "unparsable_call",
                    "A <tool_call> block must hold one call as JSON, e.g. "
                    f"<tool_call>{_EXAMPLE}</tool_call>; "
                    + ("this one is empty." if not body.strip() else "no call was found in it."),
                    raw=_clip(local[opener.start() : end]),
                )
            )
        self.spans.append((offset + opener.start(), offset + end))
        return max(end, body_start)

    def _fence_at(self, local: str, opener: re.Match[str], offset: int, mode: str) -> int:
        lang = _FENCE_LANG.match(local, opener.end())
        body_start = lang.end() if lang else opener.end()
        close = local.find("```", _json_extent(local, body_start))
        body_end = len(local) if close < 0 else close
        self._region(
            offset + body_start, offset + body_end, "block" if mode == "block" else "fence"
        )
        return len(local) if close < 0 else close + 3

    def _whole(self, start: int, end: int) -> bool:
        """Is ``text[start:end]`` the whole reply (give or take whitespace and a fence)?"""
        return start <= self.lead and end >= self.trail

    # -- JSON ------------------------------------------------------------------------------

    def _json_at(self, local: str, start: int, offset: int, mode: str) -> int:
        try:
            value, end = _DECODER.raw_decode(local, start)
        except json.JSONDecodeError as error:
            return self._broken_json(local, start, offset, mode, error)
        except (ValueError, RecursionError):
            return self._broken_json(local, start, offset, mode, None)
        attempt = mode == "block" or self._whole(offset + start, offset + end)
        if self._take_value(value, local[start:end], attempt):
            self.spans.append((offset + start, offset + end))
        return end

    def _broken_json(
        self,
        local: str,
        start: int,
        offset: int,
        mode: str,
        error: json.JSONDecodeError | None,
    ) -> int:
        end, _ = _balanced_end(local, start)
        segment = local[start:end]
        attempt = (
            mode != "prose"
            or self._whole(offset + start, offset + end)
            or _CALL_KEY.search(segment) is not None
        )
        if not attempt:
            return end  # braces in prose: leave them be
        if error is None:
            detail = "It is nested too deeply or holds too large a number."
        else:
            detail = _describe_json_error(local[:end], error, start)
        self.problems.append(
            ParseProblem(
                "malformed_json",
                f"Your tool call is not valid JSON: {detail} Write each call as strict JSON, "
                f"e.g. {_EXAMPLE}: double quotes, no trailing commas, every bracket closed.",
                raw=_clip(segment),
            )
        )
        self.spans.append((offset + start, offset + end))
        return end

    def _take_value(self, value: Any, raw: str, attempt: bool) -> bool:
        """Read calls out of one decoded JSON value; False if it is not about calls at all."""
        if isinstance(value, dict):
            if "tool_calls" in value and not any(key in value for key in _NAME_KEYS):
                entries = value["tool_calls"]
                if isinstance(entries, list):
                    for entry in entries:
                        self._take_object(entry, raw)
                else:
                    self.problems.append(
                        ParseProblem(
                            "unparsable_call",
                            f'"tool_calls" must be a list of call objects, e.g. '
                            f'{{"tool_calls": [{_EXAMPLE}]}}, not {_json_type(entries)}.',
                            raw=_clip(raw),
                        )
                    )
                return True
            if attempt or _is_call_shaped(value):
                self._take_object(value, raw)
                return True
            return False
        if isinstance(value, list) and (
            attempt or any(isinstance(item, dict) and _is_call_shaped(item) for item in value)
        ):
            for item in value:
                self._take_object(item, raw)
            return True
        return False

    def _take_object(self, obj: Any, raw: str) -> None:
        """One call object (a dict) from text JSON."""
        if not isinstance(obj, dict):
            self.problems.append(
                ParseProblem(
                    "unparsable_call",
                    f"Each tool call must be a JSON object like {_EXAMPLE}, "
                    f"not {_json_type(obj)} ({_preview(obj, 40)}).",
                    raw=_clip(raw),
                )
            )
            return
        source = obj["function"] if isinstance(obj.get("function"), dict) else obj
        name_value = next((source[key] for key in _NAME_KEYS if key in source), _MISSING)
        name = _clean_name(name_value)
        if name is None:
            self.problems.append(_missing_name(name_value, raw))
            return
        argument_key = next((key for key in _ARGUMENT_KEYS if key in source), None)
        if argument_key is None:
            extra = [key for key in source if key not in _HARMLESS_KEYS]
            if extra:
                listed = ", ".join(json.dumps(key) for key in extra[:5])
                inner = ", ".join(f"{json.dumps(key)}: ..." for key in extra[:2])
                example = f'{{"name": {json.dumps(name)}, "arguments": {{{inner}}}}}'
                self.problems.append(
                    ParseProblem(
                        "unparsable_call",
                        f"Your call to {_clip(name, 60)} has {listed} beside its name; put "
                        f'the arguments inside "arguments", e.g. {_clip(example, 120)}.',
                        raw=_clip(raw),
                    )
                )
                return
            arguments: dict[str, Any] | ParseProblem = {}
        else:
            arguments = _decode_arguments(source[argument_key], name, None, raw)
        if isinstance(arguments, ParseProblem):
            self.problems.append(arguments)
        else:
            self.calls.append(ParsedCall(name, arguments))

    # -- name(...) -------------------------------------------------------------------------

    def _line_start(self, position: int) -> bool:
        """Only indentation, a bullet or a backtick between the line start and ``position``."""
        limit = max(0, position - 16)
        while position > limit and self.text[position - 1] in _LINE_HEAD_CHARS:
            position -= 1
        return position == 0 or self.text[position - 1] == "\n"

    def _call_at(self, local: str, candidate: re.Match[str], offset: int, mode: str) -> int:
        written = candidate.group("call")
        last = written.rsplit(".", 1)[-1]
        name = last if written not in self.known and last in self.known else written
        start, paren = candidate.start(), candidate.end() - 1
        known = mode == "block" or name in self.known
        if not known and not self._line_start(offset + start):
            return candidate.end()
        end, balanced = _balanced_end(
            local, paren, self.bracket_memo.setdefault((offset, len(local)), {})
        )
        if not known:  # a call of an unknown name must fill its line (or the whole reply)
            if balanced and not _LINE_TAIL.match(self.text, offset + end):
                return candidate.end()
            if not balanced and not self._whole(offset + start, len(self.text)):
                return candidate.end()
        raw = local[start:end]
        if not balanced:
            problem = (
                f"The call `{_clip(name, 60)}(...` is not closed, or its brackets do not match. "
                f'Write it whole, e.g. {_clip(name, 60)}(argument="value").'
            )
            result: dict[str, Any] | str = problem
        else:
            result = _python_arguments(name, local[paren:end])
        if isinstance(result, str):
            self.problems.append(ParseProblem("unparsable_call", result, raw=_clip(raw)))
        else:
            self.calls.append(ParsedCall(name, result))
        self.spans.append((offset + start, offset + end))
        return end

    # -- what is left ----------------------------------------------------------------------

    def leftover_text(self) -> str:
        pieces, position = [], 0
        for start, end in sorted(self.spans):
            if start > position:
                pieces.append(self.text[position:start])
            position = max(position, end)
        pieces.append(self.text[position:])
        text = _EMPTY_WRAPPERS.sub("", "".join(pieces))
        text = "\n".join(line.rstrip(" \t") for line in text.split("\n"))
        return _BLANK_LINES.sub("\n\n", text).strip()


def _is_call_shaped(obj: Mapping[Any, Any]) -> bool:
    return any(key in obj for key in (*_NAME_KEYS, *_ARGUMENT_KEYS))


# -- native calls ----------------------------------------------------------------------------


def _native_call(entry: Any, index: int) -> ParsedCall | ParseProblem:
    """One entry of a message's ``tool_calls``."""
    if not isinstance(entry, Mapping):
        return ParseProblem(
            "unparsable_call",
            f"tool_calls[{index}] must be an object like "
            '{"id": "call_1", "type": "function", "function": {"name": "tool_name", '
            f'"arguments": "{{}}"}}}}, not {_json_type(entry)}.',
            raw=_preview(entry),
        )
    identifier = entry.get("id")
    call_id = str(identifier) if isinstance(identifier, (str, int)) and identifier != "" else None
    function = entry.get("function")
    source = function if isinstance(function, Mapping) else entry
    name_value = source.get("name", _MISSING)
    name = _clean_name(name_value)
    if name is None:
        return _missing_name(name_value, _preview(entry), call_id)
    arguments = source.get("arguments", _MISSING)
    if arguments is _MISSING:
        arguments = source.get("parameters", {})  # some servers use this key
    decoded = _decode_arguments(arguments, name, call_id, _preview(arguments))
    if isinstance(decoded, ParseProblem):
        return decoded
    return ParsedCall(name, decoded, call_id)


# -- the API ---------------------------------------------------------------------------------


def parse_reply(
    reply: Mapping[str, Any] | str | None,
    *,
    max_chars: int = 20_000,
    tool_names: Collection[str] | None = None,
) -> ParsedReply:
    """Read the tool calls of one assistant reply. Never raises.

    Args:
        reply: An OpenAI-style assistant message (``content`` and/or ``tool_calls``), its
            text alone, or None.
        max_chars: Longer replies are refused whole (``too_long``) before any parsing.
        tool_names: Known tool names (a mapping of tools works too). ``name(...)`` in the
            text counts as a call anywhere when ``name`` is known, and otherwise only when it
            stands alone on its line.

    Returns:
        The calls (unchecked: see :func:`check_call`), the problems, and the free text.
    """
    try:
        return _parse_reply(reply, max_chars, tool_names)
    except Exception as error:  # a last resort; every path above is meant not to get here
        return ParsedReply(
            (),
            (
                ParseProblem(
                    "unparsable_call",
                    "Your reply could not be read "
                    f"({type(error).__name__}). Reply with tool calls only, e.g. {_EXAMPLE}.",
                ),
            ),
            "",
        )


def _parse_reply(reply: Any, max_chars: int, tool_names: Any) -> ParsedReply:
    known: frozenset[str] = frozenset()
    if tool_names is not None:
        known = frozenset(name for name in tool_names if isinstance(name, str))
    if reply is None:
        content: Any = None
        native: Any = None
        legacy: Any = None
    elif isinstance(reply, Mapping):
        content = reply.get("content")
        native = reply.get("tool_calls")
        legacy = reply.get("function_call")
    else:
        content, native, legacy = reply, None, None
    size = len(content) if isinstance(content, str) else _measure(content, max_chars)
    for extra in (native, legacy):
        if extra is not None and size <= max_chars:
            size += _measure(extra, max_chars - size)
    if size > max_chars:
        return ParsedReply(
            (),
            (
                ParseProblem(
                    "too_long",
                    f"Your reply is longer than the limit of {max_chars:,} characters, so it "
                    "was not read. Reply with short tool calls only, without long explanations "
                    "or repeated text.",
                    raw=_preview(content),
                ),
            ),
            "",
        )
    text = _content_text(content)
    if isinstance(native, (list, tuple)):
        entries: list[Any] = list(native)
    elif isinstance(native, Mapping) and native:
        entries = [native]
    elif native is not None and native != "" and native != {}:
        return ParsedReply(
            (),
            (
                ParseProblem(
                    "unparsable_call",
                    '"tool_calls" must be a list of calls like {"id": "call_1", "type": '
                    '"function", "function": {"name": "tool_name", "arguments": "{}"}}, '
                    f"not {_json_type(native)}.",
                    raw=_preview(native),
                ),
            ),
            text.strip(),
        )
    else:
        entries = []
    if not entries and isinstance(legacy, Mapping) and legacy:
        entries = [{"function": legacy}]
    if entries:  # native calls win; the text is left as text
        calls: list[ParsedCall] = []
        problems: list[ParseProblem] = []
        for index, entry in enumerate(entries):
            result = _native_call(entry, index)
            if isinstance(result, ParseProblem):
                problems.append(result)
            else:
                calls.append(result)
        return ParsedReply(tuple(calls), tuple(problems), text.strip())
    if not text.strip():
        return ParsedReply(
            (),
            (
                ParseProblem(
                    "empty_reply",
                    "Your reply was empty. Reply with a tool call, e.g. "
                    f"{_EXAMPLE}, or call `wait` if there is nothing to do this round.",
                    raw=_clip(text),
                ),
            ),
            "",
        )
    scan = _Scan(text, known)
    scan.run()
    if not scan.calls and not scan.problems and text.strip().rstrip(".!").casefold() == "wait":
        # The one call without arguments that people and models write as a bare word.
        return ParsedReply((ParsedCall("wait", {}),), (), "")
    if not scan.calls and not scan.problems:
        scan.problems.append(
            ParseProblem(
                "no_call",
                "Your reply contains no tool call. Reply with a tool call, e.g. "
                f"{_EXAMPLE} (or the native tool-calling format), or call `wait` if you "
                "have nothing to do this round.",
                raw=_clip(text.strip()),
            )
        )
    return ParsedReply(tuple(scan.calls), tuple(scan.problems), scan.leftover_text())


def _schema_type(schema: Any) -> str:
    """A short human name for a JSON-schema type ("string", "list of string", ...)."""
    if not isinstance(schema, Mapping):
        return "value"
    if "anyOf" in schema:
        names = [_schema_type(option) for option in schema["anyOf"]]
        return " or ".join(name for name in names if name != "null") or "null"
    kind = schema.get("type")
    if kind == "array":
        return f"list of {_schema_type(schema.get('items'))}"
    return str(kind) if kind else "value"


def _signature(tool: Tool) -> str:
    """``name(a: string, b: integer (optional))``, or "" when the schema cannot be read."""
    try:
        return _cached_signature(tool)
    except TypeError:  # an unhashable stand-in for a Tool
        return _build_signature(tool)


@functools.lru_cache(maxsize=512)
def _cached_signature(tool: Tool) -> str:
    return _build_signature(tool)


def _build_signature(tool: Tool) -> str:
    try:
        parameters = tool.openai_schema()["function"]["parameters"]
        required = set(parameters.get("required", ()))
        parts = [
            f"{key}: {_schema_type(prop)}" + ("" if key in required else " (optional)")
            for key, prop in parameters.get("properties", {}).items()
        ]
        return f"{tool.name}({', '.join(parts)})"
    except Exception:
        return ""


def check_call(call: ParsedCall, tools: Mapping[str, Tool]) -> ParsedCall | ParseProblem:
    """Check one parsed call against ``tools``. Never raises.

    Returns:
        The call with its arguments validated and coerced by the tool's schema, or a
        ``unknown_tool`` / ``invalid_arguments`` problem whose message says how to fix it.
    """
    try:
        return _check_call(call, tools)
    except Exception as error:
        return ParseProblem(
            "invalid_arguments",
            f"The arguments of your call could not be checked ({type(error).__name__}). "
            "Send a flat JSON object of argument values.",
            getattr(call, "call_id", None),
            _preview(getattr(call, "arguments", None)),
        )


def _check_call(call: ParsedCall, tools: Mapping[str, Tool]) -> ParsedCall | ParseProblem:
    name = call.name
    tool = tools.get(name) if isinstance(name, str) else None
    if tool is None:
        return _unknown_tool(call, tools)
    try:
        arguments = tool.validate_arguments(call.arguments)
    except ToolArgumentError as error:
        detail = str(error)
        if detail.startswith(f"{name}: "):
            detail = detail[len(name) + 2 :]
        signature = _signature(tool)
        expected = f" It takes {signature}." if signature else ""
        return ParseProblem(
            "invalid_arguments",
            f"Invalid arguments for {name}: {detail}.{expected} "
            f"Fix the arguments and call {name} again.",
            call.call_id,
            _preview(call.arguments),
        )
    except Exception as error:  # e.g. absurdly nested values
        return ParseProblem(
            "invalid_arguments",
            f"Invalid arguments for {name} ({type(error).__name__}). "
            f"It takes {_signature(tool) or 'the arguments in its schema'}.",
            call.call_id,
            _preview(call.arguments),
        )
    return replace(call, arguments=arguments)


def _unknown_tool(call: ParsedCall, tools: Mapping[str, Tool]) -> ParseProblem:
    shown = _clip(str(call.name), 60)
    names = [name for name in tools if isinstance(name, str)]
    by_lower: dict[str, str] = {}
    for name in names:
        by_lower.setdefault(name.lower(), name)
    closest = [
        by_lower[match]
        for match in difflib.get_close_matches(
            str(call.name).lower()[:100], list(by_lower), n=10, cutoff=0.0
        )
    ]
    message = f"There is no tool named {shown!r}."
    if closest:
        best = closest[0]
        ratio = difflib.SequenceMatcher(None, str(call.name).lower()[:100], best.lower()).ratio()
        if ratio >= 0.6:
            message += f" Did you mean {best!r}?"
        message += f" The closest valid tool names are: {', '.join(closest)}."
    message += " Call a tool by its exact name from the tool list."
    return ParseProblem("unknown_tool", message, call.call_id, _clip(str(call.name)))
