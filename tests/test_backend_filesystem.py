"""Backend tests of the filesystem scenario, with values computed independently.

The tree is derived from a hash of the world's seed, so it is walked here with
``list_directory`` and every other tool is checked against that walk: searches are
:func:`fnmatch.fnmatchcase` over the walked names, checksums of text files are
:mod:`hashlib` digests of the text ``read_text_file`` returns, sizes are UTF-8 byte counts,
an archive holds the walked files under its folder, and writes, copies and moves report the
path and hash they promise. The world is stateful: what a write, a copy, a move or an archive
leaves is seen by the reads (contents, sizes, times counted from the world's "now" by hand,
checksums from :mod:`hashlib`), a repeated write shows in the state, and a refused one
leaves it as it was.
"""

from __future__ import annotations

import csv
import datetime as dt
import fnmatch
import hashlib
import io
import posixpath
import re
from typing import Any

import pytest

from asynctool_env.core.effects import play_gold
from asynctool_env.core.scenario import stable_id
from asynctool_env.core.tools import ToolError
from asynctool_env.dataset import load_split
from asynctool_env.scenarios import filesystem

SCENARIO = filesystem.SCENARIO
ALGORITHMS = ("md5", "sha1", "sha256")
TOOLS = {tool.name: tool for tool in SCENARIO.tools}
SEEDS = range(4)
#: MIME type by extension, for the extensions of the home directory.
MIME = {
    ".pdf": "application/pdf",
    ".jpg": "image/jpeg",
    ".png": "image/png",
    ".csv": "text/csv",
    ".md": "text/markdown",
    ".txt": "text/plain",
    ".py": "text/x-python",
    ".toml": "application/toml",
    ".yaml": "application/yaml",
    ".log": "text/plain",
    ".dmg": "application/x-apple-diskimage",
    ".mp3": "audio/mpeg",
    ".zip": "application/zip",
}
#: Archive size factor of each format, relative to tar.gz; text compresses to about a third.
ARCHIVE_FACTOR = {"zip": 1.06, "tar.gz": 1.0, "tar.xz": 0.88}
TEXT_RATIO = 0.34


def call(world: Any, tool_name: str, /, **arguments: Any) -> dict[str, Any]:
    """Run a tool the way the chat path does (arguments validated first)."""
    return TOOLS[tool_name].execute(world, arguments)


def walk(world: Any) -> tuple[dict[str, dict[str, Any]], dict[str, list[str]]]:
    """(entry by path, child paths by folder) of the whole home, by list_directory only."""
    entries: dict[str, dict[str, Any]] = {}
    children: dict[str, list[str]] = {}
    pending = [world.home]
    while pending:
        folder = pending.pop()
        listed = call(world, "list_directory", path=folder)
        assert listed["path"] == folder
        assert listed["count"] == len(listed["entries"])
        children[folder] = [entry["path"] for entry in listed["entries"]]
        for entry in listed["entries"]:
            assert entry["path"] == posixpath.join(folder, entry["name"])
            entries[entry["path"]] = entry
            if entry["type"] == "directory":
                pending.append(entry["path"])
    return entries, children


def files_under(entries: dict[str, dict[str, Any]], folder: str) -> list[dict[str, Any]]:
    return [
        entry
        for path, entry in sorted(entries.items())
        if entry["type"] == "file" and path.startswith(folder + "/")
    ]


# -- the tree -------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_home_layout(seed):
    world = SCENARIO.world(seed)
    entries, children = walk(world)
    home = world.home
    top = {posixpath.basename(path) for path in children[home]}
    assert top == {
        ".bashrc",
        ".gitconfig",
        "archive",
        "backups",
        "documents",
        "downloads",
        "logs",
        "photos",
        "projects",
    }
    assert children[f"{home}/backups"] == children[f"{home}/archive"] == []
    assert children[f"{home}/photos"] == [f"{home}/photos/{world.photo_year}"]
    photos = children[f"{home}/photos/{world.photo_year}"]
    assert 3 <= len(photos) <= 6
    assert all(re.fullmatch(r"IMG_\d{4}\.jpg", posixpath.basename(path)) for path in photos)
    assert sorted(children[f"{home}/projects"]) == sorted(
        f"{home}/projects/{project}" for project in world.projects
    )
    for project in world.projects:
        root = f"{home}/projects/{project}"
        package = project.replace("-", "_")
        names = {path.removeprefix(root + "/") for path in entries if path.startswith(root + "/")}
        assert (
            {
                "README.md",
                "pyproject.toml",
                ".gitignore",
                "src",
                f"src/{package}",
                f"src/{package}/__init__.py",
                f"src/{package}/main.py",
                f"src/{package}/utils.py",
                "tests",
                "tests/test_main.py",
            }
            <= names
            <= {*names, "config.yaml"}
        )
    taxes = sorted(posixpath.basename(path) for path in children[f"{home}/documents/taxes"])
    assert taxes == ["receipts_2024.csv", "tax_return_2024.pdf"]
    assert len([p for p in children[f"{home}/documents"] if entries[p]["type"] == "file"]) == 6
    assert len(children[f"{home}/downloads"]) == 5
    logs = sorted(posixpath.basename(path) for path in children[f"{home}/logs"])
    assert logs == ["access.log", "app.log", "app.log.1", "error.log"]


@pytest.mark.parametrize("seed", SEEDS)
def test_listings_are_sorted_and_folders_carry_their_latest_change(seed):
    world = SCENARIO.world(seed)
    entries, children = walk(world)
    for folder, paths in children.items():
        names = [posixpath.basename(path) for path in paths]
        assert names == sorted(names)
        if paths and folder in entries:  # a folder changes when something in it does
            assert entries[folder]["modified"] == max(entries[path]["modified"] for path in paths)


@pytest.mark.parametrize("seed", SEEDS)
def test_metadata_agrees_with_the_listing(seed):
    world = SCENARIO.world(seed)
    entries, _ = walk(world)
    for path, entry in entries.items():
        meta = call(world, "get_file_metadata", path=path)
        assert {key: meta[key] for key in entry} == entry
        assert meta["owner"] == world.user
        private = "/taxes" in path or path.endswith("/.gitconfig")
        if entry["type"] == "directory":
            assert (meta["size_bytes"], meta["mime_type"], meta["is_text"]) == (
                4096,
                "inode/directory",
                False,
            )
            assert meta["permissions"] == ("rwx------" if private else "rwxr-xr-x")
        else:
            assert meta["permissions"] == ("rw-------" if private else "rw-r--r--")
            extension = posixpath.splitext(path)[1]
            if extension in MIME:
                assert meta["mime_type"] == MIME[extension], path
            text_types = ("application/toml", "application/yaml")
            is_text = meta["mime_type"].startswith("text/") or meta["mime_type"] in text_types
            assert meta["is_text"] == is_text, path


@pytest.mark.parametrize("seed", SEEDS)
def test_text_files_read_back_with_their_sizes(seed):
    world = SCENARIO.world(seed)
    entries, _ = walk(world)
    for path, entry in entries.items():
        if entry["type"] == "directory":
            with pytest.raises(ToolError, match="is a directory"):
                call(world, "read_text_file", path=path)
            continue
        meta = call(world, "get_file_metadata", path=path)
        if not meta["is_text"]:
            with pytest.raises(ToolError, match="binary file"):
                call(world, "read_text_file", path=path)
            continue
        out = call(world, "read_text_file", path=path)
        content = out["content"]
        assert out["path"] == path
        assert out["size_bytes"] == len(content.encode("utf-8")) == entry["size_bytes"]
        assert content.endswith("\n")
        assert out["line_count"] == content.count("\n") == len(content.splitlines())


@pytest.mark.parametrize("seed", SEEDS)
def test_text_contents_fit_their_files(seed):
    world = SCENARIO.world(seed)
    home = world.home

    def read(path: str) -> str:
        return call(world, "read_text_file", path=path)["content"]

    assert f"email = {world.user}@example.com" in read(f"{home}/.gitconfig")
    for project in world.projects:
        root = f"{home}/projects/{project}"
        assert f'name = "{project}"' in read(f"{root}/pyproject.toml")
        title = project.replace("-", " ").title()
        assert read(f"{root}/README.md").startswith(f"# {title}\n")
        package = project.replace("-", "_")
        assert f"from {package}.utils import load" in read(f"{root}/src/{package}/main.py")
    receipts = list(csv.DictReader(io.StringIO(read(f"{home}/documents/taxes/receipts_2024.csv"))))
    assert receipts and all(row["date"].startswith("2024-") for row in receipts)
    assert [row["date"] for row in receipts] == sorted(row["date"] for row in receipts)
    assert all(float(row["amount"]) > 0 for row in receipts)
    errors = read(f"{home}/logs/error.log").splitlines()
    assert errors and not any(" INFO " in line for line in errors)
    for name in ("app.log", "access.log", "error.log"):  # oldest line first
        stamps = [line[:19] for line in read(f"{home}/logs/{name}").splitlines()]
        assert stamps == sorted(stamps)


def test_log_lines_are_not_newer_than_the_log_file():
    for seed in SEEDS:
        world = SCENARIO.world(seed)
        for name in ("app.log", "app.log.1", "access.log", "error.log"):
            path = f"{world.home}/logs/{name}"
            last = call(world, "read_text_file", path=path)["content"].splitlines()[-1]
            modified = call(world, "get_file_metadata", path=path)["modified"]
            assert last[:16].replace(" ", "T") <= modified, (seed, name)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("documents/notes.txt", "must be an absolute path"),
        ("/home/nobody/notes.txt", "no such file or directory"),
        ("/etc/passwd", "no such file or directory"),
    ],
)
def test_bad_paths_say_where_home_is(path, message):
    world = SCENARIO.world(0)
    with pytest.raises(ToolError, match=message) as error:
        call(world, "get_file_metadata", path=path)
    assert world.home in str(error.value)


def test_home_shortcut_and_normalisation():
    world = SCENARIO.world(0)
    listed = call(world, "list_directory", path="~")
    assert call(world, "list_directory", path=world.home + "/documents/..") == listed
    assert call(world, "list_directory", path="~/") == listed
    with pytest.raises(ToolError, match="is a file, not a directory"):
        call(world, "list_directory", path="~/.bashrc")


# -- searching and hashing ------------------------------------------------------------------

PATTERNS = ["*.csv", "*.py", "IMG_*.jpg", "*.log*", "README.md", "?odo.md", "[a-c]*", "*", "*.CSV"]


@pytest.mark.parametrize("seed", SEEDS)
def test_find_is_fnmatch_over_the_walk(seed):
    world = SCENARIO.world(seed)
    entries, _ = walk(world)
    for directory in [world.home, f"{world.home}/projects", f"{world.home}/documents"]:
        for pattern in PATTERNS:
            out = call(world, "find_files_by_pattern", directory=directory, pattern=f" {pattern} ")
            expected = [
                {key: entry[key] for key in ("path", "size_bytes", "modified")}
                for entry in files_under(entries, directory)
                if fnmatch.fnmatchcase(entry["name"], pattern)
            ]
            assert out["matches"] == expected, (directory, pattern)
            assert (out["directory"], out["pattern"], out["count"]) == (
                directory,
                pattern,
                len(expected),
            )
    everything = call(world, "find_files_by_pattern", directory=world.home, pattern="*")
    assert everything["count"] == sum(entry["type"] == "file" for entry in entries.values())
    # case-sensitive: no file is named *.CSV
    assert call(world, "find_files_by_pattern", directory=world.home, pattern="*.CSV")["count"] == 0


@pytest.mark.parametrize(
    ("directory", "pattern", "message"),
    [
        ("~", "", "pattern must not be empty"),
        ("~", "documents/*.txt", "no '/'"),
        ("~/.bashrc", "*", "is a file, not a directory"),
        ("~/nowhere", "*", "no such file or directory"),
    ],
)
def test_find_bad_calls(directory, pattern, message):
    with pytest.raises(ToolError, match=message):
        call(SCENARIO.world(0), "find_files_by_pattern", directory=directory, pattern=pattern)


@pytest.mark.parametrize("seed", SEEDS)
def test_checksums_of_text_files_are_hashlib_digests(seed):
    world = SCENARIO.world(seed)
    entries, _ = walk(world)
    for path, entry in entries.items():
        if entry["type"] != "file":
            continue
        is_text = call(world, "get_file_metadata", path=path)["is_text"]
        digests = {}
        for algorithm, width in (("md5", 32), ("sha1", 40), ("sha256", 64), ("SHA-256", 64)):
            out = call(world, "compute_file_checksum", path=path, algorithm=algorithm)
            name = algorithm.lower().replace("-", "")
            assert (out["path"], out["algorithm"], out["size_bytes"]) == (
                path,
                name,
                entry["size_bytes"],
            )
            assert re.fullmatch(rf"[0-9a-f]{{{width}}}", out["checksum"])
            digests[name] = out["checksum"]
            if is_text:
                data = call(world, "read_text_file", path=path)["content"].encode()
                assert out["checksum"] == hashlib.new(name, data).hexdigest()
        assert len(set(digests.values())) == 3


def test_checksum_bad_calls():
    world = SCENARIO.world(0)
    with pytest.raises(ToolError, match="md5, sha1, sha256"):
        call(world, "compute_file_checksum", path="~/.bashrc", algorithm="sha512")
    with pytest.raises(ToolError, match="is a directory"):
        call(world, "compute_file_checksum", path="~/documents", algorithm="md5")


# -- writing, copying, moving ---------------------------------------------------------------


@pytest.mark.parametrize("content", ["", "hello\n", "Grüße, 世界 ☕\n" * 50])
def test_write_reports_the_bytes_it_writes(content):
    world = SCENARIO.world(1)
    out = call(world, "write_text_file", path="~/documents/../backups/report.md", content=content)
    assert out["path"] == f"{world.home}/backups/report.md"
    assert out["status"] == "created"
    assert out["size_bytes"] == len(content.encode("utf-8"))
    assert out["sha256"] == hashlib.sha256(content.encode("utf-8")).hexdigest()


def test_write_over_an_existing_file_and_refusals():
    world = SCENARIO.world(1)
    assert call(world, "write_text_file", path="~/.bashrc", content="x")["status"] == "overwritten"
    with pytest.raises(ToolError, match="is a directory"):
        call(world, "write_text_file", path="~/documents", content="x")
    with pytest.raises(ToolError, match="no such file or directory"):
        call(world, "write_text_file", path="~/reports/2025/q1.md", content="x")
    with pytest.raises(ToolError, match="must be an absolute path"):
        call(world, "write_text_file", path="notes.md", content="x")
    with pytest.raises(ToolError, match="at most 100000"):
        call(world, "write_text_file", path="~/big.txt", content="x" * 100_001)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("verb", ["copy", "move"])
def test_copy_and_move_report_the_new_path_and_hash(seed, verb):
    # Stateful since v3: a second copy replaces the first (a new operation), and a moved file
    # is gone from its folder, so each file is checked once, on a fresh world per verb.
    world = SCENARIO.world(seed)
    entries, _ = walk(world)
    tool = f"{verb}_file_to_directory"
    for entry in files_under(entries, f"{world.home}/downloads"):
        checksum = call(world, "compute_file_checksum", path=entry["path"], algorithm="sha256")
        out = call(world, tool, source=entry["path"], destination_directory="~/archive/")
        assert out["source"] == entry["path"]
        assert out["path"] == f"{world.home}/archive/{entry['name']}"
        assert out["size_bytes"] == entry["size_bytes"]
        assert out["sha256"] == checksum["checksum"]
        assert re.fullmatch(r"OP-[0-9A-F]{6}", out["operation_id"])
        assert "replaced" not in out
        # the first operation of its kind keeps the id dataset v2 gave it
        assert out["operation_id"] == stable_id("OP", world.seed, verb, entry["path"], out["path"])
        moved = call(world, "compute_file_checksum", path=out["path"], algorithm="sha256")
        assert moved["checksum"] == checksum["checksum"]
        if verb == "move":
            with pytest.raises(ToolError, match="no such file or directory"):
                call(world, tool, source=entry["path"], destination_directory="~/archive")
        else:
            again = call(world, tool, source=entry["path"], destination_directory="~/archive")
            assert again["replaced"] is True
            assert again["operation_id"] != out["operation_id"]
            assert {key: again[key] for key in ("path", "sha256")} == {
                key: out[key] for key in ("path", "sha256")
            }


@pytest.mark.parametrize("verb", ["copy", "move"])
def test_copy_and_move_refusals(verb):
    world = SCENARIO.world(2)
    tool = f"{verb}_file_to_directory"
    with pytest.raises(ToolError, match="already exists"):
        call(world, tool, source="~/.bashrc", destination_directory="~")
    with pytest.raises(ToolError, match="is a file, not a directory"):
        call(world, tool, source="~/.bashrc", destination_directory="~/.gitconfig")
    with pytest.raises(ToolError, match="is a directory, not a file"):
        call(world, tool, source="~/documents", destination_directory="~/backups")
    with pytest.raises(ToolError, match="no such file or directory"):
        call(world, tool, source="~/missing.txt", destination_directory="~/backups")


# -- compression ----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_compression_jobs_describe_the_walked_files(seed):
    entries, children = walk(SCENARIO.world(seed))
    home = SCENARIO.world(seed).home
    folders = [path for path in children if path != home and files_under(entries, path)]
    for folder in folders:
        # a fresh world per folder: since v3 an archive is a file beside its folder, which
        # an archive of the folder above would then hold
        world = SCENARIO.world(seed)
        files = files_under(entries, folder)
        original = sum(entry["size_bytes"] for entry in files)
        all_text = all(call(world, "get_file_metadata", path=e["path"])["is_text"] for e in files)
        sizes = {}
        for fmt, factor in ARCHIVE_FACTOR.items():
            job = call(world, "compress_directory", path=folder + "/", archive_format=f".{fmt}")
            assert re.fullmatch(r"CMP-[0-9A-F]{6}", job["job_id"])
            assert job["directory"] == folder
            assert (job["status"], job["archive_format"]) == ("running", fmt)
            assert job["archive_path"] == f"{folder}.{fmt}"
            assert job["files"] == len(files)
            status = call(world, "get_compression_job_status", job_id=job["job_id"].lower())
            assert status["job_id"] == job["job_id"]
            assert status["status"] == "completed"
            assert (status["directory"], status["archive_path"], status["files"]) == (
                folder,
                f"{folder}.{fmt}",
                len(files),
            )
            assert status["original_bytes"] == original
            assert re.fullmatch(r"[0-9a-f]{64}", status["sha256"])
            overhead = 120 * len(files)  # per-file headers, plus under 256 bytes of trailer
            if all_text:
                least = int(original * TEXT_RATIO * factor) + overhead
                assert least - 1 <= status["compressed_bytes"] <= least + 256
            assert 0 < status["compressed_bytes"] <= original * factor + overhead + 256
            sizes[fmt] = status["compressed_bytes"]
        if original > 100_000:  # on big folders the format's factor dominates
            assert sizes["zip"] > sizes["tar.gz"] > sizes["tar.xz"]


def test_compression_bad_calls():
    world = SCENARIO.world(0)
    with pytest.raises(ToolError, match="whole home directory"):
        call(world, "compress_directory", path="~", archive_format="zip")
    with pytest.raises(ToolError, match="contains no files"):
        call(world, "compress_directory", path="~/backups", archive_format="zip")
    with pytest.raises(ToolError, match=r"zip, tar\.gz, tar\.xz"):
        call(world, "compress_directory", path="~/documents", archive_format="rar")
    with pytest.raises(ToolError, match="is a file, not a directory"):
        call(world, "compress_directory", path="~/.bashrc", archive_format="zip")
    job = call(world, "compress_directory", path="~/documents", archive_format="zip")["job_id"]
    tampered = job[:-1] + ("0" if job[-1] != "0" else "1")
    for bad in (tampered, "CMP-FF0ABC", "CMP-123", "job"):
        with pytest.raises(ToolError, match="compress_directory"):
            call(world, "get_compression_job_status", job_id=bad)


# -- state: what writes leave, what reads see -------------------------------------------------


def run(world: Any, tool_name: str, /, **arguments: Any) -> dict[str, Any]:
    """Run a tool as the environment does (recorded; a refused call is rolled back)."""
    tool = TOOLS[tool_name]
    return tool.run(world, tool.validate_arguments(arguments))[0]


def now_of(world: Any) -> str:
    """The world's "now", by hand: 2025-06-02 18:00 plus the world's minutes."""
    return (dt.datetime(2025, 6, 2, 18, 0) + dt.timedelta(minutes=world.now)).strftime(
        "%Y-%m-%dT%H:%M"
    )


def stored(world: Any, path: str) -> Any:
    """The state's object for the file at ``path`` (``None`` when the state has none)."""
    found = [
        value
        for key, value in world.state.snapshot().items()
        if key[0] == "file" and value.get("path") == path
    ]
    assert len(found) <= 1
    return found[0] if found else None


def names_in(world: Any, folder: str) -> list[str]:
    return [entry["name"] for entry in call(world, "list_directory", path=folder)["entries"]]


def test_a_written_file_is_read_listed_found_and_hashed():
    world = SCENARIO.world(1)
    home = world.home
    before = names_in(world, f"{home}/backups")
    text = "line one\nline two\nlíne three"
    out = call(world, "write_text_file", path="~/backups/notes.md", content=text)
    assert out["status"] == "created"
    read = call(world, "read_text_file", path=f"{home}/backups/notes.md")
    assert (read["content"], read["line_count"], read["size_bytes"]) == (text, 3, 29)
    meta = call(world, "get_file_metadata", path=f"{home}/backups/notes.md")
    assert meta["modified"] == now_of(world)
    assert (meta["mime_type"], meta["permissions"], meta["is_text"]) == (
        "text/markdown",
        "rw-r--r--",
        True,
    )
    assert before == [] and names_in(world, f"{home}/backups") == ["notes.md"]
    found = call(world, "find_files_by_pattern", directory=home, pattern="notes.*")["matches"]
    assert f"{home}/backups/notes.md" in [match["path"] for match in found]
    literal = call(world, "find_files_by_pattern", directory=home, pattern="notes.md")
    assert [match["path"] for match in literal["matches"]] == [f"{home}/backups/notes.md"]
    for algorithm in ALGORITHMS:
        checksum = call(
            world, "compute_file_checksum", path="~/backups/notes.md", algorithm=algorithm
        )
        assert checksum["checksum"] == hashlib.new(algorithm, text.encode()).hexdigest()
    # a write in the taxes folder is private, like the seed's files there
    call(world, "write_text_file", path="~/documents/taxes/note.txt", content="x")
    assert call(world, "get_file_metadata", path="~/documents/taxes/note.txt")["permissions"] == (
        "rw-------"
    )


def test_an_overwrite_is_a_new_revision_even_with_the_same_text():
    world = SCENARIO.world(2)
    path = f"{world.home}/.gitconfig"
    permissions = call(world, "get_file_metadata", path=path)["permissions"]
    first = call(world, "write_text_file", path=path, content="[user]\n")
    assert first["status"] == "overwritten"
    assert call(world, "read_text_file", path=path)["content"] == "[user]\n"
    assert call(world, "get_file_metadata", path=path)["permissions"] == permissions == "rw-------"
    assert stored(world, path)["revision"] == 2  # the seed's version is the first
    once = world.state.snapshot()
    again = call(world, "write_text_file", path=path, content="[user]\n")
    assert again == first  # the same answer...
    assert stored(world, path)["revision"] == 3  # ...but a second write shows in the state
    assert world.state.snapshot() != once


def test_a_copy_has_its_source_content_and_a_second_copy_replaces_it():
    world = SCENARIO.world(0)
    pdfs = call(world, "find_files_by_pattern", directory="~", pattern="*.pdf")["matches"]
    source = pdfs[0]["path"]
    digests = {
        algorithm: call(world, "compute_file_checksum", path=source, algorithm=algorithm)[
            "checksum"
        ]
        for algorithm in ALGORITHMS
    }
    size = call(world, "get_file_metadata", path=source)["size_bytes"]
    copy = call(world, "copy_file_to_directory", source=source, destination_directory="~/backups")
    target = copy["path"]
    assert target == f"{world.home}/backups/{posixpath.basename(source)}"
    for algorithm, digest in digests.items():
        assert (
            call(world, "compute_file_checksum", path=target, algorithm=algorithm)["checksum"]
            == digest
        )
    meta = call(world, "get_file_metadata", path=target)
    assert (meta["size_bytes"], meta["modified"], meta["is_text"]) == (size, now_of(world), False)
    assert names_in(world, f"{world.home}/backups") == [posixpath.basename(source)]
    assert call(world, "get_file_metadata", path=source)["size_bytes"] == size  # still there
    second = call(world, "copy_file_to_directory", source=source, destination_directory="~/backups")
    assert second["replaced"] is True
    assert second["operation_id"] != copy["operation_id"]
    assert stored(world, target)["revision"] == 2
    with pytest.raises(ToolError, match="already exists"):
        call(world, "copy_file_to_directory", source=target, destination_directory="~/backups")


def test_a_move_removes_the_source_and_keeps_the_file():
    world = SCENARIO.world(3)
    downloads = f"{world.home}/downloads"
    entries = call(world, "list_directory", path=downloads)["entries"]
    entry = entries[0]
    sha1 = call(world, "compute_file_checksum", path=entry["path"], algorithm="sha1")["checksum"]
    moved = call(
        world, "move_file_to_directory", source=entry["path"], destination_directory="~/archive"
    )
    after = call(world, "list_directory", path=downloads)
    assert after["count"] == len(entries) - 1
    assert entry["name"] not in [item["name"] for item in after["entries"]]
    for tool, arguments in (
        ("get_file_metadata", {"path": entry["path"]}),
        ("compute_file_checksum", {"path": entry["path"], "algorithm": "md5"}),
    ):
        with pytest.raises(ToolError, match="no such file or directory"):
            call(world, tool, **arguments)
    found = call(world, "find_files_by_pattern", directory="~", pattern=entry["name"])["matches"]
    assert [match["path"] for match in found] == [moved["path"]]
    meta = call(world, "get_file_metadata", path=moved["path"])
    assert (meta["size_bytes"], meta["modified"]) == (entry["size_bytes"], entry["modified"])
    assert (
        call(world, "compute_file_checksum", path=moved["path"], algorithm="sha1")["checksum"]
        == sha1
    )
    assert stored(world, entry["path"]) == {
        "path": entry["path"],
        "removed": True,
        "moved_to": moved["path"],
    }
    # moved back, it is where it was and the archive holds nothing again
    call(world, "move_file_to_directory", source=moved["path"], destination_directory=downloads)
    assert call(world, "list_directory", path=downloads)["entries"] == entries
    assert names_in(world, f"{world.home}/archive") == []
    assert stored(world, moved["path"]) is None


def test_an_archive_is_a_file_and_its_job_is_read_from_the_state():
    world = SCENARIO.world(0)
    home = world.home
    job = call(world, "compress_directory", path="~/logs", archive_format="tar.gz")
    status = call(world, "get_compression_job_status", job_id=job["job_id"])
    archive = f"{home}/logs.tar.gz"
    assert "logs.tar.gz" in names_in(world, home)
    meta = call(world, "get_file_metadata", path=archive)
    assert (meta["size_bytes"], meta["mime_type"], meta["modified"], meta["is_text"]) == (
        status["compressed_bytes"],
        "application/gzip",
        now_of(world),
        False,
    )
    sha256 = call(world, "compute_file_checksum", path=archive, algorithm="sha256")["checksum"]
    assert sha256 == status["sha256"]
    # a job that was never started is unknown, even with an id of the right shape
    with pytest.raises(ToolError, match="unknown compression job"):
        call(SCENARIO.world(0), "get_compression_job_status", job_id=job["job_id"])
    # compressing again is a second job whose archive replaces the first
    again = call(world, "compress_directory", path="~/logs", archive_format="tar.gz")
    assert again["job_id"] != job["job_id"]
    assert re.fullmatch(r"CMP-[0-9A-F]{6}", again["job_id"])
    assert again["job_id"][:7] == job["job_id"][:7]  # the same folder and format
    second = call(world, "get_compression_job_status", job_id=again["job_id"])
    assert {k: v for k, v in second.items() if k != "job_id"} == {
        k: v for k, v in status.items() if k != "job_id"
    }
    assert call(world, "get_compression_job_status", job_id=job["job_id"]) == status
    assert stored(world, archive)["revision"] == 2


def test_an_archive_holds_the_files_as_they_are_now():
    def archive(world: Any) -> dict[str, Any]:
        job = call(world, "compress_directory", path="~/documents", archive_format="zip")
        return call(world, "get_compression_job_status", job_id=job["job_id"])

    seed_archive = archive(SCENARIO.world(2))
    world = SCENARIO.world(2)
    text = "a note\n"
    call(world, "write_text_file", path="~/documents/taxes/x.txt", content=text)
    with_note = archive(world)
    assert with_note["files"] == seed_archive["files"] + 1
    assert with_note["original_bytes"] == seed_archive["original_bytes"] + len(text.encode())
    assert with_note["sha256"] != seed_archive["sha256"]
    assert with_note["job_id"] == seed_archive["job_id"]  # the first job of its folder
    moved = SCENARIO.world(2)
    listed = call(moved, "list_directory", path="~/documents")["entries"]
    name = [entry for entry in listed if entry["type"] == "file"][-1]
    call(moved, "move_file_to_directory", source=name["path"], destination_directory="~/backups")
    without = archive(moved)
    assert without["files"] == seed_archive["files"] - 1
    assert without["original_bytes"] == seed_archive["original_bytes"] - name["size_bytes"]


def test_backups_can_be_compressed_once_they_hold_a_file():
    world = SCENARIO.world(1)
    with pytest.raises(ToolError, match="contains no files"):
        call(world, "compress_directory", path="~/backups", archive_format="zip")
    call(world, "write_text_file", path="~/backups/a.txt", content="abc")
    job = call(world, "compress_directory", path="~/backups", archive_format="zip")
    status = call(world, "get_compression_job_status", job_id=job["job_id"])
    assert (status["files"], status["original_bytes"]) == (1, 3)


@pytest.mark.parametrize(
    ("tool_name", "arguments"),
    [
        ("write_text_file", {"path": "~/big.txt", "content": "x" * 100_001}),
        ("write_text_file", {"path": "~/documents", "content": "x"}),
        ("copy_file_to_directory", {"source": "~/nope.txt", "destination_directory": "~/backups"}),
        ("move_file_to_directory", {"source": "~/.bashrc", "destination_directory": "~"}),
        ("move_file_to_directory", {"source": "~/.bashrc", "destination_directory": "~/nope"}),
        ("compress_directory", {"path": "~/archive", "archive_format": "zip"}),
        ("compress_directory", {"path": "~/logs", "archive_format": "rar"}),
    ],
)
def test_a_refused_write_changes_nothing(tool_name, arguments):
    world = SCENARIO.world(0)
    call(world, "write_text_file", path="~/backups/kept.txt", content="kept")
    before = world.state.snapshot()
    with pytest.raises(ToolError):
        run(world, tool_name, **arguments)
    assert world.state.snapshot() == before


def test_writes_in_one_folder_do_not_touch_reads_of_another():
    world = SCENARIO.world(0)
    home = world.home
    write = TOOLS["write_text_file"].run(world, {"path": f"{home}/backups/x.txt", "content": "x"})
    for tool_name, arguments in (
        ("list_directory", {"path": f"{home}/documents"}),
        ("list_directory", {"path": home}),
        ("find_files_by_pattern", {"directory": f"{home}/logs", "pattern": "*.log"}),
        ("find_files_by_pattern", {"directory": home, "pattern": "notes.txt"}),
        ("find_files_by_pattern", {"directory": home, "pattern": "*.csv"}),
        ("find_files_by_pattern", {"directory": home, "pattern": "*.txt.md5"}),
        ("compress_directory", {"path": f"{home}/documents", "archive_format": "zip"}),
    ):
        effects = TOOLS[tool_name].run(world, arguments)[1]
        assert not write[1].conflicts_with(effects), (tool_name, arguments)
    for arguments in (
        {"directory": home, "pattern": "*"},
        {"directory": home, "pattern": "*.txt"},
        {"directory": f"{home}/backups", "pattern": "?.txt"},
        {"directory": home, "pattern": "x.txt"},
        {"directory": home, "pattern": "x.*"},
    ):
        effects = TOOLS["find_files_by_pattern"].run(world, arguments)[1]
        assert write[1].conflicts_with(effects), arguments
        assert f"{home}/backups/x.txt" in [
            m["path"] for m in run(world, "find_files_by_pattern", **arguments)["matches"]
        ]


def test_a_search_reads_what_its_pattern_can_match_and_sees_every_change_there():
    world = SCENARIO.world(1)
    home = world.home
    csv_files = call(world, "find_files_by_pattern", directory=home, pattern="*.csv")["matches"]
    gone = csv_files[0]["path"]
    call(world, "move_file_to_directory", source=gone, destination_directory="~/archive")
    call(world, "write_text_file", path="~/backups/new.csv", content="a\n")
    call(world, "write_text_file", path="~/backups/new.csv.bak", content="a\n")
    call(world, "write_text_file", path="~/logs/app.log.2", content="old\n")
    found = call(world, "find_files_by_pattern", directory=home, pattern="*.csv")["matches"]
    expected = sorted(
        [m["path"] for m in csv_files[1:]]
        + [f"{home}/archive/{posixpath.basename(gone)}", f"{home}/backups/new.csv"]
    )
    assert [match["path"] for match in found] == expected
    logs = call(world, "find_files_by_pattern", directory="~/logs", pattern="*.log*")["matches"]
    assert [posixpath.basename(match["path"]) for match in logs] == [
        "access.log",
        "app.log",
        "app.log.1",
        "app.log.2",
        "error.log",
    ]
    named = call(world, "find_files_by_pattern", directory=home, pattern="new.csv.bak")
    assert [match["path"] for match in named["matches"]] == [f"{home}/backups/new.csv.bak"]


def test_the_shipped_gold_writes_get_the_ids_they_have_in_the_dataset():
    """The first object of its content keeps its id: every gold write of the shipped dataset,
    replayed in gold order on a fresh world, answers what the dataset stores (operation ids,
    job ids, sizes and checksums)."""
    checked = 0
    for split in ("dev", "test"):
        for instance in load_split(split):
            for task in instance.tasks:
                if task.scenario != SCENARIO.name:
                    continue
                play = play_gold([task], TOOLS, lambda _, seed: SCENARIO.world(seed))
                for index, step in enumerate(task.steps):
                    if TOOLS[step.tool].writes or step.tool == "get_compression_job_status":
                        assert play.responses[0][index] == dict(step.expected_response), (
                            task.task_id,
                            index,
                        )
                        checked += 1
    assert checked
