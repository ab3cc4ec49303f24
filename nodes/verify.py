"""The verify node: check each new rewrite against its source chunk, guards first, then the facts."""

from __future__ import annotations

import asyncio
import logging

from langgraph.runtime import Runtime

from polyphrase.errors import EndpointError
from polyphrase.fidelity.check import extract_source_facts, judge_rewrite
from polyphrase.fidelity.overlap import pairwise_overlap
from polyphrase.graph.context import Context
from polyphrase.graph.state import State, StyleTrack
from polyphrase.llm import Usage
from polyphrase.nodes.feedback import build_feedback
from polyphrase.protect import is_protected_only, mask_protected
from polyphrase.schemas.facts import FactList

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
    needed = sorted({index for track in state["tracks"].values() for index in track.pending} - set(known))

    async def extract(index: int) -> tuple[int, FactList | None]:
        try:
            facts, call_usage = await extract_source_facts(state["chunks"][index], context)
        except EndpointError as error:
            logger.warning("fact extraction failed for %s chunk %d: %s", state["doc_id"], index, error)
            return index, None
        usage.add(call_usage)
        return index, facts

    extracted = await asyncio.gather(*(extract(index) for index in needed if not _protected_only(state, index)))
    return {index: facts for index, facts in extracted if facts is not None}


def _protected_only(state: State, index: int) -> bool:
    return is_protected_only(mask_protected(state["chunks"][index])[0])


async def _verify_track(
    state: State, track: StyleTrack, facts: dict[int, FactList], context: Context
) -> tuple[StyleTrack, Usage]:
    track = track.model_copy(deep=True)
    usage = Usage()
    judged = await asyncio.gather(
        *(
            judge_rewrite(
                state["chunks"][index],
                track.rewrites[index] or "",
                facts.get(index),
                context,
                style=track.style,
                chunk=index,
                attempt=track.attempts[index],
                truncated=track.truncated[index],
            )
            for index in track.pending
        )
    )
    for verdict, call_usage in judged:
        track.verdicts[verdict.chunk] = verdict
        usage.add(call_usage)
    return track, usage


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
        best = track.best_verdicts[index]
        if best is None or verdict.problem_count < best.problem_count:
            track.best[index] = track.rewrites[index]
            track.best_verdicts[index] = verdict
    track.pending = [
        index
        for index in track.pending
        if not track.verdicts[index].passed and track.attempts[index] < max_attempts
    ]
