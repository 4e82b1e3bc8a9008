"""The ``asynctool`` command line."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from asynctool_env.chat.defaults import DEFAULT_MAX_ROUNDS

app = typer.Typer(
    help="AsyncTool: asynchronous function calling over several tasks.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _main() -> None:
    """AsyncTool: asynchronous function calling over several tasks."""


def _console() -> Console:
    """A console; wide when writing to a file or pipe (160 columns, or $COLUMNS), so tables
    keep every column. Lines
    of text are never broken by the console (soft wrap): a path or a command printed
    stays one line to copy."""
    console = Console(soft_wrap=True)
    if console.is_terminal:
        return console
    columns = os.environ.get("COLUMNS", "")
    width = int(columns) if columns.isdigit() and int(columns) >= 40 else 160
    return Console(width=width, soft_wrap=True)


#: The largest finite --calls-per-turn (more is 'unlimited' in practice).
MAX_CALLS_PER_TURN = 1000


def _parse_calls(value: str) -> int | None:
    if value.strip().lower() in ("none", "unlimited"):
        return None
    text = value.strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_CALLS_PER_TURN:
        raise typer.BadParameter(
            f"give a whole number from 1 to {MAX_CALLS_PER_TURN}, or 'unlimited'; got {value!r}"
        )
    return int(text)


def _host(value: str) -> str:
    """A host name or address this machine can listen on (checked before a server starts)."""
    import socket

    if not value.strip():
        raise typer.BadParameter("give an address to listen on (127.0.0.1: this machine only)")
    try:
        value.encode("utf-8")
        socket.getaddrinfo(value, None)
    except (UnicodeError, OSError) as error:
        raise typer.BadParameter(
            f"{value!r} is not an address this machine knows ({error})"
        ) from None
    return value


def _request_timeout(value: float) -> float:
    import math

    if not math.isfinite(value) or not 1.0 <= value <= 3600.0:
        raise typer.BadParameter(f"give a number of seconds from 1 to 3600, got {value}")
    return value


def _folder(value: Path | None) -> Path | None:
    """An output folder: an existing folder, or one that can be made (checked up front, so
    a run never ends in a traceback after its work)."""
    if value is None:
        return None
    if value.exists() and not value.is_dir():
        raise typer.BadParameter(f"{value} exists and is not a folder; give a folder path")
    try:
        value.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise typer.BadParameter(f"cannot make the folder {value}: {error.strerror}") from None
    if not os.access(value, os.W_OK):
        raise typer.BadParameter(f"the folder {value} is not writable")
    return value


def _file(value: Path | None) -> Path | None:
    """An output file: not a folder, in a folder that exists or can be made, writable."""
    if value is None:
        return None
    if value.is_dir():
        raise typer.BadParameter(f"{value} is a folder; give a file path")
    try:
        value.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise typer.BadParameter(
            f"cannot make the folder {value.parent}: {error.strerror}"
        ) from None
    if value.exists() and not value.is_file():
        raise typer.BadParameter(f"{value} cannot be written")
    existed = value.exists()
    try:  # really open it: a permission bit says nothing of /proc or a read-only mount
        with value.open("a", encoding="utf-8"):
            pass
    except OSError as error:
        raise typer.BadParameter(f"{value} cannot be written: {error.strerror}") from None
    if not existed:
        value.unlink(missing_ok=True)
    return value


def _check_agents(names: list[str], *, llm: bool = False) -> list[str]:
    """Reference agents by name (``llm``: the LLM agents are named as choices too)."""
    from asynctool_env.agents import POLICIES

    choices = [*POLICIES, *(("openai", "local") if llm else ())]
    for name in names:
        if name not in POLICIES:
            raise typer.BadParameter(
                f"unknown agent {name!r}; choose from {', '.join(choices)}", param_hint="--agent"
            )
    return names


def _ray_address(value: str | None) -> str | None:
    """``local``, ``auto`` or ``HOST:PORT`` (port 1-65535), checked before Ray starts."""
    if value is None or value in ("local", "auto"):
        return value
    host, _, port = value.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535 or ":::" in value:
        raise typer.BadParameter(
            f"give 'local', 'auto' or HOST:PORT (e.g. 127.0.0.1:6379), got {value!r}"
        )
    return value


RayAddress = Annotated[
    str | None,
    typer.Option(
        "--ray",
        help="Spread the episodes over the Ray cluster at this address ('auto': the one "
        "'asynctool cluster up' started here; 'local': a Ray instance in this process). "
        "With an output folder, episodes stream to episodes.jsonl and a rerun resumes. "
        "Needs the ray extra.",
        callback=_ray_address,
    ),
]


def _check_latency(latency: str | None) -> str | None:
    from asynctool_env.core.latency import make_latency_profile

    if latency is None:
        return None
    try:
        make_latency_profile(latency)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--latency") from error
    return latency


def _evaluate_agents_ray(agents: list[str], config, address: str, output, console: Console):
    """Run agents over Ray (streaming to ``output/episodes.jsonl`` when given, resuming what
    it holds); returns (records, summaries)."""
    from asynctool_env.benchmark import summarize

    try:
        from asynctool_env.distributed import evaluate_ray
    except ImportError as error:  # pragma: no cover - depends on the install
        raise typer.BadParameter(str(error), param_hint="--ray") from error
    journal = None
    if output is not None:
        Path(output).mkdir(parents=True, exist_ok=True)
        journal = Path(output) / "episodes.jsonl"
    records, summaries = [], []
    for agent in agents:
        try:
            found = evaluate_ray(agent, config, address=address, journal=journal)
        except (ValueError, FileNotFoundError) as error:
            raise typer.BadParameter(str(error)) from error
        except (RuntimeError, ConnectionError) as error:
            raise typer.BadParameter(f"Ray: {error}", param_hint="--ray") from error
        console.print(f"{agent}: {len(found)} episodes over Ray ({address})")
        records.extend(found)
        summaries.append(summarize(found))
    return records, summaries


def _evaluate_agents(agents: list[str], config, workers: int, console: Console):
    """Run agents with a progress bar; returns (records, summaries)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from asynctool_env.benchmark import evaluate, summarize

    records, summaries = [], []
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
    ) as progress:
        for agent in agents:
            bar = progress.add_task(agent, total=None)
            try:
                found = evaluate(
                    agent,
                    config,
                    workers=workers,
                    progress=lambda done, bar=bar: progress.update(bar, completed=done),
                )
            except (ValueError, FileNotFoundError) as error:
                raise typer.BadParameter(str(error)) from error
            progress.update(bar, total=len(found), completed=len(found))
            records.extend(found)
            summaries.append(summarize(found))
    return records, summaries


#: Columns a narrow terminal leaves out first (the markdown and JSON files keep them all).
_DROPPABLE = (
    "in flight", "idle", "speedup", "step F1", "optimal", "pass@k", "trials", "failed",
)  # fmt: skip
#: Columns left out last, once the headers are shortened.
_DROPPABLE_LAST = ("pass^k", "rounds", "task")
#: Headers of a table still too wide once those columns are out.
_SHORT_HEADERS = {
    "episodes": "n", "overall": "all", "efficiency": "eff", "rounds": "rnds",
    "violations": "viol", "failed": "fail", "pass^k": "p^k", "split": "set",
}  # fmt: skip
#: What the leaderboard's columns mean, printed under it.
LEADERBOARD_LEGEND = (
    "overall = all tasks of the instance right; task = tasks right; efficiency = optimal "
    "rounds / rounds; speedup = sequential rounds / rounds; idle = rounds with nothing in "
    "flight; failed = episodes the server broke (not scored)"
)


def _leaderboard_table(summaries, title: str, width: int | None = None) -> Table:
    """The leaderboard as a table that fits ``width`` columns (the console's): the agent
    column is never cut; the least needed columns are left out until it fits, and the
    caption says which."""
    from asynctool_env.benchmark import format_value, leaderboard_columns

    columns = list(leaderboard_columns(summaries))
    rows = sorted(summaries, key=lambda s: (-(s.get("efficiency") or 0), s["agent"]))
    cells = {
        name: [format_value(summary.get(key), kind) for summary in rows]
        for name, key, kind in columns
    }
    width = width or _console().width

    short = False

    def build(kept, caption: str | None = None) -> Table:
        table = Table(title=title, caption=caption)
        for name, _, kind in kept:
            justify = "left" if kind == "" else "right"
            header = _SHORT_HEADERS.get(name, name) if short else name
            table.add_column(header, justify=justify, no_wrap=True)
        for index in range(len(rows)):
            table.add_row(*(cells[name][index] for name, _, _ in kept))
        return table

    def fits(kept) -> bool:
        from rich.measure import Measurement

        probe = Console(width=10_000)
        return Measurement.get(probe, probe.options, build(kept)).maximum <= width

    hidden = []
    for name in _DROPPABLE:
        if fits(columns):
            break
        if any(column[0] == name for column in columns):
            columns = [column for column in columns if column[0] != name]
            hidden.append(name)
    short = not fits(columns)
    for name in _DROPPABLE_LAST:
        if fits(columns):
            break
        if any(column[0] == name for column in columns):
            columns = [column for column in columns if column[0] != name]
            hidden.append(name)
    notes = []
    if hidden:
        notes.append(f"left out to fit {width} columns: {', '.join(hidden)}")
    if short:
        notes.append(
            ", ".join(f"{_SHORT_HEADERS[n]} = {n}" for n, _, _ in columns if n in _SHORT_HEADERS)
        )
    return build(columns, f"({'; '.join(notes)})" if notes else None)


def _print_leaderboard(console: Console, summaries, title: str) -> None:
    """The leaderboard and, under it, what its columns mean."""
    console.print(_leaderboard_table(summaries, title, console.width))
    console.print(LEADERBOARD_LEGEND, style="dim")


Workers = Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")]


ToolCapacity = Annotated[
    int | None,
    typer.Option(
        min=1,
        help="Contention: calls each tool serves at once, shared by the tasks; more calls "
        "queue (default: no limit).",
    ),
]


@app.command()
def bench(
    output: Annotated[Path, typer.Option(help="Folder for the results.", callback=_folder)] = Path(
        "results/bench"
    ),
    split: Annotated[str, typer.Option(help="Dataset split: test or dev.")] = "test",
    workers: Workers = 1,
    plots: Annotated[bool, typer.Option(help="Also draw the report plots.")] = False,
    tool_capacity: ToolCapacity = None,
    ray: RayAddress = None,
) -> None:
    """Run the reference agents on the benchmark split and print the leaderboard."""
    from asynctool_env.benchmark import REFERENCE_AGENTS, EvalConfig, write_results

    if split not in ("test", "dev"):
        raise typer.BadParameter("choose test or dev", param_hint="--split")
    console = _console()
    config = EvalConfig(split=split, tool_capacity=tool_capacity)
    if ray is not None:
        records, summaries = _evaluate_agents_ray(
            list(REFERENCE_AGENTS), config, ray, output, console
        )
    else:
        records, summaries = _evaluate_agents(list(REFERENCE_AGENTS), config, workers, console)
    folder = write_results(output, records, summaries, config)
    _print_leaderboard(console, summaries, f"AsyncTool {split} split: reference agents")
    console.print(
        "The reference agents act through the numeric env (masked actions; their answers are "
        "the harness's), so they all succeed: efficiency is what tells them apart. LLM agents "
        "('asynctool eval -a openai/local') are graded on their own calls and answers.",
        style="dim",
    )
    if plots:
        _draw_plots(records, folder)
    console.print(f"results written to {folder}/")


LLM_AGENTS = ("openai", "local")


@app.command("eval")
def eval_command(
    agent: Annotated[
        list[str],
        typer.Option(
            "--agent", "-a", help="Agent (repeatable): a reference agent, 'openai' or 'local'."
        ),
    ],
    split: Annotated[str, typer.Option(help="test, dev or procedural.")] = "test",
    latency: Annotated[
        str | None,
        typer.Option(help="Force one latency profile (default: each instance's own)."),
    ] = None,
    n_tasks: Annotated[
        int | None, typer.Option(min=1, max=8, help="Only N-task instances.")
    ] = None,
    episodes: Annotated[int | None, typer.Option(min=1, help="Only the first N episodes.")] = None,
    seed: Annotated[int, typer.Option(min=0, help="Episode i is reset with seed + i.")] = 0,
    calls_per_turn: Annotated[
        str, typer.Option(help="Calls per turn: a number or 'unlimited'.")
    ] = "1",
    tool_capacity: ToolCapacity = None,
    output: Annotated[
        Path | None, typer.Option(help="Folder for the results.", callback=_folder)
    ] = None,
    workers: Workers = 1,
    model: Annotated[
        str | None, typer.Option(help="LLM agents: the model name on the server.")
    ] = None,
    base_url: Annotated[
        str | None, typer.Option(help="LLM agents: an OpenAI-compatible server URL.")
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="LLM agents: episodes at once.")] = 4,
    max_rounds: Annotated[
        int, typer.Option(min=1, help="LLM agents: rounds per episode.")
    ] = DEFAULT_MAX_ROUNDS,
    temperature: Annotated[float, typer.Option(min=0.0, max=2.0)] = 0.0,
    timeout: Annotated[
        float,
        typer.Option(
            help="LLM agents: seconds for a whole request (a deadline), 1 to 3600.",
            callback=_request_timeout,
        ),
    ] = 120.0,
    retries: Annotated[
        int, typer.Option(min=0, max=20, help="LLM agents: extra attempts per request.")
    ] = 3,
    trials: Annotated[
        int,
        typer.Option(
            min=1,
            max=100,
            help="LLM agents: plays of each instance (seeded apart); adds pass^k and pass@k.",
        ),
    ] = 1,
    notifications: Annotated[
        str,
        typer.Option(
            help="LLM agents: how arrivals are told: 'push' (in the next user message) or "
            "'pull' (read with the check_notifications / wait_for_response tools).",
            callback=_notification_mode,
        ),
    ] = "push",
    retry_failed: Annotated[
        bool,
        typer.Option(
            "--retry-failed",
            help="LLM agents: replay the episodes of --output that failed (server trouble).",
        ),
    ] = False,
    policy: Annotated[
        Path | None,
        typer.Option(
            help="--agent ppo: a policy file (.pt) or a folder of ppo-<regime>.pt files "
            "(default: the shipped policy of the regime)."
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            help="The label of the one reference --agent in tables and result files "
            "(default: its name; ppo with --policy FILE: ppo:FILE's name)."
        ),
    ] = None,
    ray: RayAddress = None,
    endpoint: Annotated[
        list[str] | None,
        typer.Option(
            "--endpoint",
            help="LLM agents with --ray: a server of the model, URL or URL=N (N episodes at "
            "once; default --concurrency). Repeatable: the episodes go to whichever endpoint "
            "has a free slot.",
        ),
    ] = None,
) -> None:
    """Evaluate agents with a chosen split, latency, task count and seed.

    LLM agents: '--agent openai --model M [--base-url URL]' (API key from OPENAI_API_KEY),
    or '--agent local' (SmolLM2-135M served by llama.cpp on loopback, started and stopped
    for you). They write the same result files, plus transcripts.jsonl, and resume an
    interrupted run in the same --output folder.

    Trained agent: '--agent ppo [--policy FILE]' (needs the rl extra) plays the shipped
    policy of the regime the options describe (e.g. '--latency stochastic'), or FILE.
    """
    from asynctool_env.benchmark import EvalConfig, write_results

    if split not in ("test", "dev", "procedural"):
        raise typer.BadParameter("choose test, dev or procedural", param_hint="--split")
    llm = [name for name in agent if name in LLM_AGENTS]
    reference = _check_agents([name for name in agent if name not in LLM_AGENTS], llm=True)
    if trials > 1 and reference:
        raise typer.BadParameter(
            f"--trials applies to LLM agents ('openai', 'local'), not to {', '.join(reference)}: "
            "run those once per seed (--seed)",
            param_hint="--trials",
        )
    if model is not None and "openai" not in llm:
        raise typer.BadParameter(
            "--model names the model of --agent openai; the other agents take none",
            param_hint="--model",
        )
    if endpoint and llm != ["openai"]:
        raise typer.BadParameter(
            "--endpoint names servers of --agent openai's model (--agent local serves its own)",
            param_hint="--endpoint",
        )
    endpoints = _endpoints(endpoint, concurrency, ray)
    config = EvalConfig(
        split=split,
        latency=_check_latency(latency),
        n_tasks=n_tasks,
        episodes=episodes,
        seed=seed,
        max_calls_per_turn=_parse_calls(calls_per_turn),
        tool_capacity=tool_capacity,
        policy=_ppo_policy_file(policy, "ppo" in reference),
    )
    labels = _agent_labels(reference, llm, name, policy)
    console = _console()
    if "ppo" in reference:
        console.print(f"ppo plays {_ppo_policy_shown(config)}", markup=False)
    summaries: list[dict] = []
    if reference and ray is not None:
        records, summaries = _evaluate_agents_ray(reference, config, ray, output, console)
        records, summaries = _relabelled(records, summaries, labels)
        if output is not None:
            folder = write_results(output, records, summaries, config)
            console.print(f"results written to {folder}/")
    elif reference:
        records, summaries = _evaluate_agents(reference, config, workers, console)
        records, summaries = _relabelled(records, summaries, labels)
        if output is not None:
            folder = write_results(output, records, summaries, config)
            console.print(f"results written to {folder}/")
    for name in llm:
        request = {
            "timeout": timeout,
            "max_retries": retries,
            "retry_failed": retry_failed,
            "trials": trials,
            "notifications": notifications,
        }
        summaries.append(
            _evaluate_llm(
                name,
                config,
                model,
                base_url,
                concurrency,
                max_rounds,
                temperature,
                output,
                request,
                ray=ray,
                endpoints=endpoints,
            )
        )
    title = f"{split} split, latency={latency or 'own'}"
    if tool_capacity is not None:
        title += f", tool capacity {tool_capacity}"
    _print_leaderboard(console, summaries, title)
    unscored = [s for s in summaries if not s["episodes"] and s.get("failed_episodes")]
    if unscored:
        for summary in unscored:
            console.print(
                f"{summary['agent']}: all {summary['failed_episodes']} episodes failed "
                f"(server trouble, not the model): {summary.get('failure') or 'see episodes'}",
                markup=False,
                emoji=False,
            )
        raise typer.Exit(1)


def _endpoints(texts: list[str] | None, concurrency: int, ray: str | None) -> list | None:
    """``--endpoint`` values as :class:`~asynctool_env.distributed.Endpoint` (``None``:
    none given)."""
    if not texts:
        return None
    if ray is None:
        raise typer.BadParameter(
            "--endpoint spreads LLM episodes over Ray: add --ray ADDRESS (or --ray local)",
            param_hint="--endpoint",
        )
    try:
        from asynctool_env.distributed import Endpoint
    except ImportError as error:  # pragma: no cover - depends on the install
        raise typer.BadParameter(str(error), param_hint="--endpoint") from error
    try:
        return [Endpoint.parse(text, concurrency) for text in texts]
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--endpoint") from error


def _agent_labels(
    reference: list[str], llm: list[str], name: str | None, policy: Path | None
) -> dict[str, str]:
    """Labels of reference agents in tables and files: ``--name`` for the one agent, and
    ``ppo:STEM`` for a policy file (runs of different files are not all ``ppo``)."""
    labels = {}
    if policy is not None and policy.is_file() and "ppo" in reference:
        # Every training run writes policy.pt: its run folder names it better.
        stem = policy.parent.name if policy.stem == "policy" and policy.parent.name else policy.stem
        labels["ppo"] = f"ppo:{stem}"
    if name is not None:
        if llm or len(reference) != 1:
            raise typer.BadParameter(
                "--name labels one reference --agent (LLM agents are labelled by --model)",
                param_hint="--name",
            )
        if not name.strip() or len(name) > 80:
            raise typer.BadParameter("give a label of 1 to 80 characters", param_hint="--name")
        labels[reference[0]] = name.strip()
    return labels


def _relabelled(records: list, summaries: list[dict], labels: dict[str, str]):
    from dataclasses import replace

    if not labels:
        return records, summaries
    records = [replace(r, agent=labels.get(r.agent, r.agent)) for r in records]
    summaries = [{**s, "agent": labels.get(s["agent"], s["agent"])} for s in summaries]
    return records, summaries


def _ppo_policy_shown(config) -> str:
    """Which file the ppo agent plays under ``config`` (and why)."""
    from asynctool_env.envs import AsyncToolEnv
    from asynctool_env.rl.config import regime_of
    from asynctool_env.rl.policy import PPOPolicy

    env = AsyncToolEnv(**config.env_kwargs())
    try:
        path = PPOPolicy(config.policy).policy_path(env)
        regime = regime_of(env)
    finally:
        env.close()
    given = config.policy is not None and not Path(config.policy).is_dir()
    return str(path) + ("" if given else f" (the {regime} regime's policy)")


def _ppo_policy_file(policy: Path | None, needed: bool) -> str | None:
    """Check the rl extra for the ppo agent and ``--policy``; returns the policy path for
    the evaluation's config (which takes it to worker processes)."""
    if not needed:
        if policy is not None:
            raise typer.BadParameter("--policy is for --agent ppo", param_hint="--policy")
        return None
    from asynctool_env.rl import MissingRLExtraError, require_rl

    try:
        require_rl()
    except MissingRLExtraError as error:
        raise typer.BadParameter(str(error), param_hint="--agent") from error
    if policy is None:
        return None
    if not policy.exists():
        raise typer.BadParameter(f"no policy file or folder at {policy}", param_hint="--policy")
    return str(policy.resolve())


def _check_fresh_run(folder: Path, result: str, overwrite: bool) -> None:
    """Refuse to train into a folder that holds a trained run already, unless told to."""
    if (folder / result).exists() and not overwrite:
        raise typer.BadParameter(
            f"{folder} holds a trained run already ({result}): pass another --output, or "
            "--overwrite to replace it",
            param_hint="--output",
        )


#: Env steps RLlib's PPO samples per training iteration (``ppo_config``'s batch).
RLLIB_STEPS_PER_ITERATION = 2000


def _train_rllib(
    regime: str | None,
    timesteps: int | None,
    seed: int | None,
    output: Path | None,
    address: str | None,
    num_env_runners: int,
    *,
    export: Path | None = None,
    agents: int | None = None,
    env_extra: dict | None = None,
    eval_episodes: int | None = None,
    show_config: bool = False,
    quiet: bool = False,
    overwrite: bool = False,
) -> None:
    """``asynctool train --backend rllib``: PPO with masking on RLlib, scored on dev."""
    import math

    from asynctool_env.rl.config import REGIMES

    name = regime or "default"
    if name not in REGIMES:
        raise typer.BadParameter(f"choose one of {', '.join(REGIMES)}", param_hint="--regime")
    if agents is not None and regime is not None:
        raise typer.BadParameter(
            "--regime names AsyncTool-v0 settings; give the multi-agent env's with --env-kwarg",
            param_hint="--regime",
        )
    if export is not None and export.suffix != ".pt":
        raise typer.BadParameter(f"policy files end in .pt, got {export}", param_hint="--export")
    if timesteps is not None and timesteps < 1:
        raise typer.BadParameter("give at least 1 step", param_hint="--timesteps")
    if agents is not None:
        env_kwargs = {"n_agents": agents, **dict(env_extra or {})}
        label = f"multi{agents}"
    else:
        env_kwargs = {**REGIMES[name], **dict(env_extra or {})}
        label = name
    budget = timesteps or 20_000
    iterations = max(1, math.ceil(budget / RLLIB_STEPS_PER_ITERATION))
    planned = iterations * RLLIB_STEPS_PER_ITERATION
    folder = output or Path("runs") / f"rllib-{label}-seed{seed or 0}"
    resolved = {
        "backend": "rllib",
        "regime": None if agents is not None else name,
        "agents": agents,
        "env_kwargs": env_kwargs,
        "timesteps": budget,
        "iterations": iterations,
        "steps_per_iteration": RLLIB_STEPS_PER_ITERATION,
        "seed": seed or 0,
        "output": str(folder),
        "export": None if export is None else str(export),
        "address": address,
        "num_env_runners": num_env_runners,
        "eval_episodes": eval_episodes or 24,
    }
    console = _console()
    if show_config:
        console.print_json(json.dumps(resolved))
        return
    _check_fresh_run(Path(folder), "checkpoint", overwrite)
    try:
        from asynctool_env.rl.rllib import train_rllib
    except ImportError as error:
        raise typer.BadParameter(
            f"--backend rllib needs the ray extra: pip install 'asynctool-env[ray]' ({error})",
            param_hint="--backend",
        ) from error
    if not quiet:
        rounded = (
            f" (rounded up from {budget} to whole iterations of {RLLIB_STEPS_PER_ITERATION})"
            if planned != budget
            else ""
        )
        where = address or "Ray in this process"
        console.print(
            f"training RLlib PPO ({label}, env {env_kwargs}) for {planned} steps"
            f"{rounded}: {iterations} iterations on {where}, seed {seed or 0} -> {folder}/",
            markup=False,
        )

    def progress(done: int, steps: int, mean_return: float) -> None:
        if not quiet:
            console.print(
                f"iteration {done}/{iterations}: {steps} env steps, "
                f"mean training return {mean_return:.3f}",
                markup=False,
            )

    try:
        run = train_rllib(
            iterations=iterations,
            env_kwargs=env_kwargs,
            multi_agent=agents is not None,
            address=address,
            num_env_runners=num_env_runners,
            eval_episodes=eval_episodes or 24,
            checkpoint_dir=str(Path(folder).resolve() / "checkpoint"),
            export=export,
            seed=seed or 0,
            progress=progress,
        )
    except (TypeError, ValueError) as error:
        raise typer.BadParameter(str(error), param_hint="--env-kwarg") from error
    before, after = run.dev_before, run.dev_after
    score = (
        f"dev success {before['success']:.3f} -> {after['success']:.3f}, rounds "
        f"{before['rounds']:.2f} -> {after['rounds']:.2f}"
        if agents is not None
        else f"dev efficiency {before['efficiency']:.3f} -> {after['efficiency']:.3f}"
    )
    console.print(
        f"RLlib PPO ({label}): {run.env_steps} env steps in {run.seconds:.1f} s "
        f"({run.steps_per_second:.0f}/s); {score}, return {before['return']:.3f} -> "
        f"{after['return']:.3f}; checkpoint {run.checkpoint}"
        + (f"; policy {run.policy_file}" if run.policy_file else ""),
        markup=False,
    )


@app.command()
def train(
    config_file: Annotated[
        Path | None,
        typer.Option(
            "--config", help="A JSON or TOML file of settings (flags override its values)."
        ),
    ] = None,
    algo: Annotated[str | None, typer.Option(help="maskable_ppo (default), ppo or a2c.")] = None,
    regime: Annotated[
        str | None, typer.Option(help="default, contention or stochastic (env settings).")
    ] = None,
    timesteps: Annotated[int | None, typer.Option(help="Total env steps (decisions).")] = None,
    n_envs: Annotated[int | None, typer.Option(help="Envs stepped together.")] = None,
    vec_env: Annotated[
        str | None, typer.Option(help="dummy (default), subproc or native (one batched env).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the model and the envs.")] = None,
    output: Annotated[Path | None, typer.Option(help="Run folder.", callback=_folder)] = None,
    export: Annotated[
        Path | None, typer.Option(help="Also write the kept policy here (a .pt path).")
    ] = None,
    learning_rate: Annotated[float | None, typer.Option()] = None,
    lr_schedule: Annotated[str | None, typer.Option(help="constant or linear.")] = None,
    n_steps: Annotated[int | None, typer.Option(help="Steps per env per update.")] = None,
    batch_size: Annotated[int | None, typer.Option(help="PPO minibatch size.")] = None,
    n_epochs: Annotated[int | None, typer.Option(help="PPO epochs per update.")] = None,
    gamma: Annotated[float | None, typer.Option()] = None,
    gae_lambda: Annotated[float | None, typer.Option()] = None,
    ent_coef: Annotated[float | None, typer.Option()] = None,
    vf_coef: Annotated[float | None, typer.Option()] = None,
    clip_range: Annotated[float | None, typer.Option(help="PPO clip range.")] = None,
    max_grad_norm: Annotated[float | None, typer.Option()] = None,
    net_arch: Annotated[str | None, typer.Option(help="Hidden layer widths, e.g. 64,64.")] = None,
    activation: Annotated[str | None, typer.Option(help="tanh or relu.")] = None,
    eval_freq: Annotated[
        int | None, typer.Option(help="Evaluate on dev every N env steps (0: at the end).")
    ] = None,
    eval_episodes: Annotated[int | None, typer.Option(help="Dev episodes per evaluation.")] = None,
    test_episodes: Annotated[
        int | None, typer.Option(help="Test instances scored after training (0: none).")
    ] = None,
    checkpoint_freq: Annotated[
        int | None, typer.Option(help="Full checkpoint every N env steps (0: none).")
    ] = None,
    device: Annotated[str | None, typer.Option(help="torch device (cpu).")] = None,
    log_interval: Annotated[
        int | None, typer.Option(help="Print and log every N updates (default 1).")
    ] = None,
    env_kwarg: Annotated[
        list[str] | None,
        typer.Option(help="An AsyncTool-v0 argument, KEY=VALUE (repeatable), e.g. n_tasks=2."),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Any TrainConfig field, KEY=VALUE (repeatable)."),
    ] = None,
    show_config: Annotated[
        bool, typer.Option("--show-config", help="Print the resolved configuration and stop.")
    ] = False,
    quiet: Annotated[bool, typer.Option(help="Only the final line.")] = False,
    overwrite: Annotated[
        bool, typer.Option(help="Replace a run folder that already holds a trained policy.")
    ] = False,
    backend: Annotated[
        str,
        typer.Option(
            help="sb3 (default: Stable-Baselines3), torchrl (TorchRL's PPO on one batched "
            "env of --n-envs, the fast trainer: MaskablePPO's network and policy files; "
            "needs torchrl) or rllib (RLlib's PPO with action masking, needs the ray extra; "
            "it takes --regime, --timesteps, --seed, --output, --address and "
            "--num-env-runners)."
        ),
    ] = "sb3",
    address: Annotated[
        str | None,
        typer.Option(help="--backend rllib: the Ray cluster (default: Ray in this process)."),
    ] = None,
    num_env_runners: Annotated[
        int, typer.Option(min=0, help="--backend rllib: remote env runners (0: sample here).")
    ] = 0,
    agents: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=4,
            help="--backend rllib: train the multi-agent env with this many agents, all "
            "sharing one policy (RLlib's PettingZoo wrapper); --env-kwarg sets its arguments.",
        ),
    ] = None,
) -> None:
    """Train MaskablePPO, PPO or A2C on the procedural stream (needs the rl extra).

    Evaluates on the dev split as it goes (efficiency, success), saves checkpoints and, at
    the end, a compact policy file that 'asynctool eval --agent ppo --policy FILE' plays.
    Settings: defaults < --config file < --set < flags. See baselines/README.md.
    """
    from asynctool_env.rl.config import ConfigError, load_config, parse_assignments, parse_value

    if backend not in ("sb3", "torchrl", "rllib"):
        raise typer.BadParameter("choose sb3, torchrl or rllib", param_hint="--backend")
    if backend == "torchrl" and vec_env is not None:
        raise typer.BadParameter(
            "--vec-env is SB3's: the torchrl backend steps one batched env of --n-envs envs",
            param_hint="--vec-env",
        )
    try:
        overrides = parse_assignments(set_)
        extra_env = parse_assignments(env_kwarg, "--env-kwarg")
    except ConfigError as error:
        raise typer.BadParameter(str(error)) from error
    if backend == "rllib":
        sb3_only = {
            "--config": config_file, "--algo": algo, "--n-envs": n_envs, "--vec-env": vec_env,
            "--learning-rate": learning_rate, "--lr-schedule": lr_schedule,
            "--n-steps": n_steps, "--batch-size": batch_size, "--n-epochs": n_epochs,
            "--gamma": gamma, "--gae-lambda": gae_lambda, "--ent-coef": ent_coef,
            "--vf-coef": vf_coef, "--clip-range": clip_range, "--max-grad-norm": max_grad_norm,
            "--net-arch": net_arch, "--activation": activation, "--eval-freq": eval_freq,
            "--test-episodes": test_episodes, "--checkpoint-freq": checkpoint_freq,
            "--device": device, "--log-interval": log_interval, "--set": overrides or None,
        }  # fmt: skip
        given = [flag for flag, value in sb3_only.items() if value is not None]
        if given:
            raise typer.BadParameter(
                f"{', '.join(given)} apply to --backend sb3; --backend rllib takes --regime, "
                "--timesteps, --seed, --output, --export, --eval-episodes, --env-kwarg, "
                "--agents, --address and --num-env-runners",
                param_hint="--backend",
            )
        _train_rllib(
            regime,
            timesteps,
            seed,
            output,
            address,
            num_env_runners,
            export=export,
            agents=agents,
            env_extra=extra_env,
            eval_episodes=eval_episodes,
            show_config=show_config,
            quiet=quiet,
            overwrite=overwrite,
        )
        return
    if agents is not None:
        raise typer.BadParameter(
            "--agents trains the multi-agent env: use it with --backend rllib",
            param_hint="--agents",
        )
    flags = {
        "algo": algo,
        "regime": regime,
        "total_timesteps": timesteps,
        "n_envs": n_envs,
        "vec_env": vec_env,
        "seed": seed,
        "output": output,
        "export": export,
        "learning_rate": learning_rate,
        "lr_schedule": lr_schedule,
        "n_steps": n_steps,
        "batch_size": batch_size,
        "n_epochs": n_epochs,
        "gamma": gamma,
        "gae_lambda": gae_lambda,
        "ent_coef": ent_coef,
        "vf_coef": vf_coef,
        "clip_range": clip_range,
        "max_grad_norm": max_grad_norm,
        "net_arch": parse_value(net_arch) if net_arch is not None else None,
        "activation": activation,
        "eval_freq": eval_freq,
        "eval_episodes": eval_episodes,
        "test_episodes": test_episodes,
        "checkpoint_freq": checkpoint_freq,
        "device": device,
        "log_interval": log_interval,
        "verbose": 0 if quiet else None,
    }
    overrides.update({key: value for key, value in flags.items() if value is not None})
    if backend == "torchrl":
        overrides["backend"] = "torchrl"
    if extra_env:
        overrides["env_kwargs"] = {**overrides.get("env_kwargs", {}), **extra_env}
    try:
        config = load_config(config_file, overrides)
    except ConfigError as error:
        raise typer.BadParameter(str(error)) from error
    try:  # the env's own checks name the argument (n_tasks=nan), before anything starts
        from asynctool_env.envs import AsyncToolEnv

        AsyncToolEnv(**config.resolved_env_kwargs()).close()
    except (TypeError, ValueError, KeyError) as error:
        raise typer.BadParameter(str(error), param_hint="--env-kwarg") from error
    console = _console()
    config, rounding = config.fitted_to_budget()
    config = config.model_copy(update={"output": config.output_dir()})
    if show_config:
        console.print_json(json.dumps(config.to_json()))
        return
    from asynctool_env.rl import MissingRLExtraError, require_rl

    try:
        require_rl(config.backend)
    except MissingRLExtraError as error:
        console.print(f"error: {error}", markup=False)
        raise typer.Exit(1) from error
    from asynctool_env.rl.training import train as run_training

    _check_fresh_run(config.output_dir(), "policy.pt", overwrite)

    if not quiet:
        env = config.resolved_env_kwargs()
        envs = (
            f"{config.n_envs} batched envs (TorchRL)"
            if config.backend == "torchrl"
            else f"{config.n_envs} {config.vec_env} envs"
        )
        console.print(
            f"training {config.algo} ({config.regime or 'custom'} regime, env {env}) for "
            f"{config.planned_timesteps()} steps on {envs}, seed {config.seed} -> "
            f"{config.output_dir()}/",
            markup=False,
        )
        if rounding:
            console.print(f"note: {rounding}", markup=False)
    try:
        result = run_training(config)
    except (ValueError, TypeError, FileNotFoundError) as error:
        # Env arguments are checked by the env itself, when the first one is built.
        raise typer.BadParameter(f"the run failed: {error}") from error
    best = result.best_eval or {}
    efficiency = best.get("efficiency")
    console.print(
        f"done: {result.timesteps} steps in {result.wall_time_s:.1f} s; best {config.eval_split} "
        f"efficiency {efficiency:.3f}; policy {result.policy_path}"
        if efficiency is not None
        else f"done: {result.timesteps} steps; policy {result.policy_path}",
        markup=False,
    )


def _evaluate_llm(
    name: str,
    config,
    model: str | None,
    base_url: str | None,
    concurrency: int,
    max_rounds: int,
    temperature: float,
    output: Path | None,
    request: dict | None = None,
    *,
    ray: str | None = None,
    endpoints: list | None = None,
) -> dict:
    from asynctool_env.benchmark import _instances, summarize
    from asynctool_env.chat.local import LOCAL_MODEL, LocalModelError, LocalServer
    from asynctool_env.chat.runner import LLMConfig, run_llm_eval

    if config.split == "procedural":
        raise typer.BadParameter("LLM agents play the test or dev split", param_hint="--split")
    if config.max_calls_per_turn != 1:
        raise typer.BadParameter("LLM agents use one call per turn", param_hint="--calls-per-turn")
    if name == "openai" and not model:
        raise typer.BadParameter("--agent openai needs --model", param_hint="--model")
    if name == "openai" and ray is None:
        _check_server(base_url)
    instances = _instances(config)
    assert instances is not None
    folder = output or Path("results") / (name if name == "local" else f"openai-{model}")
    console = _console()
    total = len(instances) * int((request or {}).get("trials", 1))
    console.print(f"{name}: {total} episodes -> {folder}/")
    every = max(1, total // 10)

    def progress(done: int) -> None:
        # A terminal redraws one line; a pipe or file gets a line every tenth of the run.
        if console.is_terminal:
            console.print(f"  {done}/{total} episodes", end="\r")
        elif done % every == 0 or done == total:
            console.print(f"  {done}/{total} episodes")

    def run(url: str | None, model_name: str, label: str) -> dict:
        options = dict(request or {})
        retry_failed = bool(options.pop("retry_failed", False))
        trials = int(options.pop("trials", 1))
        llm = LLMConfig(
            model=model_name,
            base_url=url,
            temperature=temperature,
            concurrency=concurrency,
            max_rounds=max_rounds,
            label=label,
            **options,
        )
        common = {
            "seed": config.seed,
            "latency": config.latency,
            "progress": progress,
            "retry_failed": retry_failed,
            "notes": lambda text: console.print(f"note: {text}", markup=False),
            "tool_capacity": config.tool_capacity,
            "trials": trials,
        }
        if ray is None:
            records = run_llm_eval(llm, instances, folder, **common)
        else:
            records = _llm_over_ray(llm, endpoints or [], instances, folder, ray, common)
        summary = summarize(records)
        errors = [r.details.get("error") for r in records if r.details.get("failed")]
        if errors:
            where = url or "https://api.openai.com/v1"
            summary["failure"] = f"{errors[0]} (server {where})"
        if console.is_terminal:
            console.print()
        return summary

    try:
        if name == "local":
            with LocalServer() as server:
                return run(server.base_url, LOCAL_MODEL, "smollm2-135m")
        return run(base_url, model or "", f"openai:{model}")
    except LocalModelError as error:
        raise typer.BadParameter(str(error), param_hint="--agent") from error
    except UnicodeDecodeError as error:  # resuming a folder whose files are not ours
        raise typer.BadParameter(
            f"the results in {folder} are not UTF-8 text ({error.reason}): give another "
            "--output, or repair them",
            param_hint="--output",
        ) from error


def _check_server(base_url: str | None) -> None:
    """Fail at once, naming the URL and what to check, when the model's server cannot be
    reached or no API key is set for OpenAI's own (instead of retrying every episode)."""
    import socket
    from urllib.parse import urlsplit

    if base_url is not None and not base_url.strip():
        raise typer.BadParameter(
            "an empty --base-url would send the requests to OpenAI's API: give the server's URL",
            param_hint="--base-url",
        )
    if base_url is None and not os.environ.get("OPENAI_API_KEY"):
        raise typer.BadParameter(
            "--agent openai without --base-url calls OpenAI's API: set OPENAI_API_KEY, or "
            "pass --base-url of an OpenAI-compatible server (asynctool serve-local, "
            "serve-scripted, vLLM, llama.cpp...)",
            param_hint="--base-url",
        )
    url = base_url or "https://api.openai.com/v1"
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = None
    if parts.scheme not in ("http", "https") or not parts.hostname or port is None:
        raise typer.BadParameter(
            f"{url!r} is not an http(s) URL with a host and a valid port, e.g. "
            "http://127.0.0.1:8000/v1",
            param_hint="--base-url",
        )
    try:
        with socket.create_connection((parts.hostname or "", port), timeout=5):
            pass
    except OSError as error:
        raise typer.BadParameter(
            f"cannot reach the model's server at {url} ({error}): check that the server "
            "runs and listens there, the --base-url, and the network",
            param_hint="--base-url",
        ) from error


def _llm_over_ray(llm, endpoints: list, instances, folder: Path, address: str, common: dict):
    """An LLM evaluation over Ray (one actor per endpoint; the run's own URL when no
    ``--endpoint`` was given)."""
    try:
        from asynctool_env.distributed import Endpoint, evaluate_llm_ray
    except ImportError as error:  # pragma: no cover - depends on the install
        raise typer.BadParameter(str(error), param_hint="--ray") from error
    chosen = endpoints or [Endpoint(llm.base_url, llm.concurrency)]
    try:
        return evaluate_llm_ray(llm, chosen, instances, folder, address=address, **common)
    except (RuntimeError, ConnectionError) as error:
        raise typer.BadParameter(f"Ray: {error}", param_hint="--ray") from error


cluster_app = typer.Typer(help="A local Ray cluster on loopback (needs the ray extra).")
app.add_typer(cluster_app, name="cluster")


@cluster_app.command("up")
def cluster_up(
    port: Annotated[int, typer.Option(min=1, max=65535, help="The head node's port.")] = 6379,
    num_cpus: Annotated[int, typer.Option(min=1, help="CPUs the head node offers.")] = 2,
    host: Annotated[str, typer.Option(help="The address to bind (loopback by default).")] = (
        "127.0.0.1"
    ),
) -> None:
    """Start a Ray head node; jobs connect with 'asynctool eval --ray ADDRESS'. On more
    machines: 'ray start --address ADDRESS' on each (see the README)."""
    from asynctool_env.distributed import cluster_up as start

    try:
        address = start(port=port, num_cpus=num_cpus, host=host)
    except (RuntimeError, ImportError) as error:
        raise typer.BadParameter(str(error)) from error
    _console().print(f"Ray head node at {address} ({num_cpus} CPUs); stop it with "
                     f"'asynctool cluster down --port {port}'")  # fmt: skip


@cluster_app.command("down")
def cluster_down(
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="Stop only the cluster on this port."),
    ] = None,
) -> None:
    """Stop the head nodes 'asynctool cluster up' started on this machine (other Ray
    clusters and processes keep running)."""
    from asynctool_env.distributed import cluster_down as stop

    try:
        stopped = stop(port)
    except ImportError as error:
        raise typer.BadParameter(str(error)) from error
    if not stopped:
        where = "" if port is None else f" on port {port}"
        _console().print(f"no cluster started by 'asynctool cluster up' runs here{where}")
    for address in stopped:
        _console().print(f"stopped the Ray head node at {address}")


@app.command("serve-local")
def serve_local(
    port: Annotated[int | None, typer.Option(help="Loopback port (default: a free one).")] = None,
) -> None:
    """Serve SmolLM2-135M-Instruct with llama.cpp on loopback until Ctrl-C."""
    import time

    from asynctool_env.chat.local import LOCAL_MODEL, LocalModelError, LocalServer

    console = _console()
    try:
        with LocalServer(port=port) as server:
            console.print(f"serving {LOCAL_MODEL} at {server.base_url} (Ctrl-C stops it)")
            while server.running:
                time.sleep(1)
    except LocalModelError as error:
        raise typer.BadParameter(str(error)) from error
    except KeyboardInterrupt:
        console.print("stopped")


@app.command("serve-scripted")
def serve_scripted(
    split: Annotated[str, typer.Option(help="test or dev: the instances it knows.")] = "dev",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: a free one).")] = 8011,
    host: Annotated[
        str, typer.Option(help="Interface (default loopback).", callback=_host)
    ] = "127.0.0.1",
    seed: Annotated[int, typer.Option(min=0, help="The evaluation's --seed.")] = 0,
    trials: Annotated[int, typer.Option(min=1, max=64, help="The evaluation's --trials.")] = 1,
    latency: Annotated[
        str | None, typer.Option(help="The evaluation's --latency (default: each instance's).")
    ] = None,
    tool_capacity: ToolCapacity = None,
    max_rounds: Annotated[
        int, typer.Option(min=1, help="The evaluation's --max-rounds.")
    ] = DEFAULT_MAX_ROUNDS,
    notifications: Annotated[
        str,
        typer.Option(help="The evaluation's --notifications.", callback=_notification_mode),
    ] = "push",
) -> None:
    """Serve the scripted oracle as an OpenAI-compatible model until Ctrl-C: the exact
    optimum of each episode, as tool calls. Stateless per conversation (the same
    conversation always gets the same reply), so repeated evaluations and --trials score
    as the oracle does. Give it the evaluation's settings; then, e.g.:
    asynctool eval -a openai --base-url http://127.0.0.1:8011/v1 --model scripted --split dev"""
    import time

    from asynctool_env.chat.scripted import serve_scripted as serve

    _check_latency(latency)
    if split not in ("test", "dev"):
        raise typer.BadParameter("choose test or dev", param_hint="--split")
    console = _console()
    console.print(f"playing the oracle on every {split} instance ({trials} trial(s) each)...")
    settings = {"latency": latency, "tool_capacity": tool_capacity, "max_rounds": max_rounds}
    try:
        server, base_url = serve(
            None, split, seed=seed, trials=trials, host=host, port=port,
            notifications=notifications, **settings,
        )  # fmt: skip
    except OSError as error:
        raise typer.BadParameter(f"cannot listen on {host}:{port}: {error}") from error
    console.print(f"serving the scripted oracle at {base_url} (Ctrl-C stops it)")
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        server.shutdown()
        console.print("stopped")


@app.command("verifiers-venv")
def verifiers_venv(
    path: Annotated[
        Path | None,
        typer.Option(
            help="Where (default: $ASYNCTOOL_VERIFIERS_VENV or ~/.cache/asynctool/verifiers-venv)."
        ),
    ] = None,
) -> None:
    """Build a venv with the verifiers extra (it cannot share one with openenv: they pin
    incompatible mcp versions) and print the vf-eval command that plays AsyncTool offline."""
    from asynctool_env.integrations.venvs import (
        build_verifiers_venv,
        verifiers_venv_path,
        vf_eval_command,
    )

    console = _console()
    venv = path or verifiers_venv_path()
    try:
        build_verifiers_venv(venv, say=lambda text: console.print(text, markup=False))
    except (RuntimeError, OSError, subprocess.CalledProcessError) as error:
        raise typer.BadParameter(str(error), param_hint="--path") from error
    console.print(f"ready: {venv}", markup=False)
    console.print("Play the dev split offline (the scripted oracle as the model):", markup=False)
    console.print("  asynctool serve-scripted --port 8011 &", markup=False)
    console.print("  " + vf_eval_command(venv, "http://127.0.0.1:8011/v1"), markup=False)
    console.print("Any OpenAI-compatible server: change --client.base-url, -m and the key.")


@app.command("serve-openenv")
def serve_openenv(
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    host: Annotated[
        str,
        typer.Option(help="Interface (default loopback; 0.0.0.0 in a container).", callback=_host),
    ] = "127.0.0.1",
    max_sessions: Annotated[
        int, typer.Option(min=1, max=1024, help="WebSocket sessions (episodes) at once.")
    ] = 8,
    latency: Annotated[
        str | None, typer.Option(help="Force one latency profile (default: each instance's).")
    ] = None,
    tool_capacity: ToolCapacity = None,
    max_rounds: Annotated[
        int, typer.Option(min=1, help="Rounds before an episode ends.")
    ] = DEFAULT_MAX_ROUNDS,
    notifications: Annotated[
        str,
        typer.Option(help="'push' or 'pull' (see asynctool play).", callback=_notification_mode),
    ] = "push",
    idle_timeout: Annotated[
        float,
        typer.Option(
            min=1.0,
            help="Seconds a WebSocket session may stay silent before it is closed and its "
            "slot freed.",
        ),
    ] = 300.0,
) -> None:
    """Serve AsyncTool-Chat-v0 as an OpenEnv environment (HTTP + WebSocket; one episode per
    session) until Ctrl-C. Needs the openenv extra."""
    try:
        from asynctool_env.integrations.openenv_server import serve
    except ImportError as error:
        raise typer.BadParameter(
            f"serving OpenEnv needs the openenv extra: pip install 'asynctool-env[openenv]' "
            f"({error})"
        ) from error
    settings = {
        "latency": _check_latency(latency),
        "tool_capacity": tool_capacity,
        "max_rounds": max_rounds,
        "notifications": notifications,
    }
    _console().print(f"serving AsyncTool (OpenEnv) at http://{host}:{port} (Ctrl-C stops it)")
    serve(host=host, port=port, max_sessions=max_sessions, idle_timeout=idle_timeout, **settings)


@app.command()
def show(
    result: Annotated[Path, typer.Argument(help="A result folder of an LLM run.")],
    episode: Annotated[int, typer.Option(help="Instance index of the episode to show.")] = 0,
    trial: Annotated[int, typer.Option(min=0, help="Which trial (runs with --trials).")] = 0,
    width: Annotated[
        int, typer.Option(min=20, max=1_000_000, help="Characters per message before cutting.")
    ] = 600,
) -> None:
    """Print an LLM episode's conversation: rounds, calls, acknowledgements, arrivals."""
    from asynctool_env.chat.transcript import TranscriptError, render_transcript

    try:
        text = render_transcript(result, episode, width=width, trial=trial)
    except TranscriptError as error:
        raise typer.BadParameter(str(error), param_hint="RESULT") from error
    _console().print(text, markup=False, highlight=False)


def _notification_mode(value: str) -> str:
    from asynctool_env.chat.meta import NOTIFICATION_MODES

    if value not in NOTIFICATION_MODES:
        raise typer.BadParameter(f"choose {' or '.join(NOTIFICATION_MODES)}, not {value!r}")
    return value


@app.command()
def play(
    split: Annotated[str, typer.Option(help="test or dev.")] = "dev",
    instance: Annotated[
        int | None, typer.Option(help="Instance index in the split (default: drawn by the seed).")
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Episode seed: stochastic latencies, and the instance without --instance "
            "(default: 0 with --instance, else random; printed, to replay).",
        ),
    ] = None,
    latency: Annotated[
        str | None, typer.Option(help="Force one latency profile (default: the instance's own).")
    ] = None,
    calls_per_turn: Annotated[
        str, typer.Option(help="Calls per reply: a number or 'unlimited'.")
    ] = "1",
    max_rounds: Annotated[
        int, typer.Option(min=1, help="Rounds before the end.")
    ] = DEFAULT_MAX_ROUNDS,
    notifications: Annotated[
        str,
        typer.Option(
            help="How arrivals are told: 'push' (in the next user message) or 'pull' (read "
            "with the check_notifications / wait_for_response tools).",
            callback=_notification_mode,
        ),
    ] = "push",
    tool_capacity: ToolCapacity = None,
    replies: Annotated[
        Path | None,
        typer.Option(
            help="Play these replies, one per line (text, or a JSON assistant message), "
            "instead of asking; blank lines and # comments are skipped."
        ),
    ] = None,
    transcript: Annotated[
        Path | None,
        typer.Option(help="Write the conversation and the score to this .jsonl.", callback=_file),
    ] = None,
) -> None:
    """Play an episode yourself in the model's seat: the prompt, the tools, your replies, the
    score. Type :help at the prompt for how to write calls."""
    from asynctool_env.chat.play import (
        PlaySettingError,
        open_episode,
        play_interactive,
        play_replies,
        read_replies_file,
        terminal_input,
    )

    try:
        calls = _parse_calls(calls_per_turn)
    except typer.BadParameter as error:
        raise typer.BadParameter(error.message, param_hint="--calls-per-turn") from None
    try:
        env, index, seed = open_episode(
            split=split,
            instance=instance,
            seed=seed,
            latency=_check_latency(latency),
            max_calls_per_turn=calls,
            max_rounds=max_rounds,
            notifications=notifications,
            tool_capacity=tool_capacity,
        )
        scripted = None if replies is None else read_replies_file(replies)
    except PlaySettingError as error:
        raise typer.BadParameter(str(error), param_hint=error.param) from error
    except (OSError, UnicodeDecodeError) as error:
        raise typer.BadParameter(
            f"cannot read {replies}: {error}", param_hint="--replies"
        ) from error
    where = {"index": index, "seed": seed, "split": split, "transcript": transcript}
    if scripted is None:
        play_interactive(env, _console(), terminal_input(), **where)
    else:
        play_replies(env, _console(), scripted, **where)


def _draw_plots(records, folder: Path) -> list[Path]:
    from asynctool_env.plots import (
        plot_efficiency_by_latency,
        plot_success_by_tasks,
        plot_timelines,
    )

    # The timeline shows the first instance, as every agent played it.
    first = records[0].instance_id
    same = [r for r in records if r.instance_id == first]
    paths = [
        plot_timelines(same, folder / "timeline.png"),
        plot_efficiency_by_latency(records, folder / "efficiency_by_latency.png"),
        plot_success_by_tasks(records, folder / "success_by_tasks.png"),
    ]
    for path in paths:
        _console().print(f"plot: {path}")
    return paths


@app.command()
def report(
    results: Annotated[list[Path], typer.Argument(help="Result folders or episodes.jsonl files.")],
    output: Annotated[Path, typer.Option(help="Folder for the report.", callback=_folder)] = Path(
        "results/report"
    ),
) -> None:
    """Leaderboard markdown and plots (timeline, efficiency vs latency, success vs tasks).

    Each result folder is a run: an agent name found in several runs is shown once per run
    ("ppo (my_run)"), and a warning says when the rows come from different splits, played
    different numbers of episodes or were scored by different versions."""
    from asynctool_env.benchmark import grouped_summaries, leaderboard_markdown
    from asynctool_env.results import label_runs, read_runs

    try:
        runs = read_runs(results)
    except (FileNotFoundError, ValueError) as error:
        raise typer.BadParameter(str(error), param_hint="RESULTS") from error
    records, cautions = label_runs(runs)
    if not records:
        raise typer.BadParameter("the results hold no episodes", param_hint="RESULTS")
    output.mkdir(parents=True, exist_ok=True)
    summaries = list(grouped_summaries(records, lambda r: r.agent).values())
    splits = {summary.get("split") for summary in summaries}
    title = "Leaderboard" + (f" ({splits.pop()} split)" if len(splits) == 1 else "")
    lines = [leaderboard_markdown(summaries, title)]
    lines += [f"> **Caution:** {caution}." for caution in cautions]
    lines += ["", "### Efficiency by latency profile", ""]
    lines += ["| agent | latency | episodes | efficiency |", "|---|---|---:|---:|"]
    for (agent, latency), summary in grouped_summaries(
        records, lambda r: (r.agent, r.latency)
    ).items():
        efficiency = summary["efficiency"]
        shown = f"{efficiency:.3f}" if efficiency is not None else "-"
        lines.append(f"| {agent} | {latency} | {summary['episodes']} | {shown} |")
    (output / "leaderboard.md").write_text("\n".join(lines) + "\n")
    console = _console()
    _print_leaderboard(console, summaries, title)
    for caution in cautions:
        console.print(f"[yellow]caution:[/yellow] {caution}")
    _draw_plots(records, output)
    console.print(f"report written to {output}/")


ABLATION_LATENCIES = ("sync", "fixed:1", "fixed:2", "fixed:3", "stochastic")


@app.command()
def ablate(
    agent: Annotated[str, typer.Option("--agent", "-a", help="Agent to ablate.")] = "critical_path",
    split: Annotated[str, typer.Option(help="test or dev.")] = "test",
    episodes: Annotated[int | None, typer.Option(min=1, help="Only the first N episodes.")] = None,
    workers: Workers = 1,
    output: Annotated[
        Path | None, typer.Option(help="Also write the table as markdown.", callback=_file)
    ] = None,
) -> None:
    """The paper's ablations for one agent: latency profile, and 2 vs 3 tasks."""
    from asynctool_env.benchmark import EvalConfig, format_value, summarize

    _check_agents([agent])
    if split not in ("test", "dev"):
        raise typer.BadParameter("choose test or dev", param_hint="--split")
    console = _console()
    rows: list[tuple[str, dict]] = []
    settings: list[tuple[str, dict]] = [
        (f"latency={name}", {"latency": name}) for name in ABLATION_LATENCIES
    ]
    settings += [(f"{count} tasks", {"n_tasks": count}) for count in (2, 3)]
    for label, change in settings:
        config = EvalConfig(split=split, episodes=episodes, **change)
        records, _ = _evaluate_agents([agent], config, workers, console)
        rows.append((label, summarize(records)))
    columns = [
        ("setting", None, ""),
        ("episodes", "episodes", "int"),
        ("overall", "instance_success", "pct"),
        ("efficiency", "efficiency", "ratio"),
        ("rounds", "rounds", "num"),
        ("optimal", "optimal_rounds", "num"),
        ("sequential", "sequential_rounds", "num"),
        ("speedup", "speedup_vs_sequential", "ratio"),
        ("idle", "idle_ratio", "ratio"),
    ]
    table = Table(title=f"Ablations: {agent} on the {split} split")
    for name, _, kind in columns:
        table.add_column(name, justify="left" if kind == "" else "right")
    lines = ["| " + " | ".join(name for name, _, _ in columns) + " |"]
    lines.append("|---" + "|---:" * (len(columns) - 1) + "|")
    for label, summary in rows:
        cells = [label] + [
            str(summary[key]) if kind == "int" else format_value(summary[key], kind)
            for _, key, kind in columns[1:]
        ]
        table.add_row(*cells)
        lines.append("| " + " | ".join(cells) + " |")
    console.print(table)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text("\n".join(lines) + "\n")
        console.print(f"table written to {output}")


data_app = typer.Typer(help="Build and inspect the benchmark dataset.", no_args_is_help=True)
app.add_typer(data_app, name="data")


@data_app.command("build")
def data_build(
    output: Annotated[
        Path | None,
        typer.Option(
            help="Where to write the file (default: the file shipped in the package).",
            callback=_file,
        ),
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
        f"replay, {report.rejected_size} too short or long, {report.rejected_shared_calls} "
        f"with a gold call shared by two tasks, {report.rejected_conflicts} with tasks that "
        f"touch one object of their world, {report.duplicates} duplicates"
    )
    audited = ", ".join(f"{kind} {n}" for kind, n in sorted(report.rejected_audit.items()))
    console.print(f"knowability audit dropped tasks with findings: {audited or 'none'}")


@data_app.command("audit")
def data_audit(
    path: Annotated[
        Path | None, typer.Option(help="Dataset file to audit (default: the shipped one).")
    ] = None,
    details: Annotated[int, typer.Option(help="Findings to list (0: counts only).")] = 20,
) -> None:
    """Run the knowability audit on a dataset file; exits 1 when it finds anything."""
    from asynctool_env.dataset import DATASET_PATH
    from asynctool_env.dataset.audit import audit_instances
    from asynctool_env.instances import InstanceFileError, load_instances

    source = path or DATASET_PATH
    try:
        instances = load_instances(source)
    except (FileNotFoundError, InstanceFileError) as error:
        raise typer.BadParameter(str(error), param_hint="--path") from error
    report = audit_instances(instances)
    console = _console()
    table = Table(title=f"Knowability audit of {source.name} ({report.tasks} distinct tasks)")
    table.add_column("finding")
    table.add_column("count", justify="right")
    for kind, count in report.counts.items():
        table.add_row(kind, str(count))
    console.print(table)
    for finding in report.findings[:details]:
        console.print(f"{finding.kind}: {finding.task_id}: {finding.detail}", markup=False)
    raise typer.Exit(0 if report.clean else 1)


@data_app.command("paraphrase")
def data_paraphrase(
    model: Annotated[str, typer.Option(help="Model name on the OpenAI-compatible server.")],
    output: Annotated[
        Path, typer.Option(help="Where to write the paraphrased file.", callback=_file)
    ],
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
