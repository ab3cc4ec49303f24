"""One run spread over several worker processes.

Against a fast endpoint, one Python process runs out of CPU before the
endpoint does: HTTP, validation, the graph and the guards cost a few
milliseconds per call. `rephrase_in_workers` keeps the reading, skipping
and writing of `rephrase_corpus` in the calling process and sends each
document to the least busy of several worker processes, each with its own
event loop, clients and graph. The disk cache is shared, since diskcache
is safe across processes.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import queue
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from polyphrase.cache import ResponseCache
from polyphrase.corpus import Document, InputFailure, RecordWriter
from polyphrase.errors import PolyphraseError
from polyphrase.graph.builder import build_graph
from polyphrase.graph.context import Context
from polyphrase.llm import Endpoint, LLMClient
from polyphrase.prompts import STYLE_DIR, StyleLibrary
from polyphrase.runner import RunSummary, document_rephraser, failure_record, new_documents, record_writer

logger = logging.getLogger(__name__)

# How often the coordinator checks that its workers are alive while it waits for results.
_POLL_S = 1.0
# How long idle workers get to exit on their own at the end of a run before they are terminated.
_EXIT_WAIT_S = 10.0


@dataclass(frozen=True)
class WorkerSetup:
    """The recipe from which each worker process builds its clients, cache and context. Every field pickles."""

    rewriter: Endpoint
    verifier: Endpoint | None = None
    """None uses the rewriter's endpoint for fact checks too."""
    cache_dir: Path | None = None
    """Folder of the LLM and result cache; None runs without a cache."""
    request_concurrency: int = 8
    """LLM requests in flight per worker process."""
    style_dirs: tuple[Path, ...] = ()
    """Folders of extra style files, loaded after the built-in ones."""
    settings: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments of `Context` other than the clients and the style library."""

    def open(self) -> tuple[Context, ResponseCache | None]:
        """Build this process's cache, clients and context."""
        cache = ResponseCache(self.cache_dir) if self.cache_dir else None
        rewriter = LLMClient(self.rewriter, cache, max_concurrency=self.request_concurrency)
        verifier = LLMClient(self.verifier, cache, max_concurrency=self.request_concurrency) if self.verifier else rewriter
        library = StyleLibrary.load(STYLE_DIR, *self.style_dirs)
        return Context(rewriter=rewriter, verifier=verifier, style_library=library, **self.settings), cache


def rephrase_in_workers(
    documents: Iterable[Document | InputFailure],
    setup: WorkerSetup,
    writer: RecordWriter,
    *,
    workers: int,
    concurrency: int,
    on_document: Callable[[RunSummary], None] | None = None,
) -> RunSummary:
    """Rephrase every document in `workers` processes, with at most `concurrency` documents in flight in all.

    Skipping, failure records and the summary work as in `rephrase_corpus`,
    and the result cache is always used when `setup` has a cache folder. A
    worker process that dies fails the documents it had, and the others go on.
    """
    summary = RunSummary()
    pool = _Pool(setup, workers)
    # Like rephrase_corpus's, the run time leaves out process start and imports.
    started = time.monotonic()

    finish = record_writer(writer, summary, on_document)
    try:
        for seq, document in new_documents(documents, writer, summary, finish, on_document):
            while pool.in_flight >= concurrency:
                for records in pool.wait():
                    finish(records)
            pool.send(seq, document)
        pool.close_inboxes()
        while pool.in_flight:
            for records in pool.wait():
                finish(records)
    finally:
        pool.stop()
    summary.seconds = time.monotonic() - started
    return summary


class _Pool:
    """Worker processes, the documents each has in flight, and the one queue their records come back on."""

    def __init__(self, setup: WorkerSetup, workers: int) -> None:
        spawn = multiprocessing.get_context("spawn")
        self._results = spawn.Queue()
        self._inboxes = [spawn.Queue() for _ in range(workers)]
        self._processes = [
            spawn.Process(
                target=_worker_main,
                args=(setup, inbox, self._results, index, logging.getLogger().level),
                name=f"polyphrase-worker-{index}",
                daemon=True,
            )
            for index, inbox in enumerate(self._inboxes)
        ]
        self._pending: list[dict[int, Document]] = [{} for _ in range(workers)]
        self._closed = False
        started = time.monotonic()
        for process in self._processes:
            process.start()
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started

    def _wait_until_ready(self) -> None:
        """Wait for every worker's ready message, sent once it has built its clients and graph."""
        waiting = set(range(len(self._processes)))
        while waiting:
            try:
                index, _, _ = self._results.get(timeout=_POLL_S)
            except queue.Empty:
                dead = [self._processes[index] for index in waiting if self._processes[index].exitcode is not None]
                if dead:
                    raise PolyphraseError(
                        f"worker process {dead[0].name} exited with code {dead[0].exitcode} before it was ready; see its error in the log above"
                    ) from None
                continue
            waiting.discard(index)

    @property
    def in_flight(self) -> int:
        return sum(len(pending) for pending in self._pending)

    def send(self, seq: int, document: Document) -> None:
        """Give `document` to the live worker with the fewest documents in flight."""
        live = [index for index, process in enumerate(self._processes) if process.exitcode is None]
        if not live:
            raise PolyphraseError("every worker process has exited; see the log above for the reason")
        index = min(live, key=lambda worker: len(self._pending[worker]))
        self._pending[index][seq] = document
        self._inboxes[index].put((seq, document))

    def wait(self) -> list[list[dict[str, Any]]]:
        """Return the records of the next finished document, or the failure records of a dead worker's documents."""
        try:
            index, seq, records = self._results.get(timeout=_POLL_S)
        except queue.Empty:
            return self._fail_dead_workers()
        if self._pending[index].pop(seq, None) is None:
            # The document was already failed because its worker looked dead; keep that one record.
            return []
        return [records]

    def _fail_dead_workers(self) -> list[list[dict[str, Any]]]:
        failed = []
        for index, process in enumerate(self._processes):
            if process.exitcode is None or not self._pending[index]:
                continue
            logger.error(
                "worker process %s exited with code %s; failing its %d documents",
                process.name,
                process.exitcode,
                len(self._pending[index]),
            )
            for seq, document in self._pending[index].items():
                message = f"{document.source}: worker process exited with code {process.exitcode}"
                failed.append([failure_record(document.doc_id, seq, document.source, message)])
            self._pending[index].clear()
        return failed

    def close_inboxes(self) -> None:
        """Tell every worker that no more documents come; each exits once its documents are done."""
        if self._closed:
            return
        self._closed = True
        for inbox in self._inboxes:
            inbox.put(None)

    def stop(self) -> None:
        """Let idle workers exit on their own; terminate any that still has documents or does not exit."""
        if self.in_flight == 0:
            self.close_inboxes()
            deadline = time.monotonic() + _EXIT_WAIT_S
            for process in self._processes:
                process.join(timeout=max(0.0, deadline - time.monotonic()))
        for process in self._processes:
            if process.exitcode is None:
                process.terminate()
                process.join(timeout=10)


def _worker_main(setup: WorkerSetup, inbox: Any, results: Any, index: int, log_level: int) -> None:
    """Run documents from `inbox` in this process until it sends None; put (worker, seq, records) on `results`."""
    logging.basicConfig(level=log_level, format="%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s")
    for http_logger in ("httpx", "httpx2"):
        logging.getLogger(http_logger).setLevel(max(log_level, logging.WARNING))
    asyncio.run(_serve(setup, inbox, results, index))


async def _serve(setup: WorkerSetup, inbox: Any, results: Any, index: int) -> None:
    context, cache = setup.open()
    rephrase = document_rephraser(build_graph(), context, result_cache=cache)
    results.put((index, None, None))
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task] = set()

    async def run_one(seq: int, document: Document) -> None:
        try:
            records = await rephrase(document, seq)
        except Exception as error:  # noqa: BLE001 - e.g. a cache error; the coordinator waits for every document
            logger.exception("document %s (%s) failed in worker %d", document.doc_id, document.source, index)
            message = f"{document.source}: unexpected error in worker {index}: {type(error).__name__}: {error}"
            records = [failure_record(document.doc_id, seq, document.source, message)]
        results.put((index, seq, records))

    try:
        while True:
            item = await loop.run_in_executor(None, inbox.get)
            if item is None:
                break
            task = asyncio.create_task(run_one(*item))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.gather(*tasks)
    finally:
        await context.rewriter.aclose()
        if context.verifier is not context.rewriter:
            await context.verifier.aclose()
        if cache:
            cache.close()
