"""Readable transcripts of LLM episodes (``asynctool show``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class TranscriptError(ValueError):
    """No such result folder, transcript file or episode."""


def _cut(text: str, width: int) -> str:
    text = text.strip()
    return text if len(text) <= width else text[:width] + f" ... [{len(text) - width} more chars]"


def load_transcript(folder: str | Path, episode: int, trial: int = 0) -> list[dict[str, Any]]:
    """The messages of instance ``episode`` (trial ``trial``) in ``folder/transcripts.jsonl``."""
    return list(_entry(folder, episode, trial).get("messages", []))


def task_verdicts(folder: str | Path, episode: int, trial: int = 0) -> list[dict[str, Any]]:
    """The per-task verdicts of an episode: from its transcript entry (``asynctool play``)
    or from the episode record beside it (``asynctool eval``); empty for older results."""
    entry = _entry(folder, episode, trial)
    if entry.get("task_results"):
        return list(entry["task_results"])
    record = episode_record(folder, episode, trial)
    return list((record.get("details") or {}).get("task_results") or [])


def episode_record(folder: str | Path, episode: int, trial: int = 0) -> dict[str, Any]:
    """The episode's record in ``episodes.jsonl`` beside the transcripts (empty if none)."""
    path = Path(folder)
    records = (path if path.is_dir() else path.parent) / "episodes.jsonl"
    if not records.is_file():
        return {}
    try:
        text = records.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if (
            isinstance(record, dict)
            and record.get("instance_index") == episode
            and record.get("trial", 0) == trial
        ):
            return record
    return {}


def _entry(folder: str | Path, episode: int, trial: int = 0) -> dict[str, Any]:
    path = Path(folder)
    path = path / "transcripts.jsonl" if path.is_dir() else path
    if not path.is_file():
        raise TranscriptError(f"no transcripts.jsonl at {folder}")
    found = []
    try:
        return _find(path, episode, trial, found)
    except OSError as error:
        raise TranscriptError(f"cannot read {path}: {error.strerror or error}") from None


def _find(path: Path, episode: int, trial: int, found: list) -> dict[str, Any]:
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                raise TranscriptError(f"{path}:{number}: not JSON") from None
            if not isinstance(entry, dict):
                raise TranscriptError(f"{path}:{number}: not a transcript entry")
            found.append(entry.get("instance_index"))
            if entry.get("instance_index") == episode and entry.get("trial", 0) == trial:
                return dict(entry)
    known = sorted(index for index in found if index is not None)[:20]
    raise TranscriptError(
        f"no episode {episode} (trial {trial}) in {path}; episodes there: {known}"
    )


def render_transcript(folder: str | Path, episode: int, *, width: int = 600, trial: int = 0) -> str:
    """The conversation as text: one block per message, rounds marked; a failed episode
    (server trouble: left out of the scores) says so, and why, first and last."""
    lines: list[str] = []
    details = episode_record(folder, episode, trial).get("details") or {}
    failed = (
        f"*** FAILED episode (server trouble, not scored): {details.get('error') or 'no reason'}"
        if details.get("failed")
        else None
    )
    if failed:
        lines.append(failed)
    turn = 0
    for message in load_transcript(folder, episode, trial):
        role = message.get("role", "?")
        if role == "assistant":
            lines.append(f"--- round {turn}: assistant")
            turn += 1
            if message.get("content"):
                lines.append(_cut(str(message["content"]), width))
            for call in message.get("tool_calls") or []:
                function = call.get("function", {})
                lines.append(
                    f"  -> {call.get('id')}: {function.get('name')}"
                    f"({_cut(str(function.get('arguments')), width)})"
                )
        elif role == "tool":
            lines.append(
                f"  <- {message.get('tool_call_id')}: {_cut(str(message.get('content')), width)}"
            )
        else:
            lines.append(f"--- {role}")
            lines.append(_cut(str(message.get("content")), width * 4))
    verdicts = task_verdicts(folder, episode, trial)
    if verdicts:
        lines.append("--- verdicts")
        for verdict in verdicts:
            mark = "right" if verdict.get("success") else "wrong"
            lines.append(f"{verdict.get('task_id')}: {mark}; answer {verdict.get('answer')!r}")
            lines.extend(f"    {reason}" for reason in verdict.get("reasons") or [])
    if failed:
        lines.append(failed)
    return "\n".join(lines) + "\n"
