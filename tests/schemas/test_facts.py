import pytest
from pydantic import ValidationError

from polyphrase.schemas.facts import MAX_FACTS, MAX_REWRITE_CLAIMS, Comparison, FactList

FACT = {"subject": "the tower", "relation": "is", "object": "330 m tall"}


def test_fact_list_cut_to_context_limit():
    facts = FactList.model_validate({"facts": [FACT] * 12}, context={"max_facts": 5})
    assert len(facts.facts) == 5


def test_fact_list_schema_caps_items():
    assert FactList.model_json_schema()["properties"]["facts"]["maxItems"] == MAX_FACTS


def test_comparison_clips_long_output():
    comparison = Comparison.model_validate(
        {
            "source_facts": [{"index": 1, "status": "missing", "note": "x" * 500}],
            "rewrite_claims": [{"claim": "y" * 300, "supported": False}] * 9,
        }
    )
    assert len(comparison.source_facts[0].note) == 200
    assert len(comparison.rewrite_claims) == MAX_REWRITE_CLAIMS
    assert len(comparison.rewrite_claims[0].claim) == 200


def test_comparison_needs_every_fact():
    with pytest.raises(ValidationError, match=r"facts \[2\] have no entry"):
        Comparison.model_validate({"source_facts": [{"index": 1, "status": "kept"}]}, context={"fact_count": 2})


def test_comparison_rejects_unknown_fact():
    with pytest.raises(ValidationError, match=r"fact numbers \[3\] do not exist"):
        Comparison.model_validate(
            {"source_facts": [{"index": 1, "status": "kept"}, {"index": 3, "status": "kept"}]},
            context={"fact_count": 1},
        )


def test_as_sentence_marks_negation():
    fact = FactList.model_validate({"facts": [{**FACT, "negated": True, "hedged": True}]}).facts[0]
    assert fact.as_sentence() == "NOT: the tower is 330 m tall (hedged)"
