"""Answers graded as facts: what a task's answer must state, and how free text is read.

A task that asks for something ("tell me the booking id and the forecast condition") has a
list of :class:`Fact` objects: each required value, with its kind and tolerance. A model's
free-text answer passes when it states every fact:

============ ======================================================================
kind          a stated value counts when
============ ======================================================================
``id``        the id appears as a whole token, letter case ignored (``bk-1a2b3c``)
``number``    some number in the answer is within the tolerance (``abs_tol``, by
              default half a cent: ``-3.63%`` states ``-3.6254``); thousands
              separators, currency signs, units and ``%`` are read
              (``$1,234.50 USD``, ``9 lines``, ``10 minutes``)
``text``      the text appears, with case, spacing and surrounding quotes ignored
``choice``    like ``text``, and named before the other options (``alternatives``):
              "B (2952 vs 704 for A)" answers B, "A or B" answers A
``boolean``   a yes/true word (or a no/false word) is said, and not its opposite
``list``      every item is stated (items graded as ``text``/``id``/``number``)
============ ======================================================================

What is *not* required: anything the instruction does not ask for. A response field that
only echoes its own call's input, when the instruction states that input (the currency a
conversion was asked into), is not a required fact either, since stating it shows nothing;
formatting words around the facts (``bytes``, ``USD``) are free.

An answer that pastes everything it saw must not pass. Three rules stop it, and none of
them stops a helpful answer that names a few things for context ("Mia Larsen's tier is now
silver, version VER-83138A; export job EXP-INV-CSV-D72A started"):

* **Contradiction**: a fact read from a list of candidates (``flights.0.flight_id``, the
  cheapest flight) has the other candidates' values as ``alternatives``; an answer that
  also names one of them is ambiguous and fails (``"AF891, or maybe IB905"``).
* **Copying**: an answer that restates more than ``max(2, facts)`` of the other values the
  task's responses held, and at least half of them, or that reproduces a whole response as
  JSON, is a copy of the responses (:func:`context_values`, :func:`grade_answer`).
* **Length**: an answer longer than :func:`answer_length_limit` characters fails before it
  is read (a few hundred characters more than the facts need; a pasted search result is
  thousands).

:func:`facts_from_answer` derives the facts of a task from its answer template (each
``${sN.path}`` is one fact; an answer with no reference is a computed ``choice``), so v1
tasks get facts too; v2 dataset files store them.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from asynctool_env.core.references import _REFERENCE, resolve

FACT_KINDS = ("id", "number", "text", "choice", "boolean", "list")

#: Default absolute tolerance of a non-integer number: rounding to cents passes.
DEFAULT_ABS_TOL = 0.005


@dataclass(frozen=True)
class Fact:
    """One value a task's answer must state.

    Attributes:
        kind: One of :data:`FACT_KINDS`.
        value: The gold value (a list for ``list``).
        source: The reference it was read from (``"${s2.amount}"``), or ``None`` for a
            value the template computed.
        abs_tol: For numbers: the largest accepted difference.
        alternatives: Values that would contradict this one if also named (the other
            candidates of a list, the other option of a choice).
        label: A few words naming the fact in reports ("amount", "booking id").
    """

    kind: str
    value: Any
    source: str | None = None
    abs_tol: float = 0.0
    alternatives: tuple[Any, ...] = ()
    label: str = ""

    def __post_init__(self) -> None:
        if self.kind not in FACT_KINDS:
            raise ValueError(f"unknown fact kind {self.kind!r}; use one of {FACT_KINDS}")

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "value": self.value, "label": self.label}
        if self.source is not None:
            data["source"] = self.source
        if self.abs_tol:
            data["abs_tol"] = self.abs_tol
        if self.alternatives:
            data["alternatives"] = list(self.alternatives)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fact:
        return cls(
            kind=str(data["kind"]),
            value=data["value"],
            source=data.get("source"),
            abs_tol=float(data.get("abs_tol", 0.0)),
            alternatives=tuple(data.get("alternatives", ())),
            label=str(data.get("label", "")),
        )


# -- deriving facts -------------------------------------------------------------------------

_ID_SHAPE = re.compile(
    r"^(?:(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9][A-Za-z0-9_./:#-]*|[A-Z]{2,5}-[A-Z0-9-]{3,})$"
)
_NUMBER_TEXT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)$")


def fact_kind(value: Any) -> str:
    """The kind of a gold value: ``boolean``, ``number``, ``list``, ``id`` or ``text``."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, (list, tuple)):
        return "list"
    text = str(value).strip()
    if _NUMBER_TEXT.match(text):
        return "number"
    if _ID_SHAPE.match(text) and len(text) >= 4:
        return "id"
    return "text"


def _label(path: str) -> str:
    keys = [part for part in path.split(".")[1:] if not part.isdigit()]
    return (keys[-1] if keys else path).replace("_", " ")


def _alternatives(path: str, responses: Sequence[Mapping[str, Any] | None]) -> tuple[Any, ...]:
    """The same field of the other items of the list that ``path`` indexes into."""
    parts = path.split(".")
    step = int(parts[0][1:])
    response = responses[step] if step < len(responses) else None
    for position in range(len(parts) - 1, 0, -1):
        if not parts[position].isdigit():
            continue
        container: Any = response
        try:
            for key in parts[1:position]:
                container = container[int(key)] if key.isdigit() else container[key]
        except (KeyError, IndexError, TypeError):
            return ()
        if not isinstance(container, list):
            return ()
        chosen = int(parts[position])
        found = []
        for index, item in enumerate(container):
            if index == chosen:
                continue
            value: Any = item
            try:
                for key in parts[position + 1 :]:
                    value = value[int(key)] if key.isdigit() else value[key]
            except (KeyError, IndexError, TypeError):
                continue
            found.append(value)
        return tuple(found)
    return ()


def facts_from_answer(
    answer: str | None,
    responses: Sequence[Mapping[str, Any] | None],
    instruction: str = "",
    *,
    alternatives: Sequence[Any] = (),
    arguments: Sequence[Mapping[str, Any]] = (),
) -> tuple[Fact, ...]:
    """The facts an answer template asks for (see the module docstring).

    Args:
        answer: The template (``"${s1.booking_id} (${s2.condition})"``), or ``None``.
        responses: The gold responses of the task's steps.
        instruction: The task's instruction.
        alternatives: For a template without references (a computed choice such as the
            name of the warmer city): the other options.
        arguments: The gold arguments of the task's steps. A value a response only echoes
            from its own call's arguments, when the instruction states it (the currency a
            conversion was asked into), is not required: stating it shows nothing.
    """
    if answer is None:
        return ()
    facts: list[Fact] = []
    # Evolution joins what each part asks for with "; ": a part without references is a
    # value the template computed (a choice), kept as a fact of its own.
    for part in answer.split("; ") if "; " in answer else [answer]:
        if _REFERENCE.search(part) is None:
            value = part.strip()
            if value.casefold() not in ("done", ""):
                others = tuple(item for item in alternatives if str(item) != value)
                facts.append(Fact("choice", value, None, alternatives=others, label="answer"))
    references = list(_REFERENCE.finditer(answer))
    said = normalize_text(instruction)
    for match in references:
        value = resolve(match.group(0), responses)
        path = f"s{match.group(1)}{match.group(2)}"
        kind = fact_kind(value)
        step = int(match.group(1))
        own = arguments[step] if step < len(arguments) else {}
        if _echoes(value, own) and (
            _stated_number(float(value), instruction)
            if kind == "number"
            else _contains_words(said, normalize_text(str(value)))
        ):
            continue  # an input the instruction gave, echoed back by the response
        if kind == "number":
            value = float(value) if not isinstance(value, (int, float)) else value
        tolerance = 0.0
        if kind == "number" and not float(value).is_integer():
            tolerance = DEFAULT_ABS_TOL
        facts.append(
            Fact(
                kind,
                value,
                match.group(0),
                abs_tol=tolerance,
                alternatives=tuple(
                    item for item in _alternatives(path, responses) if item != value
                ),
                label=_label(path),
            )
        )
    return tuple(facts)


def _echoes(value: Any, arguments: Mapping[str, Any]) -> bool:
    """Whether ``value`` is one of the (top-level) argument values of its own call."""
    wanted = normalize_text(str(value))
    for item in arguments.values():
        if isinstance(item, (bool, dict, list)):
            continue
        if isinstance(item, (int, float)) and isinstance(value, (int, float)):
            if math.isclose(float(item), float(value), abs_tol=1e-9):
                return True
        elif normalize_text(str(item)) == wanted:
            return True
    return False


def _contains_words(text: str, part: str) -> bool:
    """``part`` stands in ``text`` as whole words ("valid" is not in "validate")."""
    if part not in text:  # the common case, without a regular expression
        return False
    return re.search(r"(?<!\w)" + re.escape(part) + r"(?!\w)", text) is not None


def _stated_number(value: float, text: str) -> bool:
    return any(math.isclose(value, number, abs_tol=1e-9) for number in extract_numbers(text))


# -- reading answers ------------------------------------------------------------------------

_QUOTES = "\"'`“”‘’«»"
_NOT_WORD = re.compile(r"[\W_]+")
_YES = {"yes", "true", "valid", "correct", "y"}
_NO = {"no", "false", "invalid", "incorrect", "n", "not"}


def normalize_text(value: Any) -> str:
    """Case folded, spacing collapsed, quotes dropped: how text facts are compared."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = text.translate({ord(quote): " " for quote in _QUOTES})
    return " ".join(text.split()).casefold()


def answer_text(answer: Any) -> str:
    """A model's answer as one text (JSON objects and lists are flattened to their values)."""
    if isinstance(answer, str):
        stripped = answer.strip()
        if stripped[:1] in "[{":
            try:
                return answer_text(json.loads(stripped))
            except ValueError:
                return answer
        return answer
    if isinstance(answer, Mapping):
        return " ; ".join(f"{key}: {answer_text(item)}" for key, item in answer.items())
    if isinstance(answer, (list, tuple)):
        return " ; ".join(answer_text(item) for item in answer)
    if answer is None:
        return ""
    return json.dumps(answer) if isinstance(answer, bool) else str(answer)


def extract_numbers(text: str) -> list[float]:
    """Every number written in ``text``: signs, thousands separators, currency signs,
    decimals, ``%`` and units (``9 lines``, ``10min``) handled. Digits inside ids
    (``BK-12A``, ``AF891``) are not numbers of their own; a date gives its year only.

    >>> extract_numbers("paid $1,234.50 (-3.63%), 2 replacements, 62 words; AF891")
    [1234.5, -3.63, 2.0, 62.0]
    """
    numbers: list[float] = []
    for token in _NUMBER_TOKEN.finditer(text):
        start, end = token.span()
        raw = token.group(0).rstrip(",")
        end = start + len(raw)
        before = text[start - 1] if start else " "
        if before.isalnum() or before in "_.":
            continue
        after = re.match(r"[A-Za-z]+", text[end:])
        if after and after.group(0).casefold() not in _UNITS:
            continue
        negative = raw[0] in "-−"
        body = re.sub(r"[^\d.,]", "", raw)
        if "," in body and not _THOUSANDS.fullmatch(body):
            numbers.extend(float(piece) for piece in body.split(",") if _plain(piece))
            continue
        body = body.replace(",", "")
        if not _plain(body):
            continue
        number = float(body)
        numbers.append(-number if negative else number)
    return numbers


_NUMBER_TOKEN = re.compile(r"[-−+]?[$€£¥]?\d[\d,]*(?:\.\d+)?|[-−+]?\.\d+")
_THOUSANDS = re.compile(r"\d{1,3}(,\d{3})+(\.\d+)?")


def _plain(text: str) -> bool:
    return bool(re.fullmatch(r"\d+(\.\d+)?|\.\d+", text))


_UNITS = {
    "min",
    "mins",
    "minutes",
    "h",
    "hrs",
    "s",
    "ms",
    "kb",
    "mb",
    "gb",
    "b",
    "bytes",
    "km",
    "m",
    "cm",
    "mm",
    "kg",
    "g",
    "lb",
    "usd",
    "eur",
    "x",
    "k",
    "kwh",
    "wh",
    "c",
    "f",
    "st",
    "nd",
    "rd",
    "th",
}


@dataclass(frozen=True)
class FactCheck:
    """How one fact fared: ``ok``, and why not."""

    fact: Fact
    ok: bool
    reason: str = ""


@dataclass(frozen=True)
class AnswerGrade:
    """The verdict on an answer's facts."""

    correct: bool
    checks: tuple[FactCheck, ...] = ()
    reasons: tuple[str, ...] = field(default_factory=tuple)


def answer_length_limit(facts: Sequence[Fact]) -> int:
    """The longest answer read: 400 characters, plus each fact's own length and 80 more."""
    return 400 + sum(80 + len(normalize_text(fact.value)) for fact in facts)


def context_values(
    responses: Sequence[Mapping[str, Any] | None], instruction: str = ""
) -> list[Any]:
    """The values a task's responses hold that could be pasted into an answer: every leaf
    that the instruction does not state, leaving out small whole numbers, booleans and
    strings shorter than 3 characters (too common to say anything)."""
    said = normalize_text(instruction)
    said_numbers = extract_numbers(instruction)
    found: dict[str, Any] = {}

    def visit(value: Any) -> None:
        if isinstance(value, Mapping):
            for item in value.values():
                visit(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                visit(item)
        elif isinstance(value, bool) or value is None:
            return
        elif isinstance(value, (int, float)):
            small = float(value).is_integer() and abs(value) <= 10
            if not small and math.isfinite(value) and float(value) not in said_numbers:
                found.setdefault(repr(float(value)), value)
        else:
            text = normalize_text(str(value))
            if len(text) >= 3 and not _contains_words(said, text) and len(text) <= 200:
                found.setdefault(text, value)

    for response in responses:
        if response is not None:
            visit(response)
    return list(found.values())


def grade_answer(
    answer: Any,
    facts: Sequence[Fact],
    context: Sequence[Any] = (),
    responses: Sequence[Mapping[str, Any] | None] = (),
) -> AnswerGrade:
    """Grade a free-text (or JSON) answer against ``facts`` (see the module docstring).

    Args:
        answer: The model's answer.
        facts: What it must state.
        context: Other values the task's responses held (:func:`context_values`): an answer
            that restates more than ``max(2, len(facts))`` of them besides the facts, and
            at least half of them, is a copy of the responses, not an answer, and fails.
            Naming a few of them for context (which customer, which job) is fine.
        responses: The task's responses: an answer that reproduces one of them as JSON
            (most of its fields, ``"key": value``) is a paste and fails, however few values
            it holds.
    """
    text = answer_text(answer)
    limit = answer_length_limit(facts)
    if len(text) > limit:
        reason = (
            f"the answer is {len(text)} characters long (at most {limit} are read): state "
            "only the facts the task asks for"
        )
        return AnswerGrade(False, (), (reason,))
    normalized = normalize_text(text)
    numbers = extract_numbers(text)
    tokens = set(re.findall(r"[\w.#:/-]+", normalized)) | set(re.findall(r"\w+", normalized))
    # A number another fact of the task asks for is that fact's, not a rival candidate.
    asked = [float(f.value) for f in facts if f.kind == "number" and _is_number(f.value)]
    checks = tuple(_check(fact, normalized, numbers, tokens, asked) for fact in facts)
    reasons = [check.reason for check in checks if not check.ok]
    pasted = [response for response in responses if _reproduces(text, response)]
    if pasted:
        reasons.append(
            f"the answer pastes {len(pasted)} whole response(s) as JSON: state the facts the "
            "task asks for, not a copy of the responses"
        )
    extra = _restated(context, facts, normalized, numbers, tokens)
    if len(extra) > max(2, len(facts)) and 2 * len(extra) >= len(context):
        shown = ", ".join(repr(value) for value in extra[:4])
        more = ", ..." if len(extra) > 4 else ""
        reasons.append(
            f"the answer restates {len(extra)} of the {len(context)} other values the "
            f"responses held ({shown}{more}): that is a copy of the responses, not an answer"
        )
    return AnswerGrade(not reasons, checks, tuple(reasons))


def _reproduces(text: str, response: Mapping[str, Any] | None) -> bool:
    """Whether ``text`` holds most of ``response``'s own fields written as JSON."""
    if not isinstance(response, Mapping):
        return False
    squeezed = re.sub(r"\s+", "", text)
    pairs = [
        re.sub(r"\s+", "", f"{json.dumps(str(key))}:{json.dumps(value, ensure_ascii=False)}")
        for key, value in response.items()
        if not isinstance(value, (Mapping, list, tuple))
    ]
    if len(pairs) < 3:
        return False
    return 4 * sum(pair in squeezed for pair in pairs) >= 3 * len(pairs)


def _restated(
    context: Sequence[Any],
    facts: Sequence[Fact],
    normalized: str,
    numbers: Sequence[float],
    tokens: set[str],
) -> list[Any]:
    """The context values an answer states, other than the facts' own values."""
    own = set()
    own_numbers: set[float] = set()
    for fact in facts:
        for value in fact.value if isinstance(fact.value, (list, tuple)) else [fact.value]:
            own.add(normalize_text(str(value)))
            if isinstance(value, (int, float)):
                own_numbers.add(float(value))
            else:
                own_numbers.update(extract_numbers(str(value)))
    own_text = " | ".join(sorted(own))
    stated = []
    for value in context:
        if isinstance(value, (int, float)):
            if float(value) in own_numbers:
                continue  # a number the facts state themselves (inside an address, say)
        elif normalize_text(value) in own or _contains_words(own_text, normalize_text(value)):
            continue  # part of a fact (a city inside an address, a word inside a text)
        kind = fact_kind(value)
        if kind == "list":
            continue
        if states(value, kind, normalized, numbers, tokens, DEFAULT_ABS_TOL * 0):
            stated.append(value)
    return stated


def states(
    value: Any,
    kind: str,
    normalized: str,
    numbers: Sequence[float],
    tokens: set[str],
    abs_tol: float = 0.0,
) -> bool:
    """Whether the normalized answer states ``value`` as a fact of ``kind``."""
    if kind == "number":
        gold = float(value)
        tolerance = max(abs_tol, 1e-9 * max(1.0, abs(gold)))
        return any(abs(number - gold) <= tolerance for number in numbers)
    if kind == "id":
        wanted = normalize_text(str(value))
        if wanted in tokens:
            return True
        return wanted in normalized and (
            re.search(r"(?<![\w-])" + re.escape(wanted) + r"(?![\w-])", normalized) is not None
        )
    if kind == "boolean":
        words = set(re.findall(r"[a-z]+", normalized))
        said, opposite = (_YES, _NO) if value else (_NO, _YES)
        return bool(words & said) and not words & opposite
    if kind == "list":
        items = value if isinstance(value, (list, tuple)) else [value]
        return all(
            states(item, fact_kind(item), normalized, numbers, tokens, abs_tol) for item in items
        )
    wanted = normalize_text(str(value)).strip(" .")
    if not wanted:
        return True
    if _contains_words(normalized, wanted):
        return True
    # Punctuation may differ ("Order #80587: Late Delivery" vs "Order 80587 - Late
    # Delivery") only for wordy texts: "10:20" must not match "1020" inside an id.
    letters = sum(char.isalpha() for char in wanted)
    return letters >= 4 and _NOT_WORD.sub("", wanted) in _NOT_WORD.sub("", normalized)


def _first_named(options: Sequence[Any], normalized: str) -> Any:
    """The option whose first whole-word mention comes first in ``normalized``."""
    positions = []
    for option in options:
        wanted = normalize_text(str(option)).strip(" .")
        found = (
            re.search(r"(?<!\w)" + re.escape(wanted) + r"(?!\w)", normalized) if wanted else None
        )
        if found:
            positions.append((found.start(), -len(wanted), option))
    return min(positions)[2] if positions else None


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return not isinstance(value, bool)


def _check(
    fact: Fact,
    normalized: str,
    numbers: Sequence[float],
    tokens: set[str],
    asked: Sequence[float] = (),
) -> FactCheck:
    name = fact.label or "value"
    if not states(fact.value, fact.kind, normalized, numbers, tokens, fact.abs_tol):
        return FactCheck(fact, False, f"the answer does not state the {name} ({fact.value!r})")
    if fact.kind == "choice":
        # A choice between named options ("whose post got more, A's or B's?") is answered by
        # the option named first: "B's (2952 vs 704 for A's)" is B, "A's or B's" is A.
        first = _first_named([fact.value, *fact.alternatives], normalized)
        tie = normalize_text(str(fact.value)) == "same"  # "A and B got the same" is fine
        if not tie and normalize_text(str(first)) != normalize_text(str(fact.value)):
            return FactCheck(
                fact,
                False,
                f"the answer names {first!r} first, not {fact.value!r}: the first option named "
                "is the answer",
            )
        return FactCheck(fact, True)
    if fact.kind == "number":
        # "63 or 26 seats" names a rival candidate from the same list: ambiguous, as for ids.
        for other in fact.alternatives:
            if not _is_number(other) or states(
                other, "number", normalized, (float(fact.value),), set(), fact.abs_tol
            ):
                continue  # equal to the value within its tolerance
            if any(abs(float(other) - value) <= 1e-9 * max(1.0, abs(value)) for value in asked):
                continue
            if states(other, "number", normalized, numbers, tokens):
                return FactCheck(
                    fact,
                    False,
                    f"the answer names both {fact.value!r} and {other!r} for the {name}: "
                    "it is ambiguous",
                )
    if fact.kind in ("id", "text"):
        for other in fact.alternatives:
            other_kind = "id" if fact.kind == "id" else "text"
            if normalize_text(str(other)) == normalize_text(str(fact.value)):
                continue
            if states(other, other_kind, normalized, numbers, tokens):
                return FactCheck(
                    fact,
                    False,
                    f"the answer names both {fact.value!r} and {other!r} for the {name}: "
                    "it is ambiguous",
                )
    return FactCheck(fact, True)
