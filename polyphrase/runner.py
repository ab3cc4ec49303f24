"""Running the graph over a corpus: many documents in flight, records written as documents finish."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Iterable
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
    """Counts for the end-of-run summary."""

    documents: int = 0
    skipped: int = 0
    failed_documents: int = 0
    failure_reasons: Counter = field(default_factory=Counter)
    rewrites: int = 0
    passed: int = 0
    retried_rewrites: int = 0
    fixed_by_retry: int = 0
    attempts_of_passed: int = 0
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
            if record["passed"]:
                self.attempts_of_passed += record["attempts"]
        if records and "usage" in records[0]:
            self.usage.update(records[0]["usage"])

    def lines(self) -> list[str]:
        pass_rate = self.passed / self.rewrites if self.rewrites else 0.0
        retry_fix = self.fixed_by_retry / self.retried_rewrites if self.retried_rewrites else 0.0
        mean_attempts = self.attempts_of_passed / self.passed if self.passed else 0.0
        tokens = sum(value for key, value in self.usage.items() if key.endswith("_tokens"))
        calls = self.usage["rewrite_calls"] + self.usage["verify_calls"]
        hits = self.usage["rewrite_cache_hits"] + self.usage["verify_cache_hits"]
        lines = [
            f"documents: {self.documents} ({self.skipped} already in the output, {self.failed_documents} failed)",
            f"rewrites: {self.rewrites}, passed: {self.passed} ({pass_rate:.1%})",
            f"retries: {self.retried_rewrites} rewrites retried, {self.fixed_by_retry} fixed by feedback "
            f"({retry_fix:.1%}); mean attempts per accepted rewrite: {mean_attempts:.2f}",
            f"tokens: {tokens} (rewrite {self.usage['rewrite_prompt_tokens']} in / "
            f"{self.usage['rewrite_completion_tokens']} out, verify {self.usage['verify_prompt_tokens']} in / "
            f"{self.usage['verify_completion_tokens']} out)",
            f"LLM calls: {calls}, cache hits: {hits}",
            f"time: {self.seconds:.1f} s",
        ]
        for reason, count in self.failure_reasons.most_common():
            lines.append(f"failed: {count} x {reason}")
        return lines


def _reason_kind(error: str) -> str:
    """Group failure messages by their reason, without the file name in front."""
    return error.split(": ", 1)[-1][:80]


def records_for(output: dict[str, Any], document: Document) -> list[dict[str, Any]]:
    """Turn the graph's output for one document into its output records."""
    if output.get("error") or not output.get("results"):
        return [failure_record(document.doc_id, document.source, output.get("error") or "no rewrite produced")]

    results = output["results"]
    records = []
    for result in results:
        record = {
            "id": document.doc_id,
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


def failure_record(doc_id: str, source: str, error: str) -> dict[str, Any]:
    return {"id": doc_id, "source": source, "error": error, "record_count": 1}


async def rephrase_corpus(
    documents: Iterable[Document | InputFailure],
    graph: CompiledStateGraph,
    context: Context,
    writer: RecordWriter,
    *,
    concurrency: int = 4,
    on_document: Any = None,
) -> RunSummary:
    """Rephrase every document, with at most `concurrency` documents in flight, and write their records."""
    summary = RunSummary()
    started = time.monotonic()
    slots = asyncio.Semaphore(concurrency)
    tasks: set[asyncio.Task] = set()
    config = {"recursion_limit": recursion_limit_for(context.max_attempts)}

    async def process(document: Document) -> None:
        try:
            records = await _rephrase_document(document, graph, context, config)
            writer.write_document(records)
            summary.add_records(records)
            if on_document:
                on_document(summary)
        finally:
            slots.release()

    for item in documents:
        if item.doc_id in writer.done_ids:
            summary.skipped += 1
            continue
        if isinstance(item, InputFailure):
            logger.warning("%s: %s", item.source, item.error)
            records = [failure_record(item.doc_id, item.source, f"{item.source}: {item.error}")]
            writer.write_document(records)
            summary.add_records(records)
            continue
        await slots.acquire()
        task = asyncio.create_task(process(item))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    if tasks:
        await asyncio.gather(*tasks)
    summary.seconds = time.monotonic() - started
    return summary


async def _rephrase_document(
    document: Document, graph: CompiledStateGraph, context: Context, config: dict[str, Any]
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
        logger.error("document %s failed: %s", document.doc_id, error)
        return [failure_record(document.doc_id, document.source, str(error))]
    except Exception as error:  # noqa: BLE001 - one document's bug must not lose the others
        logger.exception("document %s failed with an unexpected error", document.doc_id)
        return [failure_record(document.doc_id, document.source, f"unexpected error: {type(error).__name__}: {error}")]
    return records_for(output, document)
