"""Typed facts and claim comparisons, the structured outputs of the verifier.

Docstrings and field descriptions are part of the prompt: instructor sends
them to the model as the JSON schema.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator


# Most facts one extraction returns; small models otherwise list trivia until max_tokens.
MAX_FACTS = 8
# Most unsupported-claim candidates one comparison returns.
MAX_REWRITE_CLAIMS = 6


class Fact(BaseModel):
    """One atomic factual claim stated in a passage."""

    subject: str = Field(description="Who or what the claim is about, as named in the passage.")
    relation: str = Field(description="What is said about the subject: a verb or short predicate.")
    object: str = Field(description="The value, thing or property related to the subject.")
    quantities: list[str] = Field(
        default_factory=list,
        description="Every number, quantity with its unit, date or year in the claim, written as in the passage.",
    )
    negated: bool = Field(default=False, description="True when the passage states that the claim does not hold.")
    hedged: bool = Field(default=False, description="True when the passage says the claim only may or might hold.")

    def as_sentence(self) -> str:
        """Render the fact as one line for the comparison prompt."""
        text = f"{self.subject} {self.relation} {self.object}".strip()
        if self.negated:
            text = f"NOT: {text}"
        if self.hedged:
            text = f"{text} (hedged)"
        return text


class FactList(BaseModel):
    """The facts a reader learns from a passage, most important first."""

    # maxItems goes into the JSON schema, so a grammar-constrained server stops the list there.
    facts: list[Fact] = Field(description="Atomic factual claims of the passage.", max_length=MAX_FACTS)

    @field_validator("facts", mode="before")
    @classmethod
    def _within_limit(cls, facts: Any, info: ValidationInfo) -> Any:
        # Keep the most important facts rather than re-asking an unconstrained model for a shorter list.
        limit = min((info.context or {}).get("max_facts") or MAX_FACTS, MAX_FACTS)
        return facts[:limit] if isinstance(facts, list) else facts


FactStatus = Literal["kept", "missing", "contradicted"]


class SourceFactCheck(BaseModel):
    """Whether the rewrite kept one numbered source fact."""

    _clip_note = field_validator("note", mode="before")(lambda value: _clip(value, 200))

    index: int = Field(description="The number of the source fact, as given in the <facts> list.")
    status: FactStatus = Field(description="kept, missing or contradicted.")
    note: str = Field(
        default="", max_length=200, description="For missing or contradicted: what the rewrite says instead, briefly."
    )


def _clip(value: Any, limit: int) -> Any:
    """Shorten an over-long string or list from a model that ignores the schema's limits, instead of re-asking."""
    return value[:limit] if isinstance(value, (str, list)) else value


class RewriteClaimCheck(BaseModel):
    """A claim of the rewrite that is not one of the numbered source facts."""

    claim: str = Field(max_length=200, description="The claim as the rewrite states it, briefly.")
    supported: bool = Field(description="True when it follows from the source facts; false when it adds information.")

    _clip_claim = field_validator("claim", mode="before")(lambda value: _clip(value, 200))


class Comparison(BaseModel):
    """The verdict of one structured call comparing a rewrite with all facts of its source."""

    source_facts: list[SourceFactCheck] = Field(description="One entry for every numbered source fact.")
    rewrite_claims: list[RewriteClaimCheck] = Field(
        default_factory=list,
        max_length=MAX_REWRITE_CLAIMS,
        description="Claims of the rewrite that add information beyond the source facts; empty when there are none.",
    )

    _clip_claims = field_validator("rewrite_claims", mode="before")(lambda value: _clip(value, MAX_REWRITE_CLAIMS))

    @model_validator(mode="after")
    def _covers_every_fact(self, info: ValidationInfo) -> "Comparison":
        fact_count = (info.context or {}).get("fact_count")
        if fact_count is None:
            return self
        seen = {check.index for check in self.source_facts}
        outside = sorted(seen - set(range(1, fact_count + 1)))
        if outside:
            raise ValueError(f"fact numbers {outside} do not exist; the facts are numbered 1 to {fact_count}")
        absent = sorted(set(range(1, fact_count + 1)) - seen)
        if absent:
            raise ValueError(f"facts {absent} have no entry; give exactly one entry for each fact 1 to {fact_count}")
        return self
