import codecs
import gzip
import json
from pathlib import Path

from polyphrase.corpus import Document, InputFailure, RecordWriter, iter_documents


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
    assert [item.doc_id for item in iter_documents(tmp_path)] == ["d/a.txt"]


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
