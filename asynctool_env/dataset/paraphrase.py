"""Optional stage: paraphrase task instructions with an OpenAI-compatible model.

The default pipeline needs no model: templates write the instructions. When a model is
configured (``asynctool data paraphrase --model ... [--base-url ...]``), each distinct
instruction is rewritten once, and the rewrite is kept only if it still carries every
*literal* of the original (quoted strings, ids, dates, numbers, e-mail addresses): a
paraphrase that drops or alters ``"Road trip"`` or ``CT-4F2A91`` would make the gold calls
unreachable, so it is rejected and the template's wording stays. Gold calls, answers and ids
never change, only the wording; each paraphrased task records its original instruction in
``metadata["original_instruction"]``.

Any client with ``client.chat.completions.create(model=..., messages=...)`` works: the
``openai`` package against OpenAI, vLLM, Ollama or a llama.cpp server.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from asynctool_env.core.task import Instance, Task

SYSTEM_PROMPT = (
    "You rewrite task instructions for a benchmark. Rewrite the user's instruction so it "
    "reads naturally and differently, as a person might ask it. Keep its meaning and every "
    "detail exactly: every quoted string, id, name, date, number and e-mail address must "
    "appear unchanged. Do not add steps or information. Reply with the rewritten "
    "instruction only."
)

_LITERALS = re.compile(
    r'"[^"]+"'  # quoted strings
    r"|[\w.+-]+@[\w-]+\.[\w.]+"  # e-mail addresses
    r"|\b[\w-]*\d[\w:./-]*"  # anything with a digit: ids, dates, numbers, times
    r"|\b[A-Z]{2,}[\w-]*"  # upper-case codes
)


def literals(text: str) -> list[str]:
    """The parts of an instruction a paraphrase must keep verbatim.

    >>> literals('Send "Hi there" to CT-4F2A91 on 2025-07-18 at 10:30.')
    ['"Hi there"', 'CT-4F2A91', '2025-07-18', '10:30.']
    """
    return _LITERALS.findall(text)


def keeps_literals(original: str, paraphrase: str) -> bool:
    """True when every literal of ``original`` appears in ``paraphrase``."""
    return all(literal.rstrip(".,;:") in paraphrase for literal in literals(original))


@dataclass
class ParaphraseReport:
    """How many instructions were rewritten, kept, or rejected (and why)."""

    asked: int = 0
    kept: int = 0
    rejected: int = 0
    failed: int = 0
    reasons: list[str] = field(default_factory=list)


def _ask(client: Any, model: str, instruction: str, temperature: float) -> str:
    response = client.chat.completions.create(
        model=model,
        temperature=temperature,
        messages=[
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": instruction},
        ],
    )
    content = response.choices[0].message.content
    return (content or "").strip()


def paraphrase_instances(
    instances: Sequence[Instance],
    client: Any,
    model: str,
    *,
    temperature: float = 0.7,
) -> tuple[list[Instance], ParaphraseReport]:
    """Rewrite the instruction of every distinct task (see the module docstring).

    Errors from the client (network, rate limits) are counted and the task keeps its
    wording; the stage never fails the whole file.
    """
    report = ParaphraseReport()
    rewritten: dict[str, Task] = {}
    for instance in instances:
        for task in instance.tasks:
            if task.task_id in rewritten:
                continue
            report.asked += 1
            try:
                text = _ask(client, model, task.instruction, temperature)
            except Exception as error:  # any client failure keeps the original wording
                report.failed += 1
                report.reasons.append(f"{task.task_id}: {type(error).__name__}: {error}")
                rewritten[task.task_id] = task
                continue
            if not text or not keeps_literals(task.instruction, text):
                report.rejected += 1
                report.reasons.append(f"{task.task_id}: the paraphrase lost a literal")
                rewritten[task.task_id] = task
                continue
            report.kept += 1
            rewritten[task.task_id] = replace(
                task,
                instruction=text,
                metadata={**task.metadata, "original_instruction": task.instruction},
            )
    result = [
        replace(instance, tasks=tuple(rewritten[task.task_id] for task in instance.tasks))
        for instance in instances
    ]
    return result, report


def openai_client(base_url: str | None = None, api_key: str | None = None) -> Any:
    """An ``openai.OpenAI`` client (needs the ``llm`` extra)."""
    try:
        import openai
    except ImportError as error:  # pragma: no cover - depends on the install
        raise RuntimeError(
            "paraphrasing needs the openai package: pip install 'asynctool-env[llm]'"
        ) from error
    return openai.OpenAI(base_url=base_url, api_key=api_key or "not-needed")
