"""Reading documents from folders and JSON Lines files, and writing result records.

Input is read lazily, one document at a time, so memory stays flat however
large the corpus is. Every input that cannot become a document yields an
`InputFailure` naming the file (and line), so it still gets an output record.
"""

from __future__ import annotations

import codecs
import gzip
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

logger = logging.getLogger(__name__)

TEXT_SUFFIXES = (".txt", ".md", ".rst")
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz")
# Larger files are rejected rather than held in memory whole.
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Document:
    """One input document."""

    doc_id: str
    text: str
    source: str


@dataclass(frozen=True)
class InputFailure:
    """An input that could not be read as a document, with the reason."""

    doc_id: str
    source: str
    error: str


def iter_documents(path: str | Path) -> Iterator[Document | InputFailure]:
    """Yield the documents under `path`: a folder, a text file, or a `.jsonl` / `.jsonl.gz` file."""
    path = Path(path)
    if path.is_dir():
        yield from _iter_folder(path)
    elif path.name.endswith(JSONL_SUFFIXES):
        yield from _iter_jsonl(path)
    elif path.is_file():
        yield _read_text_file(path, doc_id=path.name)
    else:
        yield InputFailure(doc_id=str(path), source=str(path), error="input not found")


def _iter_folder(root: Path) -> Iterator[Document | InputFailure]:
    visited: set[tuple[int, int]] = set()
    for directory, subdirectories, filenames in os.walk(root, followlinks=True, onerror=None):
        stat = os.stat(directory)
        if (stat.st_dev, stat.st_ino) in visited:
            logger.warning("%s: skipped, symbolic link loop", directory)
            subdirectories.clear()
            continue
        visited.add((stat.st_dev, stat.st_ino))
        subdirectories.sort()
        for filename in sorted(filenames):
            file_path = Path(directory) / filename
            relative = file_path.relative_to(root).as_posix()
            if filename.endswith(JSONL_SUFFIXES):
                yield from _iter_jsonl(file_path)
            elif filename.endswith(TEXT_SUFFIXES):
                yield _read_text_file(file_path, doc_id=relative)


def _read_text_file(path: Path, doc_id: str) -> Document | InputFailure:
    source = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_DOCUMENT_BYTES:
            return InputFailure(doc_id, source, f"file is {size} bytes, over the {MAX_DOCUMENT_BYTES}-byte limit")
        data = path.read_bytes()
    except OSError as error:
        return InputFailure(doc_id, source, f"cannot read file: {error.strerror or error}")

    text, problem = decode_text(data)
    if problem:
        return InputFailure(doc_id, source, problem)
    if not text.strip():
        return InputFailure(doc_id, source, "empty document")
    return Document(doc_id=doc_id, text=text, source=source)


def decode_text(data: bytes) -> tuple[str, str | None]:
    """Decode file bytes as UTF-8 or BOM-marked UTF-16; return (text, None) or ("", reason).

    Line endings become `\\n`. Text in another encoding is rejected with the
    byte offset of the first invalid byte, not guessed.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as error:
            return "", f"invalid UTF-16 at byte {error.start}"
    else:
        if b"\x00" in data[:8192]:
            return "", "binary file (contains NUL bytes), not text"
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            return "", f"not valid UTF-8 at byte {error.start}; convert the file to UTF-8"
    return text.replace("\r\n", "\n").replace("\r", "\n"), None


def _iter_jsonl(path: Path) -> Iterator[Document | InputFailure]:
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        stream: TextIO = opener(path, "rt", encoding="utf-8", newline="")  # type: ignore[operator]
    except OSError as error:
        yield InputFailure(str(path), str(path), f"cannot read file: {error.strerror or error}")
        return
    with stream:
        line_number = 0
        try:
            for line_number, line in enumerate(stream, start=1):
                if line.strip():
                    yield _parse_jsonl_line(path, line_number, line)
        except (OSError, UnicodeDecodeError, EOFError) as error:
            where = f"{path}:{line_number + 1}"
            yield InputFailure(where, where, f"cannot read line: {error}")


def _parse_jsonl_line(path: Path, line_number: int, line: str) -> Document | InputFailure:
    where = f"{path}:{line_number}"
    try:
        record: Any = json.loads(line)
    except json.JSONDecodeError as error:
        return InputFailure(where, where, f"invalid JSON: {error.msg} at column {error.colno}")
    if not isinstance(record, dict):
        return InputFailure(where, where, "a JSON Lines record must be an object with a 'text' field")

    doc_id = str(record.get("id", f"{path.name}:{line_number}"))
    text = record.get("text")
    if not isinstance(text, str):
        return InputFailure(doc_id, where, "missing or non-string 'text' field")
    if not text.strip():
        return InputFailure(doc_id, where, "empty document")
    return Document(doc_id=doc_id, text=text.replace("\r\n", "\n"), source=where)


class RecordWriter:
    """Appends result records as JSON Lines, one flush per document, so a crash loses at most the document in flight."""

    def __init__(self, path: str | Path, *, overwrite: bool = False) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.done_ids: set[str] = set() if overwrite else _completed_ids(self.path)
        self._stream = open(self.path, "w" if overwrite else "a", encoding="utf-8")

    def write_document(self, records: list[dict[str, Any]]) -> None:
        """Write all records of one document in one write call."""
        self._stream.write("".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records))
        self._stream.flush()

    def close(self) -> None:
        self._stream.close()


def _completed_ids(path: Path) -> set[str]:
    """Return the ids of documents fully written to `path`, cutting off a half-written last document.

    All records of one document are written together and each carries
    `record_count`, so only the last document can be incomplete after a crash.
    """
    if not path.exists():
        return set()
    with open(path, "rb+") as stream:
        data = stream.read()
        end = data.rfind(b"\n") + 1
        done: set[str] = set()
        last_id, last_start, last_seen, last_expected = None, 0, 0, 0
        offset = 0
        for line in data[:end].splitlines(keepends=True):
            record = json.loads(line)
            doc_id = str(record["id"])
            if doc_id != last_id:
                last_id, last_start, last_seen = doc_id, offset, 0
                last_expected = int(record.get("record_count", 1))
            last_seen += 1
            if last_seen == last_expected:
                done.add(doc_id)
            offset += len(line)
        if last_id is not None and last_id not in done:
            end = last_start
        if end < len(data):
            logger.warning("%s: removed a half-written last document (%d bytes)", path, len(data) - end)
            stream.truncate(end)
    return done
