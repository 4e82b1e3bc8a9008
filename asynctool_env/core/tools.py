"""Tools: plain typed Python functions that become OpenAI function-calling schemas.

A scenario declares each tool as a function whose first parameter is the scenario's world
state and whose other parameters are the tool's arguments, with type hints and a Google-style
docstring::

    @tool(latency=2)
    def book_flight(world: TravelWorld, flight_id: str, passenger: str) -> dict:
        \"\"\"Book a seat on a flight.

        Args:
            flight_id: Id returned by search_flights.
            passenger: Full name of the traveller.
        \"\"\"

This module is the one place that turns such a function into a :class:`Tool`: its JSON
schema (OpenAI ``{"type": "function", ...}`` format), the pydantic model that validates
arguments (wrong types, missing and extra fields give a :class:`ToolArgumentError` that says
what to change), and its declared typical latency in rounds. A backend reports a bad call
(unknown id, impossible request) by raising :class:`ToolError`; the simulator turns that into
an error response, so an agent sees it like a real API error.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, get_type_hints

import pydantic

from asynctool_env.core.canonical import Canon, canon, canonical_arguments
from asynctool_env.core.state import Effects, WorldState

ToolFunction = Callable[..., dict[str, Any]]


class ToolError(Exception):
    """A tool backend refused a call; the message becomes the error response."""


def _numeric(annotation: Any) -> bool:
    """Whether an argument's type takes numbers and not booleans (int, float, or an optional
    or union of them)."""
    import typing

    if annotation in (int, float):
        return True
    options = [a for a in typing.get_args(annotation) if a is not type(None)]
    return bool(options) and all(a in (int, float) for a in options)


class ToolArgumentError(ToolError):
    """The arguments of a call do not fit the tool's schema."""


_ARGS_SECTION = re.compile(r"^\s*Args:\s*$")
_ARG_LINE = re.compile(r"^\s+(\w+)(?:\s*\([^)]*\))?:\s*(.*)$")


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """Split a Google-style docstring into (summary, {argument: description})."""
    lines = inspect.cleandoc(doc).splitlines()
    summary_lines: list[str] = []
    arguments: dict[str, str] = {}
    in_args = False
    current: str | None = None
    for line in lines:
        if _ARGS_SECTION.match(line):
            in_args = True
            continue
        if in_args:
            if line and not line[0].isspace():
                in_args = False  # the next section (Returns:, Raises:) starts
            else:
                match = _ARG_LINE.match(line)
                if match and line.startswith("    ") and not line.startswith("        "):
                    current = match.group(1)
                    arguments[current] = match.group(2).strip()
                elif current and line.strip():
                    arguments[current] += " " + line.strip()
                continue
        if not in_args and not arguments:
            summary_lines.append(line)
    summary = " ".join(part.strip() for part in summary_lines if part.strip())
    return summary, arguments


@dataclass(frozen=True)
class Tool:
    """A tool an agent can call.

    Attributes:
        name: Unique across all scenarios.
        description: One paragraph for the model.
        function: The backend, ``function(world, **arguments) -> dict``.
        arguments_model: Validates and coerces arguments (built from the signature).
        latency: Declared typical latency in rounds (lookups fast, bookings slow); latency
            profiles turn it into a distribution.
        scenario: Name of the scenario module that declares it (set on registration).
        writes: The call changes the world's state in the story (books, sends, saves,
            deletes); ``False`` for reads (searches, lookups, computations). Task success
            needs every gold write made, and no wrong one; reads are means to information
            (see :mod:`asynctool_env.core.resolver`).
        canonical: Argument name -> how its values canonicalise
            (:mod:`asynctool_env.core.canonical`); undeclared arguments get their type's
            default.
    """

    name: str
    description: str
    function: ToolFunction
    arguments_model: type[pydantic.BaseModel]
    latency: int
    scenario: str = ""
    writes: bool = False
    canonical: Mapping[str, Canon] = dataclasses.field(default_factory=dict)

    def python_signature(self) -> inspect.Signature:
        """The tool's arguments as a Python signature (the backend's ``world`` left out),
        annotated with their types and returning ``str``: what a framework that reads tools
        from Python functions (TRL through transformers, MCP servers) builds a schema from."""
        signature = inspect.signature(self.function)
        hints = typing.get_type_hints(self.function)
        parameters = [
            parameter.replace(annotation=hints.get(parameter.name, parameter.annotation))
            for parameter in list(signature.parameters.values())[1:]
        ]
        return signature.replace(parameters=parameters, return_annotation=str)

    def dress(self, function: Callable[..., Any], *, method: bool = False) -> Any:
        """Give ``function``, a forwarder that takes ``**arguments``, this tool's face for the
        frameworks that read tools from Python functions (TRL through transformers'
        ``get_json_schema``, MCP servers): its name, its :meth:`python_signature` (after a
        ``self`` when ``method``), the matching annotations and :meth:`google_docstring`.
        Returns ``function``."""
        signature = self.python_signature()
        parameters = list(signature.parameters.values())
        function.__annotations__ = {**{p.name: p.annotation for p in parameters}, "return": str}
        if method:
            parameters.insert(0, inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD))
        function.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        function.__doc__ = self.google_docstring()
        function.__name__ = function.__qualname__ = self.name
        return function

    def google_docstring(self) -> str:
        """The description and a Google-style ``Args:`` section from the tool's schema (the
        docstring format transformers' ``get_json_schema`` parses)."""
        properties = self.openai_schema()["function"]["parameters"].get("properties", {})
        lines = [" ".join(self.description.split())]
        names = list(self.python_signature().parameters)
        if names:
            lines += ["", "Args:"]
            for name in names:
                described = properties.get(name, {}).get("description") or name
                lines.append(f"    {name}: {' '.join(str(described).split())}")
        return "\n".join(lines)

    def openai_schema(self) -> dict[str, Any]:
        """The tool in OpenAI function-calling format (a fresh copy each call; built once)."""
        cached = self.__dict__.get("_openai_schema")
        if cached is None:
            cached = self._build_openai_schema()
            object.__setattr__(self, "_openai_schema", cached)  # frozen: a private cache
        return copy.deepcopy(cached)

    def _build_openai_schema(self) -> dict[str, Any]:
        parameters = self.arguments_model.model_json_schema()
        parameters.pop("title", None)
        for prop in parameters.get("properties", {}).values():
            prop.pop("title", None)
        parameters["additionalProperties"] = False
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": parameters,
            },
        }

    def validate_arguments(self, arguments: Any) -> dict[str, Any]:
        """Check ``arguments`` against the schema and return them coerced.

        Raises:
            ToolArgumentError: With one line per problem, naming the argument.
        """
        if not isinstance(arguments, Mapping):
            raise ToolArgumentError(
                f"{self.name}: arguments must be a JSON object, got {type(arguments).__name__}"
            )
        # Lax validation turns true into 1 for a number: a model that sends a boolean where
        # a number is asked for made a mistake, and is told so.
        booleans = [
            f"argument {name!r}: expected a number, got a boolean"
            for name, field in self.arguments_model.model_fields.items()
            if isinstance(arguments.get(name), bool) and _numeric(field.annotation)
        ]
        if booleans:
            raise ToolArgumentError(f"{self.name}: " + "; ".join(booleans))
        try:
            model = self.arguments_model.model_validate(dict(arguments))
        except pydantic.ValidationError as error:
            problems = []
            for issue in error.errors():
                where = ".".join(str(part) for part in issue["loc"]) or "(arguments)"
                if issue["type"] == "extra_forbidden":
                    problems.append(f"unexpected argument {where!r}")
                elif issue["type"] == "missing":
                    problems.append(f"missing required argument {where!r}")
                else:
                    problems.append(f"argument {where!r}: {issue['msg']}")
            raise ToolArgumentError(f"{self.name}: " + "; ".join(problems)) from None
        return model.model_dump()

    def execute(self, world: Any, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """Validate ``arguments`` and run the backend on ``world``.

        Raises:
            ToolError: The arguments are invalid or the backend refused the call.
        """
        return self.function(world, **self.validate_arguments(arguments))

    def run(self, world: Any, arguments: Mapping[str, Any]) -> tuple[dict[str, Any], Effects]:
        """Run the backend on ``world`` with validated ``arguments``, recording what it read
        and wrote in the world's :class:`~asynctool_env.core.state.WorldState` (the call
        takes effect now: :mod:`asynctool_env.core.state`).

        Returns:
            The response and the call's effects.

        Raises:
            ToolError: The backend refused the call; whatever it wrote is rolled back.
            RuntimeError: A read tool wrote to the state (a scenario bug: declare it
                ``writes=True``).
        """
        state = getattr(world, "state", None)
        if not isinstance(state, WorldState):  # a stateless world (hand-made test worlds)
            return dict(self.function(world, **arguments)), Effects()
        effects = Effects()
        try:
            with state.recording() as effects:
                response = dict(self.function(world, **arguments))
                if effects.writes and not self.writes:
                    raise RuntimeError(
                        f"the read tool {self.name} wrote {sorted(effects.writes)[:3]}: a tool "
                        "that changes the world must be declared with writes=True"
                    )
        except ToolError as error:
            # What the refused call looked at still counts for conflicts (a write elsewhere
            # could have made it succeed); what it wrote was rolled back.
            error.effects = Effects(set(effects.reads), set(effects.scans))  # type: ignore[attr-defined]
            raise
        return response, effects

    def canonical_arguments(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """``arguments`` (validated) in canonical form: equal for calls with equal effect."""
        return canonical_arguments(arguments, self.canonical)


def _canon_of_type(annotation: Any) -> Canon:
    """The canonical form of an undeclared argument, from its annotation (``list[str] |
    None`` is a list, so an omitted list and ``[]`` compare equal)."""
    options = [annotation]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    origins = {typing.get_origin(option) or option for option in options}
    if origins & {list, tuple, set, frozenset}:
        return canon("list")
    if origins and origins <= {int, float}:
        return canon("number")
    if origins == {str}:
        return canon("text")
    return canon("exact")


def tool(
    *,
    latency: int = 1,
    name: str | None = None,
    writes: bool = False,
    canonical: Mapping[str, str | Canon] | None = None,
    aliases: Mapping[str, Mapping[str, Any]] | None = None,
) -> Callable[[ToolFunction], Tool]:
    """Declare a typed function as a :class:`Tool` (see the module docstring).

    Args:
        latency: Typical latency in rounds (0 answers on the next turn).
        name: Tool name; the function's name by default.
        writes: The tool changes state (see :attr:`Tool.writes`).
        canonical: Argument -> canonical kind (``"keyword"``, ``"set:symbol"``, ...; see
            :mod:`asynctool_env.core.canonical`).
        aliases: Argument -> {documented alternative spelling: value}.
    """
    if latency < 0:
        raise ValueError("a tool's latency must be >= 0")
    declared = {
        argument: canon(spec, (aliases or {}).get(argument))
        for argument, spec in (canonical or {}).items()
    }

    def declare(function: ToolFunction) -> Tool:
        signature = inspect.signature(function)
        hints = get_type_hints(function)
        summary, argument_docs = _parse_docstring(function.__doc__ or "")
        parameters = list(signature.parameters.values())[1:]  # the first one is the world
        fields: dict[str, Any] = {}
        for parameter in parameters:
            annotation = hints.get(parameter.name, Any)
            default = ... if parameter.default is inspect.Parameter.empty else parameter.default
            description = argument_docs.get(parameter.name)
            if description is None:
                raise TypeError(f"tool {function.__name__}: document argument {parameter.name!r}")
            fields[parameter.name] = (
                annotation,
                pydantic.Field(default, description=description),
            )
        tool_name = name or function.__name__
        model = pydantic.create_model(  # type: ignore[call-overload]
            f"{tool_name}_arguments",
            __config__=pydantic.ConfigDict(extra="forbid", strict=False),
            **fields,
        )
        unknown = set(declared) - {parameter.name for parameter in parameters}
        if unknown:
            raise TypeError(f"tool {tool_name}: canonical forms for unknown {sorted(unknown)}")
        for parameter in parameters:  # undeclared: the default of the annotated type
            if parameter.name not in declared:
                declared[parameter.name] = _canon_of_type(hints.get(parameter.name, Any))
        return Tool(tool_name, summary, function, model, latency, writes=writes, canonical=declared)

    return declare
