"""End to end with the real embedded model: slow, run with `pytest -m embedded`."""

import json
import shutil
from pathlib import Path

import pytest

from polyphrase.cli import main

SAMPLE = Path(__file__).resolve().parents[1] / "sample" / "docs" / "foldoc__001243_bit.txt"


@pytest.mark.embedded
def test_embedded_model_rephrases_real_document(tmp_path: Path, capsys):
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(SAMPLE, docs)
    output = tmp_path / "out.jsonl"
    args = ["--input", str(docs), "--output", str(output), "--cache-dir", str(tmp_path / "cache"), "--styles", "2"]
    # The joined model file is reused from the default cache when present, to skip a 1.1 GB copy.
    models = Path.home() / ".cache" / "polyphrase" / "models"
    if models.is_dir():
        (tmp_path / "cache").mkdir()
        (tmp_path / "cache" / "models").symlink_to(models)

    assert main(args) == 0
    records = [json.loads(line) for line in output.read_text().splitlines()]
    assert len(records) == 2
    for record in records:
        assert "error" not in record
        assert record["text"].strip()
        assert record["chunks"]
        assert isinstance(record["passed"], bool)
        assert record["usage"]["rewrite_calls"] >= 1
    assert records[0]["style"] != records[1]["style"]
    capsys.readouterr()

    assert main([*args, "--overwrite"]) == 0
    assert "LLM calls: 0" in capsys.readouterr().out
