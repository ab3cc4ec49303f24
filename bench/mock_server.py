"""A loopback OpenAI-compatible chat completions server for benchmarks.

Every reply waits `latency_s` plus its completion tokens at `tokens_per_s`.
Then it returns what a faithful model would: a rewrite that keeps the
source's numbers, names and placeholders in new wording, a fact list, or a
comparison that finds every fact kept. So rewrites pass on the first attempt,
and the benchmark measures the pipeline, not retries.

Run it as `python -m bench.mock_server --latency 0.2`. It prints its base URL
on the first line of stdout. Besides `POST /v1/chat/completions` it serves
`GET /stats` (calls and tokens per request kind), `GET /requests` (the
request bodies recorded since the last reset) and `POST /reset` with an
optional body `{"record": true}` that starts recording bodies.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import re
import signal
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

_SOURCE_RE = re.compile(r"<source>\n(.*)\n</source>", re.S)
_FACTS_RE = re.compile(r"<facts>\n(.*)\n</facts>", re.S)
_STYLE_RE = re.compile(r"^Style: (\S+)", re.M)
_FACT_LINE_RE = re.compile(r"^\d+\. ", re.M)
_SENTENCE_RE = re.compile(r"[^.!?]+[.!?]")
_NUMBER_RE = re.compile(r"\d[\d,.]*\d|\d")
# Tokens a rewrite must keep: placeholders, numbers with the word after them (a unit or scale), capitalised names.
_KEEP_RE = re.compile(r"⟦(?:CODE|MATH)\d+⟧|(?:\d[\d,.]*\d|\d)(?: [a-z]+)?|\b[A-Z][a-zA-Z]+\b")
_FILLER = ("notes", "records", "mentions", "lists", "observes", "adds")
_CHARS_PER_TOKEN = 4


@dataclass
class MockStats:
    """Calls and tokens per request kind: 'text' or the structured output's schema name."""

    calls: Counter = field(default_factory=Counter)
    prompt_tokens: Counter = field(default_factory=Counter)
    completion_tokens: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {
            "calls": dict(self.calls),
            "prompt_tokens": dict(self.prompt_tokens),
            "completion_tokens": dict(self.completion_tokens),
        }


class MockServer:
    """The server state and its HTTP/1.1 keep-alive handler on asyncio streams."""

    def __init__(self, latency_s: float = 0.2, tokens_per_s: float = 0.0) -> None:
        self.latency_s = latency_s
        self.tokens_per_s = tokens_per_s
        self.stats = MockStats()
        self.recording = False
        self.recorded: list[dict[str, Any]] = []
        self._connections: set[asyncio.Task] = set()

    async def serve(self, host: str = "127.0.0.1", port: int = 0) -> asyncio.Server:
        """Start listening. Only loopback addresses are accepted, because this is a test server."""
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"host must be a loopback address such as 127.0.0.1, got {host}")
        return await asyncio.start_server(self._handle_connection, host, port, backlog=1024)

    async def close_connections(self) -> None:
        """End every open connection and wait for its handler, so that none is cancelled at shutdown."""
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)

    async def _handle_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # A handler that ends by CancelledError makes Python 3.11's asyncio log a traceback, so cancelling
        # goes through an inner task whose cancellation this handler absorbs.
        task = asyncio.create_task(self._serve_connection(reader, writer))
        self._connections.add(task)
        try:
            await asyncio.wait([task])
        finally:
            self._connections.discard(task)

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, *header_lines = head.decode("latin-1").split("\r\n")
                method, target, _ = request_line.split(" ", 2)
                headers = dict(_split_header(line) for line in header_lines if ":" in line)
                body = await reader.readexactly(int(headers.get("content-length", "0")))

                status, payload, delay_s = self._route(method, target.split("?", 1)[0], body)
                if delay_s:
                    await asyncio.sleep(delay_s)
                data = json.dumps(payload).encode()
                writer.write(
                    f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n".encode() + data
                )
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass  # the client closed the connection
        finally:
            writer.close()

    def _route(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, Any], float]:
        """Return (status, JSON payload, seconds to wait before sending it)."""
        if method == "POST" and path.endswith("/chat/completions"):
            return self._complete(json.loads(body))
        if method == "GET" and path == "/stats":
            return 200, self.stats.as_dict(), 0.0
        if method == "GET" and path == "/requests":
            return 200, {"requests": self.recorded}, 0.0
        if method == "POST" and path == "/reset":
            options = json.loads(body) if body else {}
            self.stats = MockStats()
            self.recorded = []
            self.recording = bool(options.get("record"))
            return 200, {}, 0.0
        return 404, {"error": {"message": f"no route for {method} {path}", "type": "not_found"}}, 0.0

    def _complete(self, request: dict[str, Any]) -> tuple[int, dict[str, Any], float]:
        if self.recording:
            self.recorded.append(request)
        kind = schema_name(request) or "text"
        content = answer(kind, request)
        prompt_tokens = sum(len(message.get("content") or "") for message in request["messages"]) // _CHARS_PER_TOKEN
        completion_tokens = max(1, len(content) // _CHARS_PER_TOKEN)
        self.stats.calls[kind] += 1
        self.stats.prompt_tokens[kind] += prompt_tokens
        self.stats.completion_tokens[kind] += completion_tokens

        delay_s = self.latency_s + (completion_tokens / self.tokens_per_s if self.tokens_per_s else 0.0)
        payload = {
            "id": f"mock-{sum(self.stats.calls.values())}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.get("model", "mock"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
        return 200, payload, delay_s


def _split_header(line: str) -> tuple[str, str]:
    name, value = line.split(":", 1)
    return name.strip().lower(), value.strip()


def schema_name(request: dict[str, Any]) -> str | None:
    """Return the JSON schema name of a structured request, or None for free text."""
    json_schema = (request.get("response_format") or {}).get("json_schema") or {}
    return json_schema.get("name") or (json_schema.get("schema") or {}).get("title")


def answer(kind: str, request: dict[str, Any]) -> str:
    """Return the reply a faithful model would give to one request."""
    message = request["messages"][-1]["content"]
    if kind == "FactList":
        return fact_list(message)
    if kind == "Comparison":
        return all_kept(message)
    return rewrite(message)


def rewrite(message: str) -> str:
    """Return the source's placeholders, numbers and names, in order, each after a filler word named for the style.

    Filler words are new to the source, so no word 4-gram is copied, and they
    differ per style, so two styles' rewrites are not alike.
    """
    source = _SOURCE_RE.search(message)
    style = _STYLE_RE.search(message)
    kept = _KEEP_RE.findall(source.group(1) if source else message) or ["nothing"]
    style_name = style.group(1) if style else "plain"
    words = [f"{style_name}-{_FILLER[index % len(_FILLER)]} {token}" for index, token in enumerate(kept)]
    return " ".join(words) + "."


def fact_list(message: str) -> str:
    """Return one fact per sentence of the source, at most 12, with the sentence's numbers as quantities."""
    source = _SOURCE_RE.search(message)
    sentences = [sentence.strip() for sentence in _SENTENCE_RE.findall(source.group(1) if source else message)]
    facts = [
        {"subject": "the passage", "relation": "states that", "object": sentence, "quantities": _NUMBER_RE.findall(sentence)}
        for sentence in sentences[:12] or ["it has no complete sentence"]
    ]
    return json.dumps({"facts": facts})


def all_kept(message: str) -> str:
    """Return a comparison that marks every numbered fact as kept."""
    facts = _FACTS_RE.search(message)
    count = len(_FACT_LINE_RE.findall(facts.group(1))) if facts else 0
    checks = [{"index": index, "status": "kept", "note": ""} for index in range(1, count + 1)]
    return json.dumps({"source_facts": checks, "rewrite_claims": []})


async def _main(args: argparse.Namespace) -> None:
    mock = MockServer(latency_s=args.latency, tokens_per_s=args.tokens_per_s)
    server = await mock.serve(args.host, args.port)
    host, port = server.sockets[0].getsockname()[:2]
    print(f"http://{host}:{port}/v1", flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with server:
        await stop.wait()
        server.close()
        await mock.close_connections()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a mock OpenAI-compatible endpoint on a loopback address.")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=0, help="port, 0 for a free one (default: %(default)s)")
    parser.add_argument("--latency", type=float, default=0.2, help="seconds before each reply (default: %(default)s)")
    parser.add_argument("--tokens-per-s", type=float, default=0.0, help="completion tokens per second added to the latency; 0 adds nothing (default: %(default)s)")
    asyncio.run(_main(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
