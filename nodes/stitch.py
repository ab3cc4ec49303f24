"""The stitch node: join each style's rewritten chunks in order, with code and math restored."""

from __future__ import annotations

import re

from langgraph.runtime import Runtime

from polyphrase.graph.context import Context
from polyphrase.graph.state import State, StyleTrack
from polyphrase.protect import mask_protected, unmask

_TRAILING_SPACE_RE = re.compile(r"\s*$")


async def stitch_chunks(state: State, runtime: Runtime[Context]) -> dict:
    """Join the latest rewrite of every chunk into one text per style."""
    tracks = {
        style: track.model_copy(update={"text": stitch(state["chunks"], track.rewrites)})
        for style, track in state["tracks"].items()
    }
    return {"tracks": tracks}


def stitch(chunks: list[str], rewrites: list[str | None]) -> str:
    """Join rewrites in chunk order, restoring each chunk's code and math placeholders.

    Each rewrite is followed by the whitespace that ended its source chunk
    (a paragraph break stays a paragraph break). A chunk with no rewrite yet
    contributes its source text.
    """
    parts: list[str] = []
    for chunk, rewrite in zip(chunks, rewrites):
        if rewrite is None:
            parts.append(chunk)
            continue
        _, spans = mask_protected(chunk)
        separator = _TRAILING_SPACE_RE.search(chunk).group(0)
        parts.append(unmask(rewrite.strip(), spans) + separator)
    return "".join(parts)


def chunk_text(track: StyleTrack, chunks: list[str], index: int) -> str:
    """Return the latest rewrite of one chunk with its code and math restored."""
    rewrite = track.rewrites[index]
    if rewrite is None:
        return chunks[index]
    _, spans = mask_protected(chunks[index])
    return unmask(rewrite, spans)
