"""The resolver: one place that decides what an agent's call is, and whether a task is done.

Numeric agents (the Gymnasium and multi-agent envs) name a gold step and the simulator fills
in its arguments, so what they call is never in doubt. Agents that write their calls (LLMs
through the chat interface, a person through ``asynctool play``) need a judge, and this is
it: every interface that takes written calls goes through :class:`CallResolver`. The rules
are written for people in ``docs/grading.md``; this docstring is their precise form.

What the agent knows (provenance)
---------------------------------
:class:`Knowledge` holds every value the agent has been *told*: the instruction, the tool
schemas, and the responses delivered to it (read, in ``pull`` mode). Two things teach
nothing:

* **Echoes.** What a response repeats of its own call's arguments (in any case or spacing,
  inside any text: ``change_text_case`` upper-casing its input, the ``where_value`` a query
  reports back, the ``namespace`` of generated ids) is masked before the response is learnt.
  A value an agent passed through a tool is exactly as known as it was before.
* **Refused calls.** A violation's response is an error that reveals no value.

A call that **uses a value the agent was not told** is a *guess*, and a dependency
violation: an id-like token (letters and digits, an email, a long code or date) that no
delivered text holds, a value that only the episode's responses hold (a name, a title, an
amount from a response) used before any response delivered it, or a value a gold step takes
from a response used before it arrived: an id or a precise amount before a response (or the
instruction, not a tool schema) gave it; a guessable value (a small count, a word) or one the
task picks out of a list (the cheapest flight, the largest file) before the very step it comes
from delivered its response. A guessed call is not run: it changes nothing, and its response
is an error that teaches nothing (it never quotes a hidden value).

What a call is
--------------
A written call (tool name and schema-validated arguments) is resolved against the gold
steps of every task:

1. **Match.** The call *serves* a gold step of the same tool when its canonical arguments
   equal the step's (:mod:`asynctool_env.core.canonical`), or, for a **read** whose step's
   inputs have arrived and that uses every value the step takes from a response, when the
   backend answers it with the step's gold response (fields that only echo an argument
   aside) or with a response that holds everything the task uses of the gold response
   (``get_user_posts(limit=1)`` for the newest post). A check run on other input (validating
   ``"hello"`` or one record of the document) does not do the step's work.
2. **Violation.** The call is a guess (above), or it comes before a write the task orders
   first (``"Then ..."``). It is not run.
3. Among several steps a call serves, the most useful wins: an open task's step not called
   yet (correct), then one that would be early (violation), then one already pending or done
   (redundant); at each of these, a step the call equals before one it only informs; lowest
   task first.
4. A call that serves no step is *unmatched*.

Every call that is not a violation runs on the episode's world of its scenario when it is
made (:mod:`asynctool_env.core.state`): it takes effect then, and the agent gets the
response the world gave. A redundant write is a second write (a second booking, message or
version), and an unmatched write changes whatever it changes.

When a task is right
--------------------
The gold of an episode is its gold calls played in gold order on fresh worlds
(:func:`~asynctool_env.core.effects.play_gold`): its responses, and per task the objects its
gold writes touch with their gold final values. :meth:`CallResolver.judge_answer` grades by
outcome and by information (BFCL's and tau2's lesson: check the state and the facts, not the
spelling):

* **writes by final state**: on every object the task's gold writes touch, the world equals
  the gold final state (missing, extra, duplicated, reordered and undone writes all show
  there), and the write that left each object so had been confirmed to the agent (its
  response delivered, and read in ``pull`` mode) when it answered (otherwise the answer is
  *premature*);
* **no collateral**: no change that no gold call makes (a new object, a touched object no
  task's gold touches) was made by a call of this task: a redundant or correct call of one
  of its steps, or an unmatched write whose arguments or objects clearly belong to it;
* the answer states every required fact (:mod:`asynctool_env.core.facts`), each read from
  a response that had reached the agent when it answered: the step the fact is read from
  was served and its response delivered (a value stated before it arrived was guessed, not
  learnt, however guessable: "invalid", a small count, a value another task's instruction
  happens to state); an answer computed from responses (the warmer of two cities) needs
  every gold step of the task delivered;
* a task that asks for no fact and makes no write (rare) needs all its gold steps done.

Writes are judged **again when the episode ends** (:meth:`CallResolver.finish`): a write
made after a task was answered that undoes, repeats or spoils its work revokes the task's
credit (the env's last reward pays it back), and it is never charged to another task. A
change no task can be told to own (no task's arguments, tool or objects relate to it) is
charged to no task; it makes the instance fail (``collateral_writes`` in the metrics).

Reads are means to information: a read is required exactly when its information is needed.
Step precision, recall and F1 keep the paper's meaning (calls matched to gold steps) as
diagnostics; they do not decide success.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from asynctool_env.core.canonical import canonical_key
from asynctool_env.core.effects import GoldPlay, WorldFactory, WorldKey, play_gold, world_key
from asynctool_env.core.facts import (
    Fact,
    context_values,
    extract_numbers,
    grade_answer,
    normalize_text,
)
from asynctool_env.core.references import (
    _REFERENCE,
    leaves,
    referenced_steps,
    resolved_references,
)
from asynctool_env.core.simulator import (
    CallEvent,
    CallKind,
    DeliveryEvent,
    PendingCall,
    Simulator,
    StepStatus,
    TaskStatus,
)
from asynctool_env.core.state import (
    ABSENT,
    CREATED,
    Effects,
    Key,
    WorldState,
    describe_key,
    difference,
    same_value,
)
from asynctool_env.core.task import Task
from asynctool_env.core.tools import Tool, ToolError

#: Version of the grading rules; result files carry it (results of other versions are not
#: comparable). 3: stateful worlds, writes judged by the final state, provenance (echoes,
#: guesses), strict answers.
GRADER_VERSION = "3"

World = Any


def same_response(
    response: Mapping[str, Any],
    arguments: Mapping[str, Any],
    gold_response: Mapping[str, Any],
    gold_arguments: Mapping[str, Any],
) -> bool:
    """Whether two responses say the same, ignoring top-level fields that only echo one of
    the calls' own string arguments (``{"query": "Meeting Notes"}`` vs ``"meeting notes"``).
    """
    if "error" in response or "error" in gold_response:
        return False
    echoes = {
        normalize_text(value)
        for value in [*arguments.values(), *gold_arguments.values()]
        if isinstance(value, str)
    }

    def kept(data: Mapping[str, Any]) -> dict[str, Any]:
        return {
            key: value
            for key, value in data.items()
            if not (isinstance(value, str) and normalize_text(value) in echoes)
        }

    return kept(response) == kept(gold_response)


# -- provenance --------------------------------------------------------------------------------

_WORD = re.compile(r"[^\W_]+")
#: Masks an echoed word inside a learnt text (never matches a value a model writes).
_MASK = "\x00"


def _words(text: str) -> set[str]:
    """The words (runs of letters and digits) of a normalized text."""
    return set(_WORD.findall(text))


def _numbers_in(value: Any) -> set[float]:
    numbers: set[float] = set()
    for leaf in leaves(value):
        if isinstance(leaf, bool) or leaf is None:
            continue
        if isinstance(leaf, (int, float)):
            if math.isfinite(leaf):
                numbers.add(round(float(leaf), 9))
        elif isinstance(leaf, str):
            numbers.update(round(number, 9) for number in extract_numbers(leaf))
    return numbers


@dataclass(frozen=True)
class Echo:
    """What a call's arguments already said: their texts, the words (two characters or
    more) of those texts and their numbers. A response learns nothing from them: a response
    text that is one of the texts, or part of one, teaches nothing; in a longer text the
    echoed words are not learnt on their own; an echoed number is not learnt."""

    texts: tuple[str, ...]
    words: frozenset[str]
    numbers: frozenset[float]

    @classmethod
    def of(cls, arguments: Mapping[str, Any]) -> Echo:
        texts = [normalize_text(leaf) for leaf in leaves(arguments) if isinstance(leaf, str)]
        words: set[str] = set()
        for text in texts:
            words |= {word for word in _words(text) if len(word) >= 2}
        return cls(
            tuple(t for t in texts if t), frozenset(words), frozenset(_numbers_in(arguments))
        )

    def repeats(self, text: str) -> bool:
        """Whether the normalized ``text`` is one of the argument texts, or part of one."""
        return any(text in argument for argument in self.texts)

    def mask(self, text: str) -> str:
        """``text`` (normalized) with every echoed word blanked out."""
        if not self.words:
            return text
        return _WORD.sub(
            lambda match: (
                _MASK * len(match.group(0)) if match.group(0) in self.words else match.group(0)
            ),
            text,
        )


_MOMENT = re.compile(
    r"(?<![\w-])(\d{4})-?(\d{2})-?(\d{2})(?:[ t](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?z?)?(?![\w:])"
)


def _moments(text: str) -> list[tuple[tuple[int, int], str]]:
    """The dates and date-times written in a normalized text, each with its canonical form
    (``2025-06-20``, ``2025-06-20t14:00:00``): ``2025-06-20 14:00`` and ``2025-06-20T14:00``
    are the same moment, as the tools' ``date``/``datetime`` arguments read them."""
    found = []
    for match in _MOMENT.finditer(text):
        year, month, day, hour, minute, second = match.groups()
        canonical = f"{year}-{month}-{day}"
        if hour is not None:
            canonical += f"t{hour}:{minute}:{second or '00'}"
        found.append((match.span(), canonical))
    return found


def _identifying_tokens(text: str) -> list[str]:
    """The parts of a normalized text that name something only the world knows: tokens
    with letters and digits (ids, codes: ``cus-07a4f2``, ``af891``), emails, and long runs of
    digits (account numbers, dates, phone numbers). Words, short numbers and times are free
    to write."""
    found = []
    for raw in text.split():
        token = raw.strip(".,;:!?()[]{}<>\"'")
        alnum = [char for char in token if char.isalnum()]
        digits = sum(char.isdigit() for char in alnum)
        letters = len(alnum) - digits
        if (
            ("@" in token and len(token) >= 5)
            or (digits and letters and len(alnum) >= 4)
            or (digits >= 5 and not letters)
        ):
            found.append(token)
    return found


class Knowledge:
    """Every value the agent has been told: instructions, tool schemas, delivered responses
    (see *What the agent knows* in the module docstring).

    ``knows(value)`` is what "the agent had this information" means: a string is known when
    it stands in something delivered (case and spacing ignored; short strings must be a whole
    delivered value, longer ones may sit inside a delivered text, but not inside an echo), a
    number when it was delivered as a number or written in a delivered text.
    """

    def __init__(self, texts: Iterable[str] = ()) -> None:
        self._values: set[str] = set()
        self._numbers: set[float] = set()
        self._blob: list[str] = []
        # Learnt texts unmasked, with the words their echo masked: a part of one is known
        # when it holds a word that was not an echo (a substring of a received translation).
        self._texts: list[tuple[str, frozenset[str]]] = []
        # Runs of letters and digits holding a digit, from learnt texts less echoes: a token
        # built only of them (stripped XML, an id joined to a word) is known.
        self._runs: set[str] = set()
        for text in texts:
            self.add(text)

    def add(self, value: Any, echo: Echo | None = None) -> None:
        """Learn ``value`` (any JSON value; containers item by item), less what ``echo`` (the
        arguments of the call that answered it) already said."""
        if isinstance(value, Mapping):
            for key, item in value.items():
                self.add(str(key), echo)
                self.add(item, echo)
        elif isinstance(value, (list, tuple)):
            for item in value:
                self.add(item, echo)
        elif isinstance(value, bool) or value is None:
            return
        elif isinstance(value, (int, float)):
            if math.isfinite(value):
                number = round(float(value), 9)
                if echo is None or number not in echo.numbers:
                    self._numbers.add(number)
        else:
            text = normalize_text(str(value))
            if echo is not None and echo.repeats(text):
                return  # the call's own input, given back: nothing new
            masked = echo.mask(text) if echo is not None else text
            # The whole value is learnt (its echoed parts were the caller's own already), but
            # its echoed words are not learnt on their own.
            self._values.add(text)
            self._values.update(canonical for _, canonical in _moments(masked))
            self._blob.append(masked)
            self._texts.append((text, echo.words if echo is not None else frozenset()))
            self._runs.update(run for run in _WORD.findall(masked) if _has_digit(run))
            for number in extract_numbers(masked):  # read as answers are (facts.py)
                number = round(number, 9)
                if echo is None or number not in echo.numbers:
                    self._numbers.add(number)

    def knows(self, value: Any) -> bool:
        if isinstance(value, Mapping):
            return all(self.knows(item) for item in value.values())
        if isinstance(value, (list, tuple)):
            return all(self.knows(item) for item in value)
        if isinstance(value, bool) or value is None:
            return True
        if isinstance(value, (int, float)):
            return round(float(value), 9) in self._numbers
        text = normalize_text(str(value))
        if not text or text in self._values:
            return True
        if re.fullmatch(r"-?\d+(\.\d+)?", text):
            return round(float(text), 9) in self._numbers
        if len(text) < 4:
            return False
        if any(text in blob for blob in self._blob):
            return True
        words = _words(text)
        return any(
            text in full and any(word not in echoed for word in words)
            for full, echoed in self._texts
        )

    def _known_token(self, token: str) -> bool:
        """An id-like token is known whole, or when every run of letters and digits in it
        that holds a digit was learnt (``<sku>wh-1085</sku>`` of a received document)."""
        if self.knows(token):
            return True
        runs = [run for run in _WORD.findall(token) if _has_digit(run)]
        return bool(runs) and all(run in self._runs for run in runs)

    def unknown(self, value: Any, secrets: Secrets | None = None) -> list[str]:
        """The parts of an argument value the agent was not told (empty when it may use it):
        unknown id-like tokens, and values only the episode's responses hold (``secrets``)
        that no delivered response gave yet."""
        found: list[str] = []
        for leaf in leaves(value):
            if isinstance(leaf, bool) or leaf is None:
                continue
            if isinstance(leaf, (int, float)):
                if secrets is not None and secrets.holds_number(leaf) and not self.knows(leaf):
                    found.append(_shown_number(leaf))
                continue
            text = normalize_text(str(leaf))
            if self.knows(text):
                continue
            for (start, end), canonical in reversed(_moments(text)):
                if canonical in self._values:  # a date the agent was told, in any ISO form
                    text = text[:start] + " " + text[end:]
            tokens = [token for token in _identifying_tokens(text) if not self._known_token(token)]
            found += tokens
            if secrets is None:
                continue
            if not tokens and any(not self.knows(part) for part in secrets.texts_in(text)):
                # never quote the secret it matched: a near guess must not be answered with
                # the hidden value
                found.append("a name or text that only a response can give")
            found += [
                _shown_number(number)
                for number in extract_numbers(text)
                if secrets.holds_number(number) and not self.knows(number)
            ]
        return list(dict.fromkeys(found))


def _has_digit(text: str) -> bool:
    return any(char.isdigit() for char in text)


def _shown_number(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


class Secrets:
    """Values that only the episode's responses hold (not the instruction, not the tool
    schemas): names, titles, texts, emails, ids, precise amounts. Using one before any
    response delivered it is a guess, even when it is not shaped like an id."""

    def __init__(
        self, answered: Iterable[tuple[Mapping[str, Any], Mapping[str, Any]]], told: Knowledge
    ) -> None:
        """``answered``: (response, the arguments of the call that got it) pairs; what a
        response only echoes of its arguments is no secret."""
        texts: set[str] = set()
        numbers: set[float] = set()
        for response, arguments in answered:
            echo = Echo.of(arguments)
            for leaf in leaves(response):
                if isinstance(leaf, bool) or leaf is None:
                    continue
                if isinstance(leaf, (int, float)):
                    number = round(float(leaf), 9) if math.isfinite(leaf) else None
                    if (
                        number is not None
                        and _telling_number(leaf)
                        and number not in echo.numbers
                        and not told.knows(leaf)
                    ):
                        numbers.add(number)
                    continue
                text = normalize_text(str(leaf))
                if _telling_text(text) and not echo.repeats(text) and not told.knows(text):
                    texts.add(text)
        self._texts = sorted(texts, key=len, reverse=True)
        self._squeezed = [(secret, _squeeze(secret)) for secret in self._texts]
        self._numbers = numbers

    def holds_number(self, number: float) -> bool:
        return math.isfinite(number) and round(float(number), 9) in self._numbers

    def texts_in(self, text: str) -> list[str]:
        """The secret texts that stand in ``text``: as whole words, or with only its letters
        and digits kept (a remembered headline re-cased, re-spaced or re-punctuated,
        ``"ember CAST iron ... 266 30"`` for ``"Ember Cast Iron ... $266.30"``)."""
        squeezed = _squeeze(text)
        return [
            secret
            for secret, letters in self._squeezed
            if (
                secret in text
                and re.search(r"(?<!\w)" + re.escape(secret) + r"(?!\w)", text) is not None
            )
            or (len(letters) >= 10 and letters in squeezed)
        ]


def _squeeze(text: str) -> str:
    """Only the letters and digits of a text, case folded."""
    return "".join(_WORD.findall(text.casefold()))


def _telling(value: Any) -> bool:
    """A value precise enough that holding it means it was learnt, not guessed: an id, a
    long text, a precise or large number."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _telling_number(value)
    text = normalize_text(str(value))
    return bool(_identifying_tokens(text)) or len(text) >= 12


def _telling_number(value: float) -> bool:
    """A number precise enough to be learnt, not chosen: not a small whole number."""
    return math.isfinite(value) and (not float(value).is_integer() or abs(value) >= 100)


def _telling_text(text: str) -> bool:
    """A response text that names something (a name, a title, an email, an id), not a
    common word (a status, an enum value)."""
    if len(text) < 5 or len(text) > 400:
        return False
    return bool(_identifying_tokens(text)) or " " in text.strip()


@dataclass(frozen=True)
class Resolution:
    """What a written call is (see the module docstring).

    Attributes:
        kind: Correct, violation, redundant or unmatched.
        task: The task of the step it serves (-1 when it serves none).
        step: The step it serves (-1 when it serves none).
        response: What the agent receives when the call is delivered.
        missing: For a violation: why (the values used before they arrived).
        effects: What the call read and wrote when it ran (``None``: it did not run).
        world: The world it ran on.
        owners: The tasks a change it made that no gold call makes is charged to.
    """

    kind: CallKind
    task: int
    step: int
    response: Mapping[str, Any]
    missing: tuple[str, ...] = ()
    effects: Effects | None = None
    world: WorldKey | None = None
    owners: tuple[int, ...] = ()


@dataclass(frozen=True)
class Verdict:
    """The judgement of one task's answer."""

    correct: bool
    premature: bool
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class _GoldStep:
    task: int
    step: int
    key: str  # canonical arguments
    needed: tuple[tuple[int, Any, bool], ...]  # (parent, value, picked from a list)
    order_parents: tuple[int, ...]  # explicit "after" parents (no value flows)
    provides: tuple[Any, ...]  # what the task uses of this step's response (later steps, facts)


@dataclass(frozen=True)
class _Write:
    """A call that changed the world."""

    call_id: int
    world: WorldKey
    keys: tuple[Key, ...]
    owners: tuple[int, ...]
    label: str


@dataclass(frozen=True)
class Prepared:
    """What a :class:`CallResolver` derives from an instance alone: the gold played on
    fresh worlds, the secrets, the objects each world's gold writes touch, and the gold
    steps by tool (the same for every episode of the instance: a chat env keeps it)."""

    gold: GoldPlay | None
    secrets: Secrets
    gold_keys: Mapping[WorldKey, set[Key]]
    steps: Mapping[str, list[_GoldStep]]

    @classmethod
    def of(
        cls,
        tasks: Sequence[Task],
        tools: Mapping[str, Tool],
        make_world: WorldFactory | None,
        told: Knowledge,
    ) -> Prepared:
        """Prepare ``tasks`` (an instance's); ``told`` is what the agent knows up front."""
        gold = play_gold(tasks, tools, make_world) if make_world is not None else None
        answered = [
            (step.expected_response, step.expected_arguments)
            for task in tasks
            for step in task.steps
        ]
        if gold is not None:
            answered += [
                (response, step.expected_arguments)
                for task, responses in zip(tasks, gold.responses, strict=True)
                for step, response in zip(task.steps, responses, strict=True)
            ]
        gold_keys: dict[WorldKey, set[Key]] = {}
        if gold is not None:
            for index, task in enumerate(tasks):
                gold_keys.setdefault(world_key(task), set()).update(gold.written[index])
        steps: dict[str, list[_GoldStep]] = {}
        for task_index, task in enumerate(tasks):
            responses_of_task = [step.expected_response for step in task.steps]
            used = _used_values(task)
            for step_index, step in enumerate(task.steps):
                tool = tools.get(step.tool)
                canonical = (
                    tool.canonical_arguments(step.expected_arguments)
                    if tool is not None
                    else dict(step.expected_arguments)
                )
                value_parents = referenced_steps(step.arguments)
                steps.setdefault(step.tool, []).append(
                    _GoldStep(
                        task_index,
                        step_index,
                        canonical_key(canonical),
                        tuple(_needed_values(step.arguments, responses_of_task)),
                        tuple(p for p in step.depends_on if p not in value_parents),
                        tuple(used[step_index]),
                    )
                )
        return cls(gold, Secrets(answered, told), gold_keys, steps)


class CallResolver:
    """Resolves written calls and judges answers for one episode of ``simulator``.

    Args:
        simulator: The episode (its instance, step states and trace).
        tools: Tool name -> :class:`~asynctool_env.core.tools.Tool` (the scenario tools
            offered to the agent).
        world_of: Task index -> the episode's world its backends run on (one per scenario
            and world seed; calls change it).
        texts: What the agent was told up front (the prompt, the tool schemas): values in
            them are known from the start.
        make_world: Builds a fresh world of a scenario and seed, to play the gold on
            (:func:`~asynctool_env.core.effects.play_gold`). Without it, writes are judged
            by the gold steps' states instead of the final state (hand-made test worlds).
        hold_deliveries: The agent reads responses itself (a chat env's ``pull`` mode): a
            delivered response is *held* until :meth:`read` hands it over, and only then
            are its values known and its call counted as confirmed.
        prepared: What the resolver derives from the instance alone
            (:meth:`Prepared.of`), when the caller keeps it between episodes of one
            instance (it is the same for every episode with the same ``texts``).
    """

    def __init__(
        self,
        simulator: Simulator,
        tools: Mapping[str, Tool],
        world_of: Callable[[int], World],
        texts: Iterable[str] = (),
        *,
        make_world: WorldFactory | None = None,
        hold_deliveries: bool = False,
        prepared: Prepared | None = None,
    ) -> None:
        self.simulator = simulator
        self.hold_deliveries = hold_deliveries
        self._held: list[DeliveryEvent] = []
        self._unread_steps: set[tuple[int, int]] = set()
        self.tools = tools
        self.world_of = world_of
        self.knowledge = Knowledge(texts)
        #: What the tasks' instructions and the responses told the agent (not the tool
        #: schemas, whose examples and lists name values no task has given yet).
        self.learnt = Knowledge(task.instruction for task in simulator.tasks)
        for task in simulator.tasks:
            self.knowledge.add(task.instruction)
        self._trace_seen = 0
        self._violation_calls: set[int] = set()
        self._arguments: dict[int, Mapping[str, Any]] = {}
        self._confirmed: set[int] = set()  # calls whose response reached the agent
        self._writes: list[_Write] = []
        self._finished = False
        if prepared is None:
            prepared = Prepared.of(simulator.tasks, tools, make_world, self.knowledge)
        #: The gold played on fresh worlds (``None`` without ``make_world``).
        self.gold = prepared.gold
        self.secrets = prepared.secrets
        self._gold_keys = prepared.gold_keys
        self._gold = prepared.steps

    # -- information ---------------------------------------------------------------------

    def sync(self) -> None:
        """Learn the responses delivered since the last call (violations' errors aside:
        they are the env's refusals, not information)."""
        trace = self.simulator.trace
        for event in trace[self._trace_seen :]:
            if isinstance(event, CallEvent):
                self._arguments[event.call_id] = event.arguments
                if event.kind is CallKind.VIOLATION:
                    self._violation_calls.add(event.call_id)
            elif isinstance(event, DeliveryEvent):
                if self.hold_deliveries:
                    self._held.append(event)
                    self._unread_steps.add((event.task, event.step))
                else:
                    self._learn(event)
        self._trace_seen = len(trace)

    def _learn(self, event: DeliveryEvent) -> None:
        self._confirmed.add(event.call_id)
        if event.call_id not in self._violation_calls:
            echo = Echo.of(self._arguments.get(event.call_id, {}))
            self.knowledge.add(event.response, echo)
            self.learnt.add(event.response, echo)

    def read(self) -> list[DeliveryEvent]:
        """Hand over the held deliveries (``hold_deliveries``), oldest first, and learn them.
        Without ``hold_deliveries`` there is never anything held: deliveries are known as
        they arrive."""
        self.sync()
        events, self._held = self._held, []
        for event in events:
            self._unread_steps.discard((event.task, event.step))
            self._learn(event)
        return events

    @property
    def unread(self) -> int:
        """Deliveries held for the agent to read (``hold_deliveries``; otherwise 0)."""
        self.sync()
        return len(self._held)

    def _arrived(self, task: int) -> list[bool]:
        """Per step of ``task``: its response was delivered, and read if deliveries are held."""
        unread = self._unread_steps
        return [
            status == StepStatus.DONE and (task, step) not in unread
            for step, status in enumerate(self.simulator.step_status[task])
        ]

    # -- calls ---------------------------------------------------------------------------

    def run_backend(self, tool: Tool, arguments: Mapping[str, Any], task: int) -> dict[str, Any]:
        """The tool's answer on ``task``'s world (errors as ``{"error": ...}``, never raises).
        For reads only: a write is run once, by :meth:`resolve`, when it is made."""
        response, _ = self._run(tool, arguments, task)
        return response

    def _run(
        self, tool: Tool, arguments: Mapping[str, Any], task: int
    ) -> tuple[dict[str, Any], Effects]:
        try:
            return tool.run(self.world_of(task), arguments)
        except ToolError as error:
            return {"error": str(error)}, Effects()
        except Exception as error:  # a backend bug must not end the episode
            return {"error": f"the tool failed: {type(error).__name__}"}, Effects()

    def resolve(self, name: str, arguments: Mapping[str, Any]) -> Resolution:
        """What the call ``name(**arguments)`` is (arguments already validated); unless it
        is a violation, it runs on the world now (it takes effect)."""
        self.sync()
        simulator = self.simulator
        tool = self.tools[name]
        key = canonical_key(tool.canonical_arguments(arguments))
        worlds_tasks = [
            index for index, task in enumerate(simulator.tasks) if task.scenario == tool.scenario
        ]
        reads: dict[int, dict[str, Any]] = {}

        def read_on(task_index: int) -> dict[str, Any]:
            if task_index not in reads:
                reads[task_index] = self.run_backend(tool, arguments, task_index)
            return reads[task_index]

        guessed = tuple(self.knowledge.unknown(arguments, self.secrets))
        best: tuple[int, _GoldStep, tuple[str, ...]] | None = None
        call_values = leaves(arguments)
        for gold in self._gold.get(name, ()):
            step = simulator.tasks[gold.task].steps[gold.step]
            status = simulator.step_status[gold.task][gold.step]
            # A read with other arguments serves a step by its answer only once the step's
            # inputs have arrived: made-up input that happens to get the gold's answer (a
            # document invented to fail a validation) does not do the step's work.
            serves = gold.key == key or (
                not tool.writes
                and not guessed
                and status in (StepStatus.READY, StepStatus.PENDING, StepStatus.DONE)
                # it does the step's work only on the step's input: every value the step
                # takes from a response is in it (not a made-up or partial document that
                # happens to get the gold's answer)
                and all(_uses(call_values, value) for _, value, _ in gold.needed)
                and _informs(read_on(gold.task), arguments, step, gold.provides)
            )
            if not serves:
                continue
            missing: tuple[str, ...] = ()
            if simulator.task_status[gold.task] != TaskStatus.OPEN:
                rank = 4
            elif status in (StepStatus.PENDING, StepStatus.DONE):
                rank = 3
            else:
                missing = self._missing(gold, call_values)
                rank = 1 if missing else 0
            # The call's own step (equal canonical arguments) before a step it only informs
            # (two validations that both answer "valid"), at the same rank.
            rank = 2 * rank + (gold.key != key)
            if best is None or rank < best[0]:
                best = (rank, gold, missing)
            if rank == 0:
                break
        if guessed:
            reason = (
                "it uses "
                + ", ".join(part if " " in part else repr(part) for part in guessed[:3])
                + (" ..." if len(guessed) > 3 else "")
                + ", which no response has given you and the task does not state"
            )
            task, step = (best[1].task, best[1].step) if best is not None else (-1, -1)
            return self._violation(name, task, step, (reason,))
        if best is not None and best[0] // 2 == 1:
            return self._violation(name, best[1].task, best[1].step, best[2])
        if best is not None:
            rank, gold, _ = best
            response, effects = self._run(tool, arguments, gold.task)
            kind = CallKind.CORRECT if rank // 2 == 0 else CallKind.REDUNDANT
            world = world_key(simulator.tasks[gold.task])
            return Resolution(
                kind, gold.task, gold.step, response, (), effects, world, (gold.task,)
            )
        if not worlds_tasks:
            return Resolution(
                CallKind.UNMATCHED, -1, -1, {"error": f"{name} is not available here"}
            )
        task_index = worlds_tasks[0]
        response, effects = self._run(tool, arguments, task_index)
        world = world_key(simulator.tasks[task_index])
        owners: tuple[int, ...] = ()
        if effects.writes:
            owners = self._owners(name, arguments, effects, world)
        return Resolution(CallKind.UNMATCHED, -1, -1, response, (), effects, world, owners)

    def _violation(self, name: str, task: int, step: int, missing: Sequence[str]) -> Resolution:
        message = (
            f"dependency violation: {name} was not made: "
            + "; ".join(missing)
            + ". Use only values the task states or a response gave you, and wait for the "
            "responses a call needs."
        )
        return Resolution(CallKind.VIOLATION, task, step, {"error": message}, tuple(missing))

    def issue(self, name: str, arguments: Mapping[str, Any]) -> tuple[PendingCall, Resolution]:
        """Resolve the call and make it in the simulator (the caller checks the call cap)."""
        resolution = self.resolve(name, arguments)
        pending = self.simulator.call_resolved(
            resolution.task,
            resolution.step,
            name,
            arguments,
            resolution.kind,
            resolution.response,
        )
        effects, world = resolution.effects, resolution.world
        if effects is not None and world is not None and effects.writes:
            self._writes.append(
                _Write(
                    pending.call_id,
                    world,
                    tuple(sorted(effects.writes)),
                    resolution.owners,
                    f"{name}({_short(arguments)})",
                )
            )
        return pending, resolution

    def _missing(self, gold: _GoldStep, call_values: Sequence[Any]) -> tuple[str, ...]:
        """Why the call would be early: values it uses that the agent was not given, and
        writes the task orders before it that are not done."""
        simulator = self.simulator
        reasons = []
        arrived = self._arrived(gold.task)
        for parent, value, picked in gold.needed:
            if not _uses(call_values, value):
                continue
            # A value that could be guessed (a small count, a word), or that the task picks
            # out of a list (the cheapest flight, the largest file: knowing the value is not
            # knowing it is the one), is learnt only from the response it comes from; an id
            # or a precise amount a response names directly, from any response.
            strict = picked or not _telling(value)
            if not (arrived[parent] if strict else self.learnt.knows(value)):
                reasons.append("a value it uses had not reached you in a response")
                break
        task = simulator.tasks[gold.task]
        for parent in gold.order_parents:
            if not arrived[parent]:
                reasons.append(
                    f"the task's {task.steps[parent].tool} call, which must come first, "
                    "had not been confirmed"
                )
        return tuple(reasons)

    def _owners(
        self, name: str, arguments: Mapping[str, Any], effects: Effects, world: WorldKey
    ) -> tuple[int, ...]:
        """The task an unmatched write clearly belongs to: the one of its world whose gold
        objects it touches, or whose gold calls share the most argument values with it (the
        same tool counting a little); none when no task stands out."""
        simulator = self.simulator
        candidates = [t for t, task in enumerate(simulator.tasks) if world_key(task) == world]
        values = {normalize_text(v) for v in leaves(arguments) if v not in (None, "")}
        score: dict[int, int] = {}
        for task_index in candidates:
            task = simulator.tasks[task_index]
            # its calls' arguments, and the ids and long texts its responses name (a message
            # to the contact the task looks up, a like of the post it lists)
            gold_values = {
                normalize_text(v) for step in task.steps for v in leaves(step.expected_arguments)
            } | {
                normalize_text(v)
                for step in task.steps
                for v in leaves(step.expected_response)
                if isinstance(v, str) and _weight(normalize_text(v)) > 1
            }
            same_tool = any(step.tool == name for step in task.steps)
            touches = self.gold is not None and bool(
                effects.writes & set(self.gold.written[task_index])
            )
            # An id or a long text says whose a write is; a shared "Business" or a 2 barely.
            shared = sum(_weight(value) for value in values & gold_values)
            score[task_index] = 8 * touches + shared + same_tool
        top = max(score.values(), default=0)
        leaders = [t for t in candidates if score[t] == top]
        return (leaders[0],) if top > 0 and len(leaders) == 1 else ()

    # -- writes, judged by the final state ---------------------------------------------------

    def _collateral(self) -> list[tuple[_Write, Key]]:
        """Every change no gold call makes: a written object that no task's gold writes
        touch, with the write that made it (each object once, by its last writer)."""
        last: dict[tuple[WorldKey, Key], _Write] = {}
        for write in self._writes:
            gold_keys = self._gold_keys.get(write.world, set())
            for key in write.keys:
                if key not in gold_keys:
                    last[(write.world, key)] = write
        return [(write, key) for (_, key), write in last.items()]

    def _write_reasons(self, task_index: int, *, confirmations: bool) -> tuple[list[str], bool]:
        """Why ``task_index``'s writes are not right now (empty when they are), and whether
        the answer would be premature (a write that left an object so was not confirmed)."""
        simulator = self.simulator
        task = simulator.tasks[task_index]
        world = self.world_of(task_index)
        state = getattr(world, "state", None)
        reasons: list[str] = []
        premature = False
        if self.gold is None or not isinstance(state, WorldState):
            # A hand-made world without state: every gold write made and confirmed.
            arrived = self._arrived(task_index)
            for index, step in enumerate(task.steps):
                tool = self.tools.get(step.tool)
                if tool is not None and tool.writes and not arrived[index]:
                    reasons.append(
                        f"{step.tool} was not made (or its confirmation had not arrived)"
                    )
                    premature = True
            return reasons, premature
        key_of_world = world_key(task)
        last_writer: dict[Key, int] = {}
        for write in self._writes:
            if write.world == key_of_world:
                for key in write.keys:
                    last_writer[key] = write.call_id
        for key in self.gold.written[task_index]:
            live = state.get(key, ABSENT)
            gold = self.gold.gold_value(key_of_world, key)
            if not same_value(live, gold):
                reasons.append(_describe_mismatch(key, live, gold))
            elif (
                confirmations and key[0] != CREATED and last_writer.get(key) not in self._confirmed
            ):
                premature = True
                reasons.append(
                    f"the write to {_readable(key)} had not been confirmed when the task was "
                    "answered"
                )
        if reasons and not all(self._arrived(task_index)):
            # Nothing, or not all, of the task's work had come back: answering now is early.
            premature = premature or any(
                self.tools[step.tool].writes and not done
                for step, done in zip(task.steps, self._arrived(task_index), strict=True)
                if step.tool in self.tools
            )
        charged: dict[int, tuple[str, list[Key]]] = {}  # by call: what it changed
        for write, key in self._collateral():
            if task_index in write.owners:
                charged.setdefault(write.call_id, (write.label, []))[1].append(key)
        for label, keys in charged.values():
            objects = [_readable(key) for key in keys if key[0] != CREATED] or ["the world"]
            reasons.append(f"{label} changed {', '.join(objects)}, which the task does not ask for")
        return list(dict.fromkeys(reasons)), premature

    # -- answers -------------------------------------------------------------------------

    def judge_answer(self, task_index: int, answer: Any) -> Verdict:
        """Judge ``answer`` to task ``task_index`` now (see the module docstring)."""
        self.sync()
        simulator = self.simulator
        task = simulator.tasks[task_index]
        arrived = self._arrived(task_index)
        tools = self.tools
        has_writes = any(step.tool in tools and tools[step.tool].writes for step in task.steps)
        facts = task_facts(task)
        reasons, premature = self._write_reasons(task_index, confirmations=True)
        if not has_writes and not facts:
            for index, done in enumerate(arrived):
                if not done:
                    reasons.append(f"{task.steps[index].tool} was not made (or had not arrived)")
                    premature = True
        responses = [step.expected_response for step in task.steps]
        grade = grade_answer(
            answer,
            facts,
            context_values(responses, task.instruction),
            responses,
            instruction=task.instruction,
        )
        reasons.extend(grade.reasons)
        computed = any(fact.source is None for fact in facts)
        if computed and not all(arrived):
            # A value the template computed from the responses (the warmer city) is only
            # learnt once every response it was computed from has arrived.
            reasons.append("the answer was given before the responses it depends on arrived")
            premature = True
        for check in grade.checks:
            if check.fact.source is None or not check.ok:
                continue
            # A fact is learnt from the response it is read from: stating it before that
            # response reached the agent is a guess, however guessable the value ("invalid",
            # a small count) or wherever else it stands (another task's instruction).
            sources = referenced_steps(check.fact.source)
            if not all(arrived[step] for step in sources if step < len(arrived)) or (
                not self.knowledge.knows(check.fact.value)
            ):
                reasons.append(
                    f"the {check.fact.label or 'value'} was stated before the response it is "
                    "read from reached you"
                )
                premature = True
        return Verdict(not reasons, premature, tuple(reasons))

    def answer(self, task_index: int, answer: Any) -> Verdict:
        """Judge ``answer`` and record it in the simulator (closing the task)."""
        verdict = self.judge_answer(task_index, answer)
        self.simulator.answer_task(
            task_index, answer, verdict=(verdict.correct, verdict.premature, verdict.reasons)
        )
        return verdict

    def finish(self) -> None:
        """Judge the writes again on the final state, once the episode is over: revoke the
        credit of an answered task whose work was undone, repeated or spoiled after its
        answer, and record the changes no task can be told to own (see the module
        docstring). Idempotent."""
        if self._finished:
            return
        self._finished = True
        self.sync()
        simulator = self.simulator
        for task_index in range(len(simulator.tasks)):
            if not simulator.task_correct[task_index]:
                continue
            reasons, _ = self._write_reasons(task_index, confirmations=False)
            if reasons:
                simulator.revoke(
                    task_index, tuple(f"after the answer: {reason}" for reason in reasons)
                )
        unowned: dict[int, list[Key]] = {}  # by call: one change per write no task owns
        labels: dict[int, str] = {}
        for write, key in self._collateral():
            if not write.owners:
                unowned.setdefault(write.call_id, []).append(key)
                labels[write.call_id] = write.label
        changes = []
        for call_id, keys in unowned.items():
            objects = [_readable(key) for key in keys if key[0] != CREATED] or ["the world"]
            changes.append(f"{labels[call_id]} changed {', '.join(objects)}")
        if changes:
            simulator.record_collateral(tuple(changes))


def _weight(value: str) -> int:
    """How much a normalized argument value shared with a task's gold says the call is that
    task's: an id, an email or a long text a lot, a word or a small number a little."""
    if _identifying_tokens(value) or len(value) >= 12:
        return 4
    return 1


def _readable(key: Key) -> str:
    if key and key[0] == CREATED:
        return f"the number of {key[1]} objects of that content"
    return describe_key(key)


def _describe_mismatch(key: Key, live: Any, gold: Any) -> str:
    if key and key[0] == CREATED:
        made = 0 if live is ABSENT else live
        wanted = 0 if gold is ABSENT else gold
        return f"{made} {key[1]} object(s) of that content were made; the task makes {wanted}"
    return f"{_readable(key)}: {difference(live, gold)}"


def task_facts(task: Task) -> tuple[Fact, ...]:
    """The facts ``task``'s answer must state: stored on the task (v2 files), or derived
    from its answer template (v1). Facts that share a label get their subject (what the
    instruction names each by) when the file has none."""
    from asynctool_env.core.facts import fact_subjects, facts_from_answer

    templates = [step.arguments for step in task.steps]
    if task.facts is not None:
        return fact_subjects(task.facts, task.instruction, templates)
    responses = [step.expected_response for step in task.steps]
    return facts_from_answer(
        task.answer,
        responses,
        task.instruction,
        arguments=[step.expected_arguments for step in task.steps],
        templates=templates,
    )


def _informs(
    response: Mapping[str, Any],
    arguments: Mapping[str, Any],
    gold: Any,
    provides: Sequence[Any],
) -> bool:
    """Whether a read's ``response`` does what gold read step ``gold`` does: it answers
    the same, or it holds everything the task uses of the gold response (``get_user_posts``
    with ``limit=1`` gives the newest post as well as the gold's five posts do)."""
    if same_response(response, arguments, gold.expected_response, gold.expected_arguments):
        return True
    # Only values that identify something (an id, a text, a precise number) can stand for
    # the gold response: a small count could be any table's.
    telling = [
        value
        for value in provides
        if (isinstance(value, str) and len(value) >= 4)
        or (isinstance(value, float) and not value.is_integer())
    ]
    if not telling or "error" in response:
        return False
    delivered = Knowledge()
    delivered.add(response)
    return all(delivered.knows(value) for value in provides)


def _used_values(task: Task) -> list[list[Any]]:
    """Per step: the values of its gold response that the task uses (taken by a later
    step's arguments, or stated by a fact of the answer)."""
    responses = [step.expected_response for step in task.steps]
    used: list[list[Any]] = [[] for _ in task.steps]
    templates = [step.arguments for step in task.steps]
    templates += [fact.source for fact in task_facts(task) if fact.source is not None]
    for step, value in resolved_references(templates, responses):
        used[step].extend(leaf for leaf in leaves(value) if not isinstance(leaf, bool))
    return used


def _needed_values(
    arguments: Any, responses: Sequence[Mapping[str, Any]]
) -> list[tuple[int, Any, bool]]:
    """``(parent step, value, picked)`` for each value a gold call takes from a response;
    ``picked`` when the reference reads an element of a list (``${s0.flights.0.flight_id}``:
    the cheapest flight, the largest file), a choice that only that response makes."""
    found = []
    for template in leaves(arguments):
        if not isinstance(template, str) or "${" not in template:
            continue
        for match in _REFERENCE.finditer(template):
            picked = any(part.isdigit() for part in match.group(2).split(".") if part)
            for step, value in resolved_references(match.group(0), responses):
                found += [(step, leaf, picked) for leaf in leaves(value)]
    return [
        (step, value, picked)
        for step, value, picked in found
        if value not in (None, "") and not isinstance(value, bool)
    ]


def _uses(call_values: Sequence[Any], value: Any) -> bool:
    """Whether a call whose argument values are ``call_values`` uses ``value``."""
    if isinstance(value, (int, float)):
        for leaf in call_values:
            if isinstance(leaf, (int, float)) and not isinstance(leaf, bool):
                if math.isclose(float(leaf), float(value), abs_tol=1e-9):
                    return True
            elif isinstance(leaf, str) and str(value) in leaf:
                return True
        return False
    wanted = normalize_text(str(value))
    return any(isinstance(leaf, str) and wanted in normalize_text(leaf) for leaf in call_values)


def _short(arguments: Mapping[str, Any], limit: int = 120) -> str:
    text = ", ".join(
        f"{k}={json.dumps(v, ensure_ascii=False, default=str)}" for k, v in arguments.items()
    )
    return text if len(text) <= limit else text[: limit - 3] + "..."
