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
from typing import Any

import pytest

from asynctool_env.core.facts import (
    Fact,
    _id_tokens,
    _same_shape,
    _shape,
    answer_length_limit,
    context_values,
    extract_numbers,
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
    for answer in ("250 EUR is 279.67 USD.", "279.67 USD (250 EUR at 1.118662)", "279.67"):
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
        ("VER-2ECCE1 (previous: VER-B2DDB9)", False),
        ("new version VER-2ECCE1, previous version VER-B2DDB9", False),
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
    """Each fact's label, with "first"/"second" for labels several facts share."""
    counts = Counter(fact.label for fact in facts)
    seen: Counter[str] = Counter()
    keys = []
    for fact in facts:
        if counts[fact.label] > 1:
            keys.append(
                f"{['first', 'second', 'third', 'fourth', 'fifth'][seen[fact.label]]} {fact.label}"
            )
            seen[fact.label] += 1
        else:
            keys.append(fact.label)
    return keys


def _honest(facts) -> dict[str, Any]:
    keys = _keys(facts)
    values = [_shown(fact.value) for fact in facts]
    return {
        "sentence": "Here is what you asked for: "
        + ", and ".join(f"the {key} is {value}" for key, value in zip(keys, values, strict=True))
        + ".",
        "bare": "; ".join(values),
        "reversed": "; ".join(reversed(values)),
        "lines": "\n".join(f"{key}: {value}" for key, value in zip(keys, values, strict=True)),
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
        ) -> None:
            verdict = grade_answer(answer, facts, context, responses)
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
    return results


@pytest.mark.parametrize(
    "style", ["sentence", "bare", "reversed", "lines", "json", "python", "object"]
)
def test_battery_the_gold_answer_in_each_style_passes(battery, style):
    results = battery[f"honest {style}"]
    assert len(results) >= 150
    wrong = [(task, answer, reasons) for task, answer, ok, reasons in results if not ok]
    assert not wrong, wrong[:5]


@pytest.mark.parametrize("kind", ["hedge", "spray", "swap", "paste"])
def test_battery_cheats_fail(battery, kind):
    results = battery[kind]
    assert len(results) >= 100
    credited = [(task, answer) for task, answer, ok, _ in results if ok]
    assert not credited, credited[:5]
