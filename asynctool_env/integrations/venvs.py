"""A virtual environment for the verifiers adapter.

verifiers 0.4 pins ``mcp==2.0.0`` and openenv 0.10 needs ``mcp<2``: the two extras cannot
share an environment. :func:`build_verifiers_venv` (``asynctool verifiers-venv``) makes one
with the ``verifiers`` extra beside your own, from this source checkout when there is one
(editable, so it runs the same code), else from the installed version on PyPI. Its ``vf-eval``
then plays the taskset ``asynctool-verifiers`` offline against ``asynctool serve-scripted``
or any OpenAI-compatible server (:func:`vf_eval_command`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

#: Where the venv goes unless told otherwise (the test suite uses it too).
DEFAULT_VERIFIERS_VENV = Path.home() / ".cache" / "asynctool" / "verifiers-venv"


def verifiers_venv_path() -> Path:
    """``$ASYNCTOOL_VERIFIERS_VENV``, else :data:`DEFAULT_VERIFIERS_VENV`."""
    return Path(os.environ.get("ASYNCTOOL_VERIFIERS_VENV", DEFAULT_VERIFIERS_VENV))


def _requirement() -> str:
    """``-e <checkout>[verifiers]`` from a source checkout, else the installed version."""
    root = Path(__file__).resolve().parents[2]
    if (root / "pyproject.toml").is_file() and (root / "asynctool_env").is_dir():
        return f"{root}[verifiers]"
    from importlib.metadata import version

    return f"asynctool-env[verifiers]=={version('asynctool-env')}"


def build_verifiers_venv(
    path: str | os.PathLike[str] | None = None,
    *,
    extra: Sequence[str] = (),
    say: Callable[[str], None] = lambda text: None,
) -> Path:
    """Create (or update) a venv at ``path`` with the ``verifiers`` extra (and ``extra``
    packages); returns its Python. Raises ``RuntimeError`` with pip's output on failure."""
    venv = Path(path) if path is not None else verifiers_venv_path()
    python = venv / "bin" / "python"
    if not python.exists():
        say(f"creating the venv {venv}")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    requirement = _requirement()
    editable = ["-e"] if not requirement.startswith("asynctool-env[") else []
    say(f"installing {requirement} (a few minutes the first time)")
    result = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", *editable, requirement, *extra],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"pip install failed in {venv}:\n{result.stderr[-3000:]}")
    return python


def vf_eval_command(venv: Path, base_url: str, model: str = "scripted") -> str:
    """The ``vf-eval`` command line that plays the dev split offline against ``base_url``
    (local runtime, nothing pushed to Prime Intellect, a dummy key)."""
    return (
        f"NO_KEY=none {venv / 'bin' / 'vf-eval'} asynctool-verifiers "
        "--env.taskset.indexes 0 1 2 --env.agent.runtime.type subprocess --no-push "
        f"-m {model} --client.base-url {base_url} --client.api-key-var NO_KEY"
    )
