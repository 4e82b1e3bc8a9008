"""The ``asynctool`` command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from asynctool_env.agents import POLICIES, make_policy
from asynctool_env.core.latency import PROFILE_NAMES
from asynctool_env.rollout import run_episodes, summarize

app = typer.Typer(
    help="AsyncTool: asynchronous function calling over several tasks.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _main() -> None:
    """AsyncTool: asynchronous function calling over several tasks."""


def _console() -> Console:
    """A console; wide when writing to a file or pipe, so tables keep every column."""
    console = Console()
    return console if console.is_terminal else Console(width=160)


def _parse_calls(value: str) -> int | None:
    if value.strip().lower() in ("none", "unlimited"):
        return None
    if not value.strip().isdigit() or int(value) < 1:
        raise typer.BadParameter("give a whole number >= 1, or 'unlimited'")
    return int(value)


@app.command()
def run(
    agent: Annotated[
        list[str] | None,
        typer.Option("--agent", "-a", help=f"Policy to run (repeatable): {', '.join(POLICIES)}."),
    ] = None,
    episodes: Annotated[int, typer.Option(min=1, help="Episodes per agent.")] = 20,
    seed: Annotated[int, typer.Option(help="Seed of the first episode.")] = 0,
    latency: Annotated[
        str, typer.Option(help=f"Latency profile: {', '.join(PROFILE_NAMES)}.")
    ] = "tool",
    n_tasks: Annotated[int | None, typer.Option(min=1, max=3, help="Tasks per instance.")] = None,
    calls_per_turn: Annotated[
        str, typer.Option(help="Calls per turn: a number or 'unlimited'.")
    ] = "1",
    output: Annotated[
        Path | None, typer.Option(help="Also write the per-episode metrics to this JSON file.")
    ] = None,
) -> None:
    """Play reference agents on generated instances and print their mean metrics."""
    names = agent or list(POLICIES)
    for name in names:
        if name not in POLICIES:
            raise typer.BadParameter(
                f"unknown agent {name!r}; choose from {', '.join(POLICIES)}", param_hint="--agent"
            )
    env_kwargs: dict[str, object] = {
        "latency": latency,
        "max_calls_per_turn": _parse_calls(calls_per_turn),
    }
    if n_tasks is not None:
        env_kwargs["n_tasks"] = n_tasks
    seeds = list(range(seed, seed + episodes))
    table = Table(title=f"{episodes} episodes per agent, latency={latency}")
    columns = [
        ("agent", "agent"),
        ("step F1", "step_f1"),
        ("task ok", "task_success_rate"),
        ("all ok", "instance_success"),
        ("rounds", "rounds"),
        ("sequential", "sequential_rounds"),
        ("speedup", "speedup_vs_sequential"),
        ("idle", "idle_ratio"),
        ("in flight", "mean_in_flight"),
        ("violations", "dependency_violations"),
        ("return", "return"),
    ]
    for title, _ in columns:
        table.add_column(title, justify="left" if title == "agent" else "right")
    records: dict[str, list[dict[str, object]]] = {}
    for name in names:
        try:
            results = run_episodes(make_policy(name, seed), seeds, env_kwargs)
        except ValueError as error:
            raise typer.BadParameter(str(error)) from error
        summary = summarize(results)
        table.add_row(name, *(f"{summary[key]:.3g}" for _, key in columns[1:]))
        records[name] = [{"seed": r.seed, "return": r.episode_return, **r.metrics} for r in results]
    console = _console()
    console.print(table)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(records, indent=2))
        console.print(f"per-episode metrics written to {output}")


data_app = typer.Typer(help="Build and inspect the benchmark dataset.", no_args_is_help=True)
app.add_typer(data_app, name="data")


@data_app.command("build")
def data_build(
    output: Annotated[
        Path | None,
        typer.Option(help="Where to write the file (default: the file shipped in the package)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Root seed of the pipeline.")] = 2605,
    check: Annotated[
        bool,
        typer.Option(
            "--check", help="Build in memory and compare with the existing file; write nothing."
        ),
    ] = False,
) -> None:
    """Regenerate the dataset file (bit for bit for the same seed)."""
    import tempfile

    from asynctool_env.dataset import DATASET_PATH
    from asynctool_env.dataset.build import BuildConfig, build_dataset, distinct_tasks
    from asynctool_env.instances import save_instances

    console = _console()
    target = output or DATASET_PATH
    instances, report = build_dataset(BuildConfig(seed=seed))
    if check:
        with tempfile.TemporaryDirectory() as folder:
            fresh = Path(folder) / target.name
            save_instances(instances, fresh)
            same = target.is_file() and fresh.read_bytes() == target.read_bytes()
        console.print(f"{target}: {'identical' if same else 'DIFFERENT'} to a fresh build")
        raise typer.Exit(0 if same else 1)
    count = save_instances(instances, target)
    console.print(
        f"wrote {count} instances ({distinct_tasks(instances)} distinct single tasks) to {target}"
    )
    console.print(
        f"seed specs {report.seed_specs}, evolved {report.evolved_specs}, dropped: "
        f"{report.rejected_execution} failed execution, {report.rejected_replay} failed "
        f"replay, {report.rejected_size} too short or long, {report.duplicates} duplicates"
    )


@data_app.command("paraphrase")
def data_paraphrase(
    model: Annotated[str, typer.Option(help="Model name on the OpenAI-compatible server.")],
    output: Annotated[Path, typer.Option(help="Where to write the paraphrased file.")],
    base_url: Annotated[
        str | None, typer.Option(help="Server URL (default: OpenAI's; e.g. a vLLM server).")
    ] = None,
    api_key_env: Annotated[
        str, typer.Option(help="Environment variable holding the API key.")
    ] = "OPENAI_API_KEY",
    path: Annotated[
        Path | None, typer.Option(help="Dataset file to read (default: the shipped one).")
    ] = None,
    temperature: Annotated[float, typer.Option(min=0.0, max=2.0)] = 0.7,
) -> None:
    """Optional stage: rewrite instructions with a model, keeping every literal."""
    import os

    from asynctool_env.dataset import DATASET_PATH
    from asynctool_env.dataset.paraphrase import openai_client, paraphrase_instances
    from asynctool_env.instances import InstanceFileError, load_instances, save_instances

    source = path or DATASET_PATH
    if output.resolve() == DATASET_PATH.resolve():
        raise typer.BadParameter(
            "write paraphrases to a new file; the shipped file is rebuilt by 'data build'",
            param_hint="--output",
        )
    try:
        instances = load_instances(source)
        client = openai_client(base_url, os.environ.get(api_key_env))
    except (FileNotFoundError, InstanceFileError, RuntimeError) as error:
        raise typer.BadParameter(str(error)) from error
    rewritten, report = paraphrase_instances(instances, client, model, temperature=temperature)
    save_instances(rewritten, output)
    _console().print(
        f"{report.asked} instructions: {report.kept} rewritten, {report.rejected} rejected "
        f"(a literal was lost), {report.failed} failed; wrote {output}"
    )


@data_app.command("stats")
def data_stats(
    split: Annotated[
        str | None, typer.Option(help="Only this split (default: every split).")
    ] = None,
    path: Annotated[
        Path | None, typer.Option(help="A dataset file (default: the shipped one).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """Print the composition table: scenario x pattern x task count, and the mixes."""
    from asynctool_env.dataset import DATASET_PATH
    from asynctool_env.dataset.stats import composition, composition_table, mix_table
    from asynctool_env.instances import InstanceFileError, load_instances

    file = path or DATASET_PATH
    try:
        instances = load_instances(file)
    except (FileNotFoundError, InstanceFileError) as error:
        raise typer.BadParameter(str(error), param_hint="--path") from error
    if split is not None:
        instances = [i for i in instances if i.metadata.get("split") == split]
        if not instances:
            raise typer.BadParameter(f"no split {split!r} in {file}", param_hint="--split")
    stats = composition(instances)
    console = _console()
    if as_json:
        console.print_json(json.dumps(stats))
        return
    console.print(composition_table(stats, f"{file.name}" + (f" [{split}]" if split else "")))
    console.print(mix_table(stats))


if __name__ == "__main__":
    app()
