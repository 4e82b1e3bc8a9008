"""Backend tests of the string_manipulation scenario, with values computed independently.

The text tools are pure functions, so they are checked on hand-made texts whose answers are
worked out by hand (and cross-checked with ``str.split``, ``str.count``, ``str.replace``
and set arithmetic); the catalogue, whose texts come from a hash of the world's seed, is
checked for its relations: a search returns the titles containing every query word, a
fetched text starts with its headline, and the text tools keep their promises on it.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest

from asynctool_env.core.tools import ToolError
from asynctool_env.scenarios import string_manipulation

SCENARIO = string_manipulation.SCENARIO
TOOLS = {tool.name: tool for tool in SCENARIO.tools}
SEEDS = range(4)
WORLD = SCENARIO.world(0)
KINDS = (
    "Support ticket",
    "Press release",
    "Meeting notes",
    "Product listing",
    "Event announcement",
)


def call(world: Any, tool_name: str, /, **arguments: Any) -> dict[str, Any]:
    """Run a tool the way the chat path does (arguments validated first)."""
    return TOOLS[tool_name].execute(world, arguments)


def titles(world: Any) -> list[str]:
    return [world.title(index) for index in range(len(world.ids))]


def snippets(world: Any) -> list[dict[str, Any]]:
    return [call(world, "fetch_text_snippet", snippet_id=snippet_id) for snippet_id in world.ids]


# -- catalogue ------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_search_returns_the_titles_holding_every_word(seed):
    world = SCENARIO.world(seed)
    all_titles = titles(world)
    assert len(all_titles) == len(set(all_titles)) == 8
    queries = [*all_titles, *KINDS, "order", "notes review", "the", "Press release: nothing"]
    for query in queries:
        out = call(world, "search_text_catalogue", query=f"  {query.upper()} ")
        words = query.casefold().split()
        expected = {title for title in all_titles if all(w in title.casefold() for w in words)}
        found = [result["title"] for result in out["results"]]
        assert set(found) == expected and len(found) == len(expected), query
        assert out["count"] == len(found)
        exact = [title for title in found if title.casefold() == " ".join(words)]
        assert found == exact + sorted(title for title in found if title not in exact)
        for result in out["results"]:
            assert result["kind"] == result["title"].split(":")[0]
            assert result["kind"] in KINDS
            assert re.fullmatch(r"TXT-[0-9A-F]{6}", result["snippet_id"])


@pytest.mark.parametrize("seed", SEEDS)
def test_fetch_agrees_with_search(seed):
    world = SCENARIO.world(seed)
    for title in titles(world):
        hit = call(world, "search_text_catalogue", query=title)["results"][0]
        assert hit["title"] == title
        out = call(world, "fetch_text_snippet", snippet_id=hit["snippet_id"].lower())
        assert (out["snippet_id"], out["title"], out["kind"]) == (
            hit["snippet_id"],
            title,
            hit["kind"],
        )
        lines = out["text"].splitlines()
        assert lines[0] == out["headline"] and lines[1] == ""
        assert len(out["text"].split()) > 20


def test_catalogue_bad_calls():
    with pytest.raises(ToolError, match="must not be empty"):
        call(WORLD, "search_text_catalogue", query="   ")
    with pytest.raises(ToolError, match="search_text_catalogue"):
        call(WORLD, "fetch_text_snippet", snippet_id="TXT-000000")
    assert call(WORLD, "search_text_catalogue", query="zebra")["count"] == 0


# -- case, slugs, replacement ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "style", "expected"),
    [
        ("hello World 42", "upper", "HELLO WORLD 42"),
        ("hello World 42", "lower", "hello world 42"),
        ("hello World 42", "title", "Hello World 42"),
        ("it's a dog's life", "title", "It's A Dog's Life"),  # not str.title's "It'S"
        ("hello World. this is it! ok? yes", "sentence", "Hello world. This is it! Ok? Yes"),
        ("hello World 42", "snake", "hello_world_42"),
        ("hello World 42", "kebab", "hello-world-42"),
        ("hello World 42", "camel", "helloWorld42"),
        ("hello World 42", "pascal", "HelloWorld42"),
        ("hello World 42", "constant", "HELLO_WORLD_42"),
        ("Crème brûlée, s'il vous plaît!", "snake", "creme_brulee_sil_vous_plait"),
        ("  XML http request ", "camel", "xmlHttpRequest"),
    ],
)
def test_change_case_by_hand(text, style, expected):
    out = call(WORLD, "change_text_case", text=text, style=f" {style.upper()} ")
    assert (out["text"], out["style"], out["length"]) == (expected, style, len(expected))


def test_change_case_bad_calls():
    with pytest.raises(ToolError, match="use one of: upper, lower"):
        call(WORLD, "change_text_case", text="x", style="spongebob")
    with pytest.raises(ToolError, match="no letters or digits"):
        call(WORLD, "change_text_case", text="?!", style="snake")
    with pytest.raises(ToolError, match="must not be empty"):
        call(WORLD, "change_text_case", text=" ", style="upper")


@pytest.mark.parametrize(
    ("text", "max_length", "separator", "slug"),
    [
        ("Hello, World! Ça va?", 80, "-", "hello-world-ca-va"),
        ("Hello, World! Ça va?", 80, "_", "hello_world_ca_va"),
        ("Hello, World! Ça va?", 11, "-", "hello-world"),
        ("Hello, World! Ça va?", 10, "-", "hello"),  # cut at a separator, never inside a word
        ("Liam O'Brien's 2nd café", 80, "-", "liam-obriens-2nd-cafe"),
        ("a" * 30 + " tail", 12, "-", "a" * 12),  # a first word longer than the limit
    ],
)
def test_slugify_by_hand(text, max_length, separator, slug):
    out = call(WORLD, "slugify_text", text=text, max_length=max_length, separator=separator)
    assert out == {"slug": slug, "length": len(slug), "words": len(slug.split(separator))}


@pytest.mark.parametrize("seed", SEEDS)
def test_slugs_of_headlines(seed):
    world = SCENARIO.world(seed)
    for snippet in snippets(world):
        full = call(world, "slugify_text", text=snippet["headline"], max_length=200)["slug"]
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", full)
        assert full.split("-")[0] in snippet["headline"].lower()
        for limit in (10, 25, 40):
            out = call(world, "slugify_text", text=snippet["headline"], max_length=limit)
            assert out["length"] == len(out["slug"]) <= limit
            words = out["slug"].split("-")
            assert out["words"] == len(words)
            if len(full.split("-")[0]) <= limit:  # whole words, the first ones of the full slug
                assert words == full.split("-")[: len(words)]
                longer = "-".join(full.split("-")[: len(words) + 1])
                assert longer == full or len(longer) > limit


def test_slugify_bad_calls():
    with pytest.raises(ToolError, match="separator must be"):
        call(WORLD, "slugify_text", text="a b", separator=".")
    with pytest.raises(ToolError, match="between 10 and 200"):
        call(WORLD, "slugify_text", text="a b", max_length=9)
    with pytest.raises(ToolError, match="no letters or digits"):
        call(WORLD, "slugify_text", text="!!!")


@pytest.mark.parametrize(
    ("case_sensitive", "whole_word", "expected", "count"),
    [
        (True, False, "Cat dog CAT dogalog", 2),
        (True, True, "Cat dog CAT catalog", 1),
        (False, False, "dog dog dog dogalog", 4),
        (False, True, "dog dog dog catalog", 3),
    ],
)
def test_replace_by_hand(case_sensitive, whole_word, expected, count):
    text = "Cat cat CAT catalog"
    out = call(
        WORLD,
        "replace_text_phrase",
        text=text,
        find="cat",
        replacement="dog",
        case_sensitive=case_sensitive,
        whole_word=whole_word,
    )
    assert (out["text"], out["replacements"], out["length"]) == (expected, count, len(expected))
    if case_sensitive and not whole_word:
        assert (out["text"], count) == (text.replace("cat", "dog"), text.count("cat"))


def test_replace_takes_its_arguments_literally():
    text = r"Pay $20.00 (or $20x00) to C:\temp\new"
    out = call(WORLD, "replace_text_phrase", text=text, find="$20.00", replacement=r"\1 €")
    assert out["text"] == r"Pay \1 € (or $20x00) to C:\temp\new"
    assert out["replacements"] == 1
    gone = call(WORLD, "replace_text_phrase", text=text, find="\\", replacement="")
    assert gone["text"] == text.replace("\\", "")
    assert gone["replacements"] == text.count("\\") == 2
    with pytest.raises(ToolError, match="find must not be empty"):
        call(WORLD, "replace_text_phrase", text=text, find="", replacement="x")


@pytest.mark.parametrize("seed", SEEDS)
def test_redacting_extracted_emails(seed):
    world = SCENARIO.world(seed)
    for snippet in snippets(world):
        text = snippet["text"]
        emails = call(world, "extract_text_patterns", text=text, pattern="email")
        for email in emails["matches"]:
            out = call(
                world, "replace_text_phrase", text=text, find=email, replacement="[redacted]"
            )
            assert out["replacements"] == text.count(email)
            assert out["text"] == text.replace(email, "[redacted]")
            assert email not in out["text"]


# -- counting and extracting ----------------------------------------------------------------


def test_count_words_by_hand():
    text = "The cat and the hat. The end!\nDon't stop"
    out = call(WORLD, "count_text_words", text=text)
    assert out["words"] == len(text.split()) == 9
    assert out["characters"] == len(text) == 40
    assert out["characters_no_spaces"] == len("".join(text.split())) == 32
    assert out["sentences"] == 3  # "...hat." "...end!" "Don't stop"
    assert out["lines"] == 2
    # vocabulary: the x3, cat, and, hat, end, don't, stop
    assert out["unique_words"] == 7
    assert out["top_words"] == [
        {"word": "the", "count": 3},
        {"word": "and", "count": 1},
        {"word": "cat", "count": 1},
        {"word": "don't", "count": 1},
        {"word": "end", "count": 1},
    ]


@pytest.mark.parametrize("seed", SEEDS)
def test_count_words_of_snippets(seed):
    world = SCENARIO.world(seed)
    for snippet in snippets(world):
        text = snippet["text"]
        out = call(world, "count_text_words", text=text)
        assert out["words"] == len(text.split())
        assert out["characters"] == len(text)
        assert out["characters_no_spaces"] == sum(not char.isspace() for char in text)
        assert out["lines"] == text.count("\n") + 1
        counts = [entry["count"] for entry in out["top_words"]]
        assert counts == sorted(counts, reverse=True)
        assert len(out["top_words"]) == min(5, out["unique_words"])
        for entry in out["top_words"]:
            found = re.findall(
                rf"(?<![a-z0-9']){re.escape(entry['word'])}(?![a-z0-9'])", text.lower()
            )
            assert len(found) == entry["count"], entry


def test_a_text_has_no_more_distinct_words_than_words():
    text = "Write to liam.obrien@example.com today"
    out = call(WORLD, "count_text_words", text=text)
    assert out["words"] == len(text.split()) == 4
    assert out["unique_words"] <= out["words"]  # the backend says 7


HAND_TEXT = (
    "Contact ana.lima@example.com or bob@mail.example.org by 2025-07-04 or July 14, 2025. "
    "See https://example.org/a/b?x=1. (Mirror: http://mirror.example.net/x) "
    "Call +1-555-0100 or +44 20 7946 0001. Price: $1,299.99, was €1.5 million; now £5. "
    "#Sale #summer_2025 for C# fans, #1 again: ana.lima@example.com"
)


@pytest.mark.parametrize(
    ("pattern", "matches", "occurrences"),
    [
        ("email", ["ana.lima@example.com", "bob@mail.example.org"], 3),
        ("date", ["2025-07-04", "July 14, 2025"], 2),
        ("url", ["https://example.org/a/b?x=1", "http://mirror.example.net/x"], 2),
        ("phone", ["+1-555-0100", "+44 20 7946 0001"], 2),
        ("hashtag", ["#Sale", "#summer_2025"], 2),
        ("price", ["$1,299.99", "€1.5 million", "£5"], 3),
    ],
)
def test_extract_by_hand(pattern, matches, occurrences):
    out = call(WORLD, "extract_text_patterns", text=HAND_TEXT, pattern=f" {pattern.upper()} ")
    assert out == {
        "pattern": pattern,
        "matches": matches,
        "count": len(matches),
        "occurrences": occurrences,
    }


def test_extract_price_before_a_comma():
    out = call(WORLD, "extract_text_patterns", text="It costs $5, not $6.", pattern="price")
    assert out["matches"] == ["$5", "$6"]


@pytest.mark.parametrize("seed", SEEDS)
def test_extract_from_snippets(seed):
    world = SCENARIO.world(seed)
    for snippet in snippets(world):
        text = snippet["text"]
        for pattern in ("email", "date", "url", "phone", "hashtag", "price"):
            out = call(world, "extract_text_patterns", text=text, pattern=pattern)
            assert out["count"] == len(out["matches"]) == len(set(out["matches"]))
            assert out["occurrences"] >= out["count"]
            assert all(match in text for match in out["matches"])
            positions = [text.index(match) for match in out["matches"]]
            assert positions == sorted(positions)  # in order of first appearance
        if snippet["kind"] == "Support ticket":  # the sender writes their address twice
            sender = re.search(r"<([^>]+)>", text).group(1)
            emails = call(world, "extract_text_patterns", text=text, pattern="email")
            assert emails["matches"][0] == sender
            assert emails["occurrences"] == emails["count"] + 1
        if snippet["kind"] in ("Press release", "Product listing", "Event announcement"):
            urls = call(world, "extract_text_patterns", text=text, pattern="url")["matches"]
            assert len(urls) == 1 and not urls[0].endswith((".", ")"))


def test_extract_bad_pattern():
    with pytest.raises(ToolError, match="use one of: email, date, url"):
        call(WORLD, "extract_text_patterns", text="x", pattern="iban")


# -- truncation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("max_length", "ellipsis", "at_word_boundary", "expected"),
    [
        (15, "...", True, "The quick..."),
        (15, "...", False, "The quick br..."),
        (10, "…", True, "The quick…"),  # the cut falls on a space
        (25, "...", True, "The quick brown fox jumps"),
        (24, "", True, "The quick brown fox"),
    ],
)
def test_truncate_by_hand(max_length, ellipsis, at_word_boundary, expected):
    text = "The quick brown fox jumps"
    out = call(
        WORLD,
        "truncate_text",
        text=text,
        max_length=max_length,
        ellipsis=ellipsis,
        at_word_boundary=at_word_boundary,
    )
    assert out == {
        "text": expected,
        "truncated": expected != text,
        "length": len(expected),
    }


@pytest.mark.parametrize("seed", SEEDS)
def test_truncate_snippets(seed):
    world = SCENARIO.world(seed)
    for snippet in snippets(world):
        text = snippet["text"]
        for limit in (20, 57, 120):
            out = call(world, "truncate_text", text=text, max_length=limit)
            assert out["truncated"] and out["length"] == len(out["text"]) <= limit
            assert out["text"].endswith("...")
            kept = out["text"][:-3]
            assert text.startswith(kept)
            following = text[len(kept) :]
            assert following[:1].isspace() or following[:1] in ",;:-" or kept == text[: limit - 3]


def test_truncate_bad_calls():
    with pytest.raises(ToolError, match="between 4 and 20000"):
        call(WORLD, "truncate_text", text="hello world", max_length=3)
    with pytest.raises(ToolError, match="shorter than max_length"):
        call(WORLD, "truncate_text", text="hello world", max_length=5, ellipsis="[more]")


# -- glossaries and translation -------------------------------------------------------------

#: A few glossary entries, per language.
TRANSLATIONS = {
    "French": {
        "hello": "bonjour",
        "team": "équipe",
        "thanks": "merci",
        "the": "le",
        "help": "aide",
    },
    "Spanish": {
        "hello": "hola",
        "team": "equipo",
        "thanks": "gracias",
        "the": "el",
        "help": "ayuda",
    },
    "German": {"hello": "hallo", "team": "Team", "thanks": "danke", "the": "die", "help": "Hilfe"},
    "Italian": {
        "hello": "ciao",
        "team": "squadra",
        "thanks": "grazie",
        "the": "il",
        "help": "aiuto",
    },
}
CODES = {"French": "FR", "Spanish": "ES", "German": "DE", "Italian": "IT"}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("language", sorted(CODES))
def test_glossaries(seed, language):
    world = SCENARIO.world(seed)
    out = call(world, "get_translation_glossary", language=language.lower())
    assert call(world, "get_translation_glossary", language=CODES[language]) == out
    assert out["language"] == language
    assert re.fullmatch(rf"GLS-{CODES[language]}-[0-9A-F]{{4}}", out["glossary_id"])
    assert out["size"] == len(out["terms"])
    assert 0 < out["size"] < 39  # a subset of the service's 39 terms
    for english, translation in TRANSLATIONS[language].items():
        assert out["terms"].get(english, translation) == translation


def world_with_terms(language: str) -> tuple[Any, dict[str, Any]]:
    """The first world whose glossary of ``language`` holds the five hand-known terms."""
    for seed in range(200):
        world = SCENARIO.world(seed)
        glossary = call(world, "get_translation_glossary", language=language)
        if set(TRANSLATIONS[language]) <= set(glossary["terms"]):
            return world, glossary
    raise AssertionError("no such world")


@pytest.mark.parametrize("language", sorted(CODES))
def test_translate_by_hand(language):
    world, glossary = world_with_terms(language)
    words = TRANSLATIONS[language]
    text = "Hello team, THANKS cat the help! Mail team@example.com, see https://a.example/the #the"
    out = call(
        world, "translate_text_with_glossary", text=text, glossary_id=glossary["glossary_id"]
    )
    hello, team = words["hello"], words["team"]
    expected = (
        f"{hello[0].upper()}{hello[1:]} {team}, {words['thanks'].upper()} cat {words['the']} "
        f"{words['help']}! Mail team@example.com, see https://a.example/the #the"
    )
    assert out == {
        "text": expected,
        "language": language,
        "glossary_id": glossary["glossary_id"],
        "substitutions": 5,
    }


def test_translate_bad_glossary_ids():
    glossary_id = call(WORLD, "get_translation_glossary", language="French")["glossary_id"]
    tampered = glossary_id[:-1] + ("0" if glossary_id[-1] != "0" else "1")
    for bad in (tampered, "GLS-PT-0000", "french"):
        with pytest.raises(ToolError, match="get_translation_glossary"):
            call(WORLD, "translate_text_with_glossary", text="hello", glossary_id=bad)
    with pytest.raises(ToolError, match="available languages: French"):
        call(WORLD, "get_translation_glossary", language="Portuguese")


# -- similarity -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text_a", "text_b", "shared", "only_a", "only_b"),
    [
        ("the cat sat on the mat", "The dog sat on the log.", ["on", "sat", "the"], 2, 2),
        ("Don't panic", "don't PANIC!", ["don't", "panic"], 0, 0),
        ("alpha beta", "gamma delta", [], 2, 2),
    ],
)
def test_similarity_by_hand(text_a, text_b, shared, only_a, only_b):
    out = call(WORLD, "compare_text_similarity", text_a=text_a, text_b=text_b)
    union = len(shared) + only_a + only_b
    assert out == {
        "jaccard_similarity": round(len(shared) / union, 4),
        "shared_words": len(shared),
        "only_in_a": only_a,
        "only_in_b": only_b,
        "sample_shared": shared,
    }


@pytest.mark.parametrize("seed", SEEDS)
def test_similarity_of_snippets(seed):
    world = SCENARIO.world(seed)
    texts = [snippet["text"] for snippet in snippets(world)]
    for a, b in itertools.pairwise(texts):
        forward = call(world, "compare_text_similarity", text_a=a, text_b=b)
        backward = call(world, "compare_text_similarity", text_a=b, text_b=a)
        assert forward["jaccard_similarity"] == backward["jaccard_similarity"]
        assert (forward["only_in_a"], forward["only_in_b"]) == (
            backward["only_in_b"],
            backward["only_in_a"],
        )
        union = forward["shared_words"] + forward["only_in_a"] + forward["only_in_b"]
        assert forward["jaccard_similarity"] == round(forward["shared_words"] / union, 4)
        assert forward["sample_shared"] == sorted(forward["sample_shared"])
        assert all(word in a.lower() and word in b.lower() for word in forward["sample_shared"])
    same = call(world, "compare_text_similarity", text_a=texts[0], text_b=texts[0])
    assert (same["jaccard_similarity"], same["only_in_a"], same["only_in_b"]) == (1.0, 0, 0)
    with pytest.raises(ToolError, match="text_b must not be empty"):
        call(world, "compare_text_similarity", text_a="x", text_b="  ")
