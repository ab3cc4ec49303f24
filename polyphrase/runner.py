"""Running the graph over a corpus: many documents in flight, records written as documents finish.

Records are appended in completion order. Each carries `seq`, the document's
position in the input, so sorting by `seq` restores the input order.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from langgraph.graph.state import CompiledStateGraph

import polyphrase
import polyphrase.graph
import polyphrase.nodes
import polyphrase.prompts
import polyphrase.schemas
from polyphrase.cache import ResponseCache, cache_key
from polyphrase.corpus import Document, InputFailure, RecordWriter
from polyphrase.errors import PolyphraseError
from polyphrase.fidelity.check import FACT_CHECK_FAILED
from polyphrase.graph.builder import recursion_limit_for
from polyphrase.graph.context import Context
from polyphrase.graph.state import StyleResult

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
    result_cache: ResponseCache | None = None,
) -> RunSummary:
    """Rephrase every document, with at most `concurrency` documents in flight, and write their records.

    With `result_cache`, a document whose text, settings, styles, prompts and
    code match an earlier run is not sent through the graph again: its results
    come from the cache (see `document_cache_key`).

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
    rephrase = document_rephraser(graph, context, result_cache=result_cache)

    finish = record_writer(writer, summary, on_document)

    async def process(document: Document, seq: int) -> None:
        try:
            finish(await rephrase(document, seq))
        finally:
            slots.release()

    def collect(task: asyncio.Task) -> None:
        tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            write_errors.append(task.exception())

    try:
        for seq, document in new_documents(documents, writer, summary, finish, on_document):
            if write_errors:
                break
            await slots.acquire()
            task = asyncio.create_task(process(document, seq))
            tasks.add(task)
            task.add_done_callback(collect)
    except OSError as error:
        # Writing an input failure's record failed; the documents in flight still finish.
        write_errors.append(error)

    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)
    summary.seconds = time.monotonic() - started
    if write_errors:
        raise write_errors[0]
    return summary


def record_writer(
    writer: RecordWriter, summary: RunSummary, on_document: Callable[[RunSummary], None] | None
) -> Callable[[list[dict[str, Any]]], None]:
    """Return a function that writes one document's records, adds them to `summary` and calls `on_document`."""

    def finish(records: list[dict[str, Any]]) -> None:
        writer.write_document(records)
        summary.add_records(records)
        if on_document:
            on_document(summary)

    return finish


def new_documents(
    documents: Iterable[Document | InputFailure],
    writer: RecordWriter,
    summary: RunSummary,
    finish: Callable[[list[dict[str, Any]]], None],
    on_document: Callable[[RunSummary], None] | None,
) -> Iterator[tuple[int, Document]]:
    """Yield (input position, document) for each document still to rephrase.

    On the way, an item whose id is already in the output or was already used
    in this run is counted as skipped, and an input failure gets its record
    through `finish`. `on_document` is called after each skipped item.
    """
    # NOTE: like writer.done_ids, this set grows by one id per document.
    seen: set[str] = set()
    for seq, item in enumerate(documents):
        if item.doc_id in writer.done_ids or item.doc_id in seen:
            _count_skipped(summary, item, seen)
            if on_document:
                on_document(summary)
            continue
        seen.add(item.doc_id)
        if isinstance(item, InputFailure):
            logger.warning("%s: %s", item.source, item.error)
            finish([failure_record(item.doc_id, seq, item.source, f"{item.source}: {item.error}")])
            continue
        yield seq, item


def _count_skipped(summary: RunSummary, item: Document | InputFailure, seen: set[str]) -> None:
    """Count an input item whose id is already in the output or was already used in this run."""
    if item.doc_id in seen:
        logger.warning("%s: skipped, document id %r was already used by an earlier document", item.source, item.doc_id)
        summary.duplicates += 1
    else:
        summary.skipped += 1


def document_rephraser(
    graph: CompiledStateGraph, context: Context, *, result_cache: ResponseCache | None = None
) -> Callable[[Document, int], Awaitable[list[dict[str, Any]]]]:
    """Return an async function that turns one document and its input position into its output records."""
    config = {"recursion_limit": recursion_limit_for(context.max_attempts)}
    if result_cache is None:
        return functools.partial(_rephrase_document, graph=graph, context=context, config=config)
    settings = run_fingerprint(graph, context)
    return functools.partial(
        _rephrase_cached, graph=graph, context=context, config=config, cache=result_cache, settings=settings
    )


def run_fingerprint(graph: CompiledStateGraph, context: Context) -> str:
    """Hash everything except the document that decides a document's results.

    That is the graph's node names, every setting of `context`, the models
    and rewrite sampling, the styles with their versions, and the source of
    polyphrase itself, so a change of prompt, guard or node code gives new
    keys. Code outside polyphrase is not in it: a graph of your own with the
    same node names needs its own cache folder.
    """
    settings = {
        item.name: getattr(context, item.name)
        for item in fields(context)
        if item.name not in ("rewriter", "verifier", "style_library")
    }
    return cache_key(
        nodes=sorted(graph.nodes),
        settings=settings,
        rewriter=context.rewriter.fingerprint(),
        verifier=context.verifier.fingerprint(),
        styles=sorted((style.name, style.version) for style in context.style_library.styles.values()),
        code=code_fingerprint(),
    )


def code_fingerprint() -> str:
    """Hash the Python and prompt files of the installed polyphrase packages, as they are on disk now."""
    digest = hashlib.sha256()
    folders = {Path(module.__file__).parent for module in (polyphrase, polyphrase.graph, polyphrase.nodes, polyphrase.prompts, polyphrase.schemas)}
    for folder in sorted(folders):
        for path in sorted(folder.rglob("*")):
            if path.suffix in (".py", ".md") and path.is_file():
                digest.update(str(path.relative_to(folder)).encode("utf-8"))
                digest.update(path.read_bytes())
    return digest.hexdigest()


def document_cache_key(document: Document, settings: str) -> str:
    """Return the result-cache key of one document under the run settings hashed by `run_fingerprint`."""
    return cache_key(kind="document", doc_id=document.doc_id, text=document.text, settings=settings)


async def _rephrase_cached(
    document: Document,
    seq: int,
    graph: CompiledStateGraph,
    context: Context,
    config: dict[str, Any],
    cache: ResponseCache,
    settings: str,
) -> list[dict[str, Any]]:
    key = document_cache_key(document, settings)
    cached = cache.get(key)
    if cached is not None:
        results = [StyleResult.model_validate(result) for result in cached["results"]]
        return records_for({"results": results, "usage": _as_cache_hits(cached["usage"])}, document, seq)

    output = await _run_graph(document, seq, graph, context, config)
    if isinstance(output, list):
        return output
    if _is_final(output):
        results = [result.model_dump(mode="json") for result in output["results"]]
        cache.set(key, {"results": results, "usage": output.get("usage", {})})
    return records_for(output, document, seq)


def _is_final(output: dict[str, Any]) -> bool:
    """Tell whether a graph output would come out the same on a rerun, so it may be cached.

    An output with an error, or with a verdict whose fact check could not
    run, came from a failed LLM call, which a rerun tries again.
    """
    if output.get("error") or not output.get("results"):
        return False
    return not any(
        problem.startswith(FACT_CHECK_FAILED)
        for result in output["results"]
        for verdict in result.verdicts
        for problem in verdict.problems
    )


def _as_cache_hits(usage: dict[str, int]) -> dict[str, int]:
    """Return the usage of a cached result: no tokens and no calls, every call counted as a cache hit."""
    replayed = {key: 0 for key in usage}
    for role in ("rewrite", "verify"):
        replayed[f"{role}_cache_hits"] = usage.get(f"{role}_calls", 0) + usage.get(f"{role}_cache_hits", 0)
    return replayed


async def _rephrase_document(
    document: Document, seq: int, graph: CompiledStateGraph, context: Context, config: dict[str, Any]
) -> list[dict[str, Any]]:
    output = await _run_graph(document, seq, graph, context, config)
    if isinstance(output, list):
        return output
    return records_for(output, document, seq)


async def _run_graph(
    document: Document, seq: int, graph: CompiledStateGraph, context: Context, config: dict[str, Any]
) -> dict[str, Any] | list[dict[str, Any]]:
    """Return the graph's output for `document`, or its failure record (in a list) when the graph raised."""
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
    return output
