"""rephrase_corpus: concurrency, record order, skipping and failures, against the scripted server."""

import asyncio
import json
import logging
from pathlib import Path

import pytest

from polyphrase.corpus import Document, InputFailure, RecordWriter
from polyphrase.graph import build_graph
from polyphrase.runner import RunSummary, rephrase_corpus
from tests.conftest import faithful_responder, user_message
from tests.fake_openai import Reply, structured_schema_name


def _documents(count: int) -> list[Document]:
    return [Document(f"doc{index}", f"Document {index} names Paris and {index + 10} bridges.", f"in:{index}") for index in range(count)]


def _run(context, documents, path: Path, **options) -> RunSummary:
    writer = RecordWriter(path)
    try:
        return asyncio.run(rephrase_corpus(documents, build_graph(), context, writer, **options))
    finally:
        writer.close()


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_records_carry_input_order(fake_llm, make_context, tmp_path: Path):
    def responder(request):
        reply = faithful_responder(request)
        # The server replies slowly to the first document, so later ones finish before it.
        if "Document 0 " in user_message(request) or "document0" in user_message(request):
            reply.delay_s = 0.3
        return reply

    server = fake_llm(responder)
    path = tmp_path / "out.jsonl"
    summary = _run(make_context(server), _documents(6), path, concurrency=4)
    records = _records(path)
    assert summary.documents == 6
    assert len(records) == 12
    assert records[0]["seq"] != 0
    assert sorted({(record["seq"], record["id"]) for record in records}) == [(index, f"doc{index}") for index in range(6)]


def test_input_failures_get_records(fake_llm, make_context, tmp_path: Path, caplog):
    server = fake_llm()
    items = [_documents(1)[0], InputFailure("bad.txt", "/in/bad.txt", "empty document")]
    path = tmp_path / "out.jsonl"
    with caplog.at_level(logging.WARNING, logger="polyphrase.runner"):
        summary = _run(make_context(server), items, path)
    [failure] = [record for record in _records(path) if record["id"] == "bad.txt"]
    assert failure == {"id": "bad.txt", "seq": 1, "source": "/in/bad.txt", "error": "/in/bad.txt: empty document", "record_count": 1}
    assert summary.failure_reasons == {"empty document": 1}
    assert "/in/bad.txt: empty document" in caplog.text


def test_written_documents_skipped(fake_llm, make_context, tmp_path: Path):
    server = fake_llm()
    path = tmp_path / "out.jsonl"
    _run(make_context(server), _documents(2), path)
    calls = len(server.requests)

    summary = _run(make_context(server), _documents(3), path)
    records = _records(path)
    assert summary.skipped == 2
    assert summary.documents == 1
    assert len(server.requests) - calls == 5
    assert {record["seq"] for record in records if record["id"] == "doc2"} == {2}


def test_duplicate_ids_skipped(fake_llm, make_context, tmp_path: Path, caplog):
    server = fake_llm()
    first, second = _documents(2)
    items = [first, second, Document("doc0", "Another text named doc0 about Rome.", "in:again")]
    path = tmp_path / "out.jsonl"
    with caplog.at_level(logging.WARNING, logger="polyphrase.runner"):
        summary = _run(make_context(server), items, path)
    ids = [record["id"] for record in _records(path)]
    assert summary.duplicates == 1
    assert ids.count("doc0") == 2  # two styles of the first doc0 only
    assert "document id 'doc0' was already used" in caplog.text
    assert "skipped: 1 x duplicate document id" in summary.lines()


def test_input_read_lazily(fake_llm, make_context, tmp_path: Path):
    server = fake_llm()
    pulled = []
    ahead = []

    def documents():
        for document in _documents(12):
            pulled.append(document.doc_id)
            yield document

    def on_document(summary: RunSummary) -> None:
        ahead.append(len(pulled) - summary.documents)

    _run(make_context(server), documents(), tmp_path / "out.jsonl", concurrency=3, on_document=on_document)
    assert len(ahead) == 12
    assert max(ahead) <= 4


def test_graph_crash_fails_one_document(fake_llm, make_context, tmp_path: Path):
    server = fake_llm()
    graph = build_graph()
    real_ainvoke = graph.ainvoke

    async def ainvoke(state, **options):
        if state["doc_id"] == "doc1":
            raise RuntimeError("boom")
        return await real_ainvoke(state, **options)

    graph.ainvoke = ainvoke
    path = tmp_path / "out.jsonl"
    writer = RecordWriter(path)
    summary = asyncio.run(rephrase_corpus(_documents(3), graph, make_context(server), writer))
    writer.close()
    failures = [record for record in _records(path) if "error" in record]
    assert summary.documents == 3
    assert len(failures) == 1
    assert failures[0]["error"] == "in:1: unexpected error: RuntimeError: boom"


class _FullDiskWriter(RecordWriter):
    """Fails every write after the first, like a disk that filled up."""

    def write_document(self, records):
        if getattr(self, "written", 0):
            raise OSError(28, "No space left on device")
        self.written = 1
        super().write_document(records)


def test_write_error_stops_run(fake_llm, make_context, tmp_path: Path):
    server = fake_llm()
    writer = _FullDiskWriter(tmp_path / "out.jsonl")
    with pytest.raises(OSError, match="No space left"):
        asyncio.run(rephrase_corpus(_documents(20), build_graph(), make_context(server), writer, concurrency=2))
    writer.close()
    assert len(server.requests) < 20 * 5


def test_summary_without_accepted_rewrites():
    summary = RunSummary()
    failed = {"passed": False, "retried_chunks": 1, "attempts": 3, "chunks": [{"copy_overlap": 0.9}, {"copy_overlap": 0.5}]}
    summary.add_records([failed])
    lines = summary.lines()
    assert "retries: 1 rewrites retried, 0 fixed by feedback (0.0%); mean attempts per accepted rewrite: none accepted" in lines
    assert "word 4-grams shared with the source, mean per rewrite: accepted none accepted, all 70.0%" in lines


def _cached_run(context, documents, path: Path) -> RunSummary:
    writer = RecordWriter(path, overwrite=True)
    try:
        return asyncio.run(rephrase_corpus(documents, build_graph(), context, writer, result_cache=context.rewriter.cache))
    finally:
        writer.close()


def test_result_cache_skips_graph(fake_llm, make_context, tmp_path: Path, monkeypatch):
    server = fake_llm()
    context = make_context(server)
    first = _cached_run(context, _documents(3), tmp_path / "first.jsonl")
    calls = len(server.requests)

    def no_graph(*args, **kwargs):
        raise AssertionError("the graph ran for a cached document")

    monkeypatch.setattr("polyphrase.runner._run_graph", no_graph)
    second = _cached_run(context, _documents(3), tmp_path / "second.jsonl")
    assert len(server.requests) == calls
    assert second.passed == first.passed == 6
    assert second.usage["rewrite_calls"] == 0
    assert second.usage["rewrite_cache_hits"] == first.usage["rewrite_calls"]
    assert _records(tmp_path / "second.jsonl")[0]["text"] in {record["text"] for record in _records(tmp_path / "first.jsonl")}


def test_result_cache_keyed_by_settings(fake_llm, make_context, tmp_path: Path):
    server = fake_llm()
    first = _cached_run(make_context(server), _documents(2), tmp_path / "first.jsonl")
    fewer_styles = make_context(server, styles_per_document=1)
    second = _cached_run(fewer_styles, _documents(2), tmp_path / "second.jsonl")
    assert first.rewrites == 4
    assert second.rewrites == 2


def test_failed_fact_check_not_cached(fake_llm, make_context, tmp_path: Path):
    def failing_comparison(request):
        if structured_schema_name(request) == "Comparison":
            return Reply(status=400, error_message="bad request")
        return faithful_responder(request)

    failing = fake_llm(failing_comparison)
    context = make_context(failing)
    summary = _cached_run(context, _documents(1), tmp_path / "first.jsonl")
    assert summary.passed == 0
    assert "fact check failed" in _records(tmp_path / "first.jsonl")[0]["chunks"][0]["problems"][0]

    healthy = fake_llm()
    retried = _cached_run(make_context(healthy), _documents(1), tmp_path / "second.jsonl")
    assert retried.passed == 2
