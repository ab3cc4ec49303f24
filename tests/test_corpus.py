import codecs
import gzip
import json
import os
import sys
from pathlib import Path

import pytest

from polyphrase import corpus
from polyphrase.corpus import (
    MAX_DOCUMENT_BYTES,
    PARQUET_INSTALL_HINT,
    Document,
    InputFailure,
    RecordWriter,
    count_documents,
    iter_documents,
)
from polyphrase.errors import ConfigError

IS_ROOT = os.geteuid() == 0


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_folder_reads_text_files_recursively(tmp_path: Path):
    _write(tmp_path / "a.md", b"# A\n\nAlpha.\n")
    _write(tmp_path / "sub" / "b.rst", b"Beta.\n")
    _write(tmp_path / "sub" / "c.txt", b"Gamma.\r\nDelta.\r\n")
    _write(tmp_path / "ignored.py", b"print(1)\n")
    items = list(iter_documents(tmp_path))
    assert [item.doc_id for item in items] == ["a.md", "sub/b.rst", "sub/c.txt"]
    assert items[2].text == "Gamma.\nDelta.\n"


def test_bad_files_become_failures(tmp_path: Path):
    _write(tmp_path / "empty.txt", b"  \n")
    _write(tmp_path / "binary.txt", b"\x00\x01\x02abc")
    _write(tmp_path / "latin.txt", "caf\u00e9".encode("cp1252"))
    items = {item.doc_id: item for item in iter_documents(tmp_path)}
    assert isinstance(items["empty.txt"], InputFailure)
    assert items["empty.txt"].error == "empty document"
    assert "binary" in items["binary.txt"].error
    assert items["latin.txt"].error.startswith("not valid UTF-8 at byte 3")


def test_bom_texts_are_decoded(tmp_path: Path):
    _write(tmp_path / "u16.txt", codecs.BOM_UTF16_LE + "Hello.".encode("utf-16-le"))
    _write(tmp_path / "u8.txt", codecs.BOM_UTF8 + b"Hi.")
    items = {item.doc_id: item for item in iter_documents(tmp_path)}
    assert items["u16.txt"].text == "Hello."
    assert items["u8.txt"].text == "Hi."


def test_jsonl_failures_name_line(tmp_path: Path):
    lines = [
        json.dumps({"id": "x1", "text": "First."}),
        "{not json",
        json.dumps({"id": "x3"}),
        json.dumps({"text": "No id."}),
        '{"id": "x5", "text": "cut off',
    ]
    path = _write(tmp_path / "docs.jsonl", ("\n".join(lines) + "\n").encode())
    items = list(iter_documents(path))
    assert isinstance(items[0], Document)
    assert items[0].doc_id == "x1"
    assert items[1].source == f"{path}:2"
    assert items[1].error.startswith("invalid JSON")
    assert items[2].error == "missing or non-string 'text' field"
    assert items[3].doc_id == "docs.jsonl:4"
    assert isinstance(items[4], InputFailure)
    assert items[4].source == f"{path}:5"


def test_jsonl_gz_is_read(tmp_path: Path):
    path = tmp_path / "docs.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as stream:
        stream.write(json.dumps({"id": "g", "text": "Zipped."}) + "\n")
    assert [item.doc_id for item in iter_documents(path)] == ["g"]


def test_symlink_loop_is_skipped(tmp_path: Path):
    _write(tmp_path / "d" / "a.txt", b"Alpha.")
    (tmp_path / "d" / "loop").symlink_to(tmp_path / "d")
    items = list(iter_documents(tmp_path))
    assert [item.doc_id for item in items] == ["d/a.txt", "d/loop"]
    assert isinstance(items[1], InputFailure)
    assert items[1].source == str(tmp_path / "d" / "loop")
    assert "link loop" in items[1].error


def test_writer_resume_drops_incomplete_document(tmp_path: Path):
    path = tmp_path / "out.jsonl"
    writer = RecordWriter(path)
    writer.write_document([{"id": "a", "record_count": 2}, {"id": "a", "record_count": 2}])
    writer.write_document([{"id": "b", "record_count": 2}])
    writer.close()
    with open(path, "a") as stream:
        stream.write('{"id": "c", "rec')

    resumed = RecordWriter(path)
    resumed.close()
    assert resumed.done_ids == {"a"}
    assert path.read_text().count("\n") == 2


def test_bom_and_crlf_together(tmp_path: Path):
    _write(tmp_path / "u8.txt", codecs.BOM_UTF8 + b"One.\r\nTwo.\rThree.\r\n")
    _write(tmp_path / "u16be.txt", codecs.BOM_UTF16_BE + "Four.\r\nFive.".encode("utf-16-be"))
    items = {item.doc_id: item for item in iter_documents(tmp_path)}
    assert items["u8.txt"].text == "One.\nTwo.\nThree.\n"
    assert items["u16be.txt"].text == "Four.\nFive."


def test_odd_files_become_failures(tmp_path: Path):
    os.mkfifo(tmp_path / "pipe.txt")
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "nowhere.txt")
    (tmp_path / "ping.txt").symlink_to(tmp_path / "pong.txt")
    (tmp_path / "pong.txt").symlink_to(tmp_path / "ping.txt")
    items = {item.doc_id: item for item in iter_documents(tmp_path)}
    assert items["pipe.txt"].error == "not a regular file"
    assert items["dangling.txt"].error == "cannot read file: No such file or directory"
    assert items["ping.txt"].error == "cannot read file: Too many levels of symbolic links"
    assert items["pong.txt"].source == str(tmp_path / "pong.txt")


@pytest.mark.skipif(IS_ROOT, reason="root reads files and folders whatever their permissions")
def test_unreadable_file_and_folder(tmp_path: Path):
    _write(tmp_path / "locked.txt", b"Secret.")
    _write(tmp_path / "closed" / "inner.txt", b"Hidden.")
    (tmp_path / "locked.txt").chmod(0)
    (tmp_path / "closed").chmod(0)
    try:
        items = {item.doc_id: item for item in iter_documents(tmp_path)}
    finally:
        (tmp_path / "closed").chmod(0o755)
    assert items["locked.txt"].error == "cannot read file: Permission denied"
    assert items["closed"].error == "cannot read folder: Permission denied"
    assert items["closed"].source == str(tmp_path / "closed")


def test_file_over_limit_not_read(tmp_path: Path):
    path = tmp_path / "huge.txt"
    with open(path, "wb") as stream:
        stream.truncate(MAX_DOCUMENT_BYTES + 1)  # sparse: no disk space used
    [item] = iter_documents(tmp_path)
    assert isinstance(item, InputFailure)
    assert item.error.startswith(f"file is {MAX_DOCUMENT_BYTES + 1} bytes, over the --max-document-bytes limit of {MAX_DOCUMENT_BYTES};")


def test_50mb_single_line(tmp_path: Path):
    size = 50 * 1024 * 1024
    sentence = b"The river Seine is 777 km long. "
    _write(tmp_path / "long.txt", (sentence * (size // len(sentence) + 1))[:size])
    [rejected] = iter_documents(tmp_path)
    [item] = iter_documents(tmp_path, max_bytes=64 * 1024 * 1024)
    assert isinstance(rejected, InputFailure)
    assert "split it into smaller documents" in rejected.error
    assert isinstance(item, Document)
    assert len(item.text) == size
    assert "\n" not in item.text


def test_jsonl_bad_bytes_fail_one_line(tmp_path: Path):
    data = (
        codecs.BOM_UTF8
        + b'{"id": "a", "text": "First."}\r\n'
        + b'{"id": "b", "text": "caf\xe9"}\n'
        + b'{"id": "c", "text": "Third."}\n'
    )
    path = _write(tmp_path / "docs.jsonl", data)
    items = list(iter_documents(path))
    assert [item.doc_id for item in items] == ["a", f"{path}:2", "c"]
    assert items[0].text == "First."
    assert items[1].error == "not valid UTF-8 at byte 24 of the line"
    assert isinstance(items[2], Document)


def test_jsonl_long_line_fails_alone(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(corpus, "_SKIP_BLOCK_BYTES", 16)
    lines = [json.dumps({"id": "long", "text": "x" * 200}), json.dumps({"id": "short", "text": "Fine."})]
    path = _write(tmp_path / "docs.jsonl", ("\n".join(lines) + "\n").encode())
    items = list(iter_documents(path, max_bytes=64))
    assert len(items) == 2
    assert items[0].source == f"{path}:1"
    assert items[0].error.startswith("line is over the --max-document-bytes limit of 64;")
    assert items[1].doc_id == "short"


def test_jsonl_gz_truncated(tmp_path: Path):
    data = gzip.compress(b"".join(json.dumps({"id": f"g{i}", "text": "Zipped text."}).encode() + b"\n" for i in range(500)))
    path = _write(tmp_path / "docs.jsonl.gz", data[: len(data) // 2])
    items = list(iter_documents(path))
    assert isinstance(items[-1], InputFailure)
    assert items[-1].error.startswith("cannot read line:")
    assert items[-1].source == f"{path}:{len(items)}"
    assert all(isinstance(item, Document) for item in items[:-1])


def test_parquet_rows_in_batches(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(corpus, "PARQUET_BATCH_ROWS", 2)
    path = _parquet(tmp_path / "docs.parquet", {"id": ["p0", None, "p2", "p3", "p4"], "text": ["A.", "B.", None, "D.\r\n", " "]})
    items = list(iter_documents(path))
    assert [item.doc_id for item in items] == ["p0", "docs.parquet:row 1", "p2", "p3", "p4"]
    assert items[1].text == "B."
    assert items[2].source == f"{path}:row 2"
    assert items[2].error == "missing or non-string 'text' field"
    assert items[3].text == "D.\n"
    assert items[4].error == "empty document"


def test_parquet_text_over_limit(tmp_path: Path):
    path = _parquet(tmp_path / "docs.parquet", {"text": ["Short.", "é" * 40]})
    items = list(iter_documents(path, max_bytes=64))
    assert items[0].text == "Short."
    assert items[1].error.startswith("text is 80 bytes, over the --max-document-bytes limit of 64;")


def test_parquet_without_id_column(tmp_path: Path):
    path = _parquet(tmp_path / "docs.parquet", {"text": ["Alpha.", "Beta."]})
    assert [item.doc_id for item in iter_documents(path)] == ["docs.parquet:row 0", "docs.parquet:row 1"]


def test_parquet_integer_ids(tmp_path: Path):
    path = _parquet(tmp_path / "docs.parquet", {"id": [7, 8], "text": ["Alpha.", "Beta."]})
    assert [item.doc_id for item in iter_documents(path)] == ["7", "8"]


def test_parquet_bad_files_fail(tmp_path: Path):
    _parquet(tmp_path / "no_text.parquet", {"body": ["Alpha."]})
    _write(tmp_path / "broken.parquet", b"PAR1 not really parquet")
    items = {item.doc_id: item for item in iter_documents(tmp_path)}
    assert items[str(tmp_path / "no_text.parquet")].error == "no 'text' column (columns: body)"
    assert items[str(tmp_path / "broken.parquet")].error.startswith("cannot read Parquet file:")


def test_parquet_without_pyarrow(tmp_path: Path, monkeypatch):
    _write(tmp_path / "docs.parquet", b"PAR1")
    _write(tmp_path / "a.txt", b"Alpha.")
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(ConfigError, match=r"pip install 'polyphrase\[parquet\]'"):
        iter_documents(tmp_path / "docs.parquet")
    items = {item.doc_id: item for item in iter_documents(tmp_path)}
    assert items["a.txt"].text == "Alpha."
    assert items[str(tmp_path / "docs.parquet")].error == PARQUET_INSTALL_HINT


def test_count_documents(tmp_path: Path):
    _write(tmp_path / "a.txt", b"Alpha.")
    _write(tmp_path / "sub" / "b.md", b"Beta.")
    _write(tmp_path / "sub" / "skip.py", b"pass")
    _parquet(tmp_path / "rows.parquet", {"text": ["1", "2", "3"]})
    assert count_documents(tmp_path) == 5
    assert count_documents(tmp_path / "rows.parquet") == 3
    assert count_documents(tmp_path / "a.txt") == 1
    _write(tmp_path / "more.jsonl", b"{}\n")
    assert count_documents(tmp_path) is None
    assert count_documents(tmp_path / "more.jsonl") is None


def test_writer_resume_keeps_complete_documents(tmp_path: Path):
    path = tmp_path / "out.jsonl"
    writer = RecordWriter(path)
    for index in range(1000):
        writer.write_document([{"id": f"d{index}", "record_count": 1}])
    writer.close()
    resumed = RecordWriter(path)
    resumed.close()
    assert len(resumed.done_ids) == 1000
    assert path.read_text().count("\n") == 1000


def test_writer_rejects_corrupt_output(tmp_path: Path):
    path = _write(tmp_path / "out.jsonl", b'{"id": "a", "record_count": 1}\nnot a record\n{"id": "b", "record_count": 1}\n')
    with pytest.raises(ConfigError, match=r"out.jsonl:2 is not a result record"):
        RecordWriter(path)


def _parquet(path: Path, columns: dict[str, list]) -> Path:
    pyarrow = pytest.importorskip("pyarrow")
    parquet = pytest.importorskip("pyarrow.parquet")
    table = pyarrow.table(columns)
    parquet.write_table(table, path)
    return path
