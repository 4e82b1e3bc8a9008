"""String Manipulation: fetch texts from a catalogue, then transform and analyse them.

The world
---------
A :class:`StringWorld` holds a catalogue of eight text snippets (support tickets, press
releases, meeting notes, product listings, event announcements), drawn from the
:data:`TOPICS` catalogue, each with a world-specific ``TXT-XXXXXX`` id, and a ``seed``. The
text of a snippet (its headline, the people, e-mail addresses, phone numbers, dates, prices,
links and hashtags in it) is *not stored*: it is a pure function of ``seed`` and the topic,
derived from a hash (:func:`_snippet`), so a world costs a few microseconds to build and
only ``fetch_text_snippet`` reveals what a text says. The translation glossaries are world
specific too: each world's glossary of a language holds a hash-chosen subset of the
:data:`_GLOSSARY` terms.

The tools
---------
============================== ======= ======================================================
``search_text_catalogue``       1       snippets whose title contains every query word
``fetch_text_snippet``          1       the headline and full text of a snippet id
``change_text_case``            0       upper, lower, title, sentence, snake, kebab, camel...
``slugify_text``                0       a URL slug (ASCII, lower case, separator, max length)
``replace_text_phrase``         0       find and replace (case, whole words), with a count
``count_text_words``            0       words, characters, sentences, lines, top words
``extract_text_patterns``       0       e-mails, dates, URLs, phone numbers, hashtags, prices
``truncate_text``               0       shortens to a maximum length at a word boundary
``get_translation_glossary``    1       the world's glossary of a language (id and terms)
``translate_text_with_glossary`` 2      word-by-word translation with a glossary id
``compare_text_similarity``     1       Jaccard similarity of the two texts' vocabularies
============================== ======= ======================================================

(the middle column is the declared latency in rounds: string functions answer on the next
turn, catalogue reads and comparisons take a round, the translation service two.)

State
-----
No tool writes: every tool is a read (the text tools are pure functions of their arguments;
the catalogue tools recompute a snippet from ``seed`` whenever asked), so the world's
:class:`~asynctool_env.core.state.WorldState` stays empty and any interleaving of tasks gets
the same responses. A glossary id (``GLS-FR-1A2B``) names its language and carries a
world-specific check code, so the translation tool validates it by recomputing it. Snippet
ids, glossary ids and every text are world-specific, so the later steps of a template need
what an earlier response revealed (an id, a headline, a text, an extracted address). Text
tools answer with their own input transformed (a case change, a replacement): the resolver
counts what such a response repeats of its call's arguments as an *echo*, which teaches the
agent nothing (:mod:`asynctool_env.core.resolver`).

The templates
-------------
======================== ===== ================================================================
``headline_slug``         3     search -> fetch -> slugify the headline (a chain)
``headline_case``         3     search -> fetch -> restyle the headline's case (a chain)
``extract_from_snippet``  2     fetch a snippet *given by id* -> extract a pattern (a chain; the
                                id is a constant for lookups)
``redact_pattern``        5     search -> fetch -> extract; replace the first match in the text
                                (joins fetch and extract) -> count the words of the result
``translate_preview``     5     search and glossary in parallel; fetch; translate (fan-in of
                                text and glossary id) -> truncate
``compare_snippets``      5     two searches (parallel) -> two fetches -> similarity (fan-in)
``word_statistics``       3     search -> fetch -> count words (a chain)
======================== ===== ================================================================

Evolution hooks
---------------
Lookups: a constant ``snippet_id`` is revealed by ``search_text_catalogue`` of the snippet's
title, a constant ``glossary_id`` by ``get_translation_glossary`` of its language.
Follow-ups, each asking for the value it adds: count the sentences of a snippet fetched by
a stated id, extract a kind of pattern after a replacement (how many remain), the length of
a full translation. Side steps: the id of a snippet by its title, the id of a
language's glossary. No rule transforms a phrase the instruction quotes (a model could slugify
or restyle it without any tool), and no rule searches by a snippet's kind (titles state it).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from asynctool_env.core.scenario import (
    FollowUpRule,
    LookupRule,
    Scenario,
    SideStepRule,
    StepSpec,
    TaskSpec,
    is_constant,
    world_digest,
)
from asynctool_env.core.state import WorldState
from asynctool_env.core.tools import ToolError, tool

#: Kinds of snippets, as titles show them.
KINDS: tuple[str, ...] = (
    "Support ticket",
    "Press release",
    "Meeting notes",
    "Product listing",
    "Event announcement",
)
#: (kind index, topic, detail): the catalogue a world draws its snippets from.
TOPICS: tuple[tuple[int, str, str], ...] = (
    (0, "damaged parcel", "my parcel arrived with a crushed corner and a broken mug inside"),
    (0, "double charge on card", "I was charged twice for the same order"),
    (0, "password reset loop", "the password reset link keeps sending me back to the login"),
    (0, "late delivery", "my delivery is now more than a week late"),
    (0, "wrong size shipped", "I ordered a medium jacket but received a large one"),
    (0, "subscription cancellation", "I would like to cancel my subscription before renewal"),
    (1, "Northwind opens a Lisbon office", "Northwind|northwind.example|opens a Lisbon office"),
    (1, "Contoso launches solar roof tiles", "Contoso|contoso.example|launches solar roof tiles"),
    (1, "Fabrikam acquires Tailspin Toys", "Fabrikam|fabrikam.example|acquires Tailspin Toys"),
    (1, "Globex reports a record quarter", "Globex|globex.example|reports a record quarter"),
    (1, "Initech recalls desk fans", "Initech|initech.example|recalls its desk fans"),
    (1, "Umbrella Health expands clinics", "Umbrella Health|umbrella.example|expands clinics"),
    (2, "marketing weekly sync", "Marketing|approve the summer campaign brief"),
    (2, "platform incident review", "Platform|write the incident timeline"),
    (2, "Q3 budget planning", "Finance|send the revised budget sheet"),
    (2, "hiring committee", "Recruiting|schedule the final interviews"),
    (2, "design critique", "Design|update the onboarding mock-ups"),
    (2, "customer advisory board", "Customer Success|share the survey results"),
    (3, "Aurora espresso machine", "Casa Bella|a 15-bar pump and a steam wand for silky milk"),
    (3, "Trailblazer hiking boots", "Northpeak|waterproof leather and a grippy rubber sole"),
    (3, "Nimbus e-reader", "Papyrus|a glare-free screen and six weeks of battery life"),
    (3, "Solace noise-cancelling headphones", "Sonora|adaptive noise cancelling for 30 hours"),
    (3, "Vista 27-inch monitor", "Pixelworks|a 1440p panel with a 165 Hz refresh rate"),
    (3, "Ember cast-iron skillet", "Hearthware|a pre-seasoned 12-inch pan that lasts for decades"),
    (4, "Spring developer meetup", "the Harbor Loft|devmeetup|talks, pizza and demos"),
    (4, "Charity 10K fun run", "Riverside Park|run4good|a 10 km loop for the food bank"),
    (4, "Jazz night at the Pier", "Pier 39 Hall|jazznight|live music from three local bands"),
    (4, "Open-source hack day", "the Civic Library|hackday|a day of fixing issues together"),
    (4, "Farmers market reopening", "Market Square|freshlocal|forty stalls of local produce"),
    (4, "Photography workshop", "the Old Mill Studio|shootlocal|portrait lighting basics"),
)
N_SNIPPETS = 8
MAX_TEXT = 20000

_PEOPLE: tuple[str, ...] = (
    "Maya Patel",
    "Liam O'Brien",
    "Sofia Rossi",
    "Noah Kim",
    "Ava Johnson",
    "Lucas Silva",
    "Emma Dubois",
    "Ethan Nakamura",
    "Chloe Martin",
    "Omar Haddad",
    "Zara Ahmed",
    "Felix Wagner",
    "Hana Sato",
    "Diego Ramirez",
    "Nina Kowalski",
    "Raj Mehta",
)
_MAIL_DOMAINS = ("example.com", "mail.example.org", "inbox.example.net", "post.example.io")
_ROLES = ("head of communications", "chief executive", "product director", "regional manager")
_MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_FIRST_DAY = dt.date(2025, 6, 2)


@dataclass(frozen=True)
class StringWorld:
    """The state the string tools work on (see the module docstring).

    Attributes:
        seed: Seeds every derived detail (the texts, the glossaries).
        topics: Indexes into :data:`TOPICS` of the catalogue's snippets.
        ids: ``TXT-XXXXXX`` id of each snippet, in the order of ``topics``.
        state: Always empty (no tool writes).
    """

    seed: int
    topics: tuple[int, ...]
    ids: tuple[str, ...]
    state: WorldState = field(default_factory=WorldState, compare=False, repr=False)

    def title(self, index: int) -> str:
        kind, topic, _ = TOPICS[self.topics[index]]
        return f"{KINDS[kind]}: {topic}"


def _digest(seed: int, *parts: object) -> bytes:
    return world_digest(seed, *parts, size=64)


def make_world(rng: np.random.Generator) -> StringWorld:
    """A world drawn from ``rng`` only: eight snippets with distinct ids, a seed."""
    draws = rng.random(len(TOPICS) + 1).tolist()
    seed = int(draws[-1] * 2**52)
    topics = sorted(range(len(TOPICS)), key=draws.__getitem__)[:N_SNIPPETS]
    bits = _digest(seed, "ids")  # 3 bytes per snippet id
    codes = [int.from_bytes(bits[3 * n : 3 * n + 3], "big") for n in range(len(topics))]
    while len(set(codes)) < len(codes):  # practically never
        codes = [(code + n) % 0xFFFFFF for n, code in enumerate(codes)]
    ids = tuple(f"TXT-{code:06X}" for code in codes)
    return StringWorld(seed=seed, topics=tuple(topics), ids=ids)


# -- the texts ------------------------------------------------------------------------------


def _email(name: str, domain: str) -> str:
    first, last = name.lower().replace("'", "").split()
    return f"{first}.{last}@{domain}"


def _long(day: dt.date) -> str:
    return f"{_MONTH_NAMES[day.month - 1]} {day.day}, {day.year}"


def _phone(bits: bytes) -> str:
    if bits[0] % 2:
        return f"+1-555-{int.from_bytes(bits[1:3], 'big') % 10000:04d}"
    return f"+44 20 7946 {int.from_bytes(bits[1:3], 'big') % 10000:04d}"


def _snippet(world: StringWorld, index: int) -> tuple[str, str]:
    """(headline, text) of snippet ``index``: a pure function of the world and the topic."""
    topic_index = world.topics[index]
    kind, topic, detail = TOPICS[topic_index]
    bits = _digest(world.seed, "snippet", topic_index)
    people = [_PEOPLE[(bits[0] + 5 * k) % len(_PEOPLE)] for k in range(3)]
    days = sorted(_FIRST_DAY + dt.timedelta(days=bits[1 + k] % 90) for k in range(3))
    domain = _MAIL_DOMAINS[bits[4] % len(_MAIL_DOMAINS)]
    phone = _phone(bits[5:8])
    number = 10000 + int.from_bytes(bits[8:11], "big") % 90000
    cents = bits[11] % 100
    if kind == 0:  # support ticket
        headline = f"Order #{number}: {topic}"
        amount = f"${20 + bits[12] % 180}.{cents:02d}"
        body = (
            f"From: {people[0]} <{_email(people[0], domain)}>\n"
            f"Date: {days[1].isoformat()}\n\n"
            f"Hello support team, {detail}. I placed order #{number} on {_long(days[0])} "
            f"and paid {amount}. Could you please help? You can reach me at "
            f"{_email(people[0], domain)} or on {phone}. My partner, {people[1]} "
            f"({_email(people[1], domain)}), can also confirm the details.\n\n"
            f"Thanks, {people[0].split()[0]}"
        )
    elif kind == 1:  # press release
        company, site, action = detail.split("|")
        headline = f"{company} {action} on {_long(days[1])}"
        budget = f"${1 + bits[12] % 40}.{bits[13] % 10} million"
        body = (
            f"{_long(days[0])} - {company} {action} on {_long(days[1])}, the company said "
            f'today. "This is a big step for our team and our customers," said '
            f"{people[0]}, {_ROLES[bits[14] % len(_ROLES)]} at {company}. The plan has a "
            f"budget of {budget}. Press contact: {people[1]}, {_email(people[1], site)}, "
            f"{phone}. More information: https://www.{site}/news/{number}."
        )
    elif kind == 2:  # meeting notes
        team, action = detail.split("|")
        headline = f"{topic[0].upper()}{topic[1:]} notes, {_long(days[0])}"
        body = (
            f"Team: {team}\nAttendees: {people[0]} ({_email(people[0], domain)}), {people[1]} "
            f"({_email(people[1], domain)}), {people[2]}.\n"
            f"Date: {days[0].isoformat()}\n\n"
            f"Decisions: the team agreed to {action} and to review progress next week.\n"
            f"Action items:\n- {people[0]} to {action} by {days[1].isoformat()}.\n"
            f"- {people[1]} to collect feedback by {_long(days[2])}.\n"
            f"Next meeting: {days[2].isoformat()}. Notes taken by {people[2]}."
        )
    elif kind == 3:  # product listing
        brand, feature = detail.split("|")
        price = 30 + bits[12] * 2
        headline = f"{topic} by {brand}, now ${price}.{cents:02d}"
        sku = f"{brand[:3].upper()}-{number}"
        body = (
            f"The {topic} by {brand} comes with {feature}. Price: ${price}.{cents:02d} "
            f"(was ${price + 10 + bits[13] % 60}.{cents:02d}). In stock from "
            f"{_long(days[0])}. Questions? Write to {_email(people[0], 'shop.example.com')} "
            f"or visit https://shop.example.com/p/{sku}. SKU {sku}. #newarrival "
            f"#{brand.lower().replace(' ', '')}"
        )
    else:  # event announcement
        venue, tag, what = detail.split("|")
        hour = 9 + bits[12] % 11
        headline = f"{topic} on {_long(days[1])} at {venue}"
        body = (
            f"Join us for the {topic.lower()} on {_long(days[1])} at {venue}, starting at "
            f"{hour}:00: {what}. Tickets cost ${5 + bits[13] % 40}; RSVP by "
            f"{days[0].isoformat()} to {_email(people[0], domain)}. Organised by "
            f"{people[1]} ({phone}). Details: https://events.example.org/{tag}-{number}. "
            f"#{tag} #community"
        )
    return headline, f"{headline}\n\n{body}"


def _snippet_index(world: StringWorld, snippet_id: str) -> int:
    wanted = snippet_id.strip().upper()
    if wanted in world.ids:
        return world.ids.index(wanted)
    raise ToolError(
        f"unknown snippet_id {snippet_id!r}; use a snippet_id returned by search_text_catalogue"
    )


def _text(text: str, role: str = "text") -> str:
    if not text.strip():
        raise ToolError(f"{role} must not be empty")
    if len(text) > MAX_TEXT:
        raise ToolError(f"{role} is too long ({len(text)} characters, at most {MAX_TEXT})")
    return text


def _ascii_words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.findall(r"[A-Za-z0-9]+", folded.replace("'", ""))


_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def _distinct_words(text: str) -> set[str]:
    """The whitespace-separated words of ``text``, case and surrounding punctuation
    ignored."""
    words = (word.strip(_EDGE_PUNCTUATION).casefold() for word in text.split())
    return {word for word in words if word}


_EDGE_PUNCTUATION = "\"'`“”‘’()[]{}<>.,;:!?*_"


def _vocabulary(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("’", "'"))


# -- patterns and glossaries ----------------------------------------------------------------

_MONTH_ALTERNATION = "|".join(_MONTH_NAMES)
PATTERNS: dict[str, re.Pattern[str]] = {
    "email": re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
    "date": re.compile(
        rf"\b\d{{4}}-\d{{2}}-\d{{2}}\b|\b(?:{_MONTH_ALTERNATION}) \d{{1,2}}, \d{{4}}"
    ),
    "url": re.compile(r"https?://[^\s<>\"]+[^\s<>\".,;:!?)]"),
    "phone": re.compile(r"\+\d{1,3}(?:[ -]\d{2,4}){2,4}\b"),
    "hashtag": re.compile(r"(?<![\w#])#[A-Za-z][A-Za-z0-9_]*"),
    "price": re.compile(r"[$€£]\d+(?:,\d{3})*(?:\.\d+)?(?: million)?"),
}

_LANGUAGES: dict[str, str] = {
    "FR": "French",
    "ES": "Spanish",
    "DE": "German",
    "IT": "Italian",
}
#: English term -> (French, Spanish, German, Italian).
_GLOSSARY: dict[str, tuple[str, str, str, str]] = {
    "the": ("le", "el", "die", "il"),
    "and": ("et", "y", "und", "e"),
    "to": ("à", "a", "zu", "a"),
    "for": ("pour", "para", "für", "per"),
    "with": ("avec", "con", "mit", "con"),
    "our": ("notre", "nuestro", "unser", "nostro"),
    "team": ("équipe", "equipo", "Team", "squadra"),
    "order": ("commande", "pedido", "Bestellung", "ordine"),
    "please": ("s'il vous plaît", "por favor", "bitte", "per favore"),
    "thanks": ("merci", "gracias", "danke", "grazie"),
    "hello": ("bonjour", "hola", "hallo", "ciao"),
    "help": ("aide", "ayuda", "Hilfe", "aiuto"),
    "price": ("prix", "precio", "Preis", "prezzo"),
    "new": ("nouveau", "nuevo", "neu", "nuovo"),
    "company": ("entreprise", "empresa", "Firma", "azienda"),
    "today": ("aujourd'hui", "hoy", "heute", "oggi"),
    "week": ("semaine", "semana", "Woche", "settimana"),
    "next": ("prochain", "próximo", "nächste", "prossimo"),
    "meeting": ("réunion", "reunión", "Besprechung", "riunione"),
    "date": ("date", "fecha", "Datum", "data"),
    "join": ("rejoignez", "únete", "komm", "unisciti"),
    "us": ("nous", "nosotros", "uns", "noi"),
    "tickets": ("billets", "entradas", "Tickets", "biglietti"),
    "details": ("détails", "detalles", "Details", "dettagli"),
    "information": ("informations", "información", "Informationen", "informazioni"),
    "more": ("plus", "más", "mehr", "più"),
    "stock": ("stock", "existencias", "Lager", "magazzino"),
    "customers": ("clients", "clientes", "Kunden", "clienti"),
    "budget": ("budget", "presupuesto", "Budget", "bilancio"),
    "contact": ("contact", "contacto", "Kontakt", "contatto"),
    "feedback": ("avis", "opiniones", "Rückmeldungen", "riscontri"),
    "on": ("le", "el", "am", "il"),
    "at": ("à", "en", "in", "a"),
    "by": ("par", "por", "von", "da"),
    "now": ("maintenant", "ahora", "jetzt", "ora"),
    "june": ("juin", "junio", "Juni", "giugno"),
    "july": ("juillet", "julio", "Juli", "luglio"),
    "august": ("août", "agosto", "August", "agosto"),
    "notes": ("notes", "notas", "Notizen", "appunti"),
}
_GLOSSARY_ID = re.compile(r"^GLS-([A-Z]{2})-([0-9A-F]{4})$")


def _language(value: str) -> str:
    wanted = value.strip().casefold()
    for code, name in _LANGUAGES.items():
        if wanted in (code.casefold(), name.casefold()):
            return code
    raise ToolError(
        f"no glossary for {value!r}; available languages: {', '.join(_LANGUAGES.values())}"
    )


def _glossary(world: StringWorld, code: str) -> tuple[str, dict[str, str]]:
    """The world's glossary of language ``code``: its id and its terms (a hash-chosen 75%)."""
    bits = _digest(world.seed, "glossary", code)
    column = list(_LANGUAGES).index(code)
    terms = {
        english: translations[column]
        for n, (english, translations) in enumerate(_GLOSSARY.items())
        if bits[2 + n] % 4
    }
    return f"GLS-{code}-{bits[:2].hex().upper()}", terms


def _match_case(word: str, translation: str) -> str:
    if word.isupper() and len(word) > 1:
        return translation.upper()
    if word[0].isupper():
        return translation[0].upper() + translation[1:]
    return translation


# -- tools ----------------------------------------------------------------------------------


@tool(latency=1, canonical={"query": "keyword"})
def search_text_catalogue(world: StringWorld, query: str) -> dict[str, Any]:
    """Search the text catalogue: snippets whose title contains every word of the query.

    Args:
        query: Words of the title, e.g. "damaged parcel" or "Press release".
    """
    words = query.casefold().split()
    if not words:
        raise ToolError("query must not be empty")
    exact = " ".join(words)
    found = []
    for index in range(len(world.ids)):
        title = world.title(index)
        if all(word in title.casefold() for word in words):
            found.append((title.casefold() != exact, title, index))
    found.sort()
    return {
        "query": query.strip(),
        "results": [
            {
                "snippet_id": world.ids[index],
                "title": title,
                "kind": KINDS[TOPICS[world.topics[index]][0]],
            }
            for _, title, index in found
        ],
        "count": len(found),
    }


@tool(latency=1, canonical={"snippet_id": "symbol"})
def fetch_text_snippet(world: StringWorld, snippet_id: str) -> dict[str, Any]:
    """Fetch a text snippet: its title, kind, headline (first line) and full text.

    Args:
        snippet_id: A snippet_id returned by search_text_catalogue, e.g. "TXT-4F2A91".
    """
    index = _snippet_index(world, snippet_id)
    headline, text = _snippet(world, index)
    return {
        "snippet_id": world.ids[index],
        "title": world.title(index),
        "kind": KINDS[TOPICS[world.topics[index]][0]],
        "headline": headline,
        "text": text,
    }


_STYLES = ("upper", "lower", "title", "sentence", "snake", "kebab", "camel", "pascal", "constant")


@tool(latency=0, canonical={"style": "keyword"})
def change_text_case(world: StringWorld, text: str, style: str) -> dict[str, Any]:
    """Rewrite a text in another letter case or identifier style.

    Args:
        text: The text.
        style: upper, lower, title, sentence, snake (snake_case), kebab (kebab-case), camel
            (camelCase), pascal (PascalCase) or constant (CONSTANT_CASE).
    """
    source = _text(text)
    wanted = style.strip().lower()
    if wanted not in _STYLES:
        raise ToolError(f"unknown style {style!r}; use one of: {', '.join(_STYLES)}")
    words = [word.lower() for word in _ascii_words(source)]
    if wanted == "upper":
        result = source.upper()
    elif wanted == "lower":
        result = source.lower()
    elif wanted == "title":
        result = re.sub(r"[A-Za-z]+('[a-z]+)?", lambda m: m.group(0).capitalize(), source)
    elif wanted == "sentence":
        lowered = source.lower()
        result = re.sub(
            r"(^\s*|[.!?]\s+)([a-z])", lambda m: m.group(1) + m.group(2).upper(), lowered
        )
    elif not words:
        raise ToolError(f"the text has no letters or digits to build a {wanted} identifier from")
    elif wanted == "snake":
        result = "_".join(words)
    elif wanted == "kebab":
        result = "-".join(words)
    elif wanted == "constant":
        result = "_".join(words).upper()
    elif wanted == "camel":
        result = words[0] + "".join(word.capitalize() for word in words[1:])
    else:
        result = "".join(word.capitalize() for word in words)
    return {"text": result, "style": wanted, "length": len(result)}


@tool(latency=0)
def slugify_text(
    world: StringWorld, text: str, max_length: int = 80, separator: str = "-"
) -> dict[str, Any]:
    """Turn a text into a URL slug: ASCII letters and digits in lower case, joined by a separator.

    Args:
        text: The text, e.g. a headline.
        max_length: Longest slug allowed, 10 to 200; longer slugs are cut at a separator.
        separator: "-" (default) or "_".
    """
    if separator not in ("-", "_"):
        raise ToolError(f"separator must be '-' or '_', got {separator!r}")
    if not 10 <= max_length <= 200:
        raise ToolError(f"max_length must be between 10 and 200, got {max_length}")
    words = [word.lower() for word in _ascii_words(_text(text))]
    if not words:
        raise ToolError("the text has no letters or digits to build a slug from")
    slug = words[0][:max_length]
    for word in words[1:]:
        if len(slug) + 1 + len(word) > max_length:
            break
        slug += separator + word
    return {"slug": slug, "length": len(slug), "words": slug.count(separator) + 1}


@tool(latency=0)
def replace_text_phrase(
    world: StringWorld,
    text: str,
    find: str,
    replacement: str,
    case_sensitive: bool = True,
    whole_word: bool = False,
) -> dict[str, Any]:
    """Find and replace every occurrence of a phrase in a text.

    Args:
        text: The text to edit.
        find: The phrase to look for (not empty).
        replacement: What to put instead (may be empty).
        case_sensitive: Match the phrase's letter case exactly (default true).
        whole_word: Only replace the phrase where it is not part of a longer word.
    """
    source = _text(text)
    if not find:
        raise ToolError("find must not be empty")
    pattern = re.escape(find)
    if whole_word:
        pattern = rf"(?<!\w){pattern}(?!\w)"
    flags = 0 if case_sensitive else re.IGNORECASE
    if len(replacement) > MAX_TEXT:
        raise ToolError(
            f"replacement is too long ({len(replacement)} characters, at most {MAX_TEXT})"
        )
    matches = [match.span() for match in re.finditer(pattern, source, flags=flags)]
    length = len(source) + sum(len(replacement) - (end - start) for start, end in matches)
    if length > MAX_TEXT:  # checked before building it: the result is bounded like any text
        raise ToolError(
            f"the result would be {length} characters long (at most {MAX_TEXT}); replace "
            "fewer occurrences or use a shorter replacement"
        )
    result, count = re.subn(pattern, lambda _: replacement, source, flags=flags)
    return {"text": result, "replacements": count, "length": len(result)}


@tool(latency=0)
def count_text_words(world: StringWorld, text: str) -> dict[str, Any]:
    """Count the words, characters, sentences and lines of a text, with its most common words.

    Args:
        text: The text.
    """
    source = _text(text)
    vocabulary = _vocabulary(source)
    counts = Counter(vocabulary)
    top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:5]
    sentences = [part for part in re.split(r"[.!?]+(?=\s|$)", source) if part.strip()]
    return {
        "words": len(source.split()),
        "characters": len(source),
        "characters_no_spaces": sum(not char.isspace() for char in source),
        "sentences": len(sentences),
        "lines": len(source.splitlines()),
        # distinct among the same words that "words" counts (an e-mail is one word)
        "unique_words": len(_distinct_words(source)),
        "top_words": [{"word": word, "count": count} for word, count in top],
    }


@tool(latency=0, canonical={"pattern": "keyword"})
def extract_text_patterns(world: StringWorld, text: str, pattern: str) -> dict[str, Any]:
    """Extract every e-mail address, date, URL, phone number, hashtag or price from a text.

    Args:
        text: The text to scan.
        pattern: What to extract: email, date, url, phone, hashtag or price.
    """
    source = _text(text)
    wanted = pattern.strip().lower()
    if wanted not in PATTERNS:
        raise ToolError(f"unknown pattern {pattern!r}; use one of: {', '.join(PATTERNS)}")
    found = [match.group(0) for match in PATTERNS[wanted].finditer(source)]
    unique = list(dict.fromkeys(found))
    return {"pattern": wanted, "matches": unique, "count": len(unique), "occurrences": len(found)}


@tool(latency=0)
def truncate_text(
    world: StringWorld,
    text: str,
    max_length: int,
    ellipsis: str = "...",
    at_word_boundary: bool = True,
) -> dict[str, Any]:
    """Shorten a text to at most max_length characters, ending with an ellipsis if it was cut.

    Args:
        text: The text.
        max_length: Longest result allowed (ellipsis included), 4 to 20000.
        ellipsis: Appended when the text is cut (default "...").
        at_word_boundary: Cut at the last space that fits instead of inside a word (default
            true).
    """
    source = _text(text)
    if not 4 <= max_length <= MAX_TEXT:
        raise ToolError(f"max_length must be between 4 and {MAX_TEXT}, got {max_length}")
    if len(ellipsis) >= max_length:
        raise ToolError("the ellipsis must be shorter than max_length")
    if len(source) <= max_length:
        return {"text": source, "truncated": False, "length": len(source)}
    cut = source[: max_length - len(ellipsis)]
    if at_word_boundary and not source[len(cut)].isspace():
        space = max(cut.rfind(" "), cut.rfind("\n"))
        if space > 0:
            cut = cut[:space]
    result = cut.rstrip(" \n\t,;:-") + ellipsis
    return {"text": result, "truncated": True, "length": len(result)}


@tool(latency=1, canonical={"language": "keyword"})
def get_translation_glossary(world: StringWorld, language: str) -> dict[str, Any]:
    """Get the translation glossary of a language: its id and its English -> target terms.

    Args:
        language: French, Spanish, German or Italian (or the code FR, ES, DE, IT).
    """
    code = _language(language)
    glossary_id, terms = _glossary(world, code)
    return {
        "glossary_id": glossary_id,
        "language": _LANGUAGES[code],
        "terms": terms,
        "size": len(terms),
    }


@tool(latency=2, canonical={"glossary_id": "symbol"})
def translate_text_with_glossary(world: StringWorld, text: str, glossary_id: str) -> dict[str, Any]:
    """Translate a text word by word with a glossary (e-mails, links and hashtags are kept).

    Args:
        text: The English text.
        glossary_id: A glossary_id returned by get_translation_glossary, e.g. "GLS-FR-1A2B".
    """
    source = _text(text)
    match = _GLOSSARY_ID.match(glossary_id.strip().upper())
    if (
        match is None
        or match.group(1) not in _LANGUAGES
        or _glossary(world, match.group(1))[0] != match.group(0)
    ):
        raise ToolError(
            f"unknown glossary_id {glossary_id!r}; use a glossary_id returned by "
            "get_translation_glossary"
        )
    code = match.group(1)
    _, terms = _glossary(world, code)
    substitutions = 0

    def word(found: re.Match[str]) -> str:
        nonlocal substitutions
        translation = terms.get(found.group(0).lower())
        if translation is None:
            return found.group(0)
        substitutions += 1
        return _match_case(found.group(0), translation)

    def token(found: re.Match[str]) -> str:
        part = found.group(0)
        if "@" in part or "://" in part or part.startswith("#"):
            return part
        return re.sub(r"[A-Za-z]+", word, part)

    result = re.sub(r"\S+", token, source)
    return {
        "text": result,
        "language": _LANGUAGES[code],
        "glossary_id": match.group(0),
        "substitutions": substitutions,
    }


@tool(latency=1)
def compare_text_similarity(world: StringWorld, text_a: str, text_b: str) -> dict[str, Any]:
    """Compare the vocabularies of two texts (Jaccard similarity of their sets of words).

    Args:
        text_a: The first text.
        text_b: The second text.
    """
    words_a = set(_vocabulary(_text(text_a, "text_a")))
    words_b = set(_vocabulary(_text(text_b, "text_b")))
    shared = words_a & words_b
    union = words_a | words_b
    return {
        "jaccard_similarity": round(len(shared) / len(union), 4) if union else 0.0,
        "shared_words": len(shared),
        "only_in_a": len(words_a - words_b),
        "only_in_b": len(words_b - words_a),
        "sample_shared": sorted(shared)[:10],
    }


# -- templates ------------------------------------------------------------------------------


def _choice(rng: np.random.Generator, items: Sequence[Any]) -> Any:
    return items[int(rng.integers(len(items)))]


def _snippets(world: StringWorld, rng: np.random.Generator, count: int) -> list[int]:
    """``count`` distinct snippet indexes."""
    return [int(i) for i in rng.permutation(len(world.ids))[:count]]


def _present(world: StringWorld, index: int, patterns: Sequence[str]) -> list[str]:
    """Those of ``patterns`` that occur in snippet ``index``."""
    text = _snippet(world, index)[1]
    return [name for name in patterns if PATTERNS[name].search(text)]


def _find_and_fetch(title: str) -> tuple[StepSpec, StepSpec]:
    return (
        StepSpec("search_text_catalogue", {"query": title}),
        StepSpec("fetch_text_snippet", {"snippet_id": "${s0.results.0.snippet_id}"}),
    )


def headline_slug(world: StringWorld, rng: np.random.Generator) -> TaskSpec:
    """Search, fetch, slugify the headline (3 steps, a chain)."""
    (index,) = _snippets(world, rng, 1)
    title = world.title(index)
    max_length = _choice(rng, (30, 40, 50, 60, 80))
    separator = _choice(rng, ("-", "_"))
    return TaskSpec(
        instruction=(
            f'Find the snippet titled "{title}" in the text catalogue, fetch it and turn its '
            f"headline into a URL slug of at most {max_length} characters using "
            f'"{separator}" as the separator. Tell me the slug.'
        ),
        steps=(
            *_find_and_fetch(title),
            StepSpec(
                "slugify_text",
                {"text": "${s1.headline}", "max_length": max_length, "separator": separator},
            ),
        ),
        answer="${s2.slug}",
    )


def headline_case(world: StringWorld, rng: np.random.Generator) -> TaskSpec:
    """Search, fetch, restyle the headline (3 steps, a chain)."""
    (index,) = _snippets(world, rng, 1)
    title = world.title(index)
    style = _choice(rng, ("upper", "title", "snake", "kebab", "camel", "pascal", "constant"))
    return TaskSpec(
        instruction=(
            f'Fetch the catalogue snippet titled "{title}" and rewrite its headline in '
            f"{style} case. Tell me the result."
        ),
        steps=(
            *_find_and_fetch(title),
            StepSpec("change_text_case", {"text": "${s1.headline}", "style": style}),
        ),
        answer="${s2.text}",
    )


_NOUNS = {
    "email": "e-mail addresses",
    "date": "dates",
    "url": "URLs",
    "phone": "phone numbers",
    "hashtag": "hashtags",
    "price": "prices",
}


def extract_from_snippet(world: StringWorld, rng: np.random.Generator) -> TaskSpec:
    """Fetch a snippet given by id, extract one kind of pattern (2 steps, a chain)."""
    (index,) = _snippets(world, rng, 1)
    pattern = _choice(rng, _present(world, index, tuple(PATTERNS)))
    return TaskSpec(
        instruction=(
            f"Fetch {world.ids[index]} from the text catalogue and extract all the "
            f"{_NOUNS[pattern]} in its text. How many distinct ones are there, and which comes "
            "first?"
        ),
        steps=(
            StepSpec("fetch_text_snippet", {"snippet_id": world.ids[index]}),
            StepSpec("extract_text_patterns", {"text": "${s0.text}", "pattern": pattern}),
        ),
        answer="${s1.count}, first: ${s1.matches.0}",
    )


def redact_pattern(world: StringWorld, rng: np.random.Generator) -> TaskSpec:
    """Redact the first e-mail/phone/URL of a text, count its words (5 steps, a diamond).

    DAG: 0 -> 1 -> 2, {1, 2} -> 3 -> 4.
    """
    (index,) = _snippets(world, rng, 1)
    pattern = _choice(rng, _present(world, index, ("email", "phone", "url")))
    label = _choice(rng, ("[redacted]", f"[{pattern} removed]", "***"))
    title = world.title(index)
    noun = _NOUNS[pattern][:-1].replace("addresse", "address")
    return TaskSpec(
        instruction=(
            f'Fetch the snippet titled "{title}", extract its {_NOUNS[pattern]}, replace '
            f'every occurrence of the first {noun} found in the text with "{label}", and '
            "count the words of the redacted text. Tell me how many replacements were made "
            "and the word count."
        ),
        steps=(
            *_find_and_fetch(title),
            StepSpec("extract_text_patterns", {"text": "${s1.text}", "pattern": pattern}),
            StepSpec(
                "replace_text_phrase",
                {"text": "${s1.text}", "find": "${s2.matches.0}", "replacement": label},
            ),
            StepSpec("count_text_words", {"text": "${s3.text}"}),
        ),
        answer="${s3.replacements} replacement(s), ${s4.words} words",
    )


def translate_preview(world: StringWorld, rng: np.random.Generator) -> TaskSpec:
    """Glossary and snippet in parallel, translate (fan-in), truncate (5 steps).

    DAG: 0 -> 2, {1, 2} -> 3 -> 4.
    """
    (index,) = _snippets(world, rng, 1)
    title = world.title(index)
    language = _choice(rng, tuple(_LANGUAGES.values()))
    max_length = _choice(rng, (120, 160, 200, 240, 280))
    return TaskSpec(
        instruction=(
            f'Translate the catalogue snippet titled "{title}" into {language} with the '
            f"{language} translation glossary, then truncate the translation to at most "
            f'{max_length} characters (cut at a word boundary, ending in "..."). Tell me the '
            "preview."
        ),
        steps=(
            StepSpec("search_text_catalogue", {"query": title}),
            StepSpec("get_translation_glossary", {"language": language}),
            StepSpec("fetch_text_snippet", {"snippet_id": "${s0.results.0.snippet_id}"}),
            StepSpec(
                "translate_text_with_glossary",
                {"text": "${s2.text}", "glossary_id": "${s1.glossary_id}"},
            ),
            StepSpec("truncate_text", {"text": "${s3.text}", "max_length": max_length}),
        ),
        answer="${s4.text}",
    )


def compare_snippets(world: StringWorld, rng: np.random.Generator) -> TaskSpec:
    """Two searches and fetches in parallel, joined by a comparison (5 steps).

    DAG: 0 -> 2, 1 -> 3, {2, 3} -> 4.
    """
    first, second = _snippets(world, rng, 2)
    a, b = world.title(first), world.title(second)
    return TaskSpec(
        instruction=(
            f'How similar are the vocabularies of the snippets "{a}" and "{b}"? Fetch both '
            "texts from the catalogue and compare them; tell me the Jaccard similarity and "
            "the number of shared words."
        ),
        steps=(
            StepSpec("search_text_catalogue", {"query": a}),
            StepSpec("search_text_catalogue", {"query": b}),
            StepSpec("fetch_text_snippet", {"snippet_id": "${s0.results.0.snippet_id}"}),
            StepSpec("fetch_text_snippet", {"snippet_id": "${s1.results.0.snippet_id}"}),
            StepSpec("compare_text_similarity", {"text_a": "${s2.text}", "text_b": "${s3.text}"}),
        ),
        answer="${s4.jaccard_similarity} (${s4.shared_words} shared words)",
    )


def word_statistics(world: StringWorld, rng: np.random.Generator) -> TaskSpec:
    """Search, fetch, count words (3 steps, a chain)."""
    (index,) = _snippets(world, rng, 1)
    title = world.title(index)
    field, question = _choice(
        rng,
        (
            ("words", "how many words it has"),
            ("sentences", "how many sentences it has"),
            ("unique_words", "how many distinct words it uses"),
            ("characters", "how many characters it has"),
            ("top_words.0.word", "which word it uses most often"),
        ),
    )
    return TaskSpec(
        instruction=(
            f'Fetch the snippet titled "{title}" from the text catalogue, count its words '
            f"and tell me {question}."
        ),
        steps=(*_find_and_fetch(title), StepSpec("count_text_words", {"text": "${s1.text}"})),
        answer=f"${{s2.{field}}}",
    )


# -- evolution hooks ------------------------------------------------------------------------


def _lookup_snippet(world: StringWorld, value: Any) -> tuple[dict[str, Any], str, str] | None:
    """A constant snippet id -> search_text_catalogue by the snippet's title."""
    if not isinstance(value, str) or value.strip().upper() not in world.ids:
        return None
    title = world.title(world.ids.index(value.strip().upper()))
    return {"query": title}, "results.0.snippet_id", f'the snippet titled "{title}"'


def _lookup_glossary(world: StringWorld, value: Any) -> tuple[dict[str, Any], str, str] | None:
    """A constant glossary id -> get_translation_glossary by the glossary's language."""
    match = _GLOSSARY_ID.match(value.strip().upper()) if isinstance(value, str) else None
    if match is None or match.group(1) not in _LANGUAGES:
        return None
    if _glossary(world, match.group(1))[0] != match.group(0):
        return None
    language = _LANGUAGES[match.group(1)]
    return {"language": language}, "glossary_id", f"the {language} translation glossary"


def _follow_count(
    world: StringWorld, rng: np.random.Generator, index: int, followed: StepSpec
) -> tuple[StepSpec, str, str | None]:
    """Count the words of a snippet fetched by an id the instruction states."""
    snippet_id = followed.arguments.get("snippet_id")
    if not is_constant(snippet_id):
        return None  # fetched by a looked-up id: which snippet is it?
    step = StepSpec("count_text_words", {"text": f"${{s{index}.text}}"})
    return (
        step,
        f"Then count the words of the text of {snippet_id} and tell me how many sentences it has.",
        "sentences",
    )


def _follow_replace(
    world: StringWorld, rng: np.random.Generator, index: int, followed: StepSpec
) -> tuple[StepSpec, str, str]:
    """Extract a kind of pattern from the edited text (the one template that replaces already
    counts the result's words, so a word count would only repeat its call)."""
    pattern = _choice(rng, tuple(PATTERNS))
    step = StepSpec("extract_text_patterns", {"text": f"${{s{index}.text}}", "pattern": pattern})
    return (
        step,
        (
            f'Then extract the {_NOUNS[pattern]} (pattern "{pattern}") from the text as it is '
            "after the replacement and tell me how many distinct ones it holds."
        ),
        "count",
    )


def _follow_translation_length(
    world: StringWorld, rng: np.random.Generator, index: int, followed: StepSpec
) -> tuple[StepSpec, str, str]:
    """Count the characters of the full translation (a task translates one text at most). Not
    a shorter preview: it would be a prefix of the preview the task asks for, so stating the
    longer one would state it too."""
    step = StepSpec("count_text_words", {"text": f"${{s{index}.text}}"})
    return (
        step,
        "Then count the words of the full (untruncated) translation and tell me how many "
        "characters it has.",
        "characters",
    )


def _side_snippet(world: StringWorld, rng: np.random.Generator) -> tuple[StepSpec, str, str]:
    title = world.title(int(rng.integers(len(world.ids))))
    step = StepSpec("search_text_catalogue", {"query": title})
    return (
        step,
        f'Also find the snippet titled "{title}" in the catalogue and tell me its id.',
        "results.0.snippet_id",
    )


def _side_glossary(world: StringWorld, rng: np.random.Generator) -> tuple[StepSpec, str, str]:
    language = _choice(rng, tuple(_LANGUAGES.values()))
    step = StepSpec("get_translation_glossary", {"language": language})
    return (
        step,
        f"Also get the {language} translation glossary and tell me its id.",
        "glossary_id",
    )


SCENARIO = Scenario(
    name="string_manipulation",
    category="String Manipulation",
    description=(
        "Search and fetch text snippets from a catalogue, then transform them: change case, "
        "slugify, find and replace, count words, extract e-mails, dates and links, truncate "
        "and translate with a glossary."
    ),
    make_world=make_world,
    tools=(
        search_text_catalogue,
        fetch_text_snippet,
        change_text_case,
        slugify_text,
        replace_text_phrase,
        count_text_words,
        extract_text_patterns,
        truncate_text,
        get_translation_glossary,
        translate_text_with_glossary,
        compare_text_similarity,
    ),
    templates={
        "headline_slug": headline_slug,
        "headline_case": headline_case,
        "extract_from_snippet": extract_from_snippet,
        "redact_pattern": redact_pattern,
        "translate_preview": translate_preview,
        "compare_snippets": compare_snippets,
        "word_statistics": word_statistics,
    },
    lookups=(
        LookupRule("snippet_id", "search_text_catalogue", _lookup_snippet),
        LookupRule("glossary_id", "get_translation_glossary", _lookup_glossary),
    ),
    follow_ups=(
        FollowUpRule("fetch_text_snippet", _follow_count),
        FollowUpRule("translate_text_with_glossary", _follow_translation_length),
        FollowUpRule("replace_text_phrase", _follow_replace),
    ),
    side_steps=(
        SideStepRule("snippet_id", _side_snippet),
        SideStepRule("glossary_id", _side_glossary),
    ),
)
