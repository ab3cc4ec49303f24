"""Shared fixtures: a scripted OpenAI-compatible server and contexts wired to it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from polyphrase.cache import ResponseCache
from polyphrase.graph.context import Context
from polyphrase.llm import Endpoint, LLMClient
from tests.fake_openai import FakeOpenAI, Reply, structured_schema_name

_SOURCE_RE = re.compile(r"<source>\n(.*)\n</source>", re.S)
_STYLE_RE = re.compile(r"^Style: (\S+)", re.M)
_FACT_LINE_RE = re.compile(r"^\d+\. ", re.M)
# Placeholders, numbers with the word after them (a unit or scale), and capitalised names.
_KEEP_RE = re.compile(r"⟦(?:CODE|MATH)\d+⟧|(?:\d[\d,.]*\d|\d)(?: [a-z]+)?|\b[A-Z][a-zA-Z]+\b")

CORPUS_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


def user_message(request: dict[str, Any]) -> str:
    return request["messages"][-1]["content"]


def faithful_rewrite(request: dict[str, Any]) -> str:
    """Return a fake rewrite that keeps the source's numbers, names and placeholders but none of its wording."""
    message = user_message(request)
    source = _SOURCE_RE.search(message).group(1)
    style = _STYLE_RE.search(message).group(1)
    kept = _KEEP_RE.findall(source) or ["nothing"]
    # Style-specific filler words keep two styles' rewrites apart and share no 4-gram with the source.
    filler = [f"{style}{index}" for index in range(len(kept))]
    return " ".join(f"{word} {token}" for word, token in zip(filler, kept)) + "."


def all_kept_comparison(request: dict[str, Any]) -> str:
    facts = re.search(r"<facts>\n(.*)\n</facts>", user_message(request), re.S).group(1)
    count = len(_FACT_LINE_RE.findall(facts))
    return json.dumps(
        {"source_facts": [{"index": i, "status": "kept", "note": ""} for i in range(1, count + 1)], "rewrite_claims": []}
    )


def one_fact_list(request: dict[str, Any]) -> str:
    return json.dumps({"facts": [{"subject": "the passage", "relation": "states", "object": "something", "quantities": []}]})


def faithful_responder(request: dict[str, Any]) -> Reply:
    """Answer every call as a faithful model would."""
    kind = structured_schema_name(request)
    if kind == "FactList":
        return Reply(content=one_fact_list(request))
    if kind == "Comparison":
        return Reply(content=all_kept_comparison(request))
    return Reply(content=faithful_rewrite(request))


@pytest.fixture
def fake_llm() -> Iterator[Callable[..., FakeOpenAI]]:
    """Start fake servers on demand: `fake_llm(responder)`; all are stopped after the test."""
    servers: list[FakeOpenAI] = []

    def start(responder=faithful_responder) -> FakeOpenAI:
        server = FakeOpenAI(responder).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def make_context(tmp_path: Path) -> Callable[..., Context]:
    """Build a Context whose rewriter and verifier call `server`, with a fresh cache unless `cache=False`."""

    def make(server: FakeOpenAI, *, cache: bool = True, **options: Any) -> Context:
        response_cache = ResponseCache(tmp_path / "cache") if cache else None
        client = LLMClient(Endpoint(server.base_url, "fake-model", max_retries=2, timeout_s=10), response_cache)
        return Context(rewriter=client, verifier=client, **options)

    return make
