"""Reading documents from folders, JSON Lines and Parquet files, and writing result records.

Input is read lazily, one document (or one Parquet row batch) at a time, so
memory stays flat however large the corpus is. Every input that cannot become
a document yields an `InputFailure` naming the file (and line or row), so it
still gets an output record and the run goes on.
"""

from __future__ import annotations

import codecs
import gzip
import json
import logging
import os
import stat
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from polyphrase.errors import ConfigError

logger = logging.getLogger(__name__)

TEXT_SUFFIXES = (".txt", ".md", ".rst")
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz")
PARQUET_SUFFIXES = (".parquet",)
# Default size limit of one document: a larger file, JSON Lines line or Parquet text becomes a failure.
# NOTE: the limit is a judgement, not a hard bound. Peak memory grows by about 60 MiB per MiB of one
# document's text (`python -m bench.throughput --long-document-mib 1,3`, 400-token chunks), and each
# style rewrites its chunks one after another. So a 50 MB document would need about 3 GB and some
# 190,000 LLM calls, with one chain of sequential rewrite calls per style.
MAX_DOCUMENT_BYTES = 8 * 1024 * 1024
# Rows decoded at once from a Parquet file. pyarrow still reads a whole column chunk of a row group.
PARQUET_BATCH_ROWS = 256
_SKIP_BLOCK_BYTES = 1024 * 1024

PARQUET_INSTALL_HINT = "reading Parquet needs pyarrow: pip install 'polyphrase[parquet]'"


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


def iter_documents(path: str | Path, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> Iterator[Document | InputFailure]:
    """Return the documents under `path`: a folder, a text file, or a JSON Lines or Parquet file.

    A document over `max_bytes` (UTF-8, or the file size for text files)
    becomes an `InputFailure` without being held in memory whole.
    Raises ConfigError at once when `path` is a Parquet file and pyarrow is
    not installed. Inside a folder, such a file becomes an `InputFailure`.
    """
    path = Path(path)
    if path.is_dir():
        return _iter_folder(path, max_bytes)
    if path.name.endswith(JSONL_SUFFIXES):
        return _iter_jsonl(path, max_bytes)
    if path.name.endswith(PARQUET_SUFFIXES):
        _import_parquet()
        return _iter_parquet(path, max_bytes)
    if path.is_file():
        return iter([_read_text_file(path, path.name, max_bytes)])
    return iter([InputFailure(doc_id=str(path), source=str(path), error="input not found")])


def count_documents(path: str | Path) -> int | None:
    """Count the documents `iter_documents(path)` yields, failures included, or None when that needs a full read.

    Folders are counted from file names alone and Parquet files from their
    footers. A JSON Lines file anywhere in the input makes the count unknown.
    """
    path = Path(path)
    if path.is_dir():
        total = 0
        for item in _walk_folder(path):
            if isinstance(item, InputFailure) or item[0].name.endswith(TEXT_SUFFIXES):
                total += 1
            elif item[0].name.endswith(JSONL_SUFFIXES):
                return None
            else:
                total += _parquet_row_count(item[0])
        return total
    if path.name.endswith(JSONL_SUFFIXES):
        return None
    if path.name.endswith(PARQUET_SUFFIXES):
        return _parquet_row_count(path)
    return 1


def _iter_folder(root: Path, max_bytes: int) -> Iterator[Document | InputFailure]:
    for item in _walk_folder(root):
        if isinstance(item, InputFailure):
            yield item
            continue
        file_path, relative = item
        if file_path.name.endswith(JSONL_SUFFIXES):
            yield from _iter_jsonl(file_path, max_bytes)
        elif file_path.name.endswith(PARQUET_SUFFIXES):
            yield from _iter_parquet(file_path, max_bytes)
        else:
            yield _read_text_file(file_path, relative, max_bytes)


def _walk_folder(root: Path) -> Iterator[tuple[Path, str] | InputFailure]:
    """Yield (path, id) for each input file under `root` in sorted order, and a failure for each unreadable folder.

    Symbolic links to folders are followed, but a folder reached a second
    time, through a link loop or a second link, is skipped with a failure.
    """
    errors: list[OSError] = []
    visited: set[tuple[int, int]] = set()
    for directory, subdirectories, filenames in os.walk(root, followlinks=True, onerror=errors.append):
        yield from _folder_failures(root, errors)
        relative_dir = Path(directory).relative_to(root).as_posix()
        try:
            info = os.stat(directory)
        except OSError as error:
            subdirectories.clear()
            yield InputFailure(relative_dir, directory, f"cannot read folder: {error.strerror or error}")
            continue
        if (info.st_dev, info.st_ino) in visited:
            subdirectories.clear()
            yield InputFailure(
                relative_dir, directory, "skipped: a symbolic link to a folder already read (a link loop or a second link)"
            )
            continue
        visited.add((info.st_dev, info.st_ino))

        subdirectories.sort()
        for filename in sorted(filenames):
            if filename.endswith(TEXT_SUFFIXES + JSONL_SUFFIXES + PARQUET_SUFFIXES):
                file_path = Path(directory) / filename
                yield file_path, file_path.relative_to(root).as_posix()
    yield from _folder_failures(root, errors)


def _folder_failures(root: Path, errors: list[OSError]) -> Iterator[InputFailure]:
    """Turn the errors os.walk reported while listing folders into failures, and empty the list."""
    for error in errors:
        folder = Path(error.filename or root)
        relative = folder.relative_to(root).as_posix() if folder.is_relative_to(root) else str(folder)
        yield InputFailure(relative, str(folder), f"cannot read folder: {error.strerror or error}")
    errors.clear()


def _read_text_file(path: Path, doc_id: str, max_bytes: int) -> Document | InputFailure:
    source = str(path)
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            return InputFailure(doc_id, source, "not a regular file")
        if info.st_size > max_bytes:
            return InputFailure(doc_id, source, f"file is {info.st_size} bytes, {_over_limit(max_bytes)}")
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


def _over_limit(max_bytes: int) -> str:
    return f"over the --max-document-bytes limit of {max_bytes}; split it into smaller documents or raise the limit"


def _iter_jsonl(path: Path, max_bytes: int) -> Iterator[Document | InputFailure]:
    """Yield one document or failure per non-blank line.

    Lines are read as bytes and decoded one by one, so an invalid byte or an
    over-long line fails only its own line.
    """
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        stream: BinaryIO = opener(path, "rb")  # type: ignore[operator]
    except OSError as error:
        yield InputFailure(str(path), str(path), f"cannot read file: {error.strerror or error}")
        return
    with stream:
        line_number = 0
        try:
            while line := stream.readline(max_bytes + 1):
                line_number += 1
                where = f"{path}:{line_number}"
                if len(line) > max_bytes:
                    _skip_to_next_line(stream, line)
                    yield InputFailure(where, where, f"line is {_over_limit(max_bytes)}")
                    continue
                if line_number == 1:
                    line = line.removeprefix(codecs.BOM_UTF8)
                if line.strip():
                    yield _parse_jsonl_line(path, line_number, line)
        except (OSError, EOFError, zlib.error) as error:
            where = f"{path}:{line_number + 1}"
            yield InputFailure(where, where, f"cannot read line: {error}")


def _skip_to_next_line(stream: BinaryIO, line: bytes) -> None:
    while line and not line.endswith(b"\n"):
        line = stream.readline(_SKIP_BLOCK_BYTES)


def _parse_jsonl_line(path: Path, line_number: int, line: bytes) -> Document | InputFailure:
    where = f"{path}:{line_number}"
    try:
        record: Any = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError as error:
        return InputFailure(where, where, f"not valid UTF-8 at byte {error.start} of the line")
    except json.JSONDecodeError as error:
        return InputFailure(where, where, f"invalid JSON: {error.msg} at column {error.colno}")
    if not isinstance(record, dict):
        return InputFailure(where, where, "a JSON Lines record must be an object with a 'text' field")

    doc_id = str(record.get("id", f"{path.name}:{line_number}"))
    return _document_from_fields(doc_id, record.get("text"), where)


def _document_from_fields(doc_id: str, text: Any, where: str, max_bytes: int | None = None) -> Document | InputFailure:
    if not isinstance(text, str):
        return InputFailure(doc_id, where, "missing or non-string 'text' field")
    # UTF-8 takes at most 4 bytes per character, so most texts skip the encoding.
    if max_bytes is not None and len(text) > max_bytes // 4 and len(text.encode("utf-8")) > max_bytes:
        return InputFailure(doc_id, where, f"text is {len(text.encode('utf-8'))} bytes, {_over_limit(max_bytes)}")
    if not text.strip():
        return InputFailure(doc_id, where, "empty document")
    return Document(doc_id=doc_id, text=text.replace("\r\n", "\n"), source=where)


def _import_parquet() -> Any:
    """Return `pyarrow.parquet`, or raise ConfigError saying how to install it."""
    try:
        import pyarrow.parquet as parquet
    except ImportError as error:
        raise ConfigError(PARQUET_INSTALL_HINT) from error
    return parquet


def _iter_parquet(path: Path, max_bytes: int) -> Iterator[Document | InputFailure]:
    """Yield one document or failure per row of a Parquet file with a `text` column and an optional `id` column."""
    try:
        parquet = _import_parquet()
        parquet_file = parquet.ParquetFile(path)
    except ConfigError as error:
        yield InputFailure(str(path), str(path), str(error))
        return
    except (OSError, ValueError) as error:  # pyarrow's ArrowInvalid is a ValueError
        yield InputFailure(str(path), str(path), f"cannot read Parquet file: {error}")
        return

    names = parquet_file.schema_arrow.names
    if "text" not in names:
        yield InputFailure(str(path), str(path), f"no 'text' column (columns: {', '.join(names)})")
        return
    columns = ["text", "id"] if "id" in names else ["text"]
    row = 0
    try:
        for batch in parquet_file.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=columns):
            texts = batch.column("text").to_pylist()
            ids = batch.column("id").to_pylist() if "id" in columns else [None] * len(texts)
            for doc_id, text in zip(ids, texts):
                where = f"{path}:row {row}"
                name = f"{path.name}:row {row}" if doc_id is None else str(doc_id)
                yield _document_from_fields(name, text, where, max_bytes)
                row += 1
    except (OSError, ValueError) as error:
        where = f"{path}:row {row}"
        yield InputFailure(where, where, f"cannot read rows from {row} on: {error}")


def _parquet_row_count(path: Path) -> int:
    """Return the rows of a Parquet file from its footer, or 1 (its failure record) when it cannot be read."""
    try:
        return _import_parquet().ParquetFile(path).metadata.num_rows
    except (ConfigError, OSError, ValueError):
        return 1


class RecordWriter:
    """Appends result records as JSON Lines, one flush per document, so a crash loses at most the documents in flight."""

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
    The file is read line by line, so only the ids stay in memory.
    Raises ConfigError when a complete line before the end is not a record.
    """
    if not path.exists():
        return set()
    done: set[str] = set()
    with open(path, "rb+") as stream:
        last_id, last_start, last_seen, last_expected = None, 0, 0, 0
        offset = 0
        for line_number, line in enumerate(stream, start=1):
            if not line.endswith(b"\n"):
                break
            doc_id, expected = _record_id(path, line_number, line)
            if doc_id != last_id:
                last_id, last_start, last_seen, last_expected = doc_id, offset, 0, expected
            last_seen += 1
            if last_seen == last_expected:
                done.add(doc_id)
            offset += len(line)

        end = last_start if last_id is not None and last_id not in done else offset
        size = stream.seek(0, os.SEEK_END)
        if end < size:
            logger.warning("%s: removed a half-written last document (%d bytes)", path, size - end)
            stream.truncate(end)
    return done


def _record_id(path: Path, line_number: int, line: bytes) -> tuple[str, int]:
    """Return the document id and `record_count` of one output line."""
    try:
        record = json.loads(line)
        return str(record["id"]), int(record.get("record_count", 1))
    except (ValueError, KeyError, TypeError) as error:
        raise ConfigError(
            f"{path}:{line_number} is not a result record ({error}); fix or remove that line, or pass --overwrite"
        ) from error
