"""Transport faults below the graph: retried by the client and never spending a rewrite attempt."""

import asyncio
import json
import threading
import time
from pathlib import Path

import pytest

from polyphrase.cache import ResponseCache
from polyphrase.corpus import Document, RecordWriter
from polyphrase.errors import OutputTruncatedError, StructuredOutputError
from polyphrase.graph import Context, build_graph
from polyphrase.llm import Endpoint, LLMClient
from polyphrase.runner import rephrase_corpus
from polyphrase.schemas.facts import FactList
from tests.conftest import faithful_responder
from tests.fake_openai import FakeOpenAI, Reply

MESSAGES = [{"role": "user", "content": "Rewrite: the sky is blue."}]


def _client(server: FakeOpenAI, **endpoint) -> LLMClient:
    options = {"max_retries": 3, "timeout_s": 5.0, **endpoint}
    return LLMClient(Endpoint(server.base_url, "fake-model", **options))


def _complete(client: LLMClient):
    return asyncio.run(client.complete(MESSAGES, prompt_version="v1", temperature=0.5, max_tokens=50))


def _scripted(replies: list[Reply], times: list[float]):
    """Return a responder that returns `replies` in turn and records when each request arrived."""

    def responder(request):
        times.append(time.monotonic())
        return replies.pop(0)

    return responder


def _documents(count: int) -> list[Document]:
    return [Document(f"doc{index}", f"Report {index} says Lyon has {index + 3} museums.", f"in:{index}") for index in range(count)]


def _run(context: Context, documents: list[Document], path: Path, concurrency: int = 4):
    writer = RecordWriter(path)
    try:
        return asyncio.run(rephrase_corpus(documents, build_graph(), context, writer, concurrency=concurrency))
    finally:
        writer.close()


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_rate_limit_waits_retry_after(fake_llm):
    times: list[float] = []
    replies = [
        Reply(status=429, headers={"Retry-After": "1"}),
        Reply(status=429, headers={"Retry-After": "0.05"}),
        Reply(content="Blue sky."),
    ]
    server = fake_llm(_scripted(replies, times))
    assert _complete(_client(server)).text == "Blue sky."
    assert len(times) == 3
    # Without Retry-After the client would wait about 0.5 s, then about 1 s.
    assert times[1] - times[0] >= 1.0
    assert times[2] - times[1] < 0.7


def test_server_error_then_success(fake_llm):
    times: list[float] = []
    server = fake_llm(_scripted([Reply(status=500), Reply(status=503), Reply(content="Blue sky.")], times))
    assert _complete(_client(server)).text == "Blue sky."
    assert len(times) == 3


def test_hung_reply_retried(fake_llm):
    times: list[float] = []
    server = fake_llm(_scripted([Reply(content="too late", delay_s=2.0), Reply(content="Blue sky.")], times))
    result = _complete(_client(server, timeout_s=0.5))
    assert result.text == "Blue sky."
    assert len(times) == 2


def test_truncated_and_invalid_told_apart(fake_llm):
    truncated = fake_llm(lambda request: Reply(content='{"facts": [{"subject": "sky"', finish_reason="length"))
    invalid = fake_llm(lambda request: Reply(content='{"facts": "none"}'))
    with pytest.raises(OutputTruncatedError, match="cut off at max_tokens=20"):
        asyncio.run(_client(truncated).extract(MESSAGES, FactList, prompt_version="v1", max_tokens=20))
    with pytest.raises(StructuredOutputError) as error:
        asyncio.run(_client(invalid).extract(MESSAGES, FactList, prompt_version="v1", max_tokens=20, max_reasks=1))
    assert not isinstance(error.value, OutputTruncatedError)


def test_faults_spend_no_attempt(fake_llm, tmp_path: Path):
    # The first try of every distinct request fails; the retry succeeds. Keying on the request,
    # not on a shared counter, keeps concurrent requests from drawing each other's faults.
    seen: dict[str, int] = {}

    def responder(request):
        key = json.dumps(request["messages"], sort_keys=True) + json.dumps(request.get("response_format"), sort_keys=True)
        if key not in seen:
            seen[key] = len(seen)
            return Reply(status=(429, 500, 502)[seen[key] % 3], headers={"Retry-After": "0.01"})
        return faithful_responder(request)

    server = fake_llm(responder)
    client = LLMClient(Endpoint(server.base_url, "fake-model", max_retries=4, timeout_s=5))
    path = tmp_path / "out.jsonl"
    summary = _run(Context(rewriter=client, verifier=client), _documents(4), path)
    records = _records(path)
    assert summary.passed == 8
    assert all(record["attempts"] == 1 for record in records)
    assert len(seen) >= 8
    assert len(server.requests) == 2 * len(seen)


def test_context_error_fails_document(fake_llm, make_context, tmp_path: Path):
    def responder(request):
        if "Lyon has 4 museums" in request["messages"][-1]["content"] and not request.get("response_format"):
            return Reply(status=400, error_message="the request exceeds the available context size")
        return faithful_responder(request)

    server = fake_llm(responder)
    path = tmp_path / "out.jsonl"
    _run(make_context(server, style_names=("encyclopedic",)), _documents(2), path)
    records = {record["id"]: record for record in _records(path)}
    overflow = [request for request in server.requests if "Lyon has 4 museums" in request["messages"][-1]["content"]]
    assert len(overflow) == 1
    assert records["doc0"]["passed"] is True
    assert records["doc1"]["error"].startswith("in:1: ")
    assert "doc1 chunk 0" in records["doc1"]["error"]
    assert "context" in records["doc1"]["error"]


def test_server_restart_mid_run(tmp_path: Path):
    def responder(request):
        reply = faithful_responder(request)
        reply.delay_s = 0.05
        return reply

    first = FakeOpenAI(responder).start()
    servers = [first]

    def crash_and_restart() -> None:
        while len(first.requests) < 12:
            time.sleep(0.01)
        first.stop(drop_connections=True)
        time.sleep(0.5)
        servers.append(FakeOpenAI(responder, port=first.port).start())

    restarter = threading.Thread(target=crash_and_restart)
    restarter.start()
    try:
        client = LLMClient(Endpoint(first.base_url, "fake-model", max_retries=6, timeout_s=5), ResponseCache(tmp_path / "cache"))
        path = tmp_path / "out.jsonl"
        summary = _run(Context(rewriter=client, verifier=client), _documents(10), path)
    finally:
        restarter.join()
        servers[-1].stop()
    records = _records(path)
    assert len(servers) == 2
    assert len(servers[1].requests) > 0
    assert summary.failed_documents == 0
    assert summary.passed == 20
    assert sorted({record["id"] for record in records}) == sorted(f"doc{index}" for index in range(10))
