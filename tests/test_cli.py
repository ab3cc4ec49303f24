import json
from pathlib import Path

import pytest

from polyphrase.cli import main


def _docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "tower.md").write_text("The Eiffel Tower in Paris is 330 metres tall. It opened in 1889.\n")
    (folder / "river.txt").write_text("The Seine is 777 km long and flows through Paris.\n")
    (folder / "empty.txt").write_text("")
    (folder / "latin1.txt").write_bytes("Caf\u00e9 au lait.".encode("cp1252"))
    return folder


def _args(server, tmp_path: Path, *extra: str) -> list[str]:
    return [
        "--input", str(_docs(tmp_path) if not (tmp_path / "docs").exists() else tmp_path / "docs"),
        "--output", str(tmp_path / "out.jsonl"),
        "--cache-dir", str(tmp_path / "cache"),
        "--base-url", server.base_url,
        "--model", "fake-model",
        "--quiet",
        *extra,
    ]


def _records(tmp_path: Path) -> list[dict]:
    return [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]


def test_cli_writes_rewrites_and_failures(fake_llm, tmp_path: Path, capsys):
    server = fake_llm()
    assert main(_args(server, tmp_path)) == 0

    records = _records(tmp_path)
    rewrites = [record for record in records if "error" not in record]
    failures = {record["id"]: record["error"] for record in records if "error" in record}
    assert len(rewrites) == 4
    assert {record["id"] for record in rewrites} == {"tower.md", "river.txt"}
    for record in rewrites:
        assert record["passed"] is True
        assert record["attempts"] == 1
        assert record["chunks"][0]["passed"] is True
        assert record["usage"]["rewrite_calls"] == 2
        assert record["text"]
    assert failures["empty.txt"].endswith("empty document")
    assert "not valid UTF-8" in failures["latin1.txt"]
    assert "latin1.txt" in failures["latin1.txt"]

    summary = capsys.readouterr().out
    assert "documents: 4 (0 already in the output, 2 failed)" in summary
    assert "rewrites: 4, passed: 4 (100.0%)" in summary
    assert "word 4-grams shared with the source, mean per rewrite: accepted 0.0%, all 0.0%" in summary


def test_cli_second_run_makes_no_llm_call(fake_llm, tmp_path: Path, capsys):
    server = fake_llm()
    main(_args(server, tmp_path))
    first_calls = len(server.requests)
    first = _records(tmp_path)

    assert main(_args(server, tmp_path, "--overwrite")) == 0
    assert len(server.requests) == first_calls
    second = _records(tmp_path)
    # Records arrive in completion order, so compare them sorted by input position and style.
    strip_usage = lambda records: sorted(
        ({key: value for key, value in record.items() if key != "usage"} for record in records),
        key=lambda record: (record["seq"], record.get("style", "")),
    )
    assert strip_usage(second) == strip_usage(first)
    assert "LLM calls: 0" in capsys.readouterr().out


def test_cli_resume_skips_written_documents(fake_llm, tmp_path: Path, capsys):
    server = fake_llm()
    main(_args(server, tmp_path))
    capsys.readouterr()
    lines_before = len(_records(tmp_path))

    assert main(_args(server, tmp_path)) == 0
    assert len(_records(tmp_path)) == lines_before
    assert "documents: 0 (4 already in the output, 0 failed)" in capsys.readouterr().out


def test_cli_named_styles(fake_llm, tmp_path: Path):
    server = fake_llm()
    main(_args(server, tmp_path, "--style", "question-answer"))
    styles = {record["style"] for record in _records(tmp_path) if "style" in record}
    assert styles == {"question-answer"}


def test_cli_base_url_needs_model(tmp_path: Path, capsys):
    (tmp_path / "a.txt").write_text("Text.")
    code = main(["--input", str(tmp_path), "--base-url", "http://127.0.0.1:9/v1"])
    assert code == 2
    assert "missing --model" in capsys.readouterr().err


def test_cli_unknown_style(tmp_path: Path, capsys):
    (tmp_path / "a.txt").write_text("Text.")
    assert main(["--input", str(tmp_path), "--style", "sonnet"]) == 2
    assert "unknown style 'sonnet'" in capsys.readouterr().err


def test_cli_missing_input(tmp_path: Path, capsys):
    assert main(["--input", str(tmp_path / "nope")]) == 2
    assert "input not found" in capsys.readouterr().err


def test_cli_list_styles(tmp_path: Path, capsys):
    assert main(["--input", str(tmp_path), "--list-styles"]) == 0
    assert "learning-notes" in capsys.readouterr().out


@pytest.mark.parametrize("option", ["--styles", "--max-attempts", "--concurrency", "--max-document-bytes"])
def test_cli_rejects_zero(tmp_path: Path, capsys, option: str):
    assert main(["--input", str(tmp_path), option, "0"]) == 2
    assert f"{option} must be at least 1" in capsys.readouterr().err
