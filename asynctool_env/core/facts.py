"""Answers graded as facts: what a task's answer must state, and how free text is read.

A task that asks for something ("tell me the booking id and the forecast condition") has a
list of :class:`Fact` objects: each required value, with its kind and tolerance. Models are
trained by RL on this grade, so **a correct answer must be credited, and an answer that
guesses, hedges, swaps or pastes must earn nothing.** An answer (a text, or an object keyed
by what the task asks for) passes when it states every fact, tied to what it is of,
**exactly one candidate per fact**, and is not a copy of the responses.

What states a fact
------------------

============ ======================================================================
kind          a stated value counts when
============ ======================================================================
``id``        the id appears as a whole token, letter case ignored (``bk-1a2b3c``),
              except a value that mixes lower- and upper-case letters (a password
              ``epPBgK2keF7Xu6u``, a camelCase ``emberCastIron...``): that one only
              in its own case (all-upper or all-lower ids, digests and UUIDs, and a
              capitalised word, stay case-free)
``number``    a number in the answer is within the tolerance (``abs_tol``, by default
              half a cent for non-integers: ``-3.63%`` states ``-3.6254``); thousands
              separators, currency signs, units and ``%`` are read (``$1,234.50 USD``,
              ``9 lines``); groups of three digits after a thin or no-break space are
              one number (``708 802``), after a plain space too when the responses hold
              the whole and not each part ("14 547" is 14 and 547 where those are the
              values); small numbers in words count ("five lines", "twenty-one rows";
              "one" only before a noun: not "the newest one", "one of"); a dot between
              digit groups is a decimal point ("708.802" is not 708802); a decrease
              said in words is negative ("5.06% below/lower/less", "a decrease of
              5.06%", "down 5.06%", "fell by 5.06%"; "up", "rose", "an increase of" are
              positive; an explicit sign wins)
``text``      the text appears, with case, spacing and quotes ignored (punctuation too
              for wordy texts: "Order 80587 - Late Delivery"), and not as part of a
              rival text ("partly cloudy" does not state "cloudy"); a one-word text that
              mixes cases keeps its case, as an id does; a phone number may be written
              with other separators ("+1 555 9987", "+1.555.9987"); a prime factorisation
              (``2^3 * 3 * 5233``) is graded as the multiset of its factors, in any usual
              notation: ``2³ × 3 × 5233``, ``2*2*2*3*5233``, ``2·2·2·3·5233``,
              ``2**3 * 3 * 5233``, ``2, 2, 2, 3, 5233``
``choice``    like ``text``: the option the answer concludes with ("so Mia's got more",
              "therefore Mia", "the winner is Mia", "answer: Mia", "Mia's post got
              more impressions", "the warmer city is Paris", ``{"city": "Paris"}``:
              after "so", "therefore", "the winner is", "answer:", followed or labelled
              by the instruction's comparison or one that says the same ("higher":
              "warmer"), or under a key in the instruction's words); without a
              conclusion, the option named first: "Mia (2952 vs 704 for Nora)" answers
              Mia; naming the loser is fine; two conclusions, or an option offered with
              another ("Mia or Nora"), fail; so do the right option said the other way
              ("X has the lower median", ``{"lower": X}``, "not X"), a hedged choice
              ("X?", "possibly X", "not sure which", "or the other way round") and
              options only set side by side ("X compared with Y"); an option may be
              named by the part that sets it apart ("Elm Street School")
``boolean``   a yes/true word (or a no/false word) is said, and not its opposite
``list``      every item is stated (items graded as ``text``/``id``/``number``)
============ ======================================================================

**Numbers only where they are numbers.** Digits inside times (``12:30``, ``3 pm``), dates
(``2025-06-12``, ``June 12, 2025``, ``12/06/2025``), ids (``BK-12A``, ``AF891``), versions
(``v1.2.3``), phone numbers (``+1-555-0012``) and a range's ends (``5-6``, ``5 to 6``,
``between 5 and 6``) do not state a count: "12:30" does not state 12. ("from 12.2 to 19.5"
is a change, not a range.) Markdown emphasis (``**5 lines**``, ``*note*``) is spacing.

What is *not* required: anything the instruction does not ask for. A response field that
only echoes its own call's input, when the instruction states that input (the currency a
conversion was asked into), is not a required fact either; formatting words around the
facts (``bytes``, ``USD``) are free, and so is naming a few other things for context
("Mia Larsen (CUS-06A1A1) is now silver; version VER-83138A; export EXP-INV-CSV-D72A").

Labels: what names a fact
-------------------------

A value's *label* is the words right before it (back to the value before it, or an
opening parenthesis; in a structured answer, its key) and, for a number, its unit or noun
right after it ("41 rows", "8 shared words"). A label names a fact by

* the fact's ``label`` or the last key of its ``source`` path, closest words first, case,
  spaces and underscores ignored, with simple variants: singular/plural, ``avg``/
  ``average``, ``max``/``maximum``/``largest``, ``min``/``minimum``/``smallest``/
  ``lowest``, ``%``/``percent``, ``no.``/``#``/``number``, ``e-mail``/``email``,
  ``sha-256``/``sha256``, and ``id``/``number``/``count`` optional ("version VER-1" names
  the version id, "41 rows" the row count); "price", "value", "amount" may stand around
  it ("ask price" names the ``ask``);
* the instruction's own words for it: what the instruction asks to be told ("tell me the
  result ... and the number of errors", "tell me their smallest value") is matched to
  the facts by their labels, in order (:func:`_instruction_words`), so "the result",
  "number of errors", "smallest total", "entries in logs" name their facts (the words of
  the call's own inputs aside: "WMT" in "the ask price of WMT" names nothing).

A label names the *response field* that holds a value when one of its closest words is
one of the key's telling words (``low_c`` is "low", ``quote_price`` "quote",
``previous_version_id`` "previous version", ``sha256`` "SHA-256") and that field holds
that very value. When a label names both, the one whose word stands closer wins, and the
one with more words on a tie ("the copy's SHA-256" is the ``sha256`` field's; "previous
version VER-B2DDB9" is ``previous_version_id``'s, not the version id's); otherwise the
fact wins. The most specific fact label wins ("line count" over "count"); a label of
another kind binds only written ``label: value``, ``label = value`` or ``label is value``.

* A value labelled as another fact's does not count for its own fact: "email: 41, row
  count: isla.sato@outlook.com" states neither. Nor does one labelled as another field of
  the fact's kind in the record that holds the fact (:meth:`_Reading._mislabelled`: "COST's
  bid is 766.79", "the ticket's record id is TCK-888989", "original bytes 1454"), more
  closely than the fact's own words or by that field's whole key, or as another response's
  field by its whole key ("her booking id is IT-5B3EA2"), or as an earlier value ("the
  previous ask was 766.79"), or said not to be it ("is not 766.79").
* Where a label stands: a value written first takes the words after "is" ("766.79 is
  COST's bid and 766.48 is its ask"); two labels written together pair with two values in
  order ("ask and bid are 766.79 and 766.48 respectively", "bid/ask 766.48/766.79"); each
  item of a list under a key carries the key.
* A label that names a fact next to a wrong value fails the fact, even if the right value
  stands elsewhere: "row count: 40. The table has 41 rows.", "41 rows (42 with the
  header)", "email: unknown; isla.sato@outlook.com", ``{"smallest total": 344.87,
  "minimum": -6}``, ``{"result": "valid", "status": "invalid"}``, "max lifetime_value:
  2025-12-29".

Facts that share a label: subjects
----------------------------------

Two facts of one label (the ``status`` of two documents, the ``uuids`` of two generator
calls, the ``condition`` of two cities) carry a ``subject``: what the instruction names
each by (:func:`fact_subjects`; ``transactions_q4``, ``sessions``, ``Zurich``). Besides
it, a fact is named by the fields of its own response that the instruction states and its
siblings' responses do not share (the ``md5`` of a checksum, a path's file name). When the
facts of a label do not all have one value, **a value counts for a fact only where the
answer ties it to that fact**, and tied to another one's subject it is that fact's
candidate (for the others it is another fact's value):

1. in a structured answer, the enclosing key that names a subject
   (``{"transactions_q4.yaml": {"result": "valid", "errors": 0}}``);
2. its own label naming a subject, or the instruction's word for only one of them
   ("the sessions UUID is ...", "the first UUID is ...");
3. the subject right after it with "for", "in", "of", "at", "on" or "from" ("valid for
   transactions_q4.yaml", "sunny in Zurich"), or right after it with nothing between
   ("658.12 USD") when no subject stands before it in its clause;
4. the nearest subject before it in its clause ("Zurich: light rain; New York: sunny",
   "transactions_q4.yaml is valid (0 errors)"), one said of the value before it aside
   ("0 errors for X and 2 for Y").

A value tied to no subject goes, in order, to the facts of the label no value is tied to:
"valid (0 errors), invalid (1 errors)" is read in the order the task asks (the gold
templates' style), and so is an answer that names no subject at all. When the untied
values and those facts do not pair up one by one, each untied value is a candidate for
each of them. A single fact of its label needs no subject, nor do facts of one label that
all have one value ("both are valid").

Exactly one candidate per fact
------------------------------

**A same-kind value is a rival candidate only when the answer leaves it unclear which
value is the fact.** The answer is read once: every number, id-like token (ids, emails,
URLs, paths, digests, phone numbers), fact text and rival text is located, with the words
around it. Values *of the fact's kind*: numbers for a number; tokens of its shape for an id
(``DOC-…`` and ``DOC-…``, two digests, two emails, two UUIDs; an id inside a URL or a path
is part of that token: ``…/status/PST-2201C051DB`` offers no post id); for a text, its
*rival texts* (its ``alternatives``, the other items of the list it was read from; the
values of the same field in the responses; and the other members of its closed set: the
options the instruction quotes ("valid" or "invalid"), the lists the tools' JSON schemas
state, and a few built-in ones: valid/invalid, yes/no, true/false, weather conditions,
correlation strengths...) and tokens of its shape. **Units decide kind for numbers**: a
fact whose label, source key or instruction words carry a unit ("eta minutes", "range
km") or that rounds a percentage a response holds (``text`` of a ``percent_change``) has
that dimension (time, length, temperature, mass, data, percent, currency; a response's own
``unit``, "15,943 visitors", is one of its own). Not candidates at all:

* another fact's value (for a fact of a shared label: one tied to another subject), or a
  value labelled as another fact's;
* the other side of a comparison ("2952 vs 704", "8 shared words out of 82"), as a
  response gave it;
* a value the instruction states ("250 EUR is 279.67 USD"), unless it is a member of the
  fact's closed set ("valid" for "invalid" stays a candidate though the instruction says
  ("valid" or "invalid"));
* an id inside a label (it names the subject): "**Schema title (employee-record/v1):**
  Employee roster entry", "Title of employee-record/v1: ...".

The answer **binds** a fact when it labels a stated value with the fact's label, the
instruction's words for it ("the new message id is", "Snippet id of "...":", "547 km of
range left") or its key; a fact with a dimension of its own among the task's facts is also
bound by a value written in it ("+20.5%"). A label that names this fact binds to this fact
(``{"smallest total": 344.87, "minimum": -6}`` has two candidates), unless it also says
which *other* thing it is (below). Then every other candidate **fails the fact**, whatever
key or word stands next to it (``{"x": 344.87}``, ``{"p": "valid", "q": "invalid"}``,
"Forecast: sunny, rainy, cloudy", "the ask price is 68.57 and the bid is 68.58" when 68.58
is the ask), unless it is context, said as what it is:

* its label names the response field that holds that very value ("low 22" next to "high
  31" where the response has ``"low_c": 22``; "bid 68.57" when the bid is 68.57, so not
  "the bid is 68.58" when the bid is 68.57; "6 columns"; "quote 132.22"; "25.34 in fees";
  "they sum to 2,086.25" for a ``total``; "7 minutes to reach it" for ``minutes_to_target``;
  "the copy's SHA-256 is 1599…"), but a unit alone does not say what a number of the
  fact's own unit is, unless a label binds the fact ("15 minutes, 7 minutes" offers two
  ETAs);
* it is quoted with the words a response text puts before it ("record 3: missing
  required field", "got 70000"), or under a label the instruction writes ("Test files: 1"
  for a file line "Test files: <count>");
* it is an end of "from A to B" where one response holds A and B as a change's old and new
  values;
* for a text: it is a value of the same field read from another call (not the fact's own
  list or response, not its closed set) and a word of its label says what it is ("tickets
  on Northeast Regional 152" next to the concert "Echo Harbor");
* **its label says which other thing it is**: a word of its own label (in its own
  sentence; its noun or unit after it, or "in"/"of"/"to" and a noun: "$156.00 in tickets")
  is in the response object that holds it and not in the one that holds the fact ("Zara's
  message (MSG-BC6E4494)", "the Aurora listing I fetched is TXT-35496F", "the original
  transactions_north.csv is DOC-0F8273", "Raj's own number is +1-555-7911"), so long as
  the fact's own value is not labelled with those words too ("Zara: MSG-A, Zara: MSG-B",
  "Raj: A and Mehta: B" tell nothing apart); once the fact is bound, a word that says it is
  another thing's start ("original", "source", "previous") does too;
* **the fact is bound and it carries a meaningful label of its own**, in prose: words the
  task uses (a response's key or text, the instruction) that name something other than
  this fact ("averages 15,943 visitors", "the latest value is 19,210", "follows 649
  accounts", "14 daily visitor counts"), or, next to a value bound by its unit, another
  unit ("71.4 mm" next to "a change of +6.6%", "26 °C" and "10.7 km" next to "the ETA is
  15 minutes"). Labels that name nothing (single letters, x/y/z/p/q, "value", "answer",
  "option", "alt", "other", "candidate", digits) excuse nothing; a key of a structured
  answer excuses only as a response field's name or another thing's (records above), so
  ``{"ask": 68.58, "spread": 68.57}`` and ``{"minimum": -6, "total": 344.87}`` fail;
* no response is given to tell what a field is called (only the context): then any value
  a response gave with a label of its own ("high 31") is context.

When nothing binds the fact, same-kind values that are not clearly labelled as something
else (the field, record and quotation rules above) remain candidates: "41 rows. 40."
fails. Context or not, a candidate fails the fact when it is

* one of the fact's ``alternatives`` (``AF891, or maybe IB905``; ``63 seats (First Class
  26)``; "the other two UUIDs were …" next to the first one);
* **offered as an alternative**: a hedge word before it or between it and the value
  ("41 or 42", "either 41 or 28", "41 (maybe 42)", "41, possibly 42", "41/42", "about 41
  or 42", "though it could be 43", "subtotal 450.0 or total 475.34"; "about" before a
  value with a label of its own is an approximation of that thing: "about 7 minutes to
  reach it"); a text or id joined to anything by "or", "maybe", "/" or "one of" ("windy
  or sunny");
* **listed** with the value (only commas, slashes or "and" between, no label of its own:
  "41, 42", "one of 38, 39, 40, 41", "VER-2ECCE1, VER-B2DDB9");
* under **the same label** as the fact's stated value ("Zara: MSG-A, Zara: MSG-B");
* the value **written another way**: rounded or unrounded to other decimals ("20.5" asked,
  "20.4918" also given, under any label);
* set bare against the fact's value ("766.79 (vs 766.48)"), or labelled as a field of the
  fact's record that does not hold it ("766.63 is COST's bid" when the bid is 766.48);
* **unlabelled** (no word says what it is: "41 rows. 40.", "dc7c… 7d9e…");
* **made up**: a number, or an id/email/path of the fact's shape, that no response, the
  context or the instruction holds ("0.0976 (Dice 0.25)"); a number as written may be a
  response's rounded ("12.21" for 12.2057).

Two writings of one value within its tolerance offered as alternatives ("0.0976 or 0.1")
are two candidates too; a range whose end is the value is a hedge ("40-42 rows"). A value
said not to be the fact ("is not 766.48, it is 766.79") is no candidate. The stated value
fails when said with doubt (:meth:`_Reading._doubted`: "probably", "~", "at least",
"either", "I think" right before it, "?" right after, "not certain", "unless I ...",
"double-check" in its clause or a rival's); "about" is rounding.

Facts may come in any order when each is bound to its own label or unambiguous by kind:
"41; isla.sato@outlook.com" passes.

A **structured answer** is read the same way: a JSON object (or Python dict, or an object
passed as the answer) keyed by labels, ``{"email": "...", "row count": 41}``, is read as
``email: ... ; row count: 41`` (:func:`answer_text`), each value under its key and the
keys enclosing it: a key that names a fact binds its value (one value: a list of several
under it is a list of candidates), keys are matched case-, space- and underscore-
insensitively (``Row_Count``, ``rows``), a key that names a subject ties the values under
it, a nested key is a key (``{"result": {"status": "invalid"}}``), and a key that names
nothing is a neutral label that excuses nothing.

Pastes and copies
-----------------

* **Paste**: an answer that reproduces a response as ``key: value`` pairs (JSON anywhere
  in the text, a Python dict, ``key: value`` / ``key = value`` lines), at least 3 of its
  pairs and 3/4 of them, not all of them facts, is a paste, whatever surrounds it and
  whatever keys it adds or drops; so is one that writes a response's fields by their own
  keys ("count 5, maximum 637.66", ``{"extract": {"count": 5, "maximum": ...}}``), at
  least 3 fields, 2 or more of them neither facts nor the instruction's values and more
  than half of those; so is one that restates 3/4 of a response's telling values in any
  form, more than ``max(2, facts)`` of them not facts.
* **Copying**: an answer that restates more than ``max(2, facts)`` of the other values the
  task's responses held, and at least half of them, is a copy of the responses
  (:func:`context_values`).
* These rules count only values that are neither facts nor the instruction's values nor
  made of them, once: a response text made of the instruction's words (the post text and
  the hashtag it gave) is the instruction's, and a value stated only inside another one
  counts as that one (the post id and the author inside the post's URL); a recap of what
  was done ("I published "…" #grandopening (live at https://…), scheduled the reminder for
  2025-06-14 11:00 …") is not a paste.
* **Length**: an answer longer than :func:`answer_length_limit` characters fails before it
  is read (a few hundred characters more than the facts need).

Reasons name the fact's label (and subject) and what to change, never the expected value.

:func:`facts_from_answer` derives the facts of a task from its answer template (each
``${sN.path}`` is one fact; an answer with no reference is a computed ``choice``), so v1
tasks get facts too; v2 dataset files store them, and :func:`fact_subjects` gives facts
that share a label their subject (dataset files store it too; files without it get it at
load).
"""

from __future__ import annotations

import ast
import bisect
import itertools
import json
import math
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from asynctool_env.core.references import _REFERENCE, leaves, referenced_steps, resolve

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
        subject: For facts that share a label with another fact of the task (two
            documents' ``status``, two generator calls' ``uuids``): what the instruction
            names this one by (``"transactions_q4"``, ``"sessions"``, ``"Zurich"``), so
            that an answer must tie each value to it (see :func:`fact_subjects`); empty
            for a fact with no same-label sibling, or none that tells it apart.
    """

    kind: str
    value: Any
    source: str | None = None
    abs_tol: float = 0.0
    alternatives: tuple[Any, ...] = ()
    label: str = ""
    subject: str = ""

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
        if self.subject:
            data["subject"] = self.subject
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
            subject=str(data.get("subject", "") or ""),
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
    templates: Sequence[Mapping[str, Any]] = (),
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
        templates: The steps' argument templates (``${sN...}`` references unresolved):
            facts that share a label get a ``subject`` from them (:func:`fact_subjects`).
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
    return fact_subjects(facts, instruction, templates or arguments)


#: Argument keys whose value is how an instruction names a thing, best first.
_NAMING_KEYS = (
    "name",
    "title",
    "query",
    "city",
    "namespace",
    "username",
    "user",
    "guest",
    "passenger",
    "symbol",
    "path",
    "source",
    "directory",
    "pattern",
    "to_currency",
    "to_unit",
    "target_format",
    "style",
    "algorithm",
)


def fact_subjects(
    facts: Sequence[Fact], instruction: str, templates: Sequence[Mapping[str, Any]]
) -> tuple[Fact, ...]:
    """``facts`` with a ``subject`` for each fact that shares its label with another one.

    A fact's subject is what the instruction names it by: a constant argument value of its
    source step or of the steps that step depends on (``templates[i]`` are the steps'
    argument templates; a ``${sN...}`` reference makes step ``i`` depend on step ``N``),
    that the instruction states and that the steps of the other facts of its label do not
    have (the document ``transactions_q4`` of one ``status``, the namespace ``sessions`` of
    one ``uuids``, the city ``Zurich`` of one ``condition``). A name is preferred to a
    number or a date, the fact's own step to its ancestors. Facts that already have a
    subject, and facts with no same-label sibling, are left as they are.
    """
    facts = list(facts)
    groups: dict[str, list[int]] = {}
    for index, fact in enumerate(facts):
        if fact.source and fact.kind != "choice":
            groups.setdefault(fact.label, []).append(index)
    said = normalize_text(instruction or "")
    for members in groups.values():
        if len(members) < 2 or all(facts[i].subject for i in members):
            continue
        constants = {i: _step_constants(facts[i], templates) for i in members}
        for index in members:
            if facts[index].subject:
                continue
            others = {
                _constant_key(value)
                for other in members
                if other != index
                for _, value, _ in constants[other]
            }
            best: tuple[Any, ...] | None = None
            for own, value, key in constants[index]:
                if _constant_key(value) in others or not _names_a_subject(value, said):
                    continue
                text = str(value)
                rank = (
                    isinstance(value, (int, float)) or bool(_DATE_LIKE.fullmatch(text)),
                    not own,
                    _NAMING_KEYS.index(key) if key in _NAMING_KEYS else len(_NAMING_KEYS),
                    -len(text),
                )
                if best is None or rank < best[0]:
                    best = (rank, text)
            if best is not None:
                facts[index] = Fact(
                    facts[index].kind,
                    facts[index].value,
                    facts[index].source,
                    facts[index].abs_tol,
                    facts[index].alternatives,
                    facts[index].label,
                    best[1],
                )
    return tuple(facts)


_DATE_LIKE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ][\d:]+)?")


def _step_constants(
    fact: Fact, templates: Sequence[Mapping[str, Any]]
) -> list[tuple[bool, Any, str]]:
    """``(own step?, value, argument key)`` for every constant argument value of the
    fact's source step and of the steps it depends on (references left out)."""
    match = _REFERENCE.search(fact.source or "")
    if match is None:
        return []
    step = int(match.group(1))
    seen: set[int] = set()
    order = [step]
    found: list[tuple[bool, Any, str]] = []
    while order:
        current = order.pop(0)
        if current in seen or not 0 <= current < len(templates):
            continue
        seen.add(current)
        template = templates[current]

        def visit(value: Any, key: str, current: int = current) -> None:
            if isinstance(value, Mapping):
                for name, item in value.items():
                    visit(item, str(name))
            elif isinstance(value, (list, tuple)):
                for item in value:
                    visit(item, key)
            elif isinstance(value, bool) or value is None:
                return
            elif isinstance(value, str):
                if "${" not in value:
                    found.append((current == step, value, key))
            elif isinstance(value, (int, float)):
                found.append((current == step, value, key))

        visit(template, "")
        order.extend(sorted(referenced_steps(template)))
    return found


def _constant_key(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(float(value))
    return normalize_text(str(value))


def _names_a_subject(value: Any, said: str) -> bool:
    """Whether an argument value can name a fact: a word of 3+ characters, or a number of
    3+ digits, that the instruction states."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (
            float(value).is_integer() and abs(value) >= 100 and _stated_number(float(value), said)
        )
    text = normalize_text(str(value)).strip()
    if len(text) < 3 or not any(char.isalpha() for char in text) or text in _STOP:
        return False
    return _contains_words(said, text)


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
    if isinstance(value, str):
        return _normalized(value)
    return _normalized(json.dumps(value, ensure_ascii=False))


@lru_cache(maxsize=8192)
def _normalized(text: str) -> str:
    return " ".join(text.translate(_QUOTE_SPACES).split()).casefold()


def answer_text(answer: Any) -> str:
    """A model's answer as one text (JSON objects and lists are flattened to their values)."""
    if isinstance(answer, str):
        stripped = answer.strip()
        if stripped[:1] in "[{":
            try:
                return answer_text(json.loads(stripped))
            except ValueError:
                pass
            try:  # a Python literal: {'email': 'a@b.c', 'row count': 41}
                parsed = ast.literal_eval(stripped)
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                return answer
            if isinstance(parsed, (dict, list, tuple)):
                return answer_text(parsed)
        return answer
    if isinstance(answer, Mapping):
        return " ; ".join(f"{key}: {answer_text(item)}" for key, item in answer.items())
    if isinstance(answer, (list, tuple)):
        return " ; ".join(answer_text(item) for item in answer)
    if answer is None:
        return ""
    return json.dumps(answer) if isinstance(answer, bool) else str(answer)


def _flatten(
    answer: Any, keys: tuple[str, ...] = ()
) -> tuple[str, list[tuple[int, int, tuple[str, ...]]]]:
    """:func:`answer_text`, with where each key's value stands in it: ``(start, end, keys)``
    for every value of a structured answer (``keys`` are the keys enclosing it, outermost
    first), so that a value is read under the key that names its subject."""
    if isinstance(answer, str):
        stripped = answer.strip()
        if stripped[:1] in "[{":
            try:
                return _flatten(json.loads(stripped), keys)
            except ValueError:
                pass
            try:
                parsed = ast.literal_eval(stripped)
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                return answer, []
            if isinstance(parsed, (dict, list, tuple)):
                return _flatten(parsed, keys)
        return answer, []
    if isinstance(answer, (Mapping, list, tuple)):
        items = (
            [(str(key), item) for key, item in answer.items()]
            if isinstance(answer, Mapping)
            else [(None, item) for item in answer]
        )
        parts: list[str] = []
        spans: list[tuple[int, int, tuple[str, ...]]] = []
        position = 0
        for key, item in items:
            prefix = f"{key}: " if key is not None else ""
            inner_keys = (*keys, key) if key is not None else keys
            inner, inner_spans = _flatten(item, inner_keys)
            start = position + len(prefix)
            if key is not None:
                spans.append((start, start + len(inner), inner_keys))
            spans.extend((a + start, b + start, k) for a, b, k in inner_spans)
            parts.append(prefix + inner)
            position += len(prefix) + len(inner) + 3
        return " ; ".join(parts), spans
    return answer_text(answer), []


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


def _telling(value: Any) -> bool:
    """Whether a response leaf says enough to count when an answer repeats it: not a
    boolean, not a small whole number, not a string shorter than 3 or longer than 200."""
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, (int, float)):
        return math.isfinite(value) and not (float(value).is_integer() and abs(value) <= 10)
    return 3 <= len(normalize_text(str(value))) <= 200


def _leaf_key(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(float(value))
    return normalize_text(str(value))


def context_values(
    responses: Sequence[Mapping[str, Any] | None], instruction: str = ""
) -> list[Any]:
    """The values a task's responses hold that could be pasted into an answer: every leaf
    that the instruction does not state, leaving out small whole numbers, booleans and
    strings shorter than 3 characters (too common to say anything)."""
    said = normalize_text(instruction)
    said_numbers = extract_numbers(instruction)
    found: dict[str, Any] = {}
    for response in responses:
        if response is None:
            continue
        for value in leaves(response):
            if not _telling(value):
                continue
            if isinstance(value, (int, float)):
                if float(value) not in said_numbers:
                    found.setdefault(repr(float(value)), value)
            else:
                text = normalize_text(str(value))
                if not _contains_words(said, text):
                    found.setdefault(text, value)
    return list(found.values())


def grade_answer(
    answer: Any,
    facts: Sequence[Fact],
    context: Sequence[Any] = (),
    responses: Sequence[Mapping[str, Any] | None] = (),
    instruction: str | None = None,
) -> AnswerGrade:
    """Grade a free-text (or JSON) answer against ``facts`` (see the module docstring).

    Args:
        answer: The model's answer: a text, or an object keyed by what the task asks for.
        facts: What it must state.
        context: Other values the task's responses held (:func:`context_values`): an answer
            that restates more than ``max(2, len(facts))`` of them besides the facts, and
            at least half of them, is a copy of the responses, not an answer, and fails.
            Naming a few of them for context (which customer, which job) is fine.
        responses: The task's responses: an answer that restates most of one of them (as
            JSON, as ``key: value`` lines or in words) is a paste and fails; their values
            are what an answer may name for context (a rival value no response holds is
            made up).
        instruction: The task's instruction: values it states are never rival candidates
            (the 80 % a charge was asked to reach). When it is not given, the values the
            responses hold but ``context`` leaves out are taken as the instruction's.
    """
    text, paths = _flatten(answer)
    limit = answer_length_limit(facts)
    if len(text) > limit:
        reason = (
            f"the answer is {len(text)} characters long (at most {limit} are read): state "
            "only the facts the task asks for"
        )
        return AnswerGrade(False, (), (reason,))
    reading = _Reading(text, facts, context, responses, instruction, paths)
    checks = tuple(reading.check(index) for index in range(len(facts)))
    reasons: list[str] = []
    normalized = normalize_text(text)
    numbers = extract_numbers(text)
    tokens = set(re.findall(r"[\w.#:/-]+", normalized)) | set(re.findall(r"\w+", normalized))
    pasted = _pasted(responses, facts, reading.said, normalized, numbers, tokens)
    pasted += _reproduced(answer, text, responses, facts)
    pasted += _fields_reproduced(reading.low, responses, facts, reading.said)
    if pasted:
        reasons.append(
            f"the answer restates most of {pasted} response(s) (as JSON, key: value pairs or "
            "a list of their values): that is a copy of the responses, not an answer; state "
            "the facts the task asks for"
        )
    extra = _restated(context, facts, normalized, numbers, tokens, reading.said)
    if len(extra) > max(2, len(facts)) and 2 * len(extra) >= len(context):
        shown = ", ".join(repr(value) for value in extra[:4])
        more = ", ..." if len(extra) > 4 else ""
        reasons.append(
            f"the answer restates {len(extra)} of the {len(context)} other values the "
            f"responses held ({shown}{more}): that is a copy of the responses, not an answer"
        )
    # A copy is said first: it is why the rest of the answer reads wrong.
    reasons.extend(check.reason for check in checks if not check.ok)
    return AnswerGrade(not reasons, checks, tuple(reasons))


def _pasted(
    responses: Sequence[Mapping[str, Any] | None],
    facts: Sequence[Fact],
    said: _Said,
    normalized: str,
    numbers: Sequence[float],
    tokens: set[str],
) -> int:
    """How many responses the answer restates most of: at least 3/4 of a response's telling
    values (the instruction's aside), of which more than ``max(2, facts)`` are not facts."""
    own, own_text, own_numbers = _own(facts)
    count = 0
    for response in responses:
        if not isinstance(response, Mapping):
            continue
        telling: dict[str, Any] = {}
        for value in leaves(response):
            if _telling(value) and not said.holds(value) and not said.composed(value):
                telling.setdefault(_leaf_key(value), value)
        if len(telling) < 3:
            continue
        stated = [
            key
            for key, value in telling.items()
            if states(value, fact_kind(value), normalized, numbers, tokens)
        ]
        stated = _outermost(stated, telling, normalized)
        others = [
            key for key in stated if not _part_of_facts(telling[key], own, own_text, own_numbers)
        ]
        if len(others) > max(2, len(facts)) and 4 * len(stated) >= 3 * len(telling):
            count += 1
    return count


def _outermost(stated: list[str], values: Mapping[str, Any], normalized: str) -> list[str]:
    """The stated values that are not only stated inside another stated value: the post
    id and the author inside a post's URL count once, as the URL."""
    cores = {
        key: _NOT_WORD.sub("", normalize_text(str(values[key])))
        for key in stated
        if isinstance(values[key], str)
    }
    if len(cores) < 2:
        return stated
    answer = _NOT_WORD.sub("", normalized)
    kept = []
    for key in stated:
        core = cores.get(key)
        if core:
            inside = [
                other
                for other, outer in cores.items()
                if other != key and len(outer) > len(core) and core in outer
            ]
            if inside and answer.count(core) <= sum(
                cores[other].count(core) * answer.count(cores[other]) for other in inside
            ):
                continue
        kept.append(key)
    return kept


def _pairs(value: Any, key: str = "") -> list[tuple[str, Any]]:
    """The ``(key, scalar)`` pairs of a JSON value, each scalar under its nearest key."""
    if isinstance(value, Mapping):
        return [pair for name, item in value.items() for pair in _pairs(item, str(name))]
    if isinstance(value, (list, tuple)):
        return [pair for item in value for pair in _pairs(item, key)]
    return [(key, value)] if key else []


def _key(name: str) -> str:
    return re.sub(r"[\W_]+", "", name.casefold())


def _written_pairs(answer: Any, text: str) -> set[tuple[str, str]]:
    """The ``key: value`` pairs an answer writes: an object's, any JSON object's inside
    its text, and ``key: value`` / ``key = value`` lines or clauses."""
    found: list[tuple[str, Any]] = []
    if isinstance(answer, (Mapping, list, tuple)):
        found += _pairs(answer)
    decoder = json.JSONDecoder()
    sources = [answer, text] if isinstance(answer, str) and answer != text else [text]
    for source in sources:
        found += _json_pairs(source, decoder)
    for clause in re.split(r"\n|;|,(?=\s*[\w\s]{1,40}[:=]\s)", text):
        match = re.fullmatch(r"\s*[\"']?([A-Za-z][\w .-]{0,40}?)[\"']?\s*[:=]\s*(.+?)\s*", clause)
        if match:
            found.append((match.group(1), match.group(2).strip(" \"',.")))
    return {(_key(key), _scalar(value)) for key, value in found if _key(key)}


def _json_pairs(text: str, decoder: json.JSONDecoder) -> list[tuple[str, Any]]:
    """The pairs of every JSON (or Python) object written inside ``text``."""
    found: list[tuple[str, Any]] = []
    position = text.find("{")
    while position >= 0:
        try:
            value, end = decoder.raw_decode(text, position)
        except ValueError:
            end = position + 1
            closing = text.find("}", position)
            if closing > 0:
                try:
                    value = ast.literal_eval(text[position : closing + 1])
                    end = closing + 1
                except (ValueError, SyntaxError, MemoryError, RecursionError):
                    value = None
            else:
                value = None
        if isinstance(value, (Mapping, list)):
            found += _pairs(value)
        position = text.find("{", max(end, position + 1))
    return found


def _scalar(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return repr(float(value))
    text = normalize_text(str(value)).strip(" .")
    try:
        return repr(float(text.replace(",", "")))
    except ValueError:
        return text


def _reproduced(
    answer: Any,
    text: str,
    responses: Sequence[Mapping[str, Any] | None],
    facts: Sequence[Fact],
) -> int:
    """How many responses the answer reproduces as ``key: value`` pairs (JSON or lines):
    at least 3 of a response's pairs and 3/4 of them, not all of them facts (keys added or
    removed, and any text around, change nothing)."""
    written = _written_pairs(answer, text)
    if len(written) < 3:
        return 0
    own = {_scalar(value) for fact in facts for value in _fact_values(fact)}
    count = 0
    for response in responses:
        if not isinstance(response, Mapping):
            continue
        pairs = {(_key(key), _scalar(value)) for key, value in _pairs(response)}
        if len(pairs) < 3:
            continue
        kept = pairs & written
        copied = len(kept) >= 3 and 4 * len(kept) >= 3 * len(pairs)
        if copied and any(value not in own for _, value in kept):
            count += 1
    return count


def _fields_reproduced(
    low: str,
    responses: Sequence[Mapping[str, Any] | None],
    facts: Sequence[Fact],
    said: _Said,
) -> int:
    """How many responses the answer reproduces field by field: each field written as its
    own key and value ("count 5", ``"maximum": 637.66``, ``error_count: 1``), nested
    under added keys or not, with fields dropped: at least 3 fields, and more than half of
    the fields that are neither facts nor values the instruction states, 2 or more."""
    own, own_text, own_numbers = _own(facts)
    count = 0
    for step, response in enumerate(responses):
        if not isinstance(response, Mapping):
            continue
        read = {
            _source_key(fact)
            for fact in facts
            if (match := _REFERENCE.search(fact.source or "")) and int(match.group(1)) == step
        }
        fields = _response_fields(response)
        others = written = copied = 0
        for key, value in fields:
            scalars = value if isinstance(value, list) else [value]
            if not scalars:
                continue
            fact = key in read or any(
                isinstance(item, str) and _part_of_facts(item, own, own_text, own_numbers)
                for item in scalars
            )
            if not fact and all(said.holds(item) or said.composed(item) for item in scalars):
                continue  # an input the instruction gave, echoed back
            found = _field_written(low, key, scalars[0])
            written += found
            if not fact:
                others += 1
                copied += found
        if written >= 3 and copied >= 2 and 2 * copied > others:
            count += 1
    return count


def _response_fields(value: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """A response's fields: each scalar, or list of scalars, under its own key (nested
    objects opened; lists of objects, the rows of a result, left to the other rules)."""
    found: list[tuple[str, Any]] = []
    for key, item in value.items():
        if isinstance(item, Mapping):
            found.extend(_response_fields(item))
        elif isinstance(item, (list, tuple)):
            if item and all(not isinstance(x, (Mapping, list, tuple)) for x in item):
                found.append((str(key), list(item)))
        elif item is not None:
            found.append((str(key), item))
    return found


def _field_written(low: str, key: str, value: Any) -> bool:
    """Whether ``key`` stands in the folded answer right before ``value`` ("count 5",
    "field_path: *.total", ``"maximum": 637.66``)."""
    parts = [part for part in re.split(r"[_\s-]+", _fold(key)) if part]
    if not parts or parts[0] not in low:
        return False  # the key is not written (most are not): no pattern to build
    name = r"[_ -]?".join(re.escape(part) for part in parts)
    if isinstance(value, bool):
        wanted = r"(?:true|false|yes|no)"
    elif isinstance(value, (int, float)):
        if not math.isfinite(value):
            return False
        number = float(value)
        body = str(int(abs(number))) if number.is_integer() else repr(abs(number))
        if body not in low:
            return False
        sign = "[-−]" if number < 0 else ""
        wanted = rf"{sign}[$€£¥]?{re.escape(body)}(?:\.0+)?(?![\d])"
    else:
        text = _squeeze(str(value))[:40].strip()
        if not text or text.split()[0] not in low:
            return False
        wanted = r"\s*".join(re.escape(part) for part in text.split())
    pattern = rf"(?<![a-z0-9]){name}[\s\"':=\[]*(?:\b(?:is|was)\b[\s\"'\[]*)?{wanted}"
    return _compiled(pattern).search(low) is not None


@lru_cache(maxsize=4096)
def _compiled(pattern: str) -> re.Pattern[str]:
    """A pattern built from a task's values, compiled once (the ``re`` module keeps only
    a few hundred): the same task is graded again and again."""
    return re.compile(pattern)


def _fact_values(fact: Fact) -> list[Any]:
    return list(fact.value) if isinstance(fact.value, (list, tuple)) else [fact.value]


def _own(facts: Sequence[Fact]) -> tuple[set[str], str, set[float]]:
    """The facts' values: their texts, those texts joined, and every number in them."""
    own = set()
    own_numbers: set[float] = set()
    for fact in facts:
        for value in _fact_values(fact):
            own.add(normalize_text(str(value)))
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                own_numbers.add(float(value))
            else:
                own_numbers.update(extract_numbers(str(value)))
    return own, " | ".join(sorted(own)), own_numbers


def _part_of_facts(value: Any, own: set[str], own_text: str, own_numbers: set[float]) -> bool:
    """Whether ``value`` is a fact's value or part of one (a number the facts state
    themselves, a city inside an address, a word inside a text)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) in own_numbers
    text = normalize_text(str(value))
    return text in own or _contains_words(own_text, text)


def _restated(
    context: Sequence[Any],
    facts: Sequence[Fact],
    normalized: str,
    numbers: Sequence[float],
    tokens: set[str],
    said: _Said | None = None,
) -> list[Any]:
    """The context values an answer states, other than the facts' own values, the
    instruction's words put together, and values stated only inside another (the post id
    in the post's URL)."""
    own, own_text, own_numbers = _own(facts)
    stated: dict[str, Any] = {}
    for value in context:
        if _part_of_facts(value, own, own_text, own_numbers):
            continue
        if said is not None and said.composed(value):
            continue
        kind = fact_kind(value)
        if kind == "list":
            continue
        if states(value, kind, normalized, numbers, tokens):
            stated.setdefault(_leaf_key(value), value)
    return [stated[key] for key in _outermost(list(stated), stated, normalized)]


def states(
    value: Any,
    kind: str,
    normalized: str,
    numbers: Sequence[float],
    tokens: set[str],
    abs_tol: float = 0.0,
) -> bool:
    """Whether the normalized answer states ``value`` as a fact of ``kind`` anywhere (no
    labels, no rivals: what the copying rules count)."""
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
    squeezed = _NOT_WORD.sub("", wanted)
    if len(squeezed) > len(normalized):
        return False  # longer than the whole answer (a response's document content)
    # Punctuation may differ ("Order #80587: Late Delivery" vs "Order 80587 - Late
    # Delivery") only for wordy texts: "10:20" must not match "1020" inside an id.
    letters = sum(char.isalpha() for char in wanted)
    return letters >= 4 and squeezed in _NOT_WORD.sub("", normalized)


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return not isinstance(value, bool)


# -- reading an answer: where each value stands, and what names it --------------------------

_QUOTE_SPACES = {ord(quote): " " for quote in _QUOTES}


def _squeeze(value: Any) -> str:
    """Like :func:`normalize_text`, but folded as :func:`_fold` folds (positions kept)."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return _squeezed(text)


@lru_cache(maxsize=8192)
def _squeezed(text: str) -> str:
    return " ".join(_fold(text).split())


def _fold(text: str) -> str:
    """Quotes to spaces and letters case folded, every character kept in its place (one
    whose folding is longer, such as "ß", is only lower-cased)."""
    spaced = text.translate(_QUOTE_SPACES)
    folded = spaced.casefold()
    if len(folded) == len(spaced):  # no character folds to more than one (casefold is
        return folded  # character by character and never shortens)
    out = []
    for char in spaced:
        folded = char.casefold()
        if len(folded) != 1:
            folded = char.lower() if len(char.lower()) == 1 else char
        out.append(folded)
    return "".join(out)


_STOP_WORDS = (
    "the a an is are was were be been being of to for its it their his her my your our this "
    "that these those which who whose has have had now currently exactly only just then so "
    "there here and also as will would can should shall do does did am answer"
)
_HEDGE_WORDS = (
    "or either nor maybe perhaps possibly possible probably likely alternatively alternative "
    "otherwise else instead unless although though if might may could approximately approx "
    "about around roughly circa unsure guess candidate option fallback backup try alt alternate"
)
#: Words that carry no label: articles, copulas, pronouns, fillers.
_STOP = frozenset(_STOP_WORDS.split())
#: Words that offer a value as one of several: "41 or 42", "maybe 42", "about 42".
_HEDGES = frozenset(_HEDGE_WORDS.split())
#: Words that put a value on the other side of a comparison: "2952 vs 704".
_COMPARED = frozenset({"vs", "versus", "against", "than", "compared"})
#: Words a value's label may be written with.
_SYNONYMS = {
    "avg": "average",
    "max": "maximum",
    "min": "minimum",
    "pct": "percent",
    "percentage": "percent",
    "%": "percent",
    "no": "number",
    "nr": "number",
    "num": "number",
    "#": "number",
    "qty": "quantity",
    "identifier": "id",
    "e-mail": "email",
    "sha-256": "sha256",
    "sha-1": "sha1",
    "sha-512": "sha512",
    "md5sum": "md5",
    "smallest": "minimum",
    "sum": "total",
    "lowest": "minimum",
    "least": "minimum",
    "largest": "maximum",
    "highest": "maximum",
    "biggest": "maximum",
    "greatest": "maximum",
    "share": "quantity",
    "shares": "quantity",
    "replaced": "previous",
    "prior": "previous",
    "former": "previous",
    "old": "previous",
    "offer": "ask",
}
#: Label words a writer may leave out ("version VER-1" names the version id).
_OPTIONAL = frozenset({"id", "number", "count"})
_CONNECTOR = re.compile(r"(?::|=|\b(?:is|was|are|were)\b)[\s:=]*(?:\b(?:now|currently)\b\s*)?$")
_LIST_GAP = re.compile(r"[\s,/&|+]*(?:(?:and|or|also|plus|nor)\b[\s,/&|+]*)*")
_CLAUSE_END = re.compile(
    r";|\n|(?<!\bvs)(?<!\bno)(?<!\bca)(?<!\bapprox)(?<!\be\.g)(?<!\bi\.e)"
    r"(?<!\bcorp)(?<!\binc)(?<!\bltd)(?<!\bst)(?<!\bmr)(?<!\bdr)"
    r"[.!?](?=\s+[^\sa-z]|\s*$)",
    re.IGNORECASE,
)
#: Where the words after a number stop being its unit or noun ("8 shared words out of 82").
_POST_CUT = re.compile(
    r"[,;:=()\[\]]|\b(?:and|or|but|plus|minus|with|for|from|at|in|of|on|to|by|out|is|was|are"
    r"|were|which|that|than|vs|versus)\b"
)
_WORDS = re.compile(r"[^\W\d_][\w-]*|%|#")


def _word(word: str) -> str:
    word = _SYNONYMS.get(word, word)
    if len(word) > 3 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us")):
        return word[:-1]
    return word


def _stem(word: str) -> str:
    """A label word's stem, for telling whether the task uses it ("follows" and
    "following", "tickets" and "ticket")."""
    for suffix in ("ings", "ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _label_words(text: str) -> list[str]:
    words = []
    for raw in _WORDS.findall(text):
        for part in raw.replace("_", "-").split("-") if raw not in _SYNONYMS else [raw]:
            if part:
                words.append(_word(part))
    return words


def _names_of(fact: Fact) -> list[tuple[frozenset[str], frozenset[str], int]]:
    """The word sets that name ``fact``: its label's, and its source's last key's."""
    names = [fact.label]
    if fact.source:
        keys = [key for key in re.split(r"[.{}$]", fact.source) if key and not key.isdigit()]
        if len(keys) > 1:
            names.append(keys[-1])
    found = []
    for name in names:
        words = [word for word in _label_words(_fold(name)) if word not in _STOP]
        if not words or words == ["answer"]:
            continue
        required = frozenset(word for word in words if word not in _OPTIONAL) or frozenset(words)
        if (required, frozenset(words), len(words)) not in found:
            found.append((required, frozenset(words), len(words)))
    return found


def _labels_match(window: Sequence[str], required: frozenset[str], full: frozenset[str]) -> bool:
    """Whether the words next to a value (closest first) are the label: its first words
    are the label's words, all the required ones ("previous version id", "version",
    "rows"), and no other word stands between ("38 unique words" is not "words")."""
    for length in range(len(required), len(full) + 1):
        words = set(window[:length])
        if len(window) >= length and required <= words <= full:
            return True
    return False


#: Key words of the two ends of a change ("from 15943 to 19210").
_STARTS = frozenset({"previous", "from", "start", "original", "first", "before", "initial"})
_ENDS = frozenset({"new", "to", "end", "latest", "last", "after", "final", "current"})
#: What stands between a value and the subject it is said of: "valid for X", "2 in Y".
_TRAILING = re.compile(
    r"[ \t]*\(?[ \t]*(?:[a-z]+[ \t]+)?(?:for|in|of|at|on|from)\s+(?:the\s+)?"
    r"(?:(?:file|document|city|namespace|account|user|dataset|path)\s+)?"
)
#: Words a label may carry around its name ("ask price", "the current value").
_LABEL_FILLER = frozenset({"price", "value", "amount", "current"})
_PREPOSITIONS = frozenset({"in", "of", "for", "on", "at", "to", "by", "from", "with"})


#: Hedge words that only say a value is approximate: "about 7 minutes to reach it".
_APPROX = frozenset({"about", "approximately", "approx", "around", "roughly", "circa", "nearly"})
#: Words that say a value is another thing's start: "the original file is DOC-0F8273".
_ORIGIN = frozenset(
    {
        "original",
        "originally",
        "source",
        "previous",
        "previously",
        "formerly",
        "initial",
        "input",
        "parent",
    }
)
_ORIGIN_STEMS = frozenset(_stem(word) for word in _ORIGIN)
#: Words right before a value's name that say it is not the current one: "the previous ask".
_NOT_CURRENT = frozenset(
    _stem(word)
    for word in (
        "original",
        "originally",
        "source",
        "previous",
        "previously",
        "initial",
        "initially",
        "earlier",
        "before",
        "formerly",
    )
)
#: Units and the dimension each says: a number in another dimension than a fact's is
#: not one of its candidates ("71.4 mm" next to a percentage, "26 °C" next to an ETA).
_DIMENSION_OF = {
    word: dimension
    for dimension, words in (
        (
            "time",
            "s sec secs second seconds ms min mins minute minutes h hr hrs hour hours "
            "day days week weeks",
        ),
        (
            "length",
            "mm cm m km mi mile miles meter meters metre metres kilometer kilometers "
            "kilometre kilometres",
        ),
        ("temperature", "°c °f degree degrees celsius fahrenheit temperature"),
        ("mass", "kg g lb lbs gram grams kilogram kilograms"),
        (
            "data",
            "b kb mb gb tb byte bytes kilobyte kilobytes megabyte megabytes gigabyte gigabytes",
        ),
        ("percent", "% percent pct percentage"),
        ("currency", "$ € £ ¥ usd eur gbp jpy dollar dollars euro euros"),
    )
    for word in words.split()
}
_UNIT_AFTER = re.compile(
    r"\s*(?:(?P<percent>%|percent\b|per\s+cent\b|pct\b)|(?P<degree>°\s*[cf]?\b|degrees?\b)"
    r"|-?(?P<word>[a-z]+)\b)"
)
_AFTER_NOUN = re.compile(
    r"\s*(?:in|of|for|to|on)\s+(?:the\s+|a\s+|an\s+|its\s+|their\s+)?([^\W\d_][\w-]*)"
    r"(?:\s+([^\W\d_][\w-]*))?"
)

#: Label words that say nothing about what a value is: ``{"x": ..., "alt": ...}``.
_NONSENSE = frozenset(
    {
        "alt",
        "alternative",
        "other",
        "another",
        "option",
        "candidate",
        "guess",
        "value",
        "item",
        "answer",
    }
)


def _meaningful(occurrence: _Occurrence) -> bool:
    """Whether the words before a value (back to the value before it) or its own label
    say what it is: "tickets on X", not "x", "p", "t2", "alt"."""
    return any(
        len(word) >= 3
        and word.isalpha()
        and word not in _NONSENSE
        and word not in _HEDGES
        and word not in _STOP
        for word in [*occurrence.pre, *occurrence.post, *_label_words(occurrence.gap)]
    )


def _other_thing(window: Sequence[str], asked: Collection[str]) -> bool:
    """Whether the instruction's words meet a label only in a generic word that another
    word names the thing of: "the itinerary id" does not name the order id."""
    matched = set(window[:3]) & set(asked)
    if not matched <= _OPTIONAL:
        return False
    at = _first(window, matched)
    return at + 1 < len(window) and len(window[at + 1]) > 1 and window[at + 1] not in asked


def _first(window: Sequence[str], words: Collection[str]) -> int:
    """Where the first word of ``words`` stands in ``window`` (closest first)."""
    return next((position for position, word in enumerate(window) if word in words), 99)


def _match_size(window: Sequence[str], required: frozenset[str], full: frozenset[str]) -> int:
    """How many of the words next to a value (closest first) name a fact, as
    :func:`_labels_match` reads them ("ask price" names "ask"); 0 when they do not."""
    words = [word for word in window if word in full or word not in _LABEL_FILLER]
    best = 0
    for length in range(max(1, len(required)), len(full) + 1):
        head = set(words[:length])
        if len(words) >= length and required <= head <= full:
            best = length
    return best


# Values that are not statements of a count: dates, times, versions, ranges' ends.
_MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_NOT_NUMBERS = re.compile(
    "|".join(
        [
            r"(?<![\w.])\d{4}-\d{1,2}-\d{1,2}(?:[t ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?z?)?(?!\w)",
            r"(?<![\w.])\d{4}-w\d{1,2}(?!\w)",
            r"(?<![\w.])\d{1,2}[/.]\d{1,2}[/.]\d{2,4}(?![\w.])",
            r"(?<![\w.])\d{1,2}:\d{2}(?::\d{2})?(?:\s?[ap]\.?m\b\.?)?",
            r"(?<![\w.])\d{1,2}\s?[ap]\.?m\b\.?",
            rf"\b{_MONTHS}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?(?!\w)",
            rf"(?<![\w.])\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTHS}(?:,?\s+\d{{4}})?(?!\w)",
            r"(?<![\w.])v?\d+\.\d+\.\d+(?:\.\d+)*(?![\w.])",
            r"\bv\d+(?:\.\d+)*\b",
        ]
    )
)
_NUM = (
    r"[-−+]?[$€£¥]?(?:\d{1,3}(?:,\d{3})+|\d{1,3}(?:[ \u00a0\u2009\u202f]\d{3})+(?![\d,])|\d+)"
    r"(?:\.\d+)?|[-−+]?[$€£¥]?\.\d+"
)
_NUMBER_AT = re.compile(_NUM)
_PLAIN_NUMBER = re.compile(r"[-−+]?[$€£¥]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[-−+]?[$€£¥]?\.\d+")
#: Numbers written in words (zero to ninety-nine): "five lines", "four entries".
_SMALL_NUMBERS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty"
)
_TENS = "thirty forty fifty sixty seventy eighty ninety"
_NUMBER_WORDS = {word: value for value, word in enumerate(_SMALL_NUMBERS.split())} | {
    word: 10 * value for value, word in enumerate(_TENS.split(), 3)
}
_NUMBER_WORD = re.compile(
    r"(?<![\w-])(?P<tens>"
    + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))
    + r")(?:-(?P<units>one|two|three|four|five|six|seven|eight|nine))?(?![\w-])"
)
#: Words before "one" that make it a pronoun: "the one", "no one", "which one".
_PRONOUN_LEAD_WORDS = (
    "the a an no any some every each which this that another only same newest latest "
    "largest smallest first last other"
)
_PRONOUN_LEADS = frozenset(_PRONOUN_LEAD_WORDS.split())
_RANGE = re.compile(
    rf"(?<![\w.])(?P<a>{_NUM})\s*%?\s*(?:-|–|—|\.\.|to|through|thru)\s*(?P<b>{_NUM})(?![\w.]\d|\d)"
    rf"|\bbetween\s+(?P<c>{_NUM})\s*%?\s*(?:and|&|-)\s*(?P<d>{_NUM})"
)
_DOWN_BEFORE = re.compile(
    r"(?:\b(?:decrease[ds]?|decline[ds]?|drop(?:ped|s)?|fall|fell|falls|reduction|reduced|"
    r"lost|loss|down|minus|lower(?:ed)?|shr[au]nk|dipped|slid|sank)\b)"
    r"(?:\s+(?:of|by))?\s*(?:about\s+)?$"
)
_DOWN_AFTER = re.compile(
    r"^\s*(?:%|percent|per cent|percentage points?|pp|points?)?\s*(?:\(\s*(?:an?\s+)?)?"
    r"(?:\b(?:below|lower|less|smaller|under|down|decrease|decline|drop|fall|reduction|loss)\b)"
)
#: An increase said right after a number: "-21.4991% (an increase)" contradicts its sign.
_UP_AFTER = re.compile(
    r"^\s*(?:%|percent|per cent|percentage points?|pp|points?)?\s*(?:\(\s*(?:an?\s+)?)?"
    r"(?:\b(?:above|higher|more|up|increase|increased|rise|rose|gain|growth)\b)(?!\s+(?:to|from)\b)"
)
_FACTOR = r"\d+(?:\s*(?:\^|\*\*)\s*\d+|[⁰¹²³⁴⁵⁶⁷⁸⁹]+)?"
_FACTORS = re.compile(
    rf"(?<![\w.]){_FACTOR}(?:\s*[×*·⋅∙x]\s*{_FACTOR})+(?![\w.]\d)"
    rf"|(?<![\w.])\d+(?:\s*(?:\^|\*\*)\s*\d+|[⁰¹²³⁴⁵⁶⁷⁸⁹]+)(?![\w])"
)
_COMMA_FACTORS = re.compile(rf"(?<![\w.]){_FACTOR}(?:\s*,\s*(?:and\s+)?{_FACTOR})+(?![\w.]\d)")
_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")


def _factor_multiset(text: str) -> tuple[int, ...] | None:
    """The prime factors ``2^2 × 3``, ``2² * 3``, ``2, 2, 3`` or ``2·2·3`` write: (2, 2, 3)."""
    factors: list[int] = []
    text = text.replace("**", "^")
    for part in re.split(r"\s*(?:[×*·⋅∙x]|,\s*(?:and\s+)?)\s*", text.strip()):
        part = part.strip()
        if not part:
            continue
        match = re.fullmatch(r"(\d+)\s*(?:\^\s*(\d+)|([⁰¹²³⁴⁵⁶⁷⁸⁹]+))?", part)
        if match is None:
            return None
        base = int(match.group(1))
        power = match.group(2) or (match.group(3) or "1").translate(_SUPERSCRIPTS)
        if int(power) > 64:
            return None
        factors.extend([base] * int(power))
    return tuple(sorted(factors)) if factors else None


def _prime(number: int) -> bool:
    if number < 2:
        return False
    if number > 10**9:
        return True  # too large to check here; such factors are taken as written
    divisor = 2
    while divisor * divisor <= number:
        if number % divisor == 0:
            return False
        divisor += 1
    return True


def _is_factorization(fact: Fact) -> bool:
    named = f"{fact.label} {fact.source or ''}".casefold()
    return (
        fact.kind == "text" and "factor" in named and _factor_multiset(str(fact.value)) is not None
    )


# Shapes of id-like tokens: two tokens of one shape are candidates for the same fact.
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(r"(?:https?|ftp)://\S+|www\.\S+")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_HEX = re.compile(r"(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{12,}")
_PATH = re.compile(r"~?/[\w.@+-]+(?:/[\w.@+-]*)+|~?/[\w.@+-]*\.[\w]+")
_PHONE = re.compile(r"\+\d{1,3}(?:[-. ]\d{2,5}){1,4}|\d{3}-\d{3}-\d{4}")
_PHONE_AT = re.compile(
    r"(?<![\w.+-])(?:\+\d{1,3}(?:[-.]\d{2,5}){2,4}|\+\d{1,3}(?: \d{2,5}){2,4}|\d{3}-\d{3}-\d{4})"
    r"(?![\w-])"
)
_UNIT_TOKEN = re.compile(r"[-−+]?[$€£¥]?\d[\d,.]*(?:°)?([a-z%°]*)")


#: Tokens shaped like ids that name a kind of thing: "SHA-256", "UTF-8".
_NAME_TOKENS = re.compile(r"(?i)(?:sha-?\d{1,3}|md5|crc-?32|utf-?(?:8|16|32)|iso-?8859-?\d+)")


@lru_cache(maxsize=16384)
def _shape(token: str) -> tuple[Any, ...] | None:
    """The shape of an id-like token (as written, case kept), or ``None`` for a word."""
    if not token or any(char.isspace() for char in token) or _NAME_TOKENS.fullmatch(token):
        return None
    folded = token.casefold()
    if _EMAIL.fullmatch(folded):
        return ("email",)
    if _URL.fullmatch(folded):
        return ("url",)
    if _UUID.fullmatch(folded):
        return ("uuid",)
    if _HEX.fullmatch(folded):
        return ("hex",)
    if _PATH.fullmatch(token):
        return ("path",)
    if _PHONE.fullmatch(token):
        return ("phone",)
    prefix = re.fullmatch(r"([A-Za-z]{2,6})-([A-Za-z0-9-]*\d[A-Za-z0-9-]*)", token)
    if prefix:
        return ("prefix", prefix.group(1).casefold())
    mixed = any(char.isalpha() for char in token) and any(char.isdigit() for char in token)
    if len(token) < 4 or not (mixed or _ID_SHAPE.match(token)):
        return None
    unit = _UNIT_TOKEN.fullmatch(folded)
    if unit and (unit.group(1) in _UNITS or unit.group(1) in ("am", "pm", "")):
        return None  # a number with its unit ("10min", "3pm")
    return (
        "generic",
        any(char.isupper() for char in token),
        any(char.islower() for char in token),
        any(char.isdigit() for char in token),
        frozenset(char for char in token if not char.isalnum()),
        len(token),
    )


def _same_shape(a: tuple[Any, ...] | None, b: tuple[Any, ...] | None) -> bool:
    if a is None or b is None or a[0] != b[0]:
        return False
    if a[0] != "generic":
        return a == b
    return a[1:5] == b[1:5] and 0.75 <= a[5] / b[5] <= 1.34


@dataclass
class _Occurrence:
    """One value written in the answer: a number, an id-like token, a text (a fact's own
    text or a rival one) or a factorisation; with what stands around it."""

    start: int
    end: int
    kind: str  # "number", "token", "text", "factors", "range"
    value: Any
    hits: set[int] = field(default_factory=set)  # the facts it states
    rival_of: set[int] = field(default_factory=set)  # text facts it is a rival text of
    shape: tuple[Any, ...] | None = None
    clause: int = 0
    pre: list[str] = field(default_factory=list)  # label words before it, closest first
    post: list[str] = field(default_factory=list)  # label words after it, closest first
    gap: str = ""  # the text between it and the value before it (in its clause)
    connector: bool = False  # "label: value", "label is value", "label = value"
    hedged: bool = False  # "or 42", "maybe 42"
    compared: bool = False  # "vs 704"
    named: set[int] = field(default_factory=set)  # the facts its label names
    own_start: int = 0  # where its own label starts
    near: list[str] = field(default_factory=list)  # its label words in its own sentence
    after: list[str] = field(default_factory=list)  # a number's noun after "in"/"to"...
    head: list[str] = field(default_factory=list)  # "title of X: ...": "title"
    labels: set[int] = field(default_factory=set)  # the facts its label names, field aside
    unit: str = ""  # the dimension its unit says ("time", "percent", "length", ...)
    approx: bool = False  # "about 7 minutes": an approximation, not a second candidate
    field: bool = False  # its label names the response field that holds it ("bid 68.57")


class _Said:
    """What the instruction states: its numbers and texts, which are never rivals."""

    def __init__(
        self,
        instruction: str | None,
        context: Sequence[Any],
        responses: Sequence[Mapping[str, Any] | None],
    ) -> None:
        self.numbers: set[float] = set()
        self.texts: set[str] = set()
        self.blob = ""
        self._words: frozenset[str] | None = None
        self._held: dict[str, bool] = {}
        self._composed: dict[str, bool] = {}
        if instruction is not None:
            self.blob = _squeeze(instruction)
            self.numbers = {round(number, 6) for number in extract_numbers(instruction)}
            return
        if not context:
            return
        # The caller's context is every telling leaf the instruction does not state: the
        # telling leaves it leaves out are the instruction's.
        kept = {_leaf_key(value) for value in context}
        for response in responses:
            for value in leaves(response) if response is not None else []:
                if not _telling(value) or _leaf_key(value) in kept:
                    continue
                if isinstance(value, (int, float)):
                    self.numbers.add(round(float(value), 6))
                elif len(normalize_text(str(value))) <= 200:
                    self.texts.add(_squeeze(str(value)))

    def holds(self, value: Any) -> bool:
        if isinstance(value, str):
            found = self._held.get(value)
            if found is None:
                found = self._held[value] = self._holds(value)
            return found
        return self._holds(value)

    def _holds(self, value: Any) -> bool:
        if isinstance(value, bool) or value is None:
            return False
        if isinstance(value, (int, float)):
            return round(float(value), 6) in self.numbers
        text = _squeeze(str(value))
        if text in self.texts:
            return True
        return bool(self.blob) and _contains_words(self.blob, text)

    def composed(self, value: Any) -> bool:
        """Whether a text is made of the instruction's words only, though not written in it
        as one piece: the post text and the hashtag it gave ("We're opening a second
        location next month! #grandopening")."""
        if not self.blob or not isinstance(value, str):
            return False
        found = self._composed.get(value)
        if found is not None:
            return found
        if self._words is None:
            self._words = frozenset(_WORD_CHARS.findall(self.blob))
        count = 0
        found = True
        for match in _WORD_CHARS.finditer(value.casefold()):
            if match.group(0) not in self._words:
                found = False  # the first word the instruction lacks ends it (long texts)
                break
            count += 1
        found = found and count >= 2
        self._composed[value] = found
        return found


_WORD_CHARS = re.compile(r"\w+")
_MARKUP = re.compile(
    r"(?<![^\s(\[{\"'`])\*{1,3}(?=[^\s*\d])"  # opening: "**5 lines", "*note"
    r"|(?<=[^\s*])\*{1,3}(?=[\s.,;:!?)\]}\"'`]|$)"  # closing: "lines**", "id:**"
    r"|(?<![^\s(\[{\"'`])\*{2,3}(?=[-−+$€£¥]?\d)"  # "**5 lines**", "**+20.5%**"
)


def _demark(text: str, facts: Sequence[Fact]) -> str:
    """``text`` with markdown emphasis ("**5 lines**", "*note*") turned to spaces (a power
    "2**3", a product "2 * 3" and a fact's own stars, a password's, kept)."""
    if "*" not in text:
        return text
    kept = [
        (match.start(), match.end())
        for fact in facts
        if isinstance(fact.value, str) and "*" in fact.value
        for match in re.finditer(re.escape(fact.value), text)
    ]
    return _MARKUP.sub(
        lambda match: (
            match.group(0)
            if any(a < match.end() and match.start() < b for a, b in kept)
            else " " * len(match.group(0))
        ),
        text,
    )


class _Reading:
    """An answer read once for all its facts (see the module docstring)."""

    def __init__(
        self,
        text: str,
        facts: Sequence[Fact],
        context: Sequence[Any],
        responses: Sequence[Mapping[str, Any] | None],
        instruction: str | None,
        paths: Sequence[tuple[int, int, tuple[str, ...]]] = (),
    ) -> None:
        # Markdown emphasis ("**5 lines**", "*note*") is spacing, not a word or a value
        # (a power "2**3" and a product "2*3" keep their stars)
        text = _demark(text, facts)
        self.text = text
        self.low = _fold(text)
        self.facts = list(facts)
        self.instruction = instruction
        self.responses = list(responses)
        self.paths = list(paths)
        self.said = _Said(instruction, context, responses)
        # Without responses nothing tells a made-up number from one a response gave.
        self.informed = any(response is not None for response in responses) or bool(context)
        self.names = [_names_of(fact) if fact.kind != "choice" else [] for fact in facts]
        self._dims: dict[int, str] = {}
        self._siblings: dict[int, list[tuple[frozenset[str], frozenset[str], Any]]] = {}
        self._records: list[tuple[tuple[float, ...], frozenset[str], frozenset[str]]] | None = None
        self._global_words: frozenset[str] = frozenset()
        self.gold_shapes = [
            _shape(str(fact.value)) if fact.kind in ("id", "text") else None for fact in facts
        ]
        self._known(context, responses)
        self._subjects()
        self.asked = self._asked_words()
        self.clause_starts = [0] + [m.end() for m in _CLAUSE_END.finditer(text)]
        self.occurrences: list[_Occurrence] = []
        self.masked = list(self.low)
        self._find_facts_and_rivals(responses)
        self._find_tokens()
        self._find_numbers()
        self.occurrences.sort(key=lambda occurrence: (occurrence.start, occurrence.end))
        self._label_parts()
        self._surroundings()
        for occurrence in self.occurrences:
            occurrence.named = self._named(occurrence)
        self._tie_groups()

    # -- what the responses hold ----------------------------------------------------------

    def _known(self, context: Sequence[Any], responses: Sequence[Mapping[str, Any] | None]) -> None:
        """Every text and id-like token the responses, the context and the instruction
        hold, and each response field's values (a fact's same-field rivals)."""
        self.known_texts: set[str] = set()
        self.known_numbers: set[float] = {abs(number) for number in self.said.numbers}
        self.field_values: dict[str, set[str]] = {}
        # (the words of the key holding it, the value): what a response calls each value
        self.keyed: list[tuple[frozenset[str], frozenset[str], Any]] = []
        self.response_texts: list[str] = []
        self.unit_words: set[str] = set()  # what a response says its values count ("visitors")
        # the numbers and id-like tokens inside the texts are read on first use
        self._texts: list[str] = []
        self._expanded = False
        seen: set[str] = set()

        def visit(value: Any, key: str, record: bool) -> None:
            if isinstance(value, Mapping):
                for name, item in value.items():
                    visit(item, str(name), record)
            elif isinstance(value, (list, tuple)):
                for item in value:
                    visit(item, key, record)
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                if math.isfinite(value):
                    self.known_numbers.add(abs(float(value)))
                    if record and key:
                        self.keyed.append((*_key_names(key), float(value)))
            elif isinstance(value, str):
                if not record and value in seen:
                    return  # a context value a response already gave
                seen.add(value)
                self._texts.append(value)
                folded = _squeeze(value)
                self.known_texts.add(folded)
                if key in ("unit", "units") and 0 < len(folded) <= 20 and " " not in folded:
                    self.unit_words.update((folded, _word(folded)))
                if 0 < len(folded) <= 200:
                    self.field_values.setdefault(key, set()).add(folded)
                    if record and key:
                        self.keyed.append((*_key_names(key), folded.strip(" .")))
                if record:
                    self.response_texts.append(folded)

        for response in responses:
            if response is not None:
                visit(response, "", True)
        for value in context:
            visit(value, "", False)
        if self.said.blob:
            self._texts.append(self.said.blob)
        self.known_texts.update(self.said.texts)

    def _expand_known(self) -> bool:
        """Read the numbers and id-like tokens inside the texts (once); whether it did."""
        if self._expanded:
            return False
        self._expanded = True
        for value in self._texts:
            self.known_numbers.update(abs(number) for number in extract_numbers(value))
            self.known_texts.update(_fold(token) for token in _id_tokens(value))
        return True

    def _is_known(self, token: str) -> bool:
        if token in self.known_texts or self.said.holds(token):
            return True
        return self._expand_known() and token in self.known_texts

    def _known_number(self, occurrence: _Occurrence) -> bool:
        """Whether a response, the context or the instruction holds the number, as
        written (rounded to its decimals: "12.21" is the 12.2057 a response gave)."""
        written = self.text[occurrence.start : occurrence.end]
        decimals = len(written.split(".")[1]) if "." in written else 0
        tolerance = 0.5 * 10 ** (-decimals) + 1e-9
        magnitude = abs(occurrence.value)
        for _ in range(2):
            if any(abs(number - magnitude) <= tolerance for number in self.known_numbers):
                return True
            if not self._expand_known():
                return False
        return False

    # -- locating values ------------------------------------------------------------------

    def _clause(self, position: int) -> int:
        return bisect.bisect_right(self.clause_starts, position) - 1

    def _mask(self, start: int, end: int) -> None:
        for position in range(start, end):
            self.masked[position] = " "

    def _add(self, occurrence: _Occurrence) -> _Occurrence:
        occurrence.clause = self._clause(occurrence.start)
        self.occurrences.append(occurrence)
        return occurrence

    def _find_facts_and_rivals(self, responses: Sequence[Mapping[str, Any] | None]) -> None:
        spans: dict[tuple[int, int], set[int]] = {}
        self.factor_gold: dict[int, tuple[int, ...]] = {}
        # Rival texts: the other candidates of a text fact (its alternatives, the same
        # field's values in the responses, the other members of its closed set).
        self.rival_texts: dict[int, set[str]] = {}
        # the ones it was chosen among: its list's other items, its own response's values
        # of its field, its closed set (the others are values of other things)
        self.strict_rivals: dict[int, set[str]] = {}
        self.closed: dict[int, set[str]] = {}
        for index, fact in enumerate(self.facts):
            if _is_factorization(fact):
                self.factor_gold[index] = _factor_multiset(str(fact.value)) or ()
                continue
            if fact.kind == "text":
                gold = _squeeze(str(fact.value)).strip(" .")
                strict = {_squeeze(str(item)).strip(" .") for item in fact.alternatives}
                key = _source_key(fact)
                rivals: set[str] = set()
                if key:
                    rivals |= {item.strip(" .") for item in self.field_values.get(key, ())}
                    own = self._source_response(index)
                    strict |= {
                        _squeeze(str(value)).strip(" .")
                        for name, value in _pairs(own or {})
                        if name == key and isinstance(value, str)
                    }
                self.closed[index] = _closed_set(fact.value, self.instruction)
                strict |= self.closed[index]
                self.strict_rivals[index] = {r for r in strict - {gold, ""} if len(r) >= 2}
                rivals |= strict
                self.rival_texts[index] = {r for r in rivals - {gold, ""} if len(r) >= 2}
            exact = _case_matters(fact.value) and fact.kind in ("id", "text")
            found: list[tuple[int, int]] = []
            if fact.kind in ("text", "choice"):
                found = _text_spans(fact.value, self.low)
            elif fact.kind == "id":
                wanted = _squeeze(str(fact.value))
                if wanted:
                    pattern = r"(?<![\w-])" + re.escape(wanted) + r"(?![\w-])"
                    found = (
                        [match.span() for match in _compiled(pattern).finditer(self.low)]
                        if wanted in self.low
                        else []
                    )
            if not found and fact.kind in ("text", "id") and _PHONE.fullmatch(str(fact.value)):
                found = _phone_spans(str(fact.value), self.low)  # "+1 555 9987"
            # A value whose letter case carries information (a password, a camelCase
            # text) is stated only in its own case.
            if exact:
                wanted = " ".join(str(fact.value).split())
                found = [(a, b) for a, b in found if " ".join(self.text[a:b].split()) == wanted]
            # "partly cloudy" is not "cloudy": a rival text containing the value wins.
            longer = [
                span
                for rival in self.rival_texts.get(index, ())
                if len(rival) > len(_squeeze(str(fact.value)))
                for span in _text_spans(rival, self.low)
            ]
            for a, b in found:
                if not any(x <= a and b <= y and (x, y) != (a, b) for x, y in longer):
                    spans.setdefault((a, b), set()).add(index)
        # Factorisations first: their numbers are factors, not counts.
        if self.factor_gold:
            taken: list[tuple[int, int]] = []
            for pattern in (_FACTORS, _COMMA_FACTORS):
                for match in pattern.finditer(self.low):
                    start, end = match.span()
                    if any(s < end and start < e for s, e in taken):
                        continue
                    factors = _factor_multiset(match.group(0))
                    if factors is None:
                        continue
                    if pattern is _COMMA_FACTORS and not all(_prime(f) for f in factors):
                        continue
                    if any(s <= start and end <= e for s, e in spans):
                        continue  # inside a fact's text
                    taken.append((start, end))
                    hits = {i for i, gold in self.factor_gold.items() if gold == factors}
                    self._add(_Occurrence(start, end, "factors", factors, hits=hits))
                    self._mask(start, end)
        # Each fact's own text: the longest spans first; a fact found inside another
        # fact's text is stated there too ("Leeds" inside the address).
        placed: list[_Occurrence] = []
        for (start, end), indices in sorted(
            spans.items(), key=lambda item: item[0][0] - item[0][1]
        ):
            outer = next((o for o in placed if o.start <= start and end <= o.end), None)
            if outer is not None:
                outer.hits |= indices
                continue
            if any(o.start < end and start < o.end for o in placed):
                continue
            kinds = {self.facts[i].kind for i in indices}
            occurrence = _Occurrence(
                start, end, "token" if kinds == {"id"} else "text", self.low[start:end]
            )
            occurrence.hits = set(indices)
            occurrence.shape = _shape(self.text[start:end])
            placed.append(occurrence)
            self._add(occurrence)
            self._mask(start, end)
        # Rival texts, where the answer names them (longest first).
        wanted: dict[str, set[int]] = {}
        for index, rivals in self.rival_texts.items():
            for rival in rivals:
                wanted.setdefault(rival, set()).add(index)
        for rival in sorted(wanted, key=lambda text: (-len(text), text)):
            for start, end in _text_spans(rival, self.low):
                same = next(
                    (
                        o
                        for o in self.occurrences
                        if (o.start, o.end) == (start, end) and o.rival_of
                    ),
                    None,
                )
                if same is not None:
                    same.rival_of |= wanted[rival]
                    continue
                if any(o.start < end and start < o.end for o in self.occurrences):
                    continue
                occurrence = _Occurrence(start, end, "text", rival)
                occurrence.rival_of = set(wanted[rival])
                occurrence.shape = _shape(self.text[start:end])
                self._add(occurrence)
                self._mask(start, end)

    def _find_tokens(self) -> None:
        masked = "".join(self.masked)
        for match in _PHONE_AT.finditer(masked):
            start, end = match.span()
            occurrence = _Occurrence(start, end, "token", self.low[start:end], shape=("phone",))
            self._add(occurrence)
            self._mask(start, end)
        masked = "".join(self.masked)
        for match in re.finditer(r"\S+", masked):
            start, end = match.span()
            while start < end and self.text[start] in "([{<":
                start += 1
            while end > start and self.text[end - 1] in ")]}>,;:.!?":
                end -= 1
            if end - start < 3:
                continue
            raw = self.text[start:end]
            shape = _shape(raw)
            if shape is None:
                continue
            occurrence = _Occurrence(start, end, "token", self.low[start:end], shape=shape)
            self._add(occurrence)
            self._mask(start, end)

    def _find_numbers(self) -> None:
        masked = "".join(self.masked)
        for match in _NOT_NUMBERS.finditer(masked):
            self._mask(*match.span())
        masked = "".join(self.masked)
        for match in _RANGE.finditer(masked):
            first, second = ("a", "b") if match.group("a") is not None else ("c", "d")
            if first == "a" and re.search(r"\bfrom\s*$", masked[: match.start()]):
                continue  # "from 12.2 to 19.46" is a change, not a range
            ends = (_parse_number(match.group(first)), _parse_number(match.group(second)))
            if None in ends:
                continue
            self._add(_Occurrence(*match.span(), "range", ends))
            self._mask(*match.span())
        masked = "".join(self.masked)
        for match in self._number_matches(masked):
            start, end = match.span()
            before = masked[start - 1] if start else " "
            if before.isalnum() or before in "_.":
                continue
            if re.match(r"\.?\d", masked[end : end + 2]):
                continue
            unit = re.match(r"[^\W\d_]+", masked[end:])
            if unit and unit.group(0) not in _UNITS:
                continue
            value = _parse_number(match.group(0))
            if value is None:
                continue
            if match.group(0)[0] not in "-−+" and value > 0:
                ahead = masked[max(0, start - 40) : start]
                down = _DOWN_BEFORE.search(ahead) or _DOWN_AFTER.match(masked[end : end + 40])
                if down and not re.search(r"\bdown\s+(?:to|from)\s*$", ahead):
                    value = -value  # "5.06% below", "a decrease of 5.06%", "fell by 5.06%"
            elif value < 0 and _UP_AFTER.match(masked[end : end + 40]):
                value = -value  # "-21.4991% (an increase)": the words contradict the sign
            elif match.group(0)[0] == "+" and _DOWN_AFTER.match(masked[end : end + 40]):
                value = -value  # "+5.06% (a decrease)"
            self._add(_Occurrence(start, end, "number", value))
        # Small numbers in words: "five lines", "four entries", "twenty-one rows".
        for match in _NUMBER_WORD.finditer(masked):
            start, end = match.span()
            tens, units = match.group("tens"), match.group("units")
            if units and _NUMBER_WORDS[tens] < 20:
                continue  # "five-one" is no number
            value = _NUMBER_WORDS[tens] + (_NUMBER_WORDS[units] if units else 0)
            following = masked[end : end + 30]
            if tens == "one" and not units:
                # "one" is a number before a noun ("one error"), not a pronoun ("the newest
                # one", "one of them", "no one")
                lead = re.search(r"(?:^|\s)([a-z]+)\s*$", masked[max(0, start - 20) : start])
                noun = re.match(r"\s+([a-z][a-z-]*)", following)
                pronoun = (
                    noun is None
                    or noun.group(1) in _STOP
                    or noun.group(1) in _PREPOSITIONS
                    or noun.group(1) in ("another", "other", "more")
                    or (lead is not None and lead.group(1) in _PRONOUN_LEADS)
                )
                if pronoun and not re.match(r"\s*(?:or|to|-|–)\s*(?:\d|[a-z]+\b)", following):
                    continue
            self._add(_Occurrence(start, end, "number", float(value)))

    def _number_matches(self, masked: str) -> list[re.Match[str]]:
        """The numbers written in ``masked``. Digit groups of three after a space are one
        number ("708 802", "708\u202f802") when a no-break or thin space joins them, or a
        plain space and the responses hold the whole and not each part ("14 547" is the
        ETA 14 and the range 547 when those are what the responses hold)."""
        found: list[re.Match[str]] = []
        for match in _NUMBER_AT.finditer(masked):
            written = match.group(0)
            if " " in written:
                whole = _parse_number(written)
                parts = [float(part) for part in re.findall(r"\d+(?:\.\d+)?", written)]
                if not (
                    whole is not None
                    and self._known_value(abs(whole))
                    and not all(self._known_value(part) for part in parts)
                ):
                    found.extend(_PLAIN_NUMBER.finditer(masked, match.start(), match.end()))
                    continue
            found.append(match)
        return found

    def _known_value(self, value: float) -> bool:
        for _ in range(2):
            if any(abs(number - value) <= 1e-9 * max(1.0, value) for number in self.known_numbers):
                return True
            if not self._expand_known():
                return False
        return False

    # -- what stands around each value ----------------------------------------------------

    def _label_parts(self) -> None:
        """An id inside a label names what the value after it is of ("Schema title
        (employee-record/v1): Employee roster entry", "Title of employee-record/v1: ..."):
        it is part of that label, not a value (unless it is shaped like a fact's value)."""
        self.label_low = self.low
        kept: list[_Occurrence] = []
        blanked: list[str] | None = None
        for occurrence in self.occurrences:
            if occurrence.kind == "token" and not occurrence.hits and self._in_label(occurrence):
                blanked = blanked or list(self.low)
                blanked[occurrence.start : occurrence.end] = " " * (
                    occurrence.end - occurrence.start
                )
                continue
            kept.append(occurrence)
        if blanked is not None:
            self.occurrences = kept
            self.label_low = "".join(blanked)

    def _in_label(self, occurrence: _Occurrence) -> bool:
        line_end = self.low.find("\n", occurrence.end)
        rest = self.low[occurrence.end : line_end if line_end >= 0 else len(self.low)]
        if not re.match(r"[ \t]*[)\]]?[ \t]*[:=][ \t]*\S", rest):
            return False
        line_start = self.low.rfind("\n", 0, occurrence.start) + 1
        before = self.low[line_start : occurrence.start]
        if not re.search(r"[a-z]{3}.*(?:\(|\b(?:of|for)\s+(?:the\s+)?(?:[a-z]+\s+)?)$", before):
            return False
        return not any(
            fact.kind in ("id", "text") and _same_shape(occurrence.shape, _shape(str(fact.value)))
            for fact in self.facts
        )

    def _unit(self, occurrence: _Occurrence) -> str:
        """The dimension a number's unit says: "%" percent, "71.4 mm" length, "26 °C"
        temperature, "15-minute" time, "$156.00" currency; a response's own unit ("15,943
        visitors") is a dimension of its own; "" when it has none."""
        written = self.text[occurrence.start : occurrence.end]
        if any(sign in written for sign in "$€£¥"):
            return "currency"
        match = _UNIT_AFTER.match(self.low, occurrence.end)
        if match is not None:
            if match.group("percent"):
                return "percent"
            if match.group("degree"):
                return "temperature"
            word = match.group("word")
            if word:
                dimension = _DIMENSION_OF.get(word) or _DIMENSION_OF.get(_word(word))
                if dimension:
                    return dimension
                if word in self.unit_words or _word(word) in self.unit_words:
                    return f"unit {_word(word)}"
        if re.search(
            r"\b(?:usd|eur|gbp)\s*$", self.low[max(0, occurrence.start - 5) : occurrence.start]
        ):
            return "currency"
        return ""

    def _surroundings(self) -> None:
        occurrences = self.occurrences
        post_end: dict[int, int] = {}
        for position, occurrence in enumerate(occurrences):
            if occurrence.kind != "number":
                continue
            # A number's unit or noun after it ("5 lines", "456 km of range"): the words up
            # to a stop, unless they run into the next value (then they are its label).
            following = occurrences[position + 1] if position + 1 < len(occurrences) else None
            next_clause = (
                self.clause_starts[occurrence.clause + 1]
                if occurrence.clause + 1 < len(self.clause_starts)
                else len(self.low)
            )
            end = next_clause
            if following is not None and following.start < end:
                end = following.start
            window = self.low[occurrence.end : end]
            if set(_label_words(window)) & _COMPARED:
                occurrence.compared = True  # "2952 vs 704": both sides of a comparison
            occurrence.unit = self._unit(occurrence)
            cut = _POST_CUT.search(window)
            if cut is not None and cut.group(0) in ("in", "of", "for", "to", "on"):
                # "$156.00 in tickets", "7 minutes to reach it": what the number is of
                noun = _AFTER_NOUN.match(window, cut.start())
                if noun is not None:
                    occurrence.after = [
                        _word(word)
                        for word in noun.groups()
                        if word and _word(word) not in _STOP | _HEDGES
                    ]
            if cut is None and end != next_clause:
                continue  # "41 rows 42": "rows" is as much 42's as 41's
            window = window[: cut.start()] if cut else window
            taken = [
                match
                for match in _WORDS.finditer(window)
                if _word(match.group(0)) not in _STOP | _HEDGES
            ][:2]
            occurrence.post = [_word(match.group(0)) for match in taken]
            post_end[position] = occurrence.end + (taken[-1].end() if taken else 0)
        low = self.label_low
        trailing = self._trailing_labels()
        for position, occurrence in enumerate(occurrences):
            clause_start = self.clause_starts[occurrence.clause]
            previous = occurrences[position - 1] if position else None
            gap_start = clause_start
            label_start = clause_start
            if previous is not None and previous.clause == occurrence.clause:
                gap_start = max(gap_start, previous.end)
                # "46 words (38 unique)": "words" is 46's, not 38's
                label_start = max(gap_start, post_end.get(position - 1, gap_start))
            gap = low[gap_start : occurrence.start] if gap_start < occurrence.start else ""
            occurrence.gap = gap
            words = _label_words(gap)
            hedges = set(words) & _HEDGES
            occurrence.hedged = bool(hedges) or bool(re.search(r"[/?~]", gap))
            # "about 7 minutes": an approximation, not another candidate, when nothing else
            # in the gap offers it as one
            occurrence.approx = (
                occurrence.hedged
                and hedges <= _APPROX
                and not re.search(r"[/?]", gap)
                and re.search(r"(?:\b(?:" + "|".join(_APPROX) + r")|~)\W*$", gap) is not None
            )
            occurrence.compared = (
                occurrence.compared
                or bool(set(words) & _COMPARED)
                or bool(re.search(r"\bout\s+of\s*$", gap))  # "8 shared words out of 82"
            )
            # Its label: the words before it, back to the value before it or an opening
            # parenthesis ("1 error (record 3 ...": "record" labels 3, "error" does not).
            labelled = low[label_start : occurrence.start] if label_start < occurrence.start else ""
            own = re.split(r"[()\[\]]", labelled)[-1]
            if not [word for word in _label_words(own) if word not in _STOP]:
                # "more impressions (2952 vs 704)", "the latest value (2025-06-15) is 19,210":
                # the words before the parenthesis label it
                own = labelled
            occurrence.own_start = occurrence.start - len(own)
            occurrence.pre = [
                word for word in reversed(_label_words(own)) if word not in _STOP | _HEDGES
            ]
            occurrence.near = [
                word
                for word in reversed(_label_words(re.split(r"[.!?]\s", own)[-1]))
                if word not in _STOP | _HEDGES and len(word) >= 3
            ][:5]
            if (
                not occurrence.pre
                and previous is not None
                and previous.clause == occurrence.clause
                and any(self.facts[i].kind == "choice" for i in previous.hits)
                and re.fullmatch(
                    r"\s*(?:['’]s)?\s*[:(=—–-]?\s*", low[previous.end : occurrence.start]
                )
            ):
                # "Mia Schneider (2,952)", "Mia Schneider: 2,952": the option's own number
                occurrence.pre = [
                    word
                    for word in reversed(_label_words(low[previous.start : previous.end]))
                    if word not in _STOP
                ]
                occurrence.near = [word for word in occurrence.pre if len(word) >= 3]
            if not occurrence.pre and self.paths:
                # a list's later items under a key: {"bid": [766.48, 766.79]} labels both
                spans = [
                    (start, keys)
                    for start, end, keys in self.paths
                    if start < occurrence.start and occurrence.end <= end and keys
                ]
                if spans:
                    key = max(spans, key=lambda span: span[0])[1][-1]
                    occurrence.pre = [
                        word for word in reversed(_label_words(_fold(key))) if word not in _STOP
                    ]
                    occurrence.near = [word for word in occurrence.pre if len(word) >= 3][:5]
                    occurrence.connector = True
                    continue
            if position in trailing:
                # "766.79 is COST's bid", "TCK-1 is the ticket's record id": the label after
                # "is" is the value's (before its own, if it has one, when it names a fact or
                # a response field: "ask price: 766.79 is its bid")
                words, head, end, names = trailing[position]
                if not occurrence.pre or names:
                    occurrence.pre = words + occurrence.pre
                    occurrence.near = [word for word in occurrence.pre if len(word) >= 3][:5]
                    occurrence.head = head
                    occurrence.connector = True
                    post_end[position] = end
                    continue
            last_word = None
            for match in _WORDS.finditer(own):
                if _word(match.group(0)) not in _STOP:
                    last_word = match
            after = own[last_word.end() :] if last_word else own
            occurrence.connector = bool(after.strip()) and bool(_CONNECTOR.search(after.rstrip()))
            if occurrence.connector:
                # "Title of employee-record/v1: ...", "the id of the snippet "..." is ...":
                # the words before "of" say what the value is
                raw = [match.group(0) for match in _WORDS.finditer(own)]
                cut = next((i for i, word in enumerate(raw) if word in ("of", "for")), None)
                if cut:
                    occurrence.head = [
                        _word(word) for word in reversed(raw[:cut]) if _word(word) not in _STOP
                    ]
        self._paired_labels()

    def _paired_labels(self) -> None:
        """Two labels written together before two values, one for each in order: "COST's
        ask and bid are 766.79 and 766.48 respectively", "bid/ask 766.48/766.79"."""
        occurrences = self.occurrences
        for first, second in itertools.pairwise(occurrences):
            if first.clause != second.clause or len(first.pre) < 2 or second.pre:
                continue
            between = self.low[first.end : second.start]
            start = max(self.clause_starts[first.clause], first.own_start)
            before = self.label_low[start : first.start]
            word = r"([^\W\d_][\w-]*)"
            if re.fullmatch(r"\s*/\s*", between):
                pair = re.search(
                    word + r"\s*/\s*" + word + r"\s*(?:[:=]|\b(?:is|are|was|were)\b)?\s*$",
                    before,
                )
            elif re.fullmatch(r"\s*(?:,|and|&)\s*", between) and re.match(
                r"\s*,?\s*\(?respectively\b", self.low[second.end :]
            ):
                pair = re.search(
                    word
                    + r"\s*(?:,|and|&)\s*(?:(?:its|their|the)\s+)?"
                    + word
                    + r"\s*(?:[:=]|\b(?:are|were)\b)\s*$",
                    before,
                )
            else:
                continue
            if pair is None:
                continue
            one, two = _word(pair.group(1)), _word(pair.group(2))
            if first.pre[:2] != [two, one]:
                continue
            rest = first.pre[2:]
            first.pre = [one, *rest]
            second.pre = [two, *rest]
            for occurrence in (first, second):
                occurrence.near = [word for word in occurrence.pre if len(word) >= 3][:5]
                occurrence.connector = True
            second.hedged = second.approx = False
            rest_gap = first.gap.replace(pair.group(0), " ")
            first.hedged = bool(set(_label_words(rest_gap)) & _HEDGES) or bool(
                re.search(r"[/?~]", rest_gap)
            )

    def _trailing_labels(self) -> dict[int, tuple[list[str], list[str], int, bool]]:
        """Values written first and labelled after "is" ("766.79 is COST's bid and 766.48
        is its ask", "2790 bytes is its original size"): for each, its label words (closest
        first, as if written before it), the words before "of" in them ("the bid of COST":
        "bid"), where the label ends, and whether it names a fact or a response field."""
        found: dict[int, tuple[list[str], list[str], int, bool]] = {}
        occurrences = self.occurrences
        telling = {word for _, words, _ in self.keyed for word in words}
        for _, full, _ in (name for names in self.names for name in names):
            telling |= full
        for position, occurrence in enumerate(occurrences):
            if occurrence.kind not in ("number", "token"):
                continue
            end = (
                self.clause_starts[occurrence.clause + 1]
                if occurrence.clause + 1 < len(self.clause_starts)
                else len(self.low)
            )
            if position + 1 < len(occurrences):
                end = min(end, occurrences[position + 1].start)
            window = self.low[occurrence.end : end]
            unit = r"(?:\s*(?:%|°\w?|[^\W\d_][\w-]*))?" if occurrence.kind == "number" else ""
            lead = re.match(unit + r"[\s)]*\b(?:is|was|are|were)\s+(?!not\b)", window)
            if lead is None:
                continue
            rest = window[lead.end() :]
            stop = re.search(
                r"[,;:()\[\]]|\.(?:\s|$)|\b(?:and|but|while|whereas|than|which|that|so)\b", rest
            )
            label = rest[: stop.start()] if stop else rest
            raw = [word for word in _label_words(label) if word not in _STOP | _HEDGES]
            if not raw:
                continue
            cut = re.split(r"\b(?:of|for)\b", label, maxsplit=1)
            head = (
                [w for w in reversed(_label_words(cut[0])) if w not in _STOP | _HEDGES]
                if len(cut) > 1
                else []
            )
            names = bool(set(raw) & telling)
            found[position] = (
                list(reversed(raw)),
                head,
                occurrence.end + lead.end() + len(label),
                names,
            )
        return found

    def _same_kind(self, occurrence: _Occurrence, index: int) -> bool:
        """Whether ``occurrence`` is a value of fact ``index``'s kind: a number for a
        number; for an id, a token of its shape (a URL or a path is not an id, nor is an
        id inside one); for a text, a text, a factorisation, or a token of its shape."""
        fact = self.facts[index]
        if fact.kind == "number":
            return occurrence.kind == "number"
        if fact.kind not in ("id", "text"):
            return False
        if occurrence.kind == "text":
            return fact.kind == "text"
        if occurrence.kind == "factors":
            return fact.kind == "text"
        if occurrence.kind != "token":
            return False
        gold = self.gold_shapes[index]
        if fact.kind == "id":
            return gold is None or occurrence.shape is None or _same_shape(occurrence.shape, gold)
        return gold is not None and _same_shape(occurrence.shape, gold)

    def _named(self, occurrence: _Occurrence) -> set[int]:
        """The facts the label next to ``occurrence`` names, most specific first: a label
        of its own kind right before or after it ("41 rows", "row count 41"), or any
        label written "label: value" / "label is value" / "label = value". A label names a
        fact by the fact's label, its source key, or the instruction's words for it
        ("smallest total", "the result", "number of errors"). A label that names the
        response field holding the value more closely than any fact ("previous version
        VER-B2DDB9", "bid 68.57") names no fact: the value is context (``field``)."""
        pre = [word for word in occurrence.pre if word not in self.subject_words]
        post = [word for word in occurrence.post if word not in self.subject_words]
        # a unit says what kind of value a number is, not which one: "7 minutes" does not
        # name the ETA in minutes (a fact named only by units is, though)
        bare = [word for word in post if word not in _DIMENSION_OF]
        if post and not bare:
            # "547 km of range left": what follows the unit says what the number is
            bare = [word for word in occurrence.after if word not in self.subject_words]
        head = [word for word in occurrence.head if word not in self.subject_words]
        best: list[tuple[int, int, int]] = []  # (size, position of its closest word, fact)
        partial: dict[int, bool] = {}
        for index, names in enumerate(self.names):
            same_kind = self._same_kind(occurrence, index)
            found: list[tuple[int, int]] = []
            for required, full, _ in names:
                after = post if required <= _DIMENSION_OF.keys() else bare
                if same_kind or occurrence.connector:
                    size = _match_size(pre, required, full)
                    if size:
                        found.append((size, _first(pre, full)))
                    size = _match_size(head, required, full)
                    if size:
                        found.append((size, _first(pre, full)))
                if same_kind:
                    size = _match_size(after, required, full)
                    if size:
                        found.append((size, 0))
            named_by_name = bool(found)
            asked = self.asked[index]
            units_only = asked <= _DIMENSION_OF.keys()
            after = post if units_only else bare
            # a value of another kind is named only by its closest word ("email: 41"), not
            # by any word of a long key ("UUID in the customers dataset namespace")
            loose = same_kind or (occurrence.connector and bool(pre) and pre[0] in asked)
            if asked and loose and set(pre[:3]) & asked and not _other_thing(pre, asked):
                found.append((len(set(pre[:3]) & asked), _first(pre, asked)))
            if asked and (same_kind or occurrence.connector) and set(head[:3]) & asked:
                found.append((len(set(head[:3]) & asked), _first(pre, asked)))
            if asked and same_kind and set(after[:2]) & asked:
                found.append((len(set(after[:2]) & asked), 0))
            if found:
                size, position = max(found, key=lambda item: (item[0], -item[1]))
                best.append((size, position, index))
                # named only by part of the instruction's words ("absolute change" for the
                # "percentage change")
                partial[index] = not named_by_name and size < len(asked)
        top = max((size for size, _, _ in best), default=0)
        closest = min((position for size, position, _ in best if size == top), default=99)
        held, held_at, whole = self._field_size(occurrence, pre)
        tops = [index for size, _, index in best if size == top]
        # the field's whole key against only part of the fact's words ("absolute change"
        # for ``change``, not the "percentage change")
        whole_key = whole and bool(tops) and all(partial.get(index) for index in tops)
        # the field wins when its word stands closer ("the copy's SHA-256": the sha256), or
        # as close and with more words ("previous version": previous_version_id)
        occurrence.field = held > 0 and (
            held_at < closest or (held_at == closest and (held > top or whole_key))
        )
        occurrence.labels = {index for size, _, index in best if size == top}
        if not best or occurrence.field:
            return set()
        return occurrence.labels

    def _field_size(self, occurrence: _Occurrence, pre: Sequence[str]) -> tuple[int, int, bool]:
        """How many words of the value's label (before it, or its noun after it: "450.00
        subtotal", "25.34 in fees") name a response field that holds that very value."""
        if occurrence.kind == "number":
            written = self.text[occurrence.start : occurrence.end]
            decimals = len(written.split(".")[1]) if "." in written else 0
            tolerance = 0.5 * 10 ** (-decimals) + 1e-9
            holders = [
                (full, telling)
                for full, telling, value in self.keyed
                if isinstance(value, float)
                and min(abs(value - occurrence.value), abs(abs(value) - abs(occurrence.value)))
                <= tolerance
            ]
        elif occurrence.kind in ("text", "token"):
            wanted = _squeeze(self.text[occurrence.start : occurrence.end]).strip(" .")
            holders = [
                (full, telling)
                for full, telling, value in self.keyed
                if isinstance(value, str) and value == wanted
            ]
        else:
            return 0, 99, False
        if not holders:
            return 0, 99, False
        nouns = [word for word in occurrence.post if word not in self.subject_words]
        if occurrence.kind == "number" and not nouns:
            # "25.34 in fees": the noun after a preposition
            following = re.match(
                r"\s*(?:in|of|for)\s+(?:the\s+)?([^\W\d_][\w-]*)", self.low[occurrence.end :]
            )
            if following:
                nouns = [_word(following.group(1))]
        best, at, whole = 0, 99, False
        for full, telling in holders:
            for window, offset in ((list(pre[:3]), True), (nouns, False)):
                matched = set(window) & full
                if matched & telling:
                    position = _first(window, full) if offset else 0
                    if (len(matched), -position) > (best, -at):
                        best, at, whole = len(matched), position, matched == full
        return best, at, whole

    def _from_to(self, occurrence: _Occurrence) -> bool:
        """Whether a number is an end of "from A to B" where one response holds A under a
        key that says start (``old_value``, ``from``...) and B under one that says end."""
        if occurrence.kind != "number":
            return False
        position = self.occurrences.index(occurrence)
        pairs = []
        if position + 1 < len(self.occurrences):
            pairs.append((occurrence, self.occurrences[position + 1]))
        if position:
            pairs.append((self.occurrences[position - 1], occurrence))
        for first, second in pairs:
            if first.kind != "number" or second.kind != "number":
                continue
            if not re.search(r"\bfrom\s*$", self.low[max(0, first.start - 12) : first.start]):
                continue
            if not re.fullmatch(r"\s*(?:to|->|→)\s*", self.low[first.end : second.start]):
                continue
            for response in self.responses:
                if not isinstance(response, Mapping):
                    continue
                starts = ends = False
                for key, value in _pairs(response):
                    if isinstance(value, bool) or not isinstance(value, (int, float)):
                        continue
                    words = set(_key_names(key)[0])
                    if abs(value - first.value) < 1e-6 and words & _STARTS:
                        starts = True
                    if abs(value - second.value) < 1e-6 and words & _ENDS:
                        ends = True
                if starts and ends:
                    return True
        return False

    def _instruction_label(self, occurrence: _Occurrence) -> bool:
        """Whether a value stands under a label the instruction writes as one ("Test files:
        1" for 'a line "Test files: <count>"'), naming what the instruction says it is."""
        if not self.said.blob:
            return False
        label = self.low[occurrence.own_start : occurrence.start]
        label = re.sub(r"^[\W_]+|[\s:=]+$", "", label)
        if len(label) < 4 or not re.search(r"[a-z]{3}", label):
            return False
        if label not in self.said.blob:
            return False
        return _compiled(re.escape(label) + r"\s*[:=]\s*\S").search(self.said.blob) is not None

    def _quoted(self, occurrence: _Occurrence) -> bool:
        """Whether a number is quoted with the words a response text puts before it
        ("record 3: missing required field", "got 70000")."""
        if occurrence.kind != "number":
            return False
        start = self.clause_starts[occurrence.clause]
        tokens = self.low[start : occurrence.start].split()
        written = self.low[occurrence.start : occurrence.end]
        for count in range(1, min(3, len(tokens)) + 1):
            lead = " ".join(tokens[-count:]).lstrip("([{\"'`")
            if not re.search(r"[a-z]", lead):
                continue
            snippet = _squeeze(f"{lead} {written}")
            if any(snippet in text for text in self.response_texts):
                return True
        return False

    # -- facts that share a label: which subject each value is said of --------------------

    def _subjects(self) -> None:
        """Group the facts that share a label (and do not all have one value) and gather
        the names each is told apart by: its ``subject``, and the fields of its response
        that the instruction states and its siblings' responses do not share (the
        algorithm of a checksum, the city of a forecast)."""
        self.group_of: dict[int, tuple[int, ...]] = {}
        self.subject_names: dict[int, list[str]] = {}
        groups: dict[str, list[int]] = {}
        for index, fact in enumerate(self.facts):
            if fact.kind not in ("choice", "boolean") and fact.label:
                groups.setdefault(fact.label, []).append(index)
        for members in groups.values():
            if len(members) < 2:
                continue
            if (
                len({json.dumps(self.facts[i].value, sort_keys=True, default=str) for i in members})
                < 2
            ):
                continue  # one value for all: no value can be said of the wrong one
            group = tuple(members)
            found = {index: self._names_for(index, group) for index in group}
            shared = {
                name
                for index in group
                for name in found[index]
                if any(name in found[other] for other in group if other != index)
            }
            for index in group:
                self.group_of[index] = group
                self.subject_names[index] = [name for name in found[index] if name not in shared]
        named = [name for names in self.subject_names.values() for name in names]
        named += [_squeeze(fact.subject) for fact in self.facts if fact.subject]
        self.subject_words = {word for name in named for word in _label_words(name)}

    def _source_response(self, index: int) -> Mapping[str, Any] | None:
        match = _REFERENCE.search(self.facts[index].source or "")
        if match is None:
            return None
        step = int(match.group(1))
        response = self.responses[step] if step < len(self.responses) else None
        return response if isinstance(response, Mapping) else None

    def _names_for(self, index: int, group: tuple[int, ...]) -> list[str]:
        names: list[str] = []

        def add(value: Any) -> None:
            text = _squeeze(str(value)).strip(" .")
            if len(text) < 3 or not re.search(r"[a-z]|\d{3}", text) or text in _STOP:
                return
            for name in (text, text.rsplit("/", 1)[-1] if "/" in text else ""):
                if len(name) >= 3 and name not in names:
                    names.append(name)

        if self.facts[index].subject:
            add(self.facts[index].subject)
        response = self._source_response(index)
        if response is None or not self.said.blob:
            return names
        match = _REFERENCE.search(self.facts[index].source or "")
        step = match.group(1) if match else ""
        read = {  # the fields facts are read from are values, not names
            parts[1]
            for fact in self.facts
            if (parts := (fact.source or "").strip("${}").split("."))[0] == f"s{step}"
            and len(parts) > 1
        }
        values = {normalize_text(str(fact.value)) for fact in self.facts}
        for key, value in response.items():
            if key in read or isinstance(value, (bool, Mapping, list)) or value is None:
                continue
            if normalize_text(str(value)) in values:
                continue
            if isinstance(value, (int, float)) and (
                not float(value).is_integer() or abs(value) < 100
            ):
                continue
            siblings = [self._source_response(other) for other in group if other != index]
            if any(other is not None and other.get(key) == value for other in siblings):
                continue
            if isinstance(value, (int, float)):
                stated = _stated_number(float(value), self.instruction or "")
            else:
                stated = self.said.holds(value)
            if stated:
                add(value)
        return names

    def _asked_words(self) -> list[set[str]]:
        """The instruction's words for each fact (:func:`_instruction_words`), without the
        words of the values its own call was made with ("the current ask price of WMT":
        "ask", not "wmt")."""
        found = [
            {word for word in words if len(word) > 1}
            for words in _instruction_words(self.instruction, self.facts)
        ]
        for index, words in enumerate(found):
            response = self._source_response(index)
            echoed = set(self.subject_words) | _PREPOSITIONS
            if index in self.group_of:  # the label names them all; its words tell none apart
                echoed |= {word for _, full, _ in self.names[index] for word in full}
            if response is not None:
                for value in response.values():
                    if isinstance(value, str) and len(value) <= 60:
                        echoed.update(_label_words(_fold(value)))
            found[index] = words - echoed
        self.distinct: dict[int, set[str]] = {}
        for index, group in self.group_of.items():
            others = set().union(*(found[other] for other in group if other != index))
            self.distinct[index] = found[index] - others - {self.facts[index].label}
        return found

    def _mentions(self, group: tuple[int, ...]) -> list[tuple[int, int, int]]:
        """Where the answer names each fact of ``group`` by its subject: (start, end, fact)."""
        found = []
        for index in group:
            for name in self.subject_names.get(index, ()):
                if name.split()[0] not in self.low:
                    continue
                body = r"\s+".join(re.escape(part) for part in name.split())
                for match in _compiled(r"(?<![\w])" + body + r"(?![\w])").finditer(self.low):
                    found.append((match.start(), match.end(), index))
        # a name inside a longer one ("/home/maya" in "/home/maya/photos/...") is not one
        return sorted(
            m
            for m in found
            if not any(o[0] <= m[0] and m[1] <= o[1] and o[1] - o[0] > m[1] - m[0] for o in found)
        )

    def _group_candidate(self, occurrence: _Occurrence, group: tuple[int, ...]) -> bool:
        """Whether ``occurrence`` is a value offered for one of ``group``'s facts."""
        if any(self._states(occurrence, member) for member in group):
            return True
        if not any(self._kind_rival(occurrence, member) for member in group):
            return False
        others = [i for i in range(len(self.facts)) if i not in group]
        if any(self._states(occurrence, other) for other in others):
            return False
        if occurrence.named and not occurrence.named & set(group):
            return False
        if occurrence.field and not occurrence.hedged:
            return False
        if occurrence.kind == "number" and occurrence.compared and self._known_number(occurrence):
            return False
        closed = any(self._closed_member(occurrence, member) for member in group)
        return not ((self._said(occurrence) and not closed) or self._quoted(occurrence))

    def _tie(
        self, occurrence: _Occurrence, group: tuple[int, ...], mentions: list[tuple[int, int, int]]
    ) -> int | None:
        """The fact of ``group`` a value is said of: the subject (or the instruction's own
        word for one of them, "the first UUID") in the key enclosing it, in its own label,
        right after it ("valid for X", "658.12 USD"), or nearest before it in its clause."""

        def named_in(text: str) -> int | None:
            spots = [
                (match.start(), index)
                for index in group
                for name in self.subject_names.get(index, ())
                for match in _compiled(
                    r"(?<![\w])" + r"\s+".join(map(re.escape, name.split())) + r"(?![\w])"
                ).finditer(text)
            ]
            if spots:
                return max(spots)[1]
            words = set(_label_words(text))
            owners = [index for index in group if self.distinct.get(index, set()) & words]
            return owners[0] if len(owners) == 1 else None

        enclosing = [
            keys
            for start, end, keys in self.paths
            if start <= occurrence.start and occurrence.end <= end
        ]
        if enclosing:
            keys = max(enclosing, key=len)
            for key in reversed(keys):
                found = named_in(_fold(key))
                if found is not None:
                    return found
        # "valid for X and invalid for Y": "for X" is said of the value before it
        mentions = [m for m in mentions if not self._trailing(m, occurrence)]
        own = [m for m in mentions if occurrence.own_start <= m[0] and m[1] <= occurrence.start]
        if own:
            return own[-1][2]
        own_words = set(occurrence.pre)
        owners = [index for index in group if self.distinct.get(index, set()) & own_words]
        if len(owners) == 1:
            return owners[0]
        clause_start = self.clause_starts[occurrence.clause]
        clause_end = (
            self.clause_starts[occurrence.clause + 1]
            if occurrence.clause + 1 < len(self.clause_starts)
            else len(self.low)
        )
        before = [m for m in mentions if clause_start <= m[0] and m[1] <= occurrence.start]
        after = re.split(r"[;\n]|[.!?](?=\s|$)", self.low[occurrence.end : clause_end])[0]
        lead = re.match(
            r"[ \t]*\(?[ \t]*(?:(for|in|of|at|on|from)\s+(?:the\s+)?"
            r"(?:(?:file|document|city|namespace|account|user|dataset|path)\s+)?)?",
            after,
        )
        at = occurrence.end + (lead.end() if lead else 0)
        following = [m for m in mentions if m[0] == at]
        if following and lead is not None and (lead.group(1) or not before):
            return following[0][2]
        if before:
            return before[-1][2]
        return None

    def _trailing(self, mention: tuple[int, int, int], occurrence: _Occurrence) -> bool:
        """Whether a subject named before ``occurrence`` follows another value with "for",
        "in", "of"... ("0 errors for X"): it is that value's."""
        earlier = [
            o
            for o in self.occurrences
            if o is not occurrence and o.end <= mention[0] and o.clause == occurrence.clause
        ]
        if not earlier:
            return False
        gap = self.low[earlier[-1].end : mention[0]]
        return _TRAILING.fullmatch(gap) is not None

    def _tie_groups(self) -> None:
        """Which fact of its group each value is offered for (see :meth:`_tie`): a value
        tied to no subject goes, in order, to the facts no value is tied to ("valid (0
        errors), invalid (1 errors)" is read in the order the task asks); when they do not
        pair up one by one, it is a candidate for each of them."""
        self.owners: dict[tuple[tuple[int, ...], int], set[int]] = {}
        for group in sorted(set(self.group_of.values())):
            mentions = self._mentions(group)
            candidates = [
                o for o in self.occurrences if o.kind != "range" and self._group_candidate(o, group)
            ]
            tied = {id(o): self._tie(o, group, mentions) for o in candidates}
            taken = {index for index in tied.values() if index is not None}
            free = [index for index in group if index not in taken]
            untied = [o for o in candidates if tied[id(o)] is None]
            for o in candidates:
                if tied[id(o)] is not None:
                    self.owners[(group, id(o))] = {tied[id(o)]}
            if untied and len(untied) == len(free):
                for o, index in zip(untied, free, strict=True):
                    self.owners[(group, id(o))] = {index}
            else:
                for o in untied:
                    self.owners[(group, id(o))] = set(free or group)

    def _owned(self, occurrence: _Occurrence, index: int) -> bool:
        """Whether ``occurrence`` is offered for fact ``index`` (always, for a fact with no
        same-label sibling)."""
        group = self.group_of.get(index)
        if group is None:
            return True
        owners = self.owners.get((group, id(occurrence)))
        return owners is None or index in owners

    def _closed_member(self, occurrence: _Occurrence, index: int) -> bool:
        return occurrence.kind == "text" and (
            _squeeze(str(occurrence.value)).strip(" .") in self.closed.get(index, set())
        )

    # -- judging one fact -----------------------------------------------------------------

    def _states(self, occurrence: _Occurrence, index: int) -> bool:
        fact = self.facts[index]
        if occurrence.kind == "number" and fact.kind == "number":
            gold = float(fact.value)
            tolerance = max(fact.abs_tol, 1e-9 * max(1.0, abs(gold)))
            return abs(occurrence.value - gold) <= tolerance
        return index in occurrence.hits

    def _same_value(self, index: int, other: int) -> bool:
        a, b = self.facts[index], self.facts[other]
        if _is_number(a.value) and _is_number(b.value) and a.kind == b.kind == "number":
            return abs(float(a.value) - float(b.value)) <= max(a.abs_tol, b.abs_tol, 1e-9)
        return normalize_text(str(a.value)) == normalize_text(str(b.value))

    def _bound_elsewhere(self, occurrence: _Occurrence, index: int) -> bool:
        """Whether ``occurrence`` is labelled as another fact's value (and not this one's)."""
        named = occurrence.named
        return (
            bool(named)
            and index not in named
            and not any(self._same_value(index, other) for other in named)
        )

    def _others_value(self, occurrence: _Occurrence, index: int) -> bool:
        """Whether ``occurrence`` is the value of another fact of the task (a same-label
        fact's value counts only where the answer ties it to that fact)."""
        group = self.group_of.get(index, ())
        for other, fact in enumerate(self.facts):
            if other == index:
                continue
            if other in group and (group, id(occurrence)) in self.owners:
                owners = self.owners[(group, id(occurrence))]
                if other in owners and index not in owners:
                    return True
                continue
            if self._states(occurrence, other):
                return True
            if occurrence.kind == "number" and fact.kind in ("id", "text"):
                continue
            if occurrence.kind != "number" and normalize_text(str(fact.value)) == normalize_text(
                str(occurrence.value)
            ):
                return True
        return False

    def _said(self, occurrence: _Occurrence) -> bool:
        if occurrence.kind == "number":
            return self.said.holds(float(occurrence.value))
        if occurrence.kind in ("token", "text"):
            return self.said.holds(self.text[occurrence.start : occurrence.end])
        return False

    def _kind_rival(self, occurrence: _Occurrence, index: int) -> bool:
        """Whether ``occurrence`` is a value of fact ``index``'s kind that is not its value:
        a number for a number; a token of its shape for an id; for a text, one of its rival
        texts or a token of its shape; a factorisation for a factorisation."""
        fact = self.facts[index]
        if self._states(occurrence, index) or occurrence.kind == "range":
            return False
        if index in self.factor_gold:
            return occurrence.kind == "factors"
        if fact.kind == "number":
            return occurrence.kind == "number"
        gold_shape = _shape(str(fact.value)) if fact.kind in ("id", "text") else None
        if fact.kind == "id":
            return occurrence.kind == "token" and _same_shape(occurrence.shape, gold_shape)
        if fact.kind == "text":
            same_shape = occurrence.kind in ("token", "text") and _same_shape(
                occurrence.shape, gold_shape
            )
            named_rival = occurrence.kind == "text" and (
                _squeeze(str(occurrence.value)).strip(" .") in self.rival_texts.get(index, ())
            )
            return index in occurrence.rival_of or same_shape or named_rival
        return False

    def _rivals(self, index: int) -> list[_Occurrence]:
        """The other candidates the answer offers for fact ``index``: values of its kind
        that are not its value, not another fact's, not the instruction's (unless one of
        its closed set: "valid" for "invalid"), not labelled as something else's and not
        the other side of a comparison (see :meth:`check` for what else excuses one)."""
        found = []
        for occurrence in self.occurrences:
            if not self._owned(occurrence, index) or not self._kind_rival(occurrence, index):
                continue
            if (
                occurrence.kind == "number"
                and occurrence.compared
                and (not self.informed or self._known_number(occurrence))
                and not self._set_against(occurrence, index)
            ):
                continue  # "(2952 vs 704 for Nora's)": the other side, as a response gave it
            if self._others_value(occurrence, index):
                continue
            if self._said(occurrence) and not self._closed_member(occurrence, index):
                continue
            if self._bound_elsewhere(occurrence, index) and not self._alternative(
                occurrence, index
            ):
                continue
            found.append(occurrence)
        return found

    def _negated(self, occurrence: _Occurrence) -> bool:
        """Whether the answer says the fact is *not* this value: "is not 766.48", "not
        TCK-1"."""
        if occurrence.hedged:
            return False  # "(if not, 766.48)": an alternative, not a denial
        before = self.low[self.clause_starts[occurrence.clause] : occurrence.start]
        return re.search(r"\b(?:not|isn['’]t|wasn['’]t|aren['’]t|never)\W*$", before) is not None

    def _set_against(self, occurrence: _Occurrence, index: int) -> bool:
        """Whether a compared number is set against the fact's own value with no label of
        its own ("766.79 (vs 766.48)"): another candidate, not the other side of a
        comparison the task made."""
        position = self.occurrences.index(occurrence)
        if not position or occurrence.post or occurrence.after:
            return False
        if any(word not in _COMPARED for word in occurrence.pre):
            return False
        previous = self.occurrences[position - 1]
        return previous.clause == occurrence.clause and self._states(previous, index)

    def _alternative(self, occurrence: _Occurrence, index: int) -> bool:
        fact = self.facts[index]
        for other in fact.alternatives:
            if occurrence.kind == "number" and _is_number(other):
                if abs(float(other) - occurrence.value) <= 1e-9 * max(1.0, abs(float(other))):
                    return True
            elif occurrence.kind != "number" and normalize_text(str(other)).strip(
                " ."
            ) == normalize_text(str(occurrence.value)).strip(" ."):
                return True
        return False

    def _joined(self, hit: _Occurrence) -> bool:
        """Whether a text or id is offered with an alternative of any shape ("windy or
        sunny", "either A or B", "A / B")."""
        start = self.clause_starts[hit.clause]
        before = self.low[start : hit.start]
        after = self.text[hit.end : hit.end + 40]
        after = re.split(r";|\n|[.!?]\s+(?=[^\s(a-z/]|/\S)", after)[0].casefold()
        if re.search(r"(?:\b(?:or|either|maybe|perhaps|possibly|one\s+of)|/)[\s:(]*$", before):
            return True
        hedge = r"[\s.,(…]*(?:\b(?:or|maybe|perhaps|possibly|alternatively)\b|/)\s*\S"
        return re.match(hedge, after) is not None

    def _doubted(self, hit: _Occurrence, index: int) -> bool:
        """Whether the answer hedges a value it states: a word right before it that says it
        may not be the value ("probably 766.79", "~766.79", "at least 766.79", "either
        766.79"), a question mark right after it ("766.79?"), or doubt said in its clause
        after it or in the clause of another value of its kind ("766.79 — I'm not
        certain", "766.79. Double-check against 766.48."). ("about 284 minutes" is
        rounding, not doubt.)"""
        before = self.low[self.clause_starts[hit.clause] : hit.start]
        if _DOUBT_BEFORE.search(before) or re.match(r"[ \t]*\?", self.low[hit.end :]):
            return True
        clauses = {hit.clause}
        clauses.update(
            o.clause
            for o in self.occurrences
            if o is not hit and self._owned(o, index) and self._kind_rival(o, index)
        )
        for clause in clauses:
            begin = hit.end if clause == hit.clause else self.clause_starts[clause]
            stop = (
                self.clause_starts[clause + 1]
                if clause + 1 < len(self.clause_starts)
                else len(self.low)
            )
            if _DOUBT.search(self.low[begin:stop]):
                return True
        return False

    def _hedged_before(self, rival: _Occurrence, hits: Sequence[_Occurrence]) -> bool:
        """Whether a hit right after ``rival`` is offered as its alternative ("subtotal
        450 or total 475.34")."""
        position = self.occurrences.index(rival)
        if position + 1 >= len(self.occurrences):
            return False
        following = self.occurrences[position + 1]
        return following in hits and following.clause == rival.clause and following.hedged

    def _listed(self, rival: _Occurrence, hits: Sequence[_Occurrence]) -> bool:
        """Whether ``rival`` stands in a list with one of the hits: next to it in the same
        clause with nothing but commas, slashes or "and"/"or" between, and no label of its
        own ("41, 42", "42, 41 rows")."""
        position = self.occurrences.index(rival)
        for step in (-1, 1):
            near = position + step
            if not 0 <= near < len(self.occurrences):
                continue
            neighbour = self.occurrences[near]
            if neighbour not in hits or neighbour.clause != rival.clause:
                continue
            gap = rival.gap if step == -1 else neighbour.gap
            if _LIST_GAP.fullmatch(gap) and not rival.pre:
                return True
        return False

    def check(self, index: int) -> FactCheck:
        fact = self.facts[index]
        name = fact.label or "value"
        if fact.kind in ("boolean", "list"):
            normalized = normalize_text(self.text)
            numbers = extract_numbers(self.text)
            tokens = set(re.findall(r"[\w.#:/-]+", normalized)) | set(
                re.findall(r"\w+", normalized)
            )
            if states(fact.value, fact.kind, normalized, numbers, tokens, fact.abs_tol):
                return FactCheck(fact, True)
            return FactCheck(fact, False, f"the answer does not state the {name}")
        if fact.kind == "choice":
            return self._check_choice(index)
        if index in self.group_of and fact.subject:
            name = f"{name} of {fact.subject}"
        stated = [o for o in self.occurrences if o.kind != "range" and self._states(o, index)]
        if index in self.factor_gold:
            stated = [o for o in self.occurrences if o.kind == "factors" and index in o.hits]
        hits = [o for o in stated if self._owned(o, index)]
        credited = [
            o
            for o in hits
            if not self._bound_elsewhere(o, index)
            and not self._mislabelled(o, index)
            and not self._negated(o)
        ]
        if not credited:
            if hits:
                return FactCheck(
                    fact,
                    False,
                    f"the answer does not state the {name} (a value labelled as another "
                    "fact's, another field's or an earlier one does not count for it)",
                )
            if stated:
                return FactCheck(
                    fact,
                    False,
                    f"the answer does not state the {name} (a value said of another "
                    f"{fact.label} does not count for it: tie each value to what it is of)",
                )
            return FactCheck(fact, False, f"the answer does not state the {name}")
        # Bound: the answer says which value is the fact (its label, the instruction's
        # words for it, its key; for a fact in a unit of its own, that unit: "20.5%").
        # (a value labelled with the fact's own field, "the minimum is -6", binds it too)
        named = any(index in o.named or (o.field and index in o.labels) for o in credited)
        by_unit = not named and self._unit_bound(index, credited)
        for occurrence in self.occurrences:
            if index not in occurrence.named or occurrence.kind == "range":
                continue
            if not self._owned(occurrence, index):
                continue
            if self._elsewhere(occurrence, index, named, credited):
                continue  # "Zara's message (MSG-BC6E4494)": another message's id
            if any(
                self._states(occurrence, other) and self._owned(occurrence, other)
                for other in occurrence.named
            ):
                continue
            if self._said(occurrence) and not self._closed_member(occurrence, index):
                continue  # the instruction's own value ("amount 50 USD" converted)
            return FactCheck(
                fact,
                False,
                f"the answer labels as the {name} a value that is not it: state the {name} "
                "under its own label",
            )
        wrong = self._bound_text(index)
        if wrong:
            return FactCheck(fact, False, wrong)
        for occurrence in self.occurrences:
            if occurrence.kind == "range" and fact.kind == "number":
                gold = float(fact.value)
                tolerance = max(fact.abs_tol, 1e-9 * max(1.0, abs(gold)))
                if any(abs(end - gold) <= tolerance for end in occurrence.value):
                    return FactCheck(
                        fact,
                        False,
                        f"the answer is ambiguous: it gives a range for the {name}; state "
                        "exactly one value",
                    )
        if any(self._doubted(o, index) for o in credited):
            return FactCheck(
                fact,
                False,
                f"the answer hedges the {name} (probably, ~, at least, ?, not certain, double-"
                "check ...); state it as the value",
            )
        if fact.kind in ("id", "text") and any(self._joined(o) for o in credited):
            return FactCheck(
                fact,
                False,
                f"the answer is ambiguous about the {name}: it offers it with an alternative "
                "(or, maybe, /); state exactly one value",
            )
        if fact.kind == "number" and len({round(o.value, 9) for o in credited}) > 1:
            # Two writings of the value, both within its tolerance ("0.0976 or 0.1"):
            # offered as alternatives, they are still two candidates.
            for occurrence in credited[1:]:
                if occurrence.value != credited[0].value and (
                    occurrence.hedged or self._listed(occurrence, credited)
                ):
                    return FactCheck(
                        fact,
                        False,
                        f"the answer is ambiguous about the {name}: it offers two values "
                        "for it; state exactly one",
                    )
        # Every other value of its kind is a candidate, unless it is another fact's, the
        # instruction's, the other side of a comparison, or labelled as what the responses
        # call it ("bid 68.57", "previous version VER-B2DDB9", "6 columns").
        for rival in self._rivals(index):
            why = ""
            if rival.kind in ("number", "token") and self._negated(rival):
                continue  # "the ask is not 766.48, it is 766.79": said not to be it
            if self._alternative(rival, index):
                why = "it also names another candidate of the same list"
            elif (
                rival.hedged and not (rival.approx and (rival.pre or rival.post or rival.after))
            ) or self._hedged_before(rival, credited):
                why = "it offers a second candidate (or, maybe, about, /)"
            elif self._listed(rival, credited):
                why = "it lists several candidates"
            elif self._rewritten(rival, index):
                why = "it also gives it written another way (rounded or not); state it once"
            elif self._from_to(rival):
                continue  # "(from 15943 to 19210)": the change's ends, as a response gave them
            elif (
                rival.kind in ("token", "text")
                and rival.shape is not None
                and not (self._is_known(rival.value))
            ):
                why = "it names a value of the same kind that no response gave"
            elif rival.kind == "number" and self.informed and not self._known_number(rival):
                why = "it names another number that no response gave"
            elif (named or by_unit) and self._other_unit(rival, index):
                continue  # "71.4 mm" next to "a change of 6.6%": another kind of value
            elif not (rival.pre or rival.post or rival.after or rival.head):
                why = "it gives another value of the same kind without saying what it is"
            elif self._misfielded(rival, index):
                why = "it labels another value as a field of the same record that does not hold it"
            elif index in rival.named and not self._elsewhere(rival, index, named, credited):
                why = f"it labels another value as the {name}"
            elif self._same_label(rival, index, credited):
                why = "it gives another value under the same label as the one it states"
            elif (rival.field and (named or not self._unit_only(rival, index))) or self._quoted(
                rival
            ):
                continue  # context, said as what the responses call it
            elif not any(response is not None for response in self.responses):
                continue  # no responses to tell what a field is called: a labelled value
            elif (
                rival.kind == "text"
                and rival.shape is None
                and _squeeze(str(rival.value)).strip(" .") not in self.strict_rivals.get(index, ())
                and _meaningful(rival)
            ):
                continue  # another thing's name, said with words of its own ("tickets on X")
            elif self._instruction_label(rival) and _meaningful(rival):
                continue  # "Test files: 1", as the instruction has the file say it
            elif self._strict_text(rival, index):
                why = (
                    "it offers another value of the same kind, under a label that names "
                    f"neither the {name} nor the response field that holds it"
                )
            elif self._elsewhere(rival, index, named, credited):
                continue  # "Raj's own number is ...": said of another thing the responses name
            elif (
                (named or (by_unit and rival.unit != self._fact_dim(index)))
                and not self._structured(rival)
                and self._grounded(rival, index)
            ):
                continue  # the fact bound to its value, this one named as something else
            elif index in self.factor_gold:
                why = "it gives more than one factorisation"
            else:
                why = (
                    "it offers another value of the same kind, under a label that names "
                    f"neither the {name} nor the response field that holds it"
                )
            return FactCheck(fact, False, f"the answer is ambiguous about the {name}: {why}")
        return FactCheck(fact, True)

    # -- what a value's label says it is ------------------------------------------------

    def _fact_dim(self, index: int) -> str:
        """The dimension of a number fact's unit: what its label, source key or the
        instruction's words for it say ("eta minutes": time), or percent for a rounding
        of a percentage a response holds ("20.5" of ``percent_change`` 20.4918)."""
        if index in self._dims:
            return self._dims[index]
        fact = self.facts[index]
        found = ""
        if fact.kind == "number":
            words = set(self.asked[index])
            for _, full, _ in self.names[index]:
                words |= full
            dimensions = {_DIMENSION_OF[word] for word in words if word in _DIMENSION_OF}
            if len(dimensions) == 1:
                found = dimensions.pop()
            elif _is_number(fact.value) and not float(fact.value).is_integer():
                gold = float(fact.value)
                shown = repr(gold)
                decimals = len(shown.split(".")[1]) if "." in shown else 0
                if any(
                    "percent" in full
                    and isinstance(value, float)
                    and abs(round(value, decimals) - gold) <= 1e-9 * max(1.0, abs(gold))
                    for full, _, value in self.keyed
                ):
                    found = "percent"
        self._dims[index] = found
        return found

    def _unit_bound(self, index: int, credited: Sequence[_Occurrence]) -> bool:
        """Whether a stated value is bound to a fact by its unit: the fact's dimension is
        its own among the task's facts, and the value is written in it ("20.5%")."""
        dimension = self._fact_dim(index)
        if not dimension or not any(o.unit == dimension for o in credited):
            return False
        return not any(
            other != index and self._fact_dim(other) == dimension
            for other in range(len(self.facts))
        )

    def _other_unit(self, rival: _Occurrence, index: int) -> bool:
        """Whether a number is written in another dimension than the fact's."""
        dimension = self._fact_dim(index) if rival.kind == "number" else ""
        return bool(dimension and rival.unit and rival.unit != dimension)

    def _unit_only(self, rival: _Occurrence, index: int) -> bool:
        """Whether a number says nothing of itself but its unit, the fact's own ("7
        minutes" next to an ETA of 15 minutes): the unit says its kind, not what it is."""
        dimension = self._fact_dim(index)
        return (
            bool(dimension)
            and rival.unit == dimension
            and not rival.pre
            and not rival.after
            and all(word in _DIMENSION_OF for word in rival.post)
        )

    def _same_label(self, rival: _Occurrence, index: int, stated: Sequence[_Occurrence]) -> bool:
        """Whether a value stands under the very label of a value the answer states for the
        fact ("Zara: MSG-A, Zara: MSG-B"): that label tells neither apart."""
        label = self._label_stems(rival, index)
        return bool(label) and any(self._label_stems(hit, index) == label for hit in stated)

    def _sibling_fields(self, index: int) -> list[tuple[frozenset[str], frozenset[str], Any]]:
        """The other fields of the response object that holds fact ``index`` (the ``bid``
        and ``last`` next to an ``ask``, the ``record_id`` next to a ``ticket_number``):
        (the key's words, its telling words, its value)."""
        found = self._siblings.get(index)
        if found is not None:
            return found
        found = []
        match = _REFERENCE.search(self.facts[index].source or "")
        response = self._source_response(index)
        if match is not None and response is not None:
            keys = [key for key in match.group(2).split(".") if key]
            holder: Any = response
            for key in keys[:-1]:
                if isinstance(holder, Mapping):
                    holder = holder.get(key)
                elif isinstance(holder, (list, tuple)) and key.isdigit():
                    holder = holder[int(key)] if int(key) < len(holder) else None
                else:
                    holder = None
            if isinstance(holder, Mapping) and keys:
                for key, value in holder.items():
                    if key != keys[-1] and self._kind_of(index, value):
                        found.append((*_key_names(str(key)), value))
        self._siblings[index] = found
        return found

    def _mislabelled(self, occurrence: _Occurrence, index: int) -> bool:
        """Whether a value that is the fact's is said to be something else: its label names
        another field of the response object that holds the fact ("COST's bid is 766.79"
        when 766.79 is the ask, "the ticket's record id is TCK-888989" for the ticket
        number, "original bytes 1454" for the compressed size), more closely than the
        fact's own words, or another response's field by its whole key ("her booking id is
        IT-5B3EA2"); or a word right before its name says it is not the current one ("the
        previous ask was 766.79")."""
        window = occurrence.head or occurrence.pre
        if not window:
            return False
        own = self._own_stems(index)
        telling_own = {stem for stem in own if stem not in _LABEL_FILLER} or own
        stems = [_stem(word) for word in window]
        own_at = next((i for i, stem in enumerate(stems) if stem in telling_own), 99)
        if any(_stem(word) in telling_own for word in occurrence.post[:2]):
            own_at = 0 if own_at == 99 else own_at
        own_size = len({stem for stem in stems[:3] if stem in own})
        # "the previous ask", "COST's original price": not the current value
        qualifier = stems[: own_at + 2] if own_at < 99 else stems[:2]
        if set(qualifier) & _NOT_CURRENT and not own & _NOT_CURRENT:
            return True
        for full, telling, value in self._sibling_fields(index):
            if self._value_is(occurrence, value):
                continue
            distinct = {_stem(word) for word in telling} - own
            if not distinct:
                continue
            at = next((i for i, stem in enumerate(stems[:3]) if stem in distinct), 99)
            if at == 99:
                continue
            spelled = {_stem(word) for word in full} <= set(stems[: len(full)])
            if own_at == 99 or (spelled and len(full) > max(1, own_size)):
                return True
        # another response's field, its whole key the label ("booking id" for an itinerary)
        if occurrence.kind == "number":
            return False
        for full, telling, value in self.keyed:
            if len(full) < 2 or not self._kind_of(index, value):
                continue
            if self._value_is(occurrence, value):
                continue
            distinct = {_stem(word) for word in telling} - own
            if distinct and {_stem(word) for word in full} == set(stems[: len(full)]):
                return True
        return False

    def _misfielded(self, rival: _Occurrence, index: int) -> bool:
        """Whether a value of the fact's kind is labelled as another field of the fact's
        record that does not hold it ("766.63 is COST's bid" when the bid is 766.48): the
        answer shuffles the record's fields."""
        if rival.field or rival.kind not in ("number", "token"):
            return False
        window = [_stem(word) for word in (rival.head or rival.pre)[:2]]
        if not window:
            return False
        own = self._own_stems(index)
        for _, telling, value in self._sibling_fields(index):
            distinct = {_stem(word) for word in telling} - own
            if distinct & set(window) and not self._value_is(rival, value):
                return not any(
                    self._value_is(rival, other)
                    for full, other_telling, other in self._sibling_fields(index)
                    if {_stem(word) for word in other_telling} & set(window)
                )
        return False

    def _kind_of(self, index: int, value: Any) -> bool:
        """Whether a response value is of fact ``index``'s kind: a number for a number, an
        id-like token (of any prefix) for an id or an id-like text."""
        fact = self.facts[index]
        if isinstance(value, bool) or value is None or isinstance(value, (Mapping, list, tuple)):
            return False
        if fact.kind == "number":
            return isinstance(value, (int, float))
        if fact.kind in ("id", "text") and isinstance(value, str):
            gold, shape = self.gold_shapes[index], _shape(value)
            if gold is None or shape is None:
                return False
            return _same_shape(shape, gold) or gold[0] == shape[0] == "prefix"
        return False

    def _value_is(self, occurrence: _Occurrence, value: Any) -> bool:
        """Whether a response value is the one ``occurrence`` writes."""
        if isinstance(value, bool) or value is None:
            return False
        if occurrence.kind == "number":
            if not isinstance(value, (int, float)):
                return False
            written = self.text[occurrence.start : occurrence.end]
            decimals = len(written.split(".")[1]) if "." in written else 0
            tolerance = 0.5 * 10 ** (-decimals) + 1e-9
            return abs(abs(float(value)) - abs(occurrence.value)) <= tolerance
        wanted = _squeeze(self.text[occurrence.start : occurrence.end]).strip(" .")
        return _squeeze(str(value)).strip(" .") == wanted

    def _structured(self, occurrence: _Occurrence) -> bool:
        """Whether a value stands under a key of a structured answer."""
        return any(a <= occurrence.start and occurrence.end <= b for a, b, _ in self.paths)

    def _strict_text(self, rival: _Occurrence, index: int) -> bool:
        """A text fact's rival text (a closed set's member, a same-field value): only its
        field, or words of its own for another call's value, say it is something else."""
        return self.facts[index].kind == "text" and rival.kind == "text" and rival.shape is None

    def _own_stems(self, index: int) -> set[str]:
        words = set(self.asked[index])
        for _, full, _ in self.names[index]:
            words |= full
        return {_stem(word) for word in words}

    def _label_stems(self, occurrence: _Occurrence, index: int) -> set[str]:
        """The words of a value's own label that say what it is, other than the fact's own
        words: "zara" in "Zara's message", "tickets" in "$156.00 in tickets"."""
        words = {
            _stem(word)
            for word in (*occurrence.near, *occurrence.post, *occurrence.after, *occurrence.head)
            if len(word) >= 3
            and word.isalpha()
            and word not in _NONSENSE
            and word not in _HEDGES
            and word not in _STOP
            and word not in self.subject_words
        }
        return words - self._own_stems(index)

    def _elsewhere(
        self,
        occurrence: _Occurrence,
        index: int,
        bound: bool,
        stated: Sequence[_Occurrence] = (),
    ) -> bool:
        """Whether a value's label says it is another thing's (not fact ``index``'s): a
        word of it is in the responses' record that holds the value and not in the one that
        holds the fact ("Zara's message" for Zara's message's id, "the Aurora listing" for
        its snippet id, "Raj's own number"), or, once the answer binds the fact to its
        value, a word that says it is another thing's start ("the original
        transactions_north.csv is ...", "source snippet"); so long as the answer does not
        label the fact's own value with those words too."""
        if occurrence.kind not in ("number", "token") and occurrence.shape is None:
            return False
        if self._states(occurrence, index):
            return False
        words = self._label_stems(occurrence, index)
        if not words:
            return False
        if bound and words & _ORIGIN_STEMS and not self._own_stems(index) & _ORIGIN_STEMS:
            return not any(self._label_stems(hit, index) & _ORIGIN_STEMS for hit in stated)
        theirs = self._record_words(self._holding(occurrence))
        if not theirs or not words & theirs:
            return False
        apart = theirs - self._record_words(self._fact_records(index))
        if not words & apart:
            return False
        # ... and the fact's own value is not said of that thing too ("Ethan: A, Nakamura:
        # B" says both are Ethan Nakamura's)
        return not any(self._label_stems(hit, index) & apart for hit in stated)

    def _grounded(self, occurrence: _Occurrence, index: int) -> bool:
        """Whether a value's own label says what it is in words the task uses: a response
        key or text, the instruction ("15,943 visitors", "$156.00 in tickets", "the latest
        value 19,210", "follows 649 accounts"), or another thing's start ("original")."""
        words = self._label_stems(occurrence, index)
        if not words:
            return False
        self._grounding()
        return bool(words & self._global_words) or bool(words & _ORIGIN_STEMS)

    def _grounding(self) -> None:
        """Built on first use: each response object (its scalar values, and the words of
        its texts), and every word the task uses (response keys and texts, instruction)."""
        if self._records is not None:
            return
        records: list[tuple[tuple[float, ...], frozenset[str], frozenset[str]]] = []
        everything: set[str] = set()

        def visit(value: Any) -> None:
            if isinstance(value, Mapping):
                numbers: list[float] = []
                texts: set[str] = set()
                words: set[str] = set()
                for key, item in value.items():
                    everything.update(_stem(word) for word in _label_words(_fold(str(key))))
                    if isinstance(item, (Mapping, list, tuple)):
                        visit(item)
                    scalars = item if isinstance(item, (list, tuple)) else [item]
                    for scalar in scalars:
                        if isinstance(scalar, bool) or scalar is None:
                            continue
                        if isinstance(scalar, (int, float)):
                            if math.isfinite(scalar):
                                numbers.append(float(scalar))
                        elif isinstance(scalar, str):
                            folded = _squeeze(scalar).strip(" .")
                            texts.add(folded)
                            if len(folded) <= 200:
                                words.update(
                                    _stem(word)
                                    for word in _label_words(folded)
                                    if len(word) >= 3 and word not in _STOP
                                )
                records.append((tuple(numbers), frozenset(texts), frozenset(words)))
                everything.update(words)
            elif isinstance(value, (list, tuple)):
                for item in value:
                    visit(item)

        for response in self.responses:
            if response is not None:
                visit(response)
        if self.said.blob:
            everything.update(
                _stem(word) for word in _label_words(self.said.blob) if len(word) >= 3
            )
        self._records = records
        self._global_words = frozenset(everything)

    def _holding(self, occurrence: _Occurrence) -> list[frozenset[str]]:
        """The words of the response objects that hold the value ``occurrence`` writes."""
        self._grounding()
        if occurrence.kind == "number":
            written = self.text[occurrence.start : occurrence.end]
            decimals = len(written.split(".")[1]) if "." in written and written[-1].isdigit() else 0
            tolerance = 0.5 * 10 ** (-decimals) + 1e-9
            value = abs(occurrence.value)
            return [
                words
                for numbers, _, words in self._records or ()
                if any(abs(abs(number) - value) <= tolerance for number in numbers)
            ]
        wanted = _squeeze(self.text[occurrence.start : occurrence.end]).strip(" .")
        return [words for _, texts, words in self._records or () if wanted in texts]

    def _fact_records(self, index: int) -> list[frozenset[str]]:
        self._grounding()
        fact = self.facts[index]
        if fact.kind == "number" and _is_number(fact.value):
            gold = abs(float(fact.value))
            tolerance = max(fact.abs_tol, 1e-9 * max(1.0, gold))
            return [
                words
                for numbers, _, words in self._records or ()
                if any(abs(abs(number) - gold) <= tolerance for number in numbers)
            ]
        wanted = _squeeze(str(fact.value)).strip(" .")
        return [words for _, texts, words in self._records or () if wanted in texts]

    @staticmethod
    def _record_words(records: Sequence[frozenset[str]]) -> set[str]:
        found: set[str] = set()
        for words in records:
            found |= words
        return found

    def _rewritten(self, rival: _Occurrence, index: int) -> bool:
        """Whether a number is the fact's value written to other decimals: the unrounded
        percentage next to the rounded one asked for ("20.4918" for 20.5)."""
        fact = self.facts[index]
        if fact.kind != "number" or rival.kind != "number":
            return False
        gold = float(fact.value)
        written = self.text[rival.start : rival.end]
        mine = len(written.split(".")[1]) if "." in written else 0
        shown = repr(gold)
        theirs = 0 if gold.is_integer() else len(shown.split(".")[1]) if "." in shown else 0
        if mine > theirs:
            return abs(round(rival.value, theirs) - gold) <= 1e-9 * max(1.0, abs(gold))
        if mine < theirs:
            return abs(round(gold, mine) - rival.value) <= 1e-9 * max(1.0, abs(gold))
        return False

    def _bound_text(self, index: int) -> str:
        """For a text fact: a ``label: value`` whose label names it and whose value is not
        it ("status: valid" when it is invalid); for a number, one whose value is a date or
        a time ("max lifetime_value: 2025-12-29")."""
        fact = self.facts[index]
        if fact.kind not in ("text", "number") or index in self.factor_gold:
            return ""
        if not self.names[index] and not self.asked[index]:
            return ""
        name = fact.label or "value"
        for match in re.finditer(r":(?=\s)|=|\b(?:is|was|are|were)\b", self.low):
            clause = self._clause(match.start())
            start = self.clause_starts[clause]
            before = [o for o in self.occurrences if o.clause == clause and o.end <= match.start()]
            if before:
                start = max(start, before[-1].end)
            key = [
                w
                for w in reversed(_label_words(self.low[start : match.start()]))
                if w not in _STOP and w not in _HEDGES and w not in self.subject_words
            ]
            named = set()
            best = 0
            for other, names in enumerate(self.names):
                sizes = [_match_size(key, required, full) for required, full, _ in names]
                loose = len(set(key[:3]) & self.asked[other])
                if loose >= (2 if self.facts[other].kind == "number" else 1):
                    sizes.append(loose)  # a number's label before a date: two of its words
                size = max(sizes, default=0)
                if size and size >= best:
                    named = ({other} | named) if size == best else {other}
                    best = size
            if index not in named:
                continue
            rest = self.low[match.end() :]
            skip = re.match(
                r"(?:[\s:=\-–—(]|\b(?:now|currently|the|a|an|still|at|in|on|of|for|to)\b)*",
                rest,
            )
            at = match.end() + (skip.end() if skip else 0)
            if at >= len(self.low) or self._clause(at) != clause:
                continue
            if re.match(r"[a-z][\w .-]{0,40}:\s", self.low[at : at + 45]):
                continue  # a nested key: {"result": {"status": "invalid"}}
            value = next((o for o in self.occurrences if o.start <= at < o.end), None)
            if value is not None and not self._owned(value, index):
                continue
            if value is not None and value.field:
                continue
            if value is not None and any(
                self._states(value, other) and self._owned(value, other) for other in named
            ):
                continue
            if value is None and re.match(r"\s*[,;.]|\s*$", self.low[at:]):
                continue
            if fact.kind == "number" and not (
                value is None and _NOT_NUMBERS.match(self.low, at) is not None
            ):
                continue  # a number's label before another kind of value: the named check's
            return (
                f"the answer labels as the {name} a value that is not it: state the {name} "
                "under its own label"
            )
        return ""

    def _option_spans(self, option: Any, options: Sequence[Any]) -> list[tuple[int, int]]:
        """Where the answer names ``option``: in full, or by the part that sets it apart
        from the other options, when that part is in no other ("Elm Street School" for
        "Monthly electricity use of Elm Street School" against "... of City Hall Annex")."""
        spans = _text_spans(option, self.low)
        words = _squeeze(str(option)).strip(" .").split()
        others = [_squeeze(str(other)).strip(" .").split() for other in options]
        others = [other for other in others if other != words]
        if not others or len(words) < 2:
            return spans
        lead = trail = len(words)
        for other in others:
            common = 0
            while common < min(len(words), len(other)) and words[common] == other[common]:
                common += 1
            lead = min(lead, common)
            common = 0
            while common < min(len(words), len(other)) and words[-1 - common] == other[-1 - common]:
                common += 1
            trail = min(trail, common)
        part = words[lead : len(words) - trail]
        short = " ".join(part)
        if (
            not part
            or part == words
            or sum(char.isalpha() for char in short) < 4
            or any(_contains_words(" ".join(other), short) for other in others)
        ):
            return spans
        extra = [
            (a, b)
            for a, b in _text_spans(short, self.low)
            if not any(c <= a and b <= d for c, d in spans)
        ]
        return sorted(spans + extra)

    def _concluded(self, options: Sequence[Any]) -> tuple[list[Any], list[Any]]:
        """The options the answer's conclusion names: after "so", "therefore", "the winner
        is", "answer:" ..., or followed by the instruction's own comparison ("Mia
        Schneider's newest post got more impressions"); and those it says are *not* the
        answer: said with the opposite comparison ("X has the lower median", {"lower": X},
        {X: "lower"}) or with a negation ("X does not have the higher median", "the higher
        is Y, not X")."""
        said = self.said.blob
        asked = set(_COMPARATIVE.findall(said))
        for family in _COMPARATIVE_FAMILIES:
            if family & asked:
                asked |= family  # "higher daytime temperature": "warmer" says it too
        comparatives = sorted(asked)
        opposite = sorted(
            {word for family in _COMPARATIVE_FAMILIES if not family & asked for word in family}
            if asked
            else set()
        )
        everything = sorted(set(comparatives) | set(opposite))
        after = (
            _compiled(
                r"(?:['’]s)?(?:(?:\s+[a-z]+){0,3}?\s+(?P<neg>(?:does|did|do)\s+not\s+|"
                r"doesn['’]t\s+|didn['’]t\s+)?(?:is|was|are|were|got|gets|has|had|have|"
                r"received|receives|drew|draws|will\s+be)\s+(?P<not>not\s+)?|\s*[:=]\s*)"
                r"(?:the\s+)?(?P<word>" + "|".join(everything) + r")\b"
            )
            if comparatives
            else None
        )
        # "warmer: Paris", "the warmer city is Paris"
        labelled = (
            _compiled(
                r"\b(?P<word>"
                + "|".join(everything)
                + r")\b(?:\s+[a-z]+)?\s*(?::|=|\bis\b|\bwas\b)\W*$"
            )
            if comparatives
            else None
        )
        # in a structured answer, a key in the instruction's words ({"city": "Paris"})
        question = {
            word for word in _label_words(said) if len(word) >= 4 and word not in _GENERIC
        } | {"answer", "winner", "result", "choice"}
        keyed = {
            (start, end): keys for start, end, keys in self.paths if keys and keys[-1] is not None
        }
        found: list[Any] = []
        losers: list[Any] = []

        def add(into: list[Any], option: Any) -> None:
            if not any(normalize_text(str(o)) == normalize_text(str(option)) for o in into):
                into.append(option)

        for option in options:
            for start, end in self._option_spans(option, options):
                clause = self.low[self.clause_starts[self._clause(start)] : start]
                before = clause[-40:]
                keys = keyed.get((start, end))
                label = labelled.search(before) if labelled is not None else None
                following = after.match(self.low, end) if after is not None else None
                if re.search(r"\bnot\W*$", before) and re.search(r"\b(?:is|was)\b", clause):
                    add(losers, option)  # "the higher is Y, not X"
                    break
                if label is not None and label.group("word") in opposite:
                    add(losers, option)
                    break
                if following is not None and (
                    (following.group("word") in opposite)
                    != bool(following.group("neg") or following.group("not"))
                ):
                    add(losers, option)
                    break
                if (
                    _CONCLUSION.search(before)
                    or label is not None
                    or following is not None
                    or (keys is not None and set(_label_words(_fold(keys[-1]))) & question)
                ):
                    add(found, option)
                    break
        return found, losers

    def _first_option(self, options: Sequence[Any]) -> Any:
        """The option the answer names first (in full or by its own part)."""
        found = []
        for position, option in enumerate(options):
            spans = self._option_spans(option, options)
            if spans:
                found.append((spans[0][0], -(spans[0][1] - spans[0][0]), position))
        return options[min(found)[2]] if found else None

    def _uncommitted(self, options: Sequence[Any], decided: bool) -> bool:
        """Whether the answer hedges the choice ("not sure which is higher", "possibly X",
        "X?", "or maybe not", "or the other way round", "otherwise Y", "if I read it
        right") in a clause that names an option or the comparison, or only sets the
        options side by side ("X compared with Y", "X vs Y") without concluding."""
        spans = sorted(
            (a, b, option) for option in options for a, b in self._option_spans(option, options)
        )
        clauses = {self._clause(a) for a, _, _ in spans}
        for match in _COMPARATIVE.finditer(self.low):
            clauses.add(self._clause(match.start()))
        for clause in clauses:
            begin = self.clause_starts[clause]
            stop = (
                self.clause_starts[clause + 1]
                if clause + 1 < len(self.clause_starts)
                else len(self.low)
            )
            if _CHOICE_HEDGE.search(self.low[begin:stop]):
                return True
        for a, b, _ in spans:
            before = self.low[self.clause_starts[self._clause(a)] : a]
            if re.search(
                r"\b(?:probably|possibly|maybe|perhaps|likely|presumably|guess|think|believe)"
                r"\W*$",
                before,
            ) or re.match(r"\s*\?", self.low[b:]):
                return True
        if decided:
            return False
        for (_, b, first), (c, _, second) in itertools.pairwise(spans):
            if normalize_text(str(first)) != normalize_text(str(second)) and re.fullmatch(
                r"[\s,(]*(?:compared\s+(?:with|to)|vs\.?|versus|against|with|and)[\s:,]*",
                self.low[b:c],
            ):
                return True
        return False

    def _check_choice(self, index: int) -> FactCheck:
        fact = self.facts[index]
        name = fact.label or "answer"
        options = [fact.value, *fact.alternatives]
        chosen = self._option_spans(fact.value, options)
        if not chosen:
            return FactCheck(fact, False, f"the answer does not state the {name}")
        if normalize_text(str(fact.value)) == "same":
            return FactCheck(fact, True)  # "A and B got the same" names both
        # A choice between named options ("whose post got more, A's or B's?") is answered by
        # the option its conclusion names ("so B's got more", "the winner is B", "answer:
        # B"); without one, by the option named first: "B's (2952 vs 704 for A's)" is B,
        # "A's or B's" is A. An option said to be the other way ("X has the lower median",
        # "not X") is not chosen, and a hedged or open comparison chooses none.
        concluded, losers = self._concluded(options)
        if any(normalize_text(str(o)) == normalize_text(str(fact.value)) for o in losers):
            return FactCheck(
                fact,
                False,
                f"the answer says the {name} is not the option it is: name the option chosen",
            )
        if self._uncommitted(options, bool(concluded or losers)):
            return FactCheck(
                fact,
                False,
                f"the answer is ambiguous about the {name}: it does not commit to one option; "
                "name the one chosen",
            )
        if not concluded and len(options) == 2 and len(losers) == 1:
            concluded = [fact.value]  # "Y has the lower median": X is chosen
        if len(concluded) > 1:
            return FactCheck(
                fact,
                False,
                f"the answer is ambiguous about the {name}: its conclusion names more than one "
                "option; name the one chosen",
            )
        if concluded:
            if normalize_text(str(concluded[0])) != normalize_text(str(fact.value)):
                return FactCheck(
                    fact,
                    False,
                    f"the answer concludes with another option: the option it concludes with is "
                    f"the {name}",
                )
        elif normalize_text(str(self._first_option(options))) != normalize_text(str(fact.value)):
            return FactCheck(
                fact,
                False,
                f"the answer names another option first: the first option named is the {name}",
            )
        for other in fact.alternatives:
            if normalize_text(str(other)) in ("same", normalize_text(str(fact.value))):
                continue
            for start, end in self._option_spans(other, options):
                lead = self.low[self.clause_starts[self._clause(start)] : start]
                offered = bool(
                    re.search(r"(?:\b(?:or|either|maybe|perhaps|possibly)\b|/)\W*$", lead)
                )
                for c_start, c_end in chosen:
                    if self._clause(start) != self._clause(c_start) and not offered:
                        continue
                    gap = self.low[min(end, c_end) : max(start, c_start)]
                    words = set(_label_words(gap))
                    listed = self._clause(start) == self._clause(c_start) and (
                        bool(words & _HEDGES)
                        or bool(re.search(r"[/?]", gap))
                        or bool(_LIST_GAP.fullmatch(gap))
                    )
                    if offered or listed:
                        return FactCheck(
                            fact,
                            False,
                            f"the answer is ambiguous about the {name}: it offers more than "
                            "one option; name the one chosen (a comparison may name the other "
                            "after it)",
                        )
        return FactCheck(fact, True)


#: Words right before a stated value that say it may not be the value ("probably 766.79",
#: "~766.79", "at least 766.79", "either 766.79"); "about"/"around" are rounding.
_DOUBT_BEFORE = re.compile(
    r"(?:\b(?:probably|possibly|maybe|perhaps|likely|presumably|supposedly|either|guess)"
    r"(?:\s+(?:it['’]s|it\s+is|is|was|be))?|~|≈|\bat\s+(?:least|most)|\b(?:more|less|fewer)\s+than"
    r"|\bup\s+to|\bno\s+(?:more|less)\s+than|\bi\s+(?:think|guess|believe)(?:\s+(?:it['’]s|it\s+is"
    r"|is|was))?)\W*$"
)
#: Doubt said after a stated value, in its clause: "— I'm not certain", "unless I mixed them up".
_DOUBT = re.compile(
    r"\b(?:not\s+(?:certain|sure|100%?)|unsure|uncertain|i\s+(?:think|guess|believe)"
    r"|if\s+i\s+(?:read|recall|remember|understood|got|am)|unless\s+i|(?:may|might|could)\s+be"
    r"\s+wrong|double[-\s]?check|don['’]t\s+quote\s+me)\b"
)
#: What says a choice is not made: "not sure which is higher", "or maybe not", "or the other
#: way round", "otherwise City Hall Annex", "if I read the report right".
_CHOICE_HEDGE = re.compile(
    r"\b(?:not\s+(?:sure|certain|clear)|unsure|unclear|uncertain|can(?:no|['’])?t\s+(?:tell|say)"
    r"|hard\s+to\s+(?:say|tell)|(?:don['’]t|do\s+not)\s+know|no\s+idea"
    r"|or\s+(?:maybe|perhaps|possibly)\s+not|or\s+(?:the\s+)?other\s+way\s+a?round"
    r"|or\s+vice\s+versa|otherwise|unless|if\s+i|i\s+(?:think|guess|believe))\b"
)
#: What introduces a choice's conclusion: "so X", "therefore X", "the winner is X", "answer: X".
_CONCLUSION = re.compile(
    r"(?:\b(?:so|therefore|thus|hence|which\s+means|meaning|winner\s+is|winner|answer\s+is|"
    r"answer|conclusion)\b)[\s:,\-—–]*(?:(?:it\s+is|it['’]s|that\s+is|that['’]s|the\s+answer"
    r"\s+is)\s+)?$"
)
#: The comparisons a choice is asked with ("whose post got more impressions").
_COMPARATIVES = (
    "more",
    "most",
    "higher",
    "highest",
    "larger",
    "largest",
    "bigger",
    "biggest",
    "greater",
    "warmer",
    "warmest",
    "colder",
    "coldest",
    "hotter",
    "cheaper",
    "cheapest",
    "faster",
    "fastest",
    "longer",
    "longest",
    "shorter",
    "shortest",
    "fewer",
    "less",
    "smaller",
    "smallest",
    "cooler",
    "coolest",
    "hottest",
    "lower",
    "lowest",
    "earlier",
    "earliest",
    "later",
    "latest",
)

_COMPARATIVE = re.compile(r"\b(" + "|".join(_COMPARATIVES) + r")\b")
#: Comparisons that say the same: a question asked with "higher" is answered by "warmer".
_UP = (
    "more most higher highest larger largest bigger biggest greater warmer warmest hotter "
    "hottest longer longest later latest"
)
_DOWN = (
    "fewer less lower lowest colder coldest cooler coolest cheaper cheapest shorter shortest "
    "earlier earliest smaller smallest"
)
_COMPARATIVE_FAMILIES = (frozenset(_UP.split()), frozenset(_DOWN.split()))


# -- closed sets: the other members of a small vocabulary are a text fact's rivals -----------

#: Small vocabularies a text answer is one of: antonyms, and the words a forecast, a check
#: or a correlation is said in. A member named besides the fact's value is a rival of it.
_VOCABULARIES: tuple[frozenset[str], ...] = tuple(
    frozenset(words.split("|"))
    for words in (
        "valid|invalid",
        "yes|no",
        "true|false",
        "pass|fail",
        "passed|failed",
        "success|failure",
        "succeeded|failed",
        "open|closed",
        "active|inactive",
        "enabled|disabled",
        "locked|unlocked",
        "online|offline",
        "available|unavailable",
        "approved|rejected",
        "increase|decrease",
        "positive|negative",
        "sunny|partly cloudy|cloudy|overcast|light rain|heavy rain|rainy|showers|drizzle"
        "|thunderstorms|thunderstorm|stormy|windy|snow|snowy|foggy|fog|hail|sleet",
        "strong positive|moderate positive|weak positive|very weak|weak negative"
        "|moderate negative|strong negative|no correlation",
    )
)
_SCHEMA_VOCABULARIES: list[frozenset[str]] | None = None


def _schema_vocabularies() -> list[frozenset[str]]:
    """The closed lists the tools' JSON schemas state: ``enum`` values, and "One of a, b,
    c" / "a, b or c" lists in descriptions (read once)."""
    global _SCHEMA_VOCABULARIES
    if _SCHEMA_VOCABULARIES is not None:
        return _SCHEMA_VOCABULARIES
    found: list[frozenset[str]] = []
    try:
        from asynctool_env import scenarios
    except Exception:  # the grader must work without the scenarios
        tools: Mapping[str, Any] = {}
    else:
        tools = scenarios.TOOLS

    def visit(value: Any) -> None:
        if isinstance(value, Mapping):
            enum = value.get("enum")
            if isinstance(enum, list) and len(enum) >= 2:
                found.append(frozenset(normalize_text(str(item)) for item in enum))
            description = value.get("description")
            if isinstance(description, str):
                found.extend(_listed_words(description))
            for item in value.values():
                visit(item)
        elif isinstance(value, list):
            for item in value:
                visit(item)

    for tool in tools.values():
        try:
            visit(tool.openai_schema())
        except Exception:  # a schema that cannot be read states no list
            continue
    _SCHEMA_VOCABULARIES = found
    return found


def _listed_words(text: str) -> list[frozenset[str]]:
    """The word lists a description states: "One of count, sum, avg, min, max", "upper,
    lower, title or camel (camelCase)"."""
    found = []
    for match in re.finditer(
        r"(?:\b(?:one of|either)\s+)?((?:[a-z][\w -]{0,20}(?:\s*\([^)]*\))?,\s*){1,}"
        r"(?:or\s+)?[a-z][\w -]{0,20})",
        text.casefold(),
    ):
        items = re.split(r",\s*(?:or\s+)?|\s+or\s+", re.sub(r"\([^)]*\)", "", match.group(1)))
        words = {item.strip() for item in items if item.strip()}
        if len(words) >= 2 and all(len(item.split()) <= 2 for item in words):
            found.append(frozenset(words))
    return found


def _instruction_options(instruction: str) -> list[frozenset[str]]:
    """The options an instruction offers in quotes: ``the result ("valid" or "invalid")``."""
    found = []
    quoted = r"[\"“”']([^\"“”']{1,40})[\"“”']"
    for match in re.finditer(
        rf"{quoted}(?:\s*,\s*{quoted})*\s*(?:,\s*)?or\s+{quoted}", instruction
    ):
        options = re.findall(quoted, match.group(0))
        if len(options) >= 2:
            found.append(frozenset(normalize_text(option) for option in options))
    return found


def _closed_set(value: Any, instruction: str | None) -> set[str]:
    """The other members of the small vocabularies ``value`` belongs to: the built-in ones,
    the options the instruction offers, and the lists the tools' schemas state."""
    wanted = normalize_text(str(value)).strip(" .")
    if not wanted or len(wanted) > 40:
        return set()
    others: set[str] = set()
    sets = list(_VOCABULARIES) + _instruction_options(instruction or "") + _schema_vocabularies()
    for vocabulary in sets:
        if wanted in vocabulary:
            others |= vocabulary
    others.discard(wanted)
    return others


# -- the instruction's own words for each fact ------------------------------------------------

#: Words that say nothing about which value is meant.
_GENERIC = frozenset(
    [
        "value",
        "values",
        "number",
        "numbers",
        "amount",
        "price",
        "prices",
        "current",
        "new",
        "latest",
        "me",
        "tell",
        "which",
        "what",
        "how",
        "many",
        "much",
        "it",
        "that",
        "its",
        "their",
        "them",
        "one",
        "ones",
        "each",
        "all",
        "also",
        "then",
        "you",
        "your",
        "we",
        "us",
        "our",
        "my",
    ]
)
_ASK = re.compile(r"\b(?:tell|give|send|show)\s+me\b|\blet\s+me\s+know\b|\breport\b", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.?!](?=\s+[A-Z\"“(]|\s*$)")


def _asked_items(instruction: str) -> list[list[str]]:
    """The things an instruction asks to be told, in order, each as its label words:
    "Tell me the result ("valid" or "invalid") and the number of errors" gives
    ``[["result"], ["number", "error"]]``."""
    items: list[list[str]] = []
    for match in _ASK.finditer(instruction):
        end = _SENTENCE_END.search(instruction, match.end())
        asked = instruction[match.end() : end.start() if end else len(instruction)]
        asked = re.sub(r"\([^)]*\)|[\"“][^\"”]*[\"”]", " ", asked)
        pieces = [
            [w for w in _label_words(_fold(piece)) if w not in _STOP and w not in _HEDGES]
            for piece in re.split(r",|;|\band\b", asked)
        ]
        # "... and tell me it": a thing asked without a name still takes its place
        items.extend([words for words in pieces if words] or [[]])
    return items


def _instruction_words(instruction: str | None, facts: Sequence[Fact]) -> list[set[str]]:
    """For each fact, the words the instruction asks for it with (see :func:`_asked_items`):
    an item whose words meet the fact's label or source key is that fact's; the others are
    the remaining facts', in order. Facts that share a label take distinct items when there
    are enough ("the checksum and the first UUID ... and tell me it")."""
    words: list[set[str]] = [set() for _ in facts]
    if not instruction:
        return words
    items = _asked_items(instruction)
    if not items:
        return words
    names = []
    for fact in facts:
        own: set[str] = set()
        for _, full, _ in _names_of(fact):
            own |= full
        names.append(own)

    def score(item: list[str], index: int) -> float:
        return sum(
            0.5 if word in _GENERIC or word in _OPTIONAL else 1.0
            for word in set(item) & names[index]
        )

    claimed = {
        position
        for position, item in enumerate(items)
        if any(score(item, index) > 0 for index in range(len(facts)))
    }
    used: set[int] = set()
    pointer = 0
    for index, fact in enumerate(facts):
        if fact.kind == "choice":
            continue
        scored = [(score(item, index), position) for position, item in enumerate(items)]
        best = max(value for value, _ in scored)
        chosen = None
        if best > 0:
            tops = [position for value, position in scored if value == best]
            fresh = [position for position in tops if position not in used]
            chosen = (fresh or tops)[0]
            if not fresh:
                # a same-label fact asked again without its label ("... and tell me it")
                spare = [
                    position
                    for position in range(pointer, len(items))
                    if position not in claimed and position not in used
                ]
                if spare:
                    chosen = spare[0]
        else:
            spare = [
                position
                for position in range(pointer, len(items))
                if position not in claimed and position not in used
            ]
            if spare:
                chosen = spare[0]
        if chosen is None:
            # more facts of one label than things asked ("for each the result"): the
            # words its sibling was asked with
            siblings = [words[other] for other in range(index) if facts[other].label == fact.label]
            words[index] = set(siblings[0]) if siblings else set()
            continue
        used.add(chosen)
        pointer = max(pointer, chosen)
        words[index] = {word for word in items[chosen] if word not in _GENERIC}
    return words


def _case_matters(value: Any) -> bool:
    """Whether a value's letter case carries information: one token with lower- and
    upper-case letters that is not just a capitalised word ("epPBgK2keF7Xu6u",
    "emberCastIron"; not "Madrid", "CUS-07A4F2", a digest or an email)."""
    if not isinstance(value, str):
        return False
    text = value.strip()
    if not text or any(char.isspace() for char in text) or _EMAIL.fullmatch(text.casefold()):
        return False
    if _URL.fullmatch(text.casefold()):
        return False
    lower = any(char.islower() for char in text)
    upper = [position for position, char in enumerate(text) if char.isupper()]
    return lower and bool(upper) and upper != [0]


#: Key words that say little about what a response field holds ("total_price" is "total").
_KEY_GENERIC = frozenset(
    {
        "id",
        "number",
        "count",
        "value",
        "amount",
        "total",
        "price",
        "c",
        "f",
        "name",
        "type",
        "at",
        "percent",
        "s",
        "is",
    }
)


@lru_cache(maxsize=4096)
def _key_names(key: str) -> tuple[frozenset[str], frozenset[str]]:
    """A response key's words, and its telling ones: ``low_c`` is "low", ``quote_price``
    "quote", ``previous_version_id`` "previous version"."""
    words = frozenset(word for word in _label_words(_fold(key)) if word not in _STOP)
    return words, (words - _KEY_GENERIC) or words


def _source_key(fact: Fact) -> str:
    if not fact.source:
        return ""
    keys = [key for key in re.split(r"[.{}$]", fact.source) if key and not key.isdigit()]
    return keys[-1] if len(keys) > 1 else ""


def _parse_number(raw: str) -> float | None:
    negative = raw[:1] in "-−"
    body = re.sub(r"[^\d.,]", "", raw).replace(",", "")
    if not _plain(body):
        return None
    number = float(body)
    return -number if negative else number


def _text_spans(value: Any, low: str) -> list[tuple[int, int]]:
    """Where the folded answer ``low`` states the text ``value`` (spacing and quotes
    ignored; punctuation too for wordy texts: "Order 80587 - Late Delivery")."""
    wanted = _squeeze(str(value)).strip(" .")
    if not wanted:
        return []
    parts = [part for part in _NOT_WORD.split(wanted) if part]
    if parts and parts[0] not in low:
        return []  # its first word is not there (most texts looked for are not)
    body = r"\s+".join(re.escape(part) for part in wanted.split())
    found = [m.span() for m in _compiled(r"(?<!\w)" + body + r"(?!\w)").finditer(low)]
    if found:
        return found
    letters = sum(char.isalpha() for char in wanted)
    if letters < 4 or not parts:
        return []
    loose = r"[\W_]*".join(re.escape(part) for part in parts)
    return [m.span() for m in _compiled(r"(?<![^\W_])" + loose + r"(?![^\W_])").finditer(low)]


def _phone_spans(value: str, low: str) -> list[tuple[int, int]]:
    """Where ``low`` writes the phone number ``value`` with other separators: "+1 555
    9987", "+1.555.9987", "+1 (555) 9987"."""
    groups = re.findall(r"\d+", value)
    lead = r"\+\s*" if value.strip().startswith("+") else ""
    body = lead + r"[\s.\-–()]*".join(groups)
    pattern = r"(?<![\w+])" + body + r"(?![\w-])"
    return [match.span() for match in _compiled(pattern).finditer(low)] if groups[-1] in low else []


@lru_cache(maxsize=8192)
def _id_tokens(text: str) -> tuple[str, ...]:
    """The id-like tokens of a text (``BK-1A2B3C``, emails, paths, digests)."""
    found = []
    for match in re.finditer(r"\S+", text):
        token = match.group(0).strip("([{<\"'`").rstrip(")]}>,;:.!?\"'`")
        if len(token) >= 3 and _shape(token) is not None:
            found.append(token)
    return tuple(found)
