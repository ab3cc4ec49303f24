"""A run killed with SIGKILL halfway and started again ends with every document exactly once."""

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from tests.conftest import faithful_responder

REPO = Path(__file__).resolve().parents[1]
DOCUMENTS = 40
STYLES = 2
CONCURRENCY = 4
# One fact extraction per document, and a rewrite and a comparison per style.
REQUESTS_PER_DOCUMENT = 1 + 2 * STYLES


def _slow_responder(request):
    reply = faithful_responder(request)
    reply.delay_s = 0.05
    return reply


def _command(server, tmp_path: Path) -> list[str]:
    return [
        sys.executable, str(REPO / "run.py"),
        "--input", str(tmp_path / "docs"),
        "--output", str(tmp_path / "out.jsonl"),
        "--cache-dir", str(tmp_path / "cache"),
        "--base-url", server.base_url,
        "--model", "fake-model",
        "--styles", str(STYLES),
        "--concurrency", str(CONCURRENCY),
        "--quiet",
    ]


def _complete_documents(path: Path) -> int:
    """Count documents whose records are all written. The last line may be half-written."""
    if not path.exists():
        return 0
    seen: Counter = Counter()
    complete = 0
    for line in path.read_bytes().splitlines(keepends=True):
        if not line.endswith(b"\n"):
            break
        record = json.loads(line)
        seen[record["id"]] += 1
        complete += seen[record["id"]] == record["record_count"]
    return complete


def test_killed_run_resumes(fake_llm, tmp_path: Path):
    server = fake_llm(_slow_responder)
    docs = tmp_path / "docs"
    docs.mkdir()
    names = [f"note{index:02d}.txt" for index in range(DOCUMENTS)]
    for index, name in enumerate(names):
        (docs / name).write_text(f"Note {index}: the bridge at Avignon has {index + 2} arches.\n")

    output = tmp_path / "out.jsonl"
    first = subprocess.Popen(_command(server, tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    # Generous limits: on a loaded machine the interpreter start-up alone takes seconds.
    deadline = time.monotonic() + 300
    while _complete_documents(output) < DOCUMENTS // 2 and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    first.kill()
    first.wait()
    done_at_kill = _complete_documents(output)
    requests_at_kill = len(server.requests)

    second = subprocess.run(_command(server, tmp_path), capture_output=True, text=True, timeout=300)
    records = [json.loads(line) for line in output.read_text().splitlines()]
    per_id = Counter(record["id"] for record in records)
    pairs = Counter((record["id"], record["style"]) for record in records)

    assert first.returncode == -9, first.stderr.read().decode()
    assert DOCUMENTS // 2 <= done_at_kill < DOCUMENTS
    assert second.returncode == 0, second.stderr
    assert f"({done_at_kill} already in the output, 0 failed)" in second.stdout
    assert sorted(per_id) == names
    assert set(per_id.values()) == {STYLES}
    assert max(pairs.values()) == 1
    assert all(record["passed"] for record in records)
    assert sorted({(record["seq"], record["id"]) for record in records}) == list(enumerate(names))
    # Replies received before the kill were cached, so only the requests in flight were sent again.
    assert requests_at_kill < DOCUMENTS * REQUESTS_PER_DOCUMENT
    assert len(server.requests) <= DOCUMENTS * REQUESTS_PER_DOCUMENT + CONCURRENCY
