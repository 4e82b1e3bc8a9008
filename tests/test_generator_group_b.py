"""Knowable tasks in the data_format, data_generation, data_management, filesystem,
number_operations and string_manipulation scenarios.

The knowability audit (:mod:`asynctool_env.dataset.audit`) finds tasks a careful model cannot
get right; the build drops them. These tests pin what the templates and evolution rules of
the six scenarios do so that the audit finds nothing: follow-ups name what they follow and a
read asks for a fact that lands in the answer, side steps too, writes ask for nothing, and
no argument value is stated nowhere.
"""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pytest

from asynctool_env.core.facts import normalize_text
from asynctool_env.core.references import referenced_steps, resolve
from asynctool_env.core.resolver import task_facts
from asynctool_env.core.scenario import build_task, build_task_from_spec
from asynctool_env.dataset.audit import audit_task, audit_tasks
from asynctool_env.dataset.build import BuildReport, tasks_for_world
from asynctool_env.dataset.evolution import add_follow_up, add_side_step
from asynctool_env.scenarios import SCENARIOS, TOOLS

GROUP_B = (
    "data_format",
    "data_generation",
    "data_management",
    "filesystem",
    "number_operations",
    "string_manipulation",
)
WORLDS = range(6)
#: Words that point at something without naming it ("that document", "those values").
VAGUE = re.compile(r"\b(that|those|these|this) (document|dataset|text|table|listing|values?)\b")


def _only_follow_up(scenario_name: str, after_tool: str):
    scenario = SCENARIOS[scenario_name]
    rules = tuple(rule for rule in scenario.follow_ups if rule.after_tool == after_tool)
    assert rules, f"{scenario_name} has no follow-up after {after_tool}"
    return replace(scenario, follow_ups=rules)


def _followed(scenario_name: str, template: str, after_tool: str, world_seed: int, rng_seed: int):
    """(seed spec, evolved spec or None, world) with only the follow-ups after ``after_tool``."""
    scenario = _only_follow_up(scenario_name, after_tool)
    world = scenario.world(world_seed)
    spec = scenario.templates[template](world, np.random.default_rng(world_seed))
    return spec, add_follow_up(spec, scenario, world, np.random.default_rng(rng_seed)), world


def test_hash_follow_up_asks_for_the_hash_and_the_answer_holds_it():
    scenario = SCENARIOS["data_format"]
    algorithms = set()
    for world_seed in WORLDS:
        for rng_seed in range(4):
            spec, evolved, world = _followed(
                "data_format", "field_summary", "fetch_data_document", world_seed, rng_seed
            )
            assert evolved is not None
            document_id = spec.steps[0].arguments["document_id"]
            new = evolved.steps[-1]
            assert new.tool == "compute_document_hash"
            algorithm = new.arguments["algorithm"]
            algorithms.add(algorithm)
            sentence = evolved.instruction[len(spec.instruction) :]
            # The sentence names the document by the id the instruction states, and asks.
            assert document_id in sentence, sentence
            assert f"{algorithm} hash" in sentence and "tell me that hash" in sentence
            assert evolved.answer == f"{spec.answer}; ${{s{len(spec.steps)}.digest}}"
            task = build_task_from_spec(scenario, evolved, world_seed, world=world)
            digest = task.steps[-1].expected_response["digest"]
            assert digest in {fact.value for fact in task_facts(task)}
            assert digest in str(task.expected_answer)
            assert audit_task(task) == []
    assert "sha512" in algorithms


def test_a_fetch_by_a_looked_up_id_is_not_followed():
    # convert_and_hash fetches by the id its find step returns: the rule could not say which
    # document it hashes, so it declines (the operator then finds nothing to add).
    for world_seed in WORLDS:
        _, evolved, _ = _followed(
            "data_format", "convert_and_hash", "fetch_data_document", world_seed, 0
        )
        assert evolved is None


def test_match_format_conversion_waits_for_the_lookup_of_a_format_the_instruction_hides():
    scenario = SCENARIOS["data_format"]
    for world_seed in WORLDS:
        task = build_task(scenario, "match_format", world_seed, np.random.default_rng(world_seed))
        model = task.steps[1]
        assert model.tool == "find_data_document"
        # The model document is named without its extension, and its format is stated
        # nowhere in the instruction: the conversion has to wait for the look-up.
        assert "." not in model.arguments["name"]
        target = model.expected_response["format"]
        assert not re.search(rf"\b{target}\b", task.instruction)
        convert = task.steps[3]
        assert convert.tool == "convert_data_format"
        assert convert.expected_arguments["target_format"] == target
        assert convert.depends_on == (1, 2)
        assert audit_task(task) == []


def test_validate_two_validations_answer_differently():
    scenario = SCENARIOS["data_format"]
    for world_seed in WORLDS:
        task = build_task(scenario, "validate_two", world_seed, np.random.default_rng(world_seed))
        first, second = (task.steps[i].expected_response for i in (4, 5))
        assert {k: v for k, v in first.items() if k != "schema_id"} != {
            k: v for k, v in second.items() if k != "schema_id"
        }
        assert "number of errors" in task.instruction
        assert "${s4.error_count}" in task.answer and "${s5.error_count}" in task.answer


@pytest.mark.parametrize(
    ("scenario_name", "template", "after_tool", "named"),
    [
        ("data_generation", "policy_password", "get_password_policy", "name"),
        ("data_generation", "dataset_summary", "start_test_dataset_build", "schema_name"),
        ("data_generation", "signup_batch", "generate_user_profiles", "locale"),
        ("data_management", "status_summary", "start_table_export", "table"),
        ("data_management", "new_paid_order", "insert_table_record", "table"),
        ("filesystem", "read_largest_match", "find_files_by_pattern", "directory"),
        ("filesystem", "backup_and_verify", "compute_file_checksum", "path"),
        ("number_operations", "monthly_correlation", "find_numeric_dataset", "name"),
        ("number_operations", "change_between_labels", "fetch_dataset_values", "dataset_id"),
        ("string_manipulation", "extract_from_snippet", "fetch_text_snippet", "snippet_id"),
    ],
)
def test_a_follow_up_sentence_names_its_referent(scenario_name, template, after_tool, named):
    applied = 0
    for world_seed in WORLDS:
        spec, evolved, _ = _followed(scenario_name, template, after_tool, world_seed, 2)
        if evolved is None:
            continue
        applied += 1
        new = evolved.steps[-1]
        followed = [spec.steps[i] for i in referenced_steps(new.arguments) | set(new.after)]
        assert any(step.tool == after_tool for step in followed)
        sentence = evolved.instruction[len(spec.instruction) :]
        value = next(step for step in followed if step.tool == after_tool).arguments[named]
        assert str(value) in sentence, (sentence, value)
        assert not VAGUE.search(sentence), sentence
    assert applied


def _rule_results(scenario_name: str):
    """Every follow-up and side step of the scenario applied alone to each template on a few
    worlds: (template, world seed, seed spec, evolved spec)."""
    scenario = SCENARIOS[scenario_name]
    for template, make_spec in sorted(scenario.templates.items()):
        for world_seed in range(3):
            world = scenario.world(world_seed)
            spec = make_spec(world, np.random.default_rng(world_seed))
            for rng_seed in range(3):
                for operator, rules, field in (
                    (add_follow_up, scenario.follow_ups, "follow_ups"),
                    (add_side_step, scenario.side_steps, "side_steps"),
                ):
                    for rule in rules:
                        only = replace(scenario, **{field: (rule,)})
                        evolved = operator(spec, only, world, np.random.default_rng(rng_seed))
                        if evolved is not None:
                            yield template, world_seed, spec, evolved


@pytest.mark.parametrize("scenario_name", GROUP_B)
def test_reads_added_by_evolution_ask_for_a_fact_and_writes_ask_for_none(scenario_name):
    scenario = SCENARIOS[scenario_name]
    reads = 0
    for template, world_seed, spec, evolved in _rule_results(scenario_name):
        index = len(evolved.steps) - 1
        step = evolved.steps[index]
        sentence = evolved.instruction[len(spec.instruction) :]
        asks = f"${{s{index}." in (evolved.answer or "")
        if TOOLS[step.tool].writes:
            assert not asks and "tell me" not in sentence, (template, sentence)
            continue
        reads += 1
        assert asks and "tell me" in sentence, (template, sentence)
        task = build_task_from_spec(
            scenario, evolved, world_seed, world=scenario.world(world_seed), template=template
        )
        # The value asked for is a fact of the answer (unless the instruction happens to
        # state it already, in which case stating it shows nothing).
        sources = {fact.source for fact in task_facts(task)}
        responses = [step.expected_response for step in task.steps]
        for match in re.finditer(r"\$\{s(\d+)[^}]*\}", task.answer):
            if int(match.group(1)) == index and match.group(0) not in sources:
                value = normalize_text(str(resolve(match.group(0), responses)))
                assert value in normalize_text(task.instruction), (template, match.group(0))
        assert audit_task(task) == [], (template, evolved.instruction)
    assert reads


@pytest.mark.parametrize("scenario_name", GROUP_B)
def test_side_steps_ask_in_words_for_the_fact_they_add(scenario_name):
    scenario = SCENARIOS[scenario_name]
    for rule in scenario.side_steps:
        for world_seed in range(4):
            world = scenario.world(world_seed)
            step, sentence, *fact = rule.side_step(world, np.random.default_rng(world_seed))
            if TOOLS[step.tool].writes:
                assert not fact or fact[0] is None
            else:
                assert fact and fact[0], rule.name
                assert "tell me" in sentence, sentence


def test_data_management_writes_only_stated_values():
    scenario = SCENARIOS["data_management"]
    for world_seed in WORLDS:
        restock = build_task(
            scenario, "restock_product", world_seed, np.random.default_rng(world_seed)
        )
        level = restock.steps[1].expected_arguments["changes"]["stock"]
        assert f"{level} units" in restock.instruction
        ticket = build_task(scenario, "open_ticket", world_seed, np.random.default_rng(world_seed))
        assert "employees table" in ticket.instruction
        for task in (restock, ticket):
            assert audit_task(task) == []


def test_filesystem_project_report_states_the_readme_path():
    scenario = SCENARIOS["filesystem"]
    for world_seed in WORLDS:
        task = build_task(scenario, "project_report", world_seed, np.random.default_rng(world_seed))
        assert task.steps[1].expected_arguments["path"] in task.instruction


@pytest.mark.parametrize("scenario_name", GROUP_B)
def test_every_template_and_evolved_variant_passes_the_audit(scenario_name):
    scenario = SCENARIOS[scenario_name]
    report = BuildReport()
    tasks = []
    for world in range(2):
        tasks += tasks_for_world(
            scenario,
            world,
            seed=2605,
            stream="test",
            variants_per_seed=5,
            report=report,
            replay=False,
        )
    # The build drops a task with a finding (and counts it); what it keeps must be clean.
    assert not getattr(report, "rejected_audit", None), report.rejections[:5]
    audit = audit_tasks(tasks)
    assert audit.clean, audit.findings[:5]
    templates = {task.metadata["template"] for task in tasks}
    assert templates == set(scenario.templates)
    assert sum(bool(task.metadata["operators"]) for task in tasks) >= len(scenario.templates)
