"""The command line: `python run.py --input DIR` or `polyphrase --input DIR`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from polyphrase.cache import ResponseCache
from polyphrase.corpus import MAX_DOCUMENT_BYTES, RecordWriter, count_documents, iter_documents
from polyphrase.errors import ConfigError, PolyphraseError
from polyphrase.graph.builder import build_graph
from polyphrase.graph.context import Context
from polyphrase.llm import Endpoint, LLMClient
from polyphrase.local_server import MODEL_NAME, REWRITE_SAMPLING, EmbeddedServer, default_cache_dir
from polyphrase.progress import ProgressLine
from polyphrase.prompts import STYLE_DIR, StyleLibrary
from polyphrase.runner import RunSummary, rephrase_corpus
from polyphrase.workers import WorkerSetup, rephrase_in_workers

logger = logging.getLogger("polyphrase")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="polyphrase",
        description="Rewrite documents in several styles and verify that each rewrite keeps the facts of its source.",
    )
    io = parser.add_argument_group("input and output")
    io.add_argument("--input", required=True, type=Path, help="folder (recursive .txt, .md, .rst, .jsonl, .parquet), or a .jsonl / .jsonl.gz / .parquet file with 'text' and optional 'id'; .parquet needs the 'parquet' extra")
    io.add_argument("--output", type=Path, default=Path("out/rephrased.jsonl"), help="JSON Lines output file (default: %(default)s); documents already in it are skipped")
    io.add_argument("--overwrite", action="store_true", help="start the output file afresh instead of resuming it")
    io.add_argument("--max-document-bytes", type=int, default=MAX_DOCUMENT_BYTES, metavar="N", help=f"size limit of one document in bytes; a larger one gets a failure record instead of being rewritten (default: {MAX_DOCUMENT_BYTES // 2**20} MiB)")

    styles = parser.add_argument_group("styles and verification")
    styles.add_argument("--styles", type=int, default=2, metavar="N", help="styles per document, chosen reproducibly from the document id (default: %(default)s)")
    styles.add_argument("--style", action="append", default=[], metavar="NAME", help="use this style for every document; repeat for several")
    styles.add_argument("--styles-dir", type=Path, action="append", default=[], metavar="DIR", help="folder of extra style files (*.md), added to the built-in library")
    styles.add_argument("--list-styles", action="store_true", help="print the style library and exit")
    styles.add_argument("--max-attempts", type=int, default=3, help="attempts per chunk and style, the first included (default: %(default)s)")
    styles.add_argument("--failure-policy", choices=["keep-best", "fallback-source", "drop"], default="keep-best", help="content of a rewrite whose chunks never all passed: the best attempt, the source for failed chunks, or no text (default: %(default)s)")
    styles.add_argument("--chunk-tokens", type=int, default=400, help="token budget of a source chunk, estimated offline (default: %(default)s)")
    styles.add_argument("--max-copy-overlap", type=float, default=0.5, help="highest share of word 4-grams a rewrite may copy from its source (default: %(default)s)")
    styles.add_argument("--no-fact-check", action="store_true", help="run only the guards that need no LLM, not the fact comparison")
    styles.add_argument("--temperature", type=float, default=0.7, help="sampling temperature of rewrite calls (default: %(default)s)")

    endpoint = add_endpoint_arguments(parser)
    endpoint.add_argument("--verify-base-url", help="endpoint for fact checks (default: --base-url)")
    endpoint.add_argument("--verify-model", help="model for fact checks (default: --model)")
    endpoint.add_argument("--verify-api-key", help="API key for fact checks (default: --api-key)")
    endpoint.add_argument("--concurrency", type=int, default=4, help="documents in flight and LLM requests at once (default: %(default)s)")
    endpoint.add_argument("--workers", type=int, default=1, metavar="N", help="worker processes that share the documents in flight and the --concurrency request limit, so at most --concurrency; more than 1 helps when a fast endpoint leaves one process short of CPU (default: %(default)s)")

    run = parser.add_argument_group("run")
    run.add_argument("--cache-dir", type=Path, default=None, help="LLM response cache, document result cache and joined model (default: $XDG_CACHE_HOME/polyphrase or ~/.cache/polyphrase)")
    run.add_argument("--no-cache", action="store_true", help="use and write neither the LLM response cache nor the document result cache")
    run.add_argument("--server-threads", type=int, default=None, help="CPU threads of the embedded server (default: all cores)")
    run.add_argument("--quiet", "-q", action="store_true", help="log warnings and errors only, and show no progress line")
    run.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None, help="show a progress line on stderr: documents done, docs/s, tokens/s, pass rate, failures, time left (default: only when stderr is a terminal and --quiet is not given)")
    run.add_argument("--verbose", "-v", action="store_true", help="log every attempt (DEBUG)")
    return parser


def add_endpoint_arguments(parser: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    """Add the endpoint options that `open_endpoint` reads (less concurrency and server threads); return their group."""
    endpoint = parser.add_argument_group("LLM endpoint (default: the embedded llama.cpp server)")
    endpoint.add_argument("--base-url", help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1 (default: $OPENAI_BASE_URL)")
    endpoint.add_argument("--model", help="model name on that endpoint (required with --base-url)")
    endpoint.add_argument("--api-key", help="API key (default: $OPENAI_API_KEY)")
    endpoint.add_argument("--timeout", type=float, default=600.0, help="seconds before one LLM request times out (default: %(default)s)")
    return endpoint


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = logging.INFO
    if args.verbose:
        level = logging.DEBUG
    elif args.quiet:
        level = logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs every request at INFO, which would drown the run's own log. The OpenAI SDK 3.x sends
    # its requests through httpx2, which logs under its own name.
    for http_logger in ("httpx", "httpx2"):
        logging.getLogger(http_logger).setLevel(max(level, logging.WARNING))
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return _run(args)
    except PolyphraseError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("interrupted; rerun the same command to resume", file=sys.stderr)
        return 130


def open_endpoint(
    args: argparse.Namespace, stack: contextlib.ExitStack, cache_dir: Path
) -> tuple[Endpoint, int]:
    """Resolve the endpoint from the options and the environment, starting the embedded server when none is set.

    Returns the endpoint and how many requests to send it at once. `stack`
    stops the embedded server when it closes. `args` needs base_url, model,
    api_key, timeout, concurrency and server_threads.
    """
    base_url = args.base_url or os.environ.get("OPENAI_BASE_URL")
    api_key = args.api_key or os.environ.get("OPENAI_API_KEY") or "not-needed"
    if base_url:
        if not args.model:
            raise ConfigError(f"missing --model: name the model to call on {base_url}")
        return Endpoint(base_url, args.model, api_key, args.timeout), args.concurrency

    logger.info("no endpoint configured (--base-url or OPENAI_BASE_URL); starting the embedded llama.cpp server")
    server = stack.enter_context(
        EmbeddedServer(cache_dir=cache_dir, threads=args.server_threads, parallel=min(args.concurrency, 2))
    )
    # More requests than server slots would wait inside llama-server, where the client timeout runs.
    endpoint = Endpoint(server.base_url, args.model or MODEL_NAME, api_key, args.timeout, rewrite_sampling=REWRITE_SAMPLING)
    return endpoint, server.parallel


def _interrupt(signum: int, frame: object) -> None:
    """Stop on SIGTERM as on Ctrl-C, so the embedded server is stopped too."""
    raise KeyboardInterrupt


def _run(args: argparse.Namespace) -> int:
    library = StyleLibrary.load(STYLE_DIR, *args.styles_dir)
    if args.list_styles:
        for style in library.styles.values():
            print(f"{style.name:20} {style.description}")
        return 0
    _validate(args, library)

    cache_dir = args.cache_dir or default_cache_dir()
    with contextlib.ExitStack() as stack:
        endpoint, request_concurrency = open_endpoint(args, stack, cache_dir)
        if args.workers > 1:
            return _rephrase_in_workers(args, cache_dir, endpoint, request_concurrency)
        return asyncio.run(_rephrase(args, library, cache_dir, endpoint, request_concurrency))


def _verify_endpoint(args: argparse.Namespace, endpoint: Endpoint) -> Endpoint | None:
    """Return the fact-check endpoint when any --verify-* option is given, else None for the rewrite endpoint."""
    if not (args.verify_base_url or args.verify_model or args.verify_api_key):
        return None
    return Endpoint(
        args.verify_base_url or endpoint.base_url,
        args.verify_model or endpoint.model,
        args.verify_api_key or endpoint.api_key,
        args.timeout,
    )


def _context_settings(args: argparse.Namespace) -> dict[str, Any]:
    """Return the `Context` settings the options give, without the clients and the style library."""
    return {
        "styles_per_document": args.styles,
        "style_names": tuple(args.style),
        "chunk_tokens": args.chunk_tokens,
        "max_attempts": args.max_attempts,
        "failure_policy": args.failure_policy,
        "rewrite_temperature": args.temperature,
        "max_copy_overlap": args.max_copy_overlap,
        "check_facts": not args.no_fact_check,
    }


def _rephrase_in_workers(args: argparse.Namespace, cache_dir: Path, endpoint: Endpoint, request_concurrency: int) -> int:
    if args.workers > request_concurrency:
        raise ConfigError(
            f"--workers {args.workers} is more than the {request_concurrency} requests the endpoint takes at once; "
            f"use at most {request_concurrency} workers"
        )
    setup = WorkerSetup(
        rewriter=endpoint,
        verifier=_verify_endpoint(args, endpoint),
        cache_dir=None if args.no_cache else cache_dir / "llm",
        # The request limit is shared out among the workers, so the endpoint gets no more requests at once than with one.
        request_concurrency=request_concurrency // args.workers,
        style_dirs=tuple(args.styles_dir),
        settings=_context_settings(args),
    )
    with _output(args) as (writer, progress):
        summary = rephrase_in_workers(
            iter_documents(args.input, max_bytes=args.max_document_bytes),
            setup,
            writer,
            workers=args.workers,
            concurrency=args.concurrency,
            on_document=progress.update if progress else None,
        )
        if progress:
            progress.close(summary)
    return _print_summary(args, summary)


@contextlib.contextmanager
def _output(args: argparse.Namespace) -> Iterator[tuple[RecordWriter, ProgressLine | None]]:
    """Open the output file and the progress line the options ask for; end the line and close the file on exit."""
    writer = RecordWriter(args.output, overwrite=args.overwrite)
    progress = _progress_line(args)
    try:
        yield writer, progress
    finally:
        if progress:
            progress.end_line()
        writer.close()


async def _rephrase(
    args: argparse.Namespace, library: StyleLibrary, cache_dir: Path, endpoint: Endpoint, request_concurrency: int
) -> int:
    cache = None if args.no_cache else ResponseCache(cache_dir / "llm")
    rewriter = LLMClient(endpoint, cache, max_concurrency=request_concurrency)
    verifier = rewriter
    verify_endpoint = _verify_endpoint(args, endpoint)
    if verify_endpoint:
        verifier = LLMClient(verify_endpoint, cache, max_concurrency=request_concurrency)

    context = Context(rewriter=rewriter, verifier=verifier, style_library=library, **_context_settings(args))
    try:
        with _output(args) as (writer, progress):
            summary = await rephrase_corpus(
                iter_documents(args.input, max_bytes=args.max_document_bytes),
                build_graph(),
                context,
                writer,
                concurrency=args.concurrency,
                on_document=progress.update if progress else None,
                result_cache=cache,
            )
            if progress:
                progress.close(summary)
    finally:
        await rewriter.aclose()
        if verifier is not rewriter:
            await verifier.aclose()
        if cache:
            cache.close()
    return _print_summary(args, summary)


def _print_summary(args: argparse.Namespace, summary: RunSummary) -> int:
    print(f"wrote {args.output}")
    for line in summary.lines():
        print(line)
    return 0


def _progress_line(args: argparse.Namespace) -> ProgressLine | None:
    """Return the progress line the options ask for; the total comes from a scan of file names, not contents."""
    progress = ProgressLine.for_stream(sys.stderr, force=args.progress, quiet=args.quiet)
    if progress:
        progress.total = count_documents(args.input)
        progress.clear_before_logging()
    return progress


def _validate(args: argparse.Namespace, library: StyleLibrary) -> None:
    if not args.input.exists():
        raise ConfigError(f"input not found: {args.input}")
    for name in args.style:
        library.get(name)
    if args.styles < 1:
        raise ConfigError(f"--styles must be at least 1, got {args.styles}")
    if not args.style and args.styles > len(library.styles):
        raise ConfigError(f"--styles {args.styles} is more than the {len(library.styles)} styles in the library")
    if args.max_attempts < 1:
        raise ConfigError(f"--max-attempts must be at least 1, got {args.max_attempts}")
    if args.chunk_tokens < 32:
        raise ConfigError(f"--chunk-tokens must be at least 32, got {args.chunk_tokens}")
    if args.max_document_bytes < 1:
        raise ConfigError(f"--max-document-bytes must be at least 1, got {args.max_document_bytes}")
    if args.concurrency < 1:
        raise ConfigError(f"--concurrency must be at least 1, got {args.concurrency}")
    if not 1 <= args.workers <= args.concurrency:
        raise ConfigError(f"--workers must be from 1 to --concurrency ({args.concurrency}), got {args.workers}")
    if not 0.0 < args.max_copy_overlap <= 1.0:
        raise ConfigError(f"--max-copy-overlap must be in (0, 1], got {args.max_copy_overlap}")
