"""Typed state of the rephrasing graph: what goes in, what it works on, what comes out."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from polyphrase.schemas.facts import FactList
from polyphrase.schemas.verdict import ChunkVerdict


def add_counts(left: dict[str, int] | None, right: dict[str, int] | None) -> dict[str, int]:
    """Reducer that sums token and call counters key by key."""
    merged = dict(left or {})
    for key, value in (right or {}).items():
        merged[key] = merged.get(key, 0) + value
    return merged


def merge_facts(left: dict[int, FactList] | None, right: dict[int, FactList] | None) -> dict[int, FactList]:
    """Reducer that adds newly extracted source facts to those already known."""
    return {**(left or {}), **(right or {})}


class StyleTrack(BaseModel):
    """The rewrite of one document in one style, chunk by chunk."""

    style: str = Field(description="Name of the style in the style library.")
    rewrites: list[str | None] = Field(description="Latest rewrite of each chunk, placeholders restored; None before the first attempt.")
    attempts: list[int] = Field(description="Attempts made at each chunk so far.")
    verdicts: list[ChunkVerdict | None] = Field(description="Verdict on the latest rewrite of each chunk.")
    best: list[str | None] = Field(description="The attempt at each chunk with the fewest problems so far.")
    best_verdicts: list[ChunkVerdict | None] = Field(description="Verdict on each chunk's best attempt.")
    truncated: list[bool] = Field(description="Whether each chunk's latest rewrite hit the max-tokens limit.")
    pending: list[int] = Field(description="Chunks the next rewrite step redoes, in order.")
    text: str = Field(default="", description="The stitched rewrite of the whole document.")

    @classmethod
    def start(cls, style: str, chunk_count: int) -> "StyleTrack":
        return cls(
            style=style,
            rewrites=[None] * chunk_count,
            attempts=[0] * chunk_count,
            verdicts=[None] * chunk_count,
            best=[None] * chunk_count,
            best_verdicts=[None] * chunk_count,
            truncated=[False] * chunk_count,
            pending=list(range(chunk_count)),
        )


class StyleResult(BaseModel):
    """The final rewrite of one document in one style."""

    style: str = Field(description="Name of the style.")
    text: str = Field(description="The rewritten document; empty when the policy dropped it.")
    passed: bool = Field(description="True when every chunk passed verification.")
    attempts: int = Field(description="Largest number of attempts spent on any chunk.")
    retried_chunks: int = Field(description="Chunks that needed more than one attempt.")
    fixed_by_retry: int = Field(description="Chunks that failed first and passed after feedback.")
    policy: str | None = Field(default=None, description="The failure policy applied, when a chunk never passed.")
    verdicts: list[ChunkVerdict] = Field(description="Verdict on the attempt of each chunk that `text` contains.")


class InputState(TypedDict):
    """One document to rephrase."""

    doc_id: str
    """Stable document id; it seeds the style choice."""
    text: str
    """Full document text."""
    source: str
    """Origin of the document: a path, or path:line for JSON Lines."""


class OutputState(TypedDict):
    """The graph's result for one document."""

    doc_id: str
    source: str
    results: list[StyleResult]
    """One result per style; empty when the document failed as a whole."""
    error: str | None
    """Reason the document produced no rewrite, or None."""
    usage: dict[str, int]
    """Token and call counts, keyed `<role>_<counter>` with role rewrite or verify."""


class State(InputState):
    """Working state while a document moves through the graph."""

    chunks: list[str]
    """Source chunks; joined they give back `text` exactly."""
    styles: list[str]
    """Styles chosen for this document."""
    tracks: dict[str, StyleTrack]
    """Rewrite progress per style."""
    source_facts: Annotated[dict[int, FactList], merge_facts]
    """Facts of each source chunk, extracted once and reused for every style."""
    round: int
    """Rewrite rounds completed; bounded by the context's max_attempts."""
    results: list[StyleResult]
    error: str | None
    usage: Annotated[dict[str, int], add_counts]


EndReason = Literal["passed", "attempts_exhausted", "error"]
