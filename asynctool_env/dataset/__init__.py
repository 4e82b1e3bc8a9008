"""The AsyncTool dataset: the shipped benchmark file, its splits, and the build pipeline.

>>> from asynctool_env.dataset import load_split
>>> instances = load_split("dev")   # doctest: +SKIP

The file ``asynctool_env/data/asynctool-v3.jsonl.gz`` holds every split, one instance per
line (schema: :class:`asynctool_env.instances.InstanceRecord`, with ``metadata.split``). It
is built by :func:`asynctool_env.dataset.build.build_dataset` (``asynctool data build``),
which regenerates it bit for bit. ``docs/dataset.md`` is the dataset card.
"""

from __future__ import annotations

import functools
from pathlib import Path

from asynctool_env.core.task import Instance
from asynctool_env.instances import load_instances

#: Version of the shipped dataset (part of the file name). v3 (stateful worlds: the gold is
#: what the gold calls do in gold order, tasks sharing a world commute) replaced v2, which
#: replaced v1 (the knowability audit, facts); results of different versions are not
#: comparable.
DATASET_VERSION = "v3"
#: The shipped file.
DATASET_PATH = (
    Path(__file__).resolve().parent.parent / "data" / f"asynctool-{DATASET_VERSION}.jsonl.gz"
)
#: Splits in the shipped file.
SPLITS = ("test", "dev")


@functools.lru_cache(maxsize=4)
def _load_file(path: Path) -> tuple[Instance, ...]:
    return tuple(load_instances(path))


def load_split(split: str = "test", path: str | Path | None = None) -> list[Instance]:
    """The instances of ``split`` in the shipped file (or in ``path``, a file of the same
    schema). Loaded once per process.

    Raises:
        ValueError: No such split in the file.
        FileNotFoundError: The file is missing (rebuild it with ``asynctool data build``).
    """
    file = Path(path) if path is not None else DATASET_PATH
    instances = [
        instance
        for instance in _load_file(file.resolve())
        if instance.metadata.get("split") == split
    ]
    if not instances:
        available = sorted({str(i.metadata.get("split")) for i in _load_file(file.resolve())})
        raise ValueError(f"no split {split!r} in {file}; the file has: {', '.join(available)}")
    return instances


__all__ = ["DATASET_PATH", "DATASET_VERSION", "SPLITS", "load_split"]
