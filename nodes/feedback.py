"""Feedback for the next rewrite attempt: one instruction per problem found."""

from __future__ import annotations

from polyphrase.schemas.verdict import ChunkVerdict


def build_feedback(verdict: ChunkVerdict, style: str, max_copy_overlap: float) -> str:
    """Turn a failed verdict into numbered instructions for the rewriter."""
    lines: list[str] = []
    lines += [f"Keep the placeholder {name} exactly once, unchanged." for name in verdict.missing_placeholders]
    # Worded so that the model states the fact again, not "the quantity 120 is mentioned".
    lines += [f"Keep {value} in a sentence that says what it counts, measures or dates." for value in verdict.missing_numbers]
    lines += [f"Remove or correct '{value}': the source has no such quantity." for value in verdict.added_numbers]
    lines += [f"Keep {name} in a sentence that says what the source says about it." for name in verdict.missing_entities]
    if verdict.echoes:
        lines.append(
            "State the facts themselves. Do not write about 'the text' or 'the source', and do not repeat "
            f"labels or instructions of this request, as in: {verdict.echoes[0]}"
        )
    if verdict.repeated_share:
        lines.append("Your rewrite repeats itself. State each fact once and stop when the source's facts are covered.")
    lines += [f"Keep this fact: {fact}." for fact in verdict.missing]
    lines += [f"Correct this to match the source: {fact}." for fact in verdict.contradicted]
    lines += [f"Remove this claim, the source does not support it: {claim}." for claim in verdict.added]
    if verdict.copy_overlap > max_copy_overlap:
        lines.append(
            f"{verdict.copy_overlap:.0%} of your 4-word sequences are copied from the source "
            f"(at most {max_copy_overlap:.0%} allowed). Write new sentences in the {style} style."
        )
    for problem in verdict.problems:
        if problem.startswith("too similar to the"):
            lines.append(f"Your rewrite is {problem}; follow the {style} style more closely.")
        elif problem.startswith("rewrite was cut off"):
            lines.append("Your rewrite was cut off before the end; write it more concisely.")
    return "\n".join(f"{number}. {line}" for number, line in enumerate(lines, start=1))
