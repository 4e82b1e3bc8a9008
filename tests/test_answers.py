"""Answers graded as facts: a correct answer is credited, a guess, a hedge or a paste is not.

Models are trained by RL on this grade, so each cheat an adversarial playtester found has a
test here (hedges and sprays, labels ignored, pastes), phrased many ways, next to the honest
styles that must keep passing (a sentence with units and context, bare values, labelled
lines, a JSON object or Python dict keyed by labels, the loser named in a comparison, a
factorisation in any usual notation, a decrease said in words). Then a battery over every
task of the shipped dev split: the gold answer in five styles passes; each fact hedged with
a rival of its kind, labels swapped between two facts, a whole response pasted and a spray
of candidates all fail.

The hand-made tasks below use values chosen for the test (a customer's email and a table's
row count, a ticket order, a similarity, ...), not values copied from grader output.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import lru_cache
from typing import Any

import pytest

from asynctool_env.core.facts import (
    Fact,
    _flatten,
    _id_tokens,
    _same_shape,
    _shape,
    answer_length_limit,
    answer_text,
    context_values,
    extract_numbers,
    fact_subjects,
    facts_from_answer,
    grade_answer,
    normalize_text,
)
from asynctool_env.core.resolver import task_facts
from asynctool_env.dataset import load_split

# -- a hand-made task: a customer's email and a table's row count ---------------------------

EMAIL_TASK_RESPONSES = [
    {
        "matched": 1,
        "records": [
            {
                "email": "isla.sato@outlook.com",
                "name": "Isla Sato",
                "record_id": "CUS-0B4A6A",
                "tier": "gold",
                "lifetime_value": 266.49,
            }
        ],
    },
    {"record": {"email": "isla.sato@outlook.com", "record_id": "CUS-0B4A6A"}},
    {"table": "invoices", "row_count": 41, "columns": 6},
    {"job_id": "EXP-CUS-JSONL-321B", "row_count": 28, "status": "queued"},
    {"record": {"email": "raj.mehta@gmail.com", "record_id": "CUS-77A1F0"}},
]
EMAIL_TASK_INSTRUCTION = (
    "Find the customer with record id CUS-0B4A6A and tell me their email, and how many rows "
    "the invoices table has; also start a jsonl export of the customers table."
)
EMAIL = Fact("text", "isla.sato@outlook.com", "${s1.record.email}", label="email")
ROWS = Fact("number", 41, "${s2.row_count}", label="row count")


def grade_email_task(answer: Any, instruction: str | None = None):
    context = context_values(EMAIL_TASK_RESPONSES, EMAIL_TASK_INSTRUCTION)
    return grade_answer(answer, (EMAIL, ROWS), context, EMAIL_TASK_RESPONSES, instruction)


@pytest.mark.parametrize(
    "answer",
    [
        "The customer's email is isla.sato@outlook.com and the invoices table has 41 rows.",
        "isla.sato@outlook.com; 41",
        "41; isla.sato@outlook.com",
        "isla.sato@outlook.com, 41 rows",
        "email: isla.sato@outlook.com\nrow count: 41",
        "Row count: 41. Email: isla.sato@outlook.com.",
        "Rows: 41, e-mail: isla.sato@outlook.com",
        '{"email": "isla.sato@outlook.com", "row count": 41}',
        '{"Row_Count": 41, "EMAIL": "isla.sato@outlook.com"}',
        "{'email': 'isla.sato@outlook.com', 'row_count': 41}",
        {"email": "isla.sato@outlook.com", "rows": 41},
        {"customer": {"email": "isla.sato@outlook.com"}, "invoices": {"row count": 41}},
        "Isla Sato (CUS-0B4A6A) has the email isla.sato@outlook.com. The invoices table "
        "has 41 rows (6 columns), and the customers export EXP-CUS-JSONL-321B is queued.",
        "The invoices table has 41 rows; the customers export (EXP-CUS-JSONL-321B) is "
        "queued. Email: isla.sato@outlook.com",
        'Email "isla.sato@outlook.com"; number of rows: 41.',
        "The invoices table has 41 rows. The email address is ISLA.SATO@OUTLOOK.COM.",
    ],
)
def test_honest_answers_to_a_task_pass(answer):
    verdict = grade_email_task(answer)
    assert verdict.correct, verdict.reasons
    assert grade_email_task(answer, EMAIL_TASK_INSTRUCTION).correct


@pytest.mark.parametrize(
    "answer",
    [
        # a second number for the count: "or", "either ... or", "maybe", "/", a range, ...
        "isla.sato@outlook.com; 41 or 42 rows",
        "isla.sato@outlook.com; 42 or 41 rows",
        "isla.sato@outlook.com; 41 or 28 rows",
        "isla.sato@outlook.com; either 41 or 28",
        "isla.sato@outlook.com; 41 (maybe 42)",
        "isla.sato@outlook.com; 41, possibly 42",
        "isla.sato@outlook.com; 41/42 rows",
        "isla.sato@outlook.com; 41-42 rows",
        "isla.sato@outlook.com; 40 to 42 rows",
        "isla.sato@outlook.com; between 40 and 42 rows",
        "isla.sato@outlook.com; approximately 41, or about 42",
        "isla.sato@outlook.com; about 41 or 42 rows",
        "isla.sato@outlook.com; 41 rows, though it could be 43",
        "isla.sato@outlook.com; row count 41 (alternatively 43)",
        "isla.sato@outlook.com; 41 rows. Also possible: 28.",
        # sprays
        "isla.sato@outlook.com; one of 38, 39, 40, 41, 42, 43",
        "isla.sato@outlook.com; " + ", ".join(str(n) for n in range(1, 60)),
        "isla.sato@outlook.com; the row count is one of 1, 2, 3, ..., 41, 42, ..., 60",
        "isla.sato@outlook.com; 41 rows; 1, 2, 3, 4, 5, 6, 7, 8, 9, 10",
        # a wrong count next to the right number
        "isla.sato@outlook.com; row count: 40. The table has 41 rows.",
        "isla.sato@outlook.com; the table has 41 rows. 40.",
        "isla.sato@outlook.com; 41 rows (42 with the header row)",
        "isla.sato@outlook.com; rows: 41, rows: 43",
        # two emails
        "isla.sato@outlook.com or raj.mehta@gmail.com; 41",
        "raj.mehta@gmail.com or isla.sato@outlook.com; 41",
        "isla.sato@outlook.com, raj.mehta@gmail.com; 41",
        "either isla.sato@outlook.com or raj.mehta@gmail.com; 41 rows",
        "isla.sato@outlook.com (maybe raj.mehta@gmail.com); 41 rows",
        "isla.sato@outlook.com / raj.mehta@gmail.com; 41 rows",
        "email: isla.sato@outlook.com, backup email: raj.mehta@gmail.com; 41 rows",
        "isla.sato@outlook.com; isla.sato@example.com; 41 rows",
        "isla.sato@outlook.com or something like it; 41 rows",
        '{"email": ["isla.sato@outlook.com", "raj.mehta@gmail.com"], "row count": 41}',
        '{"email": "isla.sato@outlook.com", "row count": [41, 42]}',
    ],
)
def test_hedges_and_sprays_fail(answer):
    verdict = grade_email_task(answer)
    assert not verdict.correct, answer
    assert not grade_email_task(answer, EMAIL_TASK_INSTRUCTION).correct, answer


@pytest.mark.parametrize(
    "answer",
    [
        "email: 41, row count: isla.sato@outlook.com",
        "row count: isla.sato@outlook.com\nemail: 41",
        "The email is 41 and the row count is isla.sato@outlook.com.",
        '{"email": 41, "row count": "isla.sato@outlook.com"}',
        "{'row_count': 'isla.sato@outlook.com', 'email': 41}",
        {"email": 41, "rows": "isla.sato@outlook.com"},
        # a label that names a wrong value, with the right value elsewhere
        "email: raj.mehta@gmail.com (isla.sato@outlook.com); 41 rows",
        "email: unknown; isla.sato@outlook.com; 41 rows",
        "isla.sato@outlook.com; row count: 28 (41)",
        '{"email": "isla.sato@outlook.com", "row count": 28, "rows": 41}',
    ],
)
def test_labels_bind(answer):
    verdict = grade_email_task(answer)
    assert not verdict.correct, answer


def _dump(response: dict[str, Any]) -> str:
    return json.dumps(response)


PASTED_RESPONSE = {
    "order_id": "ORD-RMM8VSPW8VR0WZF1",
    "total_charged": 475.34,
    "subtotal": 450.0,
    "fees": 25.34,
    "status": "confirmed",
    "delivery": "mobile tickets by email",
    "buyer_name": "Ada Lovelace",
}
ORDER_RESPONSES = [
    {"events": [{"name": "Jazz Night", "listing_id": "EVT-C3S21QE", "price_from": 225.0}]},
    {"hold_id": "HLD-SJP9JGYJZ", "total_price": 475.34, "quantity": 2, "section": "Floor"},
    PASTED_RESPONSE,
]
ORDER_INSTRUCTION = "Buy 2 Floor tickets to Jazz Night for Ada Lovelace; tell me the order id."
ORDER = Fact("id", "ORD-RMM8VSPW8VR0WZF1", "${s2.order_id}", label="order id")


def grade_order(answer: Any):
    context = context_values(ORDER_RESPONSES, ORDER_INSTRUCTION)
    return grade_answer(answer, (ORDER,), context, ORDER_RESPONSES)


@pytest.mark.parametrize(
    "answer",
    [
        _dump(PASTED_RESPONSE),
        PASTED_RESPONSE,
        _dump({**PASTED_RESPONSE, "answer": "ORD-RMM8VSPW8VR0WZF1"}),
        _dump({"order id": "ORD-RMM8VSPW8VR0WZF1", **PASTED_RESPONSE}),
        _dump({k: v for k, v in PASTED_RESPONSE.items() if k != "buyer_name"}),
        _dump(PASTED_RESPONSE) + " The order is ORD-RMM8VSPW8VR0WZF1.",
        "Here is what the purchase returned: " + _dump(PASTED_RESPONSE),
        "Result:\n" + json.dumps(PASTED_RESPONSE, indent=2) + "\nDone.",
        str(PASTED_RESPONSE),
        "\n".join(f"{key}: {value}" for key, value in PASTED_RESPONSE.items()),
        "; ".join(f"{key} = {value}" for key, value in PASTED_RESPONSE.items()),
        ", ".join(str(value) for value in PASTED_RESPONSE.values()),
        "Order ORD-RMM8VSPW8VR0WZF1 for Ada Lovelace: 475.34 charged (450.0 plus 25.34 fees), "
        "confirmed, delivered as mobile tickets by email.",
        " ".join(json.dumps(response) for response in ORDER_RESPONSES),
    ],
)
def test_pastes_fail_in_any_wrapping(answer):
    verdict = grade_order(answer)
    assert not verdict.correct, answer
    assert any("copy of the responses" in reason for reason in verdict.reasons), verdict.reasons


@pytest.mark.parametrize(
    "answer",
    [
        "The order id is ORD-RMM8VSPW8VR0WZF1.",
        "ORD-RMM8VSPW8VR0WZF1",
        '{"order id": "ORD-RMM8VSPW8VR0WZF1"}',
        '{"order_id": "ORD-RMM8VSPW8VR0WZF1", "status": "confirmed"}',
        "Order ORD-RMM8VSPW8VR0WZF1 is confirmed (hold HLD-SJP9JGYJZ, 475.34 USD).",
        "Bought 2 Floor tickets for Ada Lovelace: order ORD-RMM8VSPW8VR0WZF1, $475.34.",
    ],
)
def test_naming_a_few_things_for_context_is_fine(answer):
    verdict = grade_order(answer)
    assert verdict.correct, verdict.reasons


# -- numbers --------------------------------------------------------------------------------

TOTAL = Fact("number", 475.34, "${s2.total_charged}", abs_tol=0.005, label="total charged")


@pytest.mark.parametrize(
    ("answer", "right"),
    [
        ("The total charged is $475.34.", True),
        ("Total charged: 475.34 USD", True),
        ("475.34", True),
        ("USD 475.34 was charged", True),
        ("They charged €475.340 in all", True),
        ("ORD-RMM8VSPW8VR0WZF1: 475.34 (450.00 subtotal plus 25.34 in fees)", True),
        ("subtotal 450.0 or total 475.34", False),
        ("475.34 or 450.0", False),
        ("total 450.0 or 475.34", False),
        ("charged 475.34 (or 450 before fees)", False),
        ("475.34 or 480", False),
        ("475.34 or 475.3", False),
        ("475.34, 476.34", False),
        ("475.34 (approximately 480)", False),
    ],
)
def test_a_subtotal_or_the_total_is_a_hedge(answer, right):
    facts = (ORDER, TOTAL)
    context = context_values(ORDER_RESPONSES, ORDER_INSTRUCTION)
    text = answer if "ORD-" in answer else f"ORD-RMM8VSPW8VR0WZF1; {answer}"
    verdict = grade_answer(text, facts, context, ORDER_RESPONSES)
    assert verdict.correct is right, verdict.reasons


SIMILARITY = Fact("number", 0.0976, "${s4.jaccard_similarity}", abs_tol=0.005, label="similarity")
SIMILARITY_RESPONSES = [
    {"words": 46},
    {"words": 41},
    {},
    {},
    {"jaccard_similarity": 0.0976, "shared_words": 8, "union_words": 82},
]


@pytest.mark.parametrize(
    ("answer", "right"),
    [
        ("The Jaccard similarity is 0.0976 (8 shared words out of 82).", True),
        ("0.0976", True),
        ("about 0.1", True),
        ("0.10", True),
        ("similarity = 0.098", True),
        ("0.0976 or 0.25", False),
        ("0.0976 or 0.1", False),
        ("0.0976, maybe 0.12", False),
        ("0.0976 (or 0.0981)", False),
        ("0.0976; 0.4", False),
        ("the similarity is 0.0976, the other similarity is 0.3", False),
        ("0.0976 to 0.1", False),
        ("0.09-0.1", False),
    ],
)
def test_a_similarity_and_a_made_up_second_one(answer, right):
    context = context_values(SIMILARITY_RESPONSES, "")
    verdict = grade_answer(answer, (SIMILARITY,), context, SIMILARITY_RESPONSES)
    assert verdict.correct is right, verdict.reasons


COUNT = Fact("number", 12, "${s1.count}", label="count")
COUNT_RESPONSES = [{"samples": [12], "sample_mean": 12.0}, {"count": 12, "batch_id": "UB-6F0F32"}]


@pytest.mark.parametrize(
    ("answer", "right"),
    [
        ("There were 12 signups.", True),
        ("count: 12", True),
        ("12", True),
        ("12 signups on 2025-06-14 at 09:30", True),
        ("12:30", False),
        ("at 12:00 pm", False),
        ("at 12 pm", False),
        ("on 2025-06-12", False),
        ("on June 12, 2025", False),
        ("on 12/06/2025", False),
        ("batch UB-6F0F32, version 12.0.1", False),
        ("call +1-555-0012", False),
        ("12-14 signups", False),
        ("between 11 and 13 signups", False),
        ("11 to 13 signups", False),
    ],
)
def test_numbers_only_where_they_are_numbers(answer, right):
    """Digits inside times, dates, ids, versions, phone numbers and ranges' ends are not a
    statement of a count."""
    context = context_values(COUNT_RESPONSES, "")
    verdict = grade_answer(answer, (COUNT,), context, COUNT_RESPONSES)
    assert verdict.correct is right, verdict.reasons


CHANGE = Fact("number", -5.0612, "${s3.percent_change}", abs_tol=0.005, label="percent change")
RISE = Fact("number", 5.0612, "${s3.percent_change}", abs_tol=0.005, label="percent change")


@pytest.mark.parametrize(
    "answer",
    [
        "-5.06%",
        "−5.06 %",
        "The latest value is 5.06% below the mean.",
        "5.06% lower than the mean",
        "5.06 percent less",
        "a decrease of 5.06%",
        "a 5.06% decrease",
        "down 5.06%",
        "It fell by 5.06%.",
        "it dropped 5.06%",
        "declined by 5.06 percent",
        "It fell by -5.06%.",  # an explicit sign wins
    ],
)
def test_a_decrease_said_in_words_is_negative(answer):
    assert grade_answer(answer, (CHANGE,)).correct, answer
    assert not grade_answer(answer, (RISE,)).correct, answer


@pytest.mark.parametrize(
    "answer",
    ["5.06%", "+5.06%", "up 5.06%", "It rose by 5.06%.", "an increase of 5.06%", "5.06% higher"],
)
def test_an_increase_said_in_words_is_positive(answer):
    assert grade_answer(answer, (RISE,)).correct, answer
    assert not grade_answer(answer, (CHANGE,)).correct, answer


def test_thousands_separators_currency_signs_and_units_are_read():
    big = Fact("number", 1456001, "${s2.sum}", label="sum")
    for answer in ("1,456,001", "The sum is 1456001.", "$1,456,001.00", "1,456,001 kWh in all"):
        assert grade_answer(answer, (big,)).correct, answer
    assert not grade_answer("1,456,011", (big,)).correct


def test_instruction_numbers_are_not_rivals():
    responses = [{"amount": 279.67, "from_amount": 250.0, "rate": 1.118662, "to_currency": "USD"}]
    instruction = "How much is 250 EUR in USD?"
    amount = Fact("number", 279.67, "${s0.amount}", abs_tol=0.005, label="amount")
    context = context_values(responses, instruction)
    for answer in (
        "250 EUR is 279.67 USD.",
        "279.67 USD (250 EUR at a rate of 1.118662)",
        "279.67",
    ):
        assert grade_answer(answer, (amount,), context, responses, instruction).correct
        assert grade_answer(answer, (amount,), context, responses).correct  # inferred
    assert not grade_answer("279.67 or 281.5", (amount,), context, responses).correct


def test_another_facts_value_is_not_a_rival():
    first = Fact("number", 15, "${s2.battery_percent}", label="battery percent")
    second = Fact("number", 284, "${s2.estimated_minutes}", label="estimated minutes")
    responses = [{}, {}, {"battery_percent": 15, "estimated_minutes": 284, "target_percent": 80}]
    context = context_values(responses, "Charge it to 80%.")
    for answer in (
        "15% now, 284 minutes to charge",
        "284 minutes; 15%",
        "Charging to 80% has started. The battery is at 15% and it will take about 284 minutes.",
    ):
        assert grade_answer(answer, (first, second), context, responses).correct, answer


# -- ids and texts --------------------------------------------------------------------------

VERSION_RESPONSES = [
    {"matched": 1, "records": [{"record_id": "CUS-06A1A1", "name": "Mia Larsen"}]},
    {
        "previous_version_id": "VER-B2DDB9",
        "version_id": "VER-2ECCE1",
        "record_id": "CUS-06A1A1",
        "status": "updated",
        "changes": {"tier": "silver"},
    },
]
VERSION = Fact("id", "VER-2ECCE1", "${s1.version_id}", label="version id")


@pytest.mark.parametrize(
    ("answer", "right"),
    [
        ("The new version id is VER-2ECCE1.", True),
        ("VER-2ECCE1", True),
        ("Mia Larsen (CUS-06A1A1) has a new record version: ver-2ecce1.", True),
        ("The new version id is VER-2ECCE1 (it replaced VER-B2DDB9).", True),
        ("VER-2ECCE1 or VER-B2DDB9", False),
        ("VER-B2DDB9 or VER-2ECCE1", False),
        ("VER-2ECCE1, VER-B2DDB9", False),
        # labelled as what the response calls it (previous_version_id): context
        ("VER-2ECCE1 (previous: VER-B2DDB9)", True),
        ("new version VER-2ECCE1, previous version VER-B2DDB9", True),
        ("version: VER-2ECCE1 (version VER-B2DDB9)", False),
        ("VER-2ECCE1 (new: VER-B2DDB9)", False),
        ("VER-2ECCE1 (x: VER-B2DDB9)", False),
        ("VER-2ECCE1. VER-B2DDB9.", False),
        ("VER-2ECCE1 / VER-2ECCE2", False),
        ("version id: VER-2ECCE1; also VER-2ECCF1", False),
        ("VER-2ECCE", False),
    ],
)
def test_the_new_and_the_previous_version_id(answer, right):
    context = context_values(VERSION_RESPONSES, "")
    verdict = grade_answer(answer, (VERSION,), context, VERSION_RESPONSES)
    assert verdict.correct is right, verdict.reasons


DIGEST_RESPONSES = [
    {"document_id": "DOC-79BC24", "size_bytes": 680},
    {"digest": "7d9ec7b23b4d6f989aac2af0004563c3", "algorithm": "md5"},
    {"digest": "dc7c3e1128c4c3f3f77ad83a1dee9b2c58529f76", "algorithm": "sha1"},
    {"document_id": "DOC-DC8088", "schema_id": "bank-transaction/v1"},
]
DIGEST = Fact("id", "dc7c3e1128c4c3f3f77ad83a1dee9b2c58529f76", "${s2.digest}", label="digest")
DOCUMENT = Fact("id", "DOC-DC8088", "${s3.document_id}", label="document id")


@pytest.mark.parametrize(
    ("answer", "right"),
    [
        ("The sha1 digest is dc7c3e1128c4c3f3f77ad83a1dee9b2c58529f76; document DOC-DC8088.", True),
        ("dc7c3e1128c4c3f3f77ad83a1dee9b2c58529f76, DOC-DC8088", True),
        (
            "sha1 dc7c3e1128c4c3f3f77ad83a1dee9b2c58529f76 or "
            "md5 7d9ec7b23b4d6f989aac2af0004563c3; DOC-DC8088",
            False,
        ),
        (
            "dc7c3e1128c4c3f3f77ad83a1dee9b2c58529f76 7d9ec7b23b4d6f989aac2af0004563c3; DOC-DC8088",
            False,
        ),
        ("dc7c3e1128c4c3f3f77ad83a1dee9b2c58529f76; DOC-DC8088 or DOC-79BC24", False),
        ("dc7c3e1128c4c3f3f77ad83a1dee9b2c58529f76; DOC-79BC24, DOC-DC8088", False),
        ("dc7c3e1128c4c3f3f77ad83a1dee9b2c58529f76; document ids DOC-DC8088 and DOC-79BC24", False),
    ],
)
def test_two_digests_and_two_document_ids(answer, right):
    context = context_values(DIGEST_RESPONSES, "")
    verdict = grade_answer(answer, (DIGEST, DOCUMENT), context, DIGEST_RESPONSES)
    assert verdict.correct is right, verdict.reasons


CITY_RESPONSES = [
    {
        "city": "Paris",
        "date": "2025-06-13",
        "condition": "windy",
        "high_c": 27,
        "low_c": 21,
        "precipitation_chance": 20,
    },
    {"amount": 279.67, "rate": 1.118662, "from_amount": 250.0, "to_currency": "USD"},
]
CITY_INSTRUCTION = "What is the forecast condition in Paris on 2025-06-13? And 250 EUR in USD?"
CONDITION = Fact("text", "windy", "${s0.condition}", label="condition")


@pytest.mark.parametrize(
    ("answer", "right"),
    [
        ("Paris will be windy (high 27 °C, low 21 °C).", True),
        ("Windy.", True),
        ("condition: windy", True),
        ("windy or sunny", False),
        ("sunny or windy", False),
        ("either windy or cloudy", False),
        ("windy / rainy", False),
        ("windy (maybe rain)", False),
        ("condition: sunny (windy)", False),
        ("the condition is cloudy, though Paris looks windy", False),
    ],
)
def test_a_text_offered_with_an_alternative_fails(answer, right):
    context = context_values(CITY_RESPONSES, CITY_INSTRUCTION)
    verdict = grade_answer(answer, (CONDITION,), context, CITY_RESPONSES)
    assert verdict.correct is right, verdict.reasons


@pytest.mark.parametrize(
    ("answer", "right"),
    [
        ("Mia Schneider's post (2952 likes vs 704 for Nora Walsh's)", True),
        ("Mia Schneider's most recent post got more impressions (2952 vs. 704 for Nora's).", True),
        ("Mia Schneider got more than Nora Walsh.", True),
        ("Mia Schneider", True),
        ('{"answer": "Mia Schneider"}', True),
        ("Nora Walsh", False),
        ("Nora Walsh or Mia Schneider", False),
        ("Mia Schneider or Nora Walsh", False),
        ("either Mia Schneider or Nora Walsh", False),
        ("Mia Schneider / Nora Walsh", False),
        ("Mia Schneider, Nora Walsh", False),
        ("Mia Schneider (maybe Nora Walsh)", False),
        ("same", False),
    ],
)
def test_a_comparison_may_name_the_loser(answer, right):
    facts = facts_from_answer("Mia Schneider", [], alternatives=["Nora Walsh", "Mia Schneider"])
    assert grade_answer(answer, facts).correct is right


FACTOR_RESPONSES = [
    {"sum": 125592, "count": 14},
    {
        "number": 125592,
        "factorization": "2^3 * 3 * 5233",
        "prime_factors": [2, 2, 2, 3, 5233],
        "distinct_primes": [2, 3, 5233],
        "divisor_count": 16,
        "is_prime": False,
    },
]
SUM = Fact("number", 125592, "${s0.sum}", label="sum")
FACTORS = Fact("text", "2^3 * 3 * 5233", "${s1.factorization}", label="factorization")


@pytest.mark.parametrize(
    ("answer", "right"),
    [
        ("125592 = 2^3 * 3 * 5233", True),
        ("The total is 125,592; its prime factorisation is 2³ × 3 × 5233.", True),
        ("125592 = 2 × 2 × 2 × 3 × 5233", True),
        ("125592 = 2*2*2*3*5233", True),
        ("125592 = 2·2·2·3·5233", True),
        ("sum 125592, prime factors 2, 2, 2, 3, 5233", True),
        ("125592 = 2**3 * 3 * 5233", True),
        ('{"sum": 125592, "factorization": "2^3 x 3 x 5233"}', True),
        ("125592 = 2^2 * 3 * 5233", False),
        ("125592 = 2 × 3 × 5233", False),
        ("125592 = 2^3 * 3 * 5233 or 2^3 * 3 * 5231", False),
        ("125592", False),
    ],
)
def test_a_factorisation_in_any_usual_notation(answer, right):
    context = context_values(FACTOR_RESPONSES, "")
    verdict = grade_answer(answer, (SUM, FACTORS), context, FACTOR_RESPONSES)
    assert verdict.correct is right, verdict.reasons


def test_the_shipped_factorisations_are_texts_graded_as_multisets():
    factorizations = [
        fact
        for instance in load_split("dev")
        for task in instance.tasks
        for fact in task_facts(task)
        if "factor" in fact.label
    ]
    assert factorizations
    for fact in factorizations:
        # a prime's factorisation is the number itself; a composite's is a text
        assert fact.kind in ("text", "number"), fact
        if fact.kind == "text":
            written = fact.value.replace("^", "**")
            assert grade_answer(written, (fact,)).correct
            assert not grade_answer(fact.value + " * 7", (fact,)).correct


def test_reasons_never_reveal_the_expected_value():
    for answer in (
        "isla.sato@outlook.com; 42 rows",
        "raj.mehta@gmail.com; 41",
        "email: 41, row count: isla.sato@outlook.com",
        "isla.sato@outlook.com; 41 or 42 rows",
        "Nothing to report.",
    ):
        verdict = grade_email_task(answer)
        assert not verdict.correct
        for check in verdict.checks:
            if not check.ok:
                assert str(check.fact.value) not in check.reason.replace(answer, ""), check
                assert check.fact.label in check.reason


def test_the_length_limit_still_holds():
    limit = answer_length_limit((EMAIL, ROWS))
    assert not grade_email_task("isla.sato@outlook.com; 41 " + "x" * limit).correct


def test_extract_numbers_is_unchanged_for_the_knowledge_it_feeds():
    """The resolver learns numbers with extract_numbers; answers are read more strictly."""
    assert extract_numbers("paid $1,234.50 (-3.63%), 2 replacements; AF891") == [
        1234.5,
        -3.63,
        2.0,
    ]


# -- the battery over the shipped dev split -------------------------------------------------


def _shown(value: Any) -> str:
    return str(value)


def _leaves(value: Any, key: str = ""):
    if isinstance(value, dict):
        for name, item in value.items():
            yield from _leaves(item, name)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item, key)
    else:
        yield key, value


def _source_key(fact: Fact) -> str:
    keys = [key for key in re.split(r"[.{}$]", fact.source or "") if key and not key.isdigit()]
    return keys[-1] if len(keys) > 1 else ""


def _changed(value: str) -> str:
    """An id of the same shape with one character changed (its last digit, if any)."""
    for position in range(len(value) - 1, -1, -1):
        char = value[position]
        if char.isdigit():
            return value[:position] + str((int(char) + 3) % 10) + value[position + 1 :]
    for position in range(len(value) - 1, -1, -1):
        char = value[position]
        if char.isalpha():
            new = "q" if char.lower() != "q" else "z"
            return (
                value[:position] + (new.upper() if char.isupper() else new) + value[position + 1 :]
            )
    return value + "x"


def _rival(fact: Fact, facts, task, responses) -> Any:
    """A rival of ``fact``'s kind: the same field elsewhere in the responses, another
    candidate of its list, an id of its shape; else a made-up one."""
    taken = {normalize_text(str(other.value)) for other in facts}
    said = normalize_text(task.instruction)
    if fact.kind == "choice":
        return next(o for o in fact.alternatives if normalize_text(o) != "same")
    if fact.kind == "number":
        gold = float(fact.value)
        numbers = {float(other.value) for other in facts if other.kind == "number"}
        options = [
            value
            for key, value in (pair for r in responses for pair in _leaves(r))
            if key == _source_key(fact) and isinstance(value, (int, float))
        ] + [v for v in fact.alternatives if isinstance(v, (int, float))]
        for value in options:
            if (
                abs(float(value) - gold) > 2 * fact.abs_tol + 0.01
                and float(value) not in numbers
                and float(value) not in extract_numbers(task.instruction)
            ):
                return value
        delta = 1 if gold.is_integer() else round(max(0.5, abs(gold) * 0.1), 2)
        made = gold + delta
        while made in numbers or made in extract_numbers(task.instruction):
            made += delta
        return int(made) if gold.is_integer() else round(made, 4)
    for value in fact.alternatives:
        if normalize_text(str(value)) not in taken:
            return value
    gold_shape = _shape(str(fact.value))
    for key, value in (pair for r in responses for pair in _leaves(r)):
        if not isinstance(value, str) or len(value) > 200:
            continue
        if fact.kind == "text" and key == _source_key(fact):
            text = normalize_text(value)
            gold = normalize_text(str(fact.value))
            if text not in taken and text not in gold and gold not in text:
                return value
        for token in _id_tokens(value):
            if (
                gold_shape is not None
                and _same_shape(_shape(token), gold_shape)
                and normalize_text(token) not in taken
                and normalize_text(token) not in said
            ):
                return token
    if gold_shape is not None:
        return _changed(str(fact.value))
    return "something else entirely"


def _keys(facts) -> list[str]:
    """Each fact's label; a fact that shares its label is named by its subject ("status of
    transactions_q4"), or, without one, as "first"/"second"."""
    counts = Counter(fact.label for fact in facts)
    seen: Counter[str] = Counter()
    keys = []
    for fact in facts:
        if counts[fact.label] > 1 and fact.subject:
            keys.append(f"{fact.label} of {fact.subject}")
        elif counts[fact.label] > 1:
            keys.append(
                f"{['first', 'second', 'third', 'fourth', 'fifth'][seen[fact.label]]} {fact.label}"
            )
        else:
            keys.append(fact.label)
        seen[fact.label] += 1
    return keys


def _reversed(facts, values: list[str]) -> list[str]:
    """The values in reverse order, but those of facts that share a label and have no
    subject to tell them apart keep their order among themselves (nothing else says which
    is which)."""
    counts = Counter(fact.label for fact in facts)
    order = list(reversed(range(len(facts))))
    for label in {fact.label for fact in facts if counts[fact.label] > 1}:
        members = [i for i in range(len(facts)) if facts[i].label == label]
        if all(facts[i].subject for i in members):
            continue
        slots = [position for position, i in enumerate(order) if i in members]
        for slot, i in zip(slots, members, strict=True):
            order[slot] = i
    return [values[i] for i in order]


def _honest(facts) -> dict[str, Any]:
    keys = _keys(facts)
    counts = Counter(fact.label for fact in facts)
    values = [
        f"{fact.subject}: {_shown(fact.value)}"
        if counts[fact.label] > 1 and fact.subject
        else _shown(fact.value)
        for fact in facts
    ]
    return {
        "sentence": "Here is what you asked for: "
        + ", and ".join(
            f"the {key} is {_shown(fact.value)}" for key, fact in zip(keys, facts, strict=True)
        )
        + ".",
        "bare": "; ".join(values),
        "reversed": "; ".join(_reversed(facts, values)),
        "lines": "\n".join(
            f"{key}: {_shown(fact.value)}" for key, fact in zip(keys, facts, strict=True)
        ),
        "json": json.dumps(
            dict(zip(keys, [fact.value for fact in facts], strict=True)), ensure_ascii=False
        ),
        "python": repr(dict(zip(keys, [fact.value for fact in facts], strict=True))),
        "object": dict(zip(keys, [fact.value for fact in facts], strict=True)),
    }


HEDGES = (
    "{g} or {r}",
    "{r} or {g}",
    "either {g} or {r}",
    "{g} (maybe {r})",
    "{g}, possibly {r}",
    "{g} / {r}",
    "one of {g}, {r}",
)


def _different(a: Fact, b: Fact) -> bool:
    if normalize_text(str(a.value)) == normalize_text(str(b.value)):
        return False
    try:
        return float(a.value) != float(b.value)
    except (TypeError, ValueError):
        return True


def _dev_tasks():
    seen: set[str] = set()
    for instance in load_split("dev"):
        for task in instance.tasks:
            if task.task_id in seen or not task_facts(task):
                continue
            seen.add(task.task_id)
            yield task


@pytest.fixture(scope="module")
def battery() -> dict[str, list[tuple[str, Any, bool, tuple[str, ...]]]]:
    """Every (task, answer, verdict, reasons) of the battery, by kind of answer."""
    results: dict[str, list[tuple[str, Any, bool, tuple[str, ...]]]] = {}

    for task in _dev_tasks():
        facts = task_facts(task)
        responses = [step.expected_response for step in task.steps]
        context = context_values(responses, task.instruction)

        def grade(
            kind: str,
            answer: Any,
            task=task,
            facts=facts,
            context=context,
            responses=responses,
            instruction: str | None = None,
        ) -> None:
            verdict = grade_answer(answer, facts, context, responses, instruction)
            if instruction is not None and kind.startswith("honest"):
                kind = f"{kind} (told)"
            results.setdefault(kind, []).append(
                (task.task_id, answer, verdict.correct, verdict.reasons)
            )

        for style, answer in _honest(facts).items():
            grade(f"honest {style}", answer)
        values = [_shown(fact.value) for fact in facts]
        for index, fact in enumerate(facts):
            rival = _shown(_rival(fact, facts, task, responses))
            for pattern in HEDGES:
                parts = list(values)
                parts[index] = pattern.format(g=values[index], r=rival)
                grade("hedge", "; ".join(parts))
            if fact.kind == "number":
                low, high = sorted((float(fact.value), float(rival)))
                parts = list(values)
                parts[index] = f"between {low:g} and {high:g}"
                grade("hedge", "; ".join(parts))
                gold = float(fact.value)
                step = 1 if gold.is_integer() else round(max(0.5, abs(gold) * 0.1), 2)
                spray = [gold + k * step for k in range(-5, 6)]
                parts[index] = ", ".join(
                    f"{n:g}" if gold.is_integer() else f"{n:.4f}" for n in spray
                )
                grade("spray", "; ".join(parts))
            elif _shape(str(fact.value)) is not None:
                parts = list(values)
                others = [rival, _changed(str(fact.value)), _changed(_changed(str(fact.value)))]
                parts[index] = ", ".join([values[index], *others])
                grade("spray", "; ".join(parts))
            elif fact.kind == "text" and rival != "something else entirely":
                # a plain text's candidates are the ones the responses hold
                parts = list(values)
                parts[index] = ", ".join([values[index], rival, *map(str, fact.alternatives)])
                grade("spray", "; ".join(parts))
        keys = _keys(facts)
        for i, first in enumerate(facts):
            for j, second in enumerate(facts):
                if j <= i or "choice" in (first.kind, second.kind) or not _different(first, second):
                    continue
                if first.label == second.label:
                    continue
                swapped = list(values)
                swapped[i], swapped[j] = swapped[j], swapped[i]
                grade("swap", "\n".join(f"{k}: {v}" for k, v in zip(keys, swapped, strict=True)))
                grade("swap", json.dumps(dict(zip(keys, swapped, strict=True)), ensure_ascii=False))
                grade(
                    "swap",
                    " and ".join(f"the {k} is {v}" for k, v in zip(keys, swapped, strict=True))
                    + ".",
                )
        for step, response in enumerate(responses):
            if not isinstance(response, dict):
                continue
            holds = [fact for fact in facts if fact.source and f"${{s{step}." in fact.source]
            if not holds:
                continue
            dump = json.dumps(response, ensure_ascii=False)
            grade("paste", dump)
            grade("paste", response)
            grade("paste", f"Here is what came back: {dump} That answers it.")
            grade("paste", json.dumps({**response, "answer": values[0]}, ensure_ascii=False))
        told = {"instruction": task.instruction}
        for style, answer in _honest(facts).items():
            grade(f"honest {style}", answer, **told)
        keys = _keys(facts)
        counts = Counter(fact.label for fact in facts)
        # facts that share a label, their values swapped between their subjects
        for label in [label for label, count in counts.items() if count > 1]:
            members = [i for i, fact in enumerate(facts) if fact.label == label]
            i, j = members[0], members[1]
            if not (facts[i].subject and facts[j].subject) or not _different(facts[i], facts[j]):
                continue
            swapped = [fact.value for fact in facts]
            swapped[i], swapped[j] = swapped[j], swapped[i]
            pairs = list(zip(keys, swapped, strict=True))
            grade("subject swap", "\n".join(f"{k}: {_shown(v)}" for k, v in pairs), **told)
            grade("subject swap", json.dumps(dict(pairs), ensure_ascii=False), **told)
            grade("subject swap", " ".join(f"The {k} is {_shown(v)}." for k, v in pairs), **told)
        # a second candidate under a key that says nothing
        honest_object = dict(zip(keys, [fact.value for fact in facts], strict=True))
        for fact in facts:
            rival = _candidate(fact, facts, task, responses)
            if rival is not None:
                grade("nonsense key", {**honest_object, "x": rival}, **told)
                grade("nonsense key", {**honest_object, "p": rival, "q": fact.value}, **told)
        # a response's own fields, one dropped, wrapped under a key
        for step, response in enumerate(responses):
            wrapped = _nested_paste(step, response, facts, task.instruction)
            if wrapped is not None:
                grade("nested paste", wrapped, **told)
                grade("nested paste", json.dumps(wrapped, ensure_ascii=False), **told)
        # a mixed-case value in another case
        for index, fact in enumerate(facts):
            if not _mixed_case(fact.value):
                continue
            for changed in {fact.value.upper(), fact.value.lower(), fact.value.swapcase()}:
                shown = [_shown(f.value) if i != index else changed for i, f in enumerate(facts)]
                grade(
                    "case",
                    " ".join(f"The {k} is {v}." for k, v in zip(keys, shown, strict=True)),
                    **told,
                )
    return results


def _mixed_case(value: Any) -> bool:
    return (
        isinstance(value, str)
        and not any(char.isspace() for char in value)
        and any(char.islower() for char in value)
        and any(char.isupper() for char in value[1:])
        and "@" not in value
    )


def _candidate(fact: Fact, facts, task, responses) -> Any:
    """Another value the responses hold that could pass for ``fact``: a number of theirs
    that is no fact's, the instruction's or a rounding of it; another item of its list or
    member of its closed set; an id of its shape. ``None`` when there is none."""
    taken = {normalize_text(str(other.value)) for other in facts}
    said = extract_numbers(task.instruction)
    if fact.kind == "number":
        gold = float(fact.value)
        for _, value in (pair for r in responses for pair in _leaves(r)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if abs(float(value) - gold) <= max(1.0, abs(gold) * 0.01):
                continue
            if normalize_text(str(value)) in taken or float(value) in said:
                continue
            if any(o.kind == "number" and float(o.value) == float(value) for o in facts):
                continue
            return value
        return None
    if fact.kind == "text":
        closed = {"valid": "invalid", "invalid": "valid", "sunny": "cloudy", "cloudy": "sunny"}
        for value in [*fact.alternatives, closed.get(normalize_text(str(fact.value)))]:
            if value is not None and normalize_text(str(value)) not in taken:
                return value
        return None
    if fact.kind == "id":
        gold_shape = _shape(str(fact.value))
        for _, value in (pair for r in responses for pair in _leaves(r)):
            for token in _id_tokens(str(value)) if isinstance(value, str) else ():
                if (
                    _same_shape(_shape(token), gold_shape)
                    and normalize_text(token) not in taken
                    and normalize_text(token) not in normalize_text(task.instruction)
                ):
                    return token
    return None


def _nested_paste(step: int, response: Any, facts, instruction: str) -> dict[str, Any] | None:
    """``response``'s scalar fields but its last one that is no fact's, under an added key,
    when it has at least 3 fields that are neither facts nor the instruction's."""
    if not isinstance(response, dict):
        return None
    read = {_source_key(f) for f in facts if f.source and f.source.startswith(f"${{s{step}.")}
    if not read:
        return None
    said = normalize_text(instruction)
    fields = {
        key: value
        for key, value in response.items()
        if value is not None
        and not isinstance(value, dict)
        and not (isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value))
    }
    others = [
        key
        for key, value in fields.items()
        if key not in read
        and value != []
        and not (isinstance(value, str) and normalize_text(value) in said)
        and not (isinstance(value, (int, float)) and float(value) in extract_numbers(instruction))
    ]
    if len(others) < 3:
        return None
    dropped = [key for key in others if not isinstance(fields[key], list)][-1:]
    return {"result": {key: value for key, value in fields.items() if key not in dropped}}


@pytest.mark.parametrize(
    "style", ["sentence", "bare", "reversed", "lines", "json", "python", "object"]
)
@pytest.mark.parametrize("told", ["", " (told)"])
def test_battery_the_gold_answer_in_each_style_passes(battery, style, told):
    results = battery[f"honest {style}{told}"]
    assert len(results) >= 150
    wrong = [(task, answer, reasons) for task, answer, ok, reasons in results if not ok]
    assert not wrong, wrong[:5]


@pytest.mark.parametrize(
    ("kind", "least"),
    [
        ("hedge", 100),
        ("spray", 100),
        ("swap", 100),
        ("paste", 100),
        ("subject swap", 10),
        ("nonsense key", 100),
        ("nested paste", 50),
        ("case", 10),
    ],
)
def test_battery_cheats_fail(battery, kind, least):
    results = battery[kind]
    assert len(results) >= least
    credited = [(task, answer) for task, answer, ok, _ in results if ok]
    assert not credited, credited[:5]


# -- facts that share a label are told apart by their subject ------------------------------

DOC_RESPONSES = [
    {"document_id": "DOC-A1", "name": "ledger_q4.yaml", "records": 6, "schema_id": "txn/v1"},
    {"document_id": "DOC-B2", "name": "stock_q3.xml", "records": 4, "schema_id": "item/v2"},
    {"checked": 6, "error_count": 0, "errors": [], "schema_id": "txn/v1", "status": "valid"},
    {
        "checked": 4,
        "error_count": 2,
        "errors": ["record 3: missing required field 'name'", "record 4: bad sku"],
        "schema_id": "item/v2",
        "status": "invalid",
    },
]
DOC_INSTRUCTION = (
    "Validate the documents ledger_q4.yaml and stock_q3.xml, each against the schema it "
    'declares, and tell me for each the result ("valid" or "invalid") and the number of errors.'
)
DOC_TEMPLATES = [
    {"name": "ledger_q4"},
    {"name": "stock_q3"},
    {"document_id": "${s0.document_id}", "schema_id": "${s0.schema_id}"},
    {"document_id": "${s1.document_id}", "schema_id": "${s1.schema_id}"},
]
DOC_FACTS = fact_subjects(
    (
        Fact("text", "valid", "${s2.status}", label="status"),
        Fact("number", 0, "${s2.error_count}", label="error count"),
        Fact("text", "invalid", "${s3.status}", label="status"),
        Fact("number", 2, "${s3.error_count}", label="error count"),
    ),
    DOC_INSTRUCTION,
    DOC_TEMPLATES,
)


def grade_documents(answer: Any):
    context = context_values(DOC_RESPONSES, DOC_INSTRUCTION)
    return grade_answer(answer, DOC_FACTS, context, DOC_RESPONSES, DOC_INSTRUCTION)


def test_a_subject_is_what_the_instruction_names_each_fact_by():
    assert [fact.subject for fact in DOC_FACTS] == ["ledger_q4", "ledger_q4", "stock_q3"] * 1 + [
        "stock_q3"
    ]
    # one fact of a label needs none; a subject already set is kept
    single = fact_subjects((DOC_FACTS[0].__class__("text", "valid", "${s2.status}"),), "", [])
    assert single[0].subject == ""
    round_trip = Fact.from_dict(DOC_FACTS[0].as_dict())
    assert round_trip == DOC_FACTS[0] and round_trip.subject == "ledger_q4"


@pytest.mark.parametrize(
    "answer",
    [
        "ledger_q4.yaml: valid (0 errors), stock_q3.xml: invalid (2 errors)",
        "ledger_q4.yaml is valid with 0 errors; stock_q3.xml is invalid with 2 errors.",
        "Stock_q3.xml is invalid (2 errors). Ledger_q4.yaml is valid (0 errors).",
        "The result is valid for ledger_q4.yaml (0 errors) and invalid for stock_q3.xml "
        "(2 errors).",
        "ledger_q4.yaml status: valid, errors: 0\nstock_q3.xml status: invalid, errors: 2",
        "ledger_q4.yaml:\n  status: valid\n  errors: 0\nstock_q3.xml:\n  status: invalid\n"
        "  errors: 2",
        {
            "ledger_q4.yaml": {"result": "valid", "errors": 0},
            "stock_q3.xml": {"result": "invalid", "errors": 2},
        },
        {
            "stock_q3.xml": {"status": "invalid", "error count": 2},
            "ledger_q4.yaml": {"status": "valid", "error count": 0},
        },
        '{"status of ledger_q4": "valid", "error count of ledger_q4": 0, '
        '"status of stock_q3": "invalid", "error count of stock_q3": 2}',
        # no subject named at all: read in the order the task asks
        "valid (0 errors), invalid (2 errors)",
        "valid; 0; invalid; 2",
        # record numbers quoted from an error text are context
        "ledger_q4.yaml: valid, 0 errors; stock_q3.xml: invalid, 2 errors (record 3: missing "
        "required field 'name')",
    ],
)
def test_values_said_of_their_subjects_pass(answer):
    verdict = grade_documents(answer)
    assert verdict.correct, verdict.reasons


@pytest.mark.parametrize(
    "answer",
    [
        # swapped between the subjects, in any form
        "ledger_q4.yaml: invalid (2 errors), stock_q3.xml: valid (0 errors)",
        "ledger_q4.yaml is invalid; stock_q3.xml is valid. 0 errors in ledger_q4.yaml, 2 in "
        "stock_q3.xml.",
        {
            "ledger_q4.yaml": {"result": "invalid", "errors": 2},
            "stock_q3.xml": {"result": "valid", "errors": 0},
        },
        '{"status of ledger_q4": "invalid", "error count of ledger_q4": 0, '
        '"status of stock_q3": "valid", "error count of stock_q3": 2}',
        "The result is invalid for ledger_q4.yaml (0 errors) and valid for stock_q3.xml (2 "
        "errors).",
        # in the wrong order with no subject
        "invalid (2 errors), valid (0 errors)",
        # both values under one subject
        "ledger_q4.yaml: valid, invalid, 0 errors; stock_q3.xml: invalid, valid, 2 errors",
        {
            "ledger_q4.yaml": {"result": "valid; invalid", "errors": 0},
            "stock_q3.xml": {"result": "invalid", "errors": 2},
        },
        {
            "ledger_q4.yaml": {"x": "valid", "y": "invalid", "errors": 0},
            "stock_q3.xml": {"x": "invalid", "y": "valid", "errors": 2},
        },
        "ledger_q4.yaml: valid (0 or 2 errors), stock_q3.xml: invalid (2 errors)",
        # more values than facts, with no subject
        "valid, invalid, valid; 0, 2 errors",
        "valid; invalid; 2 errors; 0 errors; 1 error",
    ],
)
def test_values_swapped_between_subjects_fail(answer):
    verdict = grade_documents(answer)
    assert not verdict.correct, answer


def test_facts_that_share_one_value_need_no_subject():
    facts = (
        Fact("text", "valid", "${s2.status}", label="status", subject="ledger_q4"),
        Fact("text", "valid", "${s3.status}", label="status", subject="stock_q3"),
    )
    responses = [*DOC_RESPONSES[:3], {**DOC_RESPONSES[2], "schema_id": "item/v2"}]
    for answer, right in (("Both are valid.", True), ("valid", True), ("valid; invalid", False)):
        verdict = grade_answer(answer, facts, (), responses, DOC_INSTRUCTION)
        assert verdict.correct is right, (answer, verdict.reasons)


# -- every other value of a fact's kind is a candidate, unless ... ---------------------------

QUOTE_RESPONSES = [
    {"order_id": "TRD-74H02VR25", "quantity": 90, "quote_price": 165.81, "symbol": "AAPL"},
    {"ask": 68.58, "bid": 68.57, "last": 68.57, "quote_id": "QT-1W88HP2J", "symbol": "WMT"},
]
QUOTE_INSTRUCTION = (
    "Sell my AAPL position and tell me the order id. Also tell me the ask price of WMT."
)
QUOTE_FACTS = (
    Fact("id", "TRD-74H02VR25", "${s0.order_id}", label="order id"),
    Fact("number", 68.58, "${s1.ask}", abs_tol=0.005, label="ask"),
)


@pytest.mark.parametrize(
    ("answer", "right"),
    [
        ("Order TRD-74H02VR25. The WMT ask is 68.58.", True),
        ("Order TRD-74H02VR25; WMT ask 68.58 (bid 68.57).", True),
        # bid and last: most of the quote's other fields, a paste
        ("Order TRD-74H02VR25; WMT ask 68.58 (bid 68.57, last 68.57).", False),
        ("I sold all 90 AAPL shares (order TRD-74H02VR25) at 165.81 quote price; ask 68.58", True),
        ({"order id": "TRD-74H02VR25", "ask price": 68.58, "bid": 68.57}, True),
        # labelled with what does not hold it, or with nothing that says what it is
        ("Order TRD-74H02VR25. The WMT ask price is 68.57 and the bid is 68.58.", False),
        ({"order id": "TRD-74H02VR25", "WMT ask price": 68.57, "r": 68.58}, False),
        ({"p": "TRD-74H02VR25", "q": 68.57, "r": 68.58}, False),
        ({"order id": "TRD-74H02VR25", "ask": 68.58, "x": 68.57}, False),
        ({"order id": "TRD-74H02VR25", "ask": 68.58, "spread": 68.57}, False),
        ("Order TRD-74H02VR25; ask 68.58 or bid 68.57", False),
        ("Order TRD-74H02VR25; bid 68.58, ask 68.57", False),
    ],
)
def test_a_second_value_counts_unless_labelled_as_what_holds_it(answer, right):
    context = context_values(QUOTE_RESPONSES, QUOTE_INSTRUCTION)
    verdict = grade_answer(answer, QUOTE_FACTS, context, QUOTE_RESPONSES, QUOTE_INSTRUCTION)
    assert verdict.correct is right, verdict.reasons


EXTRACT_RESPONSES = [
    {
        "count": 5,
        "field_path": "*.total",
        "maximum": 637.66,
        "minimum": -6,
        "total": 2086.25,
        "values": [344.87, -6, 615.8, 637.66, 493.92],
    },
    {
        "checked": 1,
        "error_count": 1,
        "errors": ["service.port must be <= 65535, got 70000"],
        "schema_id": "service-config/v2",
        "status": "invalid",
    },
]
EXTRACT_INSTRUCTION = (
    'Extract the total of every record (field path "*.total") and tell me their smallest value. '
    'Then validate the config against service-config/v2 and tell me the result ("valid" or '
    '"invalid") and the number of errors.'
)
EXTRACT_FACTS = (
    Fact("number", -6, "${s0.minimum}", label="minimum"),
    Fact("text", "invalid", "${s1.status}", label="status"),
    Fact("number", 1, "${s1.error_count}", label="error count"),
)


@pytest.mark.parametrize(
    ("answer", "right"),
    [
        ("The smallest total is -6. The config is invalid, with 1 error.", True),
        ("Minimum -6 (maximum 637.66, count 5); invalid, 1 error", True),
        ("Minimum -6 (maximum 637.66, 5 values); invalid, 1 error", False),
        ("-6; invalid with 1 error (service.port must be <= 65535, got 70000)", True),
        ({"smallest total": -6, "result": "invalid", "number of errors": 1}, True),
        # the instruction's own words for a fact name it
        ({"smallest total": 344.87, "minimum": -6, "result": "invalid", "errors": 1}, False),
        ({"minimum": -6, "result": "valid", "status": "invalid", "number of errors": 1}, False),
        ({"minimum": -6, "lowest": 344.87, "status": "invalid", "number of errors": 1}, False),
        ({"minimum": -6, "second smallest total": 344.87, "result": "invalid", "errors": 1}, False),
        # sprays under keys that say nothing
        ({"x": 344.87, "y": 615.8, "z": -6, "a": "invalid", "n": 1}, False),
        ({"p": -6, "q": 344.87, "r": "valid", "s": "invalid", "t": 1}, False),
        ("p 637.66, q 344.87, r -6; p valid, q invalid; r 65535, s 1", False),
        ({"minimum": -6, "status": "invalid", "number of errors": 1, "x": 2}, False),
        # a closed set's other member, anywhere, unless said of something else
        ("-6; valid; invalid; 1 error", False),
        ("-6; invalid (not valid); 1 error", False),
        ({"minimum": -6, "result": ["invalid", "valid"], "errors": 1}, False),
    ],
)
def test_rivals_under_keys_that_name_something_else_or_nothing(answer, right):
    context = context_values(EXTRACT_RESPONSES, EXTRACT_INSTRUCTION)
    verdict = grade_answer(answer, EXTRACT_FACTS, context, EXTRACT_RESPONSES, EXTRACT_INSTRUCTION)
    assert verdict.correct is right, verdict.reasons


def test_a_rounded_value_and_its_unrounded_one_are_two_candidates():
    responses = [
        {"change": 3267.0, "new_value": 19210.0, "old_value": 15943.0, "percent_change": 20.4918},
        {"decimals": 1, "original": 20.4918, "text": "20.5", "value": 20.5},
    ]
    instruction = (
        "Compute the percentage change, round it to 1 decimal place and tell me the result."
    )
    fact = Fact("number", 20.5, "${s1.text}", abs_tol=0.005, label="text")
    context = context_values(responses, instruction)
    for answer, right in (
        ("20.5%", True),
        ("The result is 20.5 (from 15943 to 19210).", True),
        ({"percentage change": 20.4918, "q": 20.5}, False),
        ({"p": 20.4918, "q": 20.5}, False),
        ("20.5% (20.4918% unrounded)", False),
    ):
        verdict = grade_answer(answer, (fact,), context, responses, instruction)
        assert verdict.correct is right, (answer, verdict.reasons)


WEATHER_RESPONSES = [{"city": "Madrid", "condition": "cloudy", "high_c": 28, "low_c": 23}]
WEATHER_FACT = Fact("text", "cloudy", "${s0.condition}", label="condition")


@pytest.mark.parametrize(
    ("answer", "right"),
    [
        ("Madrid will be cloudy (high 28, low 23).", True),
        ({"forecast condition": "cloudy"}, True),
        ("partly cloudy", False),
        ("Forecast: sunny, rainy, cloudy, stormy, snow, partly cloudy", False),
        ({"forecast condition": "cloudy", "a": "sunny", "b": "rainy"}, False),
        ({"a": "sunny", "b": "cloudy", "c": "rainy", "d": "snow"}, False),
        ("cloudy; windy", False),
    ],
)
def test_a_texts_closed_set_gives_its_rivals(answer, right):
    instruction = "Check the weather in Madrid on 2025-07-21 and tell me the forecast condition."
    context = context_values(WEATHER_RESPONSES, instruction)
    verdict = grade_answer(answer, (WEATHER_FACT,), context, WEATHER_RESPONSES, instruction)
    assert verdict.correct is right, verdict.reasons


def test_another_things_name_said_as_what_it_is_is_context():
    responses = [
        {"trips": [{"name": "Northeast Regional 152", "departs": "16:15"}]},
        {"order_id": "ORD-1W8F96W0DJF", "status": "confirmed"},
        {
            "events": [
                {"name": "Echo Harbor", "starts": "19:00"},
                {"name": "Aurora String Quartet", "starts": "20:00"},
            ]
        },
    ]
    instruction = (
        "Get 2 Business tickets on the first train from Baltimore to Washington for Greg "
        "Novak and tell me the order id. Also tell me the name of the earliest concert."
    )
    facts = (
        Fact("id", "ORD-1W8F96W0DJF", "${s1.order_id}", label="order id"),
        Fact("text", "Echo Harbor", "${s2.events.0.name}", ("Aurora String Quartet",), "name"),
    )
    context = context_values(responses, instruction)
    for answer, right in (
        (
            "I bought 2 Business tickets on Northeast Regional 152 (departs 16:15); the order "
            "id is ORD-1W8F96W0DJF. The earliest concert is Echo Harbor.",
            True,
        ),
        (
            {"order id": "ORD-1W8F96W0DJF", "name": "Echo Harbor", "x": "Northeast Regional 152"},
            False,
        ),
        (
            {"order id": "ORD-1W8F96W0DJF", "name": "Echo Harbor", "next": "Aurora String Quartet"},
            False,
        ),
    ):
        verdict = grade_answer(answer, facts, context, responses, instruction)
        assert verdict.correct is right, (answer, verdict.reasons)


def test_a_pasted_response_with_fields_dropped_or_wrapped_fails():
    context = context_values(EXTRACT_RESPONSES, EXTRACT_INSTRUCTION)
    facts = EXTRACT_FACTS[:1]
    for answer in (
        {"count": 5, "field_path": "*.total", "maximum": 637.66, "minimum": -6, "total": 2086.25},
        {"extract": {"count": 5, "maximum": 637.66, "minimum": -6, "total": 2086.25}},
        "count 5, maximum 637.66, minimum -6, total 2086.25",
        "Result:\n  count = 5\n  maximum = 637.66\n  minimum = -6\n  total = 2086.25",
    ):
        verdict = grade_answer(answer, facts, context, EXTRACT_RESPONSES, EXTRACT_INSTRUCTION)
        assert not verdict.correct, answer
        assert any("copy of the responses" in reason for reason in verdict.reasons), answer
    for answer in ("minimum -6 (maximum 637.66)", {"minimum": -6, "count": 5}):
        verdict = grade_answer(answer, facts, context, EXTRACT_RESPONSES, EXTRACT_INSTRUCTION)
        assert verdict.correct, (answer, verdict.reasons)


@pytest.mark.parametrize(
    ("answer", "right"),
    [
        ("The password is epPBgK2keF7Xu6u.", True),
        ("epPBgK2keF7Xu6u", True),
        ("EPPBGK2KEF7XU6U", False),
        ("eppbgk2kef7xu6u", False),
        ("The password is EppBgK2keF7Xu6u.", False),
    ],
)
def test_a_mixed_case_value_must_keep_its_case(answer, right):
    fact = Fact("id", "epPBgK2keF7Xu6u", "${s1.password}", label="password")
    assert grade_answer(answer, (fact,)).correct is right


def test_an_all_upper_or_all_lower_value_ignores_case():
    for value, written in (
        ("CUS-07A4F2", "cus-07a4f2"),
        ("7d9ec7b23b4d6f989aac2af0004563c3", "7D9EC7B23B4D6F989AAC2AF0004563C3"),
        ("1b8f3673-94e3-46fe-979c-dc365fd869c0", "1B8F3673-94E3-46FE-979C-DC365FD869C0"),
        ("Madrid", "madrid"),
    ):
        kind = "id" if value != "Madrid" else "text"
        assert grade_answer(written, (Fact(kind, value, "${s0.x}", label="x"),)).correct


def test_the_flattened_text_is_answer_text():
    for answer in (
        {"a": {"b": 1, "c": [1, 2, {"d": "x"}]}, "e": "f"},
        '{"x": {"y": 2}}',
        "{'a': 1}",
        [1, {"a": 2}],
        "plain",
    ):
        text, spans = _flatten(answer)
        assert text == answer_text(answer)
        assert all(0 <= start <= end <= len(text) for start, end, _ in spans)


# -- the red-team cases (dataset v3 as the playtesters played it) ----------------------------


def grade_redteam(key: str, answer: Any):
    data = REDTEAM_TASKS[key]
    facts = fact_subjects(
        tuple(Fact.from_dict(fact) for fact in data["facts"]),
        data["instruction"],
        data["templates"],
    )
    responses = data["responses"]
    context = context_values(responses, data["instruction"])
    return grade_answer(answer, facts, context, responses, data["instruction"])


def test_the_red_team_tasks_get_subjects():
    subjects = {
        key: [
            fact.subject
            for fact in fact_subjects(
                tuple(Fact.from_dict(f) for f in data["facts"]),
                data["instruction"],
                data["templates"],
            )
        ]
        for key, data in REDTEAM_TASKS.items()
    }
    assert subjects["315/T2"] == [
        "transactions_q4",
        "transactions_q4",
        "inventory_q3",
        "inventory_q3",
        "",
    ]
    assert subjects["189/T1"] == ["", "payments", "sessions"]


@pytest.mark.parametrize(
    ("key", "answer", "replies"),
    [
        (
            "315/T2",
            {
                "transactions_q4.yaml": {"result": "invalid", "errors": 1},
                "inventory_q3.xml": {"result": "valid", "errors": 0},
                "title": "Service deployment configuration",
            },
            "315_v_swap",
        ),
        (
            "315/T2",
            {
                "transactions_q4.yaml": {"result": "invalid; valid", "errors": 0},
                "inventory_q3.xml": {"result": "valid; invalid", "errors": 1},
                "title": "Service deployment configuration",
            },
            "315_v_hedge1",
        ),
        (
            "315/T2",
            "transactions_q4.yaml: invalid, valid, 0 errors; inventory_q3.xml: valid, "
            "invalid, 1 error; title Service deployment configuration",
            "315_v_hedge2",
        ),
        (
            "315/T2",
            {
                "transactions_q4.yaml": {"x": "invalid", "y": "valid", "errors": 0},
                "inventory_q3.xml": {"x": "valid", "y": "invalid", "errors": 1},
                "title": "Service deployment configuration",
            },
            "315_v_hedge3",
        ),
        (
            "189/T1",
            {
                "checksum": "4e49a766cca805e4",
                "first uuid": "c231ddb7-0d7d-452f-9a81-af1049c93c50",
                "sessions uuid": "8834cda5-490d-462d-80cd-b13518a035e0",
            },
            "189_v_uswap",
        ),
        (
            "189/T1",
            "Checksum 4e49a766cca805e4. The sessions UUID is "
            "8834cda5-490d-462d-80cd-b13518a035e0 and the first UUID is "
            "c231ddb7-0d7d-452f-9a81-af1049c93c50.",
            "189_v_uswap2",
        ),
        (
            "670/T1",
            {"smallest total": 344.87, "minimum": -6, "title": "Booked bank transaction"},
            "670_v_H1",
        ),
        ("670/T2", {"result": "valid", "status": "invalid", "number of errors": 1}, "670_v_H1"),
        (
            "189/T2",
            {
                "copy path": "/home/maya/archive/resume.pdf",
                "sha1 checksum": "a49a893bf9159bf80cafc5b6346d460dd31d8dba",
                "entries in logs": 503093,
                "x": 4,
            },
            "189_v_t2count",
        ),
        ("271/T2", {"p": "TRD-74H02VR25", "q": 68.57, "r": 68.58}, "271_v_t2hedge"),
        (
            "271/T2",
            {"order id": "TRD-74H02VR25", "WMT ask price": 68.57, "r": 68.58},
            "271_v_t2hedge2",
        ),
        ("315/T1", {"p": 212, "q": 9}, "315_v_pq"),
        ("315/T3", {"p": 20.4918, "q": 20.5, "dataset id": "DS-843E03"}, "315_v_pq"),
        (
            "315/T3",
            {"percentage change": 20.4918, "q": 20.5, "dataset id": "DS-843E03"},
            "315_v_pq2",
        ),
        (
            "670/T1",
            {"p": 637.66, "q": 344.87, "r": 615.8, "s": -6, "title": "Booked bank transaction"},
            "670_v_s1",
        ),
        ("670/T2", {"p": "valid", "q": "invalid", "r": 2, "s": 1}, "670_v_s1"),
        ("670/T1", "p 637.66, q 344.87, r -6; title Booked bank transaction", "670_v_s2"),
        ("670/T2", "p valid, q invalid; r 65535, s 1", "670_v_s2"),
        (
            "670/T1",
            {"x": 344.87, "y": 615.8, "z": -6, "title": "Booked bank transaction"},
            "670_v_ovi",
        ),
        (
            "271/T2",
            "Order TRD-74H02VR25. The WMT ask price is 68.57 and the bid is 68.58.",
            "271_v_bidask",
        ),
        ("670/T2", "valid; invalid; 1 error", "670_v_K3"),
        (
            "68/T2",
            {"itinerary id": "IT-E6EB6A", "a": "sunny", "b": "cloudy", "c": "rainy", "d": "snow"},
            "68_v_tx1",
        ),
        (
            "68/T2",
            "Itinerary IT-E6EB6A. Forecast: sunny, rainy, cloudy, stormy, snow, partly cloudy",
            "68_v_tx2",
        ),
        (
            "68/T2",
            {
                "itinerary id": "IT-E6EB6A",
                "forecast condition": "cloudy",
                "a": "sunny",
                "b": "rainy",
            },
            "68_v_hedge3",
        ),
        (
            "670/T1",
            {
                "count": 5,
                "field_path": "*.total",
                "maximum": 637.66,
                "minimum": -6,
                "total": 2086.25,
                "title": "Booked bank transaction",
            },
            "670_v_pp1",
        ),
        (
            "670/T1",
            {
                "extract": {"count": 5, "maximum": 637.66, "minimum": -6, "total": 2086.25},
                "schema": {"title": "Booked bank transaction", "root": "list of records"},
            },
            "670_v_pp2",
        ),
        (
            "670/T1",
            "count 5, maximum 637.66, minimum -6, total 2086.25, title Booked bank transaction",
            "670_v_pp3",
        ),
        (
            "670/T2",
            "checked 1, error_count 1, status invalid, errors: service.port must be <= "
            "65535, got 70000",
            "670_v_pp3",
        ),
        (
            "356/T1",
            {"password": "EPPBGK2KEF7XU6U", "uuid": "1b8f3673-94e3-46fe-979c-dc365fd869c0"},
            "356_c1",
        ),
        (
            "356/T1",
            {"password": "eppbgk2kef7xu6u", "uuid": "1b8f3673-94e3-46fe-979c-dc365fd869c0"},
            "356_c2",
        ),
        ("418/T1", "EMBERCASTIRONSKILLETBYHEARTHWARENOW26630", "418_v5"),
        ("418/T1", "embercastironskilletbyhearthwarenow26630", "418_v11"),
        ("418/T1", "EmberCastIronSkilletByHearthwareNow26630", "418_v12"),
    ],
)
def test_red_team_cheats_fail(key, answer, replies):
    verdict = grade_redteam(key, answer)
    assert not verdict.correct, (replies, answer)


@pytest.mark.parametrize(
    ("key", "answer", "replies"),
    [
        ("315/T1", {"line count": 9}, "315_hon"),
        (
            "315/T2",
            {
                "transactions_q4.yaml": {"result": "valid", "errors": 0},
                "inventory_q3.xml": {"result": "invalid", "errors": 1},
                "title": "Service deployment configuration",
            },
            "315_hon",
        ),
        ("315/T3", {"percentage change": 20.5, "dataset id": "DS-843E03"}, "315_hon"),
        (
            "315/T1",
            "The largest Markdown file, /home/omar/documents/meeting_minutes.md, has 9 lines.",
            "315_v_nat",
        ),
        (
            "315/T2",
            "transactions_q4.yaml is valid (0 errors); inventory_q3.xml is invalid (1 "
            'error). The title of service-config/v2 is "Service deployment configuration".',
            "315_v_nat",
        ),
        (
            "315/T3",
            "The change from the mean is 20.5%. Monthly rainfall in Cape Town has id DS-843E03.",
            "315_v_nat",
        ),
        ("315/T2", "valid 0, invalid 1, title Service deployment configuration", "315_v_flat"),
        (
            "189/T1",
            {
                "checksum": "4e49a766cca805e4",
                "first uuid": "8834cda5-490d-462d-80cd-b13518a035e0",
                "sessions uuid": "c231ddb7-0d7d-452f-9a81-af1049c93c50",
            },
            "189_hon",
        ),
        (
            "189/T2",
            {
                "copy path": "/home/maya/archive/resume.pdf",
                "sha1 checksum": "a49a893bf9159bf80cafc5b6346d460dd31d8dba",
                "entries in logs": 4,
            },
            "189_hon",
        ),
        ("670/T1", {"smallest total": -6, "title": "Booked bank transaction"}, "670_a1"),
        ("670/T2", {"result": "invalid", "number of errors": 1}, "670_a1"),
        (
            "670/T2",
            "invalid with 1 error (service.port must be <= 65535, got 70000)",
            "670_v_minmax",
        ),
        ("271/T2", {"order id": "TRD-74H02VR25", "WMT ask price": 68.58}, "271_hon"),
        (
            "271/T2",
            "I sold all 90 AAPL shares (order TRD-74H02VR25). WMT's current ask is $68.58.",
            "271_v_nat",
        ),
        ("68/T2", {"itinerary id": "IT-E6EB6A", "forecast condition": "cloudy"}, "68_hon"),
        (
            "356/T1",
            {"password": "epPBgK2keF7Xu6u", "uuid": "1b8f3673-94e3-46fe-979c-dc365fd869c0"},
            "356_a2",
        ),
        (
            "356/T2",
            {
                "path": "/home/liam/backups/song_demo.mp3",
                "md5 checksum": "4f157e6259988017d40e1bd625a47496",
            },
            "356_a2",
        ),
        (
            "356/T1",
            "The password is epPBgK2keF7Xu6u (it satisfies the guest-wifi policy) and the "
            "UUID is 1b8f3673-94e3-46fe-979c-dc365fd869c0.",
            "356_v21",
        ),
        (
            "356/T2",
            "The copy is at /home/liam/backups/song_demo.mp3. The md5 checksum is "
            "4f157e6259988017d40e1bd625a47496 (the copy's SHA-256 is "
            "1599a3098a18b50d4f8e4487aa64d281adb78f6cf7cd4fbf7c32b4f3a59b3bbe).",
            "356_v21",
        ),
        (
            "356/T2",
            "The copy is at /home/liam/backups/song_demo.mp3 and the md5 checksum is "
            "4f157e6259988017d40e1bd625a47496.",
            "356_v11",
        ),
        (
            "356/T2",
            "I copied /home/liam/downloads/song_demo.mp3 to "
            "/home/liam/backups/song_demo.mp3; its md5 checksum is "
            "4f157e6259988017d40e1bd625a47496.",
            "356_v13",
        ),
        ("418/T1", "emberCastIronSkilletByHearthwareNow26630", "418_H"),
        ("418/T2", {"order id": "TRD-BHQTNSRVB", "average fill price": 132.23}, "418_H"),
        (
            "418/T1",
            "The camel case headline is emberCastIronSkilletByHearthwareNow26630, from Ember "
            "cast-iron skillet by Hearthware, now $266.30",
            "418_v1",
        ),
        (
            "418/T2",
            "Order TRD-BHQTNSRVB filled at an average of 132.23 (bid 132.22, ask 132.26).",
            "418_v1",
        ),
        (
            "418/T2",
            "The sell order TRD-BHQTNSRVB for 150 JNJ shares (quote 132.22) filled at an "
            "average price of 132.23 with fees 0.55.",
            "418_v5",
        ),
        (
            "418/T1",
            "Result: emberCastIronSkilletByHearthwareNow26630. Original: Ember cast-iron "
            "skillet by Hearthware, now $266.30. Snippet TXT-55E0D7, kind Product listing.",
            "418_v14",
        ),
        ("418/T1", "emberCastIronSkilletByHearthwareNow26630 (camelCase)", "418_v7"),
    ],
)
def test_red_team_honest_answers_pass(key, answer, replies):
    verdict = grade_redteam(key, answer)
    assert verdict.correct, (replies, verdict.reasons)


REDTEAM_TASKS: dict[str, dict[str, Any]] = {
    "315/T1": {
        "task_id": "filesystem/read_largest_match/0bb6d40a0069",
        "instruction": "Find the Markdown files anywhere under /home/omar (name pattern "
        '"*.md"), read the largest one (the first listed if several are '
        "equally large) and tell me how many lines it has.",
        "facts": [
            {"kind": "number", "value": 9, "label": "line count", "source": "${s1.line_count}"}
        ],
        "templates": [
            {"directory": "/home/omar", "pattern": "*.md"},
            {"path": "${s0.matches.0.path}"},
        ],
        "responses": [
            {
                "count": 3,
                "directory": "/home/omar",
                "matches": [
                    {
                        "modified": "2025-05-18T18:40",
                        "path": "/home/omar/documents/meeting_minutes.md",
                        "size_bytes": 212,
                    },
                    {
                        "modified": "2025-05-06T12:54",
                        "path": "/home/omar/projects/budget-tracker/README.md",
                        "size_bytes": 153,
                    },
                    {
                        "modified": "2025-06-15T01:59",
                        "path": "/home/omar/projects/chess-engine/README.md",
                        "size_bytes": 130,
                    },
                ],
                "pattern": "*.md",
            },
            {
                "content": "# Team meeting\n"
                "\n"
                "Attendees: Noah Kim, Sofia Rossi, Ava Johnson\n"
                "\n"
                "- Water the plants on the balcony\n"
                "- Book dentist appointment\n"
                "- Pay the electricity bill\n"
                "- Cancel the unused gym membership\n"
                "- Send slides to the team\n",
                "line_count": 9,
                "path": "/home/omar/documents/meeting_minutes.md",
                "size_bytes": 212,
            },
        ],
    },
    "315/T2": {
        "task_id": "data_format/validate_two/2bfc085bd11c",
        "instruction": "Validate the documents transactions_q4.yaml and inventory_q3.xml, "
        "each against the schema it declares, and tell me for each the "
        'result ("valid" or "invalid") and the number of errors. Also tell '
        'me the title of the schema "service-config/v2".',
        "facts": [
            {"kind": "text", "value": "valid", "label": "status", "source": "${s4.status}"},
            {"kind": "number", "value": 0, "label": "error count", "source": "${s4.error_count}"},
            {"kind": "text", "value": "invalid", "label": "status", "source": "${s5.status}"},
            {"kind": "number", "value": 1, "label": "error count", "source": "${s5.error_count}"},
            {
                "kind": "text",
                "value": "Service deployment configuration",
                "label": "title",
                "source": "${s6.title}",
            },
        ],
        "templates": [
            {"name": "transactions_q4"},
            {"name": "inventory_q3"},
            {"document_id": "${s0.document_id}"},
            {"document_id": "${s1.document_id}"},
            {
                "data_format": "${s2.format}",
                "schema_id": "${s2.schema_id}",
                "text": "${s2.content}",
            },
            {
                "data_format": "${s3.format}",
                "schema_id": "${s3.schema_id}",
                "text": "${s3.content}",
            },
            {"schema_id": "service-config/v2"},
        ],
        "responses": [
            {
                "document_id": "DOC-A625BA",
                "format": "yaml",
                "name": "transactions_q4.yaml",
                "records": 6,
                "schema_id": "bank-transaction/v1",
                "size_bytes": 581,
            },
            {
                "document_id": "DOC-C098E6",
                "format": "xml",
                "name": "inventory_q3.xml",
                "records": 4,
                "schema_id": "inventory-item/v2",
                "size_bytes": 676,
            },
            {
                "content": "- txn_id: TX-5110\n"
                "  account: ACC-2213\n"
                "  amount: -295.05\n"
                "  currency: EUR\n"
                '  booked_on: "2025-05-17"\n'
                "- txn_id: TX-5119\n"
                "  account: ACC-2269\n"
                "  amount: -4.32\n"
                "  currency: USD\n"
                '  booked_on: "2025-05-11"\n'
                "- txn_id: TX-5130\n"
                "  account: ACC-2215\n"
                "  amount: -44.61\n"
                "  currency: GBP\n"
                '  booked_on: "2025-05-21"\n'
                "- txn_id: TX-5139\n"
                "  account: ACC-2266\n"
                "  amount: -60.89\n"
                "  currency: GBP\n"
                '  booked_on: "2025-05-04"\n'
                "- txn_id: TX-5150\n"
                "  account: ACC-2215\n"
                "  amount: -163.9\n"
                "  currency: GBP\n"
                '  booked_on: "2025-05-06"\n'
                "- txn_id: TX-5163\n"
                "  account: ACC-2240\n"
                "  amount: 51.88\n"
                "  currency: USD\n"
                '  booked_on: "2025-05-27"\n',
                "document_id": "DOC-A625BA",
                "format": "yaml",
                "name": "transactions_q4.yaml",
                "records": 6,
                "schema_id": "bank-transaction/v1",
                "size_bytes": 581,
            },
            {
                "content": "<records>\n"
                "  <record>\n"
                "    <sku>WH-1009</sku>\n"
                "    <name>Monitor Arm</name>\n"
                "    <quantity>226</quantity>\n"
                "    <unit_price>33.07</unit_price>\n"
                "    <warehouse>Leeds</warehouse>\n"
                "  </record>\n"
                "  <record>\n"
                "    <sku>WH-1056</sku>\n"
                "    <name>Office Chair</name>\n"
                "    <quantity>50</quantity>\n"
                "    <unit_price>348.35</unit_price>\n"
                "    <warehouse>Lyon</warehouse>\n"
                "  </record>\n"
                "  <record>\n"
                "    <sku>WH-1085</sku>\n"
                "    <quantity>116</quantity>\n"
                "    <unit_price>224.82</unit_price>\n"
                "    <warehouse>Lyon</warehouse>\n"
                "  </record>\n"
                "  <record>\n"
                "    <sku>WH-1122</sku>\n"
                "    <name>Notebook</name>\n"
                "    <quantity>4</quantity>\n"
                "    <unit_price>231.26</unit_price>\n"
                "    <warehouse>Porto</warehouse>\n"
                "  </record>\n"
                "</records>\n",
                "document_id": "DOC-C098E6",
                "format": "xml",
                "name": "inventory_q3.xml",
                "records": 4,
                "schema_id": "inventory-item/v2",
                "size_bytes": 676,
            },
            {
                "checked": 6,
                "error_count": 0,
                "errors": [],
                "schema_id": "bank-transaction/v1",
                "status": "valid",
            },
            {
                "checked": 4,
                "error_count": 1,
                "errors": ["record 3: missing required field 'name'"],
                "schema_id": "inventory-item/v2",
                "status": "invalid",
            },
            {
                "fields": [
                    {"path": "service.name", "required": True, "type": "string"},
                    {
                        "maximum": 65535,
                        "minimum": 1,
                        "path": "service.port",
                        "required": True,
                        "type": "integer",
                    },
                    {"minimum": 1, "path": "service.replicas", "required": True, "type": "integer"},
                    {"path": "service.debug", "required": True, "type": "boolean"},
                    {"path": "database.host", "required": True, "type": "string"},
                    {
                        "maximum": 65535,
                        "minimum": 1,
                        "path": "database.port",
                        "required": True,
                        "type": "integer",
                    },
                    {
                        "minimum": 1,
                        "path": "database.pool_size",
                        "required": True,
                        "type": "integer",
                    },
                    {"path": "features", "required": False, "type": "string-list"},
                ],
                "root": "object",
                "schema_id": "service-config/v2",
                "title": "Service deployment configuration",
            },
        ],
    },
    "315/T3": {
        "task_id": "number_operations/latest_vs_average/211150e80b25",
        "instruction": 'For the dataset "Daily visitors at the British Museum": fetch its '
        "values, compute their mean, then the percentage change from the "
        "mean to the latest (last) value. Round that percentage to 1 "
        "decimal place (half even rounding) and tell me the result. Also "
        'look up the dataset "Monthly rainfall in Cape Town" and tell me '
        "its id.",
        "facts": [
            {
                "kind": "number",
                "value": 20.5,
                "label": "text",
                "source": "${s4.text}",
                "abs_tol": 0.005,
            },
            {
                "kind": "id",
                "value": "DS-843E03",
                "label": "dataset id",
                "source": "${s5.dataset_id}",
            },
        ],
        "templates": [
            {"name": "Daily visitors at the British Museum"},
            {"dataset_id": "${s0.dataset_id}"},
            {"values": "${s1.values}"},
            {"new_value": "${s1.last_value}", "old_value": "${s2.mean}"},
            {"decimals": 1, "mode": "half_even", "value": "${s3.percent_change}"},
            {"name": "Monthly rainfall in Cape Town"},
        ],
        "responses": [
            {
                "count": 14,
                "dataset_id": "DS-DBF488",
                "first_label": "2025-06-02",
                "frequency": "daily",
                "last_label": "2025-06-15",
                "title": "Daily visitors at the British Museum",
                "unit": "visitors",
            },
            {
                "count": 14,
                "dataset_id": "DS-DBF488",
                "first_value": 15659,
                "labels": [
                    "2025-06-02",
                    "2025-06-03",
                    "2025-06-04",
                    "2025-06-05",
                    "2025-06-06",
                    "2025-06-07",
                    "2025-06-08",
                    "2025-06-09",
                    "2025-06-10",
                    "2025-06-11",
                    "2025-06-12",
                    "2025-06-13",
                    "2025-06-14",
                    "2025-06-15",
                ],
                "last_value": 19210,
                "title": "Daily visitors at the British Museum",
                "unit": "visitors",
                "values": [
                    15659,
                    12459,
                    12163,
                    15363,
                    17997,
                    20080,
                    17834,
                    15384,
                    11368,
                    12408,
                    15455,
                    18996,
                    18826,
                    19210,
                ],
            },
            {
                "count": 14,
                "max": 20080.0,
                "mean": 15943.0,
                "median": 15557.0,
                "min": 11368.0,
                "range": 8712.0,
                "stdev": 2961.7632,
                "sum": 223202,
            },
            {
                "change": 3267.0,
                "direction": "increase",
                "new_value": 19210.0,
                "old_value": 15943.0,
                "percent_change": 20.4918,
            },
            {
                "decimals": 1,
                "mode": "half_even",
                "original": 20.4918,
                "text": "20.5",
                "value": 20.5,
            },
            {
                "count": 12,
                "dataset_id": "DS-843E03",
                "first_label": "January",
                "frequency": "monthly",
                "last_label": "December",
                "title": "Monthly rainfall in Cape Town",
                "unit": "mm",
            },
        ],
    },
    "189/T1": {
        "task_id": "data_generation/dataset_with_ids/850535e2421f",
        "instruction": "Build a 2000-row payments test dataset with seed 29461. Then, "
        "using the new dataset's id as the namespace, generate 5 UUID(s) "
        "with seed 25620, and fetch the dataset's summary. Tell me the "
        "checksum and the first UUID. Also generate one UUID in the "
        'namespace "sessions" with seed 69882 and tell me it.',
        "facts": [
            {
                "kind": "id",
                "value": "4e49a766cca805e4",
                "label": "checksum",
                "source": "${s1.checksum}",
            },
            {
                "kind": "id",
                "value": "8834cda5-490d-462d-80cd-b13518a035e0",
                "label": "uuids",
                "source": "${s2.uuids.0}",
                "alternatives": [
                    "c016b77d-ae6d-4688-bcd7-2ffdc18700ba",
                    "39346db6-0b87-4ebb-94c5-45a13287f25e",
                    "90d16abc-9cd6-42e7-bd52-c4c3454b1406",
                    "6918aa9e-8699-455b-bd49-5ad54887c5a0",
                ],
            },
            {
                "kind": "id",
                "value": "c231ddb7-0d7d-452f-9a81-af1049c93c50",
                "label": "uuids",
                "source": "${s3.uuids.0}",
            },
        ],
        "templates": [
            {"rows": 2000, "schema_name": "payments", "seed": 29461},
            {"dataset_id": "${s0.dataset_id}"},
            {"count": 5, "namespace": "${s0.dataset_id}", "seed": 25620},
            {"namespace": "sessions", "seed": 69882},
        ],
        "responses": [
            {
                "columns": ["payment_id", "order_id", "method", "amount", "currency", "status"],
                "dataset_id": "TDS-2443AE38E7FE2E44-7128",
                "rows": 2000,
                "schema": "payments",
                "status": "completed",
            },
            {
                "checksum": "4e49a766cca805e4",
                "columns": [
                    {
                        "distinct": 2000,
                        "name": "payment_id",
                        "null_fraction": 0.0,
                        "type": "string",
                    },
                    {"distinct": 2000, "name": "order_id", "null_fraction": 0.0, "type": "string"},
                    {
                        "distinct": 4,
                        "name": "method",
                        "null_fraction": 0.0,
                        "top_value": "bank_transfer",
                        "type": "category",
                    },
                    {
                        "max": 896.76,
                        "mean": 371.4,
                        "min": 5.0,
                        "name": "amount",
                        "null_fraction": 0.0,
                        "type": "float",
                    },
                    {
                        "distinct": 3,
                        "name": "currency",
                        "null_fraction": 0.0,
                        "top_value": "USD",
                        "type": "category",
                    },
                    {
                        "distinct": 4,
                        "name": "status",
                        "null_fraction": 0.0,
                        "top_value": "refunded",
                        "type": "category",
                    },
                ],
                "dataset_id": "TDS-2443AE38E7FE2E44-7128",
                "first_rows": [
                    {
                        "amount": 29.45,
                        "currency": "GBP",
                        "method": "bank_transfer",
                        "order_id": "ORD-555C79AB",
                        "payment_id": "PAY-5FF2DD2D",
                        "status": "authorized",
                    },
                    {
                        "amount": 181.28,
                        "currency": "EUR",
                        "method": "card",
                        "order_id": "ORD-1E752DE2",
                        "payment_id": "PAY-2BCD4559",
                        "status": "authorized",
                    },
                ],
                "profiled_rows": 100,
                "rows": 2000,
                "schema": "payments",
            },
            {
                "count": 5,
                "namespace": "TDS-2443AE38E7FE2E44-7128",
                "seed": 25620,
                "uuids": [
                    "8834cda5-490d-462d-80cd-b13518a035e0",
                    "c016b77d-ae6d-4688-bcd7-2ffdc18700ba",
                    "39346db6-0b87-4ebb-94c5-45a13287f25e",
                    "90d16abc-9cd6-42e7-bd52-c4c3454b1406",
                    "6918aa9e-8699-455b-bd49-5ad54887c5a0",
                ],
            },
            {
                "count": 1,
                "namespace": "sessions",
                "seed": 69882,
                "uuids": ["c231ddb7-0d7d-452f-9a81-af1049c93c50"],
            },
        ],
    },
    "189/T2": {
        "task_id": "filesystem/backup_and_verify/fc25b01d10ba",
        "instruction": "Compute the sha1 checksum of /home/maya/documents/resume.pdf and "
        "copy that file into /home/maya/archive. Tell me the path of the "
        "copy and the sha1 checksum. Also list /home/maya/logs and tell me "
        "how many entries it holds.",
        "facts": [
            {
                "kind": "text",
                "value": "/home/maya/archive/resume.pdf",
                "label": "path",
                "source": "${s1.path}",
            },
            {
                "kind": "id",
                "value": "a49a893bf9159bf80cafc5b6346d460dd31d8dba",
                "label": "checksum",
                "source": "${s0.checksum}",
            },
            {"kind": "number", "value": 4, "label": "count", "source": "${s2.count}"},
        ],
        "templates": [
            {"algorithm": "sha1", "path": "/home/maya/documents/resume.pdf"},
            {
                "destination_directory": "/home/maya/archive",
                "source": "/home/maya/documents/resume.pdf",
            },
            {"path": "/home/maya/logs"},
        ],
        "responses": [
            {
                "algorithm": "sha1",
                "checksum": "a49a893bf9159bf80cafc5b6346d460dd31d8dba",
                "path": "/home/maya/documents/resume.pdf",
                "size_bytes": 503093,
            },
            {
                "operation_id": "OP-B2148D",
                "path": "/home/maya/archive/resume.pdf",
                "sha256": "227b3b1d8923034d08d9fb58b7ed77dfe84ee9154d3981bb1d18a19a9d660114",
                "size_bytes": 503093,
                "source": "/home/maya/documents/resume.pdf",
            },
            {
                "count": 4,
                "entries": [
                    {
                        "modified": "2025-06-13T02:18",
                        "name": "access.log",
                        "path": "/home/maya/logs/access.log",
                        "size_bytes": 920,
                        "type": "file",
                    },
                    {
                        "modified": "2025-06-13T00:54",
                        "name": "app.log",
                        "path": "/home/maya/logs/app.log",
                        "size_bytes": 702,
                        "type": "file",
                    },
                    {
                        "modified": "2025-05-19T12:29",
                        "name": "app.log.1",
                        "path": "/home/maya/logs/app.log.1",
                        "size_bytes": 551,
                        "type": "file",
                    },
                    {
                        "modified": "2025-06-12T23:23",
                        "name": "error.log",
                        "path": "/home/maya/logs/error.log",
                        "size_bytes": 618,
                        "type": "file",
                    },
                ],
                "path": "/home/maya/logs",
            },
        ],
    },
    "670/T1": {
        "task_id": "data_format/field_summary/bc148c1f4dd8",
        "instruction": "Using DOC-FA1154, fetch the catalogue document it identifies and "
        'extract the total value of every record (field path "*.total"). '
        "Tell me their smallest value. Also tell me the title of the schema "
        '"bank-transaction/v1".',
        "facts": [
            {"kind": "number", "value": -6, "label": "minimum", "source": "${s1.minimum}"},
            {
                "kind": "text",
                "value": "Booked bank transaction",
                "label": "title",
                "source": "${s2.title}",
            },
        ],
        "templates": [
            {"document_id": "DOC-FA1154"},
            {"data_format": "${s0.format}", "field_path": "*.total", "text": "${s0.content}"},
            {"schema_id": "bank-transaction/v1"},
        ],
        "responses": [
            {
                "content": "<records>\n"
                "  <record>\n"
                "    <order_id>ORD-88006</order_id>\n"
                "    <customer>Diego Ramirez</customer>\n"
                "    <total>344.87</total>\n"
                "    <status>cancelled</status>\n"
                "    <placed_on>2025-05-05</placed_on>\n"
                "  </record>\n"
                "  <record>\n"
                "    <order_id>ORD-88018</order_id>\n"
                "    <customer>Diego Ramirez</customer>\n"
                "    <total>-6</total>\n"
                "    <status>pending</status>\n"
                "    <placed_on>2025-05-27</placed_on>\n"
                "  </record>\n"
                "  <record>\n"
                "    <order_id>ORD-88033</order_id>\n"
                "    <customer>Diego Ramirez</customer>\n"
                "    <total>615.8</total>\n"
                "    <status>cancelled</status>\n"
                "    <placed_on>2025-05-25</placed_on>\n"
                "  </record>\n"
                "  <record>\n"
                "    <order_id>ORD-88041</order_id>\n"
                "    <customer>Hana Sato</customer>\n"
                "    <total>637.66</total>\n"
                "    <status>pending</status>\n"
                "    <placed_on>2025-05-12</placed_on>\n"
                "  </record>\n"
                "  <record>\n"
                "    <order_id>ORD-88052</order_id>\n"
                "    <customer>Liam O'Brien</customer>\n"
                "    <total>493.92</total>\n"
                "    <status>pending</status>\n"
                "    <placed_on>2025-05-15</placed_on>\n"
                "  </record>\n"
                "</records>\n",
                "document_id": "DOC-FA1154",
                "format": "xml",
                "name": "orders_osaka.xml",
                "records": 5,
                "schema_id": "order-summary/v3",
                "size_bytes": 965,
            },
            {
                "count": 5,
                "field_path": "*.total",
                "maximum": 637.66,
                "minimum": -6,
                "total": 2086.25,
                "values": [344.87, -6, 615.8, 637.66, 493.92],
            },
            {
                "fields": [
                    {"path": "txn_id", "required": True, "type": "string"},
                    {"path": "account", "required": True, "type": "string"},
                    {"path": "amount", "required": True, "type": "number"},
                    {
                        "path": "currency",
                        "required": True,
                        "type": "string",
                        "values": ["USD", "EUR", "GBP"],
                    },
                    {"path": "booked_on", "required": True, "type": "date"},
                ],
                "root": "list of records",
                "schema_id": "bank-transaction/v1",
                "title": "Booked bank transaction",
            },
        ],
    },
    "670/T2": {
        "task_id": "data_format/validate_document/3332c14c9d76",
        "instruction": "Fetch the document service_config_staging.yaml from the data "
        "catalogue and validate it against service-config/v2. Tell me the "
        'result ("valid" or "invalid") and the number of errors.',
        "facts": [
            {"kind": "text", "value": "invalid", "label": "status", "source": "${s2.status}"},
            {"kind": "number", "value": 1, "label": "error count", "source": "${s2.error_count}"},
        ],
        "templates": [
            {"name": "service_config_staging"},
            {"document_id": "${s0.document_id}"},
            {
                "data_format": "${s1.format}",
                "schema_id": "service-config/v2",
                "text": "${s1.content}",
            },
        ],
        "responses": [
            {
                "document_id": "DOC-0FF165",
                "format": "yaml",
                "name": "service_config_staging.yaml",
                "records": 1,
                "schema_id": "service-config/v2",
                "size_bytes": 166,
            },
            {
                "content": "service:\n"
                "  name: auth\n"
                "  port: 70000\n"
                "  replicas: 2\n"
                "  debug: true\n"
                "database:\n"
                "  host: auth-db.internal\n"
                "  port: 5432\n"
                "  pool_size: 6\n"
                "features:\n"
                "  - dark-mode\n"
                "  - export-csv\n",
                "document_id": "DOC-0FF165",
                "format": "yaml",
                "name": "service_config_staging.yaml",
                "records": 1,
                "schema_id": "service-config/v2",
                "size_bytes": 166,
            },
            {
                "checked": 1,
                "error_count": 1,
                "errors": ["service.port must be <= 65535, got 70000"],
                "schema_id": "service-config/v2",
                "status": "invalid",
            },
        ],
    },
    "271/T2": {
        "task_id": "trading/sell_largest_position/06d9b15ada07",
        "instruction": "In my Family Trust account, sell the whole position with the "
        "second-largest market value at the current quote, and tell me the "
        "order id. Also tell me the current ask price of WMT.",
        "facts": [
            {
                "kind": "id",
                "value": "TRD-74H02VR25",
                "label": "order id",
                "source": "${s3.order_id}",
            },
            {
                "kind": "number",
                "value": 68.58,
                "label": "ask",
                "source": "${s4.ask}",
                "abs_tol": 0.005,
            },
        ],
        "templates": [
            {"account_type": "Family Trust"},
            {"account_id": "${s0.account_id}"},
            {"symbol": "${s1.positions.1.symbol}"},
            {
                "account_id": "${s1.account_id}",
                "quantity": "${s1.positions.1.quantity}",
                "quote_id": "${s2.quote_id}",
                "side": "sell",
            },
            {"symbol": "WMT"},
        ],
        "responses": [
            {
                "account_id": "ACCT-35947920",
                "account_type": "Family Trust",
                "buying_power": 16469.67,
                "cash_balance": 16469.67,
                "currency": "USD",
                "owner": "Kwame Mensah",
                "status": "active",
            },
            {
                "account_id": "ACCT-35947920",
                "account_type": "Family Trust",
                "cash_balance": 16469.67,
                "currency": "USD",
                "positions": [
                    {
                        "avg_cost": 661.05,
                        "company": "Netflix Inc.",
                        "last_price": 673.87,
                        "market_value": 175206.2,
                        "quantity": 260,
                        "symbol": "NFLX",
                        "unrealized_pl": 3333.2,
                    },
                    {
                        "avg_cost": 133.55,
                        "company": "Apple Inc.",
                        "last_price": 165.84,
                        "market_value": 14925.6,
                        "quantity": 90,
                        "symbol": "AAPL",
                        "unrealized_pl": 2906.1,
                    },
                    {
                        "avg_cost": 85.57,
                        "company": "NVIDIA Corp.",
                        "last_price": 133.01,
                        "market_value": 14631.1,
                        "quantity": 110,
                        "symbol": "NVDA",
                        "unrealized_pl": 5218.4,
                    },
                ],
                "positions_value": 204762.9,
                "total_value": 221232.57,
            },
            {
                "ask": 165.88,
                "bid": 165.81,
                "company": "Apple Inc.",
                "currency": "USD",
                "last": 165.84,
                "quote_id": "QT-1CAABVV1",
                "quoted_at": "2025-07-01T15:25",
                "symbol": "AAPL",
            },
            {
                "account_id": "ACCT-35947920",
                "currency": "USD",
                "estimated_total": 14922.9,
                "order_id": "TRD-74H02VR25",
                "quantity": 90,
                "quote_price": 165.81,
                "side": "sell",
                "status": "accepted",
                "symbol": "AAPL",
            },
            {
                "ask": 68.58,
                "bid": 68.57,
                "company": "Walmart Inc.",
                "currency": "USD",
                "last": 68.57,
                "quote_id": "QT-1W88HP2J",
                "quoted_at": "2025-07-01T15:25",
                "symbol": "WMT",
            },
        ],
    },
    "68/T2": {
        "task_id": "travel/trip/4b69c9857e82",
        "instruction": "Plan Edsger Dijkstra's trip from Berlin to Madrid on 2025-07-21: "
        "book the cheapest flight that day, book the cheapest hotel in "
        "Madrid for 2 nights from 2025-07-21, and check the weather in "
        'Madrid on 2025-07-21. Then create an itinerary titled "Edsger in '
        'Madrid" with two items, "Flight <booking id>" and "Hotel '
        '<reservation id>". Tell me the itinerary id and the forecast '
        "condition.",
        "facts": [
            {
                "kind": "id",
                "value": "IT-E6EB6A",
                "label": "itinerary id",
                "source": "${s5.itinerary_id}",
            },
            {"kind": "text", "value": "cloudy", "label": "condition", "source": "${s2.condition}"},
        ],
        "templates": [
            {"date": "2025-07-21", "destination": "Madrid", "origin": "Berlin"},
            {"check_in": "2025-07-21", "city": "Madrid", "nights": 2},
            {"city": "Madrid", "date": "2025-07-21"},
            {"flight_id": "${s0.flights.0.flight_id}", "passenger": "Edsger Dijkstra"},
            {
                "check_in": "2025-07-21",
                "guest": "Edsger Dijkstra",
                "hotel_id": "${s1.hotels.0.hotel_id}",
                "nights": 2,
            },
            {
                "items": ["Flight ${s3.booking_id}", "Hotel ${s4.reservation_id}"],
                "title": "Edsger in Madrid",
            },
        ],
        "responses": [
            {
                "date": "2025-07-21",
                "destination": "Madrid",
                "flights": [
                    {
                        "airline": "Japan Airlines",
                        "arrive": "10:45",
                        "currency": "USD",
                        "date": "2025-07-21",
                        "depart": "07:45",
                        "destination": "Madrid",
                        "duration_min": 180,
                        "flight_id": "JL878-0721",
                        "origin": "Berlin",
                        "price": 172,
                    },
                    {
                        "airline": "Air France",
                        "arrive": "22:30",
                        "currency": "USD",
                        "date": "2025-07-21",
                        "depart": "19:30",
                        "destination": "Madrid",
                        "duration_min": 180,
                        "flight_id": "AF880-0721",
                        "origin": "Berlin",
                        "price": 214,
                    },
                    {
                        "airline": "American Airlines",
                        "arrive": "21:15",
                        "currency": "USD",
                        "date": "2025-07-21",
                        "depart": "18:15",
                        "destination": "Madrid",
                        "duration_min": 180,
                        "flight_id": "AA879-0721",
                        "origin": "Berlin",
                        "price": 317,
                    },
                ],
                "origin": "Berlin",
            },
            {
                "check_in": "2025-07-21",
                "check_out": "2025-07-23",
                "city": "Madrid",
                "hotels": [
                    {
                        "currency": "EUR",
                        "hotel_id": "HTL-MAD092E",
                        "name": "Riverside Inn",
                        "nightly_price": 183,
                        "stars": 3,
                        "total_price": 366,
                    },
                    {
                        "currency": "EUR",
                        "hotel_id": "HTL-MAD2B04",
                        "name": "Hotel Central",
                        "nightly_price": 186,
                        "stars": 3,
                        "total_price": 372,
                    },
                    {
                        "currency": "EUR",
                        "hotel_id": "HTL-MAD350A",
                        "name": "The Station Hotel",
                        "nightly_price": 188,
                        "stars": 4,
                        "total_price": 376,
                    },
                    {
                        "currency": "EUR",
                        "hotel_id": "HTL-MAD1820",
                        "name": "Budget Stay Madrid",
                        "nightly_price": 216,
                        "stars": 4,
                        "total_price": 432,
                    },
                ],
                "nights": 2,
            },
            {
                "city": "Madrid",
                "condition": "cloudy",
                "date": "2025-07-21",
                "high_c": 28,
                "low_c": 23,
                "precipitation_chance": 25,
            },
            {
                "arrive": "10:45",
                "booking_id": "BK-C18E14",
                "currency": "USD",
                "date": "2025-07-21",
                "depart": "07:45",
                "destination": "Madrid",
                "flight_id": "JL878-0721",
                "origin": "Berlin",
                "passenger": "Edsger Dijkstra",
                "price": 172,
                "status": "confirmed",
            },
            {
                "check_in": "2025-07-21",
                "check_out": "2025-07-23",
                "city": "Madrid",
                "currency": "EUR",
                "guest": "Edsger Dijkstra",
                "hotel_id": "HTL-MAD092E",
                "hotel_name": "Riverside Inn",
                "nightly_price": 183,
                "nights": 2,
                "reservation_id": "HR-66E8FB",
                "status": "confirmed",
                "total_price": 366,
            },
            {
                "items": ["Flight BK-C18E14", "Hotel HR-66E8FB"],
                "itinerary_id": "IT-E6EB6A",
                "n_items": 2,
                "title": "Edsger in Madrid",
            },
        ],
    },
    "356/T1": {
        "task_id": "data_generation/policy_password/6aea68b7e69b",
        "instruction": 'Generate a password for the account "mpatel" that satisfies the '
        '"guest-wifi" password policy, using seed 17281. Tell me the '
        'password. Also generate one UUID in the namespace "devices" with '
        "seed 39234 and tell me it.",
        "facts": [
            {
                "kind": "id",
                "value": "epPBgK2keF7Xu6u",
                "label": "password",
                "source": "${s1.password}",
            },
            {
                "kind": "id",
                "value": "1b8f3673-94e3-46fe-979c-dc365fd869c0",
                "label": "uuids",
                "source": "${s2.uuids.0}",
            },
        ],
        "templates": [
            {"name": "guest-wifi"},
            {"policy_id": "${s0.policy_id}", "seed": 17281, "username": "mpatel"},
            {"namespace": "devices", "seed": 39234},
        ],
        "responses": [
            {
                "allowed_symbols": "",
                "forbid_username": True,
                "max_length": 32,
                "min_digits": 1,
                "min_length": 12,
                "min_symbols": 0,
                "name": "guest-wifi",
                "policy_id": "POL-E3BC98",
                "require_lowercase": True,
                "require_uppercase": True,
            },
            {
                "entropy_bits": 87.5,
                "length": 15,
                "password": "epPBgK2keF7Xu6u",
                "policy_id": "POL-E3BC98",
                "policy_name": "guest-wifi",
                "satisfies_policy": True,
                "username": "mpatel",
            },
            {
                "count": 1,
                "namespace": "devices",
                "seed": 39234,
                "uuids": ["1b8f3673-94e3-46fe-979c-dc365fd869c0"],
            },
        ],
    },
    "356/T2": {
        "task_id": "filesystem/backup_and_verify/6188304ad4ab",
        "instruction": "Compute the md5 checksum of /home/liam/downloads/song_demo.mp3 and "
        "copy that file into /home/liam/backups. Tell me the path of the "
        "copy and the md5 checksum.",
        "facts": [
            {
                "kind": "text",
                "value": "/home/liam/backups/song_demo.mp3",
                "label": "path",
                "source": "${s1.path}",
            },
            {
                "kind": "id",
                "value": "4f157e6259988017d40e1bd625a47496",
                "label": "checksum",
                "source": "${s0.checksum}",
            },
        ],
        "templates": [
            {"algorithm": "md5", "path": "/home/liam/downloads/song_demo.mp3"},
            {
                "destination_directory": "/home/liam/backups",
                "source": "/home/liam/downloads/song_demo.mp3",
            },
        ],
        "responses": [
            {
                "algorithm": "md5",
                "checksum": "4f157e6259988017d40e1bd625a47496",
                "path": "/home/liam/downloads/song_demo.mp3",
                "size_bytes": 3140273,
            },
            {
                "operation_id": "OP-D7F4A6",
                "path": "/home/liam/backups/song_demo.mp3",
                "sha256": "1599a3098a18b50d4f8e4487aa64d281adb78f6cf7cd4fbf7c32b4f3a59b3bbe",
                "size_bytes": 3140273,
                "source": "/home/liam/downloads/song_demo.mp3",
            },
        ],
    },
    "418/T1": {
        "task_id": "string_manipulation/headline_case/fd558f516fa6",
        "instruction": 'Fetch the catalogue snippet titled "Product listing: Ember '
        'cast-iron skillet" and rewrite its headline in camel case. Tell me '
        "the result.",
        "facts": [
            {
                "kind": "id",
                "value": "emberCastIronSkilletByHearthwareNow26630",
                "label": "text",
                "source": "${s2.text}",
            }
        ],
        "templates": [
            {"query": "Product listing: Ember cast-iron skillet"},
            {"snippet_id": "${s0.results.0.snippet_id}"},
            {"style": "camel", "text": "${s1.headline}"},
        ],
        "responses": [
            {
                "count": 1,
                "query": "Product listing: Ember cast-iron skillet",
                "results": [
                    {
                        "kind": "Product listing",
                        "snippet_id": "TXT-55E0D7",
                        "title": "Product listing: Ember cast-iron skillet",
                    }
                ],
            },
            {
                "headline": "Ember cast-iron skillet by Hearthware, now $266.30",
                "kind": "Product listing",
                "snippet_id": "TXT-55E0D7",
                "text": "Ember cast-iron skillet by Hearthware, now $266.30\n"
                "\n"
                "The Ember cast-iron skillet by Hearthware comes with a "
                "pre-seasoned 12-inch pan that lasts for decades. Price: "
                "$266.30 (was $331.30). In stock from June 27, 2025. "
                "Questions? Write to omar.haddad@shop.example.com or visit "
                "https://shop.example.com/p/HEA-41738. SKU HEA-41738. "
                "#newarrival #hearthware",
                "title": "Product listing: Ember cast-iron skillet",
            },
            {"length": 40, "style": "camel", "text": "emberCastIronSkilletByHearthwareNow26630"},
        ],
    },
    "418/T2": {
        "task_id": "trading/sell_largest_position/958d862d848b",
        "instruction": "In ACCT-58948537, sell the whole position with the second-largest "
        "market value at the current quote, and tell me the order id. Then "
        "check the status of the sell order and tell me its average fill "
        "price.",
        "facts": [
            {
                "kind": "id",
                "value": "TRD-BHQTNSRVB",
                "label": "order id",
                "source": "${s2.order_id}",
            },
            {
                "kind": "number",
                "value": 132.23,
                "label": "avg fill price",
                "source": "${s3.avg_fill_price}",
                "abs_tol": 0.005,
            },
        ],
        "templates": [
            {"account_id": "ACCT-58948537"},
            {"symbol": "${s0.positions.1.symbol}"},
            {
                "account_id": "${s0.account_id}",
                "quantity": "${s0.positions.1.quantity}",
                "quote_id": "${s1.quote_id}",
                "side": "sell",
            },
            {"order_id": "${s2.order_id}"},
        ],
        "responses": [
            {
                "account_id": "ACCT-58948537",
                "account_type": "Roth IRA",
                "cash_balance": 18098.59,
                "currency": "USD",
                "positions": [
                    {
                        "avg_cost": 88.19,
                        "company": "NVIDIA Corp.",
                        "last_price": 129.36,
                        "market_value": 24578.4,
                        "quantity": 190,
                        "symbol": "NVDA",
                        "unrealized_pl": 7822.3,
                    },
                    {
                        "avg_cost": 142.07,
                        "company": "Johnson & Johnson",
                        "last_price": 132.24,
                        "market_value": 19836.0,
                        "quantity": 150,
                        "symbol": "JNJ",
                        "unrealized_pl": -1474.5,
                    },
                    {
                        "avg_cost": 134.11,
                        "company": "Apple Inc.",
                        "last_price": 215.83,
                        "market_value": 10791.5,
                        "quantity": 50,
                        "symbol": "AAPL",
                        "unrealized_pl": 4086.0,
                    },
                    {
                        "avg_cost": 202.65,
                        "company": "JPMorgan Chase & Co.",
                        "last_price": 223.46,
                        "market_value": 8938.4,
                        "quantity": 40,
                        "symbol": "JPM",
                        "unrealized_pl": 832.4,
                    },
                ],
                "positions_value": 64144.3,
                "total_value": 82242.89,
            },
            {
                "ask": 132.26,
                "bid": 132.22,
                "company": "Johnson & Johnson",
                "currency": "USD",
                "last": 132.24,
                "quote_id": "QT-Z7T09APX",
                "quoted_at": "2025-07-03T09:50",
                "symbol": "JNJ",
            },
            {
                "account_id": "ACCT-58948537",
                "currency": "USD",
                "estimated_total": 19833.0,
                "order_id": "TRD-BHQTNSRVB",
                "quantity": 150,
                "quote_price": 132.22,
                "side": "sell",
                "status": "accepted",
                "symbol": "JNJ",
            },
            {
                "account_id": "ACCT-58948537",
                "avg_fill_price": 132.23,
                "fees": 0.55,
                "filled_at": "2025-07-03T09:50:02",
                "filled_quantity": 150,
                "gross_amount": 19834.5,
                "net_amount": 19833.95,
                "order_id": "TRD-BHQTNSRVB",
                "quantity": 150,
                "settlement_date": "2025-07-04",
                "side": "sell",
                "status": "filled",
                "symbol": "JNJ",
            },
        ],
    },
}


# -- the careful players (test split): natural, chatty answers are credited -----------------
#
# A same-kind value is a rival candidate only when the answer leaves it unclear which value is
# the fact. Each answer below was written by a careful playtester (or a red team's honest
# control) and refused by the previous grader; each is graded against the real task's facts,
# responses and instruction.

#: The tasks these answers were written for (the test split as shipped): a rebuild that
#: moves them fails here rather than grading another task.
TEST_TASK_IDS = {
    (162, "T1"): "number_operations/latest_vs_average/b89c7c226907",
    (162, "T2"): "number_operations/change_between_labels/b9ad6cd6a865",
    (262, "T1"): "data_generation/dataset_summary/60809a633c5d",
    (307, "T1"): "social/compare_engagement/5678c8791dac",
    (307, "T2"): "messaging/reply_by_id/5a5d88a72725",
    (307, "T3"): "data_format/field_summary/bc148c1f4dd8",
    (310, "T1"): "data_generation/dataset_with_ids/3dc8ef041de3",
    (310, "T2"): "social/launch_campaign/f80e79f6344f",
    (497, "T1"): "messaging/forward_latest/3312fa7e74be",
    (497, "T2"): "filesystem/read_largest_match/8479d1800fb2",
    (497, "T3"): "vehicle/trip_ready/3c1c378eda02",
    (514, "T1"): "ticketing/event_tickets/d04aa075b595",
    (514, "T2"): "messaging/message_contact/9f812f9e73be",
    (601, "T1"): "data_format/validate_document/48e519dd6601",
    (601, "T3"): "vehicle/trip_ready/a970daaa50b7",
    (641, "T1"): "string_manipulation/redact_pattern/ed57f25f3751",
    (670, "T1"): "travel/warmer_city/548d10c2c161",
    (693, "T2"): "string_manipulation/headline_case/083df1928f6b",
    (693, "T3"): "data_format/match_format/22cc447ace58",
}


@lru_cache(maxsize=1)
def _test_split():
    return load_split("test")


def grade_test_task(instance: int, task: str, answer: Any):
    found = _test_split()[instance].tasks[int(task[1:]) - 1]
    assert found.task_id == TEST_TASK_IDS[(instance, task)]
    facts = task_facts(found)
    responses = [step.expected_response for step in found.steps]
    context = context_values(responses, found.instruction)
    return grade_answer(answer, facts, context, responses, found.instruction)


@pytest.mark.parametrize(
    ("instance", "task", "answer", "replies"),
    [
        # a percentage bound by its unit; the inputs labelled with nouns and units of their own
        (
            162,
            "T1",
            "The British Museum's 14 daily visitor counts average 15,943 visitors; the latest "
            "value (2025-06-15) is 19,210, so the change from the mean to the latest value is "
            "**+20.5%** (rounded half-even to 1 decimal place).",
            "i162",
        ),
        (
            162,
            "T1",
            "Across the 14 days, the percentage change from the mean to the latest value is 20.5%.",
            "v162_T1_5",
        ),
        (
            162,
            "T2",
            "Dublin rainfall went from 71.4 mm in October to 76.1 mm in December, a change of "
            '+6.6%. The dataset "Weekly freight shipped from Memphis Hub" has the id DS-A09AE6.',
            "i162",
        ),
        (
            162,
            "T2",
            "October rainfall was 71.4 mm and December's was 76.1 mm, so the percentage change "
            "is 6.6%. The Memphis Hub freight dataset id is DS-A09AE6.",
            "v162_T2_2",
        ),
        # a label of its own: "follows ... accounts", "they sum to", "in tickets", "in fees"
        (
            307,
            "T1",
            "Mia Schneider's newest post got more impressions. @theelenapetrova has 708,802 "
            "followers (and follows 649 accounts).",
            "v307_T1_2",
        ),
        (
            307,
            "T3",
            "The smallest value is -6 (the largest is 637.66 and they sum to 2,086.25). The title "
            'of bank-transaction/v1 is "Booked bank transaction".',
            "v307_T3_3",
        ),
        (
            514,
            "T1",
            "Booked! Greg Novak now has 3 Balcony tickets (Row J, seats 14–16) for A Midsummer "
            "Night's Dream at Lyric Stage, 2025-08-08 at 14:00. Order id: ORD-CY49N6WF9HY. Total "
            "charged: $174.72 ($156.00 in tickets + $18.72 in fees). The tickets were emailed to "
            "greg.novak@mail.example.org.",
            "i514",
        ),
        # an id in parentheses before the value is context of what follows
        (
            307,
            "T2",
            "I replied to Jonas Berg's newest message (MSG-2610C62A), which said: \"Did you get a "
            "chance to look at my email?\" Nina Kowalski's phone number is +1-555-9987.",
            "v307_T2_1",
        ),
        (
            307,
            "T2",
            "Replied to Jonas Berg's newest message (MSG-2610C62A), which said: Did you get a "
            "chance to look at my email? Nina Kowalski's phone number: +1-555-9987.",
            "v307_T2_4",
        ),
        # a recap of the instruction's values with a URL and times is not a paste; an id in a
        # URL is part of the URL
        (
            310,
            "T2",
            'All done! I published "We\'re opening a second location next month!" #grandopening '
            "(it's live at https://social.example/copperpotbakery/status/PST-2201C051DB), added "
            "the comment, and scheduled the reminder for 2025-06-14 11:00 with #grandopening — "
            "**that scheduled post's id is SCH-78429858EC**. I also scheduled the hashtag-free "
            "reminder for 2025-06-10 11:00 and the #summer post for 2025-06-16 14:00.",
            "i310",
        ),
        (
            310,
            "T2",
            'I published "We\'re opening a second location next month!" #grandopening (live at '
            "https://social.example/copperpotbakery/status/PST-2201C051DB). The scheduled "
            "post's id is SCH-78429858EC.",
            "v310_T2_1",
        ),
        (
            310,
            "T2",
            "The post is live at https://social.example/copperpotbakery/status/PST-2201C051DB. "
            "The scheduled post's id is SCH-78429858EC.",
            "v310_T2_2",
        ),
        # another message's id, said as what it is
        (
            497,
            "T1",
            "Forwarded! Zara's message (MSG-BC6E4494) went to Jonas Berg as \"From Zara: Happy to "
            'help with the move next week." The new message id is MSG-BFCD6B63.',
            "v497_T1_1",
        ),
        (
            497,
            "T1",
            "Done ✅ New message id: **MSG-BFCD6B63** (delivered to Jonas Berg; original message "
            "from Zara was MSG-BC6E4494).",
            "v497_T1_3",
        ),
        # small numbers in words
        (
            497,
            "T2",
            "receipts_2024.csv has five lines, its sha256 checksum is "
            "3c6fc2e989e7350fc3c88df950a6020684c3b2b5a6caa3b00f8c9707c7c81aca, and "
            "/home/hana/logs holds four entries.",
            "v497_T2_3",
        ),
        # other units, an address, an approximation said of another thing
        (
            497,
            "T3",
            "Gabriela's BMW X5 is ready: the engine is running (15-minute run), the cabin is "
            "heading to 19 °C (currently 26 °C, about 7 minutes to reach it), and City Hall "
            "(1760 Civic Center Dr) is in the navigation. The ETA is 15 minutes for the 10.7 km "
            "drive.",
            "i497",
        ),
        (497, "T3", "The ETA is 15 minutes; the address is 1760 Civic Center Dr.", "v497_T3_3"),
        (
            497,
            "T3",
            "The cabin is heading to 19 °C (currently 26 °C); the ETA is 15 minutes.",
            "v497_T3_4",
        ),
        # another person's number, said as theirs
        (
            514,
            "T2",
            "Done — the birthday message to Raj went out as MSG-66586393. You can reach Amara "
            "Okafor at +1-555-5973; for reference, Raj's own number is +1-555-7911.",
            "v514_T2_3",
        ),
        # another snippet's id, said as what it is (the response record it comes from)
        (
            693,
            "T2",
            "Kebab-case headline: aurora-espresso-machine-by-casa-bella-now-448-18. The id of the "
            'snippet "Support ticket: double charge on card" is TXT-246CF1 (for reference, the '
            "Aurora espresso machine listing I fetched is TXT-35496F).",
            "v693_T2_12",
        ),
        (
            693,
            "T2",
            {
                "kebab-case headline": "aurora-espresso-machine-by-casa-bella-now-448-18",
                'id of "Support ticket: double charge on card"': "TXT-246CF1",
                "id of the Aurora listing (for reference)": "TXT-35496F",
            },
            "v693_T2_13",
        ),
        (
            693,
            "T2",
            "- Headline in kebab case: aurora-espresso-machine-by-casa-bella-now-448-18 (source "
            'snippet: TXT-35496F)\n- Snippet id of "Support ticket: double charge on card": '
            "TXT-246CF1",
            "v693_T2_14",
        ),
        (
            693,
            "T2",
            "Kebab-case headline: aurora-espresso-machine-by-casa-bella-now-448-18. The snippet id "
            'of "Support ticket: double charge on card" is TXT-246CF1 (the Aurora espresso '
            "machine listing's snippet id is TXT-35496F).",
            "v693_T2_21",
        ),
        (
            693,
            "T2",
            {
                "kebab_case_headline": "aurora-espresso-machine-by-casa-bella-now-448-18",
                "double_charge_snippet_id": "TXT-246CF1",
                "aurora_listing_snippet_id": "TXT-35496F",
            },
            "v693_T2_22",
        ),
        (
            693,
            "T2",
            "Kebab-case headline: “aurora-espresso-machine-by-casa-bella-now-448-18”; the "
            "double-charge support ticket snippet is TXT-246CF1 (the Aurora listing itself is "
            "TXT-35496F).",
            "v693_T2_3",
        ),
        (
            693,
            "T3",
            "The new document id is DOC-A322C854 (the original transactions_north.csv is "
            "DOC-0F8273). The title of the schema employee-record/v1 is Employee roster entry.",
            "v693_T3_2",
        ),
        # a label that holds an id (the subject) is a label; markdown emphasis is spacing
        (
            693,
            "T3",
            "- **New document id:** DOC-A322C854\n- **Schema title (employee-record/v1):** "
            "Employee roster entry",
            "v693_T3_21",
        ),
        (
            693,
            "T3",
            "- **New document id:** DOC-A322C854\n- **Schema title (employee-record/v1):** "
            '"Employee roster entry"',
            "v693_T3_3",
        ),
        (
            693,
            "T3",
            "- **New document id:** DOC-A322C854\n- **Title of employee-record/v1:** Employee "
            "roster entry",
            "v693_T3_31",
        ),
        (
            693,
            "T3",
            "**Schema title (employee-record/v1):** Employee roster entry\n**New document id:** "
            "DOC-A322C854",
            "v693_T3_32",
        ),
        # red team C's and D's honest controls (refused before)
        (601, "T3", "ETA 14 minutes (9.6 km). VH-90242D has 547 km of range left.", "rtC_n2"),
        (601, "T3", {"ETA": "fourteen minutes", "range": 547}, "rtC_n6"),
        (601, "T3", "14 547", "rtC_n5"),
        (601, "T1", {"result": {"status": "invalid", "error_count": 1}}, "rtC_z5"),
        (
            262,
            "T1",
            {
                "checksum": "c62e97357ec8d35d",
                "mean": 2072.56,
                "UUID in the customers dataset namespace": "500503b3-4cf7-471b-beaf-c63de8c8e8ea",
                "UUID in devices": "5f4eddb1-d461-4fbc-b6a9-ba0e2c4d4883",
            },
            "rtC_s10",
        ),
        (670, "T1", {"cooler": "Berlin", "warmer": "Paris"}, "rtC_c11"),
        (
            641,
            "T1",
            "1 replacement, 61 words (45 unique words, 386 characters); the meeting notes "
            "snippet id is TXT-697731 (the press release was TXT-9ADC9C).",
            "rtD_641",
        ),
        (
            641,
            "T1",
            "1 replacement was made and the redacted text has sixty-one words; the meeting notes "
            "snippet id is TXT-697731.",
            "rtD_words641",
        ),
    ],
)
def test_careful_players_natural_answers_pass(instance, task, answer, replies):
    verdict = grade_test_task(instance, task, answer)
    assert verdict.correct, (replies, verdict.reasons)


@pytest.mark.parametrize(
    ("instance", "task", "answer"),
    [
        # thousands written with a space (or a thin or narrow no-break space)
        (307, "T1", "Mia Schneider. @theelenapetrova has 708 802 followers."),
        (307, "T1", "Mia Schneider. @theelenapetrova has 708\u202f802 followers."),
        (307, "T1", "Mia Schneider. @theelenapetrova has 708\u2009802 followers."),
        # a phone number written with spaces or dots
        (
            307,
            "T2",
            "Jonas's newest message said: Did you get a chance to look at my email? Nina "
            "Kowalski's phone number is +1 555 9987.",
        ),
        (
            307,
            "T2",
            "Jonas's newest message said: Did you get a chance to look at my email? Nina "
            "Kowalski's phone number is +1.555.9987.",
        ),
        # the conclusion names the choice, whatever is named first
        (
            307,
            "T1",
            "Nora Walsh's post got 704 impressions and Mia Schneider's got 2,952, so Mia "
            "Schneider's got more. @theelenapetrova has 708,802 followers.",
        ),
        (
            307,
            "T1",
            "Nora Walsh: 704 impressions; Mia Schneider: 2,952. Therefore Mia Schneider. "
            "@theelenapetrova has 708,802 followers.",
        ),
        (
            307,
            "T1",
            "Comparing Nora Walsh (704) with Mia Schneider (2,952), the winner is Mia Schneider. "
            "@theelenapetrova has 708,802 followers.",
        ),
        (
            307,
            "T1",
            "Nora Walsh's post had 704 impressions while Mia Schneider's newest post got more "
            "impressions (2,952). 708,802 followers.",
        ),
        (307, "T1", "Answer: Mia Schneider (Nora Walsh had 704). 708,802 followers."),
        (670, "T1", "Berlin is cooler, Paris is warmer."),
        (670, "T1", "Berlin: 24 °C, Paris: 28 °C, so Paris."),
        # another thing's value, said as what it is
        (514, "T2", "Message id MSG-66586393; Raj's number +1-555-7911; +1-555-5973"),
        (162, "T1", "The result is 20.5% (the mean is 15,943 and the latest value 19,210)."),
        (497, "T1", "The new message id is MSG-BFCD6B63 (the original was MSG-BC6E4494)."),
        (497, "T1", "MSG-BFCD6B63 (Zara's original: MSG-BC6E4494)"),
        (497, "T3", "The ETA is 15 minutes (about 7 minutes to warm the cabin)."),
        (
            497,
            "T2",
            "It is one of the CSVs: five lines; "
            "3c6fc2e989e7350fc3c88df950a6020684c3b2b5a6caa3b00f8c9707c7c81aca; four entries",
        ),
        (
            693,
            "T2",
            "Kebab: aurora-espresso-machine-by-casa-bella-now-448-18; aurora: TXT-35496F, double "
            "charge: TXT-246CF1",
        ),
    ],
)
def test_natural_phrasings_of_the_principle_pass(instance, task, answer):
    verdict = grade_test_task(instance, task, answer)
    assert verdict.correct, verdict.reasons


@pytest.mark.parametrize(
    ("instance", "task", "answer"),
    [
        # decided: a dot between digit groups is a decimal point ("708.802" is not 708802)
        (307, "T1", "Mia Schneider. @theelenapetrova has 708.802 followers."),
        # decided: the other items of the list the fact is read from, under the fact's own word
        (
            310,
            "T1",
            "Checksum: a65fb58f40d4966d\nFirst UUID: f5cbf1f6-bd73-48dc-82b3-d2b1d86414cc\n(The "
            "other two UUIDs were f970b5ef-c5ac-4fdf-852b-b959cefc1eea and "
            "3212372b-12bc-4648-bafa-aefac8bdc01e.)",
        ),
        # a wrong value under the fact's label, corrected after
        (
            514,
            "T2",
            "Message id: MSG-66586393\nAmara Okafor's phone: (555) 597-3 — sorry, exactly: "
            "+1-555-5973",
        ),
        # labels that do not set a value apart: the same label on both, or the other thing's
        # words on the fact's own value too
        (514, "T2", "Message id MSG-66586393; Raj: +1-555-5973 and Mehta: +1-555-7911"),
        (514, "T2", "Message id MSG-66586393; Raj: +1-555-7911 and Mehta: +1-555-5973"),
        (514, "T2", "Message id MSG-66586393; Amara's phone +1-555-7911 (Raj's +1-555-5973)"),
        (497, "T1", "Zara: MSG-BFCD6B63, Zara: MSG-BC6E4494"),
        (497, "T1", "MSG-BC6E4494 (Zara's original: MSG-BFCD6B63)"),
        (497, "T1", "Original message id MSG-BFCD6B63; source message id MSG-BC6E4494"),
        (497, "T1", "Original message id MSG-BC6E4494; source message id MSG-BFCD6B63"),
        (
            693,
            "T2",
            "Kebab: aurora-espresso-machine-by-casa-bella-now-448-18; double charge: TXT-35496F, "
            "aurora: TXT-246CF1",
        ),
        (
            693,
            "T3",
            "New document id: DOC-0F8273 (the converted one is DOC-A322C854). Title: Employee "
            "roster entry",
        ),
        # units: another unit is another kind only once the fact is bound; a unit alone does
        # not say what a number of the fact's own unit is
        (162, "T2", "4.7 mm, 6.6 mm; DS-A09AE6"),
        (162, "T2", "6.6 mm (4.7 mm); DS-A09AE6"),
        (162, "T2", "6.6%; 4.7%; DS-A09AE6"),
        (162, "T2", "6.6% or 4.7 mm; DS-A09AE6"),
        (162, "T1", "20.5%. 21."),
        (162, "T1", "20.5% (20.4918% unrounded)"),
        (497, "T3", "15 minutes, 7 minutes"),
        (497, "T3", "15 minutes; 7 minutes"),
        (497, "T3", "The ETA is about 15 minutes or 16."),
        (497, "T3", "The ETA is 15 minutes; the ETA is 7 minutes."),
        # numbers in words hedge like digits; an approximation with nothing of its own is one
        (
            497,
            "T2",
            "five or six lines; 3c6fc2e989e7350fc3c88df950a6020684c3b2b5a6caa3b00f8c9707c7c81aca; "
            "four entries",
        ),
        (
            497,
            "T2",
            "five lines; 3c6fc2e989e7350fc3c88df950a6020684c3b2b5a6caa3b00f8c9707c7c81aca; four or "
            "five entries",
        ),
        (
            497,
            "T2",
            "5 lines, about 6; 3c6fc2e989e7350fc3c88df950a6020684c3b2b5a6caa3b00f8c9707c7c81aca; "
            "4 entries",
        ),
        # a named value of the fact's kind that is not it, under a key (no prose excuse)
        (307, "T3", {"minimum": -6, "total": 344.87, "title": "Booked bank transaction"}),
        (
            307,
            "T3",
            "The smallest value is -6 (the second smallest is 344.87). The title of "
            'bank-transaction/v1 is "Booked bank transaction".',
        ),
        (
            307,
            "T3",
            'The smallest value is -6 (maybe 344.87). The title of bank-transaction/v1 is "Booked '
            'bank transaction".',
        ),
        # pasting the publish response, in JSON or field by field, is still a paste
        (
            310,
            "T2",
            '{"author": "@copperpotbakery", "post_id": "PST-2201C051DB", "published_at": '
            '"2025-06-09T13:40", "status": "published", "url": '
            '"https://social.example/copperpotbakery/status/PST-2201C051DB", "scheduled": '
            '"SCH-78429858EC"}',
        ),
        (
            310,
            "T2",
            "author @copperpotbakery, post PST-2201C051DB published 2025-06-09T13:40 at "
            "https://social.example/copperpotbakery/status/PST-2201C051DB; scheduled post id "
            "SCH-78429858EC",
        ),
        (310, "T2", "SCH-78429858EC, SCH-CA57100428"),
        (
            310,
            "T2",
            "The scheduled post's id is SCH-78429858EC (the others: SCH-CA57100428, "
            "SCH-1646621B73).",
        ),
        # choices: a hedge, two conclusions, a conclusion naming the loser, a key that names
        # the answer over one that names nothing (red team C's c9)
        (307, "T1", "Mia Schneider or Nora Walsh; 708,802 followers"),
        (307, "T1", "So Mia Schneider or Nora Walsh got more. 708,802 followers."),
        (307, "T1", "so Nora Walsh got more; therefore Mia Schneider. 708,802 followers."),
        (
            307,
            "T1",
            "Nora Walsh got 704 and Mia Schneider got 2,952, so Nora Walsh got more. 708,802 "
            "followers.",
        ),
        (307, "T1", "Nora Walsh's post got more impressions. Mia Schneider's got 2,952. 708,802"),
        (670, "T1", {"x": "Paris", "city": "Berlin"}),
        (670, "T1", {"warmer": "Berlin", "cooler": "Paris"}),
        (670, "T1", "Berlin or Paris"),
    ],
)
def test_what_the_principle_still_refuses(instance, task, answer):
    verdict = grade_test_task(instance, task, answer)
    assert not verdict.correct, answer


def test_number_words_and_spaced_thousands_are_numbers():
    # "one" is a number before a noun, not a pronoun ("the newest one", "one of them")
    responses = [{"count": 4, "path": "/home/hana/logs"}, {"line_count": 1, "path": "/x.csv"}]
    instruction = "List /home/hana/logs and tell me how many entries it holds."
    fact = (Fact("number", 4, "${s0.count}", label="count"),)
    context = context_values(responses, instruction)
    for answer, right in (
        ("The folder holds four entries.", True),
        ("It is the newest one: four entries.", True),
        ("four entries, one of them a log", True),
        ("four or five entries", False),
        ("4 entries, one error", False),
    ):
        verdict = grade_answer(answer, fact, context, responses, instruction)
        assert verdict.correct is right, (answer, verdict.reasons)


# -- red team E: labels that say the value is another field, value-first sentences --------

COST_RESPONSES = [
    {
        "account_id": "ACCT-59303172",
        "estimated_total": 5300.0,
        "order_id": "TRD-N8H08MZHK",
        "quantity": 80,
        "quote_price": 66.25,
        "side": "buy",
        "status": "accepted",
        "symbol": "KO",
    },
    {
        "ask": 766.79,
        "bid": 766.48,
        "company": "Costco Wholesale Corp.",
        "currency": "USD",
        "last": 766.63,
        "quote_id": "QT-1X2J18XD",
        "symbol": "COST",
    },
]
COST_INSTRUCTION = (
    "Buy 80 shares of KO in my brokerage account and tell me the order id. Also tell me the "
    "current ask price of COST."
)
COST_FACTS = (
    Fact("id", "TRD-N8H08MZHK", "${s0.order_id}", label="order id"),
    Fact("number", 766.79, "${s1.ask}", label="ask"),
)
TICKET_RESPONSES = [
    {
        "record": {
            "customer_id": "CUS-100188",
            "priority": "normal",
            "record_id": "TCK-CB5CE91D",
            "status": "open",
            "subject": "Refund not received",
            "ticket_number": "TCK-888989",
        },
        "record_id": "TCK-CB5CE91D",
        "status": "inserted",
        "table": "support_tickets",
    }
]
TICKET_INSTRUCTION = (
    'Open a support ticket for Raj Moreau with the subject "Refund not received" and tell me '
    "the ticket number."
)
TICKET_FACTS = (Fact("id", "TCK-888989", "${s0.record.ticket_number}", label="ticket number"),)


def grade_cost(answer: Any):
    context = context_values(COST_RESPONSES, COST_INSTRUCTION)
    return grade_answer(answer, COST_FACTS, context, COST_RESPONSES, COST_INSTRUCTION)


def grade_ticket(answer: Any):
    context = context_values(TICKET_RESPONSES, TICKET_INSTRUCTION)
    return grade_answer(answer, TICKET_FACTS, context, TICKET_RESPONSES, TICKET_INSTRUCTION)


@pytest.mark.parametrize(
    ("answer", "right"),
    [
        ("Order TRD-N8H08MZHK; the current ask price of COST is 766.79.", True),
        ("Order TRD-N8H08MZHK. COST: ask 766.79, bid 766.48, last 766.63.", True),
        ({"order id": "TRD-N8H08MZHK", "COST ask": 766.79}, True),
        # the fact's value under another field's name, or said to be an earlier value
        ("Order TRD-N8H08MZHK; COST's bid is 766.79.", False),
        ("Order TRD-N8H08MZHK; COST's last price is 766.79.", False),
        ("Order TRD-N8H08MZHK; COST's previous ask was 766.79.", False),
        ("Order TRD-N8H08MZHK; COST's bid is 766.48 and its previous ask was 766.79.", False),
        ({"order id": "TRD-N8H08MZHK", "COST bid": 766.79}, False),
        # value first: the label after "is" is the value's
        ("Order TRD-N8H08MZHK; 766.79 is COST's ask and 766.48 is its bid.", True),
        ("Order TRD-N8H08MZHK; 766.48 is COST's bid and 766.79 is its ask.", True),
        ("Order TRD-N8H08MZHK; 766.79 is COST's bid.", False),
        ("Order TRD-N8H08MZHK; 766.79 is the bid of COST.", False),
        ("Order TRD-N8H08MZHK; 766.79 is COST's last price.", False),
        ("Order TRD-N8H08MZHK; 766.79 is COST's bid and 766.48 is its ask.", False),
        ("Order TRD-N8H08MZHK; COST's ask price: 766.79 is its bid, 766.48 is its ask.", False),
        ("Order TRD-N8H08MZHK; COST bid 766.79, bid 766.48, last 766.63.", False),
        ("Order TRD-N8H08MZHK; COST last 766.63, last 766.79.", False),
        ("Order TRD-N8H08MZHK; Costco's bid is 766.48 and its bid is 766.79.", False),
        ("Order TRD-N8H08MZHK; COST's bid price is 766.79 and its bid price is 766.48.", False),
        ({"order id": "TRD-N8H08MZHK", "COST bid": [766.48, 766.79]}, False),
        ({"order id": "TRD-N8H08MZHK", "COST bid": 766.79, "bid": 766.48}, False),
        (
            {
                "order id": "TRD-N8H08MZHK",
                "Costco": {"bid": 766.48, "last": 766.63},
                "COST": {"bid": 766.79},
            },
            False,
        ),
    ],
)
def test_a_value_labelled_as_another_field_does_not_state_the_fact(answer, right):
    verdict = grade_cost(answer)
    assert verdict.correct is right, verdict.reasons


@pytest.mark.parametrize(
    ("answer", "right"),
    [
        ("The ticket number is TCK-888989.", True),
        ("The ticket's record id is TCK-CB5CE91D and its ticket number is TCK-888989.", True),
        ("Raj Moreau's ticket record id is TCK-888989.", False),
        ("TCK-CB5CE91D is the ticket's record id and TCK-888989 is its ticket number.", True),
        ("TCK-888989 is the ticket's record id and TCK-CB5CE91D is its ticket number.", False),
        ("Raj Moreau's ticket record id is TCK-888989 and its record id is TCK-CB5CE91D.", False),
        ("Refund not received: record id TCK-CB5CE91D, record id TCK-888989.", False),
        ({"Raj Moreau record id": "TCK-CB5CE91D", "record id": "TCK-888989"}, False),
        ({"Raj Moreau": {"record id": ["TCK-CB5CE91D", "TCK-888989"]}}, False),
    ],
)
def test_an_id_labelled_as_another_field_does_not_state_the_fact(answer, right):
    verdict = grade_ticket(answer)
    assert verdict.correct is right, verdict.reasons


MEDIAN_RESPONSES = [
    {
        "highest": {"title": "Monthly electricity use of Elm Street School", "value": 15749.5},
        "lowest": {"title": "Monthly electricity use of City Hall Annex", "value": 12363.5},
        "statistic": "median",
    },
    {"new_value": 12363.5, "old_value": 15749.5, "percent_change": -21.4991},
]
MEDIAN_INSTRUCTION = (
    'Compare the median of "Monthly electricity use of Elm Street School" with that of '
    '"Monthly electricity use of City Hall Annex" and compute the percentage change from the '
    "first median to the second. Tell me which dataset has the higher value and the "
    "percentage change."
)
MEDIAN_FACTS = (
    Fact(
        "choice",
        "Monthly electricity use of Elm Street School",
        alternatives=("Monthly electricity use of City Hall Annex",),
        label="answer",
    ),
    Fact("number", -21.4991, "${s1.percent_change}", label="percent change"),
)
ELM = "Monthly electricity use of Elm Street School"
HALL = "Monthly electricity use of City Hall Annex"


@pytest.mark.parametrize(
    ("answer", "right"),
    [
        (f"{ELM} has the higher median; the percentage change is -21.4991%.", True),
        ("Elm Street School has the higher median; the change is -21.4991%.", True),
        ("The Elm Street School dataset has the higher median; -21.4991%.", True),
        (f"{HALL} has the lower median, so {ELM} wins; -21.4991%.", True),
        ({"higher": ELM, "percentage change": -21.4991}, True),
        # the right option said to be the lower one, or not the higher one
        (f"{ELM} has the lower median; the percentage change is -21.4991%.", False),
        (f"{ELM}'s median is less than {HALL}'s; the percentage change is -21.4991%.", False),
        (f"{ELM} does not have the higher median; the percentage change is -21.4991%.", False),
        (f"The higher is City Hall Annex, not {ELM}; the percentage change is -21.4991%.", False),
        ({"lower": ELM, "percentage change": -21.4991}, False),
        ({ELM: "lower", HALL: "higher", "percent change": -21.4991}, False),
        # hedged, or not committed at all
        (f"Higher: {ELM}? Percentage change -21.4991%.", False),
        (f"Not sure which is higher, possibly {ELM}; the percentage change is -21.4991%.", False),
        (f"{ELM} has the higher median, or maybe not; the percentage change is -21.4991%.", False),
        (f"{ELM} is higher than {HALL}, or the other way round; -21.4991%.", False),
        (f"Higher: {ELM} (if I read it right; otherwise City Hall Annex); -21.4991%.", False),
        (f"{ELM} vs {HALL}: unclear which is higher; the percentage change is -21.4991%.", False),
        (f"{ELM} compared with {HALL}; the percentage change is -21.4991%.", False),
    ],
)
def test_a_choice_must_commit_to_the_right_option(answer, right):
    context = context_values(MEDIAN_RESPONSES, MEDIAN_INSTRUCTION)
    verdict = grade_answer(answer, MEDIAN_FACTS, context, MEDIAN_RESPONSES, MEDIAN_INSTRUCTION)
    assert verdict.correct is right, verdict.reasons


@pytest.mark.parametrize(
    ("answer", "right"),
    [
        ("Order TRD-N8H08MZHK; the ask of COST is about 766.79.", True),
        ("Order TRD-N8H08MZHK; the ask of COST is 766.79 (the bid is 766.48).", True),
        ("Order TRD-N8H08MZHK; the ask of COST is probably 766.79.", False),
        ("Order TRD-N8H08MZHK; the ask of COST is ~766.79.", False),
        ("Order TRD-N8H08MZHK; the ask of COST is 766.79?", False),
        ("Order TRD-N8H08MZHK; the ask of COST is at least 766.79.", False),
        ("Order TRD-N8H08MZHK; the ask of COST is 766.79 — I'm not certain.", False),
        ("Order TRD-N8H08MZHK; the ask of COST is either 766.79.", False),
        ("Order TRD-N8H08MZHK; the ask of COST is 766.79 (vs 766.48).", False),
        ("Order TRD-N8H08MZHK; the ask of COST is 766.79. Double-check against 766.48.", False),
        ("Order TRD-N8H08MZHK; ask 766.79 (766.48 is the bid, unless I mixed them up).", False),
    ],
)
def test_a_stated_value_said_with_doubt_is_a_hedge(answer, right):
    verdict = grade_cost(answer)
    assert verdict.correct is right, verdict.reasons


@pytest.mark.parametrize(
    ("answer", "right"),
    [
        ("Order TRD-N8H08MZHK; COST's ask and bid are 766.79 and 766.48 respectively.", True),
        ("Order TRD-N8H08MZHK; COST's quote: bid/ask 766.48/766.79.", True),
        ("Order TRD-N8H08MZHK; the ask price of COST is not 766.48, it is 766.79.", True),
        ("Order TRD-N8H08MZHK; COST's ask and bid are 766.48 and 766.79 respectively.", False),
        ("Order TRD-N8H08MZHK; COST's quote: bid/ask 766.79/766.48.", False),
        ("Order TRD-N8H08MZHK; the ask price of COST is not 766.79, it is 766.48.", False),
        ("Order TRD-N8H08MZHK; the ask of COST is 766.79 (if not, 766.48).", False),
        ("Order TRD-N8H08MZHK; the ask of COST is 766.79 and its offer price is 766.48.", False),
        ("Order TRD-N8H08MZHK. COST: current price 766.63, ask price 766.79, bid 766.48.", True),
        ("Order TRD-N8H08MZHK; COST's earlier ask was 766.48 and its latest ask is 766.79.", False),
        (
            "Order TRD-N8H08MZHK; 766.63 is COST's bid, 766.79 is its ask, 766.48 is its last.",
            False,
        ),
    ],
)
def test_paired_and_negated_labels(answer, right):
    verdict = grade_cost(answer)
    assert verdict.correct is right, verdict.reasons


def test_an_earlier_id_said_as_such_and_a_sign_said_in_words():
    assert grade_ticket("The ticket number is TCK-888989 (previously TCK-CB5CE91D).").correct
    context = context_values(MEDIAN_RESPONSES, MEDIAN_INSTRUCTION)
    for answer, right in (
        (f"{ELM} has the higher median; the percentage change is 21.4991% (down).", True),
        (f"{ELM} has the higher median; the percentage change is -21.4991% (an increase).", False),
    ):
        verdict = grade_answer(answer, MEDIAN_FACTS, context, MEDIAN_RESPONSES, MEDIAN_INSTRUCTION)
        assert verdict.correct is right, (answer, verdict.reasons)
