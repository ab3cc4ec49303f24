"""The fidelity check of one rewritten chunk: guards that need no LLM, then the fact comparison.

The verify node and the evaluation harness (`python -m bench.verify_eval`)
both call these functions, so the harness measures exactly what runs.
"""

from __future__ import annotations

import logging

from polyphrase.errors import EndpointError
from polyphrase.fidelity.echo import find_echoes
from polyphrase.fidelity.entities import check_entities
from polyphrase.fidelity.numbers import check_numbers
from polyphrase.fidelity.overlap import is_looping, ngram_overlap, repeated_share
from polyphrase.graph.context import Context
from polyphrase.llm import Usage
from polyphrase.nodes.feedback import build_feedback
from polyphrase.prompts import escape_tags, load_prompt
from polyphrase.protect import is_protected_only, mask_protected, missing_placeholders
from polyphrase.schemas.facts import Comparison, FactList
from polyphrase.schemas.verdict import ChunkVerdict

logger = logging.getLogger(__name__)

# Prefix of a verdict problem raised because an LLM call failed, not because of the rewrite.
FACT_CHECK_FAILED = "fact check failed"


async def extract_source_facts(source_chunk: str, context: Context) -> tuple[FactList, Usage]:
    """Extract the facts of a source chunk (code and math masked) with one structured call.

    Raises EndpointError (or a subclass) when no valid fact list comes back.
    """
    masked, _ = mask_protected(source_chunk)
    system = load_prompt("extract_facts")
    user = load_prompt("extract_facts_user")
    result = await context.verifier.extract(
        [
            {"role": "system", "content": system.render(max_facts=str(context.max_facts))},
            {"role": "user", "content": user.render(source=escape_tags(masked.strip()))},
        ],
        FactList,
        prompt_version=f"{system.version}:{user.version}",
        max_tokens=96 * context.max_facts,
        context={"max_facts": context.max_facts},
    )
    return result.value, result.usage


async def judge_rewrite(
    source_chunk: str,
    rewrite: str,
    facts: FactList | None,
    context: Context,
    *,
    style: str,
    chunk: int = 0,
    attempt: int = 1,
    truncated: bool = False,
    run_guards: bool = True,
) -> tuple[ChunkVerdict, Usage]:
    """Check one rewrite (placeholders still in it) against its source chunk and return the verdict.

    `facts` are the source chunk's facts; None means their extraction failed,
    which fails the chunk when the context asks for fact checks. With
    `run_guards=False` only the LLM comparison runs (for evaluation).
    """
    usage = Usage()
    source, spans = mask_protected(source_chunk)
    verdict = ChunkVerdict(chunk=chunk, attempt=attempt, passed=True)
    if is_protected_only(source):
        return verdict, usage

    if run_guards:
        verdict.missing_placeholders = missing_placeholders(rewrite, spans)
        numbers = check_numbers(source, rewrite)
        verdict.missing_numbers = list(numbers.missing)
        verdict.added_numbers = list(numbers.added)
        verdict.missing_entities = list(check_entities(source, rewrite).missing)
        verdict.echoes = find_echoes(source, rewrite)
        if is_looping(source, rewrite):
            verdict.repeated_share = round(repeated_share(rewrite), 4)
    verdict.copy_overlap = round(ngram_overlap(source, rewrite), 4)

    if context.check_facts and facts is None:
        verdict.problems.append(f"{FACT_CHECK_FAILED}: the source facts could not be extracted")
    elif context.check_facts and facts.facts:
        try:
            usage.add(await _compare_facts(facts, rewrite, context, verdict))
        except EndpointError as error:
            # A fact check that cannot run must not pass the chunk unverified.
            logger.warning("fact check failed for chunk %d (%s): %s", chunk, style, error)
            verdict.problems.append(f"{FACT_CHECK_FAILED}: {error}")

    if truncated:
        verdict.problems.append("rewrite was cut off at the max-tokens limit")
    if run_guards:
        verdict.problems[:0] = _guard_problems(verdict, context.max_copy_overlap)
    verdict.passed = not verdict.problems
    verdict.feedback = "" if verdict.passed else build_feedback(verdict, style, context.max_copy_overlap)
    return verdict, usage


async def _compare_facts(facts: FactList, rewrite: str, context: Context, verdict: ChunkVerdict) -> Usage:
    # NOTE: with the embedded 1.5B model this comparison marked every fact "kept" on the sample documents,
    # even for rewrites that dropped facts, so there the guards above decide almost every verdict.
    system = load_prompt("compare_facts")
    user = load_prompt("compare_facts_user")
    numbered = "\n".join(f"{number}. {fact.as_sentence()}" for number, fact in enumerate(facts.facts, start=1))
    result = await context.verifier.extract(
        [
            {"role": "system", "content": system.render()},
            {"role": "user", "content": user.render(facts=escape_tags(numbered), rewrite=escape_tags(rewrite))},
        ],
        Comparison,
        prompt_version=f"{system.version}:{user.version}",
        max_tokens=80 * len(facts.facts) + 256,
        context={"fact_count": len(facts.facts)},
    )

    comparison: Comparison = result.value
    for check in comparison.source_facts:
        fact = facts.facts[check.index - 1].as_sentence()
        if check.status == "missing":
            verdict.missing.append(fact)
            verdict.problems.append(f"missing fact: {fact}")
        elif check.status == "contradicted":
            detail = f"{fact} (rewrite: {check.note})" if check.note else fact
            verdict.contradicted.append(detail)
            verdict.problems.append(f"contradicted fact: {detail}")
    for claim in comparison.rewrite_claims:
        if not claim.supported:
            verdict.added.append(claim.claim)
            verdict.problems.append(f"unsupported claim: {claim.claim}")
    return result.usage


def _guard_problems(verdict: ChunkVerdict, max_copy_overlap: float) -> list[str]:
    problems = [f"lost placeholder {name}" for name in verdict.missing_placeholders]
    problems += [f"missing quantity: {value}" for value in verdict.missing_numbers]
    problems += [f"quantity not in source: {value}" for value in verdict.added_numbers]
    problems += [f"missing name: {name}" for name in verdict.missing_entities]
    problems += [f"talks about the source or repeats the prompt: {line}" for line in verdict.echoes]
    if verdict.repeated_share:
        problems.append(f"repeats itself: {verdict.repeated_share:.0%} of word 4-grams repeat earlier ones")
    if verdict.copy_overlap > max_copy_overlap:
        problems.append(f"too close to the source: {verdict.copy_overlap:.0%} of word 4-grams copied")
    return problems
