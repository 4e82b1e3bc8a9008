"""Instance files: JSONL (optionally gzipped), one instance per line.

Files hold one instance per line, in the schema of :class:`InstanceRecord` (pydantic, so a
bad line gives an error naming the file, the line and the field). Procedural instances
(``TaskBank``, ``InstanceGenerator``) are made by :mod:`asynctool_env.dataset.procedural`,
with the dataset's own generators; the names stay importable from here.
"""

from __future__ import annotations

import gzip
import io
import json
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import pydantic

from asynctool_env.core.facts import Fact
from asynctool_env.core.task import Instance, Step, Task
from asynctool_env.scenarios import SCENARIOS

# ---------------------------------------------------------------------------------------
# Files


class StepRecord(pydantic.BaseModel):
    """One gold call in a dataset file."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    tool: str
    arguments: dict[str, Any]
    depends_on: list[int] = []
    expected_arguments: dict[str, Any]
    expected_response: dict[str, Any]


class FactRecord(pydantic.BaseModel):
    """One fact a task's answer must state (:class:`~asynctool_env.core.facts.Fact`)."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    kind: Literal["id", "number", "text", "choice", "boolean", "list"]
    value: Any
    label: str = ""
    source: str | None = None
    abs_tol: float = pydantic.Field(0.0, ge=0.0)
    alternatives: list[Any] = []
    #: What the instruction names the fact by, when another fact shares its label.
    subject: str = ""


class TaskRecord(pydantic.BaseModel):
    """One task in a dataset file."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    task_id: str
    scenario: str
    instruction: str
    steps: list[StepRecord] = pydantic.Field(min_length=1)
    answer: str | None = None
    expected_answer: Any = None
    world_seed: int = pydantic.Field(0, ge=0, description="Seeds the scenario's world.")
    metadata: dict[str, Any] = {}
    #: What the answer must state (schema 2); derived from ``answer`` when absent.
    facts: list[FactRecord] | None = None

    @pydantic.model_validator(mode="after")
    def _known_scenario_and_tools(self) -> TaskRecord:
        """A task plays only on a scenario the package has, with that scenario's tools: say
        so at load time, not at the first reset or call."""
        if self.scenario not in SCENARIOS:
            raise ValueError(
                f"unknown scenario {self.scenario!r}; the scenarios are "
                f"{', '.join(sorted(SCENARIOS))} (a new one is a module in "
                "asynctool_env/scenarios/)"
            )
        names = {tool.name for tool in SCENARIOS[self.scenario].tools}
        for index, step in enumerate(self.steps):
            if step.tool not in names:
                raise ValueError(
                    f"steps.{index}.tool: {step.tool!r} is not a tool of scenario "
                    f"{self.scenario!r} (its tools: {', '.join(sorted(names))})"
                )
        return self


#: Version of the file schema; bump it when a field changes meaning. Version 2 adds each
#: task's ``facts``; version 1 files still load (their facts are derived). Version 3: the gold
#: responses are those of stateful worlds (:mod:`asynctool_env.core.state`), played in gold
#: order; the fields are version 2's.
SCHEMA_VERSION = 3


class InstanceRecord(pydantic.BaseModel):
    """One line of a dataset file: an instance and its tasks."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1, 2, 3] = SCHEMA_VERSION
    instance_id: str
    tasks: list[TaskRecord] = pydantic.Field(min_length=1)
    metadata: dict[str, Any] = {}

    def to_instance(self) -> Instance:
        return Instance(
            self.instance_id,
            tuple(
                Task(
                    task_id=task.task_id,
                    scenario=task.scenario,
                    instruction=task.instruction,
                    steps=tuple(
                        Step(
                            tool=step.tool,
                            arguments=step.arguments,
                            depends_on=tuple(step.depends_on),
                            expected_arguments=step.expected_arguments,
                            expected_response=step.expected_response,
                            latency=SCENARIOS[task.scenario].tool(step.tool).latency,
                            writes=SCENARIOS[task.scenario].tool(step.tool).writes,
                        )
                        for step in task.steps
                    ),
                    answer=task.answer,
                    expected_answer=task.expected_answer,
                    world_seed=task.world_seed,
                    metadata=dict(task.metadata),
                    facts=None
                    if task.facts is None
                    else tuple(Fact.from_dict(fact.model_dump()) for fact in task.facts),
                )
                for task in self.tasks
            ),
            dict(self.metadata),
        )

    @classmethod
    def from_instance(cls, instance: Instance) -> InstanceRecord:
        return cls.model_validate(
            {
                "instance_id": instance.instance_id,
                "metadata": dict(instance.metadata),
                "tasks": [
                    {
                        "task_id": task.task_id,
                        "scenario": task.scenario,
                        "instruction": task.instruction,
                        "answer": task.answer,
                        "expected_answer": task.expected_answer,
                        "world_seed": task.world_seed,
                        "metadata": dict(task.metadata),
                        "facts": None
                        if task.facts is None
                        else [fact.as_dict() for fact in task.facts],
                        "steps": [
                            {
                                "tool": step.tool,
                                "arguments": dict(step.arguments),
                                "depends_on": list(step.depends_on),
                                "expected_arguments": dict(step.expected_arguments),
                                "expected_response": dict(step.expected_response),
                            }
                            for step in task.steps
                        ],
                    }
                    for task in instance.tasks
                ],
            }
        )


class InstanceFileError(ValueError):
    """A dataset file has a line that is not a valid instance."""


def _open_text(path: Path, mode: str) -> Any:
    if path.suffix == ".gz":
        if mode == "w":
            # mtime=0 and no file name in the header: the same content gives the same bytes.
            raw = gzip.GzipFile(filename="", mode="wb", fileobj=path.open("wb"), mtime=0)
            return _ClosingTextWrapper(raw)
        return gzip.open(path, mode + "t", encoding="utf-8")
    return path.open(mode, encoding="utf-8", newline="\n")


class _ClosingTextWrapper(io.TextIOWrapper):
    """A text wrapper over a GzipFile that also closes the file the GzipFile writes to."""

    def __init__(self, raw: gzip.GzipFile) -> None:
        super().__init__(raw, encoding="utf-8", newline="\n")
        self._target = raw.fileobj

    def close(self) -> None:
        super().close()
        if self._target is not None:
            self._target.close()


def load_instances(path: str | Path) -> list[Instance]:
    """Read instances from a ``.jsonl`` (or ``.jsonl.gz``) file.

    Raises:
        FileNotFoundError: No such file.
        InstanceFileError: A line is not JSON or does not fit the schema; the message names
            the file, the line and the field.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no instance file at {path}")
    try:
        instances = _read_instances(path)
    except (gzip.BadGzipFile, EOFError, zlib.error, UnicodeDecodeError) as error:
        raise InstanceFileError(f"{path}: cannot read the file: {error}") from None
    if not instances:
        raise InstanceFileError(f"{path}: no instances in the file")
    return instances


def _read_instances(path: Path) -> list[Instance]:
    instances: list[Instance] = []
    with _open_text(path, "r") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = InstanceRecord.model_validate_json(line)
                instances.append(record.to_instance())
            except pydantic.ValidationError as error:
                first = error.errors()[0]
                where = ".".join(str(part) for part in first["loc"])
                raise InstanceFileError(
                    f"{path}:{number}: {where or '(line)'}: {first['msg']}"
                    + (f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else "")
                ) from None
            except ValueError as error:
                raise InstanceFileError(f"{path}:{number}: {error}") from None
    return instances


def save_instances(instances: Iterable[Instance], path: str | Path) -> int:
    """Write instances to a ``.jsonl`` (or ``.jsonl.gz``) file; returns how many."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with _open_text(path, "w") as out:
        for instance in instances:
            record = InstanceRecord.from_instance(instance)
            out.write(json.dumps(record.model_dump(mode="json"), sort_keys=True) + "\n")
            count += 1
    return count


_PROCEDURAL = ("Composition", "InstanceGenerator", "TaskBank", "shared_task_bank")


def __getattr__(name: str) -> object:
    """Older imports of the procedural generator from this module keep working (loaded on
    use: this module does not import the dataset pipeline)."""
    if name in _PROCEDURAL:
        from asynctool_env.dataset import procedural

        return getattr(procedural, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
