"""The verdict on one rewritten chunk, with the feedback for the next attempt."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ChunkVerdict(BaseModel):
    """The outcome of verifying one rewritten chunk against its source chunk."""

    chunk: int = Field(description="Index of the chunk in the document, from 0.")
    attempt: int = Field(description="Which attempt at this chunk was verified, from 1.")
    passed: bool = Field(description="True when no check found a problem.")
    missing: list[str] = Field(default_factory=list, description="Source facts the rewrite dropped.")
    contradicted: list[str] = Field(default_factory=list, description="Source facts the rewrite changed.")
    added: list[str] = Field(default_factory=list, description="Claims the rewrite added without support.")
    missing_numbers: list[str] = Field(default_factory=list, description="Source quantities absent from the rewrite.")
    added_numbers: list[str] = Field(default_factory=list, description="Rewrite quantities absent from the source.")
    missing_entities: list[str] = Field(default_factory=list, description="Named entities of the source absent from the rewrite.")
    missing_placeholders: list[str] = Field(default_factory=list, description="Code or math placeholders the rewrite lost.")
    echoes: list[str] = Field(default_factory=list, description="Lines that talk about the source or repeat the prompt, which the source lacks.")
    repeated_share: float = Field(default=0.0, description="Share of the rewrite's word 4-grams that repeat earlier ones, when it fails as looping; else 0.0.")
    copy_overlap: float = Field(default=0.0, description="Share of the rewrite's word 4-grams found in the source.")
    problems: list[str] = Field(default_factory=list, description="Every failed check, one line each.")
    feedback: str = Field(default="", description="Instructions for the next attempt; empty when passed.")

    @property
    def problem_count(self) -> int:
        return len(self.problems)
