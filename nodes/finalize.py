"""The finalize node: one result per style, with the failure policy applied to chunks that never passed."""

from __future__ import annotations

from langgraph.runtime import Runtime

from polyphrase.graph.context import Context, FailurePolicy
from polyphrase.graph.state import State, StyleResult, StyleTrack
from polyphrase.nodes.stitch import stitch


async def finalize_results(state: State, runtime: Runtime[Context]) -> dict:
    """Build the style results that the graph returns."""
    policy = runtime.context.failure_policy
    results = [build_result(state["chunks"], track, policy) for track in state["tracks"].values()]
    return {"results": results, "error": None}


def build_result(chunks: list[str], track: StyleTrack, policy: FailurePolicy) -> StyleResult:
    """Assemble the final text of one style, applying `policy` when a chunk never passed."""
    verdicts = [verdict for verdict in track.verdicts if verdict is not None]
    passed = len(verdicts) == len(chunks) and all(verdict.passed for verdict in verdicts)
    retried = sum(1 for attempts in track.attempts if attempts > 1)
    fixed = sum(
        1 for index, verdict in enumerate(track.verdicts)
        if verdict is not None and verdict.passed and track.attempts[index] > 1
    )

    if passed:
        text, applied = stitch(chunks, track.rewrites), None
    elif policy == "keep-best":
        text, applied = stitch(chunks, track.best), policy
        # The record shows the verdicts of the attempts that the text contains.
        verdicts = [best or latest for best, latest in zip(track.best_verdicts, track.verdicts) if (best or latest) is not None]
    elif policy == "fallback-source":
        kept = [
            rewrite if verdict is not None and verdict.passed else None
            for rewrite, verdict in zip(track.rewrites, track.verdicts)
        ]
        text, applied = stitch(chunks, kept), policy
    else:
        text, applied = "", policy

    return StyleResult(
        style=track.style,
        text=text,
        passed=passed,
        attempts=max(track.attempts, default=0),
        retried_chunks=retried,
        fixed_by_retry=fixed,
        policy=applied,
        verdicts=verdicts,
    )
