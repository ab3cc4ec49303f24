"""The rewrite node: each pending chunk in each style, in order, with the previous chunk's rewrite as reference."""

from __future__ import annotations

import asyncio
import hashlib
import re

from langgraph.runtime import Runtime

from polyphrase.errors import ContextLengthError
from polyphrase.fidelity.entities import extract_entities
from polyphrase.fidelity.numbers import extract_quantities
from polyphrase.graph.context import Context
from polyphrase.graph.state import State, StyleTrack
from polyphrase.llm import Usage
from polyphrase.prompts import escape_tags, load_prompt, unescape_tags
from polyphrase.protect import PLACEHOLDER_RE, is_protected_only, mask_protected, split_end_matter
from polyphrase.tokens import estimate_tokens

# Small models sometimes open with "Here is the rewritten passage:" or wrap the
# reply in our own tags; both are stripped from the rewrite.
_PREAMBLE_RE = re.compile(r"^\s*(?:(?:here is|here's|sure|certainly)[^\n]{0,120}:|(?:sure|certainly|of course)[.!])\s*\n", re.I)
_WRAPPER_RE = re.compile(r"^\s*<(rewrite|source|previous_attempt)>\s*(.*?)\s*</\1>\s*$", re.S | re.I)
# Or they open the rewrite itself with "Certainly, the bit is ...".
_OPENER_RE = re.compile(r"^(?:certainly|sure|of course),\s+(?=[^\W\d_])", re.I)
# They also echo the prompt's other blocks before the rewrite.
_ECHOED_BLOCKS_RE = re.compile(r"^(?:\s*<(feedback|previous_rewrite|previous_attempt)>.*?</\1>)+\s*", re.S | re.I)

# A word: letters, with inner apostrophes ("don't").
_WORD_RE = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")

# A chunk has a few dozen names and quantities at most at the default chunk size.
_MAX_KEEP_ITEMS = 40


async def rewrite_chunks(state: State, runtime: Runtime[Context]) -> dict:
    """Rewrite every pending chunk of every style track; styles run concurrently."""
    context = runtime.context
    styles = list(state["tracks"])

    results = await asyncio.gather(
        *(_rewrite_track(state, state["tracks"][style], context) for style in styles)
    )

    tracks = {style: track for style, (track, _) in zip(styles, results)}
    usage = Usage()
    for _, track_usage in results:
        usage.add(track_usage)
    return {"tracks": tracks, "round": state["round"] + 1, "usage": usage.as_dict("rewrite")}


async def _rewrite_track(state: State, track: StyleTrack, context: Context) -> tuple[StyleTrack, Usage]:
    track = track.model_copy(deep=True)
    usage = Usage()
    style = context.style_library.get(track.style)
    system = load_prompt("rewrite_system")
    user = load_prompt("rewrite_user")

    for index in track.pending:
        masked, _ = mask_protected(state["chunks"][index])
        track.attempts[index] += 1
        body, end_matter = split_end_matter(masked)
        if is_protected_only(body):
            track.rewrites[index] = masked
            track.truncated[index] = False
            continue

        previous = track.rewrites[index - 1] if index > 0 else None
        verdict = track.verdicts[index]
        feedback = ""
        rejected = ""
        if verdict is not None and not verdict.passed:
            feedback = verdict.feedback
            # A rejected attempt is shown for revision, unless it failed for copying the source.
            if verdict.copy_overlap <= context.max_copy_overlap:
                rejected = track.rewrites[index] or ""
        messages = [
            {"role": "system", "content": system.render()},
            {
                "role": "user",
                "content": user.render(
                    style_name=style.name,
                    style_instructions=style.instructions,
                    previous=_previous_block(previous),
                    keep=_keep_block(body),
                    feedback=_feedback_block(feedback, rejected),
                    source=escape_tags(body.strip()),
                ),
            },
        ]
        try:
            result = await context.rewriter.complete(
                messages,
                prompt_version=f"{system.version}:{user.version}:{style.version}",
                temperature=context.rewrite_temperature,
                max_tokens=int(estimate_tokens(body) * context.max_output_ratio) + 64,
                seed=_seed(state["doc_id"], track.style, index, track.attempts[index]),
            )
        except ContextLengthError as error:
            raise ContextLengthError(
                f"document {state['doc_id']} chunk {index} ({track.style}): {error}; lower --chunk-tokens"
            ) from error
        rewrite = restore_dropped_spaces(clean_rewrite(result.text), body)
        missing_end_matter = [line for line in end_matter if line not in rewrite]
        if missing_end_matter:
            rewrite = "\n\n".join([rewrite, *missing_end_matter])
        track.rewrites[index] = rewrite
        track.truncated[index] = result.truncated
        usage.add(result.usage)

    return track, usage


def clean_rewrite(text: str) -> str:
    """Strip a preamble line, echoed prompt blocks and wrapper tags that small models add around a rewrite."""
    text = unescape_tags(_ECHOED_BLOCKS_RE.sub("", text.strip(), count=1))
    wrapped = _WRAPPER_RE.match(text)
    if wrapped:
        text = wrapped.group(2)
    text = _PREAMBLE_RE.sub("", text, count=1).strip()
    opener = _OPENER_RE.match(text)
    if opener:
        text = text[opener.end()].upper() + text[opener.end() + 1 :]
    return text


def restore_dropped_spaces(rewrite: str, source: str) -> str:
    """Split a word of the rewrite that runs together two or three adjacent source words.

    The embedded model's DRY sampling penalises a token that extends a run
    copied from the source, and the model sometimes dodges it by dropping the
    space between two words ("restarts another" becomes "restartsanother").
    A word is split only when the source lacks it and has its parts next to
    each other, separated by spaces alone.
    """
    joined = _joined_source_words(source)
    if not joined:
        return rewrite

    def split(match: re.Match[str]) -> str:
        word = match.group(0)
        parts = joined.get(word.lower())
        if parts is None:
            return word
        pieces, start = [], 0
        for part in parts:
            pieces.append(word[start : start + len(part)])
            start += len(part)
        return " ".join(pieces)

    return _WORD_RE.sub(split, rewrite)


def _joined_source_words(source: str) -> dict[str, tuple[str, ...]]:
    """Map each run of 2 or 3 space-separated source words, written without spaces, to its words."""
    words = [(match.group(0).lower(), match.start(), match.end()) for match in _WORD_RE.finditer(source)]
    vocabulary = {word for word, _, _ in words}
    joined: dict[str, tuple[str, ...]] = {}
    for position in range(len(words) - 1):
        run = [words[position][0]]
        for following in range(position + 1, min(position + 3, len(words))):
            gap = source[words[following - 1][2] : words[following][1]]
            if not gap or not gap.isspace():
                break
            run.append(words[following][0])
            key = "".join(run)
            if key not in vocabulary:
                joined.setdefault(key, tuple(run))
    return joined


def _previous_block(previous: str | None) -> str:
    if not previous:
        return ""
    # The previous chunk's placeholders would clash with this chunk's, so they are shown generically.
    reference = PLACEHOLDER_RE.sub(lambda m: "[code]" if m.group(1) == "CODE" else "[formula]", previous)
    return (
        "For continuity, this is your rewrite of the passage just before; continue from it "
        "without repeating it:\n<previous_rewrite>\n" + escape_tags(reference) + "\n</previous_rewrite>\n\n"
    )


def _keep_block(masked_source: str) -> str:
    """Return the line listing the quantities and names that the guards look for, shown before the model writes."""
    items = list(dict.fromkeys([*(q.surface for q in extract_quantities(masked_source)), *extract_entities(masked_source)]))
    if not items:
        return ""
    # A plain line, not a tagged block: small models copied a tagged block into their reply.
    listed = "; ".join(items[:_MAX_KEEP_ITEMS])
    return f"Names and numbers your rewrite must contain, written as here: {escape_tags(listed)}\n\n"


def _feedback_block(feedback: str, rejected: str) -> str:
    if not feedback:
        return ""
    if not rejected:
        return "Your previous attempt at this passage was rejected. Fix these problems:\n<feedback>\n" + feedback + "\n</feedback>\n\n"
    return (
        "Your previous attempt at this passage:\n<previous_attempt>\n"
        + escape_tags(rejected)
        + "\n</previous_attempt>\n"
        + "It was rejected. Fix these problems and keep the rest of its content:\n<feedback>\n"
        + feedback
        + "\n</feedback>\n\n"
    )


def _seed(doc_id: str, style: str, index: int, attempt: int) -> int:
    digest = hashlib.sha256(f"{doc_id}\0{style}\0{index}\0{attempt}".encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big")

