"""The verify node: check each new rewrite against its source chunk, guards first, then the facts."""

from __future__ import annotations

import asyncio
import logging

from langgraph.runtime import Runtime

from polyphrase.errors import EndpointError
from polyphrase.fidelity.entities import check_entities
from polyphrase.fidelity.numbers import check_numbers
from polyphrase.fidelity.overlap import ngram_overlap, pairwise_overlap
from polyphrase.graph.context import Context
from polyphrase.graph.state import State, StyleTrack
from polyphrase.llm import Usage
from polyphrase.nodes.feedback import build_feedback
from polyphrase.prompts import escape_tags, load_prompt
from polyphrase.protect import is_protected_only, mask_protected, missing_placeholders
from polyphrase.schemas.facts import Comparison, FactList
from polyphrase.schemas.verdict import ChunkVerdict

logger = logging.getLogger(__name__)


async def verify_rewrites(state: State, runtime: Runtime[Context]) -> dict:
    """Give every chunk rewritten in the last round a verdict, and queue the failed ones for another attempt."""
    context = runtime.context
    usage = Usage()

    new_facts = await _extract_missing_facts(state, context, usage) if context.check_facts else {}
    facts = {**state.get("source_facts", {}), **new_facts}

    styles = list(state["tracks"])
    checked = await asyncio.gather(
        *(_verify_track(state, state["tracks"][style], facts, context) for style in styles)
    )
    tracks = {}
    for style, (track, track_usage) in zip(styles, checked):
        tracks[style] = track
        usage.add(track_usage)

    _flag_similar_styles(state["chunks"], tracks, context)
    for track in tracks.values():
        _record_best_and_requeue(track, context.max_attempts)

    return {"tracks": tracks, "source_facts": new_facts, "usage": usage.as_dict("verify")}


async def _extract_missing_facts(state: State, context: Context, usage: Usage) -> dict[int, FactList]:
    """Extract the facts of each source chunk that needs them and has none yet, once for all styles."""
    known = state.get("source_facts", {})
    needed = sorted(
        {index for track in state["tracks"].values() for index in track.pending}
        - set(known)
    )
    needed = [index for index in needed if not is_protected_only(mask_protected(state["chunks"][index])[0])]
    system = load_prompt("extract_facts")
    user = load_prompt("extract_facts_user")

    async def extract(index: int) -> tuple[int, FactList | None]:
        masked, _ = mask_protected(state["chunks"][index])
        try:
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
        except EndpointError as error:
            logger.warning("fact extraction failed for %s chunk %d: %s", state["doc_id"], index, error)
            return index, None
        usage.add(result.usage)
        return index, result.value

    extracted = await asyncio.gather(*(extract(index) for index in needed))
    return {index: facts for index, facts in extracted if facts is not None}


async def _verify_track(
    state: State, track: StyleTrack, facts: dict[int, FactList], context: Context
) -> tuple[StyleTrack, Usage]:
    track = track.model_copy(deep=True)
    usage = Usage()
    verdicts = await asyncio.gather(
        *(_verify_chunk(state, track, index, facts.get(index), context, usage) for index in track.pending)
    )
    for verdict in verdicts:
        track.verdicts[verdict.chunk] = verdict
    return track, usage


async def _verify_chunk(
    state: State, track: StyleTrack, index: int, facts: FactList | None, context: Context, usage: Usage
) -> ChunkVerdict:
    source, spans = mask_protected(state["chunks"][index])
    rewrite = track.rewrites[index] or ""
    verdict = ChunkVerdict(chunk=index, attempt=track.attempts[index], passed=True)
    if is_protected_only(source):
        return verdict

    verdict.missing_placeholders = missing_placeholders(rewrite, spans)
    numbers = check_numbers(source, rewrite)
    verdict.missing_numbers = list(numbers.missing)
    verdict.added_numbers = list(numbers.added)
    verdict.missing_entities = list(check_entities(source, rewrite).missing)
    verdict.copy_overlap = round(ngram_overlap(source, rewrite), 4)

    if context.check_facts and facts is None:
        verdict.problems.append("fact check failed: the source facts could not be extracted")
    elif context.check_facts and facts.facts:
        try:
            await _compare_facts(facts, rewrite, context, verdict, usage)
        except EndpointError as error:
            # A fact check that cannot run must not pass the chunk unverified.
            logger.warning("fact check failed for %s chunk %d (%s): %s", state["doc_id"], index, track.style, error)
            verdict.problems.append(f"fact check failed: {error}")

    if track.truncated[index]:
        verdict.problems.append("rewrite was cut off at the max-tokens limit")
    verdict.problems[:0] = _guard_problems(verdict, context.max_copy_overlap)
    verdict.passed = not verdict.problems
    verdict.feedback = "" if verdict.passed else build_feedback(verdict, track.style, context.max_copy_overlap)
    return verdict


async def _compare_facts(
    facts: FactList, rewrite: str, context: Context, verdict: ChunkVerdict, usage: Usage
) -> None:
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
    usage.add(result.usage)

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


def _guard_problems(verdict: ChunkVerdict, max_copy_overlap: float) -> list[str]:
    problems = [f"lost placeholder {name}" for name in verdict.missing_placeholders]
    problems += [f"missing quantity: {value}" for value in verdict.missing_numbers]
    problems += [f"quantity not in source: {value}" for value in verdict.added_numbers]
    problems += [f"missing name: {name}" for name in verdict.missing_entities]
    if verdict.copy_overlap > max_copy_overlap:
        problems.append(f"too close to the source: {verdict.copy_overlap:.0%} of word 4-grams copied")
    return problems


def _flag_similar_styles(chunks: list[str], tracks: dict[str, StyleTrack], context: Context) -> None:
    """Fail a chunk whose rewrite in one style is nearly the same as in an earlier style."""
    styles = list(tracks)
    for later_position, later in enumerate(styles):
        track = tracks[later]
        for index in track.pending:
            verdict = track.verdicts[index]
            if verdict is None or not verdict.passed or track.rewrites[index] is None:
                continue
            for earlier in styles[:later_position]:
                other = tracks[earlier].rewrites[index]
                if other is None or pairwise_overlap(other, track.rewrites[index]) <= context.max_copy_overlap:
                    continue
                verdict.problems.append(f"too similar to the {earlier} rewrite of the same passage")
                verdict.passed = False
                verdict.feedback = build_feedback(verdict, track.style, context.max_copy_overlap)
                break


def _record_best_and_requeue(track: StyleTrack, max_attempts: int) -> None:
    """Remember each chunk's best attempt and queue failed chunks that have attempts left."""
    for index in track.pending:
        verdict = track.verdicts[index]
        if verdict.problem_count < track.best_problems[index]:
            track.best[index] = track.rewrites[index]
            track.best_problems[index] = verdict.problem_count
    track.pending = [
        index
        for index in track.pending
        if not track.verdicts[index].passed and track.attempts[index] < max_attempts
    ]
