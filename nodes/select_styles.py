"""The select-styles node: which styles and perspectives a document is rewritten in."""

from __future__ import annotations

from langgraph.runtime import Runtime

from polyphrase.graph.context import Context
from polyphrase.graph.state import State, StyleTrack
from polyphrase.protect import mask_protected

# A document with at least this many math spans counts as mathematical, so a
# math-only style such as learning notes is chosen for it.
MIN_MATH_SPANS = 3


async def select_styles(state: State, runtime: Runtime[Context]) -> dict:
    """Choose the document's styles and start one rewrite track per style."""
    context = runtime.context

    if context.style_names:
        styles = list(context.style_names)
    else:
        _, spans = mask_protected(state["text"])
        math_spans = sum(1 for name in spans if name.startswith("⟦MATH"))
        styles = context.style_library.choose(
            state["doc_id"], context.styles_per_document, is_math=math_spans >= MIN_MATH_SPANS
        )

    chunk_count = len(state["chunks"])
    tracks = {style: StyleTrack.start(style, chunk_count) for style in styles}
    return {"styles": styles, "tracks": tracks, "round": 0}
