"""Run-time configuration and services that every node receives through `Runtime.context`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from polyphrase.llm import LLMClient
from polyphrase.prompts import StyleLibrary

FailurePolicy = Literal["keep-best", "fallback-source", "drop"]


@dataclass
class Context:
    """Everything a run configures; nodes read it and never the environment."""

    rewriter: LLMClient
    """Endpoint and model for rewrite calls."""
    verifier: LLMClient
    """Endpoint and model for fact extraction and comparison; may be the rewriter."""
    style_library: StyleLibrary = field(default_factory=StyleLibrary.load)
    """Styles to choose from."""
    styles_per_document: int = 2
    """How many distinct styles each document is rewritten in."""
    style_names: tuple[str, ...] = ()
    """Styles to use for every document; empty means choose from the library per document."""
    chunk_tokens: int = 400
    """Token budget of one source chunk (estimated offline)."""
    max_attempts: int = 3
    """Attempts per chunk and style, the first included."""
    failure_policy: FailurePolicy = "keep-best"
    """Content of a style result with a chunk that never passed: the best attempt marked failed,
    the source text in place of each failed chunk, or no text."""
    rewrite_temperature: float = 0.7
    """Sampling temperature of rewrite calls."""
    max_output_ratio: float = 2.5
    """A rewrite may have at most this many times the source chunk's estimated tokens (plus 64)."""
    max_facts: int = 8
    """Most facts extracted per source chunk; at most the schema's cap, MAX_FACTS."""
    max_copy_overlap: float = 0.5
    """A rewrite sharing more than this share of its word 4-grams with its source fails as a copy."""
    check_facts: bool = True
    """Run the LLM fact comparison after the guards; off leaves only the guards."""
