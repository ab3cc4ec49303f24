"""A scripted OpenAI-compatible chat completions server on 127.0.0.1 for offline tests.

Tests pass a `responder(request_json) -> Reply`; the server runs it for every
POST to /v1/chat/completions and records each request. A reply can set the
HTTP status, headers, a delay, the finish reason and the token usage.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable


@dataclass
class Reply:
    """One scripted response."""

    content: str = ""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    finish_reason: str = "stop"
    prompt_tokens: int = 10
    completion_tokens: int = 5
    error_message: str = ""


Responder = Callable[[dict[str, Any]], Reply]


def structured_schema_name(request: dict[str, Any]) -> str | None:
    """Return the response_format schema name of a structured request, or None for free text."""
    response_format = request.get("response_format") or {}
    schema = response_format.get("json_schema") or {}
    return schema.get("name") or (schema.get("schema") or {}).get("title")


class FakeOpenAI:
    """The running server; use `base_url` as the endpoint."""

    def __init__(self, responder: Responder, port: int = 0) -> None:
        """Serve on `port`, or on a free port when it is 0. A restarted server can take the port of the one it replaces."""
        self.responder = responder
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                with fake._lock:
                    fake._connections.add(self.connection)

            def finish(self) -> None:
                with fake._lock:
                    fake._connections.discard(self.connection)
                super().finish()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                request = json.loads(self.rfile.read(length) or b"{}")
                with fake._lock:
                    fake.requests.append(request)
                reply = fake.responder(request)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                if reply.status != 200:
                    body = {"error": {"message": reply.error_message or f"scripted status {reply.status}", "type": "fake"}}
                else:
                    body = {
                        "id": "fake-1",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": request.get("model", "fake"),
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": reply.content},
                                "finish_reason": reply.finish_reason,
                            }
                        ],
                        "usage": {
                            "prompt_tokens": reply.prompt_tokens,
                            "completion_tokens": reply.completion_tokens,
                            "total_tokens": reply.prompt_tokens + reply.completion_tokens,
                        },
                    }
                data = json.dumps(body).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up, e.g. after its timeout, or stop() dropped the connection

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> "FakeOpenAI":
        self._thread.start()
        return self

    def stop(self, *, drop_connections: bool = False) -> None:
        """Stop accepting requests. With `drop_connections`, also cut the requests in progress, as a crash would."""
        self._server.shutdown()
        self._server.server_close()
        if drop_connections:
            with self._lock:
                connections = list(self._connections)
            for connection in connections:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass  # already closed

    def count(self, kind: str) -> int:
        """Count recorded requests of one kind: 'text' or a schema name such as 'FactList'."""
        return sum(1 for request in self.requests if (structured_schema_name(request) or "text") == kind)
