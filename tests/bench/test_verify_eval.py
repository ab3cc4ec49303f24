import asyncio
import json
import os
import re
import signal
import threading
from pathlib import Path
from typing import Any

import pytest

from bench import verify_eval
from bench.verify_eval import (
    Confusion,
    EvalItem,
    Outcome,
    build_rows,
    fact_check_failed,
    flags_unfaithful,
    load_items,
    main,
)
from polyphrase.errors import InputError
from polyphrase.schemas.verdict import ChunkVerdict
from tests.fake_openai import Reply, structured_schema_name

SOURCE = "The Eiffel Tower in Paris is 330 metres tall. It opened in 1889."
# Guards catch the changed number, the fake LLM below catches the negation.
ROWS = [
    {"source": SOURCE, "claim": "The Eiffel Tower opened in 1889.", "label": "faithful"},
    {"source": SOURCE, "claim": "The Eiffel Tower is 300 metres tall.", "label": "unfaithful"},
    {"source": SOURCE, "claim": "The Eiffel Tower is not in Paris.", "label": "unfaithful"},
    {"source": SOURCE, "rewrite": "Standing 330 m tall, the Eiffel Tower in Paris opened in 1889."},
]
_REWRITE_RE = re.compile(r"<rewrite>\n(.*)\n</rewrite>", re.S)
_LAST_LINE_RE = re.compile(r"^balanced_accuracy=\d\.\d{4}$")


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def _last_line(output: str) -> str:
    return output.strip().splitlines()[-1]


def _table_row(output: str, group: str, check: str) -> list[str]:
    for line in output.splitlines():
        fields = line.split()
        if fields[:2] == [group, check]:
            return fields
    raise AssertionError(f"no row {group} {check} in:\n{output}")


def negation_responder(request: dict[str, Any]) -> Reply:
    """Extract one fact, and mark it contradicted when the rewrite contains "not" and kept otherwise."""
    kind = structured_schema_name(request)
    if kind == "FactList":
        fact = {"subject": "the Eiffel Tower", "relation": "is in", "object": "Paris", "quantities": []}
        return Reply(content=json.dumps({"facts": [fact]}))
    rewrite = _REWRITE_RE.search(request["messages"][-1]["content"]).group(1)
    status = "contradicted" if " not " in rewrite else "kept"
    return Reply(content=json.dumps({"source_facts": [{"index": 1, "status": status, "note": ""}], "rewrite_claims": []}))


def test_confusion_on_tiny_table():
    confusion = Confusion.count([(True, True), (True, False), (False, True), (False, False), (False, False)])

    assert (confusion.tp, confusion.fp, confusion.fn, confusion.tn) == (1, 1, 1, 2)
    assert confusion.total == 5
    assert confusion.positives == 2
    assert confusion.precision == pytest.approx(1 / 2)
    assert confusion.recall == pytest.approx(1 / 2)
    assert confusion.specificity == pytest.approx(2 / 3)
    assert confusion.balanced_accuracy == pytest.approx((1 / 2 + 2 / 3) / 2)


def test_confusion_nothing_flagged():
    confusion = Confusion.count([(True, False), (False, False)])

    assert confusion.precision is None
    assert confusion.recall == 0.0
    assert confusion.balanced_accuracy == pytest.approx(0.5)


def test_confusion_no_positives():
    confusion = Confusion.count([(False, False), (False, False), (False, True)])

    assert confusion.recall is None
    assert confusion.precision == 0.0
    assert confusion.balanced_accuracy == pytest.approx(2 / 3)


def test_confusion_empty():
    confusion = Confusion.count([])

    assert confusion.precision is None
    assert confusion.recall is None
    assert confusion.specificity is None
    assert confusion.balanced_accuracy is None


@pytest.mark.parametrize(
    ("fields", "as_rewrite", "as_claim"),
    [
        ({}, False, False),
        ({"contradicted": ["x"]}, True, True),
        ({"added": ["x"]}, True, True),
        ({"added_numbers": ["7"]}, True, True),
        ({"missing": ["x"]}, True, False),
        ({"missing_numbers": ["7"]}, True, False),
        ({"missing_entities": ["Paris"]}, True, False),
        ({"missing_placeholders": ["⟦CODE0⟧"]}, True, False),
        ({"copy_overlap": 0.99}, False, False),
    ],
)
def test_flags_by_kind(fields: dict[str, Any], as_rewrite: bool, as_claim: bool):
    verdict = ChunkVerdict(chunk=0, attempt=1, passed=False, **fields)

    assert flags_unfaithful(verdict, "rewrite") is as_rewrite
    assert flags_unfaithful(verdict, "claim") is as_claim


def test_fact_check_failure_detected():
    failed = ChunkVerdict(chunk=0, attempt=1, passed=False, missing=["x"], problems=["missing fact: x", "fact check failed: timeout"])
    scored = ChunkVerdict(chunk=0, attempt=1, passed=False, missing=["x"], problems=["missing fact: x"])

    assert fact_check_failed(failed)
    assert not fact_check_failed(scored)


def test_load_maps_labels(tmp_path: Path):
    rows = [
        {"source": "s", "claim": "c", "label": "supported"},
        {"source": "s", "claim": "c", "label": "refuted"},
        {"source": "s", "claim": "c", "label": "not_enough_info"},
        {"source": "s", "rewrite": "r"},
        {"source": "s", "qa": [{"question": "q", "answer": "a"}]},
    ]
    items, skipped = load_items(_write_jsonl(tmp_path / "mixed.dev.jsonl", rows), limit=None, seed=0)

    assert [item.unfaithful for item in items] == [False, True, True, False]
    assert [item.kind for item in items] == ["claim", "claim", "claim", "rewrite"]
    assert {item.origin for item in items} == {"mixed"}
    assert skipped == 1


def test_load_kind_override(tmp_path: Path):
    path = _write_jsonl(tmp_path / "pairs.jsonl", [{"source": "s", "rewrite": "r", "label": "faithful"}])
    items, _ = load_items(path, limit=None, seed=0, kind="claim")

    assert items[0].kind == "claim"


def test_load_lowercases_summaries(tmp_path: Path):
    rows = [{"source": "The Tower", "claim": "The Tower is tall.", "label": "faithful"}]
    items, _ = load_items(_write_jsonl(tmp_path / "summary_faithfulness.dev.jsonl", rows), limit=None, seed=0)

    assert items[0].source == "the tower"
    assert items[0].text == "the tower is tall."


def test_load_samples_reproducibly(tmp_path: Path):
    rows = [{"source": f"s{index}", "claim": "c", "label": "faithful"} for index in range(50)]
    path = _write_jsonl(tmp_path / "many.jsonl", rows)

    first, _ = load_items(path, limit=10, seed=1)
    again, _ = load_items(path, limit=10, seed=1)
    other, _ = load_items(path, limit=10, seed=2)
    assert len(first) == 10
    assert first == again
    assert first != other
    assert [item.source for item in first] == sorted((item.source for item in first), key=lambda source: int(source[1:]))


def test_load_rejects_unknown_label(tmp_path: Path):
    path = _write_jsonl(tmp_path / "bad.jsonl", [{"source": "s", "claim": "c", "label": "maybe"}])

    with pytest.raises(InputError, match="unknown label 'maybe'") as error:
        load_items(path, limit=None, seed=0)
    assert error.value.line == 1


def test_load_rejects_invalid_json(tmp_path: Path):
    path = tmp_path / "broken.jsonl"
    path.write_text('{"source": "s", "claim": "c", "label": "faithful"}\n{"source": \n')

    with pytest.raises(InputError, match="invalid JSON") as error:
        load_items(path, limit=None, seed=0)
    assert error.value.line == 2


def test_rows_per_corruption_type():
    def outcome(origin: str, subset: str, unfaithful: bool, flagged: bool) -> Outcome:
        return Outcome(EvalItem("s", "t", "rewrite", unfaithful, origin, subset), guards=flagged)

    outcomes = [
        outcome("corrupt", "number", True, True),
        outcome("corrupt", "number", False, False),
        outcome("corrupt", "negation", True, False),
        outcome("corrupt", "negation", False, False),
        outcome("vitaminc", "", True, True),
    ]
    rows = build_rows(outcomes, ["guards"])

    assert [row.group for row in rows] == ["vitaminc", "corrupt", "corrupt/number", "corrupt/negation", "overall"]
    by_group = {row.group: row.confusion for row in rows}
    assert by_group["corrupt/number"].balanced_accuracy == 1.0
    assert by_group["corrupt/negation"].balanced_accuracy == 0.5
    assert by_group["overall"] == Confusion(tp=2, fp=0, fn=1, tn=2)


def test_cli_guards_only(tmp_path: Path, capsys):
    data = _write_jsonl(tmp_path / "tiny.jsonl", ROWS)

    assert main(["--guards-only", "--data", str(data)]) == 0
    output = capsys.readouterr().out
    assert _LAST_LINE_RE.match(_last_line(output))
    # The number change is caught, the negation is not: recall 1/2, specificity 1.
    assert _last_line(output) == "balanced_accuracy=0.7500"
    assert _table_row(output, "tiny", "guards")[2:8] == ["4", "2", "1", "0", "1", "2"]
    assert "llm" not in {line.split()[1] for line in output.splitlines() if line.startswith("overall")}


def test_cli_guards_only_corruptions(corpus_dir: Path, capsys):
    assert main(["--guards-only", "--corrupt", str(corpus_dir), "--corruptions", "6"]) == 0
    output = capsys.readouterr().out

    assert _LAST_LINE_RE.match(_last_line(output))
    assert _table_row(output, "corrupt", "guards")[2:4] == ["12", "6"]
    for corruption in ("number", "date", "entity", "dropped_sentence", "added_claim", "negation"):
        assert _table_row(output, f"corrupt/{corruption}", "guards")[2:4] == ["2", "1"]
    assert "copy guard: not scored" in output


def test_cli_missing_data_file(tmp_path: Path, capsys):
    assert main(["--guards-only", "--data", str(tmp_path / "absent.jsonl")]) == 2
    assert "data file not found" in capsys.readouterr().err


def test_cli_nothing_to_judge(capsys):
    assert main(["--guards-only"]) == 2
    assert "nothing to judge" in capsys.readouterr().err


def test_cli_llm_with_fake_server(fake_llm, tmp_path: Path, capsys):
    server = fake_llm(negation_responder)
    data = _write_jsonl(tmp_path / "tiny.jsonl", ROWS)
    args = ["--data", str(data), "--base-url", server.base_url, "--model", "fake-model", "--cache-dir", str(tmp_path / "cache")]

    assert main(args) == 0
    output = capsys.readouterr().out
    assert _last_line(output) == "balanced_accuracy=1.0000"
    assert _table_row(output, "tiny", "guards")[-1] == "0.7500"
    assert _table_row(output, "tiny", "llm")[-1] == "0.7500"
    assert _table_row(output, "tiny", "both")[-1] == "1.0000"
    assert "failed fact checks (counted as flagged, as the pipeline fails such a chunk): 0" in output
    # One extraction for the shared source, one comparison per item.
    assert server.count("FactList") == 1
    assert server.count("Comparison") == 4

    requests_before = len(server.requests)
    assert main(args) == 0
    assert _last_line(capsys.readouterr().out) == "balanced_accuracy=1.0000"
    assert len(server.requests) == requests_before


def test_cli_llm_failure_flags_item(fake_llm, tmp_path: Path, capsys):
    def rejecting(request: dict[str, Any]) -> Reply:
        if structured_schema_name(request) == "Comparison":
            return Reply(status=400, error_message="scripted rejection")
        return negation_responder(request)

    server = fake_llm(rejecting)
    data = _write_jsonl(tmp_path / "tiny.jsonl", ROWS[:1])
    args = ["--data", str(data), "--base-url", server.base_url, "--model", "fake-model", "--cache-dir", str(tmp_path / "cache")]

    assert main(args) == 0
    output = capsys.readouterr().out
    assert "failed fact checks (counted as flagged, as the pipeline fails such a chunk): 1" in output
    assert _table_row(output, "tiny", "llm")[2:8] == ["1", "0", "0", "1", "0", "0"]


def test_cli_requires_model_with_base_url(tmp_path: Path, capsys):
    data = _write_jsonl(tmp_path / "tiny.jsonl", ROWS)

    assert main(["--data", str(data), "--base-url", "http://127.0.0.1:9/v1"]) == 2
    assert "missing --model" in capsys.readouterr().err


def test_cli_interrupt_reports_partial(tmp_path: Path, capsys, monkeypatch):
    judged = []
    original = verify_eval.judge_item

    async def stop_at_third(*args: Any) -> Any:
        judged.append(args[0])
        if len(judged) == 3:
            # SIGTERM arrives while the event loop waits, as it does from `timeout`.
            threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGTERM)).start()
            await asyncio.sleep(10)
        return await original(*args)

    monkeypatch.setattr(verify_eval, "judge_item", stop_at_third)
    data = _write_jsonl(tmp_path / "tiny.jsonl", ROWS)

    assert main(["--guards-only", "--concurrency", "1", "--data", str(data)]) == 130
    output = capsys.readouterr().out
    assert "interrupted: 2 of 4 items judged" in output
    assert _table_row(output, "tiny", "guards")[2] == "2"
    assert _LAST_LINE_RE.match(_last_line(output))
