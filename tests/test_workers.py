"""rephrase_in_workers and `--workers`: documents shared among worker processes, against the scripted server."""

import json
import multiprocessing
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from polyphrase.cli import main
from polyphrase.errors import PolyphraseError
from polyphrase.corpus import Document, RecordWriter
from polyphrase.llm import Endpoint
from polyphrase.workers import WorkerSetup, rephrase_in_workers
from tests.conftest import faithful_responder, user_message


def _documents(count: int) -> list[Document]:
    return [Document(f"doc{index}", f"Report {index} says Lyon has {index + 3} museums.", f"in:{index}") for index in range(count)]


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_cli_workers_write_every_document(fake_llm, tmp_path: Path, capsys):
    server = fake_llm()
    folder = tmp_path / "docs"
    folder.mkdir()
    for index in range(6):
        (folder / f"doc{index}.txt").write_text(f"Bridge {index} in Porto is {index + 20} metres long.\n")
    output = tmp_path / "out.jsonl"
    common = ["--input", str(folder), "--base-url", server.base_url, "--model", "fake-model", "--quiet", "--concurrency", "4"]

    assert main([*common, "--output", str(output), "--cache-dir", str(tmp_path / "cache"), "--workers", "2"]) == 0
    records = _records(output)
    assert sorted(record["id"] for record in records) == sorted(f"doc{index}.txt" for index in range(6) for _ in range(2))
    assert all(record["passed"] for record in records)
    assert sorted({record["seq"] for record in records}) == list(range(6))
    assert "documents: 6 (0 already in the output, 0 failed)" in capsys.readouterr().out

    # A rerun with --overwrite is answered from the shared cache, with no new LLM call.
    calls = len(server.requests)
    assert main([*common, "--output", str(output), "--cache-dir", str(tmp_path / "cache"), "--workers", "2", "--overwrite"]) == 0
    assert len(server.requests) == calls
    assert "LLM calls: 0" in capsys.readouterr().out


def test_dead_worker_fails_its_documents(fake_llm, tmp_path: Path):
    def slow(request):
        reply = faithful_responder(request)
        if "Report 0 " in user_message(request) or "Report 1 " in user_message(request):
            reply.delay_s = 4.0
        return reply

    server = fake_llm(slow)
    setup = WorkerSetup(rewriter=Endpoint(server.base_url, "fake-model", max_retries=0, timeout_s=30))
    writer = RecordWriter(tmp_path / "out.jsonl")
    outcome = {}

    def run() -> None:
        outcome["summary"] = rephrase_in_workers(_documents(2), setup, writer, workers=2, concurrency=2)

    thread = threading.Thread(target=run)
    thread.start()
    # Worker 0 is killed once both slow documents, one per worker, have reached the server.
    # Generous limits: on a loaded machine worker start-up alone takes seconds.
    deadline = time.monotonic() + 300
    while len(server.requests) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = {child.name: child for child in multiprocessing.active_children()}
    os.kill(workers["polyphrase-worker-0"].pid, signal.SIGKILL)
    thread.join(timeout=300)
    writer.close()

    records = {record["id"]: record for record in _records(tmp_path / "out.jsonl")}
    assert records["doc0"]["error"] == "in:0: worker process exited with code -9"
    assert records["doc1"]["passed"] is True
    assert outcome["summary"].failed_documents == 1


def test_worker_start_failure_raises(tmp_path: Path):
    setup = WorkerSetup(rewriter=Endpoint("http://127.0.0.1:9/v1", "fake-model"), style_dirs=(tmp_path / "missing",))
    writer = RecordWriter(tmp_path / "out.jsonl")
    with pytest.raises(PolyphraseError, match="exited with code 1 before it was ready"):
        rephrase_in_workers(_documents(1), setup, writer, workers=1, concurrency=1)
    writer.close()
    assert (tmp_path / "out.jsonl").read_text() == ""
