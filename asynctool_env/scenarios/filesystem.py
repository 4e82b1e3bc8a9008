"""Filesystem: list, read, inspect and search files; write, copy, move and checksum; compress.

The world
---------
A :class:`FilesystemWorld` is one user's home directory, ``/home/<user>``: the user (from
:data:`USERS`), their two software projects (from :data:`PROJECTS`), the year of their
photo folder, the moment "now" and a ``seed``. The tree itself is *not stored*: which
documents and downloads exist, how many photos there are, every file's size, modification
time and text content are a pure function of the world, derived from hashes when a tool
first needs them (:func:`_tree`, cached per world). So building a world costs a few
microseconds, and a response depends only on the world (that tree and what calls changed
in it, see *State*) and the arguments.

A home holds ``documents/`` (with a private ``taxes/`` folder), ``downloads/``,
``photos/<year>/``, ``projects/<name>/`` (a small Python package each: README, pyproject,
sources, tests), ``logs/``, two empty folders ``backups/`` and ``archive/``, and the dot
files ``.bashrc`` and ``.gitconfig``. Text files (notes, CSV, Markdown, code, logs) have
real content; binary ones (PDF, JPEG, DMG...) only sizes and checksums.

The tools
---------
============================== ======= =================================================
``list_directory``              0       a folder's entries, by name
``get_file_metadata``           0       size, modification time, permissions, type
``read_text_file``              1       the content of a text file
``find_files_by_pattern``       1       files under a folder whose name matches a glob
``compute_file_checksum``       1       md5, sha1 or sha256 of a file
``write_text_file``             2       writes a text file; returns its size and sha256
``copy_file_to_directory``      2       copies a file; returns the new path and sha256
``move_file_to_directory``      2       moves a file; returns the new path and sha256
``compress_directory``          3       starts compressing a folder (zip, tar.gz, tar.xz)
``get_compression_job_status``  1       the finished archive: path, sizes, sha256
============================== ======= =================================================

(the middle column is the declared latency in rounds: metadata 0, reads and hashing 1,
writes, copies and moves 2, compressing a folder 3.)

State
-----
The tree the seed describes is never stored or changed. What calls do to it is kept in the
world's :class:`~asynctool_env.core.state.WorldState`, and every tool reads the tree through
it (the state's entry for a path wins over the seed's file):

* ``("file", folder, suffix, name)``: every file a call wrote, copied, moved or archived,
  under the folder that holds it and the name's suffix from its last dot (``.csv``, ``.gz``;
  ``""`` without a dot) (path, size, modification time, permissions, MIME type, the text of
  a text file or the digests of a binary one, and its ``revision``: how many versions of
  the file at that path there have been, the seed's version counting as 1). A seed file
  moved away leaves ``{"removed": true, "moved_to": ...}`` there instead; a file a call
  made and then moved away is simply deleted;
* ``("job", CMP-id)``: every compression job (the folder, format and archive it made).

What each write does: ``write_text_file`` creates or replaces the file (a new revision,
even with the same text; a replaced file keeps its permissions). ``copy_file_to_directory``
creates the copy (or replaces a file of that name there) with the source's content and a
new modification time; ``move_file_to_directory`` does the same keeping the file's time,
permissions and revision, and removes the source. Copying or moving a file onto itself is
refused. ``compress_directory`` writes the archive beside the folder at once (a call takes
effect when it is made; ``get_compression_job_status`` reports it completed) and records
its job: compressing the folder again in the same format makes a second job, with a new
id, whose archive replaces the first (revision 2). Every call is made at the world's "now",
which is the modification time of what it writes.

What each read sees: ``read_text_file``, ``get_file_metadata`` and
``compute_file_checksum`` the file at the path as calls left it (a copy has its source's
checksums; an archive's SHA-256 is the one its job reports); ``list_directory`` a folder's
files as they are now (one scan of the folder); ``compress_directory`` the files under a
folder as they are now (one scan per folder of the tree under it);
``find_files_by_pattern`` the same, reading of each folder only what its pattern can match:
the one key of a name without wildcards, the one suffix of a pattern ending in a literal
``.ext`` (``*.csv``, ``test_*.py``), the whole folder otherwise. An archive of a folder as
the seed describes it is the archive dataset v2 described; what calls changed under the
folder changes its bytes (size, SHA-256). Folders themselves are the seed's: no tool
creates or removes one, and a folder keeps the modification time the seed gives it (so a
listing of a folder reads that folder only, not its subfolders).

Keys by folder and suffix keep tasks apart: listing a folder conflicts only with a task
that writes into that folder, archiving one only with a task that writes under it,
searching for ``*.csv`` only with a task that writes a ``.csv`` file under the folder
searched, and reading a file only with a task that writes that file.

New ids come from the content and the number of identical objects made before: an operation
id is :meth:`~asynctool_env.core.state.WorldState.new_id` of the verb and the two paths, as
dataset v2 hashed them, and the first compression job of a folder in a format has the id v2
gave it (the folder's index in the tree, the format's code, check digits from the seed),
later ones check digits that also count the earlier jobs. A job id is accepted only when
that job was started. The ids and paths a later step needs (which files match, which file
is the largest, the job id) are only learnt from an earlier response.

The templates
-------------
======================= ===== ==============================================================
``read_largest_match``   2     find_files_by_pattern -> read_text_file (a chain)
``backup_and_verify``    2     compute_file_checksum (md5 or sha1: the copy states the
                               SHA-256) and copy_file_to_directory of a given binary file,
                               independent of each other
``archive_folder``       2     compress_directory -> get_compression_job_status (a chain)
``checksum_manifest``    3     two checksums in parallel joined by write_text_file (fan-in)
``tidy_downloads``       2     list_directory -> move_file_to_directory (a chain)
``project_report``       3     find *.py files and read the README in parallel, then write a
                               report joining both (fan-in)
======================= ===== ==============================================================

Evolution hooks
---------------
A constant ``path`` or ``source`` whose file name is unique in the home directory is
revealed by ``find_files_by_pattern`` (lookups). Follow-ups: the checksum of the first file
a search found (asked for), and three writes that record a value a step returned in a file
of its own (a checksum, the finished archive's SHA-256, a moved file's new path). Side
steps ask for the checksum of a photo (a path no template learns from a response) or for
how many entries a folder holds (downloads/, logs/, documents/taxes/ or the photo folder:
folders no template or follow-up writes into, so the listing, which nothing orders after the
task's writes, sees the same folder in any order). Metadata is never asked for: permissions
and MIME types can be guessed, and sizes and times are already in listings.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import functools
import hashlib
import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from asynctool_env.core.scenario import (
    FollowUpRule,
    LookupRule,
    Scenario,
    SideStepRule,
    StepSpec,
    TaskSpec,
    is_constant,
    world_digest,
)
from asynctool_env.core.state import Key, WorldState
from asynctool_env.core.tools import ToolError, tool

USERS: tuple[str, ...] = (
    "maya",
    "liam",
    "sofia",
    "noah",
    "ava",
    "lucas",
    "emma",
    "omar",
    "hana",
    "diego",
    "nina",
    "raj",
)
PROJECTS: tuple[str, ...] = (
    "weather-api",
    "budget-tracker",
    "photo-sorter",
    "chess-engine",
    "recipe-box",
    "habit-tracker",
    "invoice-bot",
    "trail-mapper",
    "podcast-feed",
    "quiz-game",
)
ALGORITHMS: tuple[str, ...] = ("md5", "sha1", "sha256")
ARCHIVE_FORMATS: dict[str, tuple[int, float]] = {
    # format: (code in job ids, size factor relative to tar.gz)
    "zip": (0, 1.06),
    "tar.gz": (1, 1.0),
    "tar.xz": (2, 0.88),
}
MAX_CONTENT = 100_000
_NOW = dt.datetime(2025, 6, 2, 18, 0)
_JOB_ID = re.compile(r"^CMP-([0-9A-F]{2})([0-2])([0-9A-F]{3})$")

#: Binary files: MIME type and size range in bytes.
_BINARY: dict[str, tuple[str, int, int]] = {
    ".pdf": ("application/pdf", 60_000, 2_400_000),
    ".docx": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        20_000,
        300_000,
    ),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", 15_000, 250_000),
    ".jpg": ("image/jpeg", 1_200_000, 6_000_000),
    ".png": ("image/png", 200_000, 3_000_000),
    ".dmg": ("application/x-apple-diskimage", 40_000_000, 180_000_000),
    ".mp3": ("audio/mpeg", 2_000_000, 9_000_000),
    ".zip": ("application/zip", 1_000_000, 50_000_000),
}
_TEXT_TYPES: dict[str, str] = {
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".csv": "text/csv",
    ".py": "text/x-python",
    ".toml": "application/toml",
    ".yaml": "application/yaml",
    ".log": "text/plain",
    ".1": "text/plain",
}
#: Compressed size / size, by MIME type (text compresses well, media hardly at all).
_RATIO: dict[str, float] = {
    "application/pdf": 0.93,
    "image/jpeg": 0.985,
    "image/png": 0.99,
    "application/x-apple-diskimage": 0.99,
    "audio/mpeg": 0.98,
    "application/zip": 1.0,
    "application/gzip": 1.0,
    "application/x-xz": 1.0,
}
#: MIME type of the archive file each format makes.
_ARCHIVE_MIME: dict[str, str] = {
    "zip": "application/zip",
    "tar.gz": "application/gzip",
    "tar.xz": "application/x-xz",
}
_DOCUMENTS: tuple[str, ...] = (
    "notes.txt",
    "todo.md",
    "meeting_minutes.md",
    "recipes.md",
    "budget_2025.csv",
    "contacts.csv",
    "resume.pdf",
    "lease_agreement.pdf",
    "cover_letter.docx",
    "family_budget.xlsx",
)
_DOWNLOADS: tuple[str, ...] = (
    "dataset_sales.csv",
    "customers_export.csv",
    "invoice_4471.pdf",
    "installer_v2.3.dmg",
    "wallpaper.png",
    "paper_transformers.pdf",
    "song_demo.mp3",
    "old_photos.zip",
)
_NOTE_LINES: tuple[str, ...] = (
    "Call the landlord about the heating",
    "Renew passport before August",
    "Book dentist appointment",
    "Pick up dry cleaning on Thursday",
    "Send slides to the team",
    "Buy a birthday present for Mum",
    "Cancel the unused gym membership",
    "Back up the laptop",
    "Pay the electricity bill",
    "Water the plants on the balcony",
)
_DISHES: tuple[str, ...] = (
    "Shakshuka",
    "Mushroom risotto",
    "Pad thai",
    "Lentil soup",
    "Banana bread",
    "Chili con carne",
)
_PEOPLE: tuple[str, ...] = (
    "Maya Patel",
    "Liam O'Brien",
    "Sofia Rossi",
    "Noah Kim",
    "Ava Johnson",
    "Lucas Silva",
    "Emma Dubois",
    "Omar Haddad",
)
_VENDORS: tuple[str, ...] = ("Office Depot", "Staples", "Amazon", "Apple Store", "IKEA")
_BUDGET: tuple[str, ...] = ("rent", "groceries", "transport", "utilities", "leisure")
_REGIONS: tuple[str, ...] = ("north", "south", "east", "west")
_COUNTRIES: tuple[str, ...] = ("DE", "FR", "US", "GB", "JP", "BR")
_LOG_EVENTS: tuple[tuple[str, str], ...] = (
    ("INFO", "server started on port 8080"),
    ("INFO", "GET /health 200 3ms"),
    ("INFO", "user login succeeded"),
    ("WARNING", "slow query took 1.8s"),
    ("INFO", "cache refreshed (412 keys)"),
    ("ERROR", "database connection timed out"),
    ("WARNING", "disk usage at 85%"),
    ("INFO", "scheduled backup finished"),
    ("ERROR", "failed to send email: SMTP 421"),
)
_DEPENDENCIES: tuple[str, ...] = (
    "requests>=2.31",
    "pydantic>=2.5",
    "rich>=13",
    "httpx>=0.27",
    "typer>=0.12",
    "numpy>=1.26",
)


@dataclass(frozen=True)
class FilesystemWorld:
    """The state the filesystem tools work on (see the module docstring).

    Attributes:
        seed: Seeds which files exist and every file's size, time and content.
        user: Login name; the home directory is ``/home/<user>``.
        projects: Names of the two project folders under ``projects/``.
        photo_year: Name of the folder under ``photos/``.
        now: Minutes after :data:`_NOW` at which the world stands (every call is made then).
        state: The files calls wrote, copied, moved or archived, and the compression jobs
            (see *State* in the module docstring).
    """

    seed: int
    user: str
    projects: tuple[str, str]
    photo_year: int
    now: int
    state: WorldState = field(default_factory=WorldState, compare=False, repr=False)

    @property
    def home(self) -> str:
        return f"/home/{self.user}"


def make_world(rng: np.random.Generator) -> FilesystemWorld:
    """A world drawn from ``rng`` only: a user, two projects, a photo year, a clock, a seed."""
    draws = rng.random(6).tolist()
    first = int(draws[1] * len(PROJECTS))
    second = (first + 1 + int(draws[2] * (len(PROJECTS) - 1))) % len(PROJECTS)
    return FilesystemWorld(
        seed=int(draws[0] * 2**52),
        user=USERS[int(draws[3] * len(USERS))],
        projects=(PROJECTS[first], PROJECTS[second]),
        photo_year=2022 + int(draws[4] * 4),
        now=int(draws[5] * 60 * 24 * 60),
    )


# -- the tree -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """A file or a folder of the tree."""

    path: str
    is_dir: bool
    size: int
    modified: str
    permissions: str
    mime: str
    content: str | None = None  # text files only
    #: Binary files a call made: their (algorithm, hex digest) pairs (a seed binary file's
    #: digests are those of a stand-in that identifies it, see :func:`_checksum`).
    digests: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Tree:
    """Every node by path, each folder's children (sorted by name), the folders in order."""

    nodes: dict[str, Node]
    children: dict[str, tuple[str, ...]]
    folders: tuple[str, ...]


def _digest(seed: int, *parts: object) -> bytes:
    return world_digest(seed, *parts, size=32)


def _pick(bits: bytes, items: Sequence[str], count: int) -> list[str]:
    """``count`` distinct items, in their catalogue order."""
    order = sorted(range(len(items)), key=lambda i: (bits[i % len(bits)], i))[:count]
    return [items[i] for i in sorted(order)]


def _lines(bits: bytes, items: Sequence[str], count: int, offset: int = 0) -> list[str]:
    """``count`` distinct items (at most all of them), in an order the bits decide."""
    order = sorted(range(len(items)), key=lambda i: (bits[(offset + i) % len(bits)], i))
    return [items[i] for i in order[:count]]


def _csv(header: str, rows: list[str]) -> str:
    return "\n".join([header, *rows]) + "\n"


def _modified_at(world: FilesystemWorld, path: str) -> dt.datetime:
    """When the file at ``path`` was last modified (a pure function of the world)."""
    bits = _digest(world.seed, "node", path)
    age = int.from_bytes(bits[:3], "big") % (60 * 24 * 60)
    if "/logs/" in path and not path.endswith(".1"):
        age %= 180  # logs are written all the time
    return _NOW + dt.timedelta(minutes=world.now - age)


def _text(world: FilesystemWorld, path: str) -> str:
    """The content of the text file at ``path`` (a pure function of the world)."""
    b = _digest(world.seed, "content", path)
    name = posixpath.basename(path)
    parts = path.split("/")
    project = parts[4] if len(parts) > 4 and parts[3] == "projects" else ""
    package = project.replace("-", "_")
    count = 4 + b[0] % 8
    if name == ".bashrc":
        editor = ("vim", "nano", "code --wait")[b[1] % 3]
        return (
            'export PATH="$HOME/.local/bin:$PATH"\n'
            f'export EDITOR="{editor}"\n'
            "alias ll='ls -alF'\n"
            "alias gs='git status'\n"
        )
    if name == ".gitconfig":
        return (
            f"[user]\n\tname = {world.user.title()}\n\temail = {world.user}@example.com\n"
            "[init]\n\tdefaultBranch = main\n[pull]\n\trebase = true\n"
        )
    if name == "notes.txt":
        return "\n".join(_lines(b, _NOTE_LINES, count, 1)) + "\n"
    if name == "todo.md":
        items = _lines(b, _NOTE_LINES, count, 1)
        return "# To do\n\n" + "".join(
            f"- [{' x'[b[20 + n] % 2]}] {item}\n" for n, item in enumerate(items)
        )
    if name == "meeting_minutes.md":
        points = _lines(b, _NOTE_LINES, count, 1)
        return f"# Team meeting\n\nAttendees: {', '.join(_lines(b, _PEOPLE, 3, 12))}\n\n" + "".join(
            f"- {point}\n" for point in points
        )
    if name == "recipes.md":
        dishes = _pick(b, _DISHES, 2 + b[1] % 3)
        return "# Recipes\n" + "".join(
            f"\n## {dish}\n\nServes {2 + b[5 + n] % 5}. "
            f"Ready in {15 + 5 * (b[9 + n] % 12)} minutes.\n"
            for n, dish in enumerate(dishes)
        )
    if name == "budget_2025.csv":
        return _csv(
            "month,category,amount",
            [
                f"2025-{1 + n // 2:02d},{_BUDGET[b[1 + n] % 5]},"
                f"{40 + b[10 + n] * 7}.{b[n] % 100:02d}"
                for n in range(count)
            ],
        )
    if name == "contacts.csv":
        people = _pick(b, _PEOPLE, min(count, len(_PEOPLE)))
        return _csv(
            "name,email,phone",
            [
                f"{person},{person.split()[0].lower()}@example.com,+1-555-{b[n] * 37 % 10000:04d}"
                for n, person in enumerate(people)
            ],
        )
    if name == "receipts_2024.csv":
        return _csv(
            "date,vendor,amount",
            sorted(
                f"2024-{1 + b[n] % 12:02d}-{1 + b[10 + n] % 28:02d},{_VENDORS[b[20 + n % 10] % 5]},"
                f"{5 + b[n + 1] % 200}.{b[n + 2] % 100:02d}"
                for n in range(count)
            ),
        )
    if name == "dataset_sales.csv":
        return _csv(
            "region,quarter,revenue",
            [
                f"{_REGIONS[n % 4]},{2024 + n // 16}-Q{1 + n // 4 % 4},{1000 + 97 * b[n]}"
                for n in range(4 + 2 * count)
            ],
        )
    if name == "customers_export.csv":
        return _csv(
            "id,name,country",
            [
                f"{1000 + n},{_PEOPLE[(b[n] + n) % len(_PEOPLE)]},{_COUNTRIES[b[12 + n] % 6]}"
                for n in range(3 + count)
            ],
        )
    if name == "README.md":
        title = project.replace("-", " ").title()
        return (
            f"# {title}\n\nA small Python tool: {project}.\n\n## Install\n\n"
            f"    pip install -e .\n\n## Usage\n\n    python -m {package} --help\n"
            + ("\n## License\n\nMIT\n" if b[1] % 2 else "")
        )
    if name == "pyproject.toml":
        deps = _pick(b, _DEPENDENCIES, 1 + b[1] % 3)
        return (
            f'[project]\nname = "{project}"\nversion = "0.{b[2] % 9}.{b[3] % 20}"\n'
            'requires-python = ">=3.10"\ndependencies = [\n'
            + "".join(f'    "{dep}",\n' for dep in deps)
            + "]\n"
        )
    if name == ".gitignore":
        return "__pycache__/\n*.pyc\n.venv/\ndist/\n.env\n"
    if name == "config.yaml":
        return (
            f"debug: false\nport: {8000 + b[1] % 100}\nlog_level: info\nworkers: {1 + b[2] % 8}\n"
        )
    if name == "__init__.py":
        return f'"""{project}."""\n\n__version__ = "0.{b[2] % 9}.{b[3] % 20}"\n'
    if name == "main.py":
        body = "".join(f"    print('step {n + 1}')\n" for n in range(b[1] % 6))
        return (
            f'"""Entry point of {project}."""\n\nfrom {package}.utils import load\n\n\n'
            f"def main() -> None:\n    data = load()\n{body}    print(len(data))\n\n\n"
            'if __name__ == "__main__":\n    main()\n'
        )
    if name == "utils.py":
        return (
            '"""Helpers."""\n\nimport json\nfrom pathlib import Path\n\n\n'
            f'def load(path: str = "data/{package}.json") -> list:\n'
            "    return json.loads(Path(path).read_text())\n"
        )
    if name == "test_main.py":
        tests = "".join(
            f"\n\ndef test_case_{n}():\n    assert {n} + 1 == {n + 1}\n"
            for n in range(1 + b[1] % 5)
        )
        return f"from {package}.main import main\n{tests}"
    # logs
    errors_only = name == "error.log"
    events = [event for event in _LOG_EVENTS if not errors_only or event[0] != "INFO"]
    when = _modified_at(world, path)  # the newest line is no newer than the file
    rows = []
    for n in range(count + 4):
        when -= dt.timedelta(minutes=1 + b[n] % 90)
        level, message = events[b[n + 8] % len(events)]
        if name == "access.log":
            level, message = "INFO", f"10.0.0.{b[n]} GET /api/v1/items/{b[n + 16]} 200"
        rows.append(f"{when:%Y-%m-%d %H:%M}:{b[n + 2] % 60:02d} {level} {message}")
    return "\n".join(reversed(rows)) + "\n"


@functools.lru_cache(maxsize=256)
def _tree(world: FilesystemWorld) -> Tree:
    """The whole tree of the world (pure; cached because several tools walk it)."""
    home = world.home
    b = _digest(world.seed, "tree")
    files: list[str] = [f"{home}/.bashrc", f"{home}/.gitconfig"]
    files += [f"{home}/documents/{name}" for name in _pick(b, _DOCUMENTS, 6)]
    files += [f"{home}/documents/taxes/tax_return_2024.pdf"]
    files += [f"{home}/documents/taxes/receipts_2024.csv"]
    files += [f"{home}/downloads/{name}" for name in _pick(b[10:], _DOWNLOADS, 5)]
    photos = 3 + b[20] % 4
    first_photo = 1000 + 37 * b[21]
    files += [
        f"{home}/photos/{world.photo_year}/IMG_{first_photo + 13 * n + b[22 + n] % 13}.jpg"
        for n in range(photos)
    ]
    for slot, project in enumerate(world.projects):
        root = f"{home}/projects/{project}"
        package = project.replace("-", "_")
        files += [f"{root}/README.md", f"{root}/pyproject.toml", f"{root}/.gitignore"]
        files += [f"{root}/src/{package}/{name}" for name in ("__init__.py", "main.py", "utils.py")]
        files += [f"{root}/tests/test_main.py"]
        if b[28 + slot] % 2:
            files.append(f"{root}/config.yaml")
    files += [f"{home}/logs/{name}" for name in ("app.log", "app.log.1", "access.log", "error.log")]

    nodes: dict[str, Node] = {}
    now = _NOW + dt.timedelta(minutes=world.now)
    for path in files:
        bits = _digest(world.seed, "node", path)
        modified = _modified_at(world, path).isoformat(timespec="minutes")
        private = "/taxes/" in path or path.endswith("/.gitconfig")
        permissions = "rw-------" if private else "rw-r--r--"
        extension = posixpath.splitext(path)[1]
        if extension in _BINARY:
            mime, low, high = _BINARY[extension]
            size = low + int.from_bytes(bits[3:7], "big") % (high - low)
            nodes[path] = Node(path, False, size, modified, permissions, mime)
        else:
            content = _text(world, path)
            mime = _TEXT_TYPES.get(extension, "text/plain")
            size = len(content.encode())
            nodes[path] = Node(path, False, size, modified, permissions, mime, content)
    children: dict[str, set[str]] = {home: set()}
    for path in files:
        child = path
        parent = posixpath.dirname(child)
        while True:
            children.setdefault(parent, set()).add(child)
            if parent == home:
                break
            child, parent = parent, posixpath.dirname(parent)
    for empty in ("backups", "archive"):
        children[home].add(f"{home}/{empty}")
        children.setdefault(f"{home}/{empty}", set())
    for folder in sorted(children, key=len, reverse=True):  # deepest first
        stamps = [nodes[child].modified for child in children[folder] if child in nodes]
        bits = _digest(world.seed, "folder", folder)
        quiet = (now - dt.timedelta(days=3 + bits[0] % 40)).isoformat(timespec="minutes")
        private = folder.endswith("/taxes")
        nodes[folder] = Node(
            folder,
            True,
            4096,
            max(stamps, default=quiet),
            "rwx------" if private else "rwxr-xr-x",
            "inode/directory",
        )
    return Tree(
        nodes=nodes,
        children={
            folder: tuple(sorted(items, key=posixpath.basename))
            for folder, items in children.items()
        },
        folders=tuple(sorted(children)),
    )


def _normalize(world: FilesystemWorld, path: str, role: str = "path") -> str:
    raw = path.strip()
    if raw == "~" or raw.startswith("~/"):
        raw = world.home + raw[1:]
    if not raw.startswith("/"):
        raise ToolError(
            f"{role} {path!r} must be an absolute path, e.g. {world.home}/documents "
            f"(your home directory is {world.home})"
        )
    return posixpath.normpath(raw)


# -- the tree as calls left it ----------------------------------------------------------------


def _suffix(name: str) -> str:
    """A file name from its last dot on (``.csv``, ``.gz``, ``.bashrc``; ``""`` without one)."""
    return name[name.rfind(".") :] if "." in name else ""


def _key(path: str) -> Key:
    """The state key of the file at ``path``: by folder, then by suffix, so a folder's files
    are one scan and those a pattern like ``*.csv`` can match a narrower one."""
    name = posixpath.basename(path)
    return ("file", posixpath.dirname(path), _suffix(name), name)


def _scope(pattern: str) -> tuple[str, ...]:
    """What of a folder a glob can match, as a key suffix: one name (no wildcards), the
    names of one suffix (a pattern ending in a literal ``.ext``), or everything (``()``)."""
    if not any(char in pattern for char in "*?["):
        return (_suffix(pattern), pattern)
    tail = pattern[pattern.rfind(".") + 1 :] if "." in pattern else "*"
    if not any(char in tail for char in "*?[]"):
        return ("." + tail,)
    return ()


def _stamp(world: FilesystemWorld) -> str:
    """The modification time of what a call writes: the world's "now" (when calls are made)."""
    return (_NOW + dt.timedelta(minutes=world.now)).isoformat(timespec="minutes")


def _permissions(path: str) -> str:
    """The permissions a new file at ``path`` gets (private under taxes/, as the seed's)."""
    return "rw-------" if "/taxes/" in path or path.endswith("/.gitconfig") else "rw-r--r--"


def _from_record(record: dict[str, Any]) -> Node:
    return Node(
        record["path"],
        False,
        record["size_bytes"],
        record["modified"],
        record["permissions"],
        record["mime_type"],
        record["content"],
        tuple(sorted((record["digests"] or {}).items())),
    )


def _is_folder(world: FilesystemWorld, path: str) -> bool:
    """Folders are the seed's: calls create and remove files only."""
    return path in _tree(world).children


def _current(world: FilesystemWorld, path: str) -> tuple[Node | None, int]:
    """The file at ``path`` as calls left it (``None``: there is none) and its revision (how
    many versions of it there have been: a seed file is revision 1)."""
    record = world.state.get(_key(path))
    if record is None:
        node = _tree(world).nodes.get(path)
        return (None, 0) if node is None or node.is_dir else (node, 1)
    if record.get("removed"):
        return None, 0
    return _from_record(record), record["revision"]


def _node(world: FilesystemWorld, path: str, role: str = "path") -> Node:
    wanted = _normalize(world, path, role)
    if _is_folder(world, wanted):
        return _tree(world).nodes[wanted]
    node, _ = _current(world, wanted)
    if node is None:
        raise ToolError(
            f"no such file or directory: {wanted} (your home directory is {world.home}; use "
            "list_directory or find_files_by_pattern to see what exists)"
        )
    return node


def _file(world: FilesystemWorld, path: str, role: str = "path") -> Node:
    node = _node(world, path, role)
    if node.is_dir:
        raise ToolError(f"{node.path} is a directory, not a file; use list_directory")
    return node


def _folder(world: FilesystemWorld, path: str, role: str = "path") -> Node:
    node = _node(world, path, role)
    if not node.is_dir:
        raise ToolError(f"{node.path} is a file, not a directory")
    return node


def _checksum(world: FilesystemWorld, node: Node, algorithm: str) -> str:
    if node.content is not None:
        data = node.content.encode()
    elif node.digests:  # a binary file a call made (a copy, an archive)
        return dict(node.digests)[algorithm]
    else:  # binary content is not materialised: hash a stand-in that identifies it
        data = f"{world.seed}|{node.path}|{node.size}".encode()
    return hashlib.new(algorithm, data).hexdigest()


def _files_under(world: FilesystemWorld, folder: str) -> list[Node]:
    """The files under ``folder`` as the seed describes them (what templates pick from)."""
    tree = _tree(world)
    prefix = folder.rstrip("/") + "/"
    return [
        node
        for path, node in sorted(tree.nodes.items())
        if not node.is_dir and path.startswith(prefix)
    ]


def _files_in(
    world: FilesystemWorld, folder: str, pattern: str | None = None
) -> tuple[list[Node], list[dict[str, Any]]]:
    """The files directly in ``folder`` now (only those whose name matches the glob
    ``pattern`` when given), sorted by path, and the state's records of the folder (files
    and removals) they were read with. A pattern reads only the part of the folder it can
    match (:func:`_scope`): one key for a plain name, one suffix for ``*.csv``."""
    tree = _tree(world)
    files = {
        child: tree.nodes[child] for child in tree.children[folder] if not tree.nodes[child].is_dir
    }
    scope = () if pattern is None else _scope(pattern)
    if len(scope) == 2:
        record = world.state.get(("file", folder, *scope))
        records = [] if record is None else [record]
    else:
        records = [record for _, record in world.state.scan("file", folder, *scope)]
    for record in records:
        if record.get("removed"):
            files.pop(record["path"], None)
        else:
            files[record["path"]] = _from_record(record)
    if pattern is not None:  # the seed's files outside the scope match nothing either
        files = {
            path: node
            for path, node in files.items()
            if fnmatch.fnmatchcase(posixpath.basename(path), pattern)
        }
    return [files[path] for path in sorted(files)], records


def _files_now(
    world: FilesystemWorld, folder: str, pattern: str | None = None
) -> tuple[list[Node], list[dict[str, Any]]]:
    """The files anywhere under ``folder`` now, by path, and the state's records they were
    read with (see :func:`_files_in`): one read per folder of the seed tree under it."""
    prefix = folder.rstrip("/") + "/"
    files: list[Node] = []
    records: list[dict[str, Any]] = []
    for inner in _tree(world).folders:
        if inner == folder or inner.startswith(prefix):
            found, written = _files_in(world, inner, pattern)
            files += found
            records += written
    return sorted(files, key=lambda node: node.path), records


def _entry(node: Node) -> dict[str, Any]:
    return {
        "name": posixpath.basename(node.path),
        "path": node.path,
        "type": "directory" if node.is_dir else "file",
        "size_bytes": node.size,
        "modified": node.modified,
    }


# -- tools ----------------------------------------------------------------------------------


@tool(latency=0)
def list_directory(world: FilesystemWorld, path: str) -> dict[str, Any]:
    """List the files and folders directly inside a directory, sorted by name.

    Args:
        path: Absolute path of the directory, e.g. "/home/maya/documents".
    """
    folder = _folder(world, path)
    tree = _tree(world)
    files, _ = _files_in(world, folder.path)
    folders = [tree.nodes[child] for child in tree.children[folder.path] if child in tree.children]
    nodes = sorted([*folders, *files], key=lambda node: posixpath.basename(node.path))
    entries = [_entry(node) for node in nodes]
    return {"path": folder.path, "entries": entries, "count": len(entries)}


@tool(latency=0)
def get_file_metadata(world: FilesystemWorld, path: str) -> dict[str, Any]:
    """Get the metadata of a file or directory: type, size, modification time, permissions.

    Args:
        path: Absolute path, e.g. "/home/maya/documents/notes.txt".
    """
    node = _node(world, path)
    return {
        **_entry(node),
        "mime_type": node.mime,
        "permissions": node.permissions,
        "owner": world.user,
        "is_text": node.content is not None,
    }


@tool(latency=1)
def read_text_file(world: FilesystemWorld, path: str) -> dict[str, Any]:
    """Read the whole content of a text file.

    Args:
        path: Absolute path of a text file, e.g. "/home/maya/documents/notes.txt".
    """
    node = _file(world, path)
    if node.content is None:
        raise ToolError(
            f"{node.path} is a binary file ({node.mime}); read_text_file reads text files "
            "only (use get_file_metadata or compute_file_checksum)"
        )
    return {
        "path": node.path,
        "content": node.content,
        "line_count": len(node.content.splitlines()),
        "size_bytes": node.size,
    }


@tool(latency=1)
def find_files_by_pattern(world: FilesystemWorld, directory: str, pattern: str) -> dict[str, Any]:
    """Find the files anywhere under a directory whose name matches a glob pattern, by path.

    Args:
        directory: Absolute path of the directory to search, e.g. "/home/maya".
        pattern: Glob pattern for the file name (case-sensitive), e.g. "*.csv" or "report_?.md".
    """
    folder = _folder(world, directory, "directory")
    glob = pattern.strip()
    if not glob:
        raise ToolError("pattern must not be empty, e.g. '*.csv'")
    if "/" in glob:
        raise ToolError(f"pattern {pattern!r} must match file names, not paths (no '/')")
    files, _ = _files_now(world, folder.path, glob)
    matches = [
        {"path": node.path, "size_bytes": node.size, "modified": node.modified} for node in files
    ]
    return {"directory": folder.path, "pattern": glob, "matches": matches, "count": len(matches)}


@tool(latency=1, canonical={"algorithm": "keyword"})
def compute_file_checksum(world: FilesystemWorld, path: str, algorithm: str) -> dict[str, Any]:
    """Compute the checksum of a file's content (hex digest).

    Args:
        path: Absolute path of the file.
        algorithm: One of md5, sha1, sha256.
    """
    node = _file(world, path)
    name = algorithm.strip().casefold().replace("-", "")
    if name not in ALGORITHMS:
        raise ToolError(f"unknown algorithm {algorithm!r}; use one of {', '.join(ALGORITHMS)}")
    return {
        "path": node.path,
        "algorithm": name,
        "checksum": _checksum(world, node, name),
        "size_bytes": node.size,
    }


@tool(latency=2, writes=True)
def write_text_file(world: FilesystemWorld, path: str, content: str) -> dict[str, Any]:
    """Write a text file (created, or replaced if it exists); returns its size and SHA-256.

    Args:
        path: Absolute path of the file to write; its directory must exist.
        content: The full text to write.
    """
    target = _normalize(world, path)
    _folder(world, posixpath.dirname(target), "parent directory")
    if _is_folder(world, target):
        raise ToolError(f"{target} is a directory; give the path of a file inside it")
    if len(content) > MAX_CONTENT:
        raise ToolError(f"content is too long ({len(content)} characters, at most {MAX_CONTENT})")
    existing, revision = _current(world, target)
    data = content.encode()
    world.state.put(
        _key(target),
        {
            "path": target,
            "size_bytes": len(data),
            "modified": _stamp(world),
            # an overwritten file keeps its permissions, as on a real filesystem
            "permissions": existing.permissions if existing else _permissions(target),
            "mime_type": _TEXT_TYPES.get(posixpath.splitext(target)[1], "text/plain"),
            "content": content,
            "digests": None,
            "revision": revision + 1,
        },
    )
    return {
        "path": target,
        "status": "overwritten" if existing is not None else "created",
        "size_bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def _transfer(
    world: FilesystemWorld, source: str, destination_directory: str, verb: str
) -> dict[str, Any]:
    node = _file(world, source, "source")
    folder = _folder(world, destination_directory, "destination_directory")
    target = posixpath.join(folder.path, posixpath.basename(node.path))
    if target == node.path:
        raise ToolError(
            f"cannot {verb} {node.path}: it already exists in {folder.path}; choose another "
            "destination_directory"
        )
    if _is_folder(world, target):
        raise ToolError(
            f"cannot {verb} {node.path}: {target} already exists and is a directory; choose "
            "another destination_directory"
        )
    moving = verb == "move"
    replaced, revision = _current(world, target)  # a file of that name there is replaced
    if replaced is not None:
        revision += 1  # a new version of the file at that path
    elif moving:
        revision = _current(world, node.path)[1]  # a renamed file keeps its revision
    else:
        revision = 1
    binary = node.content is None
    operation_id = world.state.new_id("OP", world.seed, verb, node.path, target)
    world.state.put(
        _key(target),
        {
            "path": target,
            "size_bytes": node.size,
            # a move is a rename: the file keeps its time and permissions
            "modified": node.modified if moving else _stamp(world),
            "permissions": node.permissions if moving else _permissions(target),
            "mime_type": node.mime,
            "content": node.content,
            "digests": {name: _checksum(world, node, name) for name in ALGORITHMS}
            if binary
            else None,
            "revision": revision,
        },
    )
    if moving:
        if node.path in _tree(world).nodes:  # a seed file: mark it gone
            world.state.put(
                _key(node.path), {"path": node.path, "removed": True, "moved_to": target}
            )
        else:  # a file a call made: it simply no longer exists
            world.state.delete(_key(node.path))
    response = {
        "source": node.path,
        "path": target,
        "size_bytes": node.size,
        "sha256": _checksum(world, node, "sha256"),
        "operation_id": operation_id,
    }
    if replaced is not None:
        response["replaced"] = True
    return response


@tool(latency=2, writes=True)
def copy_file_to_directory(
    world: FilesystemWorld, source: str, destination_directory: str
) -> dict[str, Any]:
    """Copy a file into another directory (same name, replacing a file of that name there);
    returns the copy's path and SHA-256.

    Args:
        source: Absolute path of the file to copy.
        destination_directory: Absolute path of an existing directory, e.g. "/home/maya/backups".
    """
    return _transfer(world, source, destination_directory, "copy")


@tool(latency=2, writes=True)
def move_file_to_directory(
    world: FilesystemWorld, source: str, destination_directory: str
) -> dict[str, Any]:
    """Move a file into another directory (same name, replacing a file of that name there);
    returns its new path and SHA-256.

    Args:
        source: Absolute path of the file to move.
        destination_directory: Absolute path of an existing directory, e.g. "/home/maya/archive".
    """
    return _transfer(world, source, destination_directory, "move")


def _job_id(world: FilesystemWorld, folder: str, archive_format: str, run: int) -> str:
    """The id of a job of ``folder`` in ``archive_format`` after ``run`` earlier ones (0:
    the first job, whose id is the one dataset v2 gave): the folder's index in the tree, the
    format's code and check digits from the seed (and ``run``)."""
    index = _tree(world).folders.index(folder)
    code = ARCHIVE_FORMATS[archive_format][0]
    parts: tuple[Any, ...] = ("compress", folder, archive_format)
    if run:
        parts += (run,)
    check = _digest(world.seed, *parts).hex()[:3].upper()
    return f"CMP-{index:02X}{code}{check}"


def _archive(
    world: FilesystemWorld,
    folder: str,
    archive_format: str,
    files: list[Node],
    records: list[dict[str, Any]],
) -> dict[str, Any]:
    """The archive of ``files`` (everything under ``folder`` now); ``records``: what calls
    changed under it, which changes the archive's bytes (a folder as the seed describes it
    gives the archive it always gave)."""
    original = sum(node.size for node in files)
    factor = ARCHIVE_FORMATS[archive_format][1]
    compressed = sum(
        node.size * _RATIO.get(node.mime, 0.97 if node.content is None else 0.34) for node in files
    )
    changes = sorted(
        f"{record['path']}="
        + ("removed" if record.get("removed") else _checksum(world, _from_record(record), "sha256"))
        for record in records
    )
    bits = _digest(world.seed, "archive", folder, archive_format, *changes)
    return {
        "directory": folder,
        "archive_path": f"{folder}.{archive_format}",
        "archive_format": archive_format,
        "files": len(files),
        "original_bytes": original,
        "compressed_bytes": int(compressed * factor) + 120 * len(files) + bits[0],
        "sha256": bits.hex(),
    }


@tool(latency=3, writes=True, canonical={"archive_format": "keyword"})
def compress_directory(world: FilesystemWorld, path: str, archive_format: str) -> dict[str, Any]:
    """Start compressing a directory (with everything under it) into an archive beside it.

    Args:
        path: Absolute path of the directory, e.g. "/home/maya/projects/weather-api".
        archive_format: One of zip, tar.gz, tar.xz.
    """
    folder = _folder(world, path)
    fmt = archive_format.strip().casefold().lstrip(".")
    if fmt not in ARCHIVE_FORMATS:
        raise ToolError(
            f"unknown archive_format {archive_format!r}; use one of {', '.join(ARCHIVE_FORMATS)}"
        )
    if folder.path == world.home:
        raise ToolError("cannot compress the whole home directory; pick a folder inside it")
    files, records = _files_now(world, folder.path)
    if not files:
        raise ToolError(f"{folder.path} contains no files; there is nothing to compress")
    archive = _archive(world, folder.path, fmt, files, records)
    target = archive["archive_path"]
    existing, revision = _current(world, target)
    run = 0
    while ("job", _job_id(world, folder.path, fmt, run)) in world.state:
        run += 1
    job_id = _job_id(world, folder.path, fmt, run)
    bits = bytes.fromhex(archive["sha256"])
    # The archive is written when the job starts (a call takes effect when it is made): a
    # second archive of the folder in the same format replaces the first (its revision 2).
    world.state.put(
        _key(target),
        {
            "path": target,
            "size_bytes": archive["compressed_bytes"],
            "modified": _stamp(world),
            "permissions": existing.permissions if existing else _permissions(target),
            "mime_type": _ARCHIVE_MIME[fmt],
            "content": None,
            "digests": {
                "md5": hashlib.md5(bits).hexdigest(),
                "sha1": hashlib.sha1(bits).hexdigest(),
                "sha256": archive["sha256"],
            },
            "revision": revision + 1,
        },
    )
    world.state.put(("job", job_id), {"job_id": job_id, **archive})
    return {
        "job_id": job_id,
        "status": "running",
        "directory": folder.path,
        "archive_path": target,
        "archive_format": fmt,
        "files": archive["files"],
    }


@tool(latency=1, canonical={"job_id": "symbol"})
def get_compression_job_status(world: FilesystemWorld, job_id: str) -> dict[str, Any]:
    """Get the status of a compression job, with the archive's path, sizes and SHA-256 when done.

    Args:
        job_id: A job_id returned by compress_directory, e.g. "CMP-0A1F3C".
    """
    wanted = job_id.strip().upper()
    job = world.state.get(("job", wanted)) if _JOB_ID.match(wanted) else None
    if job is None:
        raise ToolError(
            f"unknown compression job {job_id!r} (like 'CMP-0A1F3C'); use the job_id returned "
            "by compress_directory"
        )
    return {"job_id": job.pop("job_id"), "status": "completed", **job}


# -- templates ------------------------------------------------------------------------------


def _choice(rng: np.random.Generator, items: Sequence[Any]) -> Any:
    return items[int(rng.integers(len(items)))]


def _first_max(values: Sequence[Any]) -> int:
    """Index of the first largest value."""
    return max(range(len(values)), key=lambda i: (values[i], -i))


def _first_min(values: Sequence[Any]) -> int:
    return min(range(len(values)), key=lambda i: (values[i], i))


def _user_files(world: FilesystemWorld) -> list[Node]:
    """Files a person would name in a request: documents and downloads."""
    home = world.home
    return _files_under(world, f"{home}/documents") + _files_under(world, f"{home}/downloads")


def read_largest_match(world: FilesystemWorld, rng: np.random.Generator) -> TaskSpec:
    """Find files by pattern, read the largest match (2 steps, a chain)."""
    home = world.home
    project = f"{home}/projects/{_choice(rng, world.projects)}"
    directory, pattern, kind = _choice(
        rng,
        (
            (home, "*.csv", "CSV"),
            (home, "*.md", "Markdown"),
            (f"{home}/logs", "*.log", "log"),
            (project, "*.py", "Python"),
            (f"{home}/documents", "*.csv", "CSV"),
            (home, "*.py", "Python"),
        ),
    )
    found = find_files_by_pattern.function(world, directory=directory, pattern=pattern)
    largest = _first_max([match["size_bytes"] for match in found["matches"]])
    return TaskSpec(
        instruction=(
            f'Find the {kind} files anywhere under {directory} (name pattern "{pattern}"), '
            "read the largest one (the first listed if several are equally large) and tell me "
            "how many lines it has."
        ),
        steps=(
            StepSpec("find_files_by_pattern", {"directory": directory, "pattern": pattern}),
            StepSpec("read_text_file", {"path": f"${{s0.matches.{largest}.path}}"}),
        ),
        answer="${s1.line_count} lines",
    )


def backup_and_verify(world: FilesystemWorld, rng: np.random.Generator) -> TaskSpec:
    """Checksum a given file and copy it to a backup folder, independently (2 steps)."""
    # Not sha256: the copy's own response states the file's SHA-256, so the checksum step
    # would add nothing and an answer pasting both responses would read as an answer. And a
    # binary file (a large size): a short size can stand inside one of the task's checksums,
    # which the grader then reads as part of that fact, and the few values left in the
    # responses could not tell a pasted dump from an answer.
    node = _choice(rng, [node for node in _user_files(world) if node.content is None])
    algorithm = _choice(rng, ("md5", "sha1"))
    target = f"{world.home}/{_choice(rng, ('backups', 'archive'))}"
    return TaskSpec(
        instruction=(
            f"Compute the {algorithm} checksum of {node.path} and copy that file into "
            f"{target}. Tell me the path of the copy and the {algorithm} checksum."
        ),
        steps=(
            StepSpec("compute_file_checksum", {"path": node.path, "algorithm": algorithm}),
            StepSpec(
                "copy_file_to_directory", {"source": node.path, "destination_directory": target}
            ),
        ),
        answer="${s1.path} ${s0.checksum}",
    )


def archive_folder(world: FilesystemWorld, rng: np.random.Generator) -> TaskSpec:
    """Compress a folder, then check the job (2 steps, a chain)."""
    home = world.home
    folder = _choice(
        rng,
        (
            *(f"{home}/projects/{project}" for project in world.projects),
            f"{home}/photos/{world.photo_year}",
            f"{home}/documents",
            f"{home}/logs",
            f"{home}/downloads",
            f"{home}/documents/taxes",
        ),
    )
    fmt = _choice(rng, tuple(ARCHIVE_FORMATS))
    return TaskSpec(
        instruction=(
            f"Compress the folder {folder} into a {fmt} archive, wait for the compression job "
            "to finish and tell me the archive's path and compressed size in bytes."
        ),
        steps=(
            StepSpec("compress_directory", {"path": folder, "archive_format": fmt}),
            StepSpec("get_compression_job_status", {"job_id": "${s0.job_id}"}),
        ),
        answer="${s1.archive_path} ${s1.compressed_bytes}",
    )


def checksum_manifest(world: FilesystemWorld, rng: np.random.Generator) -> TaskSpec:
    """Two checksums in parallel, joined into a manifest file (3 steps, fan-in)."""
    candidates = _user_files(world)
    order = rng.permutation(len(candidates))[:2]
    first, second = (candidates[int(i)].path for i in order)
    algorithm = _choice(rng, ALGORITHMS)
    manifest = f"{world.home}/{_choice(rng, ('backups', 'documents'))}/{algorithm.upper()}SUMS.txt"
    return TaskSpec(
        instruction=(
            f"Compute the {algorithm} checksums of {first} and of {second}, then write the "
            f"text file {manifest} with exactly two lines, one per file in that order, each "
            '"<checksum> <path>" (a single space between them, no trailing newline). Tell me '
            "the SHA-256 of the file you wrote."
        ),
        steps=(
            StepSpec("compute_file_checksum", {"path": first, "algorithm": algorithm}),
            StepSpec("compute_file_checksum", {"path": second, "algorithm": algorithm}),
            StepSpec(
                "write_text_file",
                {
                    "path": manifest,
                    # Each path from its checksum's response, so that the paths stay
                    # knowable when a lookup names a file instead of giving its path.
                    "content": "${s0.checksum} ${s0.path}\n${s1.checksum} ${s1.path}",
                },
            ),
        ),
        answer="${s2.sha256}",
    )


def tidy_downloads(world: FilesystemWorld, rng: np.random.Generator) -> TaskSpec:
    """List the downloads, move the largest / oldest / newest one away (2 steps, a chain)."""
    downloads = f"{world.home}/downloads"
    entries = list_directory.function(world, path=downloads)["entries"]
    criterion = _choice(rng, ("largest", "oldest", "most recently modified"))
    if criterion == "largest":
        pick = _first_max([entry["size_bytes"] for entry in entries])
    elif criterion == "oldest":
        pick = _first_min([entry["modified"] for entry in entries])
    else:
        pick = _first_max([entry["modified"] for entry in entries])
    target = f"{world.home}/{_choice(rng, ('archive', 'backups'))}"
    return TaskSpec(
        instruction=(
            f"List {downloads} and move its {criterion} file (the first listed on a tie) into "
            f"{target}. Tell me the file's new path."
        ),
        steps=(
            StepSpec("list_directory", {"path": downloads}),
            StepSpec(
                "move_file_to_directory",
                {"source": f"${{s0.entries.{pick}.path}}", "destination_directory": target},
            ),
        ),
        answer="${s1.path}",
    )


def project_report(world: FilesystemWorld, rng: np.random.Generator) -> TaskSpec:
    """Count a project's Python files and its README's lines in parallel, write a report
    joining both (3 steps, fan-in)."""
    root = f"{world.home}/projects/{_choice(rng, world.projects)}"
    name = _choice(rng, ("REPORT.txt", "STATS.txt", "summary.txt"))
    pattern, label = _choice(rng, (("*.py", "Python files"), ("test_*.py", "Test files")))
    return TaskSpec(
        instruction=(
            f'In the project {root}, count the files matching "{pattern}" anywhere under it '
            f"and read {root}/README.md. Then write {root}/{name} with exactly two lines: "
            f'"{label}: <count>" and "README lines: <number of lines>" (no trailing newline). '
            "Tell me the SHA-256 of the report."
        ),
        steps=(
            StepSpec("find_files_by_pattern", {"directory": root, "pattern": pattern}),
            StepSpec("read_text_file", {"path": f"{root}/README.md"}),
            StepSpec(
                "write_text_file",
                {
                    "path": f"{root}/{name}",
                    "content": f"{label}: ${{s0.count}}\nREADME lines: ${{s1.line_count}}",
                },
            ),
        ),
        answer="${s2.sha256}",
    )


# -- evolution hooks ------------------------------------------------------------------------


def _lookup_path(world: FilesystemWorld, value: Any) -> tuple[dict[str, Any], str, str] | None:
    """A file whose name is unique in the home directory is found by searching for it."""
    if not isinstance(value, str):
        return None
    path = posixpath.normpath(value.strip())
    name = posixpath.basename(path)
    if any(char in name for char in "*?[]"):
        return None
    same = [node for node in _files_under(world, world.home) if node.path.endswith("/" + name)]
    if len(same) != 1 or same[0].path != path:
        return None
    arguments = {"directory": world.home, "pattern": name}
    return arguments, "matches.0.path", f"the file named {name} under {world.home}"


def _follow_find(
    world: FilesystemWorld, rng: np.random.Generator, index: int, followed: StepSpec
) -> tuple[StepSpec, str, str | None]:
    """The checksum of the first file a search found (matches are listed by path)."""
    directory, pattern = followed.arguments["directory"], followed.arguments["pattern"]
    if not (is_constant(directory) and is_constant(pattern)):
        return None
    algorithm = _choice(rng, ALGORITHMS)
    step = StepSpec(
        "compute_file_checksum",
        {"path": f"${{s{index}.matches.0.path}}", "algorithm": algorithm},
    )
    return (
        step,
        f"Then compute the {algorithm} checksum of the first file (by path) that the search "
        f'for "{pattern}" under {directory} found, and tell me that checksum.',
        "checksum",
    )


def _follow_checksum(
    world: FilesystemWorld, rng: np.random.Generator, index: int, followed: StepSpec
) -> tuple[StepSpec, str]:
    """Record a checksum in a file of its own (a write: it asks for nothing)."""
    path, algorithm = followed.arguments["path"], followed.arguments["algorithm"]
    if not is_constant(path):
        return None
    # Beside the documents, not in backups/: a name like backups/notes.txt.md5 would contain
    # the path of a backup copy that the task may ask for, and hide that fact.
    target = f"{world.home}/documents/{posixpath.basename(path)}.{algorithm}"
    step = StepSpec("write_text_file", {"path": target, "content": f"${{s{index}.checksum}}"})
    return step, (
        f"Then write the text file {target} containing only the {algorithm} checksum of "
        f"{path} (nothing else, no newline)."
    )


def _follow_archive(
    world: FilesystemWorld, rng: np.random.Generator, index: int, followed: StepSpec
) -> tuple[StepSpec, str]:
    """Record the finished archive's SHA-256 in a file (a task compresses one folder)."""
    target = f"{world.home}/backups/archive.sha256"
    step = StepSpec("write_text_file", {"path": target, "content": f"${{s{index}.sha256}}"})
    return step, (
        f"Then write the text file {target} containing only the SHA-256 of the finished "
        "archive (nothing else, no newline)."
    )


def _follow_move(
    world: FilesystemWorld, rng: np.random.Generator, index: int, followed: StepSpec
) -> tuple[StepSpec, str]:
    """Leave a note of where a moved file went (a task moves one file)."""
    target = f"{world.home}/documents/moved.txt"
    step = StepSpec("write_text_file", {"path": target, "content": f"${{s{index}.path}}"})
    return step, (
        f"Then write the text file {target} containing only the moved file's new path "
        "(nothing else, no newline)."
    )


def _side_checksum(world: FilesystemWorld, rng: np.random.Generator) -> tuple[StepSpec, str, str]:
    # A photo: no template learns a photo's path from a response (no search pattern matches
    # it, no listing picks it), so the sentence never states a path that a step of the task
    # has to wait for. Photos are large, too: a short size could stand inside some checksum
    # of the task, and the grader would then read it as part of that fact instead of as
    # one more pasted value (as in backup_and_verify).
    node = _choice(rng, _files_under(world, f"{world.home}/photos"))
    algorithm = _choice(rng, ALGORITHMS)
    step = StepSpec("compute_file_checksum", {"path": node.path, "algorithm": algorithm})
    return (
        step,
        f"Also compute the {algorithm} checksum of {node.path} and tell me that checksum.",
        "checksum",
    )


def _side_listing(world: FilesystemWorld, rng: np.random.Generator) -> tuple[StepSpec, str, str]:
    home = world.home
    folder = _choice(
        rng,
        (f"{home}/documents", f"{home}/downloads", f"{home}/logs", f"{home}/photos", home),
    )
    # A folder no template or follow-up writes into, since the listing is unordered with the
    # task's writes: documents/ gets manifests and checksum files, photos/ and the home get
    # the archives of the folders in them. The same draw as dataset v2 made, so downloads/
    # and logs/ stay (a task that moves a download lists downloads/ itself, and a listing
    # that repeats a step is not added).
    folder = {
        f"{home}/documents": f"{home}/documents/taxes",
        f"{home}/photos": f"{home}/photos/{world.photo_year}",
        home: f"{home}/photos/{world.photo_year}",
    }.get(folder, folder)
    step = StepSpec("list_directory", {"path": folder})
    return step, f"Also list {folder} and tell me how many entries it holds.", "count"


SCENARIO = Scenario(
    name="filesystem",
    category="Filesystem",
    description=(
        "Browse, read, search and checksum the files of a home directory; write, copy and "
        "move files and compress folders into archives."
    ),
    make_world=make_world,
    tools=(
        list_directory,
        get_file_metadata,
        read_text_file,
        find_files_by_pattern,
        compute_file_checksum,
        write_text_file,
        copy_file_to_directory,
        move_file_to_directory,
        compress_directory,
        get_compression_job_status,
    ),
    templates={
        "read_largest_match": read_largest_match,
        "backup_and_verify": backup_and_verify,
        "archive_folder": archive_folder,
        "checksum_manifest": checksum_manifest,
        "tidy_downloads": tidy_downloads,
        "project_report": project_report,
    },
    lookups=(
        LookupRule("path", "find_files_by_pattern", _lookup_path),
        LookupRule("source", "find_files_by_pattern", _lookup_path),
    ),
    follow_ups=(
        FollowUpRule("find_files_by_pattern", _follow_find),
        FollowUpRule("compute_file_checksum", _follow_checksum),
        FollowUpRule("get_compression_job_status", _follow_archive),
        FollowUpRule("move_file_to_directory", _follow_move),
    ),
    side_steps=(
        SideStepRule("file_checksum", _side_checksum),
        SideStepRule("directory_listing", _side_listing),
    ),
)
