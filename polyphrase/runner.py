"""Running the graph over a corpus: many documents in flight, records written as documents finish.

Records are appended in completion order. Each carries `seq`, the document's
position in the input, so sorting by `seq` restores the input order.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from langgraph.graph.state import CompiledStateGraph

from polyphrase.corpus import Document, InputFailure, RecordWriter
from polyphrase.errors import PolyphraseError
from polyphrase.graph.builder import recursion_limit_for
from polyphrase.graph.context import Context

logger = logging.getLogger(__name__)


@dataclass
class RunSummary:
    """Counts for the end-of-run summary and the progress line."""

    documents: int = 0
    skipped: int = 0
    duplicates: int = 0
    failed_documents: int = 0
    failure_reasons: Counter = field(default_factory=Counter)
    rewrites: int = 0
    passed: int = 0
    retried_rewrites: int = 0
    fixed_by_retry: int = 0
    attempts_of_passed: int = 0
    overlap_of_passed: float = 0.0
    overlap_of_all: float = 0.0
    usage: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    def add_records(self, records: list[dict[str, Any]]) -> None:
        self.documents += 1
        for record in records:
            if "error" in record:
                self.failed_documents += 1
                self.failure_reasons[_reason_kind(record["error"])] += 1
                continue
            self.rewrites += 1
            self.passed += record["passed"]
            if record["retried_chunks"]:
                self.retried_rewrites += 1
                # A rewrite counts as fixed by feedback when it needed a retry and passed in the end.
                self.fixed_by_retry += record["passed"]
            overlaps = [verdict["copy_overlap"] for verdict in record["chunks"]]
            overlap = sum(overlaps) / len(overlaps) if overlaps else 0.0
            self.overlap_of_all += overlap
            if record["passed"]:
                self.attempts_of_passed += record["attempts"]
                self.overlap_of_passed += overlap
        if records and "usage" in records[0]:
            self.usage.update(records[0]["usage"])

    @property
    def tokens(self) -> int:
        """Prompt and completion tokens of every LLM call, rewrite and verify together."""
        return sum(value for key, value in self.usage.items() if key.endswith("_tokens"))

    def lines(self) -> list[str]:
        pass_rate = self.passed / self.rewrites if self.rewrites else 0.0
        retry_fix = self.fixed_by_retry / self.retried_rewrites if self.retried_rewrites else 0.0
        mean_attempts = f"{self.attempts_of_passed / self.passed:.2f}" if self.passed else "none accepted"
        mean_overlap = f"{self.overlap_of_passed / self.passed:.1%}" if self.passed else "none accepted"
        all_overlap = self.overlap_of_all / self.rewrites if self.rewrites else 0.0
        calls = self.usage["rewrite_calls"] + self.usage["verify_calls"]
        hits = self.usage["rewrite_cache_hits"] + self.usage["verify_cache_hits"]
        lines = [
            f"documents: {self.documents} ({self.skipped} already in the output, {self.failed_documents} failed)",
            f"rewrites: {self.rewrites}, passed: {self.passed} ({pass_rate:.1%})",
            f"retries: {self.retried_rewrites} rewrites retried, {self.fixed_by_retry} fixed by feedback "
            f"({retry_fix:.1%}); mean attempts per accepted rewrite: {mean_attempts}",
            f"word 4-grams shared with the source, mean per rewrite: accepted {mean_overlap}, all {all_overlap:.1%}",
            f"tokens: {self.tokens} (rewrite {self.usage['rewrite_prompt_tokens']} in / "
            f"{self.usage['rewrite_completion_tokens']} out, verify {self.usage['verify_prompt_tokens']} in / "
            f"{self.usage['verify_completion_tokens']} out)",
            f"LLM calls: {calls}, cache hits: {hits}",
            f"time: {self.seconds:.1f} s",
        ]
        if self.duplicates:
            lines.append(f"skipped: {self.duplicates} x duplicate document id")
        for reason, count in self.failure_reasons.most_common():
            lines.append(f"failed: {count} x {reason}")
        return lines


def _reason_kind(error: str) -> str:
    """Group failure messages by their reason, without the file name in front."""
    return error.split(": ", 1)[-1][:80]


def records_for(output: dict[str, Any], document: Document, seq: int) -> list[dict[str, Any]]:
    """Turn the graph's output for one document into its output records."""
    if output.get("error") or not output.get("results"):
        error = output.get("error") or "no rewrite produced"
        return [failure_record(document.doc_id, seq, document.source, f"{document.source}: {error}")]

    results = output["results"]
    records = []
    for result in results:
        record = {
            "id": document.doc_id,
            "seq": seq,
            "source": document.source,
            "style": result.style,
            "text": result.text,
            "passed": result.passed,
            "attempts": result.attempts,
            "retried_chunks": result.retried_chunks,
            "fixed_by_retry": result.fixed_by_retry,
            "policy": result.policy,
            "chunks": [verdict.model_dump(mode="json") for verdict in result.verdicts],
            "usage": output.get("usage", {}),
            "record_count": len(results),
        }
        records.append(record)
    return records


def failure_record(doc_id: str, seq: int, source: str, error: str) -> dict[str, Any]:
    """Return the one record of a document that produced no rewrite. Its `error` starts with the source."""
    return {"id": doc_id, "seq": seq, "source": source, "error": error, "record_count": 1}


async def rephrase_corpus(
    documents: Iterable[Document | InputFailure],
    graph: CompiledStateGraph,
    context: Context,
    writer: RecordWriter,
    *,
    concurrency: int = 4,
    on_document: Callable[[RunSummary], None] | None = None,
) -> RunSummary:
    """Rephrase every document, with at most `concurrency` documents in flight, and write their records.

    `documents` is consumed lazily: the next one is read only when a slot is
    free. Documents whose id is already in the output, or was already seen in
    this run, are skipped. `on_document` is called after each input item.
    An error while finishing a document (writing its records or calling
    `on_document`) stops new documents from starting. The first such error
    is raised once the documents in flight have finished.
    """
    summary = RunSummary()
    started = time.monotonic()
    slots = asyncio.Semaphore(concurrency)
    tasks: set[asyncio.Task] = set()
    write_errors: list[BaseException] = []
    # NOTE: like writer.done_ids, this set grows by one id per document.
    seen: set[str] = set()
    config = {"recursion_limit": recursion_limit_for(context.max_attempts)}

    def finish(records: list[dict[str, Any]]) -> None:
        writer.write_document(records)
        summary.add_records(records)
        if on_document:
            on_document(summary)

    async def process(document: Document, seq: int) -> None:
        try:
            finish(await _rephrase_document(document, seq, graph, context, config))
        finally:
            slots.release()

    def collect(task: asyncio.Task) -> None:
        tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            write_errors.append(task.exception())

    for seq, item in enumerate(documents):
        if write_errors:
            break
        if item.doc_id in writer.done_ids or item.doc_id in seen:
            _count_skipped(summary, item, seen)
            if on_document:
                on_document(summary)
            continue
        seen.add(item.doc_id)
        if isinstance(item, InputFailure):
            logger.warning("%s: %s", item.source, item.error)
            try:
                finish([failure_record(item.doc_id, seq, item.source, f"{item.source}: {item.error}")])
            except OSError as error:
                write_errors.append(error)
            continue
        await slots.acquire()
        task = asyncio.create_task(process(item, seq))
        tasks.add(task)
        task.add_done_callback(collect)

    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)
    summary.seconds = time.monotonic() - started
    if write_errors:
        raise write_errors[0]
    return summary


def _count_skipped(summary: RunSummary, item: Document | InputFailure, seen: set[str]) -> None:
    if item.doc_id in seen:
        logger.warning("%s: skipped, document id %r was already used by an earlier document", item.source, item.doc_id)
        summary.duplicates += 1
    else:
        summary.skipped += 1


async def _rephrase_document(
    document: Document, seq: int, graph: CompiledStateGraph, context: Context, config: dict[str, Any]
) -> list[dict[str, Any]]:
    run_config = {
        **config,
        "run_name": f"polyphrase:{document.doc_id}",
        "metadata": {"doc_id": document.doc_id, "source": document.source},
    }
    try:
        output = await graph.ainvoke(
            {"doc_id": document.doc_id, "text": document.text, "source": document.source},
            config=run_config,
            context=context,
        )
    except PolyphraseError as error:
        logger.error("document %s (%s) failed: %s", document.doc_id, document.source, error)
        return [failure_record(document.doc_id, seq, document.source, f"{document.source}: {error}")]
    except Exception as error:  # noqa: BLE001 - one document's bug must not lose the others
        logger.exception("document %s (%s) failed with an unexpected error", document.doc_id, document.source)
        message = f"{document.source}: unexpected error: {type(error).__name__}: {error}"
        return [failure_record(document.doc_id, seq, document.source, message)]
    return records_for(output, document, seq)
