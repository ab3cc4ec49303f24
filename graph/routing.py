"""Pure routing functions between the graph's nodes."""

from __future__ import annotations

from typing import Literal

from polyphrase.graph.state import State


def route_after_chunk(state: State) -> Literal["select_styles", "__end__"]:
    """End at once for a document with no text; otherwise go on to choose styles."""
    return "select_styles" if state["chunks"] else "__end__"


def route_after_verify(state: State) -> Literal["rewrite", "finalize"]:
    """Send failed chunks back to rewrite while they have attempts left; the verify node empties `pending` otherwise."""
    if any(track.pending for track in state["tracks"].values()):
        return "rewrite"
    return "finalize"
