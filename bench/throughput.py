"""Throughput, LLM calls per rewrite, peak memory and warm-cache rerun time, measured against bench.mock_server.

Run `python -m bench.throughput` from the repository root. `--help` lists
the sizes it can change. It prints one table with these rows.

(a) Pipeline docs/s divided by the docs/s of a bare asyncio loop that makes
    the very calls the pipeline made, with no dependency between them and
    the same concurrency limit. One loop calls polyphrase's LLMClient (disk
    cache included), so the graph, guards and runner are the difference.
    The other sends the raw request bodies through the OpenAI SDK. A second
    pipeline run shares the documents among `--workers` processes, as
    `run.py --workers N` does, with its own empty cache.
(b) LLM calls and tokens per accepted rewrite, rewrite and verify apart,
    then calls per chunk and style, and fact extractions per source chunk.
(c) Peak RSS of a child process per corpus size, and of one long
    document without line breaks.
(d) Wall time of reruns on a warm cache divided by the first run's.

Times exclude process start and imports, which the table lists apart.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
from openai.types.chat import ChatCompletion

from bench.mock_server import schema_name
from polyphrase.cache import ResponseCache
from polyphrase.corpus import RecordWriter, iter_documents
from polyphrase.graph import Context, build_graph
from polyphrase.llm import Endpoint, LLMClient
from polyphrase.runner import RunSummary, rephrase_corpus
from polyphrase.workers import WorkerSetup, rephrase_in_workers
from polyphrase.schemas.facts import Comparison, FactList

# Two paragraphs of about 90 estimated tokens each: two chunks per document.
CHUNK_TOKENS = 128
STYLES = 2
_NAMES = ["Avignon", "Lyon", "Porto", "Ghent", "Bergen", "Krakow", "Seville", "Turin", "Utrecht", "Graz"]
_THINGS = ["bridge", "library", "canal", "museum", "tower", "market", "harbour", "theatre"]


def make_corpus(path: Path, count: int, *, paragraphs: int = 2, seed: int = 0) -> Path:
    """Write `count` JSON Lines documents of `paragraphs` paragraphs each, with names and numbers to keep."""
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as stream:
        for index in range(count):
            text = "\n\n".join(_paragraph(rng) for _ in range(paragraphs))
            stream.write(json.dumps({"id": f"d{index:06d}", "text": text}) + "\n")
    return path


def _paragraph(rng: random.Random) -> str:
    city, other = rng.sample(_NAMES, 2)
    thing = rng.choice(_THINGS)
    return (
        f"The {thing} of {city} was finished in {rng.randint(1500, 1990)} after {rng.randint(2, 40)} years of work. "
        f"It is {rng.randint(20, 900)} metres long and draws about {rng.randint(2, 90)} thousand visitors a year. "
        f"Engineers from {other} later rebuilt its northern part, which had been damaged by a flood. "
        f"Today the city council spends {rng.randint(1, 30)} million euros on its upkeep every decade."
    )


class MockProcess:
    """bench.mock_server in a child process, so that its CPU time is not spent in the pipeline's event loop."""

    def __init__(self, latency_s: float, tokens_per_s: float) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "bench.mock_server", "--latency", str(latency_s), "--tokens-per-s", str(tokens_per_s)],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.base_url = self._process.stdout.readline().strip()
        self._root = self.base_url.removesuffix("/v1")

    def reset(self, *, record: bool = False) -> None:
        httpx.post(f"{self._root}/reset", json={"record": record}).raise_for_status()

    def stats(self) -> dict[str, dict[str, int]]:
        return httpx.get(f"{self._root}/stats").json()

    def recorded(self) -> list[dict[str, Any]]:
        return httpx.get(f"{self._root}/requests", timeout=60).json()["requests"]

    def close(self) -> None:
        self._process.terminate()
        self._process.wait(timeout=10)


@dataclass
class PipelineRun:
    """One run of the runner over the corpus. `cpu_seconds` counts this process only, not the mock."""

    seconds: float
    cpu_seconds: float
    summary: RunSummary


@dataclass
class LoopRun:
    """One bare loop over recorded calls."""

    seconds: float
    cpu_seconds: float


async def run_pipeline(
    base_url: str,
    corpus: Path,
    cache_dir: Path,
    output: Path,
    *,
    concurrency: int,
    overwrite: bool,
    chunk_tokens: int = CHUNK_TOKENS,
) -> PipelineRun:
    """Run the corpus through the real graph as the CLI does: disk cache, record writer, `concurrency` documents and requests."""
    started, cpu_started = time.monotonic(), time.process_time()
    cache = ResponseCache(cache_dir)
    client = LLMClient(Endpoint(base_url, "mock", timeout_s=120, max_retries=2), cache, max_concurrency=concurrency)
    context = Context(rewriter=client, verifier=client, chunk_tokens=chunk_tokens, styles_per_document=STYLES)
    writer = RecordWriter(output, overwrite=overwrite)
    try:
        summary = await rephrase_corpus(
            iter_documents(corpus), build_graph(), context, writer, concurrency=concurrency, result_cache=cache
        )
    finally:
        writer.close()
        await client.aclose()
        cache.close()
    return PipelineRun(time.monotonic() - started, time.process_time() - cpu_started, summary)


def run_pipeline_in_workers(
    base_url: str, corpus: Path, cache_dir: Path, output: Path, *, concurrency: int, workers: int
) -> PipelineRun:
    """Run the corpus as `run.py --workers N` does: documents shared among `workers` processes, one disk cache.

    `seconds` is the wall time of the whole call, worker start-up included.
    `summary.seconds` leaves the start-up out, as the other runs leave out
    imports. `cpu_seconds` counts the calling process only.
    """
    started, cpu_started = time.monotonic(), time.process_time()
    setup = WorkerSetup(
        rewriter=Endpoint(base_url, "mock", timeout_s=120, max_retries=2),
        cache_dir=cache_dir,
        request_concurrency=max(1, concurrency // workers),
        settings={"chunk_tokens": CHUNK_TOKENS, "styles_per_document": STYLES},
    )
    writer = RecordWriter(output, overwrite=True)
    try:
        summary = rephrase_in_workers(iter_documents(corpus), setup, writer, workers=workers, concurrency=concurrency)
    finally:
        writer.close()
    return PipelineRun(time.monotonic() - started, time.process_time() - cpu_started, summary)


async def run_client_loop(base_url: str, bodies: list[dict[str, Any]], concurrency: int, cache_dir: Path) -> LoopRun:
    """Make the calls recorded in `bodies` through LLMClient, with a fresh disk cache, at most `concurrency` at once."""
    started, cpu_started = time.monotonic(), time.process_time()
    cache = ResponseCache(cache_dir)
    client = LLMClient(Endpoint(base_url, "mock", timeout_s=120, max_retries=2), cache, max_concurrency=concurrency)
    models = {"FactList": FactList, "Comparison": Comparison}

    async def call(body: dict[str, Any]) -> None:
        kind = schema_name(body)
        if kind is None:
            max_tokens = body.get("max_completion_tokens") or body["max_tokens"]
            await client.complete(
                body["messages"], prompt_version="loop", temperature=body["temperature"], max_tokens=max_tokens, seed=body.get("seed")
            )
        else:
            await client.extract(body["messages"], models[kind], prompt_version="loop", max_tokens=body["max_tokens"])

    try:
        await asyncio.gather(*(call(body) for body in bodies))
    finally:
        await client.aclose()
        cache.close()
    return LoopRun(time.monotonic() - started, time.process_time() - cpu_started)


async def run_bare_loop(base_url: str, bodies: list[dict[str, Any]], concurrency: int) -> LoopRun:
    """Send `bodies` through the OpenAI SDK with at most `concurrency` requests in flight and no dependency between them."""
    started, cpu_started = time.monotonic(), time.process_time()
    client = openai.AsyncOpenAI(base_url=base_url, api_key="not-needed", timeout=120, max_retries=2)
    slots = asyncio.Semaphore(concurrency)

    async def send(body: dict[str, Any]) -> None:
        async with slots:
            await client.post("/chat/completions", cast_to=ChatCompletion, body=body)

    try:
        await asyncio.gather(*(send(body) for body in bodies))
    finally:
        await client.close()
    return LoopRun(time.monotonic() - started, time.process_time() - cpu_started)


def measure_memory(corpus: Path, workdir: Path, *, graph: str, base_url: str = "", chunk_tokens: int = CHUNK_TOKENS) -> dict[str, Any]:
    """Run the runner over `corpus` in a child process and return its peak RSS, time and chunk count."""
    command = [
        sys.executable, "-m", "bench.throughput", "--memory-child", str(corpus), "--memory-graph", graph,
        "--memory-base-url", base_url, "--memory-chunk-tokens", str(chunk_tokens), "--workdir", str(workdir),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.splitlines()[-1])


def make_long_document(folder: Path, mib: float) -> Path:
    """Write one text file of `mib` MiB of prose with no line break into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(int(mib * 1000))
    size = int(mib * 1024 * 1024)
    with open(folder / "long.txt", "w", encoding="utf-8") as stream:
        written = 0
        while written < size:
            text = _paragraph(rng) + " "
            stream.write(text)
            written += len(text)
    return folder


def _memory_child(args: argparse.Namespace) -> None:
    """Run one memory measurement in this process and print it as one JSON line."""
    corpus = Path(args.memory_child)
    output = Path(args.workdir) / f"{corpus.name}-{args.memory_graph}.out.jsonl"
    started = time.monotonic()
    if args.memory_graph == "trivial":
        client = LLMClient(Endpoint("http://127.0.0.1:9/v1", "unused"))
        graph = build_trivial_graph()
        context = Context(rewriter=client, verifier=client)
        writer = RecordWriter(output, overwrite=True)
        summary = asyncio.run(rephrase_corpus(iter_documents(corpus), graph, context, writer, concurrency=64))
        writer.close()
    else:
        cache_dir = Path(tempfile.mkdtemp(dir=args.workdir))
        run = asyncio.run(
            run_pipeline(
                args.memory_base_url, corpus, cache_dir, output, concurrency=64, overwrite=True, chunk_tokens=args.memory_chunk_tokens
            )
        )
        summary = run.summary
    source_chunks, _ = chunk_counts(output)
    result = {"documents": summary.documents, "chunks": source_chunks, "peak_rss_mb": peak_rss_mib(), "seconds": time.monotonic() - started}
    print(json.dumps(result))


def peak_rss_mib() -> float:
    """Return this process's peak resident set size in MiB.

    Linux's getrusage keeps ru_maxrss across fork and exec, so a child would
    report at least its parent's peak. VmHWM starts afresh with the new
    address space at exec, so it is read where /proc exists.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # the value is in kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux, bytes on macOS


def build_trivial_graph():
    """Return a one-node LangGraph graph with the real input and output state that returns the text as its one rewrite."""
    from langgraph.graph import END, START, StateGraph

    from polyphrase.graph.state import InputState, OutputState, State, StyleResult

    async def echo(state: State) -> dict:
        result = StyleResult(style="echo", text=state["text"], passed=True, attempts=1, retried_chunks=0, fixed_by_retry=0, verdicts=[])
        return {"results": [result], "error": None, "usage": {}}

    builder = StateGraph(State, input_schema=InputState, output_schema=OutputState)
    builder.add_node("echo", echo)
    builder.add_edge(START, "echo")
    builder.add_edge("echo", END)
    return builder.compile()


def chunk_counts(output: Path) -> tuple[int, int]:
    """Return (source chunks, chunk-and-style pairs) over the rewrites in an output file."""
    source_chunks: dict[str, int] = {}
    pairs = 0
    with open(output, encoding="utf-8") as stream:
        for line in stream:
            record = json.loads(line)
            if "error" in record:
                continue
            source_chunks[record["id"]] = len(record["chunks"])
            pairs += len(record["chunks"])
    return sum(source_chunks.values()), pairs


def import_seconds() -> float:
    """Return the wall time of a fresh interpreter that imports the CLI, as each `python run.py` pays it."""
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", "import polyphrase.cli"], check=True)
    return time.monotonic() - started


@contextmanager
def _mock(latency_s: float, tokens_per_s: float) -> Iterator[MockProcess]:
    mock = MockProcess(latency_s, tokens_per_s)
    try:
        yield mock
    finally:
        mock.close()


class Table:
    """Rows of (metric, value, target, verdict) printed in aligned columns."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str]] = [("metric", "value", "target", "")]

    def add(self, metric: str, value: str, target: str = "", met: bool | None = None) -> None:
        verdict = ""
        if met is not None:
            verdict = "met" if met else "MISSED"
        self.rows.append((metric, value, target, verdict))

    def print(self) -> None:
        widths = [max(len(row[column]) for row in self.rows) for column in range(3)]
        for metric, value, target, verdict in self.rows:
            print(f"{metric:<{widths[0]}}  {value:>{widths[1]}}  {target:<{widths[2]}}  {verdict}".rstrip())


def run_benchmark(args: argparse.Namespace) -> None:
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="polyphrase-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    table = Table()
    if args.documents:
        _measure_throughput(args, table, workdir)
    _add_memory_rows(table, args, workdir)
    table.add("process start and imports, not in the times", f"{import_seconds():.2f} s")

    print(
        f"polyphrase throughput: {args.documents} documents of {CHUNK_TOKENS}-token chunks, {STYLES} styles, "
        f"concurrency {args.concurrency}, mock latency {args.latency * 1000:.0f} ms, "
        f"{'no token-rate delay' if not args.tokens_per_s else f'{args.tokens_per_s:g} tokens/s'}; work dir {workdir}"
    )
    table.print()


def _measure_throughput(args: argparse.Namespace, table: Table, workdir: Path) -> None:
    corpus = make_corpus(workdir / "corpus.jsonl", args.documents)
    cache_dir = workdir / "cache"
    first_output = workdir / "first.jsonl"
    with _mock(args.latency, args.tokens_per_s) as mock:
        mock.reset(record=True)
        first = asyncio.run(run_pipeline(mock.base_url, corpus, cache_dir, first_output, concurrency=args.concurrency, overwrite=True))
        stats = mock.stats()
        bodies = mock.recorded()
        client_loop = asyncio.run(run_client_loop(mock.base_url, bodies, args.concurrency, workdir / "loop-cache"))
        bare_loop = asyncio.run(run_bare_loop(mock.base_url, bodies, args.concurrency))
        in_workers = None
        if args.workers > 1:
            in_workers = run_pipeline_in_workers(
                mock.base_url, corpus, workdir / "workers-cache", workdir / "workers.jsonl", concurrency=args.concurrency, workers=args.workers
            )
        mock.reset()
        warm = asyncio.run(
            run_pipeline(mock.base_url, corpus, cache_dir, workdir / "warm.jsonl", concurrency=args.concurrency, overwrite=True)
        )
        resumed = asyncio.run(run_pipeline(mock.base_url, corpus, cache_dir, first_output, concurrency=args.concurrency, overwrite=False))
        warm_calls = sum(mock.stats()["calls"].values())

    _add_throughput_rows(table, first, client_loop, bare_loop, len(bodies))
    if in_workers is not None:
        running = in_workers.summary.seconds
        ratio = bare_loop.seconds / running
        table.add(f"(a) pipeline in {args.workers} worker processes / raw SDK loop docs/s", f"{ratio:.2f}", ">= 0.9", ratio >= 0.9)
        table.add(f"    pipeline, --workers {args.workers}, first run", f"{in_workers.summary.documents / running:.1f} docs/s, {running:.1f} s")
        table.add("    worker start-up and imports, not in that time", f"{in_workers.seconds - running:.1f} s")
    _add_call_rows(table, first.summary, stats, first_output)
    table.add("(d) warm-cache rerun / first run, --overwrite", f"{warm.seconds / first.seconds:.3f}", "<= 0.05", warm.seconds / first.seconds <= 0.05)
    table.add("    rerun time, every answer from the cache", f"{warm.seconds:.2f} s")
    table.add("    LLM calls made by both reruns", str(warm_calls))
    table.add("(d) rerun with the same output / first run", f"{resumed.seconds / first.seconds:.3f}", "<= 0.05", resumed.seconds / first.seconds <= 0.05)
    table.add("    rerun time, every document already written", f"{resumed.seconds:.2f} s")


def _add_throughput_rows(table: Table, first: PipelineRun, client_loop: LoopRun, bare_loop: LoopRun, requests: int) -> None:
    documents = first.summary.documents
    rate = documents / first.seconds
    for label, loop in ((f"LLMClient loop, the same {requests} calls", client_loop), (f"raw SDK loop, the same {requests} bodies", bare_loop)):
        ratio = first.seconds and loop.seconds / first.seconds
        table.add(f"(a) pipeline docs/s / {label.split(',')[0]} docs/s", f"{ratio:.2f}", ">= 0.9", ratio >= 0.9)
        table.add(f"    {label}", f"{documents / loop.seconds:.1f} docs/s, {loop.seconds:.1f} s, {loop.cpu_seconds / documents * 1000:.0f} ms CPU/doc")
    table.add("    pipeline, first run (cache writes included)", f"{rate:.1f} docs/s, {first.seconds:.1f} s, {first.cpu_seconds / documents * 1000:.0f} ms CPU/doc")


def _add_call_rows(table: Table, summary: RunSummary, stats: dict[str, dict[str, int]], output: Path) -> None:
    usage = summary.usage
    accepted = max(summary.passed, 1)
    source_chunks, pairs = chunk_counts(output)
    calls = stats["calls"]
    per_pair = (calls.get("text", 0) + calls.get("Comparison", 0)) / max(pairs, 1)
    per_chunk = calls.get("FactList", 0) / max(source_chunks, 1)
    rewrite_tokens = usage["rewrite_prompt_tokens"] + usage["rewrite_completion_tokens"]
    verify_tokens = usage["verify_prompt_tokens"] + usage["verify_completion_tokens"]
    table.add("(b) accepted rewrites / rewrites", f"{summary.passed} / {summary.rewrites}")
    table.add("    rewrite calls per accepted rewrite", f"{usage['rewrite_calls'] / accepted:.2f}")
    table.add("    verify calls per accepted rewrite", f"{usage['verify_calls'] / accepted:.2f}")
    table.add("    rewrite tokens per accepted rewrite", f"{rewrite_tokens / accepted:.0f}")
    table.add("    verify tokens per accepted rewrite", f"{verify_tokens / accepted:.0f}")
    table.add("    rewrite + comparison calls per chunk and style", f"{per_pair:.2f}", "<= 2", per_pair <= 2)
    table.add("    fact extractions per source chunk", f"{per_chunk:.2f}", "<= 1", per_chunk <= 1)


def _add_memory_rows(table: Table, args: argparse.Namespace, workdir: Path) -> None:
    sizes = [int(size) for size in args.memory_sizes.split(",") if size]
    if not sizes:
        return
    corpora = {size: make_corpus(workdir / f"memory-{size}.jsonl", size, paragraphs=1, seed=size) for size in sizes}
    measured = {size: measure_memory(corpora[size], workdir, graph="trivial") for size in sizes}
    for size, result in measured.items():
        met = result["peak_rss_mb"] < 500
        table.add(f"(c) peak RSS, {size:,} docs, reader+runner+writer, 1-node graph", f"{result['peak_rss_mb']:.0f} MB", "< 500 MB", met)
        table.add("    time of that run", f"{result['seconds']:.1f} s")
    smallest, largest = measured[min(sizes)], measured[max(sizes)]
    if len(sizes) > 1:
        ratio = largest["peak_rss_mb"] / smallest["peak_rss_mb"]
        table.add(f"    peak RSS {max(sizes):,} / {min(sizes):,}", f"{ratio:.2f}", "<= 1.2", ratio <= 1.2)
    with _mock(0.0, 0.0) as mock:
        full = measure_memory(corpora[min(sizes)], workdir, graph="full", base_url=mock.base_url)
        table.add(f"(c) peak RSS, {min(sizes):,} docs, real graph, mock at 0 ms", f"{full['peak_rss_mb']:.0f} MB", "< 500 MB", full["peak_rss_mb"] < 500)
        table.add("    time of that run", f"{full['seconds']:.1f} s")
        for mib in [float(size) for size in args.long_document_mib.split(",") if size]:
            folder = make_long_document(workdir / f"long-{mib:g}", mib)
            long = measure_memory(folder, workdir, graph="full", base_url=mock.base_url, chunk_tokens=400)
            table.add(f"(c) peak RSS, one {mib:g} MiB document on one line, 400-token chunks", f"{long['peak_rss_mb']:.0f} MB")
            table.add("    chunks and time of that run", f"{long['chunks']} chunks, {long['seconds']:.1f} s")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Measure polyphrase against a loopback mock endpoint and print one table.")
    parser.add_argument("--documents", type=int, default=640, help="documents in the throughput corpus; 0 measures only memory (default: %(default)s)")
    parser.add_argument("--concurrency", type=int, default=64, help="documents and LLM requests in flight (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of the second pipeline run, as run.py --workers; 1 skips it (default: %(default)s)")
    parser.add_argument("--latency", type=float, default=0.2, help="mock seconds per reply (default: %(default)s)")
    parser.add_argument("--tokens-per-s", type=float, default=0.0, help="mock completion tokens per second; 0 adds no delay (default: %(default)s)")
    parser.add_argument("--memory-sizes", default="1000,100000", help="comma-separated corpus sizes for peak RSS; empty skips (default: %(default)s)")
    parser.add_argument("--long-document-mib", default="1,3", help="comma-separated sizes in MiB of one document without line breaks, run through the real graph; empty skips (default: %(default)s)")
    parser.add_argument("--workdir", default="", help="folder for corpora, cache and outputs (default: a new temporary folder)")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    parser.add_argument("--memory-graph", choices=["trivial", "full"], default="trivial", help=argparse.SUPPRESS)
    parser.add_argument("--memory-base-url", default="", help=argparse.SUPPRESS)
    parser.add_argument("--memory-chunk-tokens", type=int, default=CHUNK_TOKENS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        _memory_child(args)
    else:
        run_benchmark(args)


if __name__ == "__main__":
    main()
