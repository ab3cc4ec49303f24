"""LangSmith tracing: graph nodes, rewrite calls and structured calls reach a local stand-in for the LangSmith API."""

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import langsmith
import pytest
from langsmith import Client

from polyphrase.graph import build_graph, recursion_limit_for

DOCUMENT = "The Eiffel Tower in Paris is 330 metres tall. It opened in 1889.\n"


@pytest.fixture
def trace_sink() -> Iterator[tuple[Client, list[bytes]]]:
    """Start an HTTP server on 127.0.0.1 that accepts LangSmith run uploads; yield a client for it and the bodies."""
    bodies: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            bodies.append(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            self._reply()

        def do_GET(self) -> None:
            self._reply()

        def _reply(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield Client(api_url=f"http://127.0.0.1:{server.server_port}", api_key="test-key"), bodies
    server.shutdown()


def _run_graph(context) -> dict:
    config = {"recursion_limit": recursion_limit_for(context.max_attempts), "run_name": "polyphrase:eiffel"}
    return asyncio.run(build_graph().ainvoke({"doc_id": "eiffel", "text": DOCUMENT, "source": "test"}, config=config, context=context))


def test_traced_run_records_nodes_and_calls(fake_llm, make_context, trace_sink):
    client, bodies = trace_sink
    context = make_context(fake_llm(), cache=False, style_names=("encyclopedic",))
    with langsmith.tracing_context(enabled=True, client=client, project_name="polyphrase-test"):
        output = _run_graph(context)
    client.flush()
    uploaded = b"".join(bodies)
    assert output["results"][0].passed
    assert b"polyphrase:eiffel" in uploaded
    for node in (b"select_styles", b"stitch", b"finalize"):
        assert node in uploaded
    assert b"ChatOpenAI" in uploaded
    assert b"structured_output" in uploaded


def test_untraced_run_uploads_nothing(fake_llm, make_context, trace_sink):
    client, bodies = trace_sink
    context = make_context(fake_llm(), cache=False, style_names=("encyclopedic",))
    with langsmith.tracing_context(enabled=False, client=client):
        _run_graph(context)
    client.flush()
    assert bodies == []
